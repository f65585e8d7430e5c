"""Parallel audit under every start method, and rubric rules compiled once (no eval per plan)."""

from __future__ import annotations

import os
import pickle

import pandas as pd
import pytest

import recoverystudy as rs
from recoverystudy.audit.rubric.rules import CompiledRule, compile_rule

_TEXTS = [
    "My goals\nI want to go back to work.\nCrisis plan\nIf I feel unwell I will ring my care coordinator.",
    "Outcomes\nAccommodation: stay in my flat.\nRisk\nNo risks identified.",
    "About me\nI like walking.\nMy goals\nTo see my sister every week.",
]


def _plans(n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "plan_id": [f"p{i:04d}" for i in range(n)],
        "text": [f"Plan {i}\n" + _TEXTS[i % 3] for i in range(n)],
        "team": ["North", "South"][0:1] * n,
    })


def _comparable(audit) -> tuple:
    return (audit.prerated.to_dict("list"), audit.evidence.to_dict("list"))


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_audit_uses_both_workers_under_spawn_and_fork(method):
    if method not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip(f"{method} is not available on this platform")
    plans = _plans(400)
    serial = rs.audit_care_plans(plans)
    par = rs.audit_care_plans(plans, n_jobs=2, start_method=method)
    w = par.provenance["workers"]
    assert w["start_method"] == method and w["n_processes"] == 2
    assert len(w["pids"]) == 2 and os.getpid() not in w["pids"]  # two worker processes did the rating
    assert _comparable(par) == _comparable(serial)                # and the results are identical
    assert serial.provenance["workers"]["pids"] == [os.getpid()]


def test_unknown_start_method_is_named():
    with pytest.raises(ValueError, match="start_method 'threads'"):
        rs.audit_care_plans(_plans(10), n_jobs=2, start_method="threads")


def test_rules_are_functions_compiled_once_and_pickle_as_source():
    rub = rs.load_rubric()
    rules = [rule for crit in rub.criteria for _, _, rule in crit.rules]
    assert rules and all(isinstance(r, CompiledRule) for r in rules)
    again = pickle.loads(pickle.dumps(rub))  # a whole rubric travels to spawned workers
    for a, b in zip(rules, (r for c in again.criteria for _, _, r in c.rules)):
        assert a.source == b.source
    rule = compile_rule("crisis_plan and (warning_signs >= 2 or not named_contact)")
    assert rule({"crisis_plan": 1, "warning_signs": 2, "named_contact": 1}) is True
    assert rule({"crisis_plan": 1, "warning_signs": 1, "named_contact": 1}) is False
    assert rule({"crisis_plan": 0, "warning_signs": 9, "named_contact": 0}) is False


@pytest.mark.parametrize("source", ["__import__('os').system('echo hi')", "a.b", "a + 1", "[a]"])
def test_compiled_rule_refuses_anything_but_names_logic_and_comparisons(source):
    with pytest.raises(ValueError, match="not allowed in a rubric rule"):
        CompiledRule(source)
    with pytest.raises(ValueError, match="not allowed"):
        pickle.loads(pickle.dumps(CompiledRule("a")).replace(b"\x8c\x01a", b"\x8c" + bytes([len(source)]) + source.encode()))


def test_a_few_plans_are_rated_in_this_process():
    audit = rs.audit_care_plans(_plans(20), n_jobs=2)
    assert audit.provenance["workers"]["pids"] == [os.getpid()]
    assert audit.provenance["workers"]["n_processes"] == 1


def test_a_failing_worker_stops_the_audit_with_the_reason(monkeypatch):
    if "fork" not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip("needs fork to carry the patched function into the worker")
    import recoverystudy.audit.parallel as parallel

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(parallel, "prerate_batch", broken)
    with pytest.raises(rs.errors.AuditError, match="worker process failed: RuntimeError: disk full"):
        rs.audit_care_plans(_plans(400), n_jobs=2, start_method="fork")
