"""Issue 14 item 4: no combination of the files in the shareable folder pins a suppressed count.

An attacker reads EVERY file in the shareable folder (team table, overall table, coverage table, the
workbook, the HTML page, the chart) and solves an integer program (scipy.optimize.milp) for each
hidden count: minimise and maximise it subject to everything published - published counts, team and
overall totals, the fact that every plan is rated on every criterion (so a team's number of plans is
the same in every criterion), the coverage rows, and the published bound that a hidden count is at
least 1 (zeros are shown).  No hidden count may have a single feasible value.  A control shows that
the per-plan scorecard, had it been in the same folder, pins every one of them.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

import recoverystudy as rs

DATA = Path(__file__).parent / "data" / "care_plans"
META = DATA / "_expected" / "teams.csv"
RATINGS = ["n_met", "n_partly_met", "n_not_evidenced", "n_not_applicable"]
FINAL = {"met": "n_met", "partly met": "n_partly_met", "not evidenced": "n_not_evidenced",
         "not applicable": "n_not_applicable"}
SHAREABLE = {"report.html", "audit.xlsx", "chart.png", "compliance_overall.csv", "compliance_by_team.csv",
             "coverage_overall.csv"}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("ip")
    files = sorted(p for p in DATA.glob("plan_*") if p.suffix in (".txt", ".md"))
    audit = rs.audit_care_plans(files, team=rs.read_team_metadata(META), country=rs.read_plan_metadata(META, "country"))
    rep = audit.write_report(root / "share", secret="ip-secret-0123456789abcdef", threshold=5)
    return audit, root / "share", Path(rep.restricted_dir)


class _Model:
    """Integer unknowns with linear equality constraints."""

    def __init__(self):
        self.index: dict = {}
        self.lb: list[float] = []
        self.rows: list[dict] = []
        self.rhs: list[float] = []

    def var(self, key, lb=0.0):
        if key not in self.index:
            self.index[key] = len(self.lb)
            self.lb.append(lb)
        else:
            self.lb[self.index[key]] = max(self.lb[self.index[key]], lb)
        return self.index[key]

    def eq(self, coeffs: dict, value: float):
        self.rows.append(coeffs)
        self.rhs.append(float(value))

    def bounds(self, key) -> tuple[float, float]:
        n = len(self.lb)
        if getattr(self, "_built", None) != (len(self.rows), n):
            a = np.zeros((len(self.rows), n))
            for i, row in enumerate(self.rows):
                for k, c in row.items():
                    a[i, self.index[k]] += c
            self._cons = LinearConstraint(a, self.rhs, self.rhs)
            self._built = (len(self.rows), n)
        cons = self._cons
        out = []
        for sign in (1.0, -1.0):
            c = np.zeros(n)
            c[self.index[key]] = sign
            res = milp(c, constraints=cons, integrality=np.ones(n), bounds=Bounds(self.lb, np.full(n, 10_000.0)))
            assert res.status == 0, res.message
            out.append(sign * res.fun)
        return out[0], out[1]


def _read_shareable(folder: Path):
    names = {p.name for p in folder.iterdir()}
    # every file the attacker can read is modelled below; a new file must be added to this test
    assert names <= SHAREABLE, names - SHAREABLE
    teams = pd.read_csv(folder / "compliance_by_team.csv")
    overall = pd.read_csv(folder / "compliance_overall.csv")
    coverage = pd.read_csv(folder / "coverage_overall.csv") if (folder / "coverage_overall.csv").exists() else None
    # the workbook and the page carry the same tables and nothing per plan
    book = pd.read_excel(folder / "audit.xlsx", sheet_name=None)
    assert set(book) == {"About", "Overall", "By team", "Coverage", "Criteria", "Skipped files"} - (
        set() if coverage is not None else {"Coverage"}
    )
    for sheet, csv in (("By team", teams), ("Overall", overall)):
        got = book[sheet].replace("*", np.nan)
        for col in RATINGS + ["n_plans", "n_applicable"]:
            assert np.allclose(pd.to_numeric(got[col]).to_numpy(float), csv[col].to_numpy(float), equal_nan=True)
    page = (folder / "report.html").read_text(encoding="utf-8")
    tables = pd.read_html(folder / "report.html")
    assert not re.search(r"P-[0-9a-f]{12}", page)
    with zipfile.ZipFile(folder / "audit.xlsx") as z:
        assert not any(re.search(r"P-[0-9a-f]{12}", z.read(n).decode("utf-8", "replace")) for n in z.namelist())
    assert max(len(t) for t in tables) <= len(teams)  # no table longer than the team table (nothing per plan)
    return teams, overall, coverage


def _model(teams, overall, coverage, truth_teams) -> _Model:
    m = _Model()
    crits = list(overall["criterion"])
    team_names = sorted(teams["team"].unique())
    for t in team_names:
        m.var(("N", t), 1)
    for row in teams.itertuples():
        true = truth_teams.loc[(row.team, row.criterion)]
        for col in RATINGS:
            v = getattr(row, col)
            key = (row.criterion, row.team, col)
            m.var(key, 0 if pd.notna(v) else min(1, int(true[col])))  # hidden counts are known to be >= 1
            if pd.notna(v):
                m.eq({key: 1}, v)
        # every plan of a team is rated on every criterion: the same team total in every criterion
        m.eq({**{(row.criterion, row.team, c): 1 for c in RATINGS}, ("N", row.team): -1}, 0)
        if pd.notna(row.n_plans):
            m.eq({("N", row.team): 1}, row.n_plans)
        if pd.notna(row.n_applicable):
            m.eq({(row.criterion, row.team, c): 1 for c in RATINGS[:3]}, row.n_applicable)
    for row in overall.itertuples():
        for col in RATINGS:
            v = getattr(row, col)
            if pd.notna(v):
                m.eq({(row.criterion, t, col): 1 for t in team_names}, v)
        if pd.notna(row.n_plans):
            m.eq({("N", t): 1 for t in team_names}, row.n_plans)
        if pd.notna(row.n_applicable):
            m.eq({(row.criterion, t, c): 1 for t in team_names for c in RATINGS[:3]}, row.n_applicable)
    if coverage is not None:
        for row in coverage.dropna(subset=["n_plans"]).itertuples():
            if row.row.endswith("areas covered"):
                continue
            w, wo = ("cov", row.criterion, row.row, "with"), ("cov", row.criterion, row.row, "without")
            m.var(w), m.var(wo)
            m.eq({w: 1, wo: 1}, row.n_plans)
            if pd.notna(row.n_with_outcome):
                m.eq({w: 1}, row.n_with_outcome)
            # coverage is over the plans the criterion applied to
            m.eq({w: 1, wo: 1, **{(row.criterion, t, c): -1 for t in team_names for c in RATINGS[:3]}}, 0)
    assert all(c in crits for c in teams["criterion"])
    return m


def _truth(audit) -> pd.DataFrame:
    r = audit.ratings("final")
    t = r.groupby(["team", "criterion", "rating"]).size().unstack(fill_value=0).rename(columns=FINAL)
    return t.reindex(columns=RATINGS, fill_value=0)


def test_published_proportions_rest_only_on_published_counts(written):
    _, share, _ = written
    teams, overall, _ = _read_shareable(share)
    for tab in (teams, overall):
        shown = tab["proportion_met"].notna() | tab["ci_low"].notna()
        assert tab.loc[shown, ["n_met", "n_applicable"]].notna().all().all()
        shown = tab["proportion_met_or_partly"].notna()
        assert tab.loc[shown, ["n_met", "n_partly_met", "n_applicable"]].notna().all().all()


def test_no_hidden_count_is_pinned_by_all_shareable_files_together(written):
    audit, share, _ = written
    teams, overall, coverage = _read_shareable(share)
    truth = _truth(audit)
    hidden = [(r.criterion, r.team, c) for r in teams.itertuples() for c in RATINGS if pd.isna(getattr(r, c))]
    assert len(hidden) >= 10  # the case is meaningful: many cells are suppressed
    m = _model(teams, overall, coverage, truth)
    pinned = []
    for key in hidden:
        lo, hi = m.bounds(key)
        true = truth.loc[(key[1], key[0]), key[2]]
        assert lo - 1e-6 <= true <= hi + 1e-6  # the model is right about the truth
        if hi - lo < 0.5:
            pinned.append((key, true))
    assert pinned == []


def test_control_the_scorecard_beside_the_team_tables_pins_them(written):
    """Why person-level rows must not be in the shareable folder: grouped by team they pin every cell."""
    audit, share, restricted = written
    teams, overall, coverage = _read_shareable(share)
    assert not (share / "scorecard.csv").exists() and (restricted / "scorecard.csv").exists()
    sc = pd.read_csv(restricted / "scorecard.csv")
    m = _model(teams, overall, coverage, _truth(audit))
    counts = sc.groupby(["criterion", "team", "final"]).size()
    for r in teams.itertuples():
        for label, col in FINAL.items():
            m.eq({(r.criterion, r.team, col): 1}, counts.get((r.criterion, r.team, label), 0))
    hidden = [(r.criterion, r.team, c) for r in teams.itertuples() for c in RATINGS if pd.isna(getattr(r, c))]
    for key in hidden[:10]:
        lo, hi = m.bounds(key)
        assert hi - lo < 0.5
