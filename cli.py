"""slakit command line: parses options, calls the engine, sets the exit code."""

from __future__ import annotations

import os
import sys

# numpy's OpenBLAS starts a thread per core that spins for a while after loading; slakit does
# no linear algebra, and on two cores those threads took a tenth of a second from DuckDB.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click

from slakit import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="slakit")
def main() -> None:
    """Sales and marketing service level agreements, kept as code.

    \b
    Start with:
      slakit init              set up a repository for agreements (sla/, schema, hook, workflow)
      slakit new KIND ID       start an agreement from a commented starter
      slakit validate          check every agreement under sla/
      slakit render            publish them to dist/ (what `make render` runs)
      slakit diff              what changed since the last commit
      slakit status            status, sign-off and reviews due, per agreement
      slakit COMMAND --help    each command, with an example
    """


class Progress:
    """A progress bar on stderr for work that takes more than a moment, only on a terminal."""

    def __init__(self, label: str, at_least: int = 50):
        self.label, self.at_least = label, at_least
        self.bar: object | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if total < self.at_least or not sys.stderr.isatty():
                return
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)  # type: ignore[attr-defined]
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)  # type: ignore[attr-defined]
            self.bar = None


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--strict", is_flag=True, help="Treat warnings (overdue review, stale signature, ...) as errors.")
@click.option(
    "--enforce-signoff",
    is_flag=True,
    envvar="SLAKIT_ENFORCE_SIGNOFF",
    help="Stale and missing signatures of an active agreement are errors (what a merge to main "
    "needs) [env: SLAKIT_ENFORCE_SIGNOFF=1].",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text for people, json for machines, github for workflow annotations.",
)
@click.option(
    "--context",
    "context",
    multiple=True,
    type=click.Path(),
    metavar="FOLDER",
    help="Also read the agreements here, to catch an id used twice, but report only on PATHS (what the pre-commit hook does).",
)
def validate(paths: tuple[str, ...], strict: bool, enforce_signoff: bool, fmt: str, context: tuple[str, ...]) -> None:
    """Check agreements: YAML, schema and semantic rules. PATHS are files or folders (default: sla/).

    \b
    Example:
      slakit validate sla/company-a-lead-management.yaml --strict
    """
    from slakit.checking.validate import validate_paths
    from slakit.output import report

    result = validate_paths(paths or ("sla",), strict=strict, context=context, enforce_signoff=enforce_signoff)
    if fmt == "text":
        click.echo(report.text(result, colour=report.use_colour(sys.stdout.isatty())), nl=False)
    else:
        click.echo(report.FORMATS[fmt](result), nl=False)
    sys.exit(0 if result.ok else 1)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    default="dist",
    show_default=True,
    help="Folder the Markdown and HTML are written to.",
)
@click.option(
    "--templates",
    type=click.Path(file_okay=False),
    envvar="SLAKIT_TEMPLATES",
    help="Folder of templates searched before the built-in ones [env: SLAKIT_TEMPLATES].",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors: they stop the build.")
@click.option("--quiet", "-q", is_flag=True, help="Print problems only.")
@click.option("--pdf", is_flag=True, help="Also write a PDF of each agreement (dist/<id>.pdf).")
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"], case_sensitive=False),
    default="a4",
    show_default=True,
    help="Paper size of the PDFs.",
)
def render(
    paths: tuple[str, ...], out: str, templates: str | None, strict: bool, quiet: bool, pdf: bool, paper: str
) -> None:
    """Validate agreements and publish them as Markdown and HTML (default: sla/ to dist/).

    Nothing is written unless every agreement is valid; unchanged files are left alone.
    With --pdf, each agreement is also printed to a PDF; a build without --pdf removes
    the PDFs an earlier build wrote, so none is left behind out of date.

    \b
    Examples:
      slakit render sla --out dist --templates my-templates
      slakit render --pdf --paper letter
    """
    from pathlib import Path

    from slakit.commands.build import BuildFailed, build
    from slakit.output import report

    colour = report.use_colour(sys.stdout.isatty())
    progress = Progress("Building")
    try:
        result = build(
            list(paths or ("sla",)),
            Path(out),
            Path(templates) if templates else None,
            strict,
            progress,
            pdf=paper.lower() if pdf else None,
        )
    except BuildFailed as failed:
        progress.close()
        click.echo(report.text(failed.report, colour=colour), nl=False)
        raise
    for problem in result.warnings:
        click.echo(report.problem_line(problem, colour))
    for note in result.notes if not quiet else []:
        click.echo(note)
    if not quiet:
        click.echo(
            f"{len(result.rendered)} rendered, {len(result.unchanged)} unchanged; "
            f"{len(result.written)} file{'s' * (len(result.written) != 1)} written, "
            f"{len(result.removed)} removed in {out}/"
        )


@main.command()
@click.argument("args", nargs=-1, metavar="[REV_A [REV_B]] [PATH...]")
@click.option(
    "--files",
    "files",
    nargs=2,
    type=click.Path(dir_okay=False),
    metavar="OLD NEW",
    help="Compare two agreement files instead of Git revisions.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "md", "html", "json"]), default="text", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the report to this file instead of the terminal.")
@click.option("--show-moves", is_flag=True, help="Also list items that only moved within a list.")
@click.option(
    "--critic",
    is_flag=True,
    help="Mark the Markdown redline with CriticMarkup ({--old--}{++new++}) instead of <del>/<ins>.",
)
@click.option(
    "--templates",
    type=click.Path(file_okay=False),
    envvar="SLAKIT_TEMPLATES",
    help="Folder of templates searched before the built-in ones [env: SLAKIT_TEMPLATES].",
)
def diff(
    args: tuple[str, ...],
    files: tuple[str, str] | None,
    fmt: str,
    out: str | None,
    show_moves: bool,
    critic: bool,
    templates: str | None,
) -> None:
    """Show what changed in the agreements between two revisions.

    No revision: HEAD against the working tree. One: that revision against the working
    tree. Two: the first against the second. Revisions are anything Git accepts (tags,
    branches, HEAD~3). An argument naming an existing file or folder is a PATH; without
    one, every agreement under sla/ is compared.

    \b
    Examples:
      slakit diff                          # uncommitted changes
      slakit diff v1.0 HEAD --format md    # a pull-request comment
      slakit diff --files old.yaml new.yaml
    """
    from pathlib import Path

    from slakit.commands.diff import run_diff

    text, ok = run_diff(
        list(args),
        files,
        fmt,
        show_moves,
        Path(templates) if templates else None,
        colour=sys.stdout.isatty() and out is None,
        critic=critic,
    )
    if out:
        from slakit.world.files import write_output

        write_output(Path(out), text)
    else:
        click.echo(text, nl=False)
    sys.exit(0 if ok else 1)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[AGREEMENT...]")
@click.option("--leads", type=click.Path(dir_okay=False), help="Leads export (CSV, XLSX or Parquet).")
@click.option("--deals", type=click.Path(dir_okay=False), help="Deals export (CSV, XLSX or Parquet).")
@click.option("--activities", type=click.Path(dir_okay=False), help="Activities export: feedback requests and answers.")
@click.option(
    "--preset",
    type=click.Choice(["canonical", "hubspot", "salesforce"]),
    default="canonical",
    show_default=True,
    help="The column names the exports use.",
)
@click.option("--columns", type=click.Path(dir_okay=False), help="YAML file overriding column names and source values.")
@click.option(
    "--as-of", "as_of", metavar="DATE", help="Score up to this date (default: the latest date in the exports)."
)
@click.option("--period", type=click.Choice(["month", "quarter"]), default="month", show_default=True)
@click.option("--timezone", metavar="ZONE", help="Zone of timestamps without an offset (default: the agreement's).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "md", "html", "json", "csv"]),
    help="Output format (default: from --out's extension, .txt .md .html .json .csv; else text).",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file instead of the terminal.")
def score(
    paths: tuple[str, ...],
    leads: str | None,
    deals: str | None,
    activities: str | None,
    preset: str,
    columns: str | None,
    as_of: str | None,
    period: str,
    timezone: str | None,
    fmt: str | None,
    out: str | None,
) -> None:
    """Measure every commitment against CRM exports, period by period, with the escalation step in force.

    \b
    Example:
      slakit score sla/company-a-lead-management.yaml --leads leads.csv \\
          --deals deals.xlsx --preset hubspot --format html --out scorecard.html
    """
    from pathlib import Path

    from slakit.commands.score import check_out, format_for, run_score

    fmt = format_for(fmt, out)
    check_out(out, [leads, deals, activities, columns, *paths])
    card = run_score(list(paths), leads, deals, activities, preset, columns, as_of, period, timezone)
    # loaded after the scoring, which has loaded numpy by then
    from slakit.output import scorecard
    from slakit.output.report import use_colour

    if fmt == "text":
        text = scorecard.as_text(card, colour=use_colour(sys.stdout.isatty()) and out is None)
    else:
        text = scorecard.FORMATS[fmt](card)
    if out:
        from slakit.world.files import write_output

        write_output(Path(out), text)
    else:
        click.echo(text, nl=False)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--since", metavar="REV|DATE", help="Only changes after this revision, or from this date (YYYY-MM-DD).")
@click.option("--until", metavar="REV|DATE", help="Only changes up to this revision, or to this date (YYYY-MM-DD).")
@click.option("--quarter", metavar="YYYY-Qn", help="Only this quarter, e.g. 2026-Q3.")
@click.option(
    "--fiscal-year-start",
    "fy_start",
    type=int,
    default=1,
    show_default=True,
    metavar="MONTH",
    help="Month (1-12) the fiscal year starts in; a year starting later than January is named after the year it ends in.",
)
@click.option(
    "--terms-only", is_flag=True, help="Leave out commits that did not change the terms (only status, signatures, ...)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "md", "html", "json"]),
    help="text on a terminal, md (Markdown) when written to a file or a pipe, unless given.",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file instead of the terminal.")
@click.option(
    "--templates",
    type=click.Path(file_okay=False),
    envvar="SLAKIT_TEMPLATES",
    help="Folder of templates searched before the built-in ones [env: SLAKIT_TEMPLATES].",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Work everything out afresh: neither read nor write the cache of compared revisions in the Git folder.",
)
def changelog(
    paths: tuple[str, ...],
    since: str | None,
    until: str | None,
    quarter: str | None,
    fy_start: int,
    terms_only: bool,
    fmt: str | None,
    out: str | None,
    templates: str | None,
    no_cache: bool,
) -> None:
    """The semantic changes of every commit to the agreements, grouped by quarter (newest first).

    Read from Git history (default: sla/). Each quarter opens with a summary per agreement
    and the reviews that fall in it; a tag review/<id>/<YYYY-Qn> (FY<YYYY>-Qn with
    --fiscal-year-start) marks a review held.

    \b
    Examples:
      slakit changelog --quarter 2026-Q3
      slakit changelog --since 2026-01-01 --format html --out changelog.html
    """
    from pathlib import Path

    from slakit.commands.changelog import render as render_changelog
    from slakit.output.report import use_colour

    terminal = sys.stdout.isatty() and not out
    fmt = fmt or ("text" if terminal else "md")
    progress = Progress("Reading history")
    text = render_changelog(
        fmt,
        list(paths or ("sla",)),
        since,
        until,
        quarter,
        fy_start,
        terms_only,
        Path(templates) if templates else None,
        progress,
        colour=use_colour(terminal),
        cache=not no_cache,
    )
    progress.close()
    if out:
        from slakit.world.files import write_output

        write_output(Path(out), text)
    else:
        click.echo(text, nl=False)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def status(paths: tuple[str, ...], fmt: str) -> None:
    """A short table: each agreement's status, last change, next review, sign-off, and what needs attention.

    Marks reviews overdue or due within 14 days, and invalid agreements (then exits 1).

    \b
    Example:
      slakit status
    """
    import json

    from slakit.commands.status import status_rows, status_table
    from slakit.output.report import printable, use_colour
    from slakit.world.clock import today

    rows = status_rows(list(paths or ("sla",)), today())
    ok = all(r["valid"] for r in rows)
    if fmt == "json":
        click.echo(json.dumps({"agreements": rows}, indent=2))
        sys.exit(0 if ok else 1)
    table = status_table(rows)
    colour = use_colour(sys.stdout.isatty())
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for n, row in enumerate(table):
        line = printable("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if colour and n == 0:
            line = click.style(line, underline=True)
        elif colour and ("INVALID" in row[-1] or "OVERDUE" in row[-1]):
            line = click.style(line, fg="red")
        elif colour and row[-1]:
            line = click.style(line, fg="magenta")
        click.echo(line)
    sys.exit(0 if ok else 1)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--name", required=True, help="Who signs, as listed under stakeholders or a party's members.")
@click.option("--role", required=True, help="The role signed in, one the agreement gives them.")
@click.option("--party", help="The party signed for (found from the person when omitted).")
@click.option("--date", "when", metavar="YYYY-MM-DD", help="The day of signing (default: today).")
@click.option(
    "--key",
    type=click.Path(dir_okay=False),
    help="Your private SSH key (e.g. ~/.ssh/id_ed25519): the signature is then verified against "
    "allowed_signers; without it, it is recorded unverified.",
)
def sign(path: str, name: str, role: str, party: str | None, when: str | None, key: str | None) -> None:
    """Record a signature in an agreement, bound to the digest of its current terms.

    Only the signature's lines are added to the file: comments and formatting stay as they
    are. When the terms change later, the signature shows as stale until signed again.
    With --key, the signer's SSH key signs the statement (ssh-keygen -Y sign), and the
    repository's allowed_signers file must give that key to the signer's e-mail address.

    \b
    Example:
      slakit sign sla/social-selling.yaml --name "Priya Raman" --role "Marketing program manager" --key ~/.ssh/id_ed25519
    """
    from pathlib import Path

    from slakit.commands.sign import sign as record
    from slakit.output.report import printable

    click.echo(printable(record(Path(path), name, role, party, when, Path(key) if key else None)))


@main.command()
@click.argument("kind", type=click.Choice(["lead-management", "social-selling", "buyer-journey-handoff"]))
@click.argument("ident", metavar="ID")
@click.option("--title", help="The agreement's title (default: one for the kind).")
@click.option("--folder", type=click.Path(file_okay=False), default="sla", show_default=True)
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone, such as America/Chicago.")
def new(kind: str, ident: str, title: str | None, folder: str, timezone: str) -> None:
    """Start a new agreement from a commented starter: sla/<ID>.yaml, valid as written.

    \b
    Example:
      slakit new lead-management acme-2027 --title "Acme lead management 2027"
    """
    from pathlib import Path

    from slakit.commands.new import new_agreement

    path = new_agreement(kind, ident, title, Path(folder), timezone)
    click.echo(f"created {path}: edit it, then run `slakit validate`")
    if not (Path(folder).parent / "schema" / "sla.schema.json").is_file():
        click.echo("tip: `slakit init` sets up editor completion, the pre-commit hook and a workflow here")


@main.command()
@click.option(
    "--source",
    metavar="SPEC",
    help="What pip installs slakit from in the hook and workflow, e.g. 'slakit @ git+https://github.com/OWNER/slakit@TAG' "
    "(default: where this slakit came from).",
)
def init(source: str | None) -> None:
    """Set up this repository for agreements; files that exist are left as they are.

    Writes sla/, schema/sla.schema.json (editor completion), .vscode/settings.json (the
    schema mapped to sla/*.yaml), .pre-commit-config.yaml (the validate hook),
    .github/workflows/sla.yml (checks pull requests, publishes main) and a README section.

    \b
    Example:
      slakit init
      slakit new lead-management acme-2027
    """
    from pathlib import Path

    from slakit.commands.init import init_repository

    for line in init_repository(Path.cwd(), source):
        click.echo(line)


@main.command()
@click.option("--out", type=click.Path(dir_okay=False), help="Write the schema to this file instead of the terminal.")
def schema(out: str | None) -> None:
    """Print the agreements' JSON Schema (what editors complete and check fields from).

    \b
    Example:
      slakit schema --out schema/sla.schema.json
    """
    from pathlib import Path

    from slakit.commands.init import schema_text, write_schema

    if out:
        write_schema(Path(out))
    else:
        click.echo(schema_text(), nl=False)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--out", type=click.Path(file_okay=False), default="dist", show_default=True)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (localhost only by default)."
)
@click.option("--port", type=int, default=8000, show_default=True, help="Port to listen on; 0 picks a free one.")
@click.option(
    "--templates",
    type=click.Path(file_okay=False),
    envvar="SLAKIT_TEMPLATES",
    help="Folder of templates searched before the built-in ones [env: SLAKIT_TEMPLATES].",
)
def preview(paths: tuple[str, ...], out: str, host: str, port: int, templates: str | None) -> None:
    """Serve the published agreements locally; rebuild and reload the page on every change.

    Validation errors are shown on the page instead of stopping the server.

    \b
    Example:
      slakit preview --port 8080     # then open http://127.0.0.1:8080/
    """
    from pathlib import Path

    from slakit.commands.preview import serve

    serve(
        list(paths or ("sla",)),
        Path(out),
        Path(templates) if templates else None,
        host,
        port,
        log=lambda line: click.echo(line, err=False),
    )


@main.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "md", "json"]), default="text", show_default=True)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="What if: replace a figure for the whole plan without editing the file (close_rate=40%, deal_size=25000, "
    "sql_rate, opportunity_rate, marketing_share, sales_cycle='40 days', mqls, lead_value). Repeatable.",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the plan to this file instead of the terminal.")
def plan(path: str, fmt: str, settings: tuple[str, ...], out: str | None) -> None:
    """Work out the funnel of an agreement month by month: revenue, won deals, opportunities,
    SQLs and the MQLs needed, beside the committed lead volume and lead value.

    Exits 1 when the commitment falls short in any month.

    \b
    Examples:
      slakit plan sla/company-a-lead-management.yaml
      slakit plan sla/company-a-lead-management.yaml --set close_rate=40% --format json
    """
    from slakit.commands.plan import run_plan

    text, covered = run_plan(path, fmt, settings)
    if out:
        from pathlib import Path

        from slakit.world.files import write_output

        write_output(Path(out), text)
    else:
        click.echo(text, nl=False)
    sys.exit(0 if covered else 1)


def validate_hook() -> None:
    """Entry point of the `slakit-validate` pre-commit hook: validate the files it is given,
    in the context of every agreement under sla/ (an id used twice is caught)."""
    main(["validate", "--context", "sla", *sys.argv[1:]], prog_name="slakit-validate")


if __name__ == "__main__":
    main(prog_name="slakit")
