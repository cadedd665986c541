"""VM live migration (seed VM-P) and whole-machine migration (seed WM-P) on libvirt.

One migrate3/migrateToURI3 call runs the whole job in a pool thread (it blocks until the end); the
curves come from polling jobStats, the phase boundaries from events: MIGRATION_ITERATION (each
pre-copy pass), the source's SUSPENDED(migrated) (switchover), the target's RESUMED, JOB_COMPLETED
(the final statistics, source side, not sent for failed or aborted jobs).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import xml.etree.ElementTree as ET
from typing import Any

import libvirt

from hotmig_tui.backends.libvirt import events
from hotmig_tui.backends.libvirt.errors import message
from hotmig_tui.backends.libvirt.events import DomainEvent
from hotmig_tui.backends.libvirt.runbase import LibvirtRunBase, RunError
from hotmig_tui.backends.libvirt.samples import JOB_NONE, outcome_from_completed, sample_from_job_stats
from hotmig_tui.core.model import Disk
from hotmig_tui.core.rules.moves import moved_disks
from hotmig_tui.core.run import MigrationKind, Outcome, Phase
from hotmig_tui.core.units import MiB

POLL_S = 0.5
POLL_NEAR_END_S = 0.2  # poll faster near the end, as Proxmox does
UNLIMITED_MIB_S = 1 << 20
COMPLETED_STATS_WAIT_S = 3.0


class MemoryMigration(LibvirtRunBase):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        if self.target is None:
            raise RunError(f"{self.plan.kind.value} migration needs a target host")
        if self.target.name == self.source.name:
            raise RunError(f"{self.vm.name} already runs on {self.source.name}")
        self.whole = self.plan.kind is MigrationKind.WHOLE
        self.dom: libvirt.virDomain | None = None
        self.completed_stats: dict[str, float] | None = None
        self._completed = asyncio.Event()
        self._target_volumes_before: set[str] = set()
        self._created_paths: list[str] = []

    # --- events -----------------------------------------------------------------------------------------
    def on_event(self, event: DomainEvent) -> None:
        source, target = self.source.name, self.target.name if self.target else ""
        if event.host == source and event.kind == events.ITERATION:
            if self.phase in (Phase.PREPARE, Phase.MIRROR):
                self.enter(Phase.PRECOPY, "memory pre-copy")
            self.log(f"pre-copy pass {event.iteration} begins")
        elif event.host == source and event.kind == events.JOB_COMPLETED:
            self.completed_stats = event.stats
            self._completed.set()
        elif event.kind == events.LIFECYCLE:
            if event.host == source and event.name == "suspended" and event.postcopy:
                self.postcopy_active = True
                self.enter(Phase.SWITCHOVER, "post-copy: paused for the switch to the target")
            elif event.host == source and event.name == "suspended" and event.migrated:
                self.enter(Phase.SWITCHOVER, "paused: last memory round and device state")
            elif event.host == target and event.name == "resumed":
                detail = "post-copy: remaining pages fetched on demand" if event.postcopy else "running on target"
                self.enter(Phase.RESUMED, detail)

    # --- the run ----------------------------------------------------------------------------------------
    async def execute(self) -> Outcome:
        assert self.target is not None
        src = self.backend.connection(self.source.name)
        dst = self.backend.connection(self.target.name)
        dom = await self.call(src.conn.lookupByName, self.vm.name)
        self.dom = dom
        state, _ = await self.call(dom.state)
        if state not in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED):
            raise RunError(f"{self.vm.name} is not running on {self.source.name}: live migration needs it running")
        flags, params = self._arguments()
        if self.whole:
            await self._prepare_target_storage(dst.conn, params)
        await self._apply_initial_tuning(dom)
        self.log(f"{'whole-machine' if self.whole else 'VM live'} migration to {self.target.name} over "
                 f"{params.get(libvirt.VIR_MIGRATE_PARAM_URI, 'the libvirt connection')}")
        self.enter(Phase.MIRROR if self.whole else Phase.PRECOPY,
                   "disks mirrored first, then memory" if self.whole else "memory pre-copy")
        if self.abort_requested:  # aborted while preparing: no job exists yet to cancel
            raise RunError("aborted before the migration started")
        job = asyncio.ensure_future(self.lv.call_long(self._migrate_blocking, dom, dst.conn, params, flags))
        poller = asyncio.ensure_future(self._poll(dom))
        try:
            await job
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        return await self._succeeded(dst.conn)

    def _arguments(self) -> tuple[int, dict[str, Any]]:
        assert self.target is not None
        options = self.plan.options
        flags = libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_ABORT_ON_ERROR
        if self.vm.persistent:  # the definition moves with the VM: it runs and is defined on one host only
            flags |= libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
        if options.auto_converge:
            flags |= libvirt.VIR_MIGRATE_AUTO_CONVERGE
        if options.postcopy:
            flags |= libvirt.VIR_MIGRATE_POSTCOPY
        params: dict[str, Any] = {}
        if self.target.address:  # memory (and NBD) traffic on the migration network
            params[libvirt.VIR_MIGRATE_PARAM_URI] = f"tcp://{self.target.address}"
            params[libvirt.VIR_MIGRATE_PARAM_LISTEN_ADDRESS] = self.target.address
        if self.bandwidth:
            params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = max(1, round(self.bandwidth / MiB))
        if self.whole:
            flags |= libvirt.VIR_MIGRATE_NON_SHARED_DISK | libvirt.VIR_MIGRATE_NON_SHARED_SYNCHRONOUS_WRITES
            params[libvirt.VIR_MIGRATE_PARAM_MIGRATE_DISKS] = [d.target for d in self._moving_disks()]
        if self.target.migration_uri:
            flags |= libvirt.VIR_MIGRATE_PEER2PEER
        return flags, params

    def _moving_disks(self) -> tuple[Disk, ...]:
        return moved_disks(self.vm, self.plan.kind, self.plan.disks)

    def _migrate_blocking(self, dom: libvirt.virDomain, dconn: libvirt.virConnect, params: dict[str, Any],
                          flags: int) -> None:
        assert self.target is not None
        if flags & libvirt.VIR_MIGRATE_PEER2PEER:
            dom.migrateToURI3(self.target.migration_uri, params, flags)
        else:
            dom.migrate3(dconn, params, flags)

    async def _apply_initial_tuning(self, dom: libvirt.virDomain) -> None:
        if self.max_downtime is not None:
            await self.call(dom.migrateSetMaxDowntime, round(self.max_downtime * 1000), 0)
        else:
            with contextlib.suppress(libvirt.libvirtError):
                self.max_downtime = (await self.call(dom.migrateGetMaxDowntime, 0)) / 1000

    async def _prepare_target_storage(self, dconn: libvirt.virConnect, params: dict[str, Any]) -> None:
        """The target needs an active pool at the disks' directory, or the images pre-created (lab-notes).
        When the target datastore's directory differs, the disks get new paths through the destination XML."""
        assert self.dom is not None
        ds = self.target_datastore
        if ds is None:
            raise RunError("whole-machine migration needs a target datastore (--datastore)")
        pool = await self.call(dconn.storagePoolLookupByName, ds.pool or ds.name)
        if not await self.call(pool.isActive):
            raise RunError(f"datastore {ds.name} (pool {ds.pool or ds.name}) is not active on {self.target.name}")
        await self.call(pool.refresh, 0)
        self._target_volumes_before = set(await self.call(pool.listVolumes))
        target_dir = ds.path or ""
        moves = {d.target: os.path.join(target_dir, os.path.basename(d.path)) for d in self._moving_disks()}
        existing = [p for p in moves.values() if os.path.basename(p) in self._target_volumes_before]
        if existing:
            verb = "exists" if len(existing) == 1 else "exist"
            raise RunError(f"{', '.join(existing)} already {verb} on {ds.name} on {self.target.name}: "
                           "refusing to overwrite")
        if any(os.path.dirname(d.path) != target_dir for d in self._moving_disks()):
            for disk in self._moving_disks():
                xml = (f"<volume><name>{os.path.basename(moves[disk.target])}</name>"
                       f"<capacity unit='bytes'>{disk.capacity}</capacity>"
                       f"<target><format type='{disk.format}'/></target></volume>")
                await self.call(pool.createXML, xml, 0)
                self._created_paths.append(moves[disk.target])
            xml = await self.call(self.dom.XMLDesc, libvirt.VIR_DOMAIN_XML_MIGRATABLE)
            params[libvirt.VIR_MIGRATE_PARAM_DEST_XML] = _with_disk_paths(xml, moves)
        self.log(f"disks go to {ds.name} on {self.target.name}: {', '.join(moves.values())}")

    async def _poll(self, dom: libvirt.virDomain) -> None:
        seen_job = False
        label = "+".join(d.target for d in self._moving_disks()) if self.whole else None
        while True:
            try:
                stats = await self.call(dom.jobStats, 0)
            except libvirt.libvirtError:
                stats = {}
            if stats.get("type", JOB_NONE) != JOB_NONE:
                seen_job = True
                if self.whole and self.phase is Phase.MIRROR and stats.get("memory_processed", 0) > 0:
                    self.enter(Phase.PRECOPY, "disks in sync; memory pre-copy")
                sample = sample_from_job_stats(stats, self.elapsed, self.phase, max_downtime=self.max_downtime,
                                               bandwidth=self.bandwidth, postcopy=self.postcopy_active,
                                               disk_label=label)
                self.emit(sample)
                near_end = (sample.expected_downtime is not None and sample.max_downtime is not None
                            and sample.expected_downtime < 2 * sample.max_downtime)
                await asyncio.sleep(POLL_NEAR_END_S if near_end else POLL_S)
            else:
                await asyncio.sleep(POLL_NEAR_END_S if seen_job else POLL_S)

    async def _succeeded(self, dconn: libvirt.virConnect) -> Outcome:
        assert self.target is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._completed.wait(), COMPLETED_STATS_WAIT_S)
        stats = self.completed_stats
        new_dom = await self.call(dconn.lookupByName, self.vm.name)
        if stats is None:  # JOB_COMPLETED missed: the target keeps the completed statistics too
            with contextlib.suppress(libvirt.libvirtError):
                stats = await self.call(new_dom.jobStats, libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
            self.log("final statistics read from the target (no JOB_COMPLETED event)", "warning")
        self.enter(Phase.RESUMED, "running on target")
        state, _ = await self.call(new_dom.state)
        paused = state == libvirt.VIR_DOMAIN_PAUSED
        if paused:
            await self.call(new_dom.resume)
            paused = False
            self.log("resumed on the target (it had been paused to complete the migration)", "warning")
        self.enter(Phase.CLEANUP, "source stopped and undefined")
        if self.whole and self.plan.options.remove_source:
            await self._remove_source_images()
        return outcome_from_completed(stats or {}, self.target.name, postcopy=self.postcopy_active,
                                      vm_paused=paused)

    async def _remove_source_images(self) -> None:
        src = self.backend.connection(self.source.name)
        for disk in self._moving_disks():
            try:
                vol = await self.call(src.conn.storageVolLookupByPath, disk.path)
                await self.call(vol.delete, 0)
                self.log(f"removed the source image {disk.path} on {self.source.name}")
            except libvirt.libvirtError as exc:
                self.log(f"could not remove {disk.path} on {self.source.name}: {message(exc)}", "warning")

    # --- tuning -----------------------------------------------------------------------------------------
    async def set_max_downtime(self, seconds: float) -> None:
        assert self.dom is not None
        await self.call(self.dom.migrateSetMaxDowntime, max(1, round(seconds * 1000)), 0)
        self.max_downtime = seconds
        self.log(f"max downtime set to {seconds * 1000:.0f} ms")

    async def set_bandwidth(self, bytes_per_s: float | None) -> None:
        assert self.dom is not None
        mib = UNLIMITED_MIB_S if bytes_per_s is None else max(1, round(bytes_per_s / MiB))
        await self.call(self.dom.migrateSetMaxSpeed, mib, 0)
        self.bandwidth = bytes_per_s
        self.log(f"bandwidth limit {'lifted' if bytes_per_s is None else f'set to {mib} MiB/s'}")

    async def enable_auto_converge(self) -> None:
        """QEMU refuses to change the capability mid-run; a run allowed to use it started with it on."""
        if not self.plan.options.auto_converge:
            raise RunError("libvirt fixes auto-converge when the migration starts: start the run with it allowed")
        self.log("auto-converge has been on since the start: QEMU raises the throttle by itself")

    async def start_postcopy(self) -> None:
        assert self.dom is not None
        if not self.plan.options.postcopy:
            raise RunError("post-copy was not allowed when this run started (start it with post-copy allowed)")
        await self.call(self.dom.migrateStartPostCopy, 0)
        self.log("switching to post-copy")

    async def pause_to_complete(self) -> None:
        assert self.dom is not None
        await self.call(self.dom.suspend)
        self.paused_by_policy = True
        self.log(f"{self.vm.name} paused on {self.source.name} so that the last copy completes", "error")

    async def abort(self) -> None:
        self.abort_requested = True
        if self.dom is not None:
            with contextlib.suppress(libvirt.libvirtError):  # the job may have ended meanwhile
                await self.call(self.dom.abortJob)
        self.log("abort requested")

    # --- failure ----------------------------------------------------------------------------------------
    async def clean_target(self) -> None:
        """libvirt normally destroys the half-built domain on the target; if one is left (the target had lost
        touch with the source) and the source still runs the VM, it goes. Volumes created for the disks too."""
        if self.target is None:
            return
        conn = self.backend.connections.get(self.target.name)
        if conn is None or conn.conn is None:
            return
        await self._destroy_incoming_copy(conn.conn)
        if not self.whole or self.target_datastore is None:
            return
        if await self._state(self.target.name) is not None:
            self.log(f"{self.vm.name} still exists on {self.target.name}: its images there are kept", "error")
            return
        ds = self.target_datastore
        pool = await self.call(conn.conn.storagePoolLookupByName, ds.pool or ds.name)
        await self.call(pool.refresh, 0)
        ours = {os.path.basename(d.path) for d in self._moving_disks()}
        for name in set(await self.call(pool.listVolumes)) - self._target_volumes_before:
            if name in ours:
                vol = await self.call(pool.storageVolLookupByName, name)
                await self.call(vol.delete, 0)
                self.log(f"removed the half-copied image {name} from {ds.name} on {self.target.name}")


    async def _destroy_incoming_copy(self, dconn: libvirt.virConnect) -> None:
        try:
            copy = await self.call(dconn.lookupByName, self.vm.name)
            state, _ = await self.call(copy.state)
        except libvirt.libvirtError:
            return  # nothing there: the usual case
        if state not in (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_SHUTOFF) or not await self._source_runs():
            return  # never touch what may be the only running copy
        with contextlib.suppress(libvirt.libvirtError):
            if state == libvirt.VIR_DOMAIN_PAUSED:
                await self.call(copy.destroy)
            if await self.call(copy.isPersistent):
                await self.call(copy.undefine)
        self.log(f"removed the unfinished copy of {self.vm.name} from {self.target.name}", "warning")  # type: ignore[union-attr]

    async def _source_runs(self) -> bool:
        conn = self.backend.connections.get(self.source.name)
        if conn is None or conn.conn is None:
            return False
        try:
            dom = await self.call(conn.conn.lookupByName, self.vm.name)
            state, _ = await self.call(dom.state)
        except libvirt.libvirtError:
            return False
        return state in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED, libvirt.VIR_DOMAIN_PAUSED)


def _with_disk_paths(xml: str, moves: dict[str, str]) -> str:
    root = ET.fromstring(xml)
    for disk in root.findall("devices/disk"):
        target = disk.find("target")
        source = disk.find("source")
        if target is not None and source is not None and target.get("dev") in moves:
            source.set("file", moves[target.get("dev", "")])
    return ET.tostring(root, encoding="unicode")
