"""slakit command line: parses options, calls the engine, sets the exit code."""

from __future__ import annotations

import sys

import click

from slakit import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="slakit")
def main() -> None:
    """Sales and marketing service level agreements, kept as code."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--strict", is_flag=True, help="Treat warnings (overdue review, ...) as errors.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text", show_default=True,
              help="text for people, json for machines, github for workflow annotations.")
def validate(paths: tuple[str, ...], strict: bool, fmt: str) -> None:
    """Check agreements: YAML, schema and semantic rules. PATHS are files or folders (default: sla/).

    \b
    Example:
      python cli.py validate sla/company-a-lead-management.yaml --strict
    """
    from slakit import report
    from slakit.validate import validate_paths

    result = validate_paths(paths or ("sla",), strict=strict)
    if fmt == "text":
        click.echo(report.text(result, colour=report.use_colour(sys.stdout.isatty())), nl=False)
    else:
        click.echo(report.FORMATS[fmt](result), nl=False)
    sys.exit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
