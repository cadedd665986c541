"""Read a run's samples into what the monitor shows (pure functions over the engine's handle)."""

from __future__ import annotations

from rich.text import Text

from hotmig_tui.core.describe import outcome_summary, sample_facts
from hotmig_tui.core.run import Phase, Sample
from hotmig_tui.core.units import MiB
from hotmig_tui.engine import RunHandle
from hotmig_tui.tui.widgets.chart import Series


def route(handle: RunHandle) -> str:
    plan = handle.plan
    target = plan.target_host or plan.source
    disks = f" [{plan.target_datastore}]" if plan.target_datastore else ""
    return f"{plan.source} → {target}{disks}"


def rate_series(handle: RunHandle) -> list[Series]:
    memory = [s for s in handle.samples if s.phase is not Phase.MIRROR]
    xs = [s.t for s in memory]
    series = []
    if any(s.dirty_rate is not None for s in memory):
        series.append(Series("dirty", xs, [(s.dirty_rate or 0) / MiB for s in memory], "error"))
    if any(s.transfer_rate is not None for s in memory):
        series.append(Series("transfer", xs, [(s.transfer_rate or 0) / MiB for s in memory], "primary"))
    return series


def remaining_series(handle: RunHandle) -> list[Series]:
    memory = [s for s in handle.samples if s.memory_remaining is not None and s.phase is not Phase.MIRROR]
    if not memory:
        return []
    return [Series("remaining", [s.t for s in memory], [s.memory_remaining / MiB for s in memory], "accent")]


def disk_series(handle: RunHandle) -> list[Series]:
    names = list(dict.fromkeys(name for s in handle.samples for name in s.disks))
    colours = ["primary", "accent", "success", "secondary", "warning"]
    series = []
    for i, name in enumerate(names):
        points = [(s.t, s.disks[name].fraction * 100) for s in handle.samples if name in s.disks]
        series.append(Series(name, [p[0] for p in points], [p[1] for p in points], colours[i % len(colours)]))
    return series


def downtime_series(handle: RunHandle) -> list[Series]:
    samples = [s for s in handle.samples if s.expected_downtime is not None]
    if not samples:
        return []
    xs = [s.t for s in samples]
    series = [Series("expected", xs, [min(s.expected_downtime or 0, 60) * 1000 for s in samples], "warning")]
    limits = [s for s in samples if s.max_downtime is not None]
    if limits:
        series.append(Series("limit", [s.t for s in limits], [(s.max_downtime or 0) * 1000 for s in limits], "primary"))
    outcome = handle.outcome
    if outcome and outcome.downtime is not None:
        series.append(Series("real", [xs[-1]], [outcome.downtime * 1000], "success", marker="o"))
    return series


def status_line(handle: RunHandle) -> Text:
    s: Sample | None = handle.last
    text = Text(no_wrap=True, overflow="ellipsis")
    if handle.queued_because:
        return text.append(handle.queued_because, style="italic")
    if s is None:
        return text.append("preparing…", style="italic")
    return text.append(" · ".join([f"{s.t:5.1f} s", *sample_facts(s)]))


def outcome_line(handle: RunHandle) -> Text | None:
    return Text(outcome_summary(handle.outcome), style="bold") if handle.outcome is not None else None


def progress_bar(fraction: float | None, width: int = 12) -> str:
    if fraction is None:
        return "·" * width
    done = round(fraction * width)
    return "█" * done + "░" * (width - done)
