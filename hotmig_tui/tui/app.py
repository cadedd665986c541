"""The Textual app: owns no inventory state of its own, it shows the backend's latest snapshot."""

from __future__ import annotations

from collections.abc import Iterable

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from hotmig_tui.backends.base import Backend
from hotmig_tui.core.rules import CheckContext, check
from hotmig_tui.core.run import MigrationPlan
from hotmig_tui.engine import Engine, RunHandle, RunState, StoreProblem
from hotmig_tui.history.audit import AuditLog
from hotmig_tui.history.store import History
from hotmig_tui.tui.messages import BackendProblem, EngineChanged, InventoryChanged
from hotmig_tui.tui.screens.dialogs import Confirm
from hotmig_tui.tui.screens.inventory import InventoryScreen
from hotmig_tui.tui.screens.migrations import MigrationsScreen
from hotmig_tui.tui.screens.monitor import MonitorScreen
from hotmig_tui.tui.themes import DEFAULT_THEME, load_themes


class HotmigApp(App[None]):
    TITLE = "hotmig"
    BINDINGS = [
        Binding("q", "quit_safely", "Quit"),
        Binding("t", "next_theme", "Theme"),
        Binding("g", "migrations", "Migrations"),
    ]

    def __init__(self, backend: Backend, source_label: str = "", theme_name: str | None = None,
                 engine: Engine | None = None, start: list[MigrationPlan] | None = None) -> None:
        super().__init__()
        self._start = start or []  # migrations to start at launch (`hotmig demo --start ...`)
        self.backend = backend
        self.source_label = source_label
        self._wanted_theme = theme_name
        self.hotmig_themes: list[str] = []
        self.engine = engine or Engine(backend, History(), AuditLog())

    def on_mount(self) -> None:
        themes, problems = load_themes()
        for theme in themes:
            self.register_theme(theme)
        self.hotmig_themes = [t.name for t in themes]
        for problem in problems:
            self.notify(str(problem), title="theme skipped", severity="warning", timeout=10)
        wanted = self._wanted_theme or DEFAULT_THEME
        if wanted in self.available_themes:
            self.theme = wanted
        else:
            self.notify(f"no theme named {wanted!r}; have {', '.join(self.hotmig_themes)}", severity="warning")
            if DEFAULT_THEME in self.available_themes:
                self.theme = DEFAULT_THEME
        self.push_screen(InventoryScreen(self.backend.snapshot(), self.source_label, self.backend.label))
        self.watch_backend()
        self.watch_engine()
        if self._start:
            self.call_after_refresh(self._start_requested)

    @work(exclusive=True, group="backend")
    async def watch_backend(self) -> None:
        """Connect, then forward every change as a message (workers never touch widgets)."""
        try:
            changes = self.backend.changes()
            await self.backend.connect()
            self.post_message(InventoryChanged(_initial_change(self.backend)))
            async for change in changes:
                self.post_message(InventoryChanged(change))
        except Exception as exc:  # a backend failure must not take the dashboard down
            self.post_message(BackendProblem(f"{type(exc).__name__}: {exc}"))

    @work(exclusive=True, group="engine")
    async def watch_engine(self) -> None:
        async for event in self.engine.events():
            self.post_message(EngineChanged(event))

    @on(EngineChanged)
    def _engine_changed(self, message: EngineChanged) -> None:
        if isinstance(message.event, StoreProblem):
            self.notify(message.event.text, title="history", severity="error", timeout=15)
            return
        for screen in self.screen_stack:
            handler = getattr(screen, "engine_changed", None)
            if handler is not None:
                handler(message.event)

    def _start_requested(self) -> None:
        """Each requested run is checked like any other; one that a constraint blocks is not started."""
        watched = False
        for plan in self._start:
            blocking = [f for f in check(plan, self.backend.snapshot(), CheckContext()) if f.blocks]
            if blocking:
                self.notify(f"{plan.vm}: not started: " + "; ".join(f"{f.rule} {f.message}" for f in blocking),
                            severity="error", timeout=15)
                continue
            self.start_migration(plan, watch=not watched)
            watched = True

    def start_migration(self, plan: MigrationPlan, watch: bool = True) -> RunHandle:
        """Queue a run (already checked and confirmed by the caller) and open its monitor."""
        handle = self.engine.submit(plan)
        if watch:
            self.push_screen(MonitorScreen(handle))
        return handle

    @property
    def migrating(self) -> int:
        return sum(h.state is not RunState.FINISHED for h in self.engine.runs.values())

    def action_migrations(self) -> None:
        """Back to the migrations list if one is open under the current screen, else open it."""
        if any(isinstance(s, MigrationsScreen) for s in self.screen_stack):
            while not isinstance(self.screen, MigrationsScreen):
                self.pop_screen()
        else:
            self.push_screen(MigrationsScreen())

    @on(InventoryChanged)
    def _inventory_changed(self, message: InventoryChanged) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, InventoryScreen):
                screen.show_inventory(message.change.inventory)
        if message.change.text:
            self.notify(message.change.text, timeout=4)

    @on(BackendProblem)
    def _backend_problem(self, message: BackendProblem) -> None:
        self.notify(message.text, title="backend", severity="error", timeout=15)

    def action_next_theme(self) -> None:
        names = self.hotmig_themes or list(self.available_themes)
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"theme: {self.theme}", timeout=2)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Next hotmig theme", "Cycle dark, light and 256-colour themes", self.action_next_theme)
        yield SystemCommand("Migrate VM…", "Guided migration: VM, kind, target, options, review, confirm",
                            self.action_migrate_vm)

    def action_migrate_vm(self) -> None:
        inventory = next((s for s in self.screen_stack if isinstance(s, InventoryScreen)), None)
        if inventory is not None:
            inventory.open_wizard(choose_vm=True)

    @work
    async def action_quit_safely(self) -> None:
        """Quitting with migrations in flight aborts them (the VMs stay on their sources): ask first."""
        active = [h for h in self.engine.runs.values() if h.state is not RunState.FINISHED]
        if active:
            names = ", ".join(h.plan.vm for h in active[:5]) + (" …" if len(active) > 5 else "")
            question = (f"{len(active)} migration{'s are' if len(active) > 1 else ' is'} still running or queued "
                        f"({names}). Quitting aborts them; each VM stays on its source. Quit?")
            if not await self.push_screen_wait(Confirm(question, yes="Abort and quit")):
                return
        self.exit()

    async def on_unmount(self) -> None:
        await self.engine.close()
        await self.backend.close()


def _initial_change(backend: Backend):  # type: ignore[no-untyped-def]
    from hotmig_tui.backends.base import Change

    return Change(backend.snapshot())
