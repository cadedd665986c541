"""The Textual app: owns no inventory state of its own, it shows the backend's latest snapshot."""

from __future__ import annotations

from collections.abc import Iterable

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from hotmig_tui.backends.base import Backend
from hotmig_tui.tui.messages import BackendProblem, InventoryChanged
from hotmig_tui.tui.screens.inventory import InventoryScreen
from hotmig_tui.tui.themes import DEFAULT_THEME, load_themes


class HotmigApp(App[None]):
    TITLE = "hotmig"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("t", "next_theme", "Theme"),
    ]

    def __init__(self, backend: Backend, source_label: str = "", theme_name: str | None = None) -> None:
        super().__init__()
        self.backend = backend
        self.source_label = source_label
        self._wanted_theme = theme_name
        self.hotmig_themes: list[str] = []

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

    async def on_unmount(self) -> None:
        await self.backend.close()


def _initial_change(backend: Backend):  # type: ignore[no-untyped-def]
    from hotmig_tui.backends.base import Change

    return Change(backend.snapshot())
