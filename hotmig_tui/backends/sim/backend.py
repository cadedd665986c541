"""The simulated datacenter as a Backend: the same protocol the libvirt backend implements."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping

from hotmig_tui.backends.base import Broadcast, Change, DirtyRateMeasurement, Run
from hotmig_tui.backends.sim.memory_migration import SimMemoryRun
from hotmig_tui.backends.sim.storage_migration import SimStorageRun
from hotmig_tui.core.model import Datastore, Host, HostState, Inventory
from hotmig_tui.core.run import MigrationKind, MigrationPlan


class SimBackend:
    label = "sim"

    def __init__(self, inventory: Inventory, seed: int = 0, speed: float = 1.0) -> None:
        self._inventory = inventory
        self.seed = seed
        self.speed = speed
        self._changes: Broadcast[Change] = Broadcast()

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        self._changes.close()

    def snapshot(self) -> Inventory:
        return self._inventory

    def changes(self) -> AsyncIterator[Change]:
        return self._changes.subscribe()

    def replace(self, inventory: Inventory, change: Change) -> None:
        """Install a new snapshot and tell subscribers what changed."""
        self._inventory = inventory
        self._changes.publish(change)

    async def set_maintenance(self, host: str, on: bool) -> None:
        inv = self._inventory
        hosts = tuple(
            dataclasses.replace(h, state=HostState.MAINTENANCE if on else HostState.CONNECTED)
            if h.name == host else h
            for h in inv.hosts
        )
        new = dataclasses.replace(inv, hosts=hosts)
        verb = "enters" if on else "leaves"
        self.replace(new, Change(new, hosts=frozenset({host}), text=f"host {host} {verb} maintenance mode"))

    async def measure_dirty_rate(self, vm: str, seconds: float) -> DirtyRateMeasurement:
        found = self._inventory.vm(vm)
        if found is None:
            raise KeyError(f"no VM named {vm!r}")
        if found.dirty_rate is None:
            raise LookupError(f"{vm} declares no dirty rate in the simulated datacenter: nothing to measure")
        return DirtyRateMeasurement(vm, found.dirty_rate, seconds, "simulated: the declared dirty rate")

    async def start(self, plan: MigrationPlan) -> Run:
        """Start a simulated run; raises SimRunError at once for a plan it cannot even begin (as libvirt's
        runs raise RunError), so the engine records it as failed before any phase."""
        run = SimStorageRun(self, plan) if plan.kind is MigrationKind.STORAGE else SimMemoryRun(self, plan)
        run.begin()
        return run

    def apply_migration(self, plan: MigrationPlan, vm: str, destinations: Mapping[str, str]) -> None:
        """A run succeeded: move the VM and its disks in the inventory and tell subscribers."""
        new, change = migrated(self._inventory, plan, vm, destinations)
        self.replace(new, change)


def migrated(
    inventory: Inventory, plan: MigrationPlan, vm_name: str, destinations: Mapping[str, str]
) -> tuple[Inventory, Change]:
    """The inventory after a successful run. ``destinations``: disk target -> its new path.

    The VM's host becomes the target (VM and whole kinds): the source gets its memory back, the target gives
    it. Moved disks now live on the target datastore, which loses their allocation; the source datastore gets
    it back only when the source images were removed (libvirt keeps them unless asked)."""
    vm = inventory.vm(vm_name)
    if vm is None:
        raise KeyError(f"no VM named {vm_name!r}")
    source = vm.host
    target = source if plan.kind is MigrationKind.STORAGE or not plan.target_host else plan.target_host
    moved = [d for d in vm.disks if d.target in destinations]
    disks = tuple(
        dataclasses.replace(d, datastore=plan.target_datastore, path=destinations[d.target])
        if d.target in destinations else d
        for d in vm.disks
    )
    memory = {source: vm.memory, target: -vm.memory} if target != source else {}
    space: dict[str, int] = {}
    if moved and plan.target_datastore:
        space[plan.target_datastore] = -sum(d.allocation for d in moved)
    if plan.options.remove_source:
        for d in moved:
            if d.datastore:
                space[d.datastore] = space.get(d.datastore, 0) + d.allocation
    new = dataclasses.replace(
        inventory,
        hosts=tuple(_free_memory(h, memory[h.name]) if h.name in memory else h for h in inventory.hosts),
        datastores=tuple(_free_space(ds, space[ds.name]) if ds.name in space else ds for ds in inventory.datastores),
        vms=tuple(dataclasses.replace(v, host=target, disks=disks) if v.name == vm_name else v for v in inventory.vms),
    )
    parts = [f"now runs on {target} (was {source})"] if target != source else []
    parts += [f"{d.target} now on {plan.target_datastore} (was {d.datastore})" for d in moved]
    change = Change(
        new,
        hosts=frozenset(memory),
        vms=frozenset({vm_name}),
        datastores=frozenset(space) | frozenset(d.datastore for d in moved if d.datastore),
        text=f"{vm_name}: " + "; ".join(parts) if parts else f"{vm_name} migrated",
    )
    return new, change


def _free_memory(host: Host, delta: int) -> Host:
    if host.memory_free is None:
        return host
    free = max(0, host.memory_free + delta)
    return dataclasses.replace(host, memory_free=min(free, host.memory_total) if host.memory_total else free)


def _free_space(ds: Datastore, delta: int) -> Datastore:
    if ds.free is None:
        return ds
    free = max(0, ds.free + delta)
    return dataclasses.replace(ds, free=min(free, ds.capacity) if ds.capacity else free)
