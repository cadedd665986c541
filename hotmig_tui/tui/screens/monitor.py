"""The monitor: one run's phases, live charts, its log, and the keys to tune or stop it."""

from __future__ import annotations

import contextlib

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static

from hotmig_tui.core.run import LogLine, MigrationKind, Sample
from hotmig_tui.core.units import MiB
from hotmig_tui.engine import EngineEvent, RunHandle, RunState
from hotmig_tui.tui.run_view import (
    disk_series,
    downtime_series,
    outcome_line,
    rate_series,
    remaining_series,
    route,
    status_line,
)
from hotmig_tui.tui.screens.dialogs import AskValue, Confirm
from hotmig_tui.tui.widgets.chart import Chart
from hotmig_tui.tui.widgets.stepper import PhaseStepper, stepper_text

DOWNTIME_FACTOR = 1.5  # each + or - multiplies or divides the limit in force
LOG_STYLE = {"policy": "bold", "warning": "yellow", "error": "bold red", "info": ""}


class MonitorScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("a", "abort", "Abort"),
        Binding("plus,equals_sign", "downtime(1)", "+downtime"),
        Binding("minus", "downtime(-1)", "-downtime"),
        Binding("b", "bandwidth", "Bandwidth"),
        Binding("p", "postcopy", "Post-copy"),
    ]
    DEFAULT_CSS = """
    MonitorScreen #title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    MonitorScreen #charts { grid-size: 2 2; height: 1fr; min-height: 10; }
    MonitorScreen #status { height: 1; padding: 0 1; }
    MonitorScreen #outcome { height: auto; padding: 0 1; display: none; }
    MonitorScreen #outcome.shown { display: block; }
    MonitorScreen RichLog { height: 6; border-top: solid $panel; padding: 0 1; }
    """

    def __init__(self, handle: RunHandle) -> None:
        super().__init__()
        self.handle = handle
        self._log_seen = 0
        self._drawn = False

    def compose(self) -> ComposeResult:
        plan = self.handle.plan
        yield Static(f"{plan.vm} · {plan.kind.value} migration · {route(self.handle)}", id="title")
        yield PhaseStepper(id="stepper")
        with Grid(id="charts"):
            if plan.kind is MigrationKind.STORAGE:
                yield Chart("mirror sync (%)", lambda: disk_series(self.handle), y_range=(0, 100), id="disks")
            else:
                yield Chart("dirty vs transfer (MiB/s)", lambda: rate_series(self.handle), id="rates")
                yield Chart("remaining memory (MiB)", lambda: remaining_series(self.handle), id="remaining")
                yield Chart("downtime: expected vs limit (ms)", lambda: downtime_series(self.handle), id="downtime")
                if plan.kind is MigrationKind.WHOLE:
                    yield Chart("disk mirror (%)", lambda: disk_series(self.handle), y_range=(0, 100), id="disks")
        yield Static(id="status")
        yield Static(id="outcome")
        yield RichLog(max_lines=500, wrap=True, markup=False, id="log")
        yield Footer()

    def on_mount(self) -> None:
        self._refresh_all(charts=True)
        self._drawn = True

    def engine_changed(self, event: EngineEvent) -> None:
        """Called by the app's handler for every engine event."""
        if event.handle is not self.handle or not self._drawn:
            return  # until on_mount has drawn everything at once
        update = getattr(event, "update", None)
        with contextlib.suppress(NoMatches):  # the screen is being torn down (app exiting)
            self._refresh_all(charts=isinstance(update, Sample) or update is None)

    def _refresh_all(self, charts: bool) -> None:
        colours = {n: getattr(self.app.current_theme, n) or self.app.current_theme.primary
                   for n in ("success", "accent", "error", "warning")}
        self.query_one(PhaseStepper).update(stepper_text(self.handle.plan.kind, self.handle.phase, colours,
                                                             self.handle.reached))
        self.query_one("#status", Static).update(status_line(self.handle))
        log = self.query_one(RichLog)
        for line in self.handle.log[self._log_seen:]:
            log.write(_log_text(line))
        self._log_seen = len(self.handle.log)
        outcome = outcome_line(self.handle)
        if outcome is not None:
            widget = self.query_one("#outcome", Static)
            widget.update(outcome)
            widget.add_class("shown")
            widget.styles.color = colours["success"] if self.handle.outcome.ok else colours["error"]  # type: ignore[union-attr]
        if charts:
            for chart in self.query(Chart):
                chart.mark_changed()

    # --- actions ---------------------------------------------------------------------------------------
    def _tunable(self) -> bool:
        if self.handle.state is RunState.RUNNING:
            return True
        self.notify(f"the run is {self.handle.state.value}: nothing to change", severity="warning")
        return False

    @work
    async def action_abort(self) -> None:
        if self.handle.state is RunState.FINISHED:
            self.notify("the run has ended", severity="warning")
            return
        if await self.app.push_screen_wait(Confirm(
                f"Abort the migration of {self.handle.plan.vm}? It keeps running on {self.handle.plan.source}.",
                yes="Abort")):
            await self._engine_call(self.app.engine.abort(self.handle))  # type: ignore[attr-defined]

    async def action_downtime(self, direction: int) -> None:
        if not self._tunable():
            return
        current = (self.handle.last.max_downtime if self.handle.last else None) or 0.3
        new = current * DOWNTIME_FACTOR if direction > 0 else current / DOWNTIME_FACTOR
        new = round(max(0.01, min(new, 60.0)), 3)
        await self._engine_call(self.app.engine.set_max_downtime(self.handle, new))  # type: ignore[attr-defined]

    @work
    async def action_bandwidth(self) -> None:
        if not self._tunable():
            return
        answer = await self.app.push_screen_wait(
            AskValue("Bandwidth limit in MiB/s (empty: unlimited)", placeholder="e.g. 100"))
        if answer is None:
            return
        try:
            value = float(answer) * MiB if answer.strip() else None
        except ValueError:
            self.notify(f"not a number: {answer!r}", severity="error")
            return
        if value is not None and value <= 0:
            self.notify("the limit must be positive", severity="error")
            return
        await self._engine_call(self.app.engine.set_bandwidth(self.handle, value))  # type: ignore[attr-defined]

    @work
    async def action_postcopy(self) -> None:
        if not self._tunable():
            return
        if await self.app.push_screen_wait(Confirm(
                "Switch to post-copy? The VM will run on the target at once and fetch the rest of its memory from "
                "the source: if either host or the network fails now, the VM is lost.", yes="Switch")):
            await self._engine_call(self.app.engine.start_postcopy(self.handle))  # type: ignore[attr-defined]

    async def _engine_call(self, coro) -> None:  # type: ignore[no-untyped-def]
        try:
            await coro
        except Exception as exc:  # the backend says why it cannot (e.g. post-copy was not allowed)
            self.notify(str(exc), title="not done", severity="error", timeout=8)


def _log_text(line: LogLine) -> Text:
    return Text(f"{line.t:6.1f}s {line.text}", style=LOG_STYLE.get(line.level, ""))
