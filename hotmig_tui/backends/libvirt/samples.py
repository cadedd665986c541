"""libvirt job statistics -> Samples and Outcomes, with the units DESIGN.md §4 asks for (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from hotmig_tui.core.run import DiskProgress, Outcome, Phase, Sample

# QEMU's target page size on x86; libvirt reports memory_page_size only in completed statistics.
X86_PAGE_SIZE = 4096
JOB_NONE = 0


def _ms(stats: Mapping[str, float], key: str) -> float | None:
    return stats[key] / 1000 if key in stats else None


def _int(stats: Mapping[str, float], key: str) -> int | None:
    return int(stats[key]) if key in stats else None


def sample_from_job_stats(
    stats: Mapping[str, float],
    t: float,
    phase: Phase,
    *,
    max_downtime: float | None,
    bandwidth: float | None,
    postcopy: bool,
    disk_label: str | None = None,
) -> Sample:
    """One poll of dom.jobStats(). dirty rate = pages/s × page size; `downtime` while running is QEMU's
    expected downtime, not a measured one."""
    page = stats.get("memory_page_size", X86_PAGE_SIZE)
    dirty = stats["memory_dirty_rate"] * page if "memory_dirty_rate" in stats else None
    disks: dict[str, DiskProgress] = {}
    if disk_label and "disk_total" in stats:
        total = int(stats["disk_total"])
        copied = int(stats.get("disk_processed", 0))
        disks[disk_label] = DiskProgress(copied, total, ready=phase is not Phase.MIRROR)
    throttle = stats.get("auto_converge_throttle")
    return Sample(
        t=t,
        phase=phase,
        iteration=_int(stats, "memory_iteration"),
        memory_total=_int(stats, "memory_total"),
        memory_processed=_int(stats, "memory_processed"),
        memory_remaining=_int(stats, "memory_remaining"),
        dirty_rate=dirty,
        transfer_rate=stats.get("memory_bps") if phase is not Phase.MIRROR else stats.get("disk_bps"),
        expected_downtime=_ms(stats, "downtime"),
        max_downtime=max_downtime,
        bandwidth=bandwidth,
        throttle=throttle / 100 if throttle is not None else None,
        postcopy=postcopy,
        disks=disks,
        data_remaining=_int(stats, "data_remaining"),
    )


def outcome_from_completed(
    stats: Mapping[str, float], vm_host: str, *, postcopy: bool, vm_paused: bool = False
) -> Outcome:
    """The final record, straight from libvirt's completed-job statistics."""
    return Outcome(
        phase=Phase.DONE,
        vm_host=vm_host,
        vm_paused=vm_paused,
        downtime=_ms(stats, "downtime"),
        downtime_net=_ms(stats, "downtime_net"),
        total_time=_ms(stats, "time_elapsed"),
        setup_time=_ms(stats, "setup_time"),
        iterations=_int(stats, "memory_iteration"),
        bytes_sent=_int(stats, "data_processed"),
        memory_bytes=_int(stats, "memory_processed"),
        disk_bytes=_int(stats, "disk_processed"),
        postcopy=postcopy,
        stats={k: v for k, v in stats.items() if isinstance(v, int | float)},
    )
