"""The ``recoverystudy`` command line: a thin layer over the public functions.

Every subcommand calls one public function. A user error (any
:class:`~recoverystudy.errors.RecoveryStudyError`, a missing file, a bad option) prints one plain
line on stderr and exits with code 2; ``--debug`` shows the full traceback instead.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click
import pandas as pd

from recoverystudy.errors import RecoveryStudyError, RecoveryStudyWarning, UnverifiedKeyError

__all__ = ["main"]

_USER_ERRORS = (RecoveryStudyError, FileNotFoundError, ValueError, KeyError)


def _out_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """--out must be a .csv or .xlsx file in a folder that exists (checked before any work is done)."""
    if value is None:
        return None
    if value.suffix.lower() not in (".csv", ".xlsx"):
        raise click.BadParameter(f"{value.name}: give a file ending in .csv or .xlsx.", ctx=ctx, param=param)
    if not value.parent.expanduser().is_dir():
        raise click.BadParameter(f"the folder {str(value.parent)!r} does not exist; create it first.", ctx=ctx,
                                 param=param)
    return value.expanduser()


class _Group(click.Group):
    """A click group that turns user errors into one line and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except _USER_ERRORS as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            message = str(exc).strip().strip("'\"") or type(exc).__name__
            click.echo(f"Error: {message}", err=True)
            ctx.exit(2)


def _show_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        if issubclass(w.category, RecoveryStudyWarning):
            click.echo(f"Note: {w.message}", err=True)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the full technical traceback when something goes wrong.")
@click.version_option(package_name="recoverystudy", message="recoverystudy %(version)s")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """recoverystudy: score questionnaires, compare sites, audit care plans.

    Run a command with --help to see what it needs, for example:

        recoverystudy score --help
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


@main.command("instruments")
def instruments_cmd() -> None:
    """List the bundled questionnaires and which scores can be calculated.

    A scale whose scoring key has not been published is listed as "refused": supply the key from
    your licensed manual with --key to score it.
    """
    from recoverystudy.quant.instruments import list_instruments

    table = list_instruments()
    for row in table.itertuples():
        click.echo(f"{row.id}: {row.title}")
        click.echo(f"    {row.n_items} items, answers {row.response}")
        click.echo(f"    scored:  {row.scorable_scales or '(nothing without a key file)'}")
        if row.refused_scales:
            click.echo(f"    refused: {row.refused_scales} (key not established)")
        click.echo(f"    key provenance: {row.key_status}")


@main.command("score")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--instrument", "-i", required=True, metavar="NAME",
              help="Questionnaire to score, e.g. rsa-person, wai-sr, qpr-15 (see: recoverystudy instruments).")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A scoring key file from your licensed manual (YAML).")
@click.option("--id-col", default=None, metavar="COLUMN", help="Column with respondent ids.")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None, callback=_out_file,
              help="Write the scores to this CSV or XLSX file (default: print a preview).")
@click.option("--invalid", type=click.Choice(["raise", "missing"]), default="raise", show_default=True,
              help="What to do with answers outside the allowed range: stop, or treat them as not answered.")
@click.option("--keep", default="", metavar="COLUMNS",
              help="Comma-separated columns of FILE to copy next to the scores, e.g. site,country "
                   "(so the file can go straight into 'recoverystudy compare').")
def score_cmd(file: Path, instrument: str, key: Path | None, id_col: str | None, out: Path | None,
              invalid: str, keep: str) -> None:
    """Score the questionnaire answers in FILE (CSV, XLSX or SPSS .sav).

    Columns must be named by item ids (for example wai_01 ... wai_12).

    Example:
      recoverystudy score answers.csv --instrument rsa-person --id-col respondent_id --keep site --out scores.csv
    """
    from recoverystudy.quant.scoring import score
    from recoverystudy.quant.surveys import read_survey

    data = read_survey(file)
    kept = [c.strip() for c in keep.split(",") if c.strip()]
    unknown = [c for c in kept if c not in data.columns]
    if unknown:
        raise click.UsageError(f"--keep: {file.name} has no column {unknown[0]!r}; its columns include "
                               f"{', '.join(map(str, list(data.columns)[:8]))}.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = score(data, instrument, id_col=id_col, key=key, on_invalid=invalid)
        except UnverifiedKeyError as exc:
            raise click.UsageError(f"{exc} On the command line, give the key file with --key FILE.") from None
    _show_warnings(caught)
    click.echo(result.summary())
    frame = result.to_frame()
    if kept:
        clash = [c for c in kept if c in frame.columns]
        if clash:
            raise click.UsageError(f"--keep: {clash[0]!r} is already a column of the scores.")
        lead = [c for c in frame.columns[:1] if c == id_col]   # the id column stays first
        frame = pd.concat([frame[lead], data[kept], frame.drop(columns=lead)], axis=1)
    if out is None:
        click.echo(frame.head(10).to_string())
        if len(frame) > 10:
            click.echo(f"... {len(frame) - 10} more rows; use --out FILE to save them all.")
        return
    if out.suffix.lower() == ".xlsx":
        frame.to_excel(out, index=id_col is None)
    else:
        frame.to_csv(out, index=id_col is None)
    click.echo(f"Scores written to {out}")


@main.command("demo")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("recoverystudy-demo"),
              show_default=True, help="Folder for the report, the tables and the project file.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed for the synthetic study and the bootstraps (the same seed gives the same report).")
@click.option("--scale", type=click.FloatRange(min=0.05, max=20), default=1.0, show_default=True, hidden=True,
              help="Size of the synthetic study (1 = about 450 service users).")
def demo_cmd(out: Path, seed: int, scale: float) -> None:
    """Run the whole analysis on a synthetic six-site study and write a report.

    Makes up a realistic study (4 English and 2 Welsh sites, about 450 service users, 200 care
    coordinators, 120 interviews and 33 care plans; every person is invented), then scores the
    questionnaires, compares the sites, codes the interviews with the Framework Method, audits the
    care plans, and writes OUT/report.html (open it in any web browser), tables (CSV and Excel)
    and the project file.  Takes under half a minute.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from recoverystudy.report.demo import DEMO_STEPS, run_demo

    console = Console(stderr=True)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task("Starting", total=len(DEMO_STEPS))

        def progress(step: str, index: int, total: int) -> None:
            bar.update(task, description=step, completed=index)

        result = run_demo(out, seed=seed, scale=scale, progress=progress)
        bar.update(task, description="Done", completed=len(DEMO_STEPS))
    for part, why in result.unavailable.items():
        click.echo(f"Note: {part} not available in this build: {why}", err=True)
    click.echo(f"Report written to {result.report_path.resolve()}")
    click.echo(f"Tables in {(result.out_dir / 'tables').resolve()}")
    if result.project_path is not None:
        click.echo(f"Framework project in {result.project_path.resolve()}")
    click.echo(f"Finished in {result.seconds:.1f} s.")


@main.command("compare")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--value", "-v", "values", required=True, multiple=True, metavar="COLUMN",
              help="Column with the scores to compare (repeat --value for several scores).")
@click.option("--site", "-s", required=True, metavar="COLUMN", help="Column saying which site each person is from.")
@click.option("--method", "-m", type=click.Choice(["welch", "anova", "kruskal"]), default="welch", show_default=True,
              help="welch: compares means without assuming equal spread (recommended); anova: classic one-way "
                   "ANOVA; kruskal: compares ranks (for skewed scores).")
@click.option("--no-posthoc", is_flag=True, help="Skip the comparisons between pairs of sites.")
@click.option("--adjust", type=click.Choice(["holm", "hochberg", "bonferroni", "bh", "by", "none"]), default="holm",
              show_default=True, help="Correction for testing several scores (and Dunn's pairs).")
@click.option("--seed", type=int, default=None, help="Seed for the bootstrap intervals (kruskal), for repeatable results.")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None, callback=_out_file,
              help="Write the results table to this CSV or XLSX file.")
def compare_cmd(file: Path, values: tuple[str, ...], site: str, method: str, no_posthoc: bool, adjust: str,
                seed: int | None, out: Path | None) -> None:
    """Test whether scores differ between sites, using the data in FILE (CSV, XLSX or SPSS .sav).

    FILE needs one row per person, a column for the site and a column for each score.
    Example:

        recoverystudy compare scores.csv --value wai_sr_total --site site
    """
    import pandas as pd

    from recoverystudy.stats.compare import compare_sites
    from recoverystudy.quant.surveys import read_survey

    data = read_survey(file)
    missing = [c for c in (*values, site) if c not in data.columns]
    if missing:
        raise ValueError(f"{file.name} has no column {', '.join(map(repr, missing))}; its columns are: "
                               f"{', '.join(map(str, data.columns))}.")
    value: str | list[str] = values[0] if len(values) == 1 else list(values)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = compare_sites(data, value, site, method=method, posthoc=not no_posthoc, adjust=adjust, seed=seed)
    _show_warnings(caught)
    click.echo(result.summary())
    items = [(values[0], result)] if len(values) == 1 else list(result.items())
    if not no_posthoc:
        for name, res in items:
            if len(res.posthoc):
                click.echo(f"\nPairs of sites ({name}):")
                cols = [c for c in ("group1", "group2", "estimate", "ci_low", "ci_high", "p_adj") if c in res.posthoc]
                click.echo(res.posthoc[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if out is not None:
        frame = result.to_frame()
        if out.suffix.lower() == ".xlsx":
            with pd.ExcelWriter(out) as xl:
                frame.to_excel(xl, sheet_name="omnibus", index=False)
                for name, res in items:
                    if len(res.posthoc):
                        res.posthoc.to_excel(xl, sheet_name=f"pairs {name}"[:31], index=False)
        else:
            frame.to_csv(out, index=False)
        click.echo(f"Results written to {out}")


@main.command("studio")
@click.argument("project", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--coder", metavar="NAME", help="Who is coding (recorded on every coding); asked in the page if not given.")
@click.option("--port", type=click.IntRange(1024, 65535), help="Port to listen on (default: a free one).")
@click.option("--no-browser", is_flag=True, help="Only print the link; do not open a browser.")
def studio_cmd(project: Path, coder: str | None, port: int | None, no_browser: bool) -> None:
    """Open the coding studio for PROJECT (.rsqda) in your web browser.

    Read and code transcripts, review suggestions, edit the codebook, chart the framework matrix,
    compare coders and export, in the browser.  The studio runs only on this computer (127.0.0.1);
    the link it prints carries a secret access key (valid until the studio stops).  Press Ctrl+C to stop it.
    """
    from recoverystudy.studio.server import serve

    serve(project, coder=coder, port=port, open_browser=not no_browser, echo=click.echo)


main.add_command(__import__("recoverystudy.audit.command", fromlist=["audit_command"]).audit_command)  # audit

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
