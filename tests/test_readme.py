"""The README's commands are the ones CI runs, and its Python example works as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.S)


def test_readme_opens_with_a_virtual_environment_then_the_two_commands():
    (lang0, venv), (lang1, demo), (lang2, tests) = BLOCKS[:3]
    assert lang0 == lang1 == lang2 == "bash"
    assert venv.strip() == "python3 -m venv .venv && source .venv/bin/activate"
    assert demo.strip() == 'python -m pip install ".[notebooks]" && python -m recoverystudy demo --out demo-report'
    assert tests.strip() == 'python -m pip install -e ".[test]" && python -m pytest'


def test_ci_runs_exactly_the_readme_commands():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    for lang, block in BLOCKS[:3]:
        assert block.strip() in ci


def test_python_example_runs(tmp_path, monkeypatch):
    import warnings

    import recoverystudy as rs

    code = next(block for lang, block in BLOCKS if lang == "python")
    rs.synthetic.six_site_study(seed=0, scale=0.3).write(tmp_path)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.errors.RecoveryStudyWarning)
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["result"].omnibus["test"].iloc[0] == "welch_anova"
    assert namespace["result"].omnibus["n"].iloc[0] == namespace["rsa"].scores["rsa_person_total"].notna().sum()
