"""Benchmark: redaction recall per identifier type and surface form, and over-redaction of a keep-list.

Run:  python benchmarks/bench_redaction.py [--n 400] [--seed 0] [--markdown]

The plans come from the seeded generator ``recoverystudy.synthetic.identifiers.identifier_plans``:
every plan carries 8 planted identifiers (62 surface forms: NHS numbers in every grouping, UK phones,
the six postcode shapes, e-mails, labelled dates of birth, names after titles, roles and labels,
hospital numbers, street addresses) and 4 phrases that must stay readable (helplines, doses, review
dates, service names).  An identifier counts as redacted only when every character of it is replaced.

Targets (issue 14): 100 % recall for NHS numbers, phones, postcodes, e-mails and labelled dates of
birth; >= 98 % for names after titles and labels; <= 1 % of the keep-list redacted.  Also prints the
redaction time as a ratio to an anchor measured in the same run: one plain regular-expression pass
(``\\d{3} ?\\d{3} ?\\d{4}``) over the same texts.
"""

from __future__ import annotations

import argparse
import re
import time

import pandas as pd

from recoverystudy.privacy.evaluate import KEEP_CEILING, RECALL_FLOORS, score_redaction
from recoverystudy.privacy.redact import _redact_spans
from recoverystudy.synthetic.identifiers import identifier_plans


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=400, help="number of plans (8 identifiers each)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--markdown", action="store_true", help="print the per-type table as Markdown")
    args = ap.parse_args()
    plans, items = identifier_plans(n_plans=args.n, seed=args.seed)
    texts = plans["text"].tolist()

    anchor_rx = re.compile(r"\d{3} ?\d{3} ?\d{4}")
    t0 = time.perf_counter()
    for t in texts:
        anchor_rx.findall(t)
    anchor = time.perf_counter() - t0
    t0 = time.perf_counter()
    for t in texts:
        _redact_spans(t)
    elapsed = time.perf_counter() - t0

    scored = score_redaction(plans, items)
    ids = scored[scored["kind"] == "identifier"]
    keep = scored[scored["kind"] == "keep"]
    by_type = ids.groupby("type")["redacted"].agg(planted="size", redacted="sum", recall="mean")
    by_type["floor"] = pd.Series(RECALL_FLOORS)
    by_form = ids.groupby(["type", "form"])["redacted"].agg(planted="size", recall="mean")
    keep_by_form = keep.groupby("form")["redacted"].agg(phrases="size", redacted="mean")

    print(f"{len(plans)} plans, {len(ids)} planted identifiers in {ids['form'].nunique()} surface forms, "
          f"{len(keep)} keep-list phrases in {keep['form'].nunique()} forms (seed {args.seed}).\n")
    if args.markdown:
        print("| Identifier | Planted | Redacted | Recall | Target |")
        print("|---|---:|---:|---:|---:|")
        for kind, r in by_type.iterrows():
            target = "-" if pd.isna(r["floor"]) else f"{r['floor']:.0%}"
            print(f"| {kind.replace('_', ' ')} | {int(r['planted'])} | {int(r['redacted'])} | {r['recall']:.1%} | {target} |")
        print(f"| keep-list (over-redaction) | {len(keep)} | {int(keep['redacted'].sum())} | "
              f"{keep['redacted'].mean():.1%} redacted | <= {KEEP_CEILING:.0%} |\n")
    else:
        print(by_type.to_string(float_format=lambda v: f"{v:.3f}"), "\n")
    print("Recall per surface form:")
    print(by_form.to_string(float_format=lambda v: f"{v:.3f}"), "\n")
    print("Keep-list, share redacted per form:")
    print(keep_by_form.to_string(float_format=lambda v: f"{v:.3f}"), "\n")
    over = keep["redacted"].mean()
    print(f"Over-redaction: {over:.2%} of keep-list phrases touched (target <= {KEEP_CEILING:.0%}).")
    failed = [k for k, f in RECALL_FLOORS.items() if by_type.loc[k, "recall"] < f] + (
        ["keep-list"] if over > KEEP_CEILING else []
    )
    print("Floors:", "all met" if not failed else f"MISSED for {', '.join(failed)}")
    kb = sum(len(t) for t in texts) / 1024
    print(f"Redaction: {elapsed:.3f} s for {kb:.0f} KB ({len(texts) / elapsed:,.0f} plans/s); "
          f"anchor (one plain regex pass): {anchor:.4f} s; ratio {elapsed / anchor:.0f}x.")


if __name__ == "__main__":
    main()
