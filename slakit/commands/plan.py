"""The plan command: the funnel of one agreement, month by month, with what-if figures."""

from __future__ import annotations

from pathlib import Path

from ..checking.validate import content_errors, validate_files
from ..errors import InputError, UsageError
from ..model.agreement import Agreement
from ..model.funnel import FunnelPlan
from ..output import plan as show


def run_plan(path: str, fmt: str, settings: tuple[str, ...]) -> tuple[str, bool]:
    """The plan in `fmt` and whether every month is covered. Problems in the file other than
    the shortfalls themselves stop it (InputError); a bad --set is a UsageError."""
    what_if: dict[str, str] = {}
    for setting in settings:
        name, sep, value = setting.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"--set {setting!r}: write NAME=VALUE, such as close_rate=40%")
        what_if[name.strip()] = value.strip()
    if not Path(path).is_file():
        raise UsageError(f"{path}: no such agreement file")
    report = validate_files([(Path(path), path)])
    result = report.files[0]
    blocking = [p for p in content_errors(result.problems) if p.rule != "funnel"]
    if blocking or result.document is None:
        raise InputError("\n".join(p.format() for p in blocking or result.problems) + "\nfix these, then plan again")
    agreement = Agreement.from_data(result.document.data)
    if agreement.funnel is None:
        raise InputError(f"{path}: the agreement has no goals.funnel to plan; the README's 'Funnel planning' shows one")
    if agreement.revenue is None:
        raise InputError(f"{path}: the funnel needs goals.revenue to start from")
    try:
        plan = agreement.funnel_plan(what_if)
    except ValueError as exc:
        raise UsageError(f"--set {exc}") from None
    assert isinstance(plan, FunnelPlan)
    return show.FORMATS[fmt](agreement, plan, what_if), not plan.shortfalls
