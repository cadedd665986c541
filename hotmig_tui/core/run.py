"""The vocabulary of one migration run, shared by both backends, the engine, the policy and the screens.

One Sample type and one event vocabulary (DESIGN.md §1, §4): SI units, seconds since the run started.
A value a backend did not report stays ``None``; nothing here is ever invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class MigrationKind(StrEnum):
    VM = "vm"  # VM live migration: memory pre-copy, disks on shared storage (seed VM-P)
    STORAGE = "storage"  # storage live migration: disk mirror, then switch (seed ST-P)
    WHOLE = "whole"  # whole machine: disks and memory together, one pause (seed WM-P)


class Phase(StrEnum):
    """The article's phases (VM-P, ST-P, WM-P) as the user sees them."""

    QUEUED = "queued"
    PREPARE = "prepare"
    MIRROR = "mirror"
    PRECOPY = "precopy"
    SWITCHOVER = "switchover"
    RESUMED = "resumed"
    CLEANUP = "cleanup"
    DONE = "done"
    FAILED = "failed"
    ABORTED = "aborted"

    @property
    def final(self) -> bool:
        return self in (Phase.DONE, Phase.FAILED, Phase.ABORTED)


# The phases each kind passes through, in order (the stepper shows these).
PHASES_BY_KIND: dict[MigrationKind, tuple[Phase, ...]] = {
    MigrationKind.VM: (Phase.PREPARE, Phase.PRECOPY, Phase.SWITCHOVER, Phase.RESUMED, Phase.CLEANUP, Phase.DONE),
    MigrationKind.STORAGE: (Phase.PREPARE, Phase.MIRROR, Phase.SWITCHOVER, Phase.CLEANUP, Phase.DONE),
    MigrationKind.WHOLE: (
        Phase.PREPARE,
        Phase.MIRROR,
        Phase.PRECOPY,
        Phase.SWITCHOVER,
        Phase.RESUMED,
        Phase.CLEANUP,
        Phase.DONE,
    ),
}


class TimeoutAction(StrEnum):
    ABORT = "abort"
    PAUSE = "pause"  # pause the guest so the last copy completes (force-complete, Nova/virsh --timeout-suspend)
    POSTCOPY = "postcopy"


class FailureCause(StrEnum):
    """The article's list of why a live migration fails (seed VM-F)."""

    NETWORK = "VM-F1"
    HOST_FAILED = "VM-F2"
    CPU_INCOMPATIBLE = "VM-F3"
    DISK_UNREACHABLE = "VM-F4"
    RESOURCES = "VM-F5"
    TIMEOUT = "VM-F6"

    @property
    def text(self) -> str:
        return FAILURE_TEXT[self]


FAILURE_TEXT: dict[FailureCause, str] = {
    FailureCause.NETWORK: "the network between source and target is cut or unreachable",
    FailureCause.HOST_FAILED: "the source or target host failed, rebooted or entered maintenance mode",
    FailureCause.CPU_INCOMPATIBLE: "source and target CPU types are incompatible",
    FailureCause.DISK_UNREACHABLE: "the target host cannot access the VM's disks",
    FailureCause.RESOURCES: "the target host lacks resources",
    FailureCause.TIMEOUT: "the migration took longer than its timeout",
}


@dataclass(frozen=True, slots=True)
class MigrationOptions:
    max_downtime: float | None = None  # s; None = the hypervisor's default (QEMU 300 ms)
    bandwidth: float | None = None  # bytes/s; None = unlimited
    timeout: float | None = None  # s from the start of the run
    timeout_action: TimeoutAction = TimeoutAction.ABORT
    auto_converge: bool = False
    postcopy: bool = False  # allow switching to post-copy (the policy or the user triggers it)
    remove_source: bool = False  # storage: delete the source image after the pivot
    policy: bool = True  # let the convergence policy act


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    vm: str
    kind: MigrationKind
    source: str  # host the VM runs on when planned
    target_host: str | None = None  # None for storage migration (the VM stays)
    target_datastore: str | None = None  # storage/whole: where the disks go
    disks: tuple[str, ...] = ()  # storage: which disk targets; () = all
    options: MigrationOptions = field(default_factory=MigrationOptions)

    @property
    def destination(self) -> str:
        """The host the VM should run on when the run succeeds."""
        return self.target_host or self.source


@dataclass(frozen=True, slots=True)
class DiskProgress:
    copied: int
    total: int
    ready: bool = False

    @property
    def fraction(self) -> float:
        return min(1.0, self.copied / self.total) if self.total else 0.0


@dataclass(frozen=True, slots=True)
class Sample:
    """One poll of a running migration (DESIGN.md §4)."""

    t: float
    phase: Phase
    iteration: int | None = None
    memory_total: int | None = None
    memory_processed: int | None = None
    memory_remaining: int | None = None
    dirty_rate: float | None = None  # bytes/s; libvirt reports 0 during pass 1
    transfer_rate: float | None = None  # bytes/s
    expected_downtime: float | None = None  # s, the job's running estimate
    max_downtime: float | None = None  # s, the limit in force
    bandwidth: float | None = None  # bytes/s, the limit in force
    throttle: float | None = None  # 0..1, auto-converge
    postcopy: bool = False
    disks: dict[str, DiskProgress] = field(default_factory=dict)
    data_remaining: int | None = None  # memory + disk bytes still to send


@dataclass(frozen=True, slots=True)
class PhaseChange:
    t: float
    phase: Phase
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LogLine:
    t: float
    text: str
    level: str = "info"  # info | warning | error | policy


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a run ended, from the completed job's statistics when the backend has them."""

    phase: Phase  # DONE, FAILED or ABORTED
    vm_host: str | None  # where the VM runs now (None only if nobody can tell: then that is the error)
    vm_paused: bool = False
    cause: FailureCause | None = None
    error: str | None = None  # the hypervisor's own error text
    downtime: float | None = None  # s, real
    downtime_net: float | None = None
    total_time: float | None = None
    setup_time: float | None = None
    iterations: int | None = None
    bytes_sent: int | None = None
    memory_bytes: int | None = None
    disk_bytes: int | None = None
    postcopy: bool = False
    # The backend's own final record (libvirt's completed-job statistics), kept as reported.
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.phase is Phase.DONE


Update = Sample | PhaseChange | LogLine
