"""Issue 20: what the batch rating finds for a whole batch of plans at once is what each plan's own scan finds.

``prerate_batch`` looks up the evidence rules' literals (``_LiteralIndex``), the sentence bounds and the
lines that may hold a heading (``LineIndex``) for a whole batch with numpy, follows literal starts
through optional parts and alternatives (``_long_starts``) and counts a compared piece of evidence
only as far as the rules compare it.  These tests hold each of those to the per-plan path it replaces -
matches, offsets, ratings, evidence and coverage - on the test plans, the synthetic study's plans, edge
cases (upper case, Unicode letters whose lower case is longer, curly quotes, empty plans) and the same
plans shuffled, upper-cased and cut by section boundaries.
"""

from __future__ import annotations

import random
import re
from re import _parser as sre_parse

import pytest

import recoverystudy as rs
from recoverystudy.audit import prerate, sections
from recoverystudy.audit._matcher import PlanLiterals, _LiteralIndex, _long_starts
from recoverystudy.audit.prerate import _compiled, prerate_batch, prerate_text, rubric_comparison_caps

from test_audit_prerate_starts import PLANS

RUBRIC = rs.load_rubric()
EXTRA = [
    "", "A.", "x\n", "\n\nHello world\n", "Wow!\u201d Then. \u2018Hi\u2019)? \u00a0x", "Wait.)\u2028z end.",
    "Head: \r\nShort line\r\n  # md heading\n\tIndented: yes\nA line that is rather long and has no colon at all in it ok\n",
    "My goals\n- to work\n1. Crisis plan:\n**Carer:** Jane\nSection 4: Risk\n",
]


def _variants() -> list[str]:
    rng = random.Random(20)
    texts = [t for t, _ in PLANS] + EXTRA
    out = list(texts)
    for t in texts[::3]:
        out.append(t.upper())
        lines = t.split("\n")
        rng.shuffle(lines)
        out.append("\n".join(lines))
        sentences = t.replace("\n", ".\n").split(".")
        rng.shuffle(sentences)
        out.append(".".join(sentences))
    return out


TEXTS = _variants()


@pytest.mark.parametrize("batch", ["all", "ascii", "every 7th"])
def test_line_index_equals_the_regular_expressions(batch):
    texts = {"all": TEXTS, "ascii": [t for t in TEXTS if t.isascii()], "every 7th": TEXTS[::7]}[batch]
    assert any(not t.isascii() for t in TEXTS) and len(texts) > 25
    index = sections.LineIndex(texts)
    n_heads = 0
    for k, text in enumerate(texts):
        bounds, head_lines = index.lines(k)
        assert bounds == [m.end() for m in sections._BOUND.finditer(text)], text[:60]
        heads = [m.start() for m in sections._HEAD.finditer(text)]
        assert set(heads) <= set(head_lines), text[:60]  # every heading line is tried
        n_heads += len(heads)
        layout = sections.PlanLayout(text, RUBRIC.sections, RUBRIC.headings, text.lower(), (bounds, head_lines))
        plain = sections.PlanLayout(text, RUBRIC.sections, RUBRIC.headings, text.lower())
        assert layout.to_frame().equals(plain.to_frame())
        assert (layout._labels, layout._field_lines) == (plain._labels, plain._field_lines)
    assert n_heads > 100


def test_literal_index_gives_each_matchers_matches():
    comp = _compiled(RUBRIC)
    rng = random.Random(7)
    lows = [t.lower() for t in TEXTS]
    index = _LiteralIndex(lows, *comp.batch_keys, TEXTS)
    n = n_verified = 0
    for k, (text, low) in enumerate(zip(TEXTS, lows)):
        if len(low) != len(text):
            continue  # exact mode: the batch positions are never asked for
        lits = PlanLiterals(index, k, text.isascii())
        bounds = [(0, len(text))]
        if len(text) > 20:
            a = rng.randrange(len(text) // 2)
            bounds.append((a, rng.randrange(a, len(text))))
        for group in (comp.matchers, comp.name_matchers, comp.date_matchers):
            for name, m in group.items():
                for s, e in bounds:
                    got = [(x.span(), x.groupdict()) for x in m.finditer(text, low, s, e, lits)]
                    want = [(x.span(), x.groupdict()) for x in m.finditer(text, low, s, e)]
                    assert got == want, (name, text[:60], s, e)
                    n += len(got)
                    if name in ("person_actions", "crisis_person"):  # verified parts tried at capitals
                        n_verified += len(got)
    assert n > 5000 and n_verified > 200
    # "I will", "I'll", or a capitalised word at a word start: (?-i:\b[A-Z][a-z]+) (?:will|to) ...
    assert comp.matchers["person_actions"].parts[0][6] == (("i will", "i'll"), ((((65, 90),), True, ((97, 122),)),))


def test_batch_rating_equals_plan_by_plan(monkeypatch):
    attrs = [a for _, a in PLANS] + [{"country": "Wales"}] * (len(TEXTS) - len(PLANS))
    batch = prerate_batch(TEXTS, RUBRIC, attrs)
    assert len(batch) == len(TEXTS)
    for text, a, got in zip(TEXTS, attrs, batch):
        ratings, rules, evidence, _counts, coverage = prerate_text(text, RUBRIC, a)
        assert got == (ratings, rules, evidence, coverage), text[:60]
    # in chunks of any size too, and when long plans split a batch into several look-ups
    assert prerate_batch(TEXTS[:7], RUBRIC, attrs[:7]) == batch[:7]
    monkeypatch.setattr(prerate, "_BATCH_CHARS", 3000)
    assert prerate_batch(TEXTS, RUBRIC, attrs) == batch
    assert {r for got in batch for r in got[0]} >= {"met", "partly met", "not evidenced", "not applicable"}


@pytest.mark.parametrize("pattern, starts", [
    (r"(?:do|does|did)(?: not|n't) have", {"do not h", "don't ha", "does not", "doesn't ", "did not ", "didn't h"}),
    (r"(?:a|)b", {"ab", "b"}),
    (r"\((?:my |his )?(?:mum|dad)\)", {"(my mum)", "(my dad)", "(his mum", "(his dad", "(mum)", "(dad)"}),
    (r"to (?:help|support)\b|will ", {"to help", "to suppo", "will "}),
    (r"care co-?ordinator", {"care co-", "care coo"}),  # an optional character: both ways on
    (r"\w+x", None),
    (r"[ \t]*me", None),
])
def test_long_literal_starts(pattern, starts):
    got = _long_starts(re.compile(pattern), sre_parse)
    assert (set(got) if got is not None else None) == starts


def test_comparison_caps():
    caps = rubric_comparison_caps(RUBRIC)
    assert caps == {"first_person": 4, "warning_signs": 3, "life_areas": 2}
