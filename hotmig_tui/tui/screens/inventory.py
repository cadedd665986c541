"""The inventory screen: the tree, the selected object's details, the totals."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static, Tree

from hotmig_tui.core.model import Inventory
from hotmig_tui.tui.details import render_details
from hotmig_tui.tui.refs import Ref
from hotmig_tui.tui.widgets.inventory_tree import InventoryTree
from hotmig_tui.tui.widgets.totals import TotalsBar, totals_text


class InventoryScreen(Screen[None]):
    BINDINGS = [
        Binding("tab", "focus_next", "Switch pane", show=False),
        Binding("d", "focus_details", "Details", show=False),
    ]
    DEFAULT_CSS = """
    InventoryScreen #panes { height: 1fr; }
    InventoryScreen InventoryTree { width: 2fr; min-width: 28; border-right: vkey $panel; background: $surface; }
    InventoryScreen #details-scroll { width: 3fr; padding: 0 1; }
    InventoryScreen #details-scroll:focus { background: $boost; }
    """

    def __init__(self, inventory: Inventory, source: str, backend: str) -> None:
        super().__init__()
        self.inventory = inventory
        self.source = source
        self.backend_label = backend
        self.selected: Ref | None = None

    def compose(self) -> ComposeResult:
        yield TotalsBar(totals_text(self.inventory, self.source, self.backend_label), id="totals")
        with Horizontal(id="panes"):
            yield InventoryTree(self.inventory, id="tree")
            with VerticalScroll(id="details-scroll", can_focus=True):
                yield Static(render_details(self.inventory, None), id="details")
        yield Footer()

    @property
    def tree(self) -> InventoryTree:
        return self.query_one(InventoryTree)

    @on(Tree.NodeHighlighted)
    def _show_details(self, event: Tree.NodeHighlighted[Ref]) -> None:
        self.selected = event.node.data
        self._render_details()

    def _render_details(self) -> None:
        self.query_one("#details", Static).update(render_details(self.inventory, self.selected))

    def show_inventory(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.query_one(TotalsBar).update(totals_text(inventory, self.source, self.backend_label))
        self.tree.update_inventory(inventory)
        self._render_details()

    def engine_changed(self, event: object) -> None:
        migrating = self.app.migrating  # type: ignore[attr-defined]
        self.query_one(TotalsBar).update(totals_text(self.inventory, self.source, self.backend_label, migrating))

    def action_focus_details(self) -> None:
        self.query_one("#details-scroll").focus()
