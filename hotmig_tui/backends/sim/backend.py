"""The simulated datacenter as a Backend: the same protocol the libvirt backend implements."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

from hotmig_tui.backends.base import Broadcast, Change, DirtyRateMeasurement, Run
from hotmig_tui.core.model import HostState, Inventory
from hotmig_tui.core.run import MigrationPlan


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
        return DirtyRateMeasurement(vm, found.dirty_rate or 0.0, seconds, "simulated: the declared dirty rate")

    async def start(self, plan: MigrationPlan) -> Run:
        raise NotImplementedError("simulated migrations arrive with the migration engine")
