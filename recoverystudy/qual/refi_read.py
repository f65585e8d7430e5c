"""Mapping a REFI-QDA 1.0 project or codebook onto a recoverystudy project.

Use the functions of :mod:`recoverystudy.qual.refi` (or ``Project.import_qdpx`` / ``import_qdc``).  The
archive is opened by :mod:`~recoverystudy.qual.refi_archive` (the safety layer), its XML read by
:mod:`~recoverystudy.qual.refi_xml`; this module writes the records into a new project store, built in
a temporary file and moved into place only when complete.  What is ignored or repaired is reported in one
:class:`~recoverystudy.errors.ExchangeWarning` and kept in the project's import record.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from recoverystudy.errors import ProjectStoreError
from recoverystudy.qual.documents import normalise_text, text_sha256
from recoverystudy.qual.refi_archive import Package, Report
from recoverystudy.qual.refi_format import (
    AUTO_CHART_NOTE_PREFIX,
    CHART_NOTE_PREFIX,
    DOCUMENT_VARIABLES_KEY,
    IMPORTER_GUID,
    generated_note_name,
)
from recoverystudy.qual.refi_codes import Names, file_record, insert_codes, record
from recoverystudy.qual.refi_xml import GUID, ProjectFile, when
from recoverystudy.qual.store import Store, new_guid, utc_now
from recoverystudy.qual.text import speaker_role, speaker_turns

__all__ = ["read_qdpx"]



# -- project import ----------------------------------------------------------------------------------------
class _ProjectReader(ProjectFile):
    """Reads ``project.qde`` (and its sources) into records, then writes them into an empty store."""

    def __init__(self, pkg: Package, root) -> None:
        super().__init__(pkg, root, Report())
        self.now = utc_now()

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

    # -- writing: identifiers, names and users --
    def _guid(self, table: str, key: str | None, what: str) -> str:
        """The file's GUID for a new row of *table* if it is valid and unused there, else a new one."""
        if key and GUID.match(key) and key not in self.used_guids[table]:
            self.used_guids[table].add(key)
            return key
        if key and GUID.match(key):
            self.report.add(f"{what} whose GUID occurs twice got a new GUID", key)
        guid = new_guid()
        self.used_guids[table].add(guid)
        return guid

    def _unique(self, name: str, taken: Names, what: str) -> str:
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
        """The user 'imported', who stands for creators the file does not name (one fixed GUID, so that
        re-importing an export finds the same user instead of adding 'imported (2)')."""
        if self.imported_id is None:
            self.imported_id = self.user_ids.get(IMPORTER_GUID) or self._add_user(IMPORTER_GUID, "imported")
            self.user_ids[IMPORTER_GUID] = self.imported_id
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
        self.user_names = Names()
        self.imported_id: int | None = None
        # memo rows: guid, text, on, case, code, segment, document, author, created, modified
        self.memo_rows: list[tuple] = []
        for key, name in self.users:
            if key not in self.user_ids:
                self.user_ids[key] = self._add_user(key, name or f"user {key}")
        self.code_ids = insert_codes(conn, self.codes, self.ours, self._importer(), self.report,
                                      self.now)[0] if self.codes else {}
        self._write_cases()
        self._write_documents()
        self._write_segments()
        self._write_notes()
        self._write_groups()
        self._report_links_and_graphs()
        return {"documents": len(self.by_sha), "cases": len(self.case_ids), "codes": len(self.code_ids),
                "segments": len(self.seg_rows), "memos": len(self.memo_rows), "charts": self.n_charts,
                "groups": self.n_groups, "sources_not_read": [{"source": n, "reason": r}
                                                              for n, r in self.report.unread]}

    def _write_groups(self) -> None:
        """Sets of documents and codes become groups; note members are reported."""
        self.n_groups = 0
        conn = self.conn
        for st in self.sets:
            docs = sorted({self.doc_ids[k][0] for k in st["sources"] if k in self.doc_ids})
            codes = sorted({self.code_ids[k] for k in st["codes"] if k in self.code_ids})
            missing = len([k for k in st["sources"] if k not in self.doc_ids]) + \
                len([k for k in st["codes"] if k not in self.code_ids])
            if missing:
                self.report.add("set members that are not imported documents or codes were left out",
                                st["name"] or st["key"])
            if st["notes"]:
                self.report.add("notes in sets were left out of the group (the notes are imported as memos)",
                                st["name"] or st["key"])
            group_id = conn.execute(
                "INSERT INTO groups(guid, name, description, creator_id, created_at) VALUES (?, ?, ?, ?, ?)",
                (self._guid("groups", st["key"], "sets"), st["name"] or f"Set {self.n_groups + 1}",
                 st["description"], self._importer(), self.now)).lastrowid
            conn.executemany("INSERT OR IGNORE INTO group_members(group_id, document_id, code_id) VALUES (?, ?, ?)",
                             [(group_id, d, None) for d in docs] + [(group_id, None, c) for c in codes])
            self.n_groups += 1

    def _report_links_and_graphs(self) -> None:
        if self.other_links:
            names = sorted({lk["name"] or "(no name)" for lk in self.other_links})
            n = len(self.other_links)
            self.report.add(f"{n} link{'s were' if n != 1 else ' was'} not kept (recoverystudy keeps links from notes to "
                            f"cases and to coded text only): " + ", ".join(repr(n) for n in names[:10])
                            + (" ..." if len(names) > 10 else ""))
        if self.graphs:
            n = len(self.graphs)
            self.report.add(f"{n} graph{'s were' if n != 1 else ' was'} not kept (recoverystudy has no network views): "
                            + ", ".join(repr(n) for n in self.graphs[:10]) + (" ..." if len(self.graphs) > 10 else ""))

    def _write_cases(self) -> None:
        conn, now = self.conn, self.now
        case_vars = {ref for c in self.cases for ref, _k, _t in c["values"]}
        self.source_vars = {ref for s in self.sources for ref, _k, _t in s["values"]}
        attr_ids: dict[str, tuple[int, str, str]] = {}
        taken = Names()
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
        taken = Names()
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
                                       self._importer(), now, now, "", ""))

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
        self.texts: dict[int, str] = {}
        taken = Names()
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
            created = when(s["created"], now)
            cur = conn.execute(
                "INSERT INTO documents(guid, name, kind, case_id, text, sha256, n_chars, source_format, encoding,"
                " source_path, attributes_json, creator_id, created_at, modified_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self._guid("documents", s["key"], "documents"), name, kind, self.case_of_source.get(s["key"]), text,
                 sha, len(text), ("pdf text" if s["format"] == "pdf" else "qdpx") if self.pkg.zip is not None
                 else "qde", "utf-8", f"{self.file}:{s['member']}",
                 json.dumps(attrs, sort_keys=True, default=str), self._user(s["user"], "documents"), created,
                 when(s["modified"], created)))
            doc_id = int(cur.lastrowid)
            self.by_sha[sha] = doc_id
            self.doc_ids[s["key"]] = (doc_id, crlf, len(raw))
            self.texts[doc_id] = text
            turn_rows += [(doc_id, t, sp, a, e, b, speaker_role(sp)) for t, (sp, a, b, e) in
                          enumerate(speaker_turns(text))]
        conn.executemany("INSERT INTO turns(document_id, turn_index, speaker, start, end, text_start, role)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?)", turn_rows)
        doc_vars = {self.variables[k][0]: self._guid("variables", k, "variables")
                    for k in sorted(self.source_vars) if k in self.variables}
        conn.execute("INSERT INTO meta(key, value) VALUES (?, ?)", (DOCUMENT_VARIABLES_KEY, json.dumps(doc_vars)))

    @staticmethod
    def _crlf_counts_once(s: dict, crlf: list[int], n_raw: int, text: str) -> bool:
        """Whether the writer counted each CRLF as one character (positions in the LF text), not two.

        Positions beyond the LF text mean two; otherwise named selections (ATLAS.ti names a quotation by its
        first words) decide; with no evidence the REFI-QDA reading (two characters) is kept.
        """
        spans = []
        for sel in s["selections"]:
            try:
                spans.append((int(sel["start"]), int(sel["end"]), sel["name"].strip()))
            except (TypeError, ValueError):
                continue
        if not spans or any(b > len(text) for _a, b, _n in spans):
            return False
        once = twice = 0
        for a, b, name in spans:
            probe = name.rstrip(".…").strip()
            if not probe or b > n_raw:
                continue
            a2, b2 = a - bisect.bisect_left(crlf, a), b - bisect.bisect_left(crlf, b)
            once += text[a:b].startswith(probe) or (b - a > 2 and probe.startswith(text[a:b].rstrip(".…")))
            twice += text[a2:b2].startswith(probe) or (b2 - a2 > 2 and probe.startswith(text[a2:b2].rstrip(".…")))
        return once > twice

    def _write_segments(self) -> None:
        """One segment per (selection, coding); a coding of a whole source covers its whole text."""
        conn, now, report = self.conn, self.now, self.report
        self.seg_rows: list[tuple] = []
        seen: dict[tuple, int] = {}
        self.sel_segs: dict[str, list[int]] = defaultdict(list)  # selection key -> indices into seg_rows
        self.coding_seg: dict[str, int] = {}
        self.seg_notes: list[tuple[str, str, str | None, int]] = []  # note, on, selection/coding key, document
        self.sel_memos: list[tuple[int, str, str | None, str | None]] = []  # segment row, text, user, time
        for s in self.sources:
            if s["key"] not in self.doc_ids:
                continue
            doc_id, crlf, n_raw = self.doc_ids[s["key"]]
            if crlf and self._crlf_counts_once(s, crlf, n_raw, self.texts.get(doc_id, "")):
                report.add("sources whose positions count a CRLF line end as one character (as their writer "
                           "does) were read that way", s["name"])
                crlf, n_raw = [], len(self.texts[doc_id])
            self.seg_notes += [(note, "document", None, doc_id) for note in s["notes"]]
            whole = {"key": None, "start": "0", "end": str(n_raw), "user": None, "at": None, "codings": s["whole"],
                     "notes": [], "name": "", "description": ""}
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
                                              when(coding["at"] or sel["at"], now), sel["name"]))
                        if sel["description"].strip():  # the quotation's comment: a memo on the segment
                            self.sel_memos.append((row, sel["description"], sel["user"] or coding["user"],
                                                   sel["at"] or coding["at"]))
                    if sel["key"]:
                        self.sel_segs[sel["key"]].append(row)
                    if coding["key"]:
                        self.coding_seg.setdefault(coding["key"], row)
        self.first = conn.execute("SELECT COALESCE(MAX(segment_id), 0) + 1 FROM segments").fetchone()[0]
        conn.executemany("INSERT INTO segments(segment_id, guid, document_id, code_id, coder_id, start, end,"
                         " framework_version, created_at, label) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
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
        self.other_links = []
        for link in self.links:
            origin, target = link["origin"], link["target"]
            note, other = (origin, target) if origin in note_keys else (target, origin)
            if note in note_keys and other in self.case_ids:
                targets[note].append(("case", self.case_ids[other]))
            elif note in note_keys and self.sel_segs.get(other):
                evidence[note].append(self.first + self.sel_segs[other][0])
            else:
                self.other_links.append(link)
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
            created = when(n["created"], now)
            modified = when(n["modified"], created)
            text = n["text"]
            automatic = n["name"].startswith(AUTO_CHART_NOTE_PREFIX)
            if (self.ours and (automatic or n["name"].startswith(CHART_NOTE_PREFIX)) and case_id and code_id
                    and (case_id, code_id) not in charted and text.strip()):
                charted.add((case_id, code_id))
                chart_id = conn.execute(
                    "INSERT INTO charts(guid, case_id, code_id, summary, author_id, created_at, modified_at,"
                    " automatic) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (self._guid("charts", n["key"], "charts"), case_id, code_id, text, author, created,
                     modified, int(automatic))).lastrowid
                conn.executemany("INSERT OR IGNORE INTO chart_segments(chart_id, segment_id) VALUES (?, ?)",
                                 [(chart_id, s) for s in evidence.get(n["key"], [])])
                conn.execute("INSERT INTO coding_log(action, code_path, coder, at, detail) VALUES ('chart',"
                             " (SELECT path FROM codes WHERE code_id = ?), (SELECT name FROM users WHERE user_id = ?),"
                             " ?, ?)", (code_id, author, now, f"imported from {self.file}"))
                self.n_charts += 1
                continue
            title = n["name"] if not (self.ours and generated_note_name(n["name"])) else ""
            if not text.strip() and not title.strip() and not n["description"].strip():
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
            self.memo_rows.append((self._guid("memos", n["key"], "notes"), text, on, *ids, author, created, modified,
                                   title, n["description"]))
        for row, text, user, at in self.sel_memos:
            created = when(at, now)
            self.memo_rows.append((new_guid(), text, "segment", None, None, self.first + row, None,
                                   self._user(user, "selection comments"), created, created, "", ""))
        if self.description:
            self.memo_rows.append((new_guid(), self.description, "project", None, None, None, None,
                                   self._importer(), now, now, "", ""))
        conn.executemany("INSERT INTO memos(guid, text, target_type, case_id, code_id, segment_id, document_id,"
                         " author_id, created_at, modified_at, title, description)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.memo_rows)
        names = dict(conn.execute("SELECT user_id, name FROM users").fetchall())
        conn.executemany("INSERT INTO coding_log(action, coder, at, detail) VALUES ('memo', ?, ?, ?)",
                         [(names[r[7]], now, f"memo on {r[2]} imported from {self.file}") for r in self.memo_rows])


def read_qdpx(qdpx: str | Path, new_path: str | Path) -> Path:
    """Create the project file *new_path* from *qdpx* and return its path (see ``Project.import_qdpx``)."""
    new = Path(new_path)
    if new.exists() or new.is_symlink():
        raise ProjectStoreError(f"{new} already exists; importing never overwrites a file. Choose a new file name.",
                                file=str(new))
    if not new.parent.is_dir():
        raise ProjectStoreError(f"The folder {new.parent} does not exist.", file=str(new))
    pkg = Package.open(qdpx)
    try:
        reader = _ProjectReader(pkg, pkg.root(("Project",)))
        reader.read()
    finally:
        pkg.close()
    tmp = new.with_name(f".{new.name}.{uuid.uuid4().hex[:12]}.importing")
    store = Store.create(tmp)
    try:
        with store.transaction() as conn:
            counts = reader.write(conn)
            record(conn, file_record(pkg.path, "REFI-QDA 1.0 project", reader.origin, reader.report,
                                       project_name=reader.root.get("name") or "", **counts))
        store.close()
        _place(tmp, new)
    except BaseException:
        store.close()
        raise
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)
    reader.report.warn(pkg.path)
    return new


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
