"""Domain events, translated from libvirt's callbacks into plain values (they cross threads)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libvirt

LIFECYCLE = "lifecycle"
ITERATION = "migration-iteration"
JOB_COMPLETED = "job-completed"
BLOCK_JOB = "block-job"

LIFECYCLE_EVENTS = {
    libvirt.VIR_DOMAIN_EVENT_DEFINED: "defined",
    libvirt.VIR_DOMAIN_EVENT_UNDEFINED: "undefined",
    libvirt.VIR_DOMAIN_EVENT_STARTED: "started",
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: "suspended",
    libvirt.VIR_DOMAIN_EVENT_RESUMED: "resumed",
    libvirt.VIR_DOMAIN_EVENT_STOPPED: "stopped",
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: "shutdown",
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: "pmsuspended",
    libvirt.VIR_DOMAIN_EVENT_CRASHED: "crashed",
}
# Detail codes that mean "because of a migration" (the same number for started/suspended/resumed/stopped).
MIGRATED_DETAILS = {
    "started": libvirt.VIR_DOMAIN_EVENT_STARTED_MIGRATED,
    "suspended": libvirt.VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED,
    "resumed": libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED,
    "stopped": libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED,
}
POSTCOPY_DETAILS = {
    "suspended": libvirt.VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY,
    "resumed": libvirt.VIR_DOMAIN_EVENT_RESUMED_POSTCOPY,
}
BLOCK_JOB_STATUS = {
    libvirt.VIR_DOMAIN_BLOCK_JOB_COMPLETED: "completed",
    libvirt.VIR_DOMAIN_BLOCK_JOB_FAILED: "failed",
    libvirt.VIR_DOMAIN_BLOCK_JOB_CANCELED: "canceled",
    libvirt.VIR_DOMAIN_BLOCK_JOB_READY: "ready",
}


@dataclass(frozen=True)
class DomainEvent:
    host: str
    vm: str
    kind: str
    name: str = ""  # lifecycle: started/suspended/...; block job: ready/completed/...
    migrated: bool = False
    postcopy: bool = False
    iteration: int | None = None
    disk: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)


def lifecycle(host: str, vm: str, event: int, detail: int) -> DomainEvent:
    name = LIFECYCLE_EVENTS.get(event, str(event))
    return DomainEvent(
        host, vm, LIFECYCLE, name,
        migrated=MIGRATED_DETAILS.get(name) == detail,
        postcopy=POSTCOPY_DETAILS.get(name) == detail,
    )


def block_job(host: str, vm: str, disk: str, status: int) -> DomainEvent:
    return DomainEvent(host, vm, BLOCK_JOB, BLOCK_JOB_STATUS.get(status, str(status)), disk=disk)
