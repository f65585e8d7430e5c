"""The ``recoverystudy`` command line: a thin layer over the public functions.

Every subcommand calls one public function. A user error (any
:class:`~recoverystudy.errors.RecoveryStudyError`, a missing file, a bad option) prints one plain
line on stderr and exits with code 2; ``--debug`` shows the full traceback instead.
"""

from __future__ import annotations

import contextlib
import gc

import sys
import warnings
from pathlib import Path

import click
import pandas as pd

from recoverystudy.cli_audit import audit_command
from recoverystudy.cli_help import apa_table, cli_advice, item_map, resolve_name
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
            click.echo(f"Error: {cli_advice(message)}", err=True)
            ctx.exit(2)


def _show_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        if issubclass(w.category, RecoveryStudyWarning):
            click.echo(f"Note: {cli_advice(str(w.message))}", err=True)


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


@main.command("items")
@click.argument("instrument", metavar="INSTRUMENT")
def items_cmd(instrument: str) -> None:
    """List the item ids of INSTRUMENT (the column names 'score' expects), with short labels.

    Example:
      recoverystudy items wai-sr
    """
    from recoverystudy.quant.instruments import list_instruments, load_instrument

    name = resolve_name(instrument, list_instruments()["id"].tolist(), what="instrument", option="INSTRUMENT")
    inst = load_instrument(name)
    for n, item in enumerate(inst.items, start=1):
        label = getattr(item, "label", "") or ""
        click.echo(f"{n:>3}  {getattr(item, 'id', item)}  {label}")


_KEEP_BY_DEFAULT = ("site", "country")


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
@click.option("--keep", default=None, metavar="COLUMNS",
              help="Comma-separated columns of FILE to copy next to the scores (default: site and country, "
                   "when FILE has them, so the scores can go straight into 'recoverystudy compare'; "
                   "--keep '' keeps none).")
@click.option("--items", "items_spec", default=None, metavar="MAP.csv|PATTERN",
              help="Which column holds which item, when your columns are not named by item ids: a CSV file "
                   "with columns 'item' and 'column', or a pattern such as 'Q{n}' (item 1 in column Q1 ...). "
                   "See the item ids with: recoverystudy items NAME.")
def score_cmd(file: Path, instrument: str, key: Path | None, id_col: str | None, out: Path | None,
              invalid: str, keep: str | None, items_spec: str | None) -> None:
    """Score the questionnaire answers in FILE (CSV, XLSX or SPSS .sav).

    Columns are named by item ids (for example wai_01 ... wai_12), or mapped with --items.
    The site and country columns are copied next to the scores when FILE has them.

    Example:
      recoverystudy score answers.csv --instrument rsa-person --id-col respondent_id --out scores.csv
    """
    from recoverystudy.quant.instruments import list_instruments, load_instrument
    from recoverystudy.quant.scoring import score
    from recoverystudy.quant.surveys import read_survey

    instrument = resolve_name(instrument, list_instruments()["id"].tolist(), what="instrument",
                              option="--instrument")
    data = read_survey(file)
    columns = [str(c) for c in data.columns]
    if id_col is not None:
        id_col = resolve_name(id_col, columns, what="column", option="--id-col")
    if keep is None:
        kept = [c for c in columns if c.lower() in _KEEP_BY_DEFAULT and c != id_col]
    else:
        kept = [resolve_name(c.strip(), columns, what="column", option="--keep") for c in keep.split(",")
                if c.strip()]
    items = None
    if items_spec is not None:
        items = item_map(items_spec, load_instrument(instrument, key=key).item_ids, columns)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = score(data, instrument, id_col=id_col, key=key, on_invalid=invalid, items=items)
        except UnverifiedKeyError as exc:
            raise click.UsageError(cli_advice(str(exc))) from None
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
    # no refresh thread (auto_refresh=False): the demo forks its worker processes, and forking while
    # another thread runs can copy a lock that thread holds; the bar is redrawn at every step instead
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=False, auto_refresh=False) as bar:
        task = bar.add_task("Starting", total=len(DEMO_STEPS))
        bar.refresh()

        def progress(step: str, index: int, total: int) -> None:
            bar.update(task, description=step, completed=index, refresh=True)

        result = run_demo(out, seed=seed, scale=scale, progress=progress)
        bar.update(task, description="Done", completed=len(DEMO_STEPS), refresh=True)
    for part, why in result.unavailable.items():
        click.echo(f"Note: {part} not available in this build: {why}", err=True)
    click.echo(f"Report written to {result.report_path.resolve()}")
    click.echo(f"Tables in {(result.out_dir / 'tables').resolve()}")
    if result.project_path is not None:
        click.echo(f"Framework project in {result.project_path.resolve()}")
    click.echo(f"Finished in {result.seconds:.1f} s.")
    # Every file above is written and closed.  Freezing the heap lets the interpreter skip its final
    # collections of every object of pandas, scipy and matplotlib at exit (about 0.3 s of the demo's wall time).
    gc.freeze()


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
    columns = [str(c) for c in data.columns]
    try:
        site = resolve_name(site, columns, what="column", option="--site")
    except RecoveryStudyError as exc:
        if any(c.endswith("_total") for c in columns):
            raise type(exc)(f"{exc} This looks like a scores file: score again with --keep site "
                            "(or leave --keep out: site and country are kept by default).") from None
        raise
    values = tuple(resolve_name(v, columns, what="column", option="--value") for v in values)
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
                click.echo(f"\nPairs of sites ({name}); the difference is site B minus site A:")
                cols = [c for c in ("group1", "group2", "estimate", "ci_low", "ci_high", "statistic", "p_adj")
                        if c in res.posthoc]
                click.echo(apa_table(res.posthoc[cols], {"group1": "site A", "group2": "site B",
                                                          "estimate": "B minus A", "ci_low": "95% CI low",
                                                          "ci_high": "95% CI high",
                                                          "p_adj": "adjusted p"}))
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


def _server_store():
    try:
        from recoverystudy.qual import pgstore
    except ImportError as exc:
        raise click.ClickException(f"This needs the psycopg package: pip install 'recoverystudy[server]' ({exc}).")
    return pgstore


@main.command("push")
@click.argument("project", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("url", metavar="postgresql://USER@HOST/DATABASE?project=NAME")
def push_cmd(project: Path, url: str) -> None:
    """Copy the project file PROJECT to a new project on a PostgreSQL server.

    Everything is copied as it is (documents, codes, coded segments with their coders, memos, cases,
    attributes, users, logs) in one transaction: an interrupted push leaves nothing on the server.
    An existing server project is never overwritten.

        recoverystudy push study.rsqda "postgresql://ana@db.example.org/studies?project=cocapp"
    """
    counts = _server_store().push(project, url)
    click.echo(f"Copied {project} to {_server_store().ServerLocation.parse(url)}: {counts.get('documents', 0)} "
               f"documents, {counts.get('segments', 0)} coded segments, {counts.get('memos', 0)} memos.")


@main.command("pull")
@click.argument("url", metavar="postgresql://USER@HOST/DATABASE?project=NAME")
@click.argument("project", type=click.Path(dir_okay=False, path_type=Path))
def pull_cmd(url: str, project: Path) -> None:
    """Copy a project from a PostgreSQL server into the new project file PROJECT.

    The copy is one consistent snapshot of the server project, built in a temporary file and moved
    into place whole; an existing file is never overwritten.

        recoverystudy pull "postgresql://ana@db.example.org/studies?project=cocapp" study.rsqda
    """
    _server_store().pull(url, project)
    click.echo(f"Copied {_server_store().ServerLocation.parse(url)} to {project}.")


def _team():
    try:
        from recoverystudy import server
        from recoverystudy.qual.project import Project
        from recoverystudy.server.access import database_url, project_url
    except ImportError as exc:
        raise click.ClickException(f"The team server needs: pip install 'recoverystudy[server]' ({exc}).")
    return server, Project, database_url, project_url


_DB = click.option("--db", required=True, metavar="postgresql://USER@HOST/DATABASE",
                   help="The PostgreSQL database holding the projects.")


@main.command("serve")
@_DB
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Host name people use to reach the server (repeatable); others are refused.")
@click.option("--base-url", default="", metavar="URL", help="Public address, used in invitation links.")
@click.option("--insecure-cookies", is_flag=True,
              help="Send the session cookie over plain HTTP too (only for trying it out on this computer).")
def serve_cmd(db: str, host: str, port: int, allowed_hosts: tuple[str, ...], base_url: str,
              insecure_cookies: bool) -> None:
    """Run the team server: the study's projects on PostgreSQL, for a team, in the browser.

    Put it behind a reverse proxy with TLS (see docs/team-server.md).  Create the first lead with
    ``recoverystudy server add-lead``; leads invite the others.

        recoverystudy serve --db postgresql://rs@localhost/studies --host 127.0.0.1 --port 8000
    """
    server, *_ = _team()
    click.echo(f"Team server on http://{host}:{port} (Ctrl+C stops it).")
    server.serve(db, host=host, port=port, secure_cookies=not insecure_cookies, allowed_hosts=allowed_hosts,
                 base_url=base_url)


@main.group("server")
def server_group() -> None:
    """Look after the team server: accounts, passwords, members, invitations, sessions."""


@server_group.command("add-lead")
@_DB
@click.option("--project", required=True, help="The server project (pushed with recoverystudy push).")
@click.option("--username", required=True)
@click.option("--display-name", default=None, help="The name others see (default: the user name).")
@click.password_option(help="Asked for when not given (at least 12 characters).")
def add_lead_cmd(db: str, project: str, username: str, display_name: str | None, password: str) -> None:
    """Make USERNAME a lead of PROJECT (creating the account with the password asked for)."""
    server, Project, _d, project_url = _team()
    Project.open(project_url(db, project)).close()  # the project must exist on the server
    with _directory(db) as directory:
        try:
            account = directory.require_account(username)  # an existing account (even a disabled one) is reused
        except server.UnknownAccountError:
            account = directory.create_account(username, password, display_name=display_name)
        directory.add_member(project, account, "lead")
        directory.record(project, None, "member.add", target=username, after={"role": "lead", "by": "command line"})
    click.echo(f"{username} is a lead of {project}.")


@server_group.command("invite")
@_DB
@click.option("--project", required=True)
@click.option("--role", type=click.Choice(["lead", "coder", "viewer"]), default="coder", show_default=True)
@click.option("--hours", type=click.FloatRange(0.02, 720), default=72, show_default=True,
              help="How long the link stays valid.")
@click.option("--base-url", default="", metavar="URL", help="The server's public address.")
def invite_cmd(db: str, project: str, role: str, hours: float, base_url: str) -> None:
    """Print a single-use invitation link to PROJECT with ROLE, valid for HOURS."""
    _s, Project, _d, project_url = _team()
    Project.open(project_url(db, project)).close()
    with _directory(db) as directory:
        token = directory.invite(project, role, hours=hours)
        directory.record(project, None, "member.invite", after={"role": role, "hours": hours, "by": "command line"})
    click.echo(f"{base_url.rstrip('/')}/invite/{token}")


@server_group.command("revoke-sessions")
@_DB
@click.option("--username", required=True)
def revoke_cmd(db: str, username: str) -> None:
    """Log USERNAME out everywhere (e.g. after a lost laptop)."""
    with _directory(db) as directory:
        n = directory.revoke_all(directory.require_account(username))
    click.echo(f"Ended {n} session(s) of {username}.")


@contextlib.contextmanager
def _directory(db: str):
    """The team server's account directory on *db*, closed afterwards."""
    server, _p, database_url, _u = _team()
    directory = server.Directory(database_url(db))
    try:
        yield directory
    finally:
        directory.close()


def _new_password(password_file: Path | None) -> str:
    if password_file is None:
        return click.prompt("New password (at least 12 characters)", hide_input=True, confirmation_prompt=True)
    lines = password_file.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0]:
        raise click.ClickException(f"The first line of {password_file} is empty: put the new password there.")
    return lines[0]


@server_group.command("set-password")
@_DB
@click.option("--username", required=True)
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Read the new password from the first line of this file (otherwise it is asked for twice).")
def set_password_cmd(db: str, username: str, password_file: Path | None) -> None:
    """Give USERNAME a new password (for someone who forgot theirs) and log them out everywhere.

    The password is asked for twice and not shown; it needs at least 12 characters.  Tell the person
    their new password by a safe route; they can change it under "Change my password" once logged in.
    """
    password = _new_password(password_file)
    with _directory(db) as directory:
        ended = directory.set_password(username, password)
    click.echo(f"New password set for {username}; ended {ended} session(s).")


@server_group.command("disable-account")
@_DB
@click.option("--username", required=True)
def disable_cmd(db: str, username: str) -> None:
    """Stop USERNAME logging in, and log them out everywhere at once (their coding stays)."""
    with _directory(db) as directory:
        ended = directory.set_disabled(username, True)
    click.echo(f"The account {username} is disabled; ended {ended} session(s). Its coding and memos stay.")


@server_group.command("enable-account")
@_DB
@click.option("--username", required=True)
def enable_cmd(db: str, username: str) -> None:
    """Let USERNAME log in again after disable-account (with their old password)."""
    with _directory(db) as directory:
        directory.set_disabled(username, False)
    click.echo(f"The account {username} can log in again.")


@server_group.command("remove-member")
@_DB
@click.option("--project", required=True)
@click.option("--username", required=True)
def remove_member_cmd(db: str, project: str, username: str) -> None:
    """Take USERNAME out of PROJECT (their coding stays; the project disappears from their list)."""
    with _directory(db) as directory:
        role = directory.remove_from_project(project, username)
    click.echo(f"{username} (was {role}) is no longer a member of {project}.")


main.add_command(audit_command)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
