"""The inventory screen: the tree, the selected object's details, the totals; and the constraint checks
behind the tree's marks, computed off the UI thread whenever the inventory changes."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static, Tree

from hotmig_tui.core.model import Inventory
from hotmig_tui.engine import RunUpdated
from hotmig_tui.tui.checks import ChecksComputed, InventoryChecks, compute_checks
from hotmig_tui.tui.details import render_details
from hotmig_tui.tui.findings_view import Palette
from hotmig_tui.tui.refs import Ref
from hotmig_tui.tui.widgets.inventory_tree import InventoryTree
from hotmig_tui.tui.widgets.totals import TotalsBar, totals_text

CHECKS_AFTER_FIRST_FRAME = 0.15  # s


class InventoryScreen(Screen[None]):
    BINDINGS = [
        Binding("tab", "focus_next", "Switch pane", show=False),
        Binding("d", "focus_details", "Details", show=False),
        Binding("m", "migrate", "Migrate"),
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
        self.checks: InventoryChecks | None = None  # the rules' results for self.inventory, once computed
        self._checking: Inventory | None = None  # the snapshot the checks worker is on, while it runs
        self._painted = False  # the first frame is out: checks may start

    def compose(self) -> ComposeResult:
        yield TotalsBar(totals_text(self.inventory, self.source, self.backend_label), id="totals")
        with Horizontal(id="panes"):
            yield InventoryTree(self.inventory, id="tree")
            with VerticalScroll(id="details-scroll", can_focus=True):
                yield Static(render_details(self.inventory, None), id="details")
        yield Footer()

    def on_mount(self) -> None:
        # The checks wait until the first frame is out and written: the driver's writer thread needs the GIL
        # that a checks thread would hold (~0.5 s of CPU for 10,000 VMs); measured, starting right after the
        # first refresh still cost ~40 ms of first frame at 200,10000.
        self.call_after_refresh(lambda: self.set_timer(CHECKS_AFTER_FIRST_FRAME, self._first_frame_shown))
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._render_details())

    @property
    def tree(self) -> InventoryTree:
        return self.query_one(InventoryTree)

    @on(Tree.NodeHighlighted)
    def _show_details(self, event: Tree.NodeHighlighted[Ref]) -> None:
        self.selected = event.node.data
        self._render_details()

    def _render_details(self) -> None:
        palette = Palette.of(self.app.theme_variables)
        self.query_one("#details", Static).update(render_details(self.inventory, self.selected, self.checks, palette))

    def _update_totals(self) -> None:
        migrating = getattr(self.app, "migrating", 0)
        self.query_one(TotalsBar).update(totals_text(self.inventory, self.source, self.backend_label, migrating))

    def engine_changed(self, event: object) -> None:
        """Runs queued, started or finished change the header's count of migrations."""
        if not isinstance(event, RunUpdated):
            self._update_totals()

    def show_inventory(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._update_totals()
        self.tree.update_inventory(inventory)
        self._render_details()
        self._recheck()

    # --- constraint checks: a thread worker computes, the handler shows -----------------------------------
    def _first_frame_shown(self) -> None:
        self._painted = True
        self._recheck()

    def _recheck(self) -> None:
        """Check the shown snapshot unless it is checked already. One worker at a time: a thread cannot be
        stopped, so snapshots arriving meanwhile (a busy cluster sends many) are coalesced into one more run,
        for the latest, when this one ends."""
        done = self.checks is not None and self.checks.inventory is self.inventory
        if self._painted and not done and self._checking is None:
            self._checking = self.inventory
            self._compute_checks(self.inventory)

    @work(thread=True, group="checks", exit_on_error=False)
    def _compute_checks(self, inventory: Inventory) -> None:
        self.post_message(ChecksComputed(compute_checks(inventory)))

    @on(ChecksComputed)
    def _checks_computed(self, message: ChecksComputed) -> None:
        self._checking = None
        if message.checks.inventory is self.inventory:
            self.checks = message.checks
            self.tree.set_marks(message.checks.marks, message.checks.within)
            self._render_details()
            if message.checks.error:
                self.notify(message.checks.error, title="constraint checks failed", severity="error", timeout=15)
        self._recheck()  # the inventory moved on while it was being checked

    @property
    def under_cursor(self) -> Ref | None:
        """The tree's cursor itself: `selected` follows it only once the highlight message is handled, after
        keys typed ahead."""
        node = self.tree.cursor_node
        return node.data if node is not None else None

    def action_migrate(self) -> None:
        """`m`: the guided migration of the VM under the cursor."""
        ref = self.under_cursor
        if ref is None or ref.kind != "vm":
            self.notify("select a VM first: the migrate wizard moves one VM", timeout=4)
            return
        self.open_wizard(choose_vm=False)

    def open_wizard(self, choose_vm: bool) -> None:
        """Open the migrate wizard; ``choose_vm`` starts it at the VM step (the command palette's way)."""
        from hotmig_tui.tui.screens.wizard import open_wizard  # on first use: ~15 ms less before the first frame

        ref = self.under_cursor
        vm = ref.name if ref is not None and ref.kind == "vm" else None
        marks = {}
        if self.checks is not None:
            marks = {ref.name: kind for ref, kind in self.checks.marks.items() if ref.kind == "vm"}
        open_wizard(self.app, None if choose_vm else vm, vm, marks)
