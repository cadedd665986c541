"""The constraint checks of a whole inventory, as the inventory screen shows them: marks for the tree and a
verdict per VM for the details pane.

``compute_checks`` is pure and slow on large inventories (~0.5 s for 10,000 VMs), so the screen runs it in
a thread worker, which posts ``ChecksComputed``; the handler installs the result. Nothing here touches a
widget.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from textual.message import Message

from hotmig_tui.core.model import Inventory
from hotmig_tui.core.rules import (
    CheckContext,
    ObjectKey,
    ObjectMark,
    Severity,
    Status,
    VmVerdict,
    check_inventory,
    object_findings,
)
from hotmig_tui.tui.refs import Ref

# One context object for every inventory-wide check: the rules cache their index per (inventory, context)
# pair, by identity. No predictions (VM-T only warns, so it never decides a mark) and no migrations in
# flight (a VM being migrated would otherwise be marked for the run it is in).
MARKS_CONTEXT = CheckContext()


@dataclass(frozen=True)
class InventoryChecks:
    """What the rules say about one inventory snapshot."""

    inventory: Inventory
    objects: dict[ObjectKey, ObjectMark] = field(default_factory=dict)
    verdicts: dict[str, VmVerdict] = field(default_factory=dict)
    error: str = ""  # the checks themselves failed: say so rather than show an unmarked (passing) tree

    @cached_property
    def marks(self) -> dict[Ref, str]:
        """Tree marks: Ref -> "error" | "warning" | "unknown"."""
        marks = {}
        for (kind, name), mark in self.objects.items():
            if kind in ("vm", "host", "datastore", "cluster") and (symbol := mark_kind(mark)):
                marks[Ref(kind, name)] = symbol  # type: ignore[arg-type]
        return marks

    def mark(self, ref: Ref) -> ObjectMark | None:
        return self.objects.get((ref.kind, ref.name))

    @cached_property
    def within(self) -> dict[Ref, Counter[str]]:
        """Per cluster, host and datastore: how many marked objects it holds, by mark (a collapsed node still
        tells where the trouble is; a host's own mark says something else: it cannot be a target)."""
        inv = self.inventory
        counts: dict[Ref, Counter[str]] = {}
        for ref, mark in self.marks.items():
            holders: list[Ref] = []
            host_name = ref.name if ref.kind == "host" else None
            if ref.kind == "vm" and (vm := inv.vm(ref.name)):
                host_name = vm.host
                holders.append(Ref("host", vm.host))
                holders += [Ref("datastore", d.datastore) for d in vm.disks if d.datastore]
            if host_name and (host := inv.host(host_name)):
                holders.append(Ref("cluster", host.cluster))
            for holder in dict.fromkeys(holders):
                counts.setdefault(holder, Counter())[mark] += 1
        return counts


def mark_kind(mark: ObjectMark) -> str | None:
    """Which symbol a mark gets: a mark made only of unchecked facts is "unknown" (never a pass, never a
    failure); info-only marks ask nothing and are left out of the tree."""
    if mark.findings and all(f.status is Status.UNKNOWN for f in mark.findings):
        return "unknown"
    if mark.severity is Severity.ERROR:
        return "error"
    if mark.severity is Severity.WARNING:
        return "warning"
    return None


def compute_checks(inventory: Inventory) -> InventoryChecks:
    """Marks and verdicts for every object (runs in a worker thread)."""
    try:
        objects = object_findings(inventory, MARKS_CONTEXT)
        verdicts = check_inventory(inventory, MARKS_CONTEXT)  # cached by object_findings' index: free
    except Exception as exc:  # a rule bug must not take the dashboard down; show it instead
        return InventoryChecks(inventory, error=f"{type(exc).__name__}: {exc}")
    checks = InventoryChecks(inventory, objects, verdicts)
    _ = checks.marks, checks.within  # derive them here, in the worker, not in the handler
    return checks


class ChecksComputed(Message):
    """Posted by the checks worker; the inventory screen's handler installs it if still current."""

    def __init__(self, checks: InventoryChecks) -> None:
        super().__init__()
        self.checks = checks
