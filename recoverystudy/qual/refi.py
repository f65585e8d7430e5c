"""REFI-QDA 1.0 exchange: move a Framework Method project to and from NVivo, MAXQDA, ATLAS.ti and QualCoder.

* :func:`export_qdpx` / :func:`import_qdpx` - the whole project as a ``.qdpx`` archive (``project.qde`` in
  namespace ``urn:QDA-XML:project:1.0`` plus ``Sources/<guid>.txt``).
* :func:`export_qdc` / :func:`import_qdc` - the codebook alone as a ``.qdc`` file (namespace
  ``urn:QDA-XML:codebook:1.0``).
* :func:`import_history` - where an imported project (or codebook) came from.

Every file written validates against the REFI-QDA 1.0 schemas shipped in ``recoverystudy/qual/schemas``;
reading refuses DTDs and entities, archive paths that escape the archive and archives that are too large.
What is exported, what is kept and what is tolerated is described in ``docs/refi-qda.md``.  Positions are
Unicode code points, the same as recoverystudy's offsets.

>>> import recoverystudy as rs, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with rs.Project.create(folder / "study.rsqda") as proj:
...     _ = proj.add_document("SU01: I never had a copy 📄 of my plan.", name="SU01", case="SU01")
...     _ = proj.code_quote("SU01", "of my plan", "care_plan_document/copy_and_ownership", coder="AB")
...     _ = proj.export_qdpx(folder / "study.qdpx")
>>> with rs.Project.import_qdpx(folder / "study.qdpx", folder / "copy.rsqda") as copy:
...     copy.segments()[["document", "code", "coder", "start", "end", "text"]].values.tolist()
[['SU01', 'care_plan_document/copy_and_ownership', 'AB', 27, 37, 'of my plan']]
"""

from __future__ import annotations

from pathlib import Path

from recoverystudy.qual import refi_codes as _codes
from recoverystudy.qual import refi_write as _write
from recoverystudy.qual.project import Project

__all__ = ["export_qdpx", "import_qdpx", "export_qdc", "import_qdc", "import_history"]


def export_qdpx(project, path: str | Path) -> Path:
    """Export *project* as a REFI-QDA project archive (``.qdpx``).

    Parameters
    ----------
    project : recoverystudy.qual.project.Project
        An open project.
    path : str or pathlib.Path
        The archive to write.  An existing file is replaced only once the new one is complete; the
        project file itself is never overwritten.

    Returns
    -------
    pathlib.Path
        The archive written.

    Raises
    ------
    ExchangeError
        The folder does not exist, the path is the project file, some text cannot be held by XML
        (control characters), a float attribute is not finite, or - which would be a bug - the XML does not
        validate against the REFI-QDA 1.0 schema.  Nothing is written in these cases.

    Notes
    -----
    Written: users; the codes with their hierarchy, colours and a description holding definition,
    inclusion, exclusion, example, keywords, lemmas and code path; case attributes and document
    attributes as variables; cases with their values and documents; every document as
    ``Sources/<guid>.txt`` with its coded segments as ``PlainTextSelection`` + ``Coding`` (positions are
    code-point offsets; coder and time kept); memos and framework chart summaries as notes.  GUIDs are the
    project's own, so exporting twice gives the same identifiers.

    Examples
    --------
    >>> import recoverystudy as rs, tempfile, pathlib, zipfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> proj = rs.Project.create(folder / "p.rsqda")
    >>> _ = proj.add_document("SU01: My mum came.", name="SU01", case="SU01")
    >>> out = export_qdpx(proj, folder / "p.qdpx")
    >>> sorted(n.split("/")[0] for n in zipfile.ZipFile(out).namelist())
    ['Sources', 'project.qde']
    >>> proj.close()
    """
    return _write.write_qdpx(project, path)


def import_qdpx(qdpx: str | Path, new_path: str | Path):
    """Create a new project at *new_path* from a REFI-QDA project (``.qdpx``, or a bare ``.qde``).

    Parameters
    ----------
    qdpx : str or pathlib.Path
        The archive written by recoverystudy, NVivo, MAXQDA, ATLAS.ti, QualCoder ...
    new_path : str or pathlib.Path
        The project file to create.  It must not exist: importing never overwrites.

    Returns
    -------
    recoverystudy.qual.project.Project
        The new project, open.  :func:`import_history` tells where it came from.

    Raises
    ------
    ProjectStoreError
        *new_path* exists or its folder does not.
    UnsafeArchiveError
        The file declares a DTD or entities, a member path or ``internal://`` path escapes the archive,
        or the archive is too large, has too many members or a suspicious compression ratio
        (``err.reason``, ``err.file``, ``err.member``).
    ImportFormatError
        The file is not a zip archive or XML, has no ``project.qde``, or is not well-formed.

    Warns
    -----
    ExchangeWarning
        Once, listing what was ignored or repaired (non-text sources, codings without a coder, ...).

    Notes
    -----
    The project is built in a temporary file next to *new_path* and moved into place only when complete:
    after any error *new_path* does not exist.  Text sources are read from ``Sources/`` or inline
    ``PlainTextContent``; CRLF line ends are normalised and positions adjusted to match.

    Examples
    --------
    >>> import recoverystudy as rs, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with rs.Project.create(folder / "a.rsqda") as proj:
    ...     _ = proj.add_case("SU01", site="A", age=34)
    ...     _ = proj.export_qdpx(folder / "a.qdpx")
    >>> with import_qdpx(folder / "a.qdpx", folder / "b.rsqda") as copy:
    ...     copy.cases().to_dict("records")
    [{'case': 'SU01', 'age': 34, 'site': 'A'}]
    """
    return Project.import_qdpx(qdpx, new_path)


def export_qdc(project, path: str | Path) -> Path:
    """Export the codebook of *project* as a REFI-QDA codebook (``.qdc``).

    Parameters
    ----------
    project : recoverystudy.qual.project.Project
    path : str or pathlib.Path
        The file to write (replaced only once the new one is complete).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ExchangeError
        The project has no codes, the folder does not exist, or the XML would not validate.

    Examples
    --------
    >>> import recoverystudy as rs, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with rs.Project.create(folder / "p.rsqda") as proj:
    ...     export_qdc(proj, folder / "framework.qdc").name
    'framework.qdc'
    """
    return _write.write_qdc(project, path)


def import_qdc(project, path: str | Path) -> list[int]:
    """Add the codes of a REFI-QDA codebook (``.qdc``, or the codebook of a ``.qdpx``) to *project*.

    Codes already in the project - same GUID, or same code path - are left unchanged (their new
    sub-codes are added under them); everything is added in one transaction.

    Parameters
    ----------
    project : recoverystudy.qual.project.Project
    path : str or pathlib.Path

    Returns
    -------
    list of int
        The ids of the codes added.

    Raises
    ------
    UnsafeArchiveError, ImportFormatError
        As for :func:`import_qdpx`.

    Warns
    -----
    ExchangeWarning
        Codes that were already present, colours dropped, and so on.

    Examples
    --------
    >>> import recoverystudy as rs, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with rs.Project.create(folder / "a.rsqda") as proj:
    ...     _ = export_qdc(proj, folder / "framework.qdc")
    >>> with rs.Project.create(folder / "b.rsqda", codebook=None) as empty:
    ...     len(import_qdc(empty, folder / "framework.qdc")), empty.codes()["path"].iloc[1]
    (43, 'recovery/personal_recovery')
    """
    return _codes.read_qdc(project, path)


def import_history(project) -> list[dict]:
    """The REFI-QDA files imported into *project*: file name, SHA-256, size, time, origin and adjustments.

    Examples
    --------
    >>> import recoverystudy as rs, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with rs.Project.create(folder / "a.rsqda") as proj:
    ...     _ = proj.export_qdpx(folder / "a.qdpx")
    >>> with rs.Project.import_qdpx(folder / "a.qdpx", folder / "b.rsqda") as copy:
    ...     [(r["file"], len(r["sha256"])) for r in import_history(copy)]
    [('a.qdpx', 64)]
    """
    return _codes.import_history(project)
