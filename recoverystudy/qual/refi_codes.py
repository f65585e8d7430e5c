"""Mapping REFI-QDA codes onto a project, shared by codebook (``.qdc``) and project (``.qdpx``) import.

Also the import record: every imported file is listed, with its SHA-256, origin, counts and the
adjustments made, under the project's ``meta`` key :data:`META_KEY` (:func:`import_history`).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

from recoverystudy.errors import ImportFormatError
from recoverystudy.qual.refi_archive import Package, Report, local_name
from recoverystudy.qual.refi_format import ORIGIN, parse_code_description
from recoverystudy.qual.refi_xml import GUID, key, kid, kids, read_codes
from recoverystudy.qual.store import new_guid, utc_now

__all__ = ["META_KEY", "Names", "insert_codes", "file_record", "record", "import_history", "read_qdc"]

_PATH = re.compile(r"^[a-z][a-z0-9_]*(/[a-z][a-z0-9_]*)*$")
META_KEY = "refi_imports"

def _slug(name: str) -> str:
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    s = re.sub(r"[^a-z0-9]+", "_", s).strip("_")[:40].strip("_")
    return s if s and s[0].isalpha() else ("code_" + s).strip("_")




class Names:
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


def insert_codes(conn, codes: list[dict], ours: bool, creator_id: int, report: Report,
                  now: str) -> tuple[dict[str, int], list[int]]:
    """Insert *codes* (pre-order); codes matching a code already in the project (GUID, else path) are kept
    unchanged and their children go under them.  Returns ``({key: code_id}, [new code ids])``."""
    rows = conn.execute("SELECT code_id, guid, path FROM codes").fetchall()
    pre_guid = {g: (i, p) for i, g, p in rows}
    pre_path = {p: (i, p) for i, _g, p in rows}
    path_of = {i: p for i, _g, p in rows}
    taken_paths, taken_guids = Names(pre_path), set(pre_guid)
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
        guid = key(code["key"])
        existing = pre_guid.get(guid) or pre_path.get(path)
        if existing is not None:
            ids[code["key"]] = existing[0]
            report.add("codes already in the project (same GUID or path) were left unchanged", existing[1])
            continue
        path = taken_paths.free(path, lambda k, base=path: f"{base}_{k}")
        if not (guid and GUID.match(guid)) or guid in taken_guids:
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


def file_record(path: Path, kind: str, origin: str, report: Report, **extra: Any) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"format": kind, "file": path.name, "sha256": digest.hexdigest(), "size": path.stat().st_size,
            "imported_at": utc_now(), "origin": origin, **extra, "adjustments": report.lines()}


def record(conn, entry: dict) -> None:
    """Append *entry* to the project's import record."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_KEY,)).fetchone()
    history = json.loads(row[0]) if row else []
    history.append(entry)
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (META_KEY, json.dumps(history)))


def import_history(project) -> list[dict]:
    """The REFI-QDA imports recorded in *project* (see :func:`recoverystudy.qual.refi.import_history`)."""
    row = project._q("SELECT value FROM meta WHERE key = ?", (META_KEY,))
    return json.loads(row[0][0]) if row else []


def read_qdc(project, path: str | Path) -> list[int]:
    """Add the codes of a codebook to *project* (see :func:`recoverystudy.qual.refi.import_qdc`)."""
    report = Report()
    pkg = Package.open(path)
    try:
        root = pkg.root(("CodeBook", "Project"))
    finally:
        pkg.close()
    book = root if local_name(root.tag) == "CodeBook" else kid(root, "CodeBook")
    codes_el = kid(book, "Codes")
    if codes_el is None or not kids(codes_el, "Code"):
        raise ImportFormatError(f"{pkg.path}: the codebook has no <Codes>/<Code> elements; nothing to import.",
                                file=str(pkg.path), element="Codes")
    origin = root.get("origin") or ""
    codes = read_codes(codes_el, report)
    now = utc_now()
    with project._tx() as conn:
        _ids, added = insert_codes(conn, codes, origin.startswith(ORIGIN), project._uid(), report, now)
        record(conn, file_record(pkg.path, "REFI-QDA 1.0 codebook", origin, report, codes_added=len(added)))
    report.warn(pkg.path)
    return added




