"""Same results (issue 17): the demo study's Framework Method project gives the same framework matrix,
agreement and QDPX export whether it lives in a SQLite file or on PostgreSQL (moved with push and back
with pull).  Skips outside CI without PostgreSQL's server binaries; fails under CI=true.
"""

from __future__ import annotations

import re
import shutil
import uuid
import zipfile

from click.testing import CliRunner
from pg_fixtures import pg_server  # noqa: F401  (fixture)

import recoverystudy as rs
from recoverystudy.cli import main
from recoverystudy.report import demo


def _qdpx_members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        out = {m: z.read(m) for m in z.namelist()}
    # the export's own time stamp is the only difference allowed
    out["project.qde"] = re.sub(rb'(<Project [^>]*?modifiedDateTime=")[^"]*"', rb'\1"', out["project.qde"], count=1)
    return out


def test_demo_project_same_results_in_sqlite_and_postgresql(tmp_path, pg_server):
    run = demo.DemoRun.start(tmp_path / "demo", seed=0, scale=0.2)
    demo.generate_study(run)
    demo.framework_project(run)
    name = f"demo{uuid.uuid4().hex[:8]}"
    local = tmp_path / f"{name}.rsqda"  # same name as the server project, so the exports name it alike
    shutil.copy(run.project_path, local)
    url = f"{pg_server}?project={name}"
    result = CliRunner().invoke(main, ["push", str(local), url])
    assert result.exit_code == 0, result.output
    back = tmp_path / "back" / f"{name}.rsqda"
    back.parent.mkdir()
    assert CliRunner().invoke(main, ["pull", url, str(back)]).exit_code == 0
    with rs.Project.open(local) as f, rs.Project.open(url) as s, rs.Project.open(back) as b:
        coders = sorted(f.segments()["coder"].unique())
        assert len(coders) >= 2 and len(f.segments()) > 100
        for other in (s, b):
            assert f.framework_matrix().to_frame().equals(other.framework_matrix().to_frame())
            assert f.framework_matrix().cell_text().equals(other.framework_matrix().cell_text())
            assert f.agreement(coders[0], coders[1]).to_frame().equals(other.agreement(coders[0], coders[1]).to_frame())
            assert f.segments().equals(other.segments())
        f.export_qdpx(tmp_path / "file.qdpx")
        s.export_qdpx(tmp_path / "server.qdpx")
        b.export_qdpx(tmp_path / "back.qdpx")
    file_x = _qdpx_members(tmp_path / "file.qdpx")
    assert _qdpx_members(tmp_path / "server.qdpx") == file_x
    assert _qdpx_members(tmp_path / "back.qdpx") == file_x
