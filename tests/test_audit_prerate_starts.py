"""The literal-start search of the evidence matchers gives exactly what the engine's own scan gave.

``prerate._iter_starts`` tries a rule's pattern only where one of its literal starts occurs (found with
``str.find``) instead of letting the regular-expression engine scan every position.  These tests run
every evidence, name and date matcher both ways - with the literal starts, and with them removed
(the matcher as it was before) - and require identical matches (offsets and groups), then identical
pre-ratings (ratings, rules, evidence offsets, counts, coverage) for the test plans, the synthetic
study's plans (English and Welsh) and edge cases: overlapping matches, negated evidence, matches
cut by a section boundary, upper case, and Unicode letters whose lower case has another length.
"""

from __future__ import annotations

import random
import re
from re import _parser as sre_parse
from pathlib import Path

import pytest

import recoverystudy as rs
from recoverystudy.audit import prerate
from recoverystudy.audit.inputs import collect_plans
from recoverystudy.audit._matcher import _starts
from recoverystudy.audit.prerate import _compiled, _Matcher, prerate_text

DATA = Path(__file__).parent / "data" / "care_plans"
RUBRIC = rs.load_rubric()
COUNTRY = rs.read_plan_metadata(DATA / "_expected" / "teams.csv", "country")

EDGE = [
    # overlapping candidates of one rule ("my mum" inside a match of "my mum, Jane"), two parts merged
    "Carer: Jane\nMy mum Jane will help. My mother, Ann, attended the review. (my sister) came too.\n",
    # negation: the evidence is shown, never counted
    "Crisis plan\nNo crisis plan has been agreed. I did not write this plan with my worker.\n"
    "The plan was not discussed with me. I do not have a carer.\n",
    # upper case and mixed case; a literal start cut by the end of the text
    "MY DAD WILL HELP ME. I WANT TO WORK. I'D LIKE A FLAT. CARER: NONE\nSigned: J. Smith\nI wa",
    # Unicode letters whose lower case is longer (exact mode) and ones that keep their length
    "\u0130stanbul trip: I want to see my brother \u0130brahim. My sister Zo\u00eb will call 07700 900123.\n",
    "Outcomes\nWork and occupation: I want a part-time job.\nAccommodation: N/A\n"
    "Social: I would like to join the choir at chapel.\nHow I will stay well: my partner Dai knows.\n",
    "Review date: 01/02/2026\nDate of plan: 3rd of March 2025\nreview 2024-13-40\n",
    "",
    "I",
    "my",
]


def _plans() -> list[tuple[str, dict | None]]:
    out: list[tuple[str, dict | None]] = []
    plans, _skipped = collect_plans(DATA)  # every readable test plan, in every format
    for plan_id, text in zip(plans["plan_id"], plans["text"]):
        out.append((text, {"country": COUNTRY.get(plan_id, "England")}))
    study = rs.synthetic.six_site_study(seed=0)
    for text, country, team in zip(study.care_plans["text"], study.care_plans["country"], study.care_plans["team"]):
        out.append((text, {"country": country, "team": team}))
    out.extend((t, {"country": "Wales"}) for t in EDGE)
    out.extend((t, None) for t in EDGE)
    return out


PLANS = _plans()


def _without_starts(m: _Matcher) -> _Matcher:
    old = object.__new__(_Matcher)
    old.parts = [p[:4] + (None,) for p in m.parts]
    return old


def _matchers():
    comp = _compiled(RUBRIC)
    for group in (comp.matchers, comp.name_matchers, comp.date_matchers):
        yield from group.items()


def _mutations(text: str, rng: random.Random) -> list[str]:
    """The text, upper-cased, and with sentences shuffled (new neighbours for every match)."""
    sentences = text.replace("\n", ".\n").split(".")
    rng.shuffle(sentences)
    return [text, text.upper(), ".".join(sentences)]


def test_literal_starts_are_used():
    comp = _compiled(RUBRIC)
    with_starts = [name for name, m in comp.matchers.items() if any(p[4] for p in m.parts)]
    # the slow alternations of words now go through the literal starts
    assert {"carer_named", "agreed_with_person", "personal_goal", "carer_took_part"} <= set(with_starts)
    part = next(p for p in comp.matchers["carer_named"].parts if p[1] is None)
    assert {"my", "his", "her", "their"} <= set(part[4])


def test_every_matcher_gives_the_engines_matches():
    rng = random.Random(20)
    n_matches = 0
    for text, _attrs in PLANS:
        for variant in _mutations(text, rng):
            low = variant.lower()
            if len(low) != len(variant):
                continue  # exact mode: the original patterns run unchanged
            bounds = [(0, len(variant))]
            if len(variant) > 20:
                a = rng.randrange(len(variant) // 2)
                bounds.append((a, rng.randrange(a, len(variant))))  # a section cuts matches
            for name, m in _matchers():
                old = _without_starts(m)
                for s, e in bounds:
                    got = [(x.span(), x.groupdict()) for x in m.finditer(variant, low, s, e)]
                    want = [(x.span(), x.groupdict()) for x in old.finditer(variant, low, s, e)]
                    assert got == want, (name, variant[:60], s, e)
                    n_matches += len(got)
    assert n_matches > 5000  # the comparison saw real matches, not empty lists


def test_prerating_is_identical(monkeypatch):
    new = [prerate_text(text, RUBRIC, attrs) for text, attrs in PLANS]
    comp = _compiled(RUBRIC)
    old_comp = object.__new__(type(comp))
    old_comp.__dict__.update(comp.__dict__)
    old_comp.matchers = {k: _without_starts(m) for k, m in comp.matchers.items()}
    old_comp.name_matchers = {k: _without_starts(m) for k, m in comp.name_matchers.items()}
    old_comp.date_matchers = {k: _without_starts(m) for k, m in comp.date_matchers.items()}
    monkeypatch.setitem(prerate._COMPILED, id(RUBRIC), old_comp)
    old = [prerate_text(text, RUBRIC, attrs) for text, attrs in PLANS]
    assert len(new) == len(PLANS) > 80
    for (text, attrs), a, b in zip(PLANS, new, old):
        ratings, rules, evidence, counts, coverage = a
        assert (ratings, rules, evidence, dict(counts), coverage) == (b[0], b[1], b[2], dict(b[3]), b[4]), text[:80]
        assert counts.negated == b[3].negated
    ratings = [r for a in new for r in a[0]]
    assert {"met", "partly met", "not evidenced", "not applicable"} <= set(ratings)
    assert any(a[3].negated for a in new)  # negated evidence was compared too
    wales = RUBRIC.criterion_ids.index("wales_eight_areas")
    assert sum(a[0][wales] != "not applicable" for a in new) >= 10  # Welsh plans rated on their text


@pytest.mark.parametrize("pattern, text", [
    (r"\b(?:my|his) (?:mum|dad)\b|\bmy\b", "my mum and his dad, my dad. mymum"),
    (r"(?:ab|a)(?:b|c)", "abc ac abbc"),
    (r"^(?:me|you)\s*:", "me: x\nyou : y\nnot me: you:"),
    (r"\b(?:has )?agreed (?:this|the) plan\b|agreed", "he has agreed the plan; agreed this plan. has agreed"),
    (r"(?:\+44[\s\-]?|\(?0)(?:[\s\-()]{0,2}\d){9,10}(?!\d)|@|\btel\b", "tel (01234) 567890 or +44 7700 900123 x@y 0123456789012"),
    (r"[ab]x|c*d|(?:e|)f", "axbx ccd d cd ef f eef"),
])
def test_iter_starts_equals_finditer_on_constructed_patterns(pattern, text):
    m = _Matcher(re.compile(pattern, re.IGNORECASE | re.MULTILINE))
    low = text.lower()
    assert any(p[4] for p in m.parts)
    for s in range(len(text)):
        for e in range(s, len(text) + 1):
            got = [x.span() for x in m.finditer(text, low, s, e)]
            want = [x.span() for x in _without_starts(m).finditer(text, low, s, e)]
            assert got == want, (s, e)


@pytest.mark.parametrize("pattern, starts", [
    (r"(?:has )?agreed", {"has ", "agreed"}),
    (r"\(?0\d", {"(", "0"}),
    (r"(?:a|)b", {"ab", "b"}),
    (r"\b(?:my|his)\s+mum", {"my", "his"}),
    (r"\((?:my |his )?(?:mum|dad)\)", {"("}),  # the first literal run only: fewer look-ups
    (r"[ab]x|c*d", {"ax", "bx", "c", "d"}),
    (r"\w+x", None),  # may start with any letter
    (r"a?", None),  # may match the empty string
    (r"(?=a)ab", None),  # a look-ahead is not understood
    (r"[ \t]*me", None),  # a space is too common a start to be worth it
])
def test_literal_starts_of_patterns(pattern, starts):
    got = _starts(re.compile(pattern), sre_parse)
    assert (set(got) if got is not None else None) == starts
