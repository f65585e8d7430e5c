"""Durability and safety of the project file (issue 14 item 5, issue 20 item 6), with the reproductions.

A full disk is simulated with SQLite's ``PRAGMA max_page_count``: once the database would grow past
that many pages SQLite fails exactly as on a full disk (``SQLITE_FULL``, "database or disk is full").
No tmpfs or loop device is needed, so the simulation is reliable on every machine and in CI.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import time

import pytest

import recoverystudy as rs
from recoverystudy.errors import ProjectStorageError, ProjectStoreError, RecoveryStudyError
from recoverystudy.qual import store as store_module
from recoverystudy.qual.storefile import APPLICATION_ID

TEXT = "Interviewer: Tell me about your care plan.\nSU01: " + "I never had a copy of my care plan. " * 40


def _project(tmp_path, name="p.rsqda"):
    proj = rs.Project.create(tmp_path / name)
    proj.add_document(TEXT, name="SU01", case="SU01")
    proj.code("SU01", 50, 80, "risk/risk_assessment", coder="AB", memo="first memo")
    return proj


def _snapshot(folder):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}


# -- full disk (reproduction: coding raised a raw sqlite3.OperationalError naming no file) ------------------
def test_full_disk_while_coding_raises_a_named_error_naming_the_file(tmp_path):
    proj = _project(tmp_path)
    conn = proj._store.conn
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(ProjectStorageError) as info:
        for i in range(5000):  # every call needs room eventually: segments, coding_log, indexes
            proj.code("SU01", 100 + i % 900, 101 + i % 900 + i // 900, "risk/risk_assessment", coder=f"C{i}")
    err = info.value
    assert isinstance(err, RecoveryStudyError) and isinstance(err, ProjectStoreError)
    assert err.reason == "full" and err.file == str(tmp_path / "p.rsqda")
    assert str(tmp_path / "p.rsqda") in str(err) and "full" in str(err)
    n_before = len(proj.segments())
    # the failed call left nothing half-written, and the project works again once there is room
    assert not conn.in_transaction
    conn.execute("PRAGMA max_page_count = 1073741823")
    proj.code("SU01", 5, 20, "risk/risk_assessment", coder="ZZ")
    assert len(proj.segments()) == n_before + 1
    assert proj.check() == []
    proj.close()


def test_full_disk_while_adding_a_document(tmp_path):
    proj = _project(tmp_path)
    conn = proj._store.conn
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(ProjectStorageError, match="full") as info:
        proj.add_document("SU02: " + "a long answer about my recovery goals " * 3000, name="SU02")
    assert info.value.file.endswith("p.rsqda")
    assert proj.documents()["name"].tolist() == ["SU01"]
    proj.close()


# -- close() and the -wal file (reproduction: copying the .rsqda after close gave "malformed") ---------------
def test_rsqda_is_complete_on_its_own_after_close(tmp_path):
    proj = _project(tmp_path)
    n_segments = len(proj.segments())
    proj.close()
    assert not (tmp_path / "p.rsqda-wal").exists()
    elsewhere = tmp_path / "sent"
    elsewhere.mkdir()
    shutil.copy2(tmp_path / "p.rsqda", elsewhere / "p.rsqda")  # the .rsqda alone, as the guide advises
    with rs.Project.open(elsewhere / "p.rsqda") as copy:
        assert copy.check() == []
        assert len(copy.segments()) == n_segments == 1
        assert copy.documents()["name"].tolist() == ["SU01"]


def test_close_fails_loudly_when_the_checkpoint_cannot_complete(tmp_path):
    proj = _project(tmp_path)
    reader = sqlite3.connect(tmp_path / "p.rsqda", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM segments").fetchone()  # holds a read snapshot of the WAL
    proj.code("SU01", 100, 130, "risk/risk_assessment", coder="AB")  # written after the snapshot
    with pytest.raises(ProjectStorageError, match="NOT complete on its own") as info:
        proj.close()
    assert info.value.reason == "checkpoint" and info.value.file == str(tmp_path / "p.rsqda")
    assert "p.rsqda-wal" in str(info.value)
    proj.close()  # closed all the same; a second close is quiet
    reader.execute("COMMIT")
    reader.close()  # the last connection folds the log in
    with rs.Project.open(tmp_path / "p.rsqda") as again:
        assert len(again.segments()) == 2


# -- backup with SQLite's online backup API ---------------------------------------------------------------------
def test_backup_is_a_whole_verified_copy_and_never_overwrites(tmp_path, monkeypatch):
    proj = _project(tmp_path)
    calls = []
    real = proj._store.integrity_problems
    monkeypatch.setattr(proj._store, "integrity_problems", lambda: calls.append(1) or real())
    out = proj.backup(tmp_path / "copy.rsqda")  # while the project is open, changes still in the WAL
    assert calls == [1]  # the full integrity check ran before the backup
    assert out == tmp_path / "copy.rsqda"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("copy")) == ["copy.rsqda"]
    with rs.Project.open(out) as copy:
        assert copy.segments()[["code", "coder", "start", "end"]].values.tolist() == [
            ["risk/risk_assessment", "AB", 50, 80]]
        assert len(copy.codes()) == 43
    with pytest.raises(ProjectStoreError, match="never overwrites"):
        proj.backup(out)
    monkeypatch.setattr(proj._store, "integrity_problems", lambda: ["*** in database main *** Page 7: btreeInitPage"])
    with pytest.raises(ProjectStoreError, match="damaged, so no backup was made"):
        proj.backup(tmp_path / "other.rsqda")
    assert not (tmp_path / "other.rsqda").exists()
    proj.close()


# -- create: temporary file + rename; kill test (reproduction: a killed create blocked creating again) --------
def test_create_survives_random_sigkills(tmp_path):
    target = tmp_path / "study.rsqda"
    absent = whole = 0
    rng = random.Random(14)
    start = time.perf_counter()
    rs.Project.create(tmp_path / "timing.rsqda").close()
    duration = time.perf_counter() - start
    for _ in range(32):
        pid = os.fork()
        if pid == 0:  # child: create the project, then leave without running pytest's clean-up
            try:
                rs.Project.create(target).close()
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0, duration * 1.3))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        if target.exists():
            with rs.Project.open(target) as proj:  # a whole project: schema, metadata and codebook
                assert len(proj.codes()) == 43
                assert proj.check() == []
            whole += 1
        else:
            absent += 1
            assert not any(p.name.startswith("study.rsqda") for p in tmp_path.iterdir())
            rs.Project.create(target).close()  # creating again works
        target.unlink()
    assert absent + whole == 32 and absent > 0
    # temporary files of killed creators are cleared by the next create
    rs.Project.create(target).close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.rsqda", "timing.rsqda"]


def test_create_refuses_existing_and_leaves_no_temporary_files(tmp_path):
    proj = rs.Project.create(tmp_path / "p.rsqda")
    assert sorted(p.name for p in tmp_path.iterdir() if "-wal" not in p.name and "-shm" not in p.name) == [
        "p.rsqda"]
    assert proj._store.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    proj.close()
    with pytest.raises(ProjectStoreError, match="already exists"):
        rs.Project.create(tmp_path / "p.rsqda")


# -- opening never modifies a file before it is verified (reproduction: a non-project file switched to WAL) --
def test_opening_a_non_project_sqlite_file_leaves_it_untouched(tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    conn.close()
    before = _snapshot(tmp_path)
    with pytest.raises(ProjectStoreError, match="not a recoverystudy project"):
        rs.Project.open(other)
    assert _snapshot(tmp_path) == before  # same bytes, same times, no -wal/-shm created
    assert other.read_bytes()[18:20] == b"\x01\x01"  # still a rollback-journal file, not WAL


def test_file_of_another_program_is_refused_by_its_application_id(tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("PRAGMA application_id = 1234")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    before = _snapshot(tmp_path)
    with pytest.raises(ProjectStoreError, match="another program"):
        rs.Project.open(other)
    assert _snapshot(tmp_path) == before


# -- schema verified against the library's own (reproduction: a planted trigger deleted memos on code()) -----
@pytest.mark.parametrize("extra, kind, name", [
    ("CREATE TRIGGER wipe AFTER INSERT ON segments BEGIN DELETE FROM memos; END", "trigger", "wipe"),
    ("CREATE VIEW everything AS SELECT * FROM documents", "view", "everything"),
    ("CREATE INDEX mine ON documents(kind)", "index", "mine"),
    ("CREATE TABLE notes (x)", "table", "notes"),
])
def test_foreign_schema_objects_are_refused_on_open(tmp_path, extra, kind, name):
    _project(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "p.rsqda")
    conn.execute(extra)
    conn.commit()
    conn.close()
    before = _snapshot(tmp_path)
    with pytest.raises(ProjectStoreError, match=f"{kind} '{name}' that recoverystudy did not create") as info:
        rs.Project.open(tmp_path / "p.rsqda")
    assert info.value.file == str(tmp_path / "p.rsqda")
    assert _snapshot(tmp_path) == before
    # the memo the trigger would have deleted is still there
    conn = sqlite3.connect(tmp_path / "p.rsqda")
    assert conn.execute("SELECT text FROM memos").fetchall() == [("first memo",)]
    conn.close()


def test_virtual_table_and_changed_table_are_refused(tmp_path):
    _project(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "p.rsqda")
    conn.execute("CREATE VIRTUAL TABLE search USING fts5(body)")
    conn.execute("ALTER TABLE memos ADD COLUMN secret TEXT")
    conn.commit()
    conn.close()
    with pytest.raises(ProjectStoreError) as info:
        rs.Project.open(tmp_path / "p.rsqda")
    message = str(info.value)
    assert "table 'search' that recoverystudy did not create" in message
    assert "table 'memos' was changed" in message


# -- read-only storage -----------------------------------------------------------------------------------------
def test_read_only_open_refuses_changes_with_a_clear_message(tmp_path):
    _project(tmp_path).close()
    before = _snapshot(tmp_path)
    with rs.Project.open(tmp_path / "p.rsqda", read_only=True) as proj:
        assert proj.read_only and len(proj.segments()) == 1
        with pytest.raises(ProjectStorageError, match="open read-only because it was opened with read_only=True"):
            proj.code("SU01", 100, 130, "risk/risk_assessment", coder="AB")
        with pytest.raises(ProjectStorageError, match="read-only") as info:  # even a raw write names the file
            proj._store.conn.execute("DELETE FROM memos")
        assert info.value.file == str(tmp_path / "p.rsqda")
    assert {k: v[0] for k, v in _snapshot(tmp_path).items() if k == "p.rsqda"} == {"p.rsqda": before["p.rsqda"][0]}


def test_read_only_storage_is_detected_and_opened_read_only(tmp_path, monkeypatch):
    _project(tmp_path).close()
    real_access = os.access
    # as on a read-only mount: nothing under tmp_path may be written (os.access reports EROFS even for root)
    monkeypatch.setattr(store_module.os, "access",
                        lambda p, mode, **kw: False if mode == os.W_OK and str(p).startswith(str(tmp_path))
                        else real_access(p, mode, **kw))
    before = _snapshot(tmp_path)
    with rs.Project.open(tmp_path / "p.rsqda") as proj:
        assert proj.read_only
        assert proj.segments()["coder"].tolist() == ["AB"]
        with pytest.raises(ProjectStorageError, match=r"the file .*p\.rsqda is read-only; changes cannot be saved"):
            proj.add_case("SU02")
    assert _snapshot(tmp_path) == before  # immutable read: not even a -shm file was created
    with pytest.raises(ProjectStorageError, match="is read-only"):
        rs.Project.create(tmp_path / "new.rsqda")


# -- opening is cheap; the full check runs after an unclean shutdown ---------------------------------------
def test_full_check_runs_only_after_an_unclean_shutdown(tmp_path, monkeypatch):
    _project(tmp_path).close()
    ran = []
    real = store_module.Store.integrity_problems
    monkeypatch.setattr(store_module.Store, "integrity_problems", lambda self: ran.append(1) or real(self))
    rs.Project.open(tmp_path / "p.rsqda").close()
    assert ran == []  # clean file: header, schema and version only
    pid = os.fork()
    if pid == 0:  # a coder whose laptop dies mid-session: committed work in the -wal, no close()
        try:
            proj = rs.Project.open(tmp_path / "p.rsqda")
            proj.code("SU01", 100, 130, "risk/risk_assessment", coder="CD")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert (tmp_path / "p.rsqda-wal").stat().st_size > 0
    with rs.Project.open(tmp_path / "p.rsqda") as proj:
        assert ran == [1]
        assert sorted(proj.segments()["coder"]) == ["AB", "CD"]  # the committed work survived
    ran.clear()
    rs.Project.open(tmp_path / "p.rsqda").close()
    assert ran == []


def test_damage_found_after_an_unclean_shutdown_is_refused(tmp_path, monkeypatch):
    _project(tmp_path).close()
    (tmp_path / "p.rsqda-wal").write_bytes(b"\0" * 32)  # a left-over log, as after a crash
    monkeypatch.setattr(store_module.Store, "integrity_problems", lambda self: ["row 3 missing from index x"])
    with pytest.raises(ProjectStoreError, match="not closed cleanly last time and is damaged: row 3 missing"):
        rs.Project.open(tmp_path / "p.rsqda")
