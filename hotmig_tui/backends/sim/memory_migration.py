"""Simulated VM live migration (seed VM-P) and whole-machine migration (seed WM-P).

The phases and log lines are the libvirt backend's (backends/libvirt/memory_migration.py): PREPARE, for a
whole machine MIRROR (disks first, over the same link), PRECOPY with "pre-copy pass N begins" at each bitmap
sync, SWITCHOVER (the one pause), RESUMED on the target, CLEANUP, DONE. The samples carry what jobStats would:
memory_dirty_rate is 0 until QEMU's first rate period ends (pass 1), ``expected_downtime`` divides what remains
by the capped rate, while the real downtime is the final copy at the link's own speed (QEMU lifts the cap).
"""

from __future__ import annotations

import dataclasses
import posixpath
from typing import TYPE_CHECKING

from hotmig_tui.backends.sim.migration import (
    FALLBACK_DIRTY_RATE,
    SAMPLE_NEAR_END_S,
    SAMPLE_S,
    RunEnded,
    SimRunBase,
    SimRunError,
)
from hotmig_tui.core.model import Disk
from hotmig_tui.core.physics import SETUP_TIME, ZERO_PAGE_SHARE, MirrorState, PostcopyState, PrecopyState
from hotmig_tui.core.rules.moves import moved_disks
from hotmig_tui.core.run import (
    DiskProgress,
    FailureCause,
    LogLine,
    MigrationKind,
    MigrationPlan,
    Outcome,
    Phase,
    Sample,
)
from hotmig_tui.core.units import MiB, fmt_bytes, fmt_rate, fmt_seconds

if TYPE_CHECKING:
    from hotmig_tui.backends.sim.backend import SimBackend

# libvirt's text for a migration job cancelled with abortJob (lab-notes).
ABORTED_TEXT = "operation aborted: job 'migration out' canceled by client"
PAGE_SIZE = 4096
_EPS = 1e-9


class SimMemoryRun(SimRunBase):
    def __init__(self, backend: SimBackend, plan: MigrationPlan) -> None:
        super().__init__(backend, plan)
        if self.target is None:
            raise SimRunError(f"{plan.kind.value} migration needs a target host")
        if self.target.name == self.source.name:
            raise SimRunError(f"{self.vm.name} already runs on {self.source.name}")
        self.whole = plan.kind is MigrationKind.WHOLE
        self.disks: tuple[Disk, ...] = moved_disks(self.vm, plan.kind, plan.disks)
        if self.whole:
            ds = self.target_datastore
            if ds is None:
                raise SimRunError("whole-machine migration needs a target datastore (--datastore)")
            if self.target.name not in ds.hosts:
                raise SimRunError(f"datastore {ds.name} is not attached to {self.target.name}")
            self.destinations = {
                d.target: posixpath.join(ds.path or "/" + ds.name, posixpath.basename(d.path)) for d in self.disks
            }
        self.dirty_rate = self.vm.dirty_rate if self.vm.dirty_rate is not None else FALLBACK_DIRTY_RATE
        self.working_set = self.vm.working_set if self.vm.working_set is not None else self.vm.memory
        # libvirt's AUTO_CONVERGE flag switches it on for the whole run; the sim can also switch it on later.
        self.auto_converge = plan.options.auto_converge
        self.postcopy_requested = False
        self.postcopy_active = False
        self.pause_requested = False
        self.paused_at: float | None = None
        self.mirror: MirrorState | None = None
        self._rate = 0.0  # the capped rate of the latest tick, as QEMU measures it

    # --- the run ----------------------------------------------------------------------------------------
    async def execute(self) -> Outcome:
        assert self.target is not None
        self.check_hosts_and_vm([self.source, self.target])
        if not self.whole:
            self._check_disks_reachable()
        self._log_start()
        await self.sleep_until(SETUP_TIME)
        self.check_aborted(ABORTED_TEXT)
        if self.whole:
            await self._mirror()
        return await self._precopy()

    def _check_disks_reachable(self) -> None:
        """VM live migration leaves the disks where they are: the target must see every one (VM-F4)."""
        assert self.target is not None
        inventory = self.backend.snapshot()
        for disk in self.vm.disks:
            ds = inventory.datastore(disk.datastore) if disk.datastore else None
            if ds is not None and self.target.name not in ds.hosts:
                raise RunEnded(Phase.FAILED, f"Cannot access storage file '{disk.path}': No such file or directory "
                                             f"({ds.name} is not attached to {self.target.name})",
                               FailureCause.DISK_UNREACHABLE)

    def _log_start(self) -> None:
        assert self.target is not None
        over = f"tcp://{self.target.address}" if self.target.address else "the libvirt connection"
        self.log(f"{'whole-machine' if self.whole else 'VM live'} migration to {self.target.name} over {over}")
        if self.whole and self.target_datastore:
            self.log(f"disks go to {self.target_datastore.name} on {self.target.name}: "
                     f"{', '.join(self.destinations.values())}")
        self.log_link("memory goes" if not self.whole else "disks, then memory, go",
                      self.capped(self.link_speed()))
        if self.vm.dirty_rate is None:
            self.log(f"{self.vm.name} declares no dirty rate: simulating {fmt_rate(FALLBACK_DIRTY_RATE)}", "warning")
        if self.vm.working_set is None:
            self.log(f"{self.vm.name} declares no working set: simulating all {fmt_bytes(self.vm.memory)} of RAM "
                     "(the pessimistic case)", "warning")
        self.log(f"simulated guest: dirties {fmt_rate(self.dirty_rate)} at random over a "
                 f"{fmt_bytes(self.working_set)} working set")

    def _take_pause(self) -> None:
        if self.pause_requested and self.paused_at is None:
            self.paused_at = self.t

    async def _mirror(self) -> None:
        """NBD mirror with synchronous writes: the disks' allocated bytes over the (capped) link, then READY."""
        mirror = self.mirror = MirrorState(float(sum(d.allocation for d in self.disks)))
        self.enter(Phase.MIRROR, "disks mirrored first, then memory")
        while not mirror.ready:
            self.check_aborted(ABORTED_TEXT)
            self._take_pause()
            rate = self.capped(self.link_speed()) * self.noise.link()
            step = min(SAMPLE_S, mirror.time_to_ready(rate))
            before = mirror.cur
            mirror = mirror.advance(step, rate)
            if mirror.allocated - mirror.copied < 1.0:  # float residue must not cost a phantom tick
                mirror = dataclasses.replace(mirror, copied=mirror.allocated)
            self.mirror = mirror
            await self.sleep_until(self.t + step)
            await self.publish(Sample(
                t=self.t, phase=Phase.MIRROR, transfer_rate=(mirror.cur - before) / step if step else None,
                max_downtime=self.max_downtime, bandwidth=self.bandwidth, disks=self._disks(),
                data_remaining=round(mirror.end - mirror.cur) + self.vm.memory))

    async def _precopy(self) -> Outcome:
        state = PrecopyState.start(self.vm.memory, self.working_set, ZERO_PAGE_SHARE)
        t0 = self.t  # the physics counts from the start of pre-copy
        self.enter(Phase.PRECOPY, "disks in sync; memory pre-copy" if self.whole else "memory pre-copy")
        self.log("pre-copy pass 1 begins")
        while True:
            self.check_aborted(ABORTED_TEXT)
            if self.postcopy_requested:
                return await self._postcopy(state, t0)
            self._take_pause()
            interval = SAMPLE_NEAR_END_S if self._near_end(state) else SAMPLE_S
            rate = self._rate = self.capped(self.link_speed()) * self.noise.link()
            dirty = 0.0 if self.paused_at is not None else self.dirty_rate * self.noise.dirty()
            before = state.processed
            state = self._advance(state, t0, interval, rate, dirty)
            await self.sleep_until(t0 + state.t)
            if state.converged:
                return await self._switchover(state, t0)
            await self.publish(self._sample(state, (state.processed - before) / interval, rate))

    def _near_end(self, state: PrecopyState) -> bool:
        """The libvirt poller's rule: poll faster once the expected downtime nears the limit."""
        return state.iteration > 1 and state.expected_downtime(self.capped(self.link_speed())) < 2 * self.max_downtime

    def _advance(self, state: PrecopyState, t0: float, dt: float, rate: float, dirty: float) -> PrecopyState:
        """``dt`` seconds of pre-copy, stopping at each pass end so its log line carries its own time."""
        end = state.t + dt
        while not state.converged and end - state.t > _EPS:
            step = min(end - state.t, state.time_to_sync(rate))
            nxt = state.advance(step, bandwidth=rate, dirty_rate=dirty, max_downtime=self.max_downtime,
                                auto_converge=self.auto_converge)
            if nxt.iteration > state.iteration:  # libvirt's MIGRATION_ITERATION event
                self.emit(LogLine(t0 + nxt.t, f"pre-copy pass {nxt.iteration} begins"))
            state = nxt
        return state

    def _disks(self) -> dict[str, DiskProgress]:
        """One aggregate entry, as libvirt's jobStats gives disk_* for all mirrored disks together."""
        if self.mirror is None:
            return {}
        m = self.mirror
        return {"+".join(d.target for d in self.disks): DiskProgress(round(m.cur), round(m.end), m.ready)}

    def _disk_left(self) -> int:
        return round(self.mirror.end - self.mirror.cur) if self.mirror else 0

    def _sample(self, state: PrecopyState, sent_rate: float, rate: float) -> Sample:
        remaining = round(state.remaining)
        return Sample(
            t=self.t, phase=Phase.PRECOPY, iteration=state.iteration, memory_total=self.vm.memory,
            memory_processed=round(state.processed), memory_remaining=remaining,
            dirty_rate=state.reported_dirty_rate, transfer_rate=sent_rate,
            expected_downtime=state.expected_downtime(rate), max_downtime=self.max_downtime,
            bandwidth=self.bandwidth, throttle=state.throttle or None, disks=self._disks(),
            data_remaining=remaining + self._disk_left(),
        )

    async def _switchover(self, state: PrecopyState, t0: float) -> Outcome:
        self.enter(Phase.SWITCHOVER, "paused: last memory round and device state")
        expected = state.expected_downtime(self._rate)
        link = self.link_speed() * self.noise.link()
        final = state.stop_and_copy(link)
        await self.sleep_until(t0 + final.t_end)
        downtime = final.downtime if self.paused_at is None else self.t - self.paused_at
        self.enter(Phase.RESUMED, "running on target")
        if self.paused_at is not None:
            self.log("resumed on the target (it had been paused to complete the migration)", "warning")
            self.log(f"downtime {fmt_seconds(downtime)}: pre-copy finished its passes while the guest waited, "
                     f"then the last {fmt_bytes(final.bytes)} went at the link's {fmt_rate(link)}")
        else:
            lifted = " (QEMU lifts the bandwidth limit for it)" if self.bandwidth and self.bandwidth < link else ""
            self.log(f"downtime {fmt_seconds(downtime)}: the last {fmt_bytes(final.bytes)} went at the link's "
                     f"{fmt_rate(link)}{lifted}; QEMU expected {fmt_seconds(expected)} at {fmt_rate(self._rate)}")
        self.enter(Phase.CLEANUP, "source stopped and undefined")
        return self._done(downtime, final.iterations, state.processed + final.bytes, state.throttle)

    async def _postcopy(self, state: PrecopyState, t0: float) -> Outcome:
        """Pause for the device state, resume on the target, then fetch the rest at the link's speed (QEMU's
        post-copy bandwidth is unlimited by default)."""
        self.postcopy_active = True
        pc: PostcopyState = state.start_postcopy(self.link_speed() * self.noise.link())
        self.enter(Phase.SWITCHOVER, "post-copy: paused for the switch to the target")
        await self.sleep_until(t0 + pc.t)
        self.enter(Phase.RESUMED, "post-copy: remaining pages fetched on demand")
        while not pc.done:
            rate = self.link_speed() * self.noise.link()
            step = min(SAMPLE_S, pc.time_to_finish(rate))
            before = pc.processed
            pc = pc.advance(step, rate)
            if pc.remaining < 1.0:
                pc = dataclasses.replace(pc, remaining=0.0)
            await self.sleep_until(t0 + pc.t)
            if pc.done:
                break
            await self.publish(Sample(
                t=self.t, phase=Phase.RESUMED, iteration=pc.iteration, memory_total=self.vm.memory,
                memory_processed=round(pc.processed), memory_remaining=round(pc.remaining),
                transfer_rate=(pc.processed - before) / step, max_downtime=self.max_downtime,
                bandwidth=self.bandwidth, throttle=state.throttle or None, postcopy=True, disks=self._disks(),
                data_remaining=round(pc.remaining) + self._disk_left()))
        self.log(f"post-copy done: the guest was paused {fmt_seconds(pc.downtime)} for the switch")
        self.enter(Phase.CLEANUP, "source stopped and undefined")
        return self._done(pc.downtime, pc.iteration, pc.processed, state.throttle)

    def _done(self, downtime: float, iterations: int, memory_bytes: float, throttle: float) -> Outcome:
        assert self.target is not None
        memory = round(memory_bytes)
        disk = round(self.mirror.end) if self.mirror else None
        stats: dict[str, float] = {
            "time_elapsed": self.t * 1000, "setup_time": SETUP_TIME * 1000, "downtime": downtime * 1000,
            "memory_total": self.vm.memory, "memory_processed": memory, "memory_remaining": 0,
            "memory_iteration": iterations, "memory_page_size": PAGE_SIZE,
            "data_total": self.vm.memory + (disk or 0), "data_processed": memory + (disk or 0), "data_remaining": 0,
            "sim_link_bandwidth": self.link_speed(), "sim_dirty_rate": self.dirty_rate,
            "sim_working_set": self.working_set,
        }
        if disk is not None:
            stats.update(disk_total=disk, disk_processed=disk, disk_remaining=0)
        if throttle:
            stats["auto_converge_throttle"] = round(throttle * 100)
        return Outcome(phase=Phase.DONE, vm_host=self.target.name, downtime=downtime, total_time=self.t,
                       setup_time=SETUP_TIME, iterations=iterations, bytes_sent=memory + (disk or 0),
                       memory_bytes=memory, disk_bytes=disk, postcopy=self.postcopy_active, stats=stats)

    def clean_target(self) -> None:
        if self.paused_at is not None:
            self.log(f"resumed {self.vm.name} on {self.source.name}: the failed run had left it paused", "warning")
        if self.mirror is not None and self.target_datastore is not None and self.target is not None:
            self.log(f"removed the half-copied images {', '.join(self.destinations.values())} from "
                     f"{self.target_datastore.name} on {self.target.name}")

    # --- tuning: controls take effect at the next tick ---------------------------------------------------
    async def set_max_downtime(self, seconds: float) -> None:
        if seconds <= 0:
            raise SimRunError(f"max downtime must be positive: {seconds}")
        self.max_downtime = seconds
        self.log(f"max downtime set to {seconds * 1000:.0f} ms")

    async def set_bandwidth(self, bytes_per_s: float | None) -> None:
        self.bandwidth = bytes_per_s or None
        text = "lifted" if not bytes_per_s else f"set to {max(1, round(bytes_per_s / MiB))} MiB/s"
        self.log(f"bandwidth limit {text}")

    async def enable_auto_converge(self) -> None:
        if self.auto_converge:
            self.log("auto-converge has been on since the start: QEMU raises the throttle by itself")
            return
        self.auto_converge = True
        self.log("auto-converge switched on: QEMU throttles the vCPUs (20 %, then +10 % per step) while the guest "
                 "dirties more than half of what is sent")

    async def start_postcopy(self) -> None:
        if not self.plan.options.postcopy:
            raise SimRunError("post-copy was not allowed when this run started (start it with post-copy allowed)")
        if self.postcopy_active or self.postcopy_requested:
            return
        if self.phase not in (Phase.PREPARE, Phase.MIRROR, Phase.PRECOPY):
            raise SimRunError(f"too late for post-copy: the run is in {self.phase.value}")
        self.postcopy_requested = True
        # QEMU holds the switch until what cannot be fetched later (device state, the disks) is across.
        self.log("switching to post-copy" + ("" if self.phase is Phase.PRECOPY else " once pre-copy begins"))

    async def pause_to_complete(self) -> None:
        if self.postcopy_active or self.phase not in (Phase.PREPARE, Phase.MIRROR, Phase.PRECOPY):
            self.log(f"nothing to pause: the run is in {self.phase.value}", "warning")
            return
        self.pause_requested = True
        self.log(f"{self.vm.name} paused on {self.source.name} so that the last copy completes", "error")

    async def abort(self) -> None:
        if self.postcopy_active:  # libvirt refuses too: the guest already runs on the target
            self.log("cannot abort in post-copy: the guest already runs on the target; letting it finish", "warning")
            return
        await super().abort()
