"""The audit rubric is data: loaded, validated, and errors name the file, criterion and problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import recoverystudy as rs
from recoverystudy.errors import RubricError

BUNDLED = Path(__file__).parent.parent / "codebooks" / "care-plan-audit.yaml"


def test_bundled_rubric():
    r = rs.load_rubric("care-plan-audit")
    assert len(r.criteria) == 19
    assert sorted(r.groups) == ["CPA-PS", "CPA-tool", "QS14", "Recovery", "ToC", "Wales"]
    assert {c.group for c in r.criteria} == set(r.groups)
    for c in r.criteria:
        assert c.question.endswith("?") and c.citation
        assert c.rules[0][0] in ("met", "not applicable")
    assert r.verified is False  # the evidence mapping is derived, and says so
    frame = r.to_frame()
    assert list(frame.columns[:4]) == ["criterion", "group", "question", "citation"]
    scoped = frame[frame["applies_to"] != ""]
    assert scoped[["criterion", "group", "applies_to"]].values.tolist() == [
        ["wales_eight_areas", "Wales", "country: Wales"]
    ]


def test_triangle_of_care_service_level_standards_are_recorded():
    """Triangle of Care standards 2, 4, 5 and 6 are about the service (reference s.1.2): the rubric
    and its schema document say so, and no criterion rates them per plan."""
    r = rs.load_rubric()
    notes = " ".join(r.notes.split())
    assert "Triangle of Care standards 2" in notes and "4 (defined posts" in notes
    assert "5 (a carer introduction" in notes and "6 (a range of carer support services)" in notes
    assert "not rated per plan" in notes
    assert "Standards 2, 4, 5 and 6 are service-level" in r.groups["ToC"]["citation"]
    toc = [c for c in r.criteria if c.group == "ToC"]
    assert [c.id for c in toc] == ["toc_carer_identified", "toc_carer_involved", "toc_information_sharing"]
    doc = (BUNDLED.parent.parent / "docs" / "audit-rubric-schema.md").read_text(encoding="utf-8")
    assert "standards 2, 4, 5 and 6" in " ".join(doc.split())


def _write(tmp_path, mutate) -> Path:
    data = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "my-rubric.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_a_trusts_copy_loads(tmp_path):
    path = _write(tmp_path, lambda d: d["criteria"].pop())
    assert len(rs.load_rubric(path).criteria) == 18


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (
            lambda d: d["criteria"][0]["rules"].update({"met": "no_such_evidence"}),
            "criterion 'qs14_joint_agreement', rule 'met': 'no_such_evidence' is not a defined evidence rule",
        ),
        (
            lambda d: d["criteria"][1]["rules"].update({"met": "__import__('os')"}),
            "criterion 'qs14_copy_given', rule 'met'",
        ),
        (lambda d: d["criteria"][2]["rules"].update({"met": "review_mention >= 1.5"}), "whole numbers"),
        (
            lambda d: d["criteria"][0].pop("question"),
            "criterion 'qs14_joint_agreement': 'question' is missing",
        ),
        (lambda d: d["criteria"][0]["rules"].update({"maybe": "review_mention"}), "rules may only be given"),
        (
            lambda d: d["criteria"].append(dict(d["criteria"][0])),
            "criterion 'qs14_joint_agreement' is defined twice",
        ),
        (lambda d: d["criteria"][0].update({"group": "NICE"}), "group 'NICE' is not one of"),
        (
            lambda d: d["evidence"]["coping"].update({"pattern": "what (helps"}),
            "evidence 'coping'.pattern: invalid regular expression",
        ),
        (
            lambda d: d["evidence"]["coping"].update({"sections": ["nowhere"]}),
            "unknown section kind(s) 'nowhere'",
        ),
        (lambda d: d["evidence"]["coping"].update({"pattern": "<<nope>>"}), "unknown macro <<nope>>"),
        (lambda d: d.update({"ratings": ["yes", "no"]}), "ratings must be exactly"),
        (lambda d: d.pop("criteria"), "'criteria' is missing"),
        # applies_to, coverage and headings (the Wales extensions)
        (
            lambda d: d["criteria"][-1].update({"applies_to": {"nation": ["Wales"]}}),
            "criterion 'wales_eight_areas': applies_to: unknown plan attribute 'nation'",
        ),
        (
            lambda d: d["criteria"][-1].update({"applies_to": {"country": []}}),
            "applies_to.country: expected a non-empty list of values",
        ),
        (lambda d: d["criteria"][-1].update({"applies_to": "Wales"}), "applies_to must map a plan attribute"),
        (
            lambda d: d["criteria"][-1].update({"applies-to": {"country": ["Wales"]}}),
            "criterion 'wales_eight_areas': unknown key(s) applies-to",
        ),
        (
            lambda d: d["evidence"]["life_areas"]["areas"].update(
                {"accommodation": ["outcome_about_housing"]}
            ),
            "evidence 'life_areas', area 'accommodation': 'outcome_about_housing' is not a defined evidence rule",
        ),
        (
            lambda d: d["evidence"]["life_areas"]["areas"].update({"finance and money": []}),
            "each area needs a name and a non-empty list",
        ),
        (lambda d: d["evidence"]["life_areas"].pop("areas"), "kind 'coverage' needs 'areas'"),
        (
            lambda d: d["evidence"]["coping"].update({"areas": {"x": ["coping"]}}),
            "'areas' is only used with kind 'coverage'",
        ),
        (lambda d: d.update({"headings": "finance"}), "headings must be a non-empty list"),
        (lambda d: d["headings"].append("finance (and"), "headings[9]: invalid regular expression"),
    ],
)
def test_invalid_rubrics_name_file_and_problem(tmp_path, mutate, fragment):
    path = _write(tmp_path, mutate)
    with pytest.raises(RubricError) as info:
        rs.load_rubric(path)
    assert str(path) in str(info.value)
    assert fragment in str(info.value)


def test_missing_rubric_and_bad_yaml(tmp_path):
    with pytest.raises(RubricError, match="No rubric named 'nope'"):
        rs.load_rubric("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("criteria: [unclosed", encoding="utf-8")
    with pytest.raises(RubricError, match="not valid YAML"):
        rs.load_rubric(bad)
