"""The probes a migration's checks need, run through the hosts' SSH sessions, kept with their time.

    prober = Prober.for_backend(backend, busy=lambda host: any(
        host in (h.plan.source, h.plan.target_host) for h in engine.active))   # None: no host has `ssh`
    await prober.for_plan(plan)                       # reachability, disk visibility, target's free memory
    context = CheckContext(**prober.facts.for_checks(), max_fact_age=120, predictions=...)
    measured = await prober.measure_link("lab1", "lab2")   # -> LinkFacts.of(cluster, measured_bandwidth=...)

A host that is migrating (busy(host) is true) is not probed unless force=True: the result is then unknown with
that reason, and any earlier known result stays (aging, so the checks see it go stale).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from hotmig_tui.backends.ssh.address import SshAddress
from hotmig_tui.backends.ssh.facts import HostLoad, Probed, ProbeFacts
from hotmig_tui.backends.ssh.pool import SessionPool
from hotmig_tui.backends.ssh.probes import disks, hostload, linkspeed, reach
from hotmig_tui.core.model import Host, Inventory
from hotmig_tui.core.run import MigrationKind, MigrationPlan

T = TypeVar("T")
DEFAULT_PORT = 22


class Prober:
    def __init__(self, pool: SessionPool, inventory: Callable[[], Inventory],
                 busy: Callable[[str], bool] = lambda _host: False) -> None:
        self.pool = pool
        self.inventory = inventory
        self.busy = busy
        self.facts = ProbeFacts()

    @classmethod
    def for_backend(cls, backend: object, busy: Callable[[str], bool] = lambda _host: False) -> Prober | None:
        """The prober of a backend's SSH sessions (the libvirt backend's `ssh`), or None when it has none."""
        pool = getattr(backend, "ssh", None)
        snapshot = getattr(backend, "snapshot", None)
        return cls(pool, snapshot, busy) if isinstance(pool, SessionPool) and snapshot is not None else None

    async def reachability(self, source: str, target: str, force: bool = False) -> Probed[bool]:
        """From `source`, a TCP connection to `target`'s migration address (its sshd's port)."""
        found = self._skip(source, target, force=force) or self._need(source)
        if found is None:
            host = self._host(target)
            address = self._address(host)
            if address is None:
                found = self._unknown(f"{target} has no address on the migration network in the inventory")
            else:
                port = SshAddress.parse(host.ssh).port if host.ssh else None
                found = await self.pool.call(
                    reach.reachability(self.pool.session(source), target, address, port or DEFAULT_PORT))
        self.facts.store("reachable", (source, target), found)
        return found

    async def disk_visibility(self, host: str, paths: list[str], force: bool = False) -> dict[str, Probed[bool]]:
        unknown = self._skip(host, force=force) or self._need(host)
        found = ({p: unknown for p in paths} if unknown is not None
                 else await self.pool.call(disks.disk_visibility(self.pool.session(host), paths)))
        for path, result in found.items():
            self.facts.store("disk_visible", (host, path), result)
        return found

    async def host_load(self, host: str, force: bool = False) -> Probed[HostLoad]:
        found = self._skip(host, force=force) or self._need(host)
        if found is None:
            found = await self.pool.call(hostload.host_load(self.pool.session(host)))
        self.facts.store("host_load", host, found)
        return found

    async def measure_link(self, source: str, target: str, max_bytes: int = linkspeed.MAX_BYTES,
                           max_seconds: float = linkspeed.MAX_SECONDS, force: bool = False) -> Probed[float]:
        found = self._skip(source, target, force=force) or self._need(source) or self._need(target)
        if found is None:
            address = self._address(self._host(target))
            if address is None:
                found = self._unknown(f"{target} has no address on the migration network in the inventory")
            else:
                found = await self.pool.call(linkspeed.measure_link(
                    self.pool.session(source), self.pool.session(target), address, max_bytes, max_seconds))
        self.facts.store("bandwidth", (source, target), found)
        return found

    async def for_plan(self, plan: MigrationPlan, force: bool = False) -> None:
        """Everything the checks of this plan read from probes, concurrently."""
        inventory = self.inventory()
        vm = inventory.vm(plan.vm)
        target = plan.target_host
        if vm is None or target is None or plan.kind is MigrationKind.STORAGE:
            return  # storage live migration stays on its host: nothing to probe between hosts
        jobs = [self.reachability(vm.host, target, force), self.host_load(target, force)]
        if plan.kind is MigrationKind.VM:  # whole-machine migration copies the disks: no need to see them
            # Files and block devices only: `rbd:pool/img` or `pool/volume` are not paths a shell can test.
            paths = [d.path for d in vm.disks if d.path.startswith("/")]
            if paths:
                jobs.append(self.disk_visibility(target, paths, force))
        await asyncio.gather(*jobs)

    # --- helpers --------------------------------------------------------------------------------------------
    def _skip(self, *hosts: str, force: bool) -> Probed[T] | None:
        busy = [h for h in hosts if self.busy(h)]
        if busy and not force:
            return self._unknown(f"{' and '.join(busy)} {'is' if len(busy) == 1 else 'are'} migrating: not probed "
                                 "during a migration (ask explicitly to probe anyway)")
        return None

    def _need(self, host: str) -> Probed[T] | None:
        if host not in self.pool:
            return self._unknown(f"{host} has no SSH address in the inventory: hotmig cannot probe it")
        return None

    def _host(self, name: str) -> Host:
        host = self.inventory().host(name)
        if host is None:
            raise KeyError(f"no host named {name!r}")
        return host

    @staticmethod
    def _address(host: Host) -> str | None:
        if host.address:
            return host.address
        return SshAddress.parse(host.ssh).host if host.ssh else None

    @staticmethod
    def _unknown(why: str) -> Probed[T]:
        return Probed(None, time.monotonic(), why)
