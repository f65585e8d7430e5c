"""The ``recoverystudy audit`` command (a thin command-line layer over :func:`audit_care_plans`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from recoverystudy.errors import RecoveryStudyError

__all__ = ["audit_command"]

_HELP = """Audit a folder of care plans and write a shareable report.

PLANS_DIR is a folder of care plans (.txt, .md, .docx, .odt, .rtf or .pdf).
Each plan is checked against the care-plan audit criteria (NICE QS14, Triangle
of Care, the CPA crisis-plan tool, the CPA position statement, recovery, and -
for plans from Welsh services - the eight areas of life of the Mental Health
(Wales) Measure). The ratings are suggestions with the evidence found; a
reviewer should confirm them. Say which plans are Welsh with --country-from.

Everything written to --out is shareable: team and overall tables only, with
small team counts hidden. With a secret (--secret-file or the
RECOVERYSTUDY_SECRET environment variable) the per-plan scorecard - plan ids
replaced by keyed pseudonyms, identifiers in quoted evidence replaced (e.g.
[NHS number]) - goes to a separate folder labelled restricted (--restricted-out,
default OUT-RESTRICTED beside --out), never to --out. Every file is scanned for
identifiers before it is written; nothing is written if one is found.
--out may not be the plans folder or inside it.

\b
Example:
  recoverystudy audit plans/ --out report/ --team-from plans.csv \\
      --country-from plans.csv --secret-file ~/secret.txt \\
      --log ~/private/anonymisation-log.csv
"""


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


@click.command("audit", help=_HELP)
@click.argument("plans_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder for the shareable report (created if missing).",
)
@click.option(
    "--restricted-out",
    "restricted_dir",
    type=click.Path(path_type=Path),
    help="Folder for person-level outputs (with a secret only). Default: the --out folder's name "
    "with -RESTRICTED, beside it. Never share it.",
)
@click.option(
    "--team-from",
    "team_from",
    type=click.Path(path_type=Path),
    help="CSV with columns 'plan' (file name) and 'team'.",
)
@click.option(
    "--country-from",
    "country_from",
    type=click.Path(path_type=Path),
    help="CSV with columns 'plan' (file name) and 'country' (can be the --team-from file). "
    "Criteria for one country (the Welsh eight areas of life) are rated only for its plans.",
)
@click.option(
    "--secret-file",
    "secret_file",
    type=click.Path(path_type=Path),
    help="File holding the secret for pseudonyms (at least 16 characters). "
    "Default: the RECOVERYSTUDY_SECRET environment variable.",
)
@click.option(
    "--log",
    "log_path",
    type=click.Path(path_type=Path),
    help="Where to write the anonymisation log. It is identifiable: it must be outside --out.",
)
@click.option(
    "--names",
    "names_file",
    type=click.Path(path_type=Path),
    help="Text file of names to redact, one per line.",
)
@click.option(
    "--threshold",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Hide team counts below this number (with secondary suppression).",
)
@click.option(
    "--rubric",
    default="care-plan-audit",
    show_default=True,
    help="Bundled rubric name or path to your own rubric YAML.",
)
@click.option(
    "--confirmations",
    "confirmations",
    type=click.Path(path_type=Path),
    help="CSV of reviewers' confirmations (columns plan_id, criterion, rating, reviewer, and optionally note), "
    "as saved by CarePlanAudit.save_confirmations or typed in a spreadsheet: confirmed ratings replace the "
    "pre-ratings in the report. It names reviewers: keep it outside --out.",
)
@click.option("--no-quotes", is_flag=True, help="Leave evidence sentences out of the scorecard.")
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True, help="Worker processes.")
def audit_command(
    plans_dir,
    out_dir,
    restricted_dir,
    team_from,
    country_from,
    secret_file,
    log_path,
    names_file,
    threshold,
    rubric,
    confirmations,
    no_quotes,
    jobs,
):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from recoverystudy.audit.inputs import read_plan_metadata, read_team_metadata
    from recoverystudy.audit.report import write_audit_report
    from recoverystudy.audit.review import audit_care_plans
    from recoverystudy.privacy.pseudonym import load_secret

    console = Console(stderr=True)
    try:
        if plans_dir.exists():
            src, out_r = plans_dir.expanduser().resolve(), out_dir.expanduser().resolve()
            if out_r == src or src in out_r.parents:
                _fail("--out must not be the plans folder or inside it: the plans must never be shared.")
            if out_r in src.parents:
                _fail("--out must not contain the plans folder: sharing --out would share the plans.")
        if log_path is not None:
            out_r, log_r = out_dir.expanduser().resolve(), log_path.expanduser().resolve()
            if log_r == out_r or out_r in log_r.parents:
                _fail("--log must be outside --out: the anonymisation log is identifiable.")
        if secret_file is not None:
            sr, out_r = secret_file.expanduser().resolve(), out_dir.expanduser().resolve()
            if out_r in sr.parents:
                _fail("--secret-file must not be inside --out: the secret must never be shared.")
        if confirmations is not None:
            if not confirmations.is_file():
                _fail(f"--confirmations: no such file {str(confirmations)!r}.")
            cr, out_r = confirmations.expanduser().resolve(), out_dir.expanduser().resolve()
            if out_r in cr.parents:
                _fail("--confirmations must be outside --out: it names the reviewers.")
        secret = load_secret(secret_file)
        teams = read_team_metadata(team_from) if team_from is not None else None
        countries = read_plan_metadata(country_from, "country") if country_from is not None else None
        names = None
        if names_file is not None:
            if not names_file.is_file():
                _fail(f"--names: no such file {str(names_file)!r}.")
            names = [ln.strip() for ln in names_file.read_text(encoding="utf-8").splitlines() if ln.strip()]
        with Progress(
            TextColumn("Auditing plans"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("audit", total=None)

            def progress(done, total):
                bar.update(task, completed=done, total=total)

            audit = audit_care_plans(
                plans_dir, rubric, team=teams, country=countries, n_jobs=jobs, progress=progress
            )
        if confirmations is not None:
            applied = audit.load_confirmations(confirmations)
            console.print(f"Applied {applied} reviewer confirmation(s) from {confirmations.name}.",
                          markup=False, highlight=False)
        if len(audit.skipped):
            console.print(f"[yellow]Skipped {len(audit.skipped)} file(s):[/yellow]")
            for detail in audit.skipped["detail"]:
                console.print(f"  - {detail}", markup=False, highlight=False)
        if teams is not None:
            missing = audit.plans.loc[audit.plans["team"].isna(), "plan_id"]
            if len(missing):
                console.print(f"[yellow]{len(missing)} plan(s) have no team in {team_from.name}.[/yellow]")
        if countries is not None:
            missing = audit.plans.loc[audit.plans["country"].isna(), "plan_id"]
            if len(missing):
                console.print(
                    f"[yellow]{len(missing)} plan(s) have no country in {country_from.name}.[/yellow]"
                )
        report = write_audit_report(
            audit,
            out_dir,
            secret=secret,
            log_path=log_path,
            names=names,
            threshold=threshold,
            quotes=not no_quotes,
            restricted_dir=restricted_dir,
            plans_dir=plans_dir if plans_dir.is_dir() else None,
        )
    except (RecoveryStudyError, OSError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"Audited {len(audit.plans)} plan(s); {len(audit.skipped)} skipped.")
    for row in audit.scope().itertuples():
        click.echo(
            f"{row.criterion} ({row.applies_to} only): applied to {row.n_applied} plan(s), "
            f"not applicable to {row.n_not_applied}."
        )
    if not report.person_level:
        click.echo(
            "No secret given (--secret-file or RECOVERYSTUDY_SECRET): person-level outputs were NOT "
            "written; only aggregate tables."
        )
    click.echo(f"Report: {report.files['html']}")
    if report.restricted_dir:
        click.echo(f"Person-level outputs (RESTRICTED, do not share): {report.restricted_dir}")
    if report.log_path:
        click.echo(f"Anonymisation log (keep private): {report.log_path}")
