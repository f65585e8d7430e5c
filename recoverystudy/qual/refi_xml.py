"""Reading the XML of a REFI-QDA 1.0 project or codebook into plain Python records.

The middle layer of REFI-QDA reading: :mod:`~recoverystudy.qual.refi_archive` opens the file safely,
this module turns ``project.qde`` (and the text sources it names) into dictionaries, and
:mod:`~recoverystudy.qual.refi_read` maps those onto a project.  Reading is lenient: what NVivo, MAXQDA,
ATLAS.ti, QualCoder and Taguette write is accepted when its meaning is clear (a byte-order mark, inline
``PlainTextContent``, text paths with no scheme or in another letter case, PDF sources through their
plain-text representation, missing optional elements, GUIDs in braces or lower case, CRLF line ends);
what cannot be kept is counted in a :class:`~recoverystudy.qual.refi_archive.Report`, and each source that
cannot be read is reported by name with the reason.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from recoverystudy.qual.refi_archive import Package, Report, decode_text, local_name
from recoverystudy.qual.refi_format import ORIGIN

__all__ = ["ProjectFile", "read_codes", "kids", "kid", "key", "when", "GUID"]

#: A GUID, with or without braces, in either case.
GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")
_COLOUR = re.compile(r"^#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$")
KINDS = {"text": "text", "integer": "integer", "float": "float", "boolean": "boolean", "date": "text",
         "datetime": "text"}
_VALUE_KINDS = {"TextValue": "text", "IntegerValue": "integer", "FloatValue": "float", "BooleanValue": "boolean",
                "DateValue": "date", "DateTimeValue": "datetime"}
_OTHER_SOURCES = {"PictureSource": "picture", "AudioSource": "audio", "VideoSource": "video"}


def kids(el, name: str) -> list:
    """Children of *el* named *name* (any namespace); ``[]`` for ``None``."""
    return [] if el is None else [c for c in el if local_name(c.tag) == name]


def kid(el, name: str):
    """The first child of *el* named *name*, or ``None``."""
    found = kids(el, name)
    return found[0] if found else None


def key(raw: str | None) -> str | None:
    """Normalised reference key: an upper-case GUID without braces (other non-empty strings kept as they are).

    >>> key("{6f1c4d1e-3b0a-4c55-9a57-2f0d5e1a7c42}")
    '6F1C4D1E-3B0A-4C55-9A57-2F0D5E1A7C42'
    """
    if raw is None or not raw.strip():
        return None
    m = GUID.match(raw.strip())
    return m.group(1).upper() if m else raw.strip()


def when(raw: str | None, fallback: str) -> str:
    """An ISO 8601 time in UTC with microseconds and ``Z`` (the *fallback* when missing or unreadable).

    >>> when("2024-03-01T10:00:00+01:00", "never")
    '2024-03-01T09:00:00.000000Z'
    """
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


def name_of(raw: str | None) -> str:
    """A name as written (surrounding spaces kept), or ``""`` if it is missing or blank."""
    return raw if raw and raw.strip() else ""


def _text(el) -> str:
    """The text of an optional element (``""`` when absent or empty)."""
    return (el.text or "") if el is not None else ""


def _refs(el, tag: str) -> list[str | None]:
    return [key(r.get("targetGUID")) for r in kids(el, tag)]


def read_codes(codes_el, report: Report) -> list[dict]:
    """The codes under ``<Codes>``, in pre-order, each with its parent's key."""
    out: list[dict] = []
    stack = [(c, None) for c in reversed(kids(codes_el, "Code"))]
    while stack:
        el, parent = stack.pop()
        k = key(el.get("guid")) or f"missing-{len(out)}"
        name = name_of(el.get("name"))
        if not name:
            report.add("codes without a name were called 'Unnamed code'")
            name = "Unnamed code"
        colour = (el.get("color") or "").strip() or None
        if colour and not _COLOUR.match(colour):
            report.add("code colours that are not #RRGGBB were dropped", f"{name}: {colour!r}")
            colour = None
        if colour and len(colour) == 4:
            colour = "#" + "".join(ch * 2 for ch in colour[1:])
        out.append({"key": k, "name": name, "colour": colour, "parent": parent,
                    "description": _text(kid(el, "Description")), "notes": _refs(el, "NoteRef")})
        stack.extend((c, k) for c in reversed(kids(el, "Code")))
    return out


class ProjectFile:
    """Everything in one ``project.qde`` as records (users, codes, variables, cases, sources, notes, sets ...)."""

    def __init__(self, pkg: Package, root, report: Report) -> None:
        self.pkg = pkg
        self.root = root
        self.report = report
        self.file = pkg.path.name
        self.origin = root.get("origin") or ""
        self.ours = self.origin.startswith(ORIGIN)

    # -- pieces --
    def source_text(self, el, where: str) -> tuple[str | None, str, str]:
        """``(raw text, member, reason)`` of a TextSource or Note; text ``None`` (and the reason) if unreadable."""
        inline = kid(el, "PlainTextContent")
        if inline is not None:
            return inline.text or "", self.pkg.qde or self.file, ""
        ref = (el.get("plainTextPath") or "").strip()
        member, reason = self.pkg.locate(ref, where) if ref else (None, "")
        k = key(el.get("guid"))
        if member is None and k and self.pkg.zip is not None and not reason.startswith("its text is stored outside"):
            member = self.pkg.find(f"{self.pkg.base}Sources/{k}.txt") or \
                self.pkg.find(f"{self.pkg.base}Sources/{el.get('guid', '').strip()}.txt")
        if member is None:
            if not reason:
                reason = ("it names no plain text (no plainTextPath and no PlainTextContent)"
                          + (f"; its rich text {el.get('richTextPath')!r} is not read" if el.get("richTextPath") else ""))
            return None, "", reason
        return decode_text(self.pkg.read(member), self.pkg, member, self.report), member, ""

    def values(self, el) -> list[tuple[str, str, str]]:
        out = []
        for vv in kids(el, "VariableValue"):
            var = kid(vv, "VariableRef")
            ref = key((var if var is not None else vv).get("targetGUID"))
            val = next((c for c in vv if local_name(c.tag) in _VALUE_KINDS), None)
            if ref is None or val is None:
                self.report.add("variable values without a variable or a value were ignored")
                continue
            out.append((ref, _VALUE_KINDS[local_name(val.tag)], val.text or ""))
        return out

    def codings(self, el) -> list[dict]:
        out = []
        for c in kids(el, "Coding"):
            ref = kid(c, "CodeRef")
            out.append({"key": key(c.get("guid")), "code": key((ref if ref is not None else c).get("targetGUID")),
                        "user": key(c.get("creatingUser")), "at": c.get("creationDateTime"),
                        "notes": _refs(c, "NoteRef")})
        return out

    def _source(self, s, text_el) -> dict | None:
        """One text (a TextSource, or the plain-text Representation of a PDF source) as a record."""
        tag = local_name(s.tag)
        name = name_of(s.get("name"))
        label = name or s.get("guid") or "(no name)"
        raw, member, reason = self.source_text(text_el, f"{tag} {label!r}")
        if raw is None:
            self.report.not_read(label, reason)
            return None
        sels = [{"key": key(sel.get("guid")), "start": sel.get("startPosition"), "end": sel.get("endPosition"),
                 "user": key(sel.get("creatingUser")), "at": sel.get("creationDateTime"),
                 "name": name_of(sel.get("name")), "description": _text(kid(sel, "Description")),
                 "codings": self.codings(sel), "notes": _refs(sel, "NoteRef")}
                for sel in kids(text_el, "PlainTextSelection")]
        whole = self.codings(s) + (self.codings(text_el) if text_el is not s else [])
        return {"key": key(s.get("guid")) or f"missing-source-{len(self.sources)}", "name": name,
                "raw": raw, "member": member, "format": "pdf" if tag == "PDFSource" else "text",
                "user": key(s.get("creatingUser")), "created": s.get("creationDateTime"),
                "modified": s.get("modifiedDateTime"), "description": _text(kid(s, "Description")),
                "selections": sels, "whole": whole, "values": self.values(s),
                "notes": _refs(s, "NoteRef") + (_refs(text_el, "NoteRef") if text_el is not s else [])}

    # -- the whole file --
    def read(self) -> None:
        root, report = self.root, self.report
        self.users = []
        for u in kids(kid(root, "Users"), "User"):
            k = key(u.get("guid"))
            if k is None:
                report.add("users without a GUID were ignored")
                continue
            self.users.append((k, name_of(u.get("name")) or name_of(u.get("id"))))
        book = kid(kid(root, "CodeBook"), "Codes")
        self.codes = read_codes(book, report) if book is not None else []
        self.variables = {}
        for v in kids(kid(root, "Variables"), "Variable"):
            k = key(v.get("guid"))
            kind = (v.get("typeOfVariable") or "Text").strip().lower()
            if kind in ("date", "datetime"):
                report.add("date and date-time variables were imported as text", v.get("name"))
            if k is not None:
                self.variables[k] = (name_of(v.get("name")) or f"variable {len(self.variables) + 1}",
                                     KINDS.get(kind, "text"))
        self.cases = []
        for c in kids(kid(root, "Cases"), "Case"):
            if kids(c, "CodeRef") or kids(c, "SelectionRef"):
                report.add("case code and selection references were ignored (cases hold whole documents here)")
            self.cases.append({"key": key(c.get("guid")) or f"missing-case-{len(self.cases)}",
                               "name": name_of(c.get("name")), "values": self.values(c),
                               "sources": _refs(c, "SourceRef"), "description": _text(kid(c, "Description")).strip()})
        self.sources = []
        for s in list(kid(root, "Sources") if kid(root, "Sources") is not None else []):
            tag = local_name(s.tag)
            text_el = s if tag == "TextSource" else kid(s, "Representation")
            if text_el is None:
                label = name_of(s.get("name")) or s.get("guid") or "(no name)"
                what = "a PDF" if tag == "PDFSource" else f"a {_OTHER_SOURCES.get(tag, tag)} source"
                self.report.not_read(label, f"it is {what} with no plain-text representation in the file")
                continue
            if kids(s, "PDFSelection") or kids(s, "PictureSelection"):
                report.add("selections on a PDF page area (not on its text) were ignored", name_of(s.get("name")))
            rec = self._source(s, text_el)
            if rec is not None:
                self.sources.append(rec)
        self.notes = []
        for n in kids(kid(root, "Notes"), "Note"):
            raw, _member, _reason = self.source_text(n, f"Note {n.get('name')!r}")
            if kids(n, "PlainTextSelection") or kids(n, "Coding"):
                report.add("codings inside notes were ignored", n.get("name"))
            self.notes.append({"key": key(n.get("guid")), "name": name_of(n.get("name")), "text": raw or "",
                               "description": _text(kid(n, "Description")), "user": key(n.get("creatingUser")),
                               "created": n.get("creationDateTime"), "modified": n.get("modifiedDateTime")})
        self.links = [{"key": key(k.get("guid")), "name": name_of(k.get("name")),
                       "origin": key(k.get("originGUID")), "target": key(k.get("targetGUID"))}
                      for k in kids(kid(root, "Links"), "Link")]
        self.sets = [{"key": key(s.get("guid")), "name": name_of(s.get("name")),
                      "description": _text(kid(s, "Description")), "codes": _refs(s, "MemberCode"),
                      "sources": _refs(s, "MemberSource"), "notes": _refs(s, "MemberNote")}
                     for s in kids(kid(root, "Sets"), "Set")]
        self.graphs = [name_of(g.get("name")) or g.get("guid") or "(no name)" for g in kids(kid(root, "Graphs"), "Graph")]
        self.description = _text(kid(root, "Description")).strip()
        self.project_notes = _refs(root, "NoteRef")
