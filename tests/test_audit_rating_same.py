"""Issue 20: the fast rating path rates exactly as the slower one did.

``tests/data/audit_golden/ratings.json`` holds, for a varied set of plans, a digest of every frame
``audit_care_plans`` returned with the code as it was before the rating path was reworked for speed
(commit 09f693d): per plan, the SHA-256 of its pre-ratings (criterion, group, rating, rule), its
evidence rows (criterion, evidence name, offsets, in order), its coverage rows and its row in
``audit.plans``; and of the whole frames (columns, dtypes, values, order) and of the provenance (all but
the worker process ids).  The plans: every readable test plan (all formats), the synthetic six-site
study's plans, plans with planted identifiers, edge cases (upper case, Unicode letters whose lower case
is longer, negations, empty sections) and 300 plans built here as ``bench_audit`` builds them
(paragraphs of several test plans mixed, people renamed, dates and numbers drawn afresh, note-taker
initials), some Welsh.  The same audit now - in this process, and with two worker processes started by
``spawn`` - must give the same digests.  Regenerate (only when the rating is meant to change) with
``python tests/test_audit_rating_same.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import recoverystudy as rs
from recoverystudy.audit.inputs import collect_plans
from recoverystudy.synthetic.identifiers import identifier_plans

DATA = Path(__file__).parent / "data" / "care_plans"
GOLDEN = Path(__file__).parent / "data" / "audit_golden" / "ratings.json"

EDGE = [
    "Carer: Jane\nMy mum Jane will help. My mother, Ann, attended the review. (my sister) came too.\n",
    "Crisis plan\nNo crisis plan has been agreed. I did not write this plan with my worker.\n"
    "The plan was not discussed with me. I do not have a carer.\n",
    "MY DAD WILL HELP ME. I WANT TO WORK. I'D LIKE A FLAT. CARER: NONE\nSigned: J. Smith\nI wa",
    "\u0130stanbul trip: I want to see my brother \u0130brahim. My sister Zo\u00eb will call 07700 900123.\n",
    "Outcomes\nWork and occupation: I want a part-time job.\nAccommodation: N/A\n"
    "Social: I would like to join the choir at chapel.\nHow I will stay well: my partner Dai knows.\n",
    "Review date: 01/02/2026\nDate of plan: 3rd of March 2025\nreview 2024-13-40\n",
    "# My goals\n\n## Crisis\nWarning signs:\n- not sleeping\n- not eating\n- hearing voices\n\nSection 4: Risk\n",
    "I",
    "my",
    "Crisis plan\r\nIf I feel unwell I will ring my care coordinator.\r\nReview date: 12.03.25\r\n",
]

_FIRST = "Chloe Tom Jane Aisha Gethin Priya Oliver Siobhan Kwame Dafydd Fatima Liam Niamh Ravi Ewa Rhiannon".split()
_SURNAME = "Smith Patel Jones Evans Khan Begum Okafor Nowak Kaur Murphy Lloyd Mensah Ali Parry".split()
_CAPITAL = re.compile(r"(?<=[a-z,;] )([A-Z][a-z]{2,})\b")
_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b")
_SENTENCE_END = re.compile(r"(?<=[a-z])\.(?=\s|$)")


def _sources() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(DATA.glob("plan_*")) if p.suffix in (".txt", ".md")]


def bench_style_plans(n: int, seed: int = 20) -> list[str]:
    """*n* plans of mixed paragraphs, renamed people, fresh dates, initials after some sentences."""
    rng = random.Random(seed)
    sources = _sources()
    words = set(re.findall(r"\b[a-z]+\b", "\n".join(sources)))
    names = sorted({m.group(1) for s in sources for m in _CAPITAL.finditer(s)} - {w.title() for w in words})
    name_rx = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b")
    paras = [[p for p in s.split("\n\n") if p.strip()] for s in sources]
    out = []
    for _ in range(n):
        blocks = list(rng.choice(paras))
        while sum(map(len, blocks)) < 1800:
            blocks.insert(rng.randint(1, len(blocks)), rng.choice(rng.choice(paras)))
        body = "\n\n".join(blocks)
        mapping = {name: rng.choice(_FIRST + _SURNAME) for name in names}
        body = name_rx.sub(lambda m: mapping[m.group(1)], body)
        body = _DATE.sub(lambda m: f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(2023, 2026)}", body)
        body = _SENTENCE_END.sub(
            lambda m: f" ({rng.choice('ABCJKLMS')}{rng.choice('ABCJKLMS')} {rng.randint(1, 28):02d}/0{rng.randint(1, 9)})."
            if rng.random() < 0.5 else ".", body)
        if rng.random() < 0.05:
            body = body.upper()
        elif rng.random() < 0.03:
            body = body.replace("I ", "\u0130 ", 1)  # lower case one character longer: exact mode
        out.append(body[:2600])
    return out


def make_plans() -> pd.DataFrame:
    plans, _ = collect_plans(DATA)
    country = rs.read_plan_metadata(DATA / "_expected" / "teams.csv", "country")
    frames = [pd.DataFrame({"plan_id": plans["plan_id"], "text": plans["text"],
                            "team": ["North", "South"][0:1] * len(plans),
                            "country": [country.get(p, "England") for p in plans["plan_id"]]})]
    study = rs.synthetic.six_site_study(seed=0).care_plans
    frames.append(pd.DataFrame({"plan_id": "study-" + study["plan_id"].astype(str), "text": study["text"],
                                "team": study["team"], "country": study["country"]}))
    planted, _ = identifier_plans(n_plans=20, seed=20, same_sentence=True)
    frames.append(pd.DataFrame({"plan_id": "id-" + planted["plan_id"].astype(str), "text": planted["text"],
                                "team": "East", "country": "England"}))
    frames.append(pd.DataFrame({"plan_id": [f"edge-{i}" for i in range(2 * len(EDGE))], "text": EDGE + EDGE,
                                "team": "West", "country": ["Wales"] * len(EDGE) + [None] * len(EDGE)}))
    bench = bench_style_plans(300)
    frames.append(pd.DataFrame({"plan_id": [f"bench-{i:03d}" for i in range(len(bench))], "text": bench,
                                "team": [f"T{i % 7}" for i in range(len(bench))],
                                "country": ["Wales" if i % 4 == 0 else "England" for i in range(len(bench))]}))
    return pd.concat(frames, ignore_index=True)


def _h(obj) -> str:
    return hashlib.sha256(json.dumps(obj, default=str, ensure_ascii=True).encode()).hexdigest()[:24]


def _frame_digest(frame: pd.DataFrame) -> str:
    return _h([list(frame.columns), [str(t) for t in frame.dtypes], frame.astype(object).where(frame.notna(), None)
               .to_numpy().tolist()])


def digests(audit) -> dict:
    """Per plan and whole-frame digests of everything the audit returned."""
    per_plan: dict[str, list[str]] = {}
    by = {name: {k: g.drop(columns="plan_id") for k, g in frame.groupby("plan_id", sort=False)}
          for name, frame in (("prerated", audit.prerated), ("evidence", audit.evidence),
                              ("coverage", audit.coverage), ("plans", audit.plans))}
    for plan in audit.plans["plan_id"]:
        per_plan[plan] = [_frame_digest(by[name][plan]) if plan in by[name] else "-" for name in by]
    prov = {k: v for k, v in audit.provenance.items() if k not in ("workers", "n_jobs")}
    return {
        "per_plan": per_plan,
        "frames": {name: _frame_digest(getattr(audit, name))
                   for name in ("prerated", "evidence", "coverage", "plans", "skipped")},
        "provenance": _h(prov),
        "n_evidence": len(audit.evidence),
        "ratings": audit.prerated["rating"].value_counts().sort_index().to_dict(),
    }


PLANS = make_plans()


def _compare(got: dict, want: dict) -> None:
    bad = [p for p in want["per_plan"] if got["per_plan"].get(p) != want["per_plan"][p]]
    kinds = ["prerated", "evidence", "coverage", "plans"]
    detail = [(p, [k for k, a, b in zip(kinds, got["per_plan"].get(p, ["?"] * 4), want["per_plan"][p]) if a != b])
              for p in bad[:5]]
    assert not bad, f"{len(bad)} plans rated differently, e.g. {detail}"
    assert set(got["per_plan"]) == set(want["per_plan"])
    assert got == want


def test_golden_set_is_varied():
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert len(want["per_plan"]) == len(PLANS) > 400
    assert set(want["ratings"]) == {"met", "partly met", "not evidenced", "not applicable"}
    assert want["n_evidence"] > 10_000
    bench = pd.Series(bench_style_plans(300)).str.split("\n").explode()
    bench = bench[bench.str.len() > 40]
    assert bench.nunique() / len(bench) > 0.6  # mostly different lines, as in real plans


def test_rating_in_this_process_is_unchanged():
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    _compare(digests(rs.audit_care_plans(PLANS)), want)


def test_rating_with_two_spawned_workers_is_unchanged():
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    audit = rs.audit_care_plans(PLANS, n_jobs=2, start_method="spawn")
    workers = audit.provenance["workers"]
    assert workers["start_method"] == "spawn" and len(workers["pids"]) == 2 and os.getpid() not in workers["pids"]
    _compare(digests(audit), want)


if __name__ == "__main__":  # regenerate the digests (only when the rating is meant to change)
    GOLDEN.write_text(json.dumps(digests(rs.audit_care_plans(PLANS)), indent=0, sort_keys=True) + "\n",
                      encoding="utf-8")
    print(f"wrote {GOLDEN} ({len(PLANS)} plans)", file=sys.stderr)
