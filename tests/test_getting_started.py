"""The getting-started guide is correct word for word: its terminal commands run in a fresh folder.

The set-up lines (``python3 -m venv .venv``, ``source .venv/bin/activate``, ``python -m pip install ...``)
are the README's quick start, which CI (``.ci/run``) runs exactly on a clean clone; they are not repeated
here.  Every other command of the guide runs in a new folder, with ``python``/``python3`` meaning this
Python and ``recoverystudy`` the installed command, and must exit 0 and produce what the guide says.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "getting-started-guide.md").read_text(encoding="utf-8")
SETUP = re.compile(r"^(python3? -m venv|source \.venv|python -m pip install|py )")
INTERACTIVE = ("python -m jupyterlab",)


def guide_commands() -> list[str]:
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", GUIDE, flags=re.S):
        for line in block.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line and not SETUP.match(line) and line not in INTERACTIVE:
                commands.append(line)
    return commands


def test_guide_lists_the_expected_commands():
    cmds = guide_commands()
    assert "python -m recoverystudy demo --out demo-report" in cmds
    assert any(c.startswith("recoverystudy score six-site-data/") for c in cmds)
    assert "ls pyproject.toml README.md" in cmds


@pytest.mark.slow
def test_guide_commands_run_in_a_fresh_folder(tmp_path):
    shims = tmp_path / "bin"
    shims.mkdir()
    for name, target in (("python", sys.executable), ("python3", sys.executable)):
        (shims / name).write_text(f'#!/bin/sh\nexec "{target}" "$@"\n')
    (shims / "recoverystudy").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m recoverystudy "$@"\n')
    for f in shims.iterdir():
        f.chmod(0o755)
    work = tmp_path / "fresh"
    work.mkdir()
    env = dict(os.environ, PATH=f"{shims}{os.pathsep}{os.environ['PATH']}",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    for cmd in guide_commands():
        cwd = ROOT if cmd.startswith("ls ") else work   # 'ls pyproject.toml' is run in the downloaded folder
        proc = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{cmd!r} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        if cmd == "recoverystudy --version":
            assert re.match(r"recoverystudy \d+\.\d+", proc.stdout)
    assert (work / "demo-report" / "report.html").is_file()
    assert (work / "wai-scores.csv").is_file()
    for name in ("report.html", "tables"):
        assert f"`{name}" in GUIDE   # the guide names what the demo writes
