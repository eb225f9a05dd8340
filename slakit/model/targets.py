"""Targets: a figure to reach, which way is better, the period it is counted per, and
for a stepped target the baseline and the dated steps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .dates import parse_date
from .figures import Duration, Figure, Money, Percentage, parse_figure


def figure_value(value: Figure) -> Decimal:
    """The number behind a figure, for comparing figures of one kind."""
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, Percentage):
        return value.value
    if isinstance(value, Duration):
        return value.magnitude
    return value


@dataclass(frozen=True)
class Step:
    id: str
    by: dt.date
    value: Figure


@dataclass(frozen=True)
class Target:
    """What a commitment measures against. `steps` are in date order; a step is in force
    from its `by` date on (the day it must have been reached), the baseline before it."""

    metric: str
    value: Figure  # the final figure (a plain target's figure, or a stepped target's last step)
    better: str  # higher | lower
    per: str | None = None  # day | week | month | quarter | year
    baseline: Figure | None = None
    steps: tuple[Step, ...] = ()

    def value_on(self, day: dt.date) -> Figure:
        """The figure in force on `day`."""
        if not self.steps:
            return self.value
        current: Figure = self.baseline if self.baseline is not None else self.steps[0].value
        for step in self.steps:
            if step.by <= day:
                current = step.value
        return current

    def is_met(self, actual: Decimal, day: dt.date) -> bool:
        """Whether a measured number meets the figure in force on `day` (same unit as the figure)."""
        goal = figure_value(self.value_on(day))
        return actual >= goal if self.better == "higher" else actual <= goal

    def stricter(self, old: Decimal, new: Decimal) -> bool:
        """Whether moving from `old` to `new` asks more of the party."""
        return new > old if self.better == "higher" else new < old

    @classmethod
    def measure(cls, block: dict[str, Any]) -> Target:
        value = parse_figure(block["target"])
        assert value is not None
        return cls(block["metric"], value, block["better"], block.get("per"))

    @classmethod
    def stepped(cls, block: dict[str, Any]) -> Target:
        steps = []
        for step in block["steps"]:
            value = parse_figure(step["value"])
            day = parse_date(step["by"])
            assert value is not None and day is not None
            steps.append(Step(step["id"], day, value))
        steps.sort(key=lambda s: s.by)
        baseline = parse_figure(block["baseline"])
        return cls(block["metric"], steps[-1].value, block["better"], None, baseline, tuple(steps))
