"""The safety layer of REFI-QDA reading: opening a ``.qdpx`` archive (or a bare XML file) and refusing danger.

Archives are checked before anything is read (member count, total size, compression ratio, member paths
that are absolute, contain ``..`` or a drive letter, duplicate names); XML is parsed with defusedxml with
DTDs, entities and external references forbidden; paths inside the project file may not leave the archive.
Each refusal raises :class:`~recoverystudy.errors.UnsafeArchiveError` with ``reason``, ``file`` and, where
it applies, ``member``.  Nothing is read from outside the archive.

The zip file is opened in exactly one place, :meth:`Package.open`; members are read only through
:meth:`Package.read`.  :class:`Report` collects what the reader ignored or repaired.
"""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from defusedxml import ElementTree as DefusedET
from defusedxml.common import DefusedXmlException

from recoverystudy._archive import ArchiveLimits, SafeZip
from recoverystudy.errors import ExchangeWarning, ImportFormatError, UnsafeArchiveError

__all__ = ["MAX_MEMBERS", "MAX_TOTAL_BYTES", "MAX_RATIO", "RATIO_MIN_BYTES", "Package", "Report", "decode_text",
           "local_name", "unsafe_name"]


#: Most members an archive may have.
MAX_MEMBERS = 100_000
#: Largest total uncompressed size of an archive (bytes).
MAX_TOTAL_BYTES = 2 * 1024 ** 3
#: Largest uncompressed/compressed ratio of one member larger than :data:`RATIO_MIN_BYTES`.
MAX_RATIO = 100
RATIO_MIN_BYTES = 1024 ** 2


def local_name(tag: Any) -> str:
    """The tag without its namespace (``""`` for comments and processing instructions).

    >>> local_name("{urn:QDA-XML:project:1.0}Code")
    'Code'
    """
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def unsafe_name(name: str) -> bool:
    """Whether an archive member path is absolute, contains ``..``, a NUL or a drive letter.

    >>> unsafe_name("Sources/a.txt"), unsafe_name("../etc/passwd"), unsafe_name("C:/x")
    (False, True, True)
    """
    n = name.replace("\\", "/")
    return (not n or "\x00" in n or n.startswith("/") or re.match(r"^[A-Za-z]:", n) is not None
            or ".." in n.split("/"))


class Report:
    """What was ignored or repaired, counted by kind with one example each, plus sources that were not read."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.unread: list[tuple[str, str]] = []  # (source name, the reason it was not read)

    def add(self, what: str, example: str | None = None) -> None:
        self.counts[what] += 1
        if example is not None:
            self.examples.setdefault(what, example)

    def not_read(self, name: str, reason: str) -> None:
        """Record that source *name* was not imported, and why."""
        self.unread.append((name, reason))

    def lines(self) -> list[str]:
        out = [f"{what} ({n}x" + (f", e.g. {self.examples[what]}" if what in self.examples else "") + ")"
               for what, n in self.counts.items()]
        out += [f"source {name!r} was not imported: {reason}" for name, reason in self.unread]
        return out

    def warn(self, file: Path) -> None:
        if self.counts or self.unread:
            warnings.warn(ExchangeWarning(f"Imported {file.name} with adjustments: " + "; ".join(self.lines()) + "."),
                          stacklevel=4)


# -- the package: zip archive or bare XML file ---------------------------------------------------------------
class Package:
    """The members of a ``.qdpx`` archive (or one bare XML file) after the safety checks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.folded: dict[str, str] = {}
        self.base = ""
        self.qde = ""

    def _unsafe(self, message: str, reason: str, member: str | None = None) -> UnsafeArchiveError:
        return UnsafeArchiveError(f"Refusing to import {self.path}: {message}.", file=str(self.path), member=member,
                                  reason=reason)

    @classmethod
    def open(cls, path: str | Path) -> Package:
        pkg = cls(Path(path))
        if not pkg.path.is_file():
            raise ImportFormatError(f"No file at {pkg.path}.", file=str(pkg.path))
        if not zipfile.is_zipfile(pkg.path):
            size = pkg.path.stat().st_size
            if size > MAX_TOTAL_BYTES:
                raise pkg._unsafe(f"the file is {size} bytes, more than the limit of {MAX_TOTAL_BYTES}", "size")
            return pkg
        try:
            pkg.zip = zipfile.ZipFile(pkg.path)
            infos = pkg.zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise ImportFormatError(f"{pkg.path} is not a readable zip archive ({exc}).", file=str(pkg.path)) from exc
        try:
            pkg._check(infos)
        except BaseException:
            pkg.close()
            raise
        return pkg

    def _check(self, infos: list[zipfile.ZipInfo]) -> None:
        # count, paths, duplicates, encryption and declared sizes are checked by SafeZip; reads are measured
        self.safe = SafeZip(self.zip, label=self.path, verb="import", limits=ArchiveLimits(
            max_members=MAX_MEMBERS, max_total_bytes=MAX_TOTAL_BYTES, max_ratio=MAX_RATIO,
            ratio_min_bytes=RATIO_MIN_BYTES))
        for info in infos:
            name = info.filename.replace("\\", "/").removeprefix("./")
            if not name.endswith("/"):
                self.members[name] = info
                self.folded.setdefault(name.casefold(), name)
        qdes = [n for n in self.members if n.casefold().endswith(".qde")]
        root_qde = [n for n in qdes if n.casefold() == "project.qde"]
        if root_qde or len(qdes) == 1:
            self.qde = (root_qde or qdes)[0]
            self.base = self.qde.rpartition("/")[0] + "/" if "/" in self.qde else ""
        else:
            raise ImportFormatError(f"{self.path} holds no project.qde (found {len(qdes)} .qde members); it is not a "
                                    f"REFI-QDA project archive.", file=str(self.path), member="project.qde")

    def read(self, member: str) -> bytes:
        if self.zip is None:
            return self.path.read_bytes()
        try:
            return self.safe.read(self.members[member])
        except (zipfile.BadZipFile, zlib.error, OSError, NotImplementedError, RuntimeError, EOFError) as exc:
            raise ImportFormatError(f"{self.path}: member {member!r} cannot be read ({exc}).", file=str(self.path),
                                    member=member) from exc

    def find(self, name: str) -> str | None:
        return name if name in self.members else self.folded.get(name.casefold())

    def internal(self, ref: str, where: str) -> str | None:
        """The member an ``internal://`` path names (``None`` if absent); refuses paths leaving ``Sources/``."""
        rel = ref[len("internal://"):].replace("\\", "/")
        if unsafe_name(rel) or re.match(r"^[a-z]+:", rel, re.I):
            raise self._unsafe(f"{where} names {ref!r}, which escapes the Sources/ folder", "path", ref)
        rel = rel.removeprefix("./")
        for cand in (rel, unquote(rel)):
            found = self.find(f"{self.base}Sources/{cand}") or self.find(f"{self.base}{cand}")
            if found:
                return found
        return None

    def locate(self, ref: str, where: str) -> tuple[str | None, str]:
        """The member a ``plainTextPath`` names, or ``None`` and the true reason it cannot be read.

        ``internal://x`` is looked up in ``Sources/``; a path with no scheme (QualCoder writes
        ``sources/board_2017.txt``) is a path inside the archive, relative to the project file's folder;
        letter case is ignored.  ``relative://`` and ``absolute://`` name files outside the archive, which are
        never read.  Paths that try to leave the archive raise :class:`UnsafeArchiveError`.

        >>> Package(Path("x.qdpx")).locate("absolute:///home/me/a.txt", "TextSource 'a'")[1]
        "its text is stored outside the archive ('absolute:///home/me/a.txt'), which is never read"
        """
        ref = ref.strip()
        low = ref.lower()
        if low.startswith("internal://"):
            member = self.internal(ref, where)
            return member, "" if member else f"its text file {ref!r} is not in the archive"
        if low.startswith(("relative://", "absolute://", "file://", "http://", "https://")) or \
                re.match(r"^[A-Za-z]:[\\/]", ref) or ref.startswith(("/", "\\\\")):
            return None, f"its text is stored outside the archive ({ref!r}), which is never read"
        rel = ref.replace("\\", "/").removeprefix("./")
        if unsafe_name(rel) or re.match(r"^[a-z][a-z0-9+.-]*:", rel, re.I):
            raise self._unsafe(f"{where} names {ref!r}, which escapes the archive", "path", ref)
        if self.zip is None:
            return None, f"its text file {ref!r} would be inside a .qdpx archive, but this is a bare project file"
        for cand in (rel, unquote(rel)):
            found = self.find(f"{self.base}{cand}") or self.find(cand) or self.find(f"{self.base}Sources/{cand}")
            if found:
                return found, ""
        return None, f"its text file {ref!r} is not in the archive"

    def xml(self, member: str):
        data = self.read(member)
        try:
            return DefusedET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except DefusedXmlException as exc:
            raise self._unsafe(f"{member or self.path.name} declares a DTD, entities or external references "
                               f"({type(exc).__name__}), which could be used for an entity-expansion attack", "dtd",
                               member or None) from exc
        except ET.ParseError as exc:
            line, col = exc.position
            raise ImportFormatError(f"{self.path}: {member or 'the file'} is not well-formed XML (line {line}, "
                                    f"column {col}: {exc}).", file=str(self.path), member=member or None,
                                    line=line) from exc

    def root(self, expected: tuple[str, ...]):
        root = self.xml(self.qde if self.zip is not None else "")
        if local_name(root.tag) not in expected:
            hint = " (it is a codebook: use import_qdc)" if local_name(root.tag) == "CodeBook" else \
                " (it is a project: use import_qdpx, or pass it to import_qdc to take its codebook)" \
                if local_name(root.tag) == "Project" and "Project" not in expected else ""
            raise ImportFormatError(f"{self.path}: the root element is <{local_name(root.tag)}>, expected "
                                    f"<{'> or <'.join(expected)}>{hint}.", file=str(self.path),
                                    element=local_name(root.tag))
        return root

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def decode_text(data: bytes, pkg: Package, member: str, report: Report) -> str:
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            return data[3:].decode("utf-8")
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252")
            report.add("text files that were not UTF-8 were read as Windows-1252", member)
            return text
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"{pkg.path}: member {member!r} is not UTF-8, UTF-16 or Windows-1252 text "
                                f"(byte {exc.start}).", file=str(pkg.path), member=member) from exc

