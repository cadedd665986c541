"""The seam between the engine/screens and where facts and migrations come from (DESIGN.md §1).

Both backends (sim, libvirt) implement these protocols; the screens and the CLI cannot tell them apart
except by ``Backend.label``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from hotmig_tui.core.model import Inventory
from hotmig_tui.core.run import MigrationPlan, Outcome, Update


@dataclass(frozen=True)
class Change:
    """A new inventory snapshot and the names of what changed in it, for screens to refresh only those."""

    inventory: Inventory
    hosts: frozenset[str] = frozenset()
    vms: frozenset[str] = frozenset()
    datastores: frozenset[str] = frozenset()
    text: str = ""


@dataclass(frozen=True)
class DirtyRateMeasurement:
    vm: str
    dirty_rate: float  # bytes/s
    seconds: float
    detail: str = ""


class Run(Protocol):
    """One migration in flight."""

    plan: MigrationPlan

    def updates(self) -> AsyncIterator[Update]: ...
    async def set_max_downtime(self, seconds: float) -> None: ...
    async def set_bandwidth(self, bytes_per_s: float | None) -> None: ...
    async def enable_auto_converge(self) -> None: ...
    async def start_postcopy(self) -> None: ...
    async def pause_to_complete(self) -> None: ...
    async def abort(self) -> None: ...
    async def result(self) -> Outcome: ...


class Backend(Protocol):
    label: str  # "sim" or "libvirt", shown in the header

    async def connect(self) -> None:
        """Reach every host; never raises for one bad host (it is marked disconnected)."""

    async def close(self) -> None: ...
    def snapshot(self) -> Inventory: ...
    def changes(self) -> AsyncIterator[Change]: ...
    async def measure_dirty_rate(self, vm: str, seconds: float) -> DirtyRateMeasurement: ...
    async def start(self, plan: MigrationPlan) -> Run: ...
    async def set_maintenance(self, host: str, on: bool) -> None: ...


T = TypeVar("T")


@dataclass
class Broadcast(Generic[T]):
    """Fan-out of values to any number of async subscribers; a slow subscriber drops its oldest values."""

    maxsize: int = 1000
    _queues: list[asyncio.Queue[T | None]] = field(default_factory=list)

    def publish(self, value: T) -> None:
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(value)

    def close(self) -> None:
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)

    def subscribe(self) -> AsyncIterator[T]:
        """Subscribed at once (not at the first `anext`): what is published right after this call is kept."""
        queue: asyncio.Queue[T | None] = asyncio.Queue(self.maxsize)
        self._queues.append(queue)
        return self._drain(queue)

    async def _drain(self, queue: asyncio.Queue[T | None]) -> AsyncIterator[T]:
        try:
            while (value := await queue.get()) is not None:
                yield value
        finally:
            self._queues.remove(queue)
