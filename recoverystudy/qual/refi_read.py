"""Reading REFI-QDA 1.0 exchange files: ``.qdpx`` projects (or a bare ``project.qde``) and ``.qdc`` codebooks.

Use the functions of :mod:`recoverystudy.qual.refi`.  Reading is safe and lenient:

* safe - archives are checked before anything is read (member count, total size, compression ratio, member
  paths that are absolute, contain ``..`` or a drive letter, duplicate names); XML is parsed with defusedxml
  with DTDs, entities and external references forbidden; ``internal://`` paths may not leave ``Sources/``.
  Each refusal raises :class:`~recoverystudy.errors.UnsafeArchiveError` with ``reason``, ``file`` and, where
  it applies, ``member``.  Nothing is read from outside the archive.
* lenient - what NVivo, MAXQDA, ATLAS.ti and QualCoder write is accepted when its meaning is clear (a
  byte-order mark, inline ``PlainTextContent``, missing optional elements and attributes, GUIDs in braces or
  lower case, CRLF line ends); what is ignored or repaired is reported in one
  :class:`~recoverystudy.errors.ExchangeWarning` and kept in the project's import record.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
import unicodedata
import uuid
import warnings
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from defusedxml import ElementTree as DefusedET
from defusedxml.common import DefusedXmlException

from recoverystudy._archive import ArchiveLimits, SafeZip
from recoverystudy.errors import ExchangeWarning, ImportFormatError, ProjectStoreError, UnsafeArchiveError
from recoverystudy.qual.documents import normalise_text, text_sha256
from recoverystudy.qual.refi_write import (
    CHART_NOTE_PREFIX,
    DESCRIPTION_SECTIONS,
    DOCUMENT_VARIABLES_KEY,
    ORIGIN,
)
from recoverystudy.qual.store import new_guid, utc_now
from recoverystudy.qual.text import speaker_turns

__all__ = ["MAX_MEMBERS", "MAX_TOTAL_BYTES", "MAX_RATIO", "RATIO_MIN_BYTES", "read_qdpx", "read_qdc",
           "import_history", "parse_code_description"]

#: Most members an archive may have.
MAX_MEMBERS = 100_000
#: Largest total uncompressed size of an archive (bytes).
MAX_TOTAL_BYTES = 2 * 1024 ** 3
#: Largest uncompressed/compressed ratio of one member larger than :data:`RATIO_MIN_BYTES`.
MAX_RATIO = 100
RATIO_MIN_BYTES = 1024 ** 2

_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")
_PATH = re.compile(r"^[a-z][a-z0-9_]*(/[a-z][a-z0-9_]*)*$")
_COLOUR = re.compile(r"^#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$")
_KINDS = {"text": "text", "integer": "integer", "float": "float", "boolean": "boolean", "date": "text",
          "datetime": "text"}
_VALUE_KINDS = {"TextValue": "text", "IntegerValue": "integer", "FloatValue": "float", "BooleanValue": "boolean",
                "DateValue": "date", "DateTimeValue": "datetime"}
META_KEY = "refi_imports"


# -- small helpers -------------------------------------------------------------------------------------
def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _kids(el, name: str) -> list:
    return [] if el is None else [c for c in el if _local(c.tag) == name]


def _kid(el, name: str):
    found = _kids(el, name)
    return found[0] if found else None


def _key(raw: str | None) -> str | None:
    """Normalised reference key: an upper-case GUID without braces (other non-empty strings kept as they are)."""
    if raw is None or not raw.strip():
        return None
    m = _GUID.match(raw.strip())
    return m.group(1).upper() if m else raw.strip()


def _when(raw: str | None, fallback: str) -> str:
    if not raw:
        return fallback
    text = re.sub(r"(\.\d{6})\d+", r"\1", raw.strip())
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _slug(name: str) -> str:
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    s = re.sub(r"[^a-z0-9]+", "_", s).strip("_")[:40].strip("_")
    return s if s and s[0].isalpha() else ("code_" + s).strip("_")


def _name(raw: str | None) -> str:
    """A name as written (surrounding spaces kept), or ``""`` if it is missing or blank."""
    return raw if raw and raw.strip() else ""


class _Names:
    """Names in use; hands out the first free variant of a name without rescanning (linear, not quadratic)."""

    def __init__(self, taken=()) -> None:
        self.taken = set(taken)
        self.next: dict[str, int] = {}

    def free(self, name: str, variant) -> str:
        out = name
        if out in self.taken:
            k = self.next.get(name, 2)
            while (out := variant(k)) in self.taken:
                k += 1
            self.next[name] = k + 1
        self.taken.add(out)
        return out


def _unsafe_name(name: str) -> bool:
    n = name.replace("\\", "/")
    return (not n or "\x00" in n or n.startswith("/") or re.match(r"^[A-Za-z]:", n) is not None
            or ".." in n.split("/"))


def parse_code_description(text: str) -> dict[str, Any]:
    """Split a description written by :func:`~recoverystudy.qual.refi_write.code_description` into its fields.

    >>> parse_code_description('Risk talk.\\n\\nKeywords: ["risk"]\\n\\nCode path: risk/risk_discussion')["keywords"]
    ['risk']
    """
    s = "\n\n" + text
    out: dict[str, Any] = {}
    end = len(s)
    for key, label in reversed(DESCRIPTION_SECTIONS):
        i = s.rfind(f"\n\n{label}: ", 0, end)
        if i >= 0:
            out[key] = s[i + len(label) + 4:end]
            end = i
    out["definition"] = s[2:end] if end >= 2 else ""
    for key in ("keywords", "lemmas"):
        try:
            value = json.loads(out.get(key, "[]"))
        except ValueError:
            value = []
        out[key] = [str(v) for v in value] if isinstance(value, list) else []
    out["path"] = out.get("path", "").strip()
    return out


class _Report:
    """What was ignored or repaired, counted by kind with one example each."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def add(self, what: str, example: str | None = None) -> None:
        self.counts[what] += 1
        if example is not None:
            self.examples.setdefault(what, example)

    def lines(self) -> list[str]:
        return [f"{what} ({n}x" + (f", e.g. {self.examples[what]}" if what in self.examples else "") + ")"
                for what, n in self.counts.items()]

    def warn(self, file: Path) -> None:
        if self.counts:
            warnings.warn(ExchangeWarning(f"Imported {file.name} with adjustments: " + "; ".join(self.lines()) + "."),
                          stacklevel=4)


# -- the package: zip archive or bare XML file ---------------------------------------------------------------
class _Package:
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
    def open(cls, path: str | Path) -> _Package:
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
        if _unsafe_name(rel) or re.match(r"^[a-z]+:", rel, re.I):
            raise self._unsafe(f"{where} names {ref!r}, which escapes the Sources/ folder", "path", ref)
        rel = rel.removeprefix("./")
        for cand in (rel, unquote(rel)):
            found = self.find(f"{self.base}Sources/{cand}")
            if found:
                return found
        return None

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
        if _local(root.tag) not in expected:
            hint = " (it is a codebook: use import_qdc)" if _local(root.tag) == "CodeBook" else \
                " (it is a project: use import_qdpx, or pass it to import_qdc to take its codebook)" \
                if _local(root.tag) == "Project" and "Project" not in expected else ""
            raise ImportFormatError(f"{self.path}: the root element is <{_local(root.tag)}>, expected "
                                    f"<{'> or <'.join(expected)}>{hint}.", file=str(self.path),
                                    element=_local(root.tag))
        return root

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def _decode(data: bytes, pkg: _Package, member: str, report: _Report) -> str:
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


# -- codes (shared by .qdpx and .qdc) ------------------------------------------------------------------------
def _read_codes(codes_el, report: _Report) -> list[dict]:
    out: list[dict] = []
    stack = [(c, None) for c in reversed(_kids(codes_el, "Code"))]
    while stack:
        el, parent = stack.pop()
        key = _key(el.get("guid")) or f"missing-{len(out)}"
        name = _name(el.get("name"))
        if not name:
            report.add("codes without a name were called 'Unnamed code'")
            name = "Unnamed code"
        colour = (el.get("color") or "").strip() or None
        if colour and not _COLOUR.match(colour):
            report.add("code colours that are not #RRGGBB were dropped", f"{name}: {colour!r}")
            colour = None
        if colour and len(colour) == 4:
            colour = "#" + "".join(ch * 2 for ch in colour[1:])
        desc = _kid(el, "Description")
        out.append({"key": key, "name": name, "colour": colour, "parent": parent,
                    "description": (desc.text or "") if desc is not None else "",
                    "notes": [_key(r.get("targetGUID")) for r in _kids(el, "NoteRef")]})
        stack.extend((c, key) for c in reversed(_kids(el, "Code")))
    return out


def _insert_codes(conn, codes: list[dict], ours: bool, creator_id: int, report: _Report,
                  now: str) -> tuple[dict[str, int], list[int]]:
    """Insert *codes* (pre-order); codes matching a code already in the project (GUID, else path) are kept
    unchanged and their children go under them.  Returns ``({key: code_id}, [new code ids])``."""
    rows = conn.execute("SELECT code_id, guid, path FROM codes").fetchall()
    pre_guid = {g: (i, p) for i, g, p in rows}
    pre_path = {p: (i, p) for i, _g, p in rows}
    path_of = {i: p for i, _g, p in rows}
    taken_paths, taken_guids = _Names(pre_path), set(pre_guid)
    order = conn.execute("SELECT COALESCE(MAX(sort_order), -1) + 1 FROM codes").fetchone()[0]
    ids: dict[str, int] = {}
    added: list[int] = []
    for code in codes:
        if code["key"] in ids:
            report.add("codes whose GUID occurs twice were imported once", code["name"])
            continue
        parent_id = ids.get(code["parent"]) if code["parent"] else None
        parent_path = path_of.get(parent_id, "") if parent_id is not None else ""
        fields = parse_code_description(code["description"]) if ours else {"definition": code["description"]}
        path = fields.get("path", "")
        if not (path and _PATH.match(path) and path.rpartition("/")[0] == parent_path):
            path = (parent_path + "/" if parent_path else "") + _slug(code["name"])
        guid = _key(code["key"])
        existing = pre_guid.get(guid) or pre_path.get(path)
        if existing is not None:
            ids[code["key"]] = existing[0]
            report.add("codes already in the project (same GUID or path) were left unchanged", existing[1])
            continue
        path = taken_paths.free(path, lambda k, base=path: f"{base}_{k}")
        if not (guid and _GUID.match(guid)) or guid in taken_guids:
            guid = new_guid()
        rules = {"keywords": fields.get("keywords", []), "lemmas": fields.get("lemmas", [])}
        cur = conn.execute(
            "INSERT INTO codes(guid, path, name, parent_id, definition, inclusion, exclusion, example, colour,"
            " rules_json, sort_order, creator_id, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?)", (guid, path, code["name"], parent_id, fields.get("definition", ""), fields.get("inclusion", ""),
                       fields.get("exclusion", ""), fields.get("example", ""), code["colour"], json.dumps(rules),
                       order, creator_id, now, now))
        order += 1
        code_id = int(cur.lastrowid)
        ids[code["key"]] = code_id
        taken_guids.add(guid)
        path_of[code_id] = path
        added.append(code_id)
    return ids, added


def _file_record(path: Path, kind: str, origin: str, report: _Report, **extra: Any) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"format": kind, "file": path.name, "sha256": digest.hexdigest(), "size": path.stat().st_size,
            "imported_at": utc_now(), "origin": origin, **extra, "adjustments": report.lines()}


def _record(conn, record: dict) -> None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_KEY,)).fetchone()
    history = json.loads(row[0]) if row else []
    history.append(record)
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (META_KEY, json.dumps(history)))


def import_history(project) -> list[dict]:
    """The REFI-QDA imports recorded in *project* (see :func:`recoverystudy.qual.refi.import_history`)."""
    row = project._q("SELECT value FROM meta WHERE key = ?", (META_KEY,))
    return json.loads(row[0][0]) if row else []


def read_qdc(project, path: str | Path) -> list[int]:
    """Add the codes of a codebook to *project* (see :func:`recoverystudy.qual.refi.import_qdc`)."""
    report = _Report()
    pkg = _Package.open(path)
    try:
        root = pkg.root(("CodeBook", "Project"))
    finally:
        pkg.close()
    book = root if _local(root.tag) == "CodeBook" else _kid(root, "CodeBook")
    codes_el = _kid(book, "Codes")
    if codes_el is None or not _kids(codes_el, "Code"):
        raise ImportFormatError(f"{pkg.path}: the codebook has no <Codes>/<Code> elements; nothing to import.",
                                file=str(pkg.path), element="Codes")
    origin = root.get("origin") or ""
    codes = _read_codes(codes_el, report)
    now = utc_now()
    with project._tx() as conn:
        _ids, added = _insert_codes(conn, codes, origin.startswith(ORIGIN), project._uid(), report, now)
        _record(conn, _file_record(pkg.path, "REFI-QDA 1.0 codebook", origin, report, codes_added=len(added)))
    report.warn(pkg.path)
    return added


# -- project import ----------------------------------------------------------------------------------------
class _ProjectReader:
    """Reads ``project.qde`` (and its sources) into rows, then writes them into an empty store."""

    def __init__(self, pkg: _Package, root) -> None:
        self.pkg = pkg
        self.root = root
        self.file = pkg.path.name
        self.origin = root.get("origin") or ""
        self.ours = self.origin.startswith(ORIGIN)
        self.report = _Report()
        self.now = utc_now()

    # -- reading helpers --
    def _source_text(self, el, where: str) -> tuple[str, str] | None:
        """(raw text, member) of a TextSource or Note; ``None`` when it has no readable plain text."""
        inline = _kid(el, "PlainTextContent")
        if inline is not None:
            return inline.text or "", self.pkg.qde or self.file
        ref = (el.get("plainTextPath") or "").strip()
        member = None
        if ref.lower().startswith("internal://"):
            member = self.pkg.internal(ref, where)
        elif ref:
            self.report.add("sources stored outside the archive (relative:// or absolute://) were not read", ref)
            return None
        key = _key(el.get("guid"))
        if member is None and key and self.pkg.zip is not None:
            member = self.pkg.find(f"{self.pkg.base}Sources/{key}.txt") or \
                self.pkg.find(f"{self.pkg.base}Sources/{el.get('guid', '').strip()}.txt")
        if member is None:
            return None
        return _decode(self.pkg.read(member), self.pkg, member, self.report), member

    def _values(self, el) -> list[tuple[str, str, str]]:
        out = []
        for vv in _kids(el, "VariableValue"):
            var = _kid(vv, "VariableRef")
            ref = _key((var if var is not None else vv).get("targetGUID"))
            val = next((c for c in vv if _local(c.tag) in _VALUE_KINDS), None)
            if ref is None or val is None:
                self.report.add("variable values without a variable or a value were ignored")
                continue
            out.append((ref, _VALUE_KINDS[_local(val.tag)], val.text or ""))
        return out

    def _convert(self, kind: str, text: str, where: str) -> str | None:
        t = text.strip()
        try:
            if kind == "boolean":
                return {"true": "1", "1": "1", "yes": "1", "false": "0", "0": "0", "no": "0"}[t.lower()]
            if kind == "integer":
                return str(int(t))
            if kind == "float":
                number = float(t)
                if number != number or abs(number) == float("inf"):
                    raise ValueError(t)
                return repr(number)
        except (KeyError, ValueError):
            self.report.add("variable values that do not fit the variable's type were ignored", f"{where}: {text!r}")
            return None
        return text

    # -- the whole file --
    def read(self) -> None:
        root, report = self.root, self.report
        self.users = []
        for u in _kids(_kid(root, "Users"), "User"):
            key = _key(u.get("guid"))
            if key is None:
                report.add("users without a GUID were ignored")
                continue
            self.users.append((key, _name(u.get("name")) or _name(u.get("id"))))
        book = _kid(_kid(root, "CodeBook"), "Codes")
        self.codes = _read_codes(book, report) if book is not None else []
        self.variables = {}
        for v in _kids(_kid(root, "Variables"), "Variable"):
            key = _key(v.get("guid"))
            kind = (v.get("typeOfVariable") or "Text").strip().lower()
            if kind in ("date", "datetime"):
                report.add("date and date-time variables were imported as text", v.get("name"))
            if key is not None:
                self.variables[key] = (_name(v.get("name")) or f"variable {len(self.variables) + 1}",
                                       _KINDS.get(kind, "text"))
        self.cases = []
        for c in _kids(_kid(root, "Cases"), "Case"):
            if _kids(c, "CodeRef") or _kids(c, "SelectionRef"):
                report.add("case code and selection references were ignored (cases hold whole documents here)")
            desc = _kid(c, "Description")
            self.cases.append({"key": _key(c.get("guid")) or f"missing-case-{len(self.cases)}",
                               "name": _name(c.get("name")), "values": self._values(c),
                               "sources": [_key(r.get("targetGUID")) for r in _kids(c, "SourceRef")],
                               "description": (desc.text or "").strip() if desc is not None else ""})
        self.sources = []
        for s in list(_kid(root, "Sources") if _kid(root, "Sources") is not None else []):
            tag = _local(s.tag)
            if tag != "TextSource":
                report.add("non-text sources (pictures, PDF, audio, video) were ignored", f"{tag} {s.get('name')!r}")
                continue
            name = _name(s.get("name"))
            where = f"TextSource {name or s.get('guid')!r}"
            got = self._source_text(s, where)
            if got is None:
                report.add("text sources without readable plain text were ignored", name or s.get("guid"))
                continue
            desc = _kid(s, "Description")
            sels = []
            for sel in _kids(s, "PlainTextSelection"):
                sels.append({"key": _key(sel.get("guid")), "start": sel.get("startPosition"),
                             "end": sel.get("endPosition"), "user": _key(sel.get("creatingUser")),
                             "at": sel.get("creationDateTime"), "codings": self._codings(sel),
                             "notes": [_key(r.get("targetGUID")) for r in _kids(sel, "NoteRef")]})
            self.sources.append({"key": _key(s.get("guid")) or f"missing-source-{len(self.sources)}", "name": name,
                                 "raw": got[0], "member": got[1],
                                 "user": _key(s.get("creatingUser")), "created": s.get("creationDateTime"),
                                 "modified": s.get("modifiedDateTime"),
                                 "description": (desc.text or "") if desc is not None else "",
                                 "selections": sels, "whole": self._codings(s), "values": self._values(s),
                                 "notes": [_key(r.get("targetGUID")) for r in _kids(s, "NoteRef")]})
        self.notes = []
        for n in _kids(_kid(root, "Notes"), "Note"):
            got = self._source_text(n, f"Note {n.get('name')!r}")
            if _kids(n, "PlainTextSelection") or _kids(n, "Coding"):
                report.add("codings inside notes were ignored", n.get("name"))
            self.notes.append({"key": _key(n.get("guid")), "name": _name(n.get("name")),
                               "text": got[0] if got else "", "user": _key(n.get("creatingUser")),
                               "created": n.get("creationDateTime"), "modified": n.get("modifiedDateTime")})
        self.links = [(_key(k.get("originGUID")), _key(k.get("targetGUID")))
                      for k in _kids(_kid(root, "Links"), "Link")]
        for tag in ("Sets", "Graphs"):
            if _kid(root, tag) is not None:
                report.add(f"<{tag}> were ignored (not used by recoverystudy)")
        desc = _kid(root, "Description")
        self.description = (desc.text or "").strip() if desc is not None else ""
        self.project_notes = [_key(r.get("targetGUID")) for r in _kids(root, "NoteRef")]

    def _codings(self, el) -> list[dict]:
        out = []
        for c in _kids(el, "Coding"):
            ref = _kid(c, "CodeRef")
            out.append({"key": _key(c.get("guid")), "code": _key((ref if ref is not None else c).get("targetGUID")),
                        "user": _key(c.get("creatingUser")), "at": c.get("creationDateTime"),
                        "notes": [_key(r.get("targetGUID")) for r in _kids(c, "NoteRef")]})
        return out

    # -- writing: identifiers, names and users --
    def _guid(self, table: str, key: str | None, what: str) -> str:
        """The file's GUID for a new row of *table* if it is valid and unused there, else a new one."""
        if key and _GUID.match(key) and key not in self.used_guids[table]:
            self.used_guids[table].add(key)
            return key
        if key and _GUID.match(key):
            self.report.add(f"{what} whose GUID occurs twice got a new GUID", key)
        guid = new_guid()
        self.used_guids[table].add(guid)
        return guid

    def _unique(self, name: str, taken: _Names, what: str) -> str:
        out = taken.free(name, lambda k: f"{name} ({k})")
        if out != name:
            self.report.add(f"{what} with the same name were renamed", out)
        return out

    def _add_user(self, key: str | None, name: str) -> int:
        cur = self.conn.execute("INSERT INTO users(guid, name, created_at) VALUES (?, ?, ?)",
                                (self._guid("users", key, "users"), self._unique(name, self.user_names, "users"),
                                 self.now))
        return int(cur.lastrowid)

    def _importer(self) -> int:
        """The user 'imported', who stands for creators the file does not name."""
        if self.imported_id is None:
            self.imported_id = self._add_user(None, "imported")
        return self.imported_id

    def _user(self, key: str | None, what: str) -> int:
        if key is None:
            self.report.add(f"{what} without a creating user were attributed to user 'imported'")
            return self._importer()
        if key not in self.user_ids:
            self.report.add("users referred to but not listed in <Users> were added under their GUID", key)
            self.user_ids[key] = self._add_user(key, f"user {key}")
        return self.user_ids[key]

    # -- writing: the steps --
    def write(self, conn) -> dict:
        """Write everything read into the empty store behind *conn*; return counts for the import record."""
        self.conn = conn
        self.used_guids: dict[str, set[str]] = defaultdict(set)
        self.user_ids: dict[str, int] = {}
        self.user_names = _Names()
        self.imported_id: int | None = None
        # memo rows: guid, text, on, case, code, segment, document, author, created, modified
        self.memo_rows: list[tuple] = []
        for key, name in self.users:
            if key not in self.user_ids:
                self.user_ids[key] = self._add_user(key, name or f"user {key}")
        self.code_ids = _insert_codes(conn, self.codes, self.ours, self._importer(), self.report,
                                      self.now)[0] if self.codes else {}
        self._write_cases()
        self._write_documents()
        self._write_segments()
        self._write_notes()
        return {"documents": len(self.by_sha), "cases": len(self.case_ids), "codes": len(self.code_ids),
                "segments": len(self.seg_rows), "memos": len(self.memo_rows), "charts": self.n_charts}

    def _write_cases(self) -> None:
        conn, now = self.conn, self.now
        case_vars = {ref for c in self.cases for ref, _k, _t in c["values"]}
        self.source_vars = {ref for s in self.sources for ref, _k, _t in s["values"]}
        attr_ids: dict[str, tuple[int, str, str]] = {}
        taken = _Names()
        for key, (name, kind) in self.variables.items():
            if key in self.source_vars and key not in case_vars:
                continue  # a document-level variable
            name = self._unique(name, taken, "case variables")
            cur = conn.execute("INSERT INTO attributes(guid, name, type, creator_id, created_at)"
                               " VALUES (?, ?, ?, ?, ?)",
                               (self._guid("attributes", key, "variables"), name, kind, self._importer(), now))
            attr_ids[key] = (int(cur.lastrowid), name, kind)
        self.case_ids: dict[str, int] = {}
        self.case_of_source: dict[str, int] = {}
        taken = _Names()
        for i, c in enumerate(self.cases, 1):
            name = self._unique(c["name"] or f"Case {i}", taken, "cases")
            case_id = int(conn.execute(
                "INSERT INTO cases(guid, name, creator_id, created_at, modified_at) VALUES (?, ?, ?, ?, ?)",
                (self._guid("cases", c["key"], "cases"), name, self._importer(), now, now)).lastrowid)
            self.case_ids[c["key"]] = case_id
            for ref, _kind, text in c["values"]:
                if ref not in attr_ids:
                    self.report.add("case values of unknown variables were ignored", f"case {name!r}")
                    continue
                attr_id, attr, declared = attr_ids[ref]
                value = self._convert(declared, text, f"case {name!r}, variable {attr!r}")
                if value is not None:
                    conn.execute("INSERT OR REPLACE INTO case_attributes(case_id, attribute_id, value, modified_at)"
                                 " VALUES (?, ?, ?, ?)", (case_id, attr_id, value, now))
            for src in c["sources"]:
                if src in self.case_of_source:
                    self.report.add("documents in more than one case were kept in the first", name)
                elif src is not None:
                    self.case_of_source[src] = case_id
            if c["description"]:
                self.memo_rows.append((new_guid(), c["description"], "case", case_id, None, None, None,
                                       self._importer(), now, now))

    def _document_attributes(self, s: dict) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        for ref, _kind, value in s["values"]:
            if ref not in self.variables:
                self.report.add("document values of unknown variables were ignored", s["name"])
                continue
            name, declared = self.variables[ref]
            stored = self._convert(declared, value, f"document {s['name']!r}, variable {name!r}")
            if stored is not None:
                cast = {"integer": int, "float": float, "boolean": lambda v: v == "1"}.get(declared, str)
                attrs[name] = cast(stored)
        return attrs

    def _write_documents(self) -> None:
        conn, now = self.conn, self.now
        # source key -> (document id, positions of CRLF pairs in the raw text, raw length)
        self.doc_ids: dict[str, tuple[int, list[int], int]] = {}
        self.by_sha: dict[str, int] = {}
        taken = _Names()
        turn_rows = []
        for i, s in enumerate(self.sources, 1):
            raw = s["raw"].removeprefix("\ufeff")
            crlf = [m.start() for m in re.finditer("\r\n", raw)]  # positions count CR+LF; our text keeps LF
            text = normalise_text(raw)
            if not text.strip():
                self.report.add("empty text sources were ignored", s["name"])
                continue
            sha = text_sha256(text)
            if sha in self.by_sha:
                self.report.add("text sources with the same text as another were merged into it", s["name"])
                self.doc_ids[s["key"]] = (self.by_sha[sha], crlf, len(raw))
                continue
            attrs = self._document_attributes(s)
            kind, desc = "imported", s["description"].strip()
            if self.ours and desc and "\n" not in desc:
                kind = desc  # we write the document kind as the source's description
            elif desc:
                attrs["description"] = s["description"]
            name = self._unique(s["name"] or f"Document {i}", taken, "documents")
            created = _when(s["created"], now)
            cur = conn.execute(
                "INSERT INTO documents(guid, name, kind, case_id, text, sha256, n_chars, source_format, encoding,"
                " source_path, attributes_json, creator_id, created_at, modified_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self._guid("documents", s["key"], "documents"), name, kind, self.case_of_source.get(s["key"]), text,
                 sha, len(text), "qdpx" if self.pkg.zip is not None else "qde", "utf-8", f"{self.file}:{s['member']}",
                 json.dumps(attrs, sort_keys=True, default=str), self._user(s["user"], "documents"), created,
                 _when(s["modified"], created)))
            doc_id = int(cur.lastrowid)
            self.by_sha[sha] = doc_id
            self.doc_ids[s["key"]] = (doc_id, crlf, len(raw))
            turn_rows += [(doc_id, t, sp, a, e, b) for t, (sp, a, b, e) in enumerate(speaker_turns(text))]
        conn.executemany("INSERT INTO turns(document_id, turn_index, speaker, start, end, text_start)"
                         " VALUES (?, ?, ?, ?, ?, ?)", turn_rows)
        doc_vars = {self.variables[k][0]: self._guid("variables", k, "variables")
                    for k in sorted(self.source_vars) if k in self.variables}
        conn.execute("INSERT INTO meta(key, value) VALUES (?, ?)", (DOCUMENT_VARIABLES_KEY, json.dumps(doc_vars)))

    def _write_segments(self) -> None:
        """One segment per (selection, coding); a coding of a whole source covers its whole text."""
        conn, now, report = self.conn, self.now, self.report
        self.seg_rows: list[tuple] = []
        seen: dict[tuple, int] = {}
        self.sel_segs: dict[str, list[int]] = defaultdict(list)  # selection key -> indices into seg_rows
        self.coding_seg: dict[str, int] = {}
        self.seg_notes: list[tuple[str, str, str | None, int]] = []  # note, on, selection/coding key, document
        for s in self.sources:
            if s["key"] not in self.doc_ids:
                continue
            doc_id, crlf, n_raw = self.doc_ids[s["key"]]
            self.seg_notes += [(note, "document", None, doc_id) for note in s["notes"]]
            whole = {"key": None, "start": "0", "end": str(n_raw), "user": None, "at": None, "codings": s["whole"],
                     "notes": []}
            for sel in ([whole] if s["whole"] else []) + s["selections"]:
                try:
                    a, b = int(sel["start"]), int(sel["end"])
                except (TypeError, ValueError):
                    report.add("selections with missing or non-numeric positions were ignored", s["name"])
                    continue
                if not 0 <= a < b <= n_raw:
                    report.add("selections that are empty or outside their text were ignored",
                               f"{s['name']} {sel['start']}-{sel['end']}")
                    continue
                a, b = a - bisect.bisect_left(crlf, a), b - bisect.bisect_left(crlf, b)
                if not sel["codings"]:
                    report.add("selections without a coding were ignored (their notes go to the document)")
                self.seg_notes += [(note, "selection", sel["key"], doc_id) for note in sel["notes"]]
                for coding in sel["codings"]:
                    code_id = self.code_ids.get(coding["code"])
                    if code_id is None:
                        report.add("codings of unknown codes were ignored", coding["code"])
                        continue
                    coder = self._user(coding["user"] or sel["user"], "codings")
                    self.seg_notes += [(note, "coding", coding["key"], doc_id) for note in coding["notes"]]
                    ident = (doc_id, code_id, coder, a, b)
                    if ident in seen:
                        report.add("duplicate codings (same document, span, code and coder) were imported once")
                        row = seen[ident]
                    else:  # a selection with one coding is one segment: keep the selection's GUID (ours do this)
                        seen[ident] = row = len(self.seg_rows)
                        key = sel["key"] if len(sel["codings"]) == 1 and sel is not whole else coding["key"]
                        self.seg_rows.append((self._guid("segments", key, "codings"), doc_id, code_id, coder, a, b,
                                              _when(coding["at"] or sel["at"], now)))
                    if sel["key"]:
                        self.sel_segs[sel["key"]].append(row)
                    if coding["key"]:
                        self.coding_seg.setdefault(coding["key"], row)
        self.first = conn.execute("SELECT COALESCE(MAX(segment_id), 0) + 1 FROM segments").fetchone()[0]
        conn.executemany("INSERT INTO segments(segment_id, guid, document_id, code_id, coder_id, start, end,"
                         " framework_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                         [(self.first + i, *r) for i, r in enumerate(self.seg_rows)])
        paths = dict(conn.execute("SELECT code_id, path FROM codes").fetchall())
        coders = dict(conn.execute("SELECT user_id, name FROM users").fetchall())
        conn.executemany("INSERT INTO coding_log(action, segment_id, document_id, code_path, start, end, coder, at,"
                         " detail) VALUES ('code', ?, ?, ?, ?, ?, ?, ?, ?)",
                         [(self.first + i, r[1], paths[r[2]], r[4], r[5], coders[r[3]], now,
                           f"imported from {self.file}") for i, r in enumerate(self.seg_rows)])

    def _note_targets(self) -> tuple[dict[str, list[tuple[str, Any]]], dict[str, list[int]]]:
        """What each note is attached to, and the segments a note links to (chart evidence)."""
        targets: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        for note in self.project_notes:
            targets[note].append(("project", None))
        for code in self.codes:
            for note in code["notes"] if code["key"] in self.code_ids else ():
                targets[note].append(("code", self.code_ids[code["key"]]))
        for note, on, key, doc_id in self.seg_notes:
            rows = self.sel_segs.get(key, []) if on == "selection" else \
                [self.coding_seg[key]] if on == "coding" and key in self.coding_seg else []
            if on == "selection" and len(set(rows)) > 1:
                self.report.add("notes on a selection with several codings were attached to the first coding")
            targets[note].append(("segment", self.first + rows[0]) if rows else ("document", doc_id))
        evidence: dict[str, list[int]] = defaultdict(list)
        note_keys = {n["key"] for n in self.notes}
        for origin, target in self.links:
            note, other = (origin, target) if origin in note_keys else (target, origin)
            if note in note_keys and other in self.case_ids:
                targets[note].append(("case", self.case_ids[other]))
            elif note in note_keys and self.sel_segs.get(other):
                evidence[note].append(self.first + self.sel_segs[other][0])
            else:
                self.report.add("links other than note-to-case and note-to-selection were ignored")
        return targets, evidence

    def _write_notes(self) -> None:
        conn, now, report = self.conn, self.now, self.report
        targets, evidence = self._note_targets()
        charted: set[tuple[int, int]] = set()
        self.n_charts = 0
        for n in self.notes:
            got = targets.get(n["key"], [])
            kinds = {k for k, _ in got}
            case_id = next((v for k, v in got if k == "case"), None)
            code_id = next((v for k, v in got if k == "code"), None)
            author = self._user(n["user"], "notes")
            created = _when(n["created"], now)
            modified = _when(n["modified"], created)
            text = n["text"]
            if (self.ours and n["name"].startswith(CHART_NOTE_PREFIX) and case_id and code_id
                    and (case_id, code_id) not in charted and text.strip()):
                charted.add((case_id, code_id))
                chart_id = conn.execute(
                    "INSERT INTO charts(guid, case_id, code_id, summary, author_id, created_at, modified_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (self._guid("charts", n["key"], "charts"), case_id, code_id, text, author, created,
                     modified)).lastrowid
                conn.executemany("INSERT OR IGNORE INTO chart_segments(chart_id, segment_id) VALUES (?, ?)",
                                 [(chart_id, s) for s in evidence.get(n["key"], [])])
                conn.execute("INSERT INTO coding_log(action, code_path, coder, at, detail) VALUES ('chart',"
                             " (SELECT path FROM codes WHERE code_id = ?), (SELECT name FROM users WHERE user_id = ?),"
                             " ?, ?)", (code_id, author, now, f"imported from {self.file}"))
                self.n_charts += 1
                continue
            if not self.ours and n["name"] and not text.startswith(n["name"]):
                text = f"{n['name']}\n\n{text}" if text.strip() else n["name"]  # keep the other tool's title
            if not text.strip():
                report.add("empty notes were ignored", n["name"] or n["key"])
                continue
            if "case" in kinds and "code" in kinds:
                on, ids = "cell", (case_id, code_id, None, None)
            elif got:
                on, value = got[0]
                if len(kinds) > 1:
                    report.add("notes attached to several objects were kept on the first", n["name"] or n["key"])
                ids = {"project": (None,) * 4, "case": (value, None, None, None), "code": (None, value, None, None),
                       "segment": (None, None, value, None), "document": (None, None, None, value)}[on]
            else:
                on, ids = "project", (None,) * 4  # an unattached note is a memo on the project
            self.memo_rows.append((self._guid("memos", n["key"], "notes"), text, on, *ids, author, created, modified))
        if self.description:
            self.memo_rows.append((new_guid(), self.description, "project", None, None, None, None,
                                   self._importer(), now, now))
        conn.executemany("INSERT INTO memos(guid, text, target_type, case_id, code_id, segment_id, document_id,"
                         " author_id, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.memo_rows)
        names = dict(conn.execute("SELECT user_id, name FROM users").fetchall())
        conn.executemany("INSERT INTO coding_log(action, coder, at, detail) VALUES ('memo', ?, ?, ?)",
                         [(names[r[7]], now, f"memo on {r[2]} imported from {self.file}") for r in self.memo_rows])


def read_qdpx(qdpx: str | Path, new_path: str | Path):
    """Create a project at *new_path* from *qdpx* (see :func:`recoverystudy.qual.refi.import_qdpx`)."""
    from recoverystudy.qual.project import Project

    new = Path(new_path)
    if new.exists() or new.is_symlink():
        raise ProjectStoreError(f"{new} already exists; importing never overwrites a file. Choose a new file name.",
                                file=str(new))
    if not new.parent.is_dir():
        raise ProjectStoreError(f"The folder {new.parent} does not exist.", file=str(new))
    pkg = _Package.open(qdpx)
    try:
        reader = _ProjectReader(pkg, pkg.root(("Project",)))
        reader.read()
    finally:
        pkg.close()
    tmp = new.with_name(f".{new.name}.{uuid.uuid4().hex[:12]}.importing")
    proj = Project.create(tmp, codebook=None)
    try:
        with proj._tx() as conn:
            counts = reader.write(conn)
            _record(conn, _file_record(pkg.path, "REFI-QDA 1.0 project", reader.origin, reader.report,
                                       project_name=reader.root.get("name") or "", **counts))
        proj.close()
        _place(tmp, new)
    except BaseException:
        proj.close()
        raise
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)
    reader.report.warn(pkg.path)
    return Project.open(new)


def _place(tmp: Path, new: Path) -> None:
    """Move the finished project into place without ever replacing an existing file."""
    try:
        os.link(tmp, new)
    except FileExistsError:
        raise ProjectStoreError(f"{new} appeared while importing; importing never overwrites a file.",
                                file=str(new)) from None
    except OSError:  # no hard links on this file system
        if new.exists():
            raise ProjectStoreError(f"{new} appeared while importing; importing never overwrites a file.",
                                    file=str(new)) from None
        os.replace(tmp, new)
