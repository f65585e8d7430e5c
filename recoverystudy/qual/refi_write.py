"""Writing REFI-QDA 1.0 exchange files: ``.qdpx`` projects and ``.qdc`` codebooks.

Use the functions of :mod:`recoverystudy.qual.refi` (or the ``Project`` methods); this module holds
the writer and the pieces the reader shares with it (namespaces, the code-description format, the
schema loader).  Every file is built as an lxml tree, validated against the REFI-QDA 1.0 XSD shipped in
``recoverystudy/qual/schemas/``, written to a temporary file in the target folder and renamed into place,
so a failure never leaves half a file and never replaces a good one.
"""

from __future__ import annotations

import json
import os
import time
import uuid
import zipfile
from collections import defaultdict
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from recoverystudy._version import __version__
from recoverystudy.errors import ExchangeError
from recoverystudy.qual.refi_format import (
    AUTO_CHART_NOTE_PREFIX,
    CHART_NOTE_PREFIX,
    DESCRIPTION_SECTIONS,
    DOCUMENT_VARIABLES_KEY,
    ORIGIN,
    code_description,
)
from recoverystudy.qual.store import utc_now

__all__ = ["PROJECT_NS", "CODEBOOK_NS", "ORIGIN", "DESCRIPTION_SECTIONS", "CHART_NOTE_PREFIX",
           "DOCUMENT_VARIABLES_KEY", "write_qdpx", "write_qdc", "code_description", "derived_guid", "validate"]

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
SCHEMA_DIR = Path(__file__).parent / "schemas"
_GUID_NAMESPACE = uuid.UUID("6f1c4d1e-3b0a-4c55-9a57-2f0d5e1a7c42")
_TYPE_NAMES = {"text": "Text", "integer": "Integer", "float": "Float", "boolean": "Boolean"}


def derived_guid(*parts: str) -> str:
    """A GUID derived deterministically from other GUIDs/names (stable across exports)."""
    return str(uuid.uuid5(_GUID_NAMESPACE, "/".join(parts))).upper()


@lru_cache(maxsize=2)
def _schema(name: str) -> etree.XMLSchema:
    path = SCHEMA_DIR / name
    try:
        return etree.XMLSchema(etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)))
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
        raise ExchangeError(f"The REFI-QDA schema {path} cannot be loaded ({exc}); the installation is damaged.",
                            file=str(path)) from exc


def validate(root: etree._Element, schema_name: str, target: Path) -> None:
    """Validate *root* against a shipped schema; raise :class:`ExchangeError` listing the problems."""
    schema = _schema(schema_name)
    if schema.validate(root):
        return
    problems = [f"line {e.line}: {e.path}: {e.message}" for e in list(schema.error_log)[:5]]
    raise ExchangeError(
        f"Refusing to write {target}: the {schema_name.removesuffix('.xsd')} XML does not validate against the "
        f"REFI-QDA 1.0 schema ({len(schema.error_log)} problem(s)): " + "; ".join(problems),
        file=str(target), problems=problems)


class _Builder:
    """Element factory that turns XML-incompatible text into an :class:`ExchangeError` naming the object."""

    def __init__(self, ns: str, target: Path) -> None:
        self.ns = "{" + ns + "}"
        self.target = target

    def sub(self, parent: etree._Element | None, tag: str, where: str, text: str | None = None,
            **attrs: Any) -> etree._Element:
        try:
            clean = {k: str(v) for k, v in attrs.items() if v is not None}
            el = (etree.Element(self.ns + tag, clean, nsmap={None: self.ns[1:-1]}) if parent is None
                  else etree.SubElement(parent, self.ns + tag, clean))
            if text is not None:
                el.text = text
        except ValueError as exc:  # control characters, NUL ...: not representable in XML 1.0
            raise ExchangeError(f"Cannot write {self.target}: {where} contains characters that XML cannot hold "
                                f"({exc}); remove them and export again.", file=str(self.target), element=where) \
                from exc
        return el


def _decimal_text(value: str, where: str, target: Path) -> str:
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ExchangeError(f"Cannot write {target}: {where} is {value!r}, which REFI-QDA FloatValue cannot hold; "
                            f"set a finite number or clear it.", file=str(target), element=where)
    text = format(Decimal(repr(number)), "f")
    return text


def _check_target(project, path: str | Path) -> Path:
    target = Path(path)
    if not target.parent.is_dir():
        raise ExchangeError(f"Cannot write {target}: the folder {target.parent} does not exist.", file=str(target))
    if target.is_dir():
        raise ExchangeError(f"Cannot write {target}: it is a folder.", file=str(target))
    if target.exists() and target.resolve() == Path(project.path).resolve():
        raise ExchangeError(f"Refusing to write the export over the project file itself ({target}).", file=str(target))
    return target


def _atomic_write(target: Path, write) -> None:
    """Write through *write(fh)* into a new hidden file beside *target*, then rename it over *target*."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "xb") as fh:  # not mkstemp: the export gets the usual permissions (umask), not 0600
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- codes ---------------------------------------------------------------------------------------------
def _code_rows(project) -> tuple[list[tuple], dict[Any, list[tuple]]]:
    rows = project._q("SELECT code_id, guid, path, name, parent_id, definition, inclusion, exclusion, example, colour,"
                      " rules_json FROM codes ORDER BY sort_order, code_id")
    children: dict[Any, list[tuple]] = defaultdict(list)
    ids = {r[0] for r in rows}
    for r in rows:
        children[r[4] if r[4] in ids else None].append(r)
    return rows, children


def _add_codes(b: _Builder, parent: etree._Element, children: dict,
               code_notes: dict[int, list[str]] | None) -> None:
    stack = [(parent, list(reversed(children[None])))]
    while stack:  # iterative pre-order walk: deep imported hierarchies cannot exhaust the recursion limit
        holder, todo = stack[-1]
        if not todo:
            stack.pop()
            continue
        code_id, guid, path, name, _parent, definition, inc, exc, example, colour, rules_json = todo.pop()
        where = f"code {path!r}"
        rules = json.loads(rules_json or "{}")
        el = b.sub(holder, "Code", where, guid=guid, name=name, isCodable="true", color=colour)
        desc = code_description({"definition": definition, "inclusion": inc, "exclusion": exc, "example": example,
                                 "keywords": rules.get("keywords"), "lemmas": rules.get("lemmas"), "path": path})
        b.sub(el, "Description", where, desc)
        for note in (code_notes or {}).get(code_id, ()):
            b.sub(el, "NoteRef", where, targetGUID=note)
        stack.append((el, list(reversed(children.get(code_id, [])))))


# -- project -------------------------------------------------------------------------------------------
def _memos(project) -> list[tuple]:
    return project._q(
        "SELECT m.memo_id, m.guid, m.text, m.target_type, m.case_id, k.guid, k.name, m.code_id, c.path, m.segment_id,"
        " s.guid, m.document_id, d.name, u.guid, m.created_at, m.modified_at, sc.path, sd.name, m.title, m.description"
        " FROM memos m"
        " JOIN users u ON u.user_id = m.author_id LEFT JOIN cases k ON k.case_id = m.case_id"
        " LEFT JOIN codes c ON c.code_id = m.code_id LEFT JOIN segments s ON s.segment_id = m.segment_id"
        " LEFT JOIN codes sc ON sc.code_id = s.code_id LEFT JOIN documents sd ON sd.document_id = s.document_id"
        " LEFT JOIN documents d ON d.document_id = m.document_id ORDER BY m.memo_id")


def build_project(project, target: Path) -> tuple[etree._Element, list[tuple[str, bytes]]]:
    """Build the ``project.qde`` tree and the ``Sources/`` members of *project*."""
    b = _Builder(PROJECT_NS, target)
    meta = dict(project._q("SELECT key, value FROM meta"))
    root = b.sub(None, "Project", "the project", name=project.path.stem, origin=f"{ORIGIN} {__version__}",
                 creationDateTime=meta.get("created_at"), modifiedDateTime=utc_now())
    # notes: who points at each memo / chart
    code_notes: dict[int, list[str]] = defaultdict(list)
    doc_notes: dict[int, list[str]] = defaultdict(list)
    seg_notes: dict[int, list[str]] = defaultdict(list)
    project_notes: list[str] = []
    links: list[tuple[str, str, str, str]] = []  # guid, name, origin, target
    notes: list[tuple] = []  # guid, name, text, user guid, created, modified, description
    for (_memo_id, guid, text, on, _case_id, case_guid, case, code_id, code, seg_id, _seg_guid, doc_id, doc, user,
         created, modified, seg_code, seg_doc, title, description) in _memos(project):
        name = "Memo"
        if on == "project":
            project_notes.append(guid)
            name = "Project memo"
        elif on in ("case", "cell") and case_guid:
            links.append((derived_guid(guid, "case"), "memo on case", guid, case_guid))
            name = f"Memo on case {case}"
            if on == "cell" and code_id is not None:
                code_notes[code_id].append(guid)
                name = f"Memo on case {case} × code {code}"
        elif on == "code" and code_id is not None:
            code_notes[code_id].append(guid)
            name = f"Memo on code {code}"
        elif on == "segment" and seg_id is not None:
            seg_notes[seg_id].append(guid)
            name = f"Memo on a segment of {seg_doc} coded {seg_code}"
        elif on == "document" and doc_id is not None:
            doc_notes[doc_id].append(guid)
            name = f"Memo on document {doc}"
        notes.append((guid, title or name, text, user, created, modified, description))
    for chart_id, guid, summary, case_guid, case, code_id, code, user, created, modified, auto in project._q(
            "SELECT h.chart_id, h.guid, h.summary, k.guid, k.name, h.code_id, c.path, u.guid, h.created_at,"
            " h.modified_at, h.automatic FROM charts h JOIN cases k ON k.case_id = h.case_id JOIN codes c"
            " ON c.code_id = h.code_id JOIN users u ON u.user_id = h.author_id ORDER BY h.chart_id"):
        prefix = AUTO_CHART_NOTE_PREFIX if auto else CHART_NOTE_PREFIX
        notes.append((guid, f"{prefix}{case} × {code}", summary, user, created, modified, ""))
        code_notes[code_id].append(guid)
        links.append((derived_guid(guid, "case"), "chart of case", guid, case_guid))
        for (seg_guid,) in project._q("SELECT s.guid FROM chart_segments x JOIN segments s ON s.segment_id ="
                                      " x.segment_id WHERE x.chart_id = ? ORDER BY s.segment_id", (chart_id,)):
            links.append((derived_guid(guid, "segment", seg_guid), "chart evidence", guid, seg_guid))

    users = project._q("SELECT guid, name FROM users ORDER BY user_id")
    if users:
        holder = b.sub(root, "Users", "users")
        for guid, name in users:
            b.sub(holder, "User", f"user {name!r}", guid=guid, name=name)
    _rows, children = _code_rows(project)
    if children.get(None):
        _add_codes(b, b.sub(b.sub(root, "CodeBook", "codebook"), "Codes", "codebook"), children, code_notes)

    # variables: case attributes (their own GUIDs) and document attributes (derived GUIDs)
    attributes = project._q("SELECT attribute_id, guid, name, type FROM attributes ORDER BY name, attribute_id")
    docs = project._q("SELECT d.document_id, d.guid, d.name, d.kind, d.text, u.guid, d.created_at, d.modified_at,"
                      " d.attributes_json, d.case_id FROM documents d JOIN users u ON u.user_id = d.creator_id"
                      " ORDER BY d.document_id")
    doc_attrs = {d[0]: json.loads(d[8] or "{}") for d in docs}
    doc_vars: dict[str, str] = {}  # name -> REFI type
    for attrs in doc_attrs.values():
        for key, value in attrs.items():
            kind = ("Boolean" if isinstance(value, bool) else "Integer" if isinstance(value, int)
                    else "Float" if isinstance(value, float) and value == value and abs(value) != float("inf")
                    else "Text")
            doc_vars[key] = kind if doc_vars.get(key, kind) == kind else "Text"
    project_guid = meta.get("project_guid", "")
    known = json.loads(meta.get(DOCUMENT_VARIABLES_KEY, "{}"))  # GUIDs kept from an imported file
    case_var_guids = {a[1] for a in attributes}
    doc_var_guid = {name: known[name] if known.get(name) and known[name] not in case_var_guids
                    else derived_guid(project_guid, "document-attribute", name) for name in doc_vars}
    if attributes or doc_vars:
        holder = b.sub(root, "Variables", "variables")
        for _aid, guid, name, kind in attributes:
            b.sub(holder, "Variable", f"case attribute {name!r}", guid=guid, name=name,
                  typeOfVariable=_TYPE_NAMES[kind])
        for name in sorted(doc_vars):
            var = b.sub(holder, "Variable", f"document attribute {name!r}", guid=doc_var_guid[name], name=name,
                        typeOfVariable=doc_vars[name])
            b.sub(var, "Description", f"document attribute {name!r}", "Document attribute")

    cases = project._q("SELECT case_id, guid, name FROM cases ORDER BY case_id")
    if cases:
        values: dict[int, list[tuple]] = defaultdict(list)
        for case_id, guid, name, kind, value in project._q(
                "SELECT ca.case_id, a.guid, a.name, a.type, ca.value FROM case_attributes ca JOIN attributes a"
                " ON a.attribute_id = ca.attribute_id WHERE ca.value IS NOT NULL ORDER BY a.name, a.attribute_id"):
            values[case_id].append((guid, name, kind, value))
        case_docs: dict[int, list[str]] = defaultdict(list)
        for d in docs:
            if d[9] is not None:
                case_docs[d[9]].append(d[1])
        holder = b.sub(root, "Cases", "cases")
        for case_id, guid, name in cases:
            where = f"case {name!r}"
            el = b.sub(holder, "Case", where, guid=guid, name=name)
            for var_guid, attr, kind, value in values[case_id]:
                _variable_value(b, el, var_guid, kind, value, f"case {name!r}, attribute {attr!r}")
            for doc_guid in case_docs[case_id]:
                b.sub(el, "SourceRef", where, targetGUID=doc_guid)

    members: list[tuple[str, bytes]] = []
    if docs:
        segs: dict[int, list[tuple]] = defaultdict(list)
        for row in project._q("SELECT s.document_id, s.segment_id, s.guid, s.start, s.end, c.guid, u.guid, s.created_at,"
                              " s.label"
                              " FROM segments s JOIN codes c ON c.code_id = s.code_id JOIN users u ON u.user_id ="
                              " s.coder_id ORDER BY s.document_id, s.start, s.end, s.segment_id"):
            segs[row[0]].append(row[1:])
        holder = b.sub(root, "Sources", "sources")
        sub = b.sub
        for doc_id, guid, name, kind, text, user, created, modified, _attrs, _case in docs:
            where = f"document {name!r}"
            member = f"Sources/{guid}.txt"
            members.append((member, text.encode("utf-8")))
            src = sub(holder, "TextSource", where, guid=guid, name=name, plainTextPath=f"internal://{guid}.txt",
                      creatingUser=user, creationDateTime=created, modifiedDateTime=modified)
            sub(src, "Description", where, kind)
            for seg_id, seg_guid, start, end, code_guid, coder, at, label in segs[doc_id]:
                sel = etree.SubElement(src, b.ns + "PlainTextSelection", guid=seg_guid, startPosition=str(start),
                                       endPosition=str(end), creatingUser=coder, creationDateTime=at)
                if label:
                    try:
                        sel.set("name", label)
                    except ValueError as exc:
                        raise ExchangeError(f"Cannot write {target}: the label of segment {seg_id} contains characters"
                                            f" that XML cannot hold ({exc}).", file=str(target)) from exc
                coding = etree.SubElement(sel, b.ns + "Coding", guid=derived_guid(seg_guid, "coding"),
                                          creatingUser=coder, creationDateTime=at)
                etree.SubElement(coding, b.ns + "CodeRef", targetGUID=code_guid)
                for note in seg_notes.get(seg_id, ()):
                    etree.SubElement(sel, b.ns + "NoteRef", targetGUID=note)
            for note in doc_notes.get(doc_id, ()):
                sub(src, "NoteRef", where, targetGUID=note)
            for key, value in sorted(doc_attrs[doc_id].items()):
                kind_ = doc_vars[key]
                text_value = (("1" if value else "0") if kind_ == "Boolean" else str(value) if kind_ != "Text"
                              else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
                _variable_value(b, src, doc_var_guid[key], kind_.lower(), text_value,
                                f"document {name!r}, attribute {key!r}")
    if notes:
        holder = b.sub(root, "Notes", "notes")
        for guid, name, text, user, created, modified, description in notes:
            where = f"memo {name!r}"
            note = b.sub(holder, "Note", where, guid=guid, name=name, creatingUser=user, creationDateTime=created,
                         modifiedDateTime=modified)
            if description:
                b.sub(note, "Description", where, description)
            b.sub(note, "PlainTextContent", where, text)
    if links:
        holder = b.sub(root, "Links", "links")
        for guid, name, origin, target_guid in links:
            b.sub(holder, "Link", "link", guid=guid, name=name, direction="OneWay", originGUID=origin,
                  targetGUID=target_guid)
    groups = project._q("SELECT group_id, guid, name, description FROM groups ORDER BY group_id")
    if groups:
        members_of: dict[int, list[tuple]] = defaultdict(list)
        for group_id, code_guid, doc_guid in project._q(
                "SELECT m.group_id, c.guid, d.guid FROM group_members m LEFT JOIN codes c ON c.code_id = m.code_id"
                " LEFT JOIN documents d ON d.document_id = m.document_id ORDER BY m.group_id, m.code_id, m.document_id"):
            members_of[group_id].append((code_guid, doc_guid))
        holder = b.sub(root, "Sets", "sets")
        for group_id, guid, name, description in groups:
            where = f"group {name!r}"
            el = b.sub(holder, "Set", where, guid=guid, name=name)
            if description:
                b.sub(el, "Description", where, description)
            for code_guid, _doc in members_of[group_id]:
                if code_guid:
                    b.sub(el, "MemberCode", where, targetGUID=code_guid)
            for _code, doc_guid in members_of[group_id]:
                if doc_guid:
                    b.sub(el, "MemberSource", where, targetGUID=doc_guid)
    for note in project_notes:
        b.sub(root, "NoteRef", "project memo", targetGUID=note)
    return root, members


def _variable_value(b: _Builder, parent: etree._Element, var_guid: str, kind: str, value: str,
                    where: str) -> None:
    holder = b.sub(parent, "VariableValue", where)
    b.sub(holder, "VariableRef", where, targetGUID=var_guid)
    if kind == "boolean":
        b.sub(holder, "BooleanValue", where, "true" if value in ("1", "true") else "false")
    elif kind == "integer":
        b.sub(holder, "IntegerValue", where, str(int(value)))
    elif kind == "float":
        b.sub(holder, "FloatValue", where, _decimal_text(value, where, b.target))
    else:
        b.sub(holder, "TextValue", where, value)


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=False)


def write_qdpx(project, path: str | Path) -> Path:
    """Write *project* as a ``.qdpx`` archive (see :func:`recoverystudy.qual.refi.export_qdpx`)."""
    target = _check_target(project, path)
    root, members = build_project(project, target)
    validate(root, "Project.xsd", target)
    qde = _serialise(root)
    stamp = time.localtime()[:6]

    def write(fh) -> None:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for name, data in [("project.qde", qde), *members]:
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)

    _atomic_write(target, write)
    return target


def write_qdc(project, path: str | Path) -> Path:
    """Write the codebook of *project* as a ``.qdc`` file (see :func:`recoverystudy.qual.refi.export_qdc`)."""
    target = _check_target(project, path)
    _rows, children = _code_rows(project)
    if not children.get(None):
        raise ExchangeError(f"Cannot write {target}: the project has no codes, and a REFI-QDA codebook must hold "
                            f"at least one.", file=str(target))
    b = _Builder(CODEBOOK_NS, target)
    root = b.sub(None, "CodeBook", "the codebook", origin=f"{ORIGIN} {__version__}")
    _add_codes(b, b.sub(root, "Codes", "codebook"), children, None)
    validate(root, "Codebook.xsd", target)
    data = _serialise(root)
    _atomic_write(target, lambda fh: fh.write(data))
    return target
