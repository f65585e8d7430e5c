"""The PostgreSQL project store (issue 17, store part), against a throwaway cluster (tests/pg_fixtures.py).

Skips outside CI when PostgreSQL's server binaries or psycopg are missing; fails under CI=true.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import threading
import zipfile

import pandas as pd
import pytest
from click.testing import CliRunner
from pg_fixtures import pg_server, pg_url  # noqa: F401  (fixtures)

import recoverystudy as rs
from recoverystudy.cli import main
from recoverystudy.errors import ConcurrentEditError, ProjectStoreError
from recoverystudy.qual.dialect import table_info
from recoverystudy.qual.store import MIGRATIONS, Store
from recoverystudy.qual.transfer import table_rows

TEXT1 = ("Interviewer: Did you get a copy of your care plan?\n"
         "SU01: Never had a copy of my care plan. Nobody asked what I wanted from my recovery.\n"
         "Interviewer: And risk?\nSU01: They talked about my risk but not my goals, it's 50% their words.")
TEXT2 = ("Interviewer: Who was at the review?\nCC02: My care coordinator and my mum. I felt listened to.\n"
         "Interviewer: Anything else?\nCC02: Café crisis line — 'Robert'); DROP TABLE segments;-- was helpful.")


def _rich_project(path):
    proj = rs.Project.create(path, user="lead")
    proj.add_document(TEXT1, name="SU01", case="SU01")
    proj.add_document(TEXT2, name="CC02", case="CC02", kind="care_plan", attributes={"site": "B"})
    proj.set_attributes("SU01", site="A", age=34, rating=4.5, consented=True)
    proj.set_attributes("CC02", site="B", age=51)
    proj.code_quote("SU01", "Never had a copy of my care plan", "care_plan_document/copy_and_ownership",
                    coder="AB", memo="key quote")
    proj.code_quote("SU01", "Never had a copy", "care_plan_document/copy_and_ownership", coder="CD")
    proj.code_quote("SU01", "They talked about my risk", "risk/risk_assessment", coder="AB")
    proj.freeze_framework("after two transcripts")
    proj.code_quote("CC02", "I felt listened to", "care_planning_experience/involvement", coder="CD")
    proj.code_quote("CC02", "'Robert'); DROP TABLE segments;--", "crisis/crisis_services", coder="AB")
    proj.chart("SU01", "care_plan_document/copy_and_ownership", "No copy; wants ownership.", segments=[1],
               author="AB")
    proj.add_memo("Théme: ownership — 'quoted'", on="project", author="lead")
    proj.suggest(documents=["SU01", "CC02"])
    proj.add_code("access", name="Access to services")
    proj.add_code("access/waiting", name="Waiting lists", keywords=["waiting list"])
    return proj


def _dump(store) -> dict:
    return {t: table_rows(store, t) for t in table_info(MIGRATIONS)}


def test_round_trip_push_pull_is_lossless(tmp_path, pg_url):
    _rich_project(tmp_path / "study.rsqda").close()
    runner = CliRunner()
    out = runner.invoke(main, ["push", str(tmp_path / "study.rsqda"), pg_url])
    assert out.exit_code == 0, out.output
    assert "2 documents, 5 coded segments" in out.output
    out = runner.invoke(main, ["pull", pg_url, str(tmp_path / "back.rsqda")])
    assert out.exit_code == 0, out.output
    original, back = Store.open(tmp_path / "study.rsqda"), Store.open(tmp_path / "back.rsqda")
    server = rs.Project.open(pg_url)
    try:
        a, b, c = _dump(original), _dump(back), _dump(server._store)
        for table in a:
            assert a[table] == b[table] == c[table], table  # every row, every column, every id
        assert len(a["segments"]) == 5 and len(a["coding_log"]) >= 6 and len(a["users"]) == 3
        assert {r[0] for r in a["meta"]} >= {"project_guid", "created_at", "codebook"}
        for doc_text, sha in back.conn.execute("SELECT text, sha256 FROM documents"):
            assert hashlib.sha256(doc_text.encode()).hexdigest() == sha
        # the same results from the server copy as from the file
        with rs.Project.open(tmp_path / "study.rsqda") as proj:
            for frame in ("segments", "cases", "codes", "documents"):
                assert getattr(proj, frame)().equals(getattr(server, frame)()), frame
            assert proj.framework_matrix().to_frame().equals(server.framework_matrix().to_frame())
            assert proj.coding_log().equals(server.coding_log())
    finally:
        original.close(), back.close(), server.close()


def test_push_and_pull_never_overwrite(tmp_path, pg_url):
    _rich_project(tmp_path / "study.rsqda").close()
    rs_push = CliRunner().invoke(main, ["push", str(tmp_path / "study.rsqda"), pg_url])
    assert rs_push.exit_code == 0
    again = CliRunner().invoke(main, ["push", str(tmp_path / "study.rsqda"), pg_url])
    assert again.exit_code == 2 and "already has a project" in again.output
    (tmp_path / "taken.rsqda").write_bytes(b"mine")
    pulled = CliRunner().invoke(main, ["pull", pg_url, str(tmp_path / "taken.rsqda")])
    assert pulled.exit_code == 2 and "already exists" in pulled.output
    assert (tmp_path / "taken.rsqda").read_bytes() == b"mine"


def test_project_api_on_the_server(pg_url):
    with rs.Project.create(pg_url, user="lead") as proj:
        assert len(proj.codes()) == 43
        proj.add_document(TEXT1, name="SU01", case="SU01")
        seg = proj.code("SU01", 60, 92, "risk/risk_assessment", coder="AB")
        assert proj.segments()[["code", "coder", "start", "end"]].values.tolist() == [
            ["risk/risk_assessment", "AB", 60, 92]]
        assert proj.segments()["text"].iloc[0] == TEXT1[60:92]
        proj.uncode(seg, coder="AB")
        assert len(proj.segments()) == 0
    with rs.Project.open(pg_url) as proj:
        assert proj.coding_log()["action"].tolist() == ["code", "uncode"]
        assert proj.path.name == pg_url.rsplit("=", 1)[1]


def test_missing_project_and_bad_url(pg_server):
    with pytest.raises(ProjectStoreError, match="has no project 'nosuch'.*recoverystudy push"):
        rs.Project.open(f"{pg_server}?project=nosuch")
    with pytest.raises(ProjectStoreError, match="project=NAME"):
        rs.Project.open(f"{pg_server}?project=Robert'); DROP")


def test_foreign_trigger_on_the_server_is_refused(pg_url):
    proj = rs.Project.create(pg_url, codebook=None)
    schema = proj.path.schema
    proj._store.conn.raw.execute(
        f"CREATE FUNCTION {schema}.wipe() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM {schema}.memos; "
        f"RETURN NEW; END $$; CREATE TRIGGER wipe AFTER INSERT ON {schema}.segments FOR EACH ROW EXECUTE FUNCTION "
        f"{schema}.wipe()")
    proj.close()
    with pytest.raises(ProjectStoreError, match="trigger 'wipe' that recoverystudy did not create"):
        rs.Project.open(pg_url)


def test_coding_log_is_append_only_on_the_server(pg_url):
    import psycopg

    with rs.Project.create(pg_url) as proj:
        proj.add_document(TEXT1, name="SU01")
        proj.code("SU01", 60, 92, "risk/risk_assessment", coder="AB")
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
            proj._store.conn.execute("DELETE FROM coding_log")


def test_concurrent_coders_never_lose_an_update(pg_url):
    with rs.Project.create(pg_url) as proj:
        proj.add_document(TEXT1, name="SU01", case="SU01")
    n_coders, per_coder = 6, 15
    errors = []

    def coder(k: int) -> None:
        try:
            with rs.Project.open(pg_url, user=f"coder{k}") as mine:
                for i in range(per_coder):
                    mine.code("SU01", i, i + 5 + k, "risk/risk_assessment", coder=f"coder{k}")
                    if i % 5 == 0:  # a batch too: ids come from MAX()+1 inside the locked transaction
                        mine.code_many(pd.DataFrame({"document": ["SU01"], "start": [100 + i], "end": [110 + i],
                                                     "code": ["care_planning_experience/involvement"]}),
                                       coder=f"coder{k}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=coder, args=(k,)) for k in range(n_coders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with rs.Project.open(pg_url) as proj:
        segs = proj.segments()
        assert len(segs) == n_coders * (per_coder + 3)
        assert segs.groupby("coder").size().tolist() == [per_coder + 3] * n_coders
        assert (proj.coding_log()["action"] == "code").sum() == n_coders * (per_coder + 3)
        assert segs["segment_id"].is_unique


def test_rename_of_a_code_changed_meanwhile_is_refused(pg_url):
    rs.Project.create(pg_url, user="lead").close()
    ana, ben = rs.Project.open(pg_url, user="ana"), rs.Project.open(pg_url, user="ben")
    try:
        ana.codes(), ben.codes()  # both load the codebook
        ana.rename_code("risk/risk_assessment", "Assessing risk", path="risk/assessing_risk")
        with pytest.raises(ConcurrentEditError) as info:
            ben.rename_code("risk/risk_assessment", "Risk talk")
        message = str(info.value)
        assert "was changed by someone else" in message
        assert "path 'risk/risk_assessment' -> 'risk/assessing_risk'" in message
        assert "name 'Risk assessment' -> 'Assessing risk'" in message
        assert message.startswith("The code 'risk/risk_assessment' (now 'risk/assessing_risk') was changed")
        assert ben.codes().set_index("path").loc["risk/assessing_risk", "name"] == "Assessing risk"
        stale = ana.code_version("risk/assessing_risk")  # e.g. the version a studio page was drawn with
        ben.rename_code("risk/assessing_risk", "Risk talk")  # after reloading, Ben's rename goes through
        assert stale != ana.code_version("risk/assessing_risk")
        with pytest.raises(ConcurrentEditError, match="name 'Assessing risk' -> 'Risk talk'"):
            ana.rename_code("risk/assessing_risk", "Again", expected_version=stale)
        assert ana.codes().set_index("path").loc["risk/assessing_risk", "name"] == "Risk talk"
    finally:
        ana.close(), ben.close()


def test_killed_client_leaves_no_half_applied_action(pg_url):
    with rs.Project.create(pg_url) as proj:
        proj.add_document(TEXT1, name="SU01")
    pid = os.fork()
    if pid == 0:  # a client killed in the middle of a two-row action
        try:
            mine = rs.Project.open(pg_url, user="AB")
            with mine._tx() as conn:
                conn.execute("INSERT INTO cases(guid, name, creator_id, created_at, modified_at)"
                             " VALUES ('G1', 'half', 1, 'now', 'now')")
                os.kill(os.getpid(), signal.SIGKILL)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    with rs.Project.open(pg_url) as proj:
        assert len(proj.cases()) == 0
        proj.add_case("whole")  # the project's write lock was released with the dead connection
        assert proj.cases()["case"].tolist() == ["whole"]


def test_same_results_from_file_and_server(tmp_path, pg_url):
    name = pg_url.rsplit("=", 1)[1]
    _rich_project(tmp_path / f"{name}.rsqda").close()  # same name, so exports carry the same project name
    CliRunner().invoke(main, ["push", str(tmp_path / f"{name}.rsqda"), pg_url])
    with rs.Project.open(tmp_path / f"{name}.rsqda") as f, rs.Project.open(pg_url) as s:
        f.export_qdpx(tmp_path / "file.qdpx")  # the same project exports byte for byte the same
        s.export_qdpx(tmp_path / "server.qdpx")
        for p in (f, s):  # the same writes on both sides (new GUIDs differ), then the same answers
            p.accept(p.suggestions()["suggestion_id"].tolist()[:2], coder="AB")
            p.add_documents(pd.DataFrame({"name": ["n1", "n2"], "text": ["SU03: waiting list again", "SU04: ok"],
                                          "case": ["SU03", "SU04"]}))
            p.code_many(pd.DataFrame({"document": ["n1", "n1"], "start": [6, 14], "end": [13, 24],
                                      "code": ["risk/risk_assessment", "care_plan_document/copy_and_ownership"]}),
                        coder="CD")
        assert f.agreement("AB", "CD").to_frame().equals(s.agreement("AB", "CD").to_frame())
        assert f.framework_matrix().to_frame().equals(s.framework_matrix().to_frame())
        assert f.framework_matrix().cell_text().equals(s.framework_matrix().cell_text())
        for frame in ("turns", "memos", "segments", "framework_versions"):
            assert getattr(f, frame)().equals(getattr(s, frame)()), frame
        # the same decisions, made a moment apart: only their time stamps may differ
        assert f.suggestions(None).drop(columns="decided_at").equals(s.suggestions(None).drop(columns="decided_at"))
        assert f.framework_snapshot(1).equals(s.framework_snapshot(1))

    with zipfile.ZipFile(tmp_path / "file.qdpx") as a, zipfile.ZipFile(tmp_path / "server.qdpx") as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        for member in a.namelist():
            x, y = a.read(member), b.read(member)
            if member == "project.qde":  # the export's own time stamp is the only difference allowed
                x, y = (re.sub(rb'(<Project [^>]*?modifiedDateTime=")[^"]*"', rb'\1"', v, count=1) for v in (x, y))
            assert x == y, member


def test_push_killed_at_random_moments_leaves_nothing_or_the_whole_project(tmp_path, pg_server):
    _rich_project(tmp_path / "study.rsqda").close()
    import time

    started = time.perf_counter()   # how long a whole push takes here, so the kills land before and during it
    CliRunner().invoke(main, ["push", str(tmp_path / "study.rsqda"), f"{pg_server}?project=killed_timing"])
    duration = time.perf_counter() - started
    outcomes = []
    for k in range(6):
        url = f"{pg_server}?project=killed{k}"
        pid = os.fork()
        if pid == 0:
            try:
                CliRunner().invoke(main, ["push", str(tmp_path / "study.rsqda"), url])
            finally:
                os._exit(0)
        time.sleep(duration * k / 5)   # from at once (nothing written yet) to the time a whole push takes
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        try:
            proj = rs.Project.open(url)
        except ProjectStoreError as exc:
            assert "has no project" in str(exc)
            outcomes.append("absent")
            CliRunner().invoke(main, ["push", str(tmp_path / "study.rsqda"), url])  # pushing again works
            proj = rs.Project.open(url)
        with proj:
            assert len(proj.segments()) == 5 and len(proj.documents()) == 2 and len(proj.codes()) == 45
        outcomes.append("whole")
    assert "absent" in outcomes


def test_reserved_project_names_are_refused():
    """The team server keeps its accounts in schema rs_server: a project may not be called 'server'."""
    from recoverystudy.qual.pgstore import ServerLocation

    with pytest.raises(ProjectStoreError, match="'server' is reserved"):
        ServerLocation.parse("postgresql://ana@localhost/db?project=server")
    assert ServerLocation.parse("postgresql://ana@localhost/db?project=servers").schema == "rs_servers"
