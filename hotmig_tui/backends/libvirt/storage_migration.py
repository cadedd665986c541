"""Storage live migration (seed ST-P) on libvirt: blockCopy with synchronous writes, READY, pivot.

ST-P step 1-2 (an empty image on the target that mirrors every write): blockCopy with
SYNCHRONOUS_WRITES, which libvirt creates itself; step 3 (baseline copy): polled with blockJobInfo;
step 4 (switch): once every disk is READY, blockJobAbort(PIVOT) switches live and saved XML.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

import libvirt

from hotmig_tui.backends.libvirt import events
from hotmig_tui.backends.libvirt.errors import message
from hotmig_tui.backends.libvirt.events import DomainEvent
from hotmig_tui.backends.libvirt.runbase import LibvirtRunBase, RunError
from hotmig_tui.backends.libvirt.xmlparse import parse_domain
from hotmig_tui.core.model import Disk
from hotmig_tui.core.rules.moves import moved_disks
from hotmig_tui.core.run import DiskProgress, MigrationKind, Outcome, Phase, Sample
from hotmig_tui.core.units import MiB

POLL_S = 0.5
PIVOT_TIMEOUT_S = 60.0
COPY_FLAGS = libvirt.VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB | libvirt.VIR_DOMAIN_BLOCK_COPY_SYNCHRONOUS_WRITES


class StorageMigration(LibvirtRunBase):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        ds = self.target_datastore
        if ds is None:
            raise RunError("storage migration needs a target datastore (--datastore)")
        if self.source.name not in ds.hosts:
            raise RunError(f"datastore {ds.name} is not reachable from {self.source.name}")
        chosen = set(self.plan.disks)
        self.disks: list[Disk] = list(moved_disks(self.vm, MigrationKind.STORAGE, self.plan.disks))
        unknown = chosen - {d.target for d in self.vm.disks}
        if unknown:
            raise RunError(f"{self.vm.name} has no disk {', '.join(sorted(unknown))}")
        self.destinations = {d.target: os.path.join(ds.path or "", os.path.basename(d.path)) for d in self.disks}
        self.dom: libvirt.virDomain | None = None
        self.started: list[str] = []
        self.ready: set[str] = set()
        self.completed: set[str] = set()
        self.pivoted: set[str] = set()
        self.failed_disks: dict[str, str] = {}
        self._changed = asyncio.Event()

    def on_event(self, event: DomainEvent) -> None:
        if event.kind != events.BLOCK_JOB or event.host != self.source.name:
            return
        target = next((d.target for d in self.disks if event.disk in (d.target, d.path)), event.disk or "")
        if event.name == "ready":
            self.ready.add(target)
            self.log(f"{target}: mirror in sync (READY)")
        elif event.name == "completed":
            self.completed.add(target)
        elif event.name in ("failed", "canceled"):
            self.failed_disks[target] = event.name
        self._changed.set()

    async def execute(self) -> Outcome:
        conn = self.backend.connection(self.source.name).conn
        self.dom = dom = await self.call(conn.lookupByName, self.vm.name)
        state, _ = await self.call(dom.state)
        if state not in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED):
            raise RunError(f"{self.vm.name} is not running: storage live migration needs it running")
        await self._check_destinations(conn)
        self.enter(Phase.MIRROR, "mirror with synchronous writes, then baseline copy")
        params = {libvirt.VIR_DOMAIN_BLOCK_COPY_BANDWIDTH: int(self.bandwidth)} if self.bandwidth else {}
        for disk in self.disks:
            if self.abort_requested:  # aborted before this copy started
                raise RunError("aborted before every copy started")
            xml = (f"<disk type='file'><driver type='{disk.format}'/>"
                   f"<source file='{self.destinations[disk.target]}'/></disk>")
            await self.call(dom.blockCopy, disk.target, xml, params, COPY_FLAGS)
            self.started.append(disk.target)
            self.log(f"{disk.target}: copying {disk.path} -> {self.destinations[disk.target]}")
        total = await self._mirror_until_ready(dom)
        self.enter(Phase.SWITCHOVER, "brief IO pause: switching to the copies")
        for target in self.started:
            await self.call(dom.blockJobAbort, target, libvirt.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT)
            self.pivoted.add(target)  # from here the copy is the disk in use, whatever the events say
        await self._wait_for_pivot(dom)
        self.enter(Phase.CLEANUP, "pools refreshed" + ("; source images removed" if self.plan.options.remove_source
                                                       else "; source images kept"))
        await self._refresh_pools(conn)
        if self.plan.options.remove_source:
            await self._remove_sources(conn)
        return Outcome(phase=Phase.DONE, vm_host=self.source.name, total_time=self.elapsed, disk_bytes=total,
                       bytes_sent=total)

    async def _check_destinations(self, conn: libvirt.virConnect) -> None:
        ds = self.target_datastore
        assert ds is not None
        pool = await self.call(conn.storagePoolLookupByName, ds.pool or ds.name)
        if not await self.call(pool.isActive):
            raise RunError(f"datastore {ds.name} is not active on {self.source.name}")
        await self.call(pool.refresh, 0)
        names = set(await self.call(pool.listVolumes))
        for disk in self.disks:
            if os.path.dirname(disk.path) == ds.path:
                raise RunError(f"{disk.target} already lives on {ds.name}")
            if os.path.basename(self.destinations[disk.target]) in names:
                raise RunError(f"{self.destinations[disk.target]} already exists on {ds.name}: refusing to overwrite")

    async def _mirror_until_ready(self, dom: libvirt.virDomain) -> int:
        previous: dict[str, tuple[float, int]] = {}
        while True:
            if self.failed_disks:
                raise RunError("block job " + ", ".join(f"{d} {s}" for d, s in self.failed_disks.items()))
            progress: dict[str, DiskProgress] = {}
            rate = 0.0
            for target in self.started:
                info = await self.call(dom.blockJobInfo, target, 0)
                if not info:
                    raise RunError(f"{target}: the block job disappeared")
                cur, end = int(info["cur"]), int(info["end"])
                progress[target] = DiskProgress(cur, end, ready=target in self.ready)
                if target in previous:
                    t0, c0 = previous[target]
                    rate += max(0, cur - c0) / max(1e-3, self.elapsed - t0)
                previous[target] = (self.elapsed, cur)
            remaining = sum(p.total - p.copied for p in progress.values())
            self.emit(Sample(t=self.elapsed, phase=Phase.MIRROR, transfer_rate=rate if len(previous) else None,
                             bandwidth=self.bandwidth, disks=progress, data_remaining=remaining))
            if set(self.started) <= self.ready:
                return sum(p.total for p in progress.values())
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), POLL_S)

    async def _wait_for_pivot(self, dom: libvirt.virDomain) -> None:
        """COMPLETED events end the wait; a job that is simply gone (event missed) counts as completed."""
        deadline = self.elapsed + PIVOT_TIMEOUT_S
        while not set(self.started) <= self.completed:
            if self.failed_disks:
                raise RunError("pivot failed: " + ", ".join(f"{d} {s}" for d, s in self.failed_disks.items()))
            if self.elapsed > deadline:
                raise RunError(f"the pivot did not complete within {PIVOT_TIMEOUT_S:.0f} s")
            for target in set(self.started) - self.completed:
                if not await self.call(dom.blockJobInfo, target, 0):
                    self.completed.add(target)
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), POLL_S)

    async def _refresh_pools(self, conn: libvirt.virConnect) -> None:
        for pool in await self.call(conn.listAllStoragePools, libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
            with contextlib.suppress(libvirt.libvirtError):
                await self.call(pool.refresh, 0)

    async def _remove_sources(self, conn: libvirt.virConnect) -> None:
        for disk in self.disks:
            try:
                vol = await self.call(conn.storageVolLookupByPath, disk.path)
                await self.call(vol.delete, 0)
                self.log(f"removed the source image {disk.path}")
            except libvirt.libvirtError as exc:
                self.log(f"could not remove {disk.path}: {message(exc)}", "warning")

    # --- tuning -----------------------------------------------------------------------------------------
    async def set_bandwidth(self, bytes_per_s: float | None) -> None:
        assert self.dom is not None
        for target in self.started:
            await self.call(self.dom.blockJobSetSpeed, target, int(bytes_per_s or 0),
                            libvirt.VIR_DOMAIN_BLOCK_JOB_SPEED_BANDWIDTH_BYTES)
        self.bandwidth = bytes_per_s
        self.log("copy bandwidth " + ("unlimited" if not bytes_per_s else f"{bytes_per_s / MiB:.0f} MiB/s"))

    async def set_max_downtime(self, seconds: float) -> None:
        raise RunError("storage migration has no memory downtime to tune: the pivot pauses IO only briefly")

    async def enable_auto_converge(self) -> None:
        raise RunError("auto-converge throttles vCPUs for memory migration; a disk mirror does not use it")

    async def start_postcopy(self) -> None:
        raise RunError("post-copy applies to memory migration, not to a disk mirror")

    async def pause_to_complete(self) -> None:
        raise RunError("a disk mirror completes by itself once in sync; nothing to pause")

    async def abort(self) -> None:
        self.abort_requested = True
        self._changed.set()
        self.log("abort requested")
        if self.dom is not None and self.phase is Phase.MIRROR:
            for target in self.started:
                with contextlib.suppress(libvirt.libvirtError):
                    await self.call(self.dom.blockJobAbort, target, 0)
            self.failed_disks.update({t: "canceled" for t in self.started if t not in self.completed})

    async def _paths_in_use(self, conn: libvirt.virConnect) -> set[str]:
        """Every file the running domain's disks point at now (the live XML), so a copy in use is never deleted."""
        try:
            dom = await self.call(conn.lookupByName, self.vm.name)
            xml = await self.call(dom.XMLDesc, 0)
        except libvirt.libvirtError:
            return set(self.destinations.values())  # cannot tell: delete nothing
        return {d.path for d in parse_domain(xml).disks}

    async def clean_target(self) -> None:
        """Cancel copies still running and delete the half-written images (never the source)."""
        conn = self.backend.connections.get(self.source.name)
        if conn is None or conn.conn is None:
            return
        if self.dom is not None:
            for target in self.started:
                if target not in self.completed:
                    with contextlib.suppress(libvirt.libvirtError):
                        await self.call(self.dom.blockJobAbort, target, 0)
        await self._refresh_pools(conn.conn)
        in_use = await self._paths_in_use(conn.conn)
        for target in self.started:
            path = self.destinations[target]
            if target in self.completed or target in self.pivoted or path in in_use:
                continue  # the copy is (or may be) the disk the VM now uses
            try:
                vol = await self.call(conn.conn.storageVolLookupByPath, path)
                await self.call(vol.delete, 0)
                self.log(f"removed the half-copied {path}")
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_VOL:
                    raise
