"""Tests for codebook loading and validation (recoverystudy/qual/codebook.py)."""

from __future__ import annotations

import copy

import pytest
import yaml

import recoverystudy as rs
from recoverystudy.errors import CodebookError
from recoverystudy.qual.codebook import codebook_from_dict

THEMES = ["recovery", "personalisation", "care_planning_experience", "care_plan_document", "risk", "carers",
          "relationship", "care_coordinator_role", "crisis"]


def test_bundled_framework():
    cb = rs.load_codebook("care-planning-framework")
    assert [t.id for t in cb.themes] == THEMES
    assert all(3 <= len(t.codes) <= 5 for t in cb.themes)
    assert cb.verified is False
    for code in cb.codes:
        assert code.definition and code.inclusion and code.exclusion and code.example
        assert code.keywords or code.lemmas, code.path
        assert code.colour and code.colour.startswith("#")
    kw = {k for c in cb.codes for k in c.keywords}
    for phrase in ("care plan", "copy of my care plan", "risk", "crisis", "carer", "my mum", "care coordinator",
                   "paperwork", "recovery", "goals"):
        assert phrase in kw


def test_list_codebooks_excludes_rubrics():
    listing = rs.list_codebooks()
    assert listing["name"].tolist() == ["care-planning-framework"]
    assert listing.loc[0, "n_themes"] == 9
    assert listing.loc[0, "n_codes"] == 34


def _raw():
    return yaml.safe_load(rs.load_codebook.__globals__["_bundled"]()["care-planning-framework"].read_text("utf-8"))


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda d: d["themes"][4]["codes"][1].pop("definition"),
         "themes[4] (risk).codes[1] (risk/risk_discussion).definition: is missing"),
        (lambda d: d["themes"][0]["codes"][0].update(defintion="x"), "themes[0] (recovery).codes[0]: unknown key"),
        (lambda d: d["themes"][1].update(id="Personal"), "themes[1].id: must be a lower-case identifier"),
        (lambda d: d["themes"][2]["codes"].append(copy.deepcopy(d["themes"][2]["codes"][0])), "is defined twice"),
        (lambda d: d["themes"][3].update(colour="red"), "themes[3] (care_plan_document).colour: must be '#RRGGBB'"),
        (lambda d: d["themes"][5]["codes"][0]["rules"].update(keywords="carer"), "rules.keywords: must be a list"),
        (lambda d: d.update(kind="rubric"), "kind: must be 'framework-codebook'"),
        (lambda d: d.pop("source"), "source: is missing"),
        (lambda d: d["themes"][6].update(codes=[]), "codes: must be a non-empty list"),
    ],
)
def test_validation_errors_name_the_path(mutate, where):
    data = _raw()
    mutate(data)
    with pytest.raises(CodebookError) as info:
        codebook_from_dict(data, file="cb.yaml")
    assert str(info.value).startswith("cb.yaml: ")
    assert where in str(info.value)
    assert info.value.file == "cb.yaml"


def test_load_from_path_and_errors(tmp_path):
    good = tmp_path / "mine.yaml"
    data = _raw()
    data["themes"] = data["themes"][:1]
    good.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert len(rs.load_codebook(good).themes) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(CodebookError, match="bad.yaml: line"):
        rs.load_codebook(bad)
    with pytest.raises(CodebookError, match="Bundled codebooks: care-planning-framework"):
        rs.load_codebook("no-such-codebook")
