"""Codebook renames with optimistic concurrency on a project file (two open Project objects)."""

from __future__ import annotations

import pytest

import recoverystudy as rs
from recoverystudy.errors import CodebookError, ConcurrentEditError


def test_rename_refuses_a_code_changed_by_another_session(tmp_path):
    path = tmp_path / "p.rsqda"
    rs.Project.create(path).close()
    with rs.Project.open(path, user="ana") as ana, rs.Project.open(path, user="ben") as ben:
        ana.codes(), ben.codes()
        ben.rename_code("crisis/crisis_plan", "Crisis and contingency plan")
        with pytest.raises(ConcurrentEditError) as info:
            ana.rename_code("crisis/crisis_plan", path="crisis/contingency_plan")
        assert "name 'Crisis and contingency plans' -> 'Crisis and contingency plan'" in str(info.value)
        assert info.value.code_path == "crisis/crisis_plan"
        codes = ana.codes().set_index("path")
        assert codes.loc["crisis/crisis_plan", "name"] == "Crisis and contingency plan"  # Ben's change kept
        ana.rename_code("crisis/crisis_plan", path="crisis/contingency_plan")  # after reloading: accepted
        assert "crisis/contingency_plan" in ben.codes()["path"].tolist()


def test_renaming_a_theme_moves_its_codes_and_keeps_the_coding(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda") as proj:
        proj.add_document("SU01: I was never at risk", name="d")
        proj.code("d", 6, 24, "risk/risk_assessment", coder="AB")
        proj.rename_code("risk", "Risk and safety", path="safety")
        paths = proj.codes()["path"].tolist()
        assert "safety/risk_assessment" in paths and not any(p.startswith("risk") for p in paths)
        assert proj.segments()["code"].tolist() == ["safety/risk_assessment"]
        with pytest.raises(CodebookError, match="same theme"):
            proj.rename_code("safety/risk_assessment", path="crisis/risk_assessment")
        with pytest.raises(CodebookError, match="already exists"):
            proj.rename_code("safety/risk_assessment", path="safety/risk_discussion")
