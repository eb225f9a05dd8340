"""The score command: agreements + CRM exports -> a scorecard in the format asked for."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..errors import InputError, UsageError
from ..model.dates import read_date
from ..world.clock import today
from ..world.load import Document, load_file
from ..world.zones import zone_links

if TYPE_CHECKING:
    from ..measuring.scorecard import Scorecard
    from ..model.agreement import Agreement


def load_agreements(paths: list[str]) -> list[Agreement]:
    """The valid agreements under `paths` (retired ones included: their record can be scored)."""
    # imported here, not with the module: the exports' reading has started by now, and goes on
    # on the other core while checking (jsonschema and all) loads
    from ..checking.validate import content_errors, validate_paths
    from ..model.agreement import Agreement

    report = validate_paths(paths or ["sla"], keep=True, outside=False)  # sign-off plays no part in a score
    errors = [p for f in report.files for p in content_errors(f.problems)]
    if errors:
        raise InputError("\n".join(p.format() for p in sorted(errors)) + "\nfix the agreements before scoring them")
    return [Agreement.from_data(f.document.data) for f in report.files if f.document is not None]


def format_for(fmt: str | None, out: str | None) -> str:
    """The format asked for, else the one --out's extension names, else text."""
    if fmt:
        return fmt
    suffix = Path(out).suffix.lower() if out else ""
    known = {".html": "html", ".htm": "html", ".md": "md", ".json": "json", ".csv": "csv", ".txt": "text"}
    if suffix and suffix not in known:  # scorecard.pdf would be text in a file named PDF
        raise UsageError(
            f"--out {out}: a scorecard is written as .txt, .md, .html, .json or .csv; name the file so, "
            "or give --format"
        )
    return known.get(suffix, "text")


def check_out(out: str | None, inputs: list[str | None]) -> None:
    """Refuse an --out that is one of the inputs: writing there would replace an export (or an
    agreement) with the scorecard."""
    if not out or not Path(out).exists():
        return
    for given in inputs:
        if given and Path(given).is_file() and Path(given).samefile(out):
            raise UsageError(f"--out {out} is an input of this run ({given}); give another file for the scorecard")


def read_columns(path: str | None) -> tuple[dict[str, Any], Document | None]:
    """A --columns file's mapping, and the document (for the places of its problems)."""
    if path is None:
        return {}, None
    doc, problems = load_file(Path(path), path)
    shape = (
        f"{path}: a --columns file is a mapping: leads, deals, activities (canonical column: export column), "
        "sources (export value: lead-source id), outcomes (deal stage: won, lost or open)"
    )
    if doc is None:
        # the loader speaks of agreements; an empty file or one that is not a mapping gets this file's words
        if any(p.rule == "empty" or "must be a mapping" in p.message for p in problems):
            raise UsageError(shape)
        raise UsageError("\n".join(p.format() for p in problems))
    if not isinstance(doc.data, dict):
        raise UsageError(
            f"{path}: a --columns file maps leads/deals/activities columns; found {type(doc.data).__name__}"
        )
    return doc.data, doc


def run_score(
    paths: list[str],
    leads: str | None,
    deals: str | None,
    activities: str | None,
    preset: str,
    columns: str | None,
    as_of: str | None,
    period: str,
    timezone: str | None,
    agreement_ids: list[str] | None = None,
) -> Scorecard:
    """Read the agreements and exports, and score every agreement."""
    # DuckDB loads here, not with the module: `make render` without a scorecard configured asks
    # this module only whether one is. numpy and the scoring load once the exports are being read.
    from ..world.exports import FIRST_YEAR, LAST_YEAR, Exports, column_map

    if not (leads or deals or activities):
        raise UsageError("give at least one export: --leads FILE (and --deals FILE, --activities FILE)")
    day = None
    if as_of is not None:
        day = read_date(as_of)  # any year, so one out of range is named as such below
        if day is None:
            raise UsageError(f"--as-of {as_of!r} is not a date written YYYY-MM-DD")
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise UsageError(f"--as-of {as_of}: give a date in the years {FIRST_YEAR} to {LAST_YEAR}")
    if timezone is not None:
        _check_zone(timezone)
    overrides, doc = read_columns(columns)
    mapping = column_map(preset, overrides, columns or "--columns", doc.locate if doc else None)
    files = [(kind, given) for kind, given in (("leads", leads), ("deals", deals), ("activities", activities)) if given]
    # The exports are read while the agreements are checked: DuckDB reads outside the GIL, so the
    # two share the cores. Times are read as wall-clock times, and made instants once the zone
    # (the first scored agreement's) is known.
    exports = Exports(mapping)
    try:
        exports.read_in_background(files)
        from ..measuring.scorecard import latest_timestamp, score

        agreements = load_agreements(paths)  # on an error, closing the exports stops their reading
        if agreement_ids:
            agreements = [a for a in agreements if a.id in agreement_ids]
        if not agreements:
            raise UsageError(f"no agreement found under {', '.join(paths or ['sla'])}")
        exports.wait()  # a problem of the options (a missing file) once the agreements are known good
        zone = timezone or agreements[0].timezone
        exports.localize(zone)
        # one zone by two names (US/Eastern is a link to America/New_York) is one zone
        zones = sorted({zone_links().get(a.timezone, a.timezone) for a in agreements})
        if timezone is None and len(zones) > 1 and exports.naive:
            raise UsageError(
                f"the exports' times without an offset are read in one time zone, and the agreements scored "
                f"are in {len(zones)} ({', '.join(zones)}): give the zone the CRM wrote them in with --timezone "
                "(timezone: in slakit.yaml's scorecard), "
                "or score the agreements one at a time"
            )
        ids: dict[str, str] = {}  # every lead-source id a --columns `sources` entry may name
        for a in agreements:
            ids = {**a.lead_sources, **ids}
        unknown = sorted({i for i in mapping.sources.values() if i not in ids})
        if unknown:
            known = ", ".join(ids) or "none (no commitment lists lead sources)"
            raise UsageError(
                f"{columns}: sources map to {', '.join(repr(i) for i in unknown)}, which "
                f"{'is not a lead-source id' if len(unknown) == 1 else 'are not lead-source ids'} of the agreement; "
                f"its ids: {known}"
            )
        # Scored while duplicate ids are still looked for on the other core (see Exports.localize);
        # the scorecard is given only when the exports have no problem.
        try:
            if day is None:  # the latest record, but never a day still to come (an expected close date)
                day = min(latest_timestamp(exports, zone) or dt.date(1970, 1, 1), today())
            card = score(agreements, exports, day, period)
        except Exception:
            exports.check()  # a problem of the exports (which scoring may have tripped on) comes first
            raise
        exports.check()
        return card
    except RuntimeError as exc:  # DuckDB's word for Ctrl-C during a query
        if "interrupted" in str(exc).lower():
            raise KeyboardInterrupt from None
        raise
    finally:
        exports.close()


def _check_zone(zone: str) -> None:
    try:
        ZoneInfo(zone)
    except (ValueError, OSError, KeyError):
        raise UsageError(f"--timezone {zone!r} is not an IANA time zone such as America/New_York") from None


CONFIG = "slakit.yaml"
CONFIG_KEYS = ("leads", "deals", "activities", "preset", "columns", "period", "timezone", "agreements")


def configured(folder: Path) -> dict[str, Any] | None:
    """The `scorecard:` section of slakit.yaml in `folder` (export paths made relative to it),
    or None when there is no such file or section: then `make render` publishes no scorecard."""
    path = folder / CONFIG
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    if all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        return None  # only comments: nothing configured
    doc, problems = load_file(path, CONFIG)
    if doc is None:
        raise InputError("\n".join(p.format() for p in problems))
    section = doc.data.get("scorecard") if isinstance(doc.data, dict) else None
    if section is None:
        return None
    if not isinstance(section, dict):
        raise InputError(f"{CONFIG}: scorecard must be a mapping of leads, deals, activities, preset, columns, period")
    unknown = sorted(set(section) - set(CONFIG_KEYS))
    if unknown:
        raise InputError(f"{CONFIG}: scorecard: unknown key {unknown[0]!r}; use {', '.join(CONFIG_KEYS)}")
    settings = dict(section)
    for key in ("leads", "deals", "activities", "columns"):
        if settings.get(key) is not None:
            settings[key] = str(folder / str(settings[key]))
    if not any(settings.get(k) for k in ("leads", "deals", "activities")):
        raise InputError(f"{CONFIG}: scorecard names no export; give leads (and deals, activities)")
    return settings


def configured_scorecard(paths: list[str], folder: Path) -> Scorecard | None:
    """The scorecard slakit.yaml asks `make render` to publish, or None."""
    settings = configured(folder)
    if settings is None:
        return None
    ids = settings.get("agreements")
    try:
        return run_score(
            paths,
            settings.get("leads"),
            settings.get("deals"),
            settings.get("activities"),
            str(settings.get("preset") or "canonical"),
            settings.get("columns"),
            None,
            str(settings.get("period") or "month"),
            settings.get("timezone"),
            [str(i) for i in ids] if isinstance(ids, list) else None,
        )
    except UsageError as exc:  # a wrong path in the config file is a problem of the input here
        raise InputError(f"{CONFIG}: scorecard: {exc.message}") from None
