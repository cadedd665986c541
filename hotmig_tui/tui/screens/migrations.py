"""All migrations, running, queued and finished, with their progress; enter opens the monitor."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from hotmig_tui.engine import EngineEvent, RunHandle, RunState
from hotmig_tui.tui.run_view import progress_bar, route

REFRESH_S = 0.5


class MigrationsScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("enter", "open", "Monitor"),
    ]
    DEFAULT_CSS = """
    MigrationsScreen #title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    MigrationsScreen #runs { height: 1fr; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.cursor = 0
        self._dirty = True

    def compose(self) -> ComposeResult:
        yield Static("Migrations", id="title")
        yield Static(id="runs")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(REFRESH_S, self._redraw)
        self._redraw()

    @property
    def handles(self) -> list[RunHandle]:
        runs = list(self.app.engine.runs.values())  # type: ignore[attr-defined]
        order = {RunState.RUNNING: 0, RunState.QUEUED: 1, RunState.FINISHED: 2}
        return sorted(runs, key=lambda h: (order[h.state], -h.submitted_at))

    def engine_changed(self, event: EngineEvent) -> None:
        self._dirty = True  # redrawn by the timer: at most twice a second however many runs report

    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        handles = self.handles
        self.cursor = max(0, min(self.cursor, len(handles) - 1))
        table = Table(box=None, padding=(0, 1), expand=True, header_style="dim")
        for column in ("VM", "kind", "route", "phase", "progress", "time", "outcome"):
            table.add_column(column, no_wrap=True, overflow="ellipsis")
        for i, h in enumerate(handles):
            last = h.last
            outcome = ""
            if h.outcome is not None:
                o = h.outcome
                outcome = "ok" if o.ok else (o.cause.value if o.cause else o.phase.value)
            table.add_row(h.plan.vm, h.plan.kind.value, route(h), h.phase.value,
                          progress_bar(h.progress, 10), f"{last.t:.0f}s" if last else "",
                          outcome, style="reverse" if i == self.cursor else "")
        self.query_one("#runs", Static).update(table if handles else Text("no migrations yet", style="italic"))

    def action_move(self, step: int) -> None:
        self.cursor += step
        self._dirty = True
        self._redraw()

    def action_open(self) -> None:
        from hotmig_tui.tui.screens.monitor import MonitorScreen

        handles = self.handles
        if handles:
            self.app.push_screen(MonitorScreen(handles[self.cursor]))
