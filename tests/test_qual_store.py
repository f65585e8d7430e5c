"""Tests for the project store (recoverystudy/qual/store.py) and Project.create/open."""

from __future__ import annotations

import sqlite3

import pytest

import recoverystudy as rs
from recoverystudy.errors import ProjectStoreError, SchemaVersionError
from recoverystudy.qual.store import MIGRATIONS, SCHEMA_VERSION, Store


def test_create_sets_pragmas_and_version(tmp_path):
    path = tmp_path / "p.rsqda"
    with rs.Project.create(path, codebook=None) as proj:
        conn = proj._store.conn
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert [m[1] for m in MIGRATIONS][0] == "initial_schema"


def test_create_refuses_existing_file(tmp_path):
    path = tmp_path / "p.rsqda"
    rs.Project.create(path, codebook=None).close()
    with pytest.raises(ProjectStoreError, match="already exists"):
        rs.Project.create(path, codebook=None)


def test_open_missing_and_non_project(tmp_path):
    with pytest.raises(ProjectStoreError, match="No project file"):
        rs.Project.open(tmp_path / "nope.rsqda")
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(ProjectStoreError, match="not a recoverystudy project"):
        rs.Project.open(other)
    junk = tmp_path / "junk.rsqda"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(ProjectStoreError, match="not a recoverystudy project"):
        rs.Project.open(junk)


def test_newer_schema_refused(tmp_path):
    path = tmp_path / "p.rsqda"
    rs.Project.create(path, codebook=None).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaVersionError) as info:
        rs.Project.open(path)
    assert info.value.version == SCHEMA_VERSION + 1
    assert "newer version" in str(info.value)
    assert str(path) in str(info.value)


def test_foreign_keys_enforced(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda") as proj:
        with pytest.raises(sqlite3.IntegrityError):
            with proj._store.transaction() as conn:
                conn.execute(
                    "INSERT INTO segments(guid, document_id, code_id, coder_id, start, end, created_at)"
                    " VALUES ('x', 999, 1, 1, 0, 1, 'now')"
                )


def test_coding_log_is_append_only(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda") as proj:
        proj.add_document("SU01: risk", name="d")
        proj.code("d", 6, 10, "risk/risk_assessment", coder="AB")
        conn = proj._store.conn
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE coding_log SET coder = 'someone else'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM coding_log")
        log = proj.coding_log()
        assert log[["action", "coder", "code", "start", "end"]].values.tolist() == [
            ["code", "AB", "risk/risk_assessment", 6, 10]
        ]
        assert log["at"].iloc[0].endswith("Z")


def test_transaction_rolls_back_on_error(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda", codebook=None) as proj:
        with pytest.raises(RuntimeError):
            with proj._store.transaction() as conn:
                conn.execute("INSERT INTO meta(key, value) VALUES ('x', 'y')")
                raise RuntimeError("boom")
        assert proj._store.conn.execute("SELECT COUNT(*) FROM meta WHERE key = 'x'").fetchone()[0] == 0


def test_closed_project_errors(tmp_path):
    proj = rs.Project.create(tmp_path / "p.rsqda", codebook=None)
    proj.close()
    proj.close()
    with pytest.raises(ProjectStoreError, match="closed"):
        proj.documents()
    assert "closed" in repr(proj)


def test_guids_everywhere(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda") as proj:
        proj.add_document("SU01: risk", name="d", case="SU01")
        proj.add_case("SU01", site="A")
        seg = proj.code("d", 6, 10, "risk/risk_assessment", coder="AB", memo="note")
        conn = proj._store.conn
        for table in ("users", "codes", "documents", "cases", "attributes", "segments", "memos"):
            guids = [r[0] for r in conn.execute(f"SELECT guid FROM {table}")]
            assert guids and all(len(g) == 36 and g == g.upper() for g in guids), table
        assert seg == 1
        assert Store.open  # the store class is the single source of the schema


def test_version_1_file_is_backed_up_and_upgraded(tmp_path):
    """A file written at schema 1 (before the segment-reference indexes) opens, is backed up, and upgraded."""
    path = tmp_path / "old.rsqda"
    with rs.Project.create(path) as proj:
        proj.add_document("SU01: I never had a copy of my care plan.", name="SU01", case="SU01")
        proj.code_quote("SU01", "never had a copy", "care_plan_document/copy_and_ownership", coder="AB")
    conn = sqlite3.connect(path)
    _downgrade_to_2(conn)
    for name in ("suggestions_segment", "memos_segment", "chart_segments_segment"):
        conn.execute(f"DROP INDEX {name}")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()

    with rs.Project.open(path) as proj:
        assert proj.segments()["text"].tolist() == ["never had a copy"]
    backup = tmp_path / "old.rsqda.v1.bak"
    assert backup.is_file()
    old = sqlite3.connect(backup)
    assert old.execute("PRAGMA user_version").fetchone()[0] == 1
    old.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    conn.close()
    assert {"suggestions_segment", "memos_segment", "chart_segments_segment"} <= names


def _downgrade_to_2(conn) -> None:
    """Undo migration 3 (what a schema-2 file looks like)."""
    conn.execute("DROP TABLE group_members")
    conn.execute("DROP TABLE groups")
    for table, column in (("segments", "label"), ("memos", "title"), ("memos", "description"), ("turns", "role"),
                          ("suggestions", "reason"), ("charts", "automatic")):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")


def test_version_2_file_gains_groups_labels_and_speaker_roles(tmp_path):
    """A schema-2 file is backed up and upgraded; its interviewer turns get the interviewer role."""
    path = tmp_path / "two.rsqda"
    with rs.Project.create(path) as proj:
        proj.add_document("Interviewer: Any copy?\nFacilitator 2: Go on.\nSU01: Never had one.", name="SU01")
    conn = sqlite3.connect(path)
    _downgrade_to_2(conn)
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with rs.Project.open(path) as proj:
        assert proj.turns()[["speaker", "role"]].values.tolist() == [
            ["Interviewer", "interviewer"], ["Facilitator 2", "interviewer"], ["SU01", "participant"]]
        assert proj.add_group("Site A", documents=["SU01"]) == 1
        assert proj.segments()["label"].tolist() == []
    assert (tmp_path / "two.rsqda.v2.bak").is_file()
