"""Simulated storage live migration (seed ST-P): a mirror with synchronous writes per disk, READY, pivot.

The phases and log lines are the libvirt backend's (backends/libvirt/storage_migration.py): PREPARE, MIRROR
("vda: copying A -> B", then "vda: mirror in sync (READY)"), SWITCHOVER (the pivot: a brief IO pause, the
guest keeps running), CLEANUP, DONE. Samples carry blockJobInfo's cur/end per disk.
"""

from __future__ import annotations

import dataclasses
import posixpath
from typing import TYPE_CHECKING

from hotmig_tui.backends.sim.migration import SAMPLE_S, SimRunBase, SimRunError
from hotmig_tui.core.model import Disk
from hotmig_tui.core.physics import PIVOT_TIME, SETUP_TIME, MirrorState
from hotmig_tui.core.rules.moves import moved_disks
from hotmig_tui.core.run import DiskProgress, MigrationKind, MigrationPlan, Outcome, Phase, Sample
from hotmig_tui.core.units import MiB, fmt_rate

if TYPE_CHECKING:
    from hotmig_tui.backends.sim.backend import SimBackend

# How fast one host copies between two datastores when nothing limits it. The inventory has no field for it
# (nor has the predictor, which asks for a bandwidth limit instead); NFS over 10 GbE or local SSDs manage
# 200-500 MiB/s, so the low end. Said in the run's log.
DATASTORE_COPY_RATE = 200 * MiB


class SimStorageRun(SimRunBase):
    def __init__(self, backend: SimBackend, plan: MigrationPlan) -> None:
        super().__init__(backend, plan)
        ds = self.target_datastore
        if ds is None:
            raise SimRunError("storage migration needs a target datastore (--datastore)")
        if self.source.name not in ds.hosts:
            raise SimRunError(f"datastore {ds.name} is not reachable from {self.source.name}")
        chosen = set(plan.disks)
        unknown = chosen - {d.target for d in self.vm.disks}
        if unknown:
            raise SimRunError(f"{self.vm.name} has no disk {', '.join(sorted(unknown))}")
        self.disks: list[Disk] = list(moved_disks(self.vm, MigrationKind.STORAGE, self.plan.disks))
        for disk in self.disks:
            if disk.datastore == ds.name:
                raise SimRunError(f"{disk.target} already lives on {ds.name}")
        self.destinations = {
            d.target: posixpath.join(ds.path or "/" + ds.name, posixpath.basename(d.path)) for d in self.disks
        }
        self.mirrors: dict[str, MirrorState] = {}

    async def execute(self) -> Outcome:
        self.check_hosts_and_vm([self.source])
        cap = f", at most {fmt_rate(self.bandwidth)} per disk (bandwidth limit)" if self.bandwidth else ""
        self.log(f"datastores copy {fmt_rate(DATASTORE_COPY_RATE)} in all{cap} (assumed: the inventory declares "
                 "no copy speed)")
        self.log(f"guest disk writes unknown: simulated as none, so {'the' if len(self.disks) == 1 else 'each'} "
                 "mirror's end stays put")
        await self.sleep_until(SETUP_TIME)
        self.check_aborted(self._cancelled())
        self.enter(Phase.MIRROR, "mirror with synchronous writes, then baseline copy")
        for disk in self.disks:
            self.mirrors[disk.target] = MirrorState(float(disk.allocation))
            self.log(f"{disk.target}: copying {disk.path} -> {self.destinations[disk.target]}")
        while not all(m.ready for m in self.mirrors.values()):
            self.check_aborted(self._cancelled())
            await self._tick()
        self.enter(Phase.SWITCHOVER, "brief IO pause: switching to the copies")
        await self.sleep_until(self.t + PIVOT_TIME)
        kept = "; source images removed" if self.plan.options.remove_source else "; source images kept"
        self.enter(Phase.CLEANUP, "pools refreshed" + kept)
        if self.plan.options.remove_source:
            for disk in self.disks:
                self.log(f"removed the source image {disk.path}")
        total = round(sum(m.end for m in self.mirrors.values()))
        stats = {"time_elapsed": self.t * 1000, "disk_total": total, "disk_processed": total, "disk_remaining": 0,
                 "pivot_time": PIVOT_TIME * 1000, "sim_copy_rate": DATASTORE_COPY_RATE}
        return Outcome(phase=Phase.DONE, vm_host=self.source.name, total_time=self.t, disk_bytes=total,
                       bytes_sent=total, stats=stats)

    async def _tick(self) -> None:
        """SAMPLE_S of copying, cut short when a disk gets READY so its event carries its own time. The disks
        copy side by side and share the datastores' rate; each block job also obeys the bandwidth limit."""
        copying = [t for t, m in self.mirrors.items() if not m.ready]
        share = DATASTORE_COPY_RATE * self.noise.link() / len(copying)
        rate = self.capped(share)
        step = min([SAMPLE_S] + [self.mirrors[t].time_to_ready(rate) for t in copying])
        sent = 0.0
        for target in copying:
            before = self.mirrors[target].cur
            mirror = self.mirrors[target].advance(step, rate)
            if mirror.allocated - mirror.copied < 1.0:  # float residue must not cost a phantom tick
                mirror = dataclasses.replace(mirror, copied=mirror.allocated)
            self.mirrors[target] = mirror
            sent += mirror.cur - before
        await self.sleep_until(self.t + step)
        for target in copying:
            if self.mirrors[target].ready:
                self.log(f"{target}: mirror in sync (READY)")
        progress = {t: DiskProgress(round(m.cur), round(m.end), ready=m.ready) for t, m in self.mirrors.items()}
        await self.publish(Sample(t=self.t, phase=Phase.MIRROR, transfer_rate=sent / step if step else None,
                                  bandwidth=self.bandwidth, disks=progress,
                                  data_remaining=sum(p.total - p.copied for p in progress.values())))

    def _cancelled(self) -> str:
        return "block job " + ", ".join(f"{d.target} canceled" for d in self.disks)

    def clean_target(self) -> None:
        for target, mirror in self.mirrors.items():
            if not mirror.ready or self.phase is Phase.MIRROR:
                self.log(f"removed the half-copied {self.destinations[target]}")

    # --- tuning -----------------------------------------------------------------------------------------
    async def set_bandwidth(self, bytes_per_s: float | None) -> None:
        self.bandwidth = bytes_per_s or None
        self.log("copy bandwidth " + ("unlimited" if not bytes_per_s else f"{bytes_per_s / MiB:.0f} MiB/s"))

    async def set_max_downtime(self, seconds: float) -> None:
        raise SimRunError("storage migration has no memory downtime to tune: the pivot pauses IO only briefly")

    async def enable_auto_converge(self) -> None:
        raise SimRunError("auto-converge throttles vCPUs for memory migration; a disk mirror does not use it")

    async def start_postcopy(self) -> None:
        raise SimRunError("post-copy applies to memory migration, not to a disk mirror")

    async def pause_to_complete(self) -> None:
        raise SimRunError("a disk mirror completes by itself once in sync; nothing to pause")
