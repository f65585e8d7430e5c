"""Keeping a project file safe: integrity check, online backup, read-only state (mixed into Project)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["MaintenanceMixin"]


class MaintenanceMixin:
    """``check()``, ``backup()`` and ``read_only`` of :class:`~recoverystudy.qual.project.Project`."""

    @property
    def read_only(self) -> bool:
        """True when the project was opened read-only (read-only storage or ``read_only=True``).

        >>> import recoverystudy as rs, tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "p.rsqda"
        >>> rs.Project.create(path, codebook=None).close()
        >>> with rs.Project.open(path, read_only=True) as proj:
        ...     proj.read_only
        True
        """
        return self._store.read_only is not None

    def check(self) -> list[str]:
        """Run SQLite's full integrity check and foreign-key check; return the problems found.

        Opening a project checks only what is cheap (header, schema, version) so that it takes
        milliseconds at any size; the full check runs here, automatically when a project is opened
        after an unclean shutdown, and before every :meth:`backup`.

        Returns
        -------
        list of str
            Empty when the project is healthy.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> with rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda") as proj:
        ...     proj.check()
        []
        """
        self._conn  # raises if closed
        return self._store.integrity_problems()

    def backup(self, path: str | Path) -> Path:
        """Copy the project to the new file *path* with SQLite's online backup, after an integrity check.

        The copy is consistent even while the project is in use, complete on its own (one file, no
        ``-wal``), and written to a temporary file that is moved into place whole.  An existing file
        is never overwritten.

        Raises
        ------
        ProjectStoreError
            *path* exists or its folder does not, or the project is damaged (no copy is made).
        ProjectStorageError
            The disk holding *path* is full or read-only.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> with rs.Project.create(folder / "p.rsqda") as proj:
        ...     copy = proj.backup(folder / "p-backup.rsqda")
        >>> with rs.Project.open(copy) as again:
        ...     len(again.codes())
        43
        """
        self._conn  # raises if closed
        return self._store.backup(path)
