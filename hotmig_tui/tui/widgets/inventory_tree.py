"""Clusters → Hosts → VMs, plus Datastores, filled lazily so 10,000 VMs stay responsive.

Children are created when their parent is first expanded. Nodes carry a Ref; labels are rendered from
the current inventory at paint time, with a symbol and a theme colour for objects that fail a constraint
(so it reads without colour too).
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.style import Style
from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from hotmig_tui.core.model import HostState, Inventory, VmState
from hotmig_tui.tui.refs import Ref

MARK_SYMBOL = {"error": "✖", "warning": "▲", "unknown": "?"}
STATE_SYMBOL = {
    HostState.CONNECTED: "●",
    HostState.DISCONNECTED: "○",
    HostState.MAINTENANCE: "◐",
    HostState.REBOOTING: "↻",
    VmState.RUNNING: "▪",
    VmState.PAUSED: "‖",
    VmState.STOPPED: "□",
    VmState.CRASHED: "✗",
}
CLUSTERS = Ref("group", "Clusters")
DATASTORES = Ref("group", "Datastores")


class InventoryTree(Tree[Ref]):
    COMPONENT_CLASSES = {"inventory--error", "inventory--warning", "inventory--unknown", "inventory--dim"}
    DEFAULT_CSS = """
    InventoryTree > .inventory--error { color: $error; text-style: bold; }
    InventoryTree > .inventory--warning { color: $warning; }
    InventoryTree > .inventory--unknown { text-style: dim italic; }
    InventoryTree > .inventory--dim { text-style: dim; }
    """

    def __init__(self, inventory: Inventory, **kwargs: object) -> None:
        super().__init__("Datacenter", data=Ref("group", "Datacenter"), **kwargs)  # type: ignore[arg-type]
        self.inventory = inventory
        self.marks: Mapping[Ref, str] = {}
        self.within: Mapping[Ref, Mapping[str, int]] = {}
        self.show_root = False
        self.auto_expand = False  # action_select_cursor expands, synchronously
        self.guide_depth = 2
        self._filled: set[int] = set()

    def on_mount(self) -> None:
        clusters = self.root.add("Clusters", CLUSTERS, expand=True)
        self.root.add("Datastores", DATASTORES)
        self._fill(clusters)
        self.move_cursor(clusters)

    # --- structure --------------------------------------------------------------------------------------
    def _children(self, ref: Ref) -> list[tuple[Ref, bool]]:
        """(child, has children) for a node; the only place that knows the tree's shape."""
        inv = self.inventory
        if ref == CLUSTERS:
            return [(Ref("cluster", c.name), bool(inv.hosts_in(c.name))) for c in inv.clusters]
        if ref == DATASTORES:
            return [(Ref("datastore", d.name), bool(inv.vms_using(d.name))) for d in inv.datastores]
        if ref.kind == "cluster":
            return [(Ref("host", h.name), bool(inv.vms_on(h.name))) for h in inv.hosts_in(ref.name)]
        if ref.kind == "host":
            return [(Ref("vm", v.name), False) for v in inv.vms_on(ref.name)]
        if ref.kind == "datastore":
            return [(Ref("vm", v.name), False) for v in inv.vms_using(ref.name)]
        return []

    def _fill(self, node: TreeNode[Ref]) -> None:
        if node.id in self._filled or node.data is None:
            return
        self._filled.add(node.id)
        for ref, expandable in self._children(node.data):
            node.add(ref.name, ref, allow_expand=expandable)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Ref]) -> None:
        self._fill(event.node)

    # Children are filled before the node opens, not when its NodeExpanded message arrives: a key typed ahead
    # (enter, then down at once) would otherwise move past the node before its children exist.
    def action_toggle_node(self) -> None:
        if self.cursor_node is not None:
            self._fill(self.cursor_node)
        super().action_toggle_node()

    def action_select_cursor(self) -> None:
        """Enter (or a click) opens/closes the node at once; Textual's own auto-expand would wait for the
        NodeSelected message, after any key already typed."""
        node = self.cursor_node
        if node is not None and node.allow_expand:
            self._fill(node)
            node.toggle()
        super().action_select_cursor()

    def update_inventory(self, inventory: Inventory, changed: set[Ref] | None = None) -> None:
        """Show a new snapshot: rebuild the filled nodes whose children may have changed, keep the cursor."""
        self.inventory = inventory
        cursor = self.cursor_node.data if self.cursor_node else None
        stack = list(self.root.children)
        while stack:
            node = stack.pop()
            if node.id in self._filled and node.data is not None:
                wanted = self._children(node.data)
                if [c.data for c in node.children] != [r for r, _ in wanted]:
                    self._rebuild(node, wanted)
                for child, (_, expandable) in zip(node.children, wanted, strict=False):
                    child.allow_expand = expandable
            stack.extend(node.children)
        if cursor is not None:
            self.select_ref(cursor, expand=False)
        self.refresh()
        del changed

    def _rebuild(self, node: TreeNode[Ref], wanted: list[tuple[Ref, bool]]) -> None:
        expanded = {c.data for c in node.children if c.is_expanded}
        node.remove_children()
        self._filled &= self._node_ids()
        for ref, expandable in wanted:
            child = node.add(ref.name, ref, allow_expand=expandable)
            if ref in expanded:
                self._fill(child)
                child.expand()

    def _node_ids(self) -> set[int]:
        ids: set[int] = set()
        stack = [self.root]
        while stack:
            node = stack.pop()
            ids.add(node.id)
            stack.extend(node.children)
        return ids

    def set_marks(self, marks: Mapping[Ref, str], within: Mapping[Ref, Mapping[str, int]] | None = None) -> None:
        """``marks``: an object's own mark; ``within``: how many marked objects a cluster, host or datastore
        holds, by mark (shown after its label so a collapsed node still tells)."""
        self.marks = marks
        self.within = within or {}
        self._invalidate()
        self.refresh()

    def select_ref(self, ref: Ref, expand: bool = True) -> bool:
        """Move the cursor to an object, expanding its ancestors (used by search and after refreshes)."""
        path = self._path_to(ref) if expand else None
        node = self._find_loaded(ref)
        if node is None and path:
            parent = self.root
            for step in path:
                match = next((c for c in parent.children if c.data == step), None)
                if match is None:
                    return False
                self._fill(match)
                match.expand()
                parent = match
            node = self._find_loaded(ref)
        if node is None:
            return False
        _ = self.last_line  # lay out freshly added nodes so they have a line to move to
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)
        return True

    def _path_to(self, ref: Ref) -> list[Ref]:
        inv = self.inventory
        if ref.kind == "vm" and (vm := inv.vm(ref.name)) and (host := inv.host(vm.host)):
            return [CLUSTERS, Ref("cluster", host.cluster), Ref("host", host.name)]
        if ref.kind == "host" and (host := inv.host(ref.name)):
            return [CLUSTERS, Ref("cluster", host.cluster)]
        if ref.kind == "cluster":
            return [CLUSTERS]
        if ref.kind == "datastore":
            return [DATASTORES]
        return []

    def _find_loaded(self, ref: Ref) -> TreeNode[Ref] | None:
        stack = list(self.root.children)
        while stack:
            node = stack.pop(0)
            if node.data == ref:
                return node
            if node.is_expanded:
                stack.extend(node.children)
        return None

    # --- labels -----------------------------------------------------------------------------------------
    def render_label(self, node: TreeNode[Ref], base_style: Style, style: Style) -> Text:
        text = super().render_label(node, base_style, style)
        ref = node.data
        if ref is None or ref.kind == "group":
            return text
        state, suffix = self._state_and_suffix(ref)
        mark = self.marks.get(ref)
        dim = self.get_component_rich_style("inventory--dim", partial=True)
        prefix = Text(f"{state} " if state else "", style=dim)
        text = Text.assemble(text[: len(text) - len(node.label)], prefix, text[len(text) - len(node.label):])
        if mark:
            mark_style = self.get_component_rich_style(f"inventory--{mark}", partial=True)
            text.append(f" {MARK_SYMBOL[mark]}", style=mark_style)
        if suffix:
            text.append(f"  {suffix}", style=dim)
        held = self.within.get(ref)
        if held:
            text.append(" ·", style=dim)
            for mark in MARK_SYMBOL:
                if held.get(mark):
                    style = self.get_component_rich_style(f"inventory--{mark}", partial=True)
                    text.append(f" {held[mark]}{MARK_SYMBOL[mark]}", style=style)
        return text

    def _state_and_suffix(self, ref: Ref) -> tuple[str, str]:
        inv = self.inventory
        if ref.kind == "vm" and (vm := inv.vm(ref.name)):
            return STATE_SYMBOL[vm.state], "" if vm.state is VmState.RUNNING else vm.state.value
        if ref.kind == "host" and (host := inv.host(ref.name)):
            note = "" if host.state is HostState.CONNECTED else host.state.value
            return STATE_SYMBOL[host.state], note or f"{len(inv.vms_on(host.name))} VMs"
        if ref.kind == "cluster":
            return "", f"{len(inv.hosts_in(ref.name))} hosts"
        if ref.kind == "datastore" and (ds := inv.datastore(ref.name)):
            return "", ds.pool_type + (" shared" if ds.shared else " local")
        return "", ""
