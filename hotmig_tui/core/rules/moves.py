"""Which disks a planned migration moves."""

from __future__ import annotations

from hotmig_tui.core.model import Disk, Vm
from hotmig_tui.core.run import MigrationKind


def moved_disks(vm: Vm, kind: MigrationKind, targets: tuple[str, ...] = ()) -> tuple[Disk, ...]:
    """VM live migration moves none; storage and whole-machine migration move the named disk targets, or all
    of the VM's disks when none are named (MigrationPlan.disks = ())."""
    if kind is MigrationKind.VM:
        return ()
    if not targets:
        return vm.disks
    return tuple(d for d in vm.disks if d.target in targets)
