"""REFI-QDA exchange and groups (sets of documents and codes) as methods of :class:`~recoverystudy.qual.project.Project`.

The exchange itself lives in :mod:`~recoverystudy.qual.refi_write` and :mod:`~recoverystudy.qual.refi_read`
(which know nothing of the ``Project`` class, so there is no import circle); :mod:`recoverystudy.qual.refi`
is the documented facade.  They are imported when first used, not when recoverystudy is imported, because
they load lxml (``import recoverystudy`` stays light).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from recoverystudy.qual.store import new_guid, utc_now

__all__ = ["ExchangeMixin"]


class ExchangeMixin:
    """``export_qdpx``, ``import_qdpx``, ``export_qdc``, ``import_qdc``, ``add_group`` and ``groups``."""

    def export_qdpx(self, path: str | Path) -> Path:
        """Export the project as a REFI-QDA project (``.qdpx``); see :func:`recoverystudy.qual.refi.export_qdpx`.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> with rs.Project.create(folder / "p.rsqda", codebook=None) as proj:
        ...     proj.export_qdpx(folder / "p.qdpx").name
        'p.qdpx'
        """
        from recoverystudy.qual import refi_write  # on use: lxml is heavy (not a cycle: see the module docstring)

        return refi_write.write_qdpx(self, path)

    @classmethod
    def import_qdpx(cls, qdpx: str | Path, new_path: str | Path):
        """Create a new project at *new_path* from a REFI-QDA ``.qdpx``; see :func:`recoverystudy.qual.refi.import_qdpx`.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> with rs.Project.create(folder / "p.rsqda", codebook=None) as proj:
        ...     _ = proj.export_qdpx(folder / "p.qdpx")
        >>> with rs.Project.import_qdpx(folder / "p.qdpx", folder / "q.rsqda") as copy:
        ...     len(copy.documents())
        0
        """
        from recoverystudy.qual import refi_read  # on use: lxml is heavy

        return cls.open(refi_read.read_qdpx(qdpx, new_path))

    def export_qdc(self, path: str | Path) -> Path:
        """Export the codebook as a REFI-QDA codebook (``.qdc``); see :func:`recoverystudy.qual.refi.export_qdc`.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> with rs.Project.create(folder / "p.rsqda") as proj:
        ...     proj.export_qdc(folder / "f.qdc").name
        'f.qdc'
        """
        from recoverystudy.qual import refi_write  # on use: lxml is heavy

        return refi_write.write_qdc(self, path)

    def import_qdc(self, path: str | Path) -> list[int]:
        """Add the codes of a REFI-QDA codebook (``.qdc``); see :func:`recoverystudy.qual.refi.import_qdc`.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> with rs.Project.create(folder / "p.rsqda") as proj:
        ...     _ = proj.export_qdc(folder / "f.qdc")
        >>> with rs.Project.create(folder / "q.rsqda", codebook=None) as empty:
        ...     len(empty.import_qdc(folder / "f.qdc"))
        43
        """
        from recoverystudy.qual import refi_codes  # on use, as the others

        return refi_codes.read_qdc(self, path)

    def add_group(self, name: str, *, documents: Iterable[str] = (), codes: Iterable[str] = (),
                  description: str = "") -> int:
        """Add a group (a REFI-QDA *set*) of documents and/or codes, such as "Site A transcripts".

        Groups are exported as ``<Set>`` elements and read back from the sets of NVivo, ATLAS.ti and
        MAXQDA projects.  Returns the group id.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: Fine.", name="SU01")
        >>> proj.add_group("Site A", documents=["SU01"], codes=["risk/risk_assessment"])
        1
        >>> proj.groups()[["group", "kind", "member"]].values.tolist()
        [['Site A', 'code', 'risk/risk_assessment'], ['Site A', 'document', 'SU01']]
        >>> proj.close()
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"A group name must be non-empty text; got {name!r}.")
        doc_ids = [self._doc_id(d) for d in documents]
        code_ids = [self._code_id(c) for c in codes]
        with self._tx() as conn:
            group_id = int(conn.execute(
                "INSERT INTO groups(guid, name, description, creator_id, created_at) VALUES (?, ?, ?, ?, ?)",
                (new_guid(), name, description, self._uid(), utc_now())).lastrowid)
            conn.executemany("INSERT OR IGNORE INTO group_members(group_id, document_id, code_id) VALUES (?, ?, ?)",
                             [(group_id, d, None) for d in doc_ids] + [(group_id, None, c) for c in code_ids])
        return group_id

    def groups(self) -> pd.DataFrame:
        """Group membership, one row per member: ``group_id, group, description, kind, member, guid``.

        ``kind`` is ``"document"`` or ``"code"``; ``member`` the document name or code path.  An empty group
        has one row with ``kind`` and ``member`` missing.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> with rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None) as proj:
        ...     len(proj.groups())
        0
        """
        rows = self._q(
            "SELECT g.group_id, g.name, g.description, CASE WHEN m.code_id IS NOT NULL THEN 'code'"
            " WHEN m.document_id IS NOT NULL THEN 'document' END, COALESCE(c.path, d.name), g.guid FROM groups g"
            " LEFT JOIN group_members m ON m.group_id = g.group_id LEFT JOIN codes c ON c.code_id = m.code_id"
            " LEFT JOIN documents d ON d.document_id = m.document_id ORDER BY g.group_id, 4, 5")
        frame = pd.DataFrame(rows, columns=["group_id", "group", "description", "kind", "member", "guid"])
        frame["group_id"] = frame["group_id"].astype("int64")
        return frame
