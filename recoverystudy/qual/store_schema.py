"""The schema of a project file, as numbered migrations named by intent (:data:`MIGRATIONS`).

``PRAGMA user_version`` records how many have run; :class:`~recoverystudy.qual.store.Store` applies them
(a new file runs them all; an older file is upgraded on open, after a backup).  Never edit a released
migration: append a new one.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

_INITIAL_SCHEMA = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE users (
    user_id    INTEGER PRIMARY KEY,
    guid       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE codes (
    code_id     INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    path        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    parent_id   INTEGER REFERENCES codes(code_id) ON DELETE RESTRICT,
    definition  TEXT NOT NULL DEFAULT '',
    inclusion   TEXT NOT NULL DEFAULT '',
    exclusion   TEXT NOT NULL DEFAULT '',
    example     TEXT NOT NULL DEFAULT '',
    colour      TEXT,
    rules_json  TEXT NOT NULL DEFAULT '{}',
    sort_order  INTEGER NOT NULL DEFAULT 0,
    creator_id  INTEGER NOT NULL REFERENCES users(user_id),
    created_at  TEXT NOT NULL,
    modified_at TEXT NOT NULL
);
CREATE TABLE framework_versions (
    version       INTEGER PRIMARY KEY,
    note          TEXT NOT NULL,
    snapshot_json TEXT NOT NULL,
    creator_id    INTEGER NOT NULL REFERENCES users(user_id),
    created_at    TEXT NOT NULL
);
CREATE TABLE cases (
    case_id     INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    creator_id  INTEGER NOT NULL REFERENCES users(user_id),
    created_at  TEXT NOT NULL,
    modified_at TEXT NOT NULL
);
CREATE TABLE attributes (
    attribute_id INTEGER PRIMARY KEY,
    guid         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL CHECK (type IN ('text', 'integer', 'float', 'boolean')),
    creator_id   INTEGER NOT NULL REFERENCES users(user_id),
    created_at   TEXT NOT NULL
);
CREATE TABLE case_attributes (
    case_id      INTEGER NOT NULL REFERENCES cases(case_id) ON DELETE CASCADE,
    attribute_id INTEGER NOT NULL REFERENCES attributes(attribute_id) ON DELETE CASCADE,
    value        TEXT,
    modified_at  TEXT NOT NULL,
    PRIMARY KEY (case_id, attribute_id)
);
CREATE TABLE documents (
    document_id     INTEGER PRIMARY KEY,
    guid            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    case_id         INTEGER REFERENCES cases(case_id) ON DELETE SET NULL,
    text            TEXT NOT NULL,
    sha256          TEXT NOT NULL UNIQUE,
    n_chars         INTEGER NOT NULL,
    source_format   TEXT NOT NULL,
    encoding        TEXT,
    source_path     TEXT,
    attributes_json TEXT NOT NULL DEFAULT '{}',
    creator_id      INTEGER NOT NULL REFERENCES users(user_id),
    created_at      TEXT NOT NULL,
    modified_at     TEXT NOT NULL
);
CREATE INDEX documents_case ON documents(case_id);
CREATE TABLE turns (
    turn_id     INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(document_id) ON DELETE CASCADE,
    turn_index  INTEGER NOT NULL,
    speaker     TEXT NOT NULL,
    start       INTEGER NOT NULL,
    end         INTEGER NOT NULL,
    text_start  INTEGER NOT NULL,
    CHECK (0 <= start AND start <= text_start AND text_start <= end),
    UNIQUE (document_id, turn_index)
);
CREATE TABLE segments (
    segment_id        INTEGER PRIMARY KEY,
    guid              TEXT NOT NULL UNIQUE,
    document_id       INTEGER NOT NULL REFERENCES documents(document_id) ON DELETE RESTRICT,
    code_id           INTEGER NOT NULL REFERENCES codes(code_id) ON DELETE RESTRICT,
    coder_id          INTEGER NOT NULL REFERENCES users(user_id),
    start             INTEGER NOT NULL,
    end               INTEGER NOT NULL,
    framework_version INTEGER REFERENCES framework_versions(version),
    created_at        TEXT NOT NULL,
    CHECK (0 <= start AND start < end),
    UNIQUE (document_id, code_id, coder_id, start, end)
);
CREATE INDEX segments_code ON segments(code_id);
CREATE INDEX segments_document ON segments(document_id, start);
CREATE TABLE memos (
    memo_id     INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    text        TEXT NOT NULL,
    target_type TEXT NOT NULL CHECK (target_type IN ('project', 'case', 'code', 'segment', 'cell', 'document')),
    case_id     INTEGER REFERENCES cases(case_id) ON DELETE SET NULL,
    code_id     INTEGER REFERENCES codes(code_id) ON DELETE SET NULL,
    segment_id  INTEGER REFERENCES segments(segment_id) ON DELETE SET NULL,
    document_id INTEGER REFERENCES documents(document_id) ON DELETE SET NULL,
    author_id   INTEGER NOT NULL REFERENCES users(user_id),
    created_at  TEXT NOT NULL,
    modified_at TEXT NOT NULL
);
CREATE TABLE suggestions (
    suggestion_id INTEGER PRIMARY KEY,
    document_id   INTEGER NOT NULL REFERENCES documents(document_id) ON DELETE CASCADE,
    code_id       INTEGER NOT NULL REFERENCES codes(code_id) ON DELETE CASCADE,
    start         INTEGER NOT NULL,
    end           INTEGER NOT NULL,
    rule          TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
    decided_by    INTEGER REFERENCES users(user_id),
    decided_at    TEXT,
    segment_id    INTEGER REFERENCES segments(segment_id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL,
    CHECK (0 <= start AND start < end),
    UNIQUE (document_id, code_id, start, end)
);
CREATE TABLE charts (
    chart_id    INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    case_id     INTEGER NOT NULL REFERENCES cases(case_id) ON DELETE CASCADE,
    code_id     INTEGER NOT NULL REFERENCES codes(code_id) ON DELETE CASCADE,
    summary     TEXT NOT NULL,
    author_id   INTEGER NOT NULL REFERENCES users(user_id),
    created_at  TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    UNIQUE (case_id, code_id)
);
CREATE TABLE chart_segments (
    chart_id   INTEGER NOT NULL REFERENCES charts(chart_id) ON DELETE CASCADE,
    segment_id INTEGER NOT NULL REFERENCES segments(segment_id) ON DELETE CASCADE,
    PRIMARY KEY (chart_id, segment_id)
);
CREATE TABLE coding_log (
    log_id      INTEGER PRIMARY KEY,
    action      TEXT NOT NULL CHECK (action IN ('code', 'uncode', 'accept', 'reject', 'chart', 'memo')),
    segment_id  INTEGER,
    document_id INTEGER,
    code_path   TEXT,
    start       INTEGER,
    end         INTEGER,
    coder       TEXT NOT NULL,
    at          TEXT NOT NULL,
    detail      TEXT
);
CREATE TRIGGER coding_log_no_update BEFORE UPDATE ON coding_log
BEGIN SELECT RAISE(ABORT, 'coding_log is append-only'); END;
CREATE TRIGGER coding_log_no_delete BEFORE DELETE ON coding_log
BEGIN SELECT RAISE(ABORT, 'coding_log is append-only'); END;
"""

# Tables that point at a segment are searched by segment_id whenever a segment is removed (the
# foreign-key actions ON DELETE CASCADE / SET NULL, and uncode's own UPDATE of suggestions).  Without
# these indexes each removal scanned the whole of suggestions, memos and chart_segments.
_INDEX_SEGMENT_REFERENCES = """
CREATE INDEX IF NOT EXISTS suggestions_segment ON suggestions(segment_id);
CREATE INDEX IF NOT EXISTS memos_segment ON memos(segment_id);
CREATE INDEX IF NOT EXISTS chart_segments_segment ON chart_segments(segment_id);
"""

# What REFI-QDA files carry and the method needs recorded: selection labels, note titles and descriptions,
# sets of documents and codes (groups), speaker roles of turns, the reason a suggestion was rejected, and
# whether a chart summary was written by a person or generated automatically.
_KEEP_EXCHANGE_AND_REVIEW = """
ALTER TABLE segments ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE memos ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE memos ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE turns ADD COLUMN role TEXT NOT NULL DEFAULT 'participant';
ALTER TABLE suggestions ADD COLUMN reason TEXT;
ALTER TABLE charts ADD COLUMN automatic INTEGER NOT NULL DEFAULT 0;
CREATE TABLE groups (
    group_id    INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    creator_id  INTEGER NOT NULL REFERENCES users(user_id),
    created_at  TEXT NOT NULL
);
CREATE TABLE group_members (
    group_id    INTEGER NOT NULL REFERENCES groups(group_id) ON DELETE CASCADE,
    document_id INTEGER REFERENCES documents(document_id) ON DELETE CASCADE,
    code_id     INTEGER REFERENCES codes(code_id) ON DELETE CASCADE,
    CHECK ((document_id IS NULL) <> (code_id IS NULL)),
    UNIQUE (group_id, document_id, code_id)
);
CREATE INDEX group_members_group ON group_members(group_id);
UPDATE turns SET role = 'interviewer' WHERE lower(speaker) IN ('interviewer', 'int', 'i', 'researcher',
    'moderator', 'facilitator', 'fac', 'q') OR lower(speaker) LIKE 'interviewer %' OR lower(speaker) LIKE 'int %'
    OR lower(speaker) LIKE 'researcher %' OR lower(speaker) LIKE 'moderator %' OR lower(speaker) LIKE 'facilitator %'
    OR lower(speaker) LIKE 'fac %';
"""

#: Numbered migrations ``(version, intent, sql)``; ``PRAGMA user_version`` = last version applied.
#: Never edit a released migration: append a new one (files are upgraded on open, after a backup).
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "initial_schema", _INITIAL_SCHEMA),
    (2, "index_segment_references", _INDEX_SEGMENT_REFERENCES),
    (3, "keep_exchange_and_review", _KEEP_EXCHANGE_AND_REVIEW),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]
