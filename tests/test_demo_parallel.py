"""The demo with worker processes writes the same report as in one process, under fork and spawn alike."""

from __future__ import annotations

import multiprocessing as mp
import re

import pytest

import recoverystudy as rs
from recoverystudy.report import demo_workers
from recoverystudy.report.demo import DEMO_STEPS, run_demo


def _docx_text(path):
    import docx

    doc = docx.Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    parts += [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def _outputs(out):
    """Every HTML and CSV file the demo wrote and the Word file's text, with the run time blanked."""
    files = {}
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.suffix in (".html", ".csv", ".docx"):
            text = _docx_text(path) if path.suffix == ".docx" else path.read_text(encoding="utf-8")
            files[str(path.relative_to(out))] = re.sub(r"generated in [0-9.]+ s", "generated in X s", text)
    return files


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    out = tmp_path_factory.mktemp("seq") / "out"
    result = run_demo(out, seed=2, scale=0.2, n_jobs=1)
    return result, _outputs(out), out


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_two_processes_write_the_same_report(one_process, tmp_path, method):
    if method not in mp.get_all_start_methods():
        pytest.skip(f"{method} is not available on this platform")
    seq, seq_files, _ = one_process
    assert seq.processes == 1
    steps = []
    par = run_demo(tmp_path / "out", seed=2, scale=0.2, n_jobs=2, start_method=method,
                   progress=lambda step, i, n: steps.append(step))
    par_files = _outputs(tmp_path / "out")
    assert par.processes == 3
    assert steps == list(DEMO_STEPS)              # progress still reported for every step, in order
    assert set(par.timings) == set(DEMO_STEPS)
    assert sorted(par_files) == sorted(seq_files) and len(seq_files) >= 30 and "report.docx" in seq_files
    for name, text in seq_files.items():
        assert par_files[name] == text, name     # byte-identical apart from the run time
    assert par.key_numbers["headlines"] == seq.key_numbers["headlines"]
    assert par.notes == seq.notes
    assert par.project_path == tmp_path / "out" / "project.rsqda" and par.project_path.is_file()


def test_an_error_in_the_second_process_surfaces_with_its_message(tmp_path):
    # spawn, the start method of macOS and Windows: the error is pickled back to this process
    (tmp_path / "project.rsqda").mkdir(parents=True)   # the project step cannot replace a folder
    with pytest.raises(IsADirectoryError, match="Is a directory: .*project.rsqda"):
        run_demo(tmp_path, seed=1, scale=0.2, n_jobs=2, start_method="spawn")


def test_one_cpu_runs_in_one_process(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_workers, "_usable_cpus", lambda: 1)
    assert demo_workers._demo_jobs(None) == 1
    monkeypatch.setattr(demo_workers, "_usable_cpus", lambda: 2)
    assert demo_workers._demo_jobs(None) == 2
    assert demo_workers._demo_jobs(1) == 1 and demo_workers._demo_jobs(8) == 2
    for bad in (0, -1, 1.5, True):
        with pytest.raises(rs.errors.RecoveryStudyError, match="n_jobs must be a whole number"):
            demo_workers._demo_jobs(bad)
    with pytest.raises(rs.errors.RecoveryStudyError, match="start_method 'threads' is not available"):
        run_demo(tmp_path, n_jobs=2, start_method="threads")


def test_workers_are_not_forked_while_another_thread_runs():
    """Forking beside a running thread (a notebook kernel, a progress bar) can copy a held lock: spawn then."""
    import multiprocessing as mp
    import threading

    from recoverystudy.report.demo_workers import _mp_context

    if "fork" not in mp.get_all_start_methods() or mp.get_all_start_methods()[0] != "fork":
        pytest.skip("this platform does not fork by default")
    assert _mp_context(None).get_start_method() == "fork"
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert _mp_context(None).get_start_method() == "spawn"
        assert _mp_context("fork").get_start_method() == "fork"  # asked for by name: as asked
    finally:
        stop.set()
        other.join()


def test_fewer_collections_restores_the_thresholds_after_an_error():
    import gc

    before = gc.get_threshold()
    with pytest.raises(ZeroDivisionError):
        with demo_workers._fewer_collections():
            assert gc.get_threshold() == (max(before[0], 10_000), before[1], before[2])
            1 / 0
    assert gc.get_threshold() == before


def test_a_worker_with_a_different_study_stops_the_run():
    """Workers generate their own copy of the study from the seed; a copy that differs must not be merged."""
    from recoverystudy.report.demo import DemoRun

    run = DemoRun.start(__import__("tempfile").mkdtemp(), seed=4, scale=0.2)
    run.study = rs.synthetic.six_site_study(seed=4, scale=0.2)
    same = demo_workers.study_digest(rs.synthetic.six_site_study(seed=4, scale=0.2))
    demo_workers.check_study(run, {"study_digest": same})          # the same study: merged
    demo_workers.check_study(run, {"study_digest": None})          # a worker given the study: nothing to check
    other = demo_workers.study_digest(rs.synthetic.six_site_study(seed=5, scale=0.2))
    with pytest.raises(rs.errors.RecoveryStudyError, match="generated a different synthetic study"):
        demo_workers.check_study(run, {"study_digest": other})
    changed = rs.synthetic.six_site_study(seed=4, scale=0.2)
    changed.interviews.loc[0, "text"] = changed.interviews.loc[0, "text"] + " "   # one character more
    assert demo_workers.study_digest(changed) != same


def test_the_demo_command_freezes_the_heap_before_exit(tmp_path):
    """At exit the interpreter's final collections skip a frozen heap (about 0.3 s of the demo's wall time)."""
    import gc

    from click.testing import CliRunner

    from recoverystudy.cli import main

    gc.unfreeze()
    try:
        result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "out"), "--scale", "0.2"])
        assert result.exit_code == 0, result.output
        assert "Finished in" in result.output and (tmp_path / "out" / "report.html").is_file()
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
