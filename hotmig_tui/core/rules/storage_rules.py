"""Rules about disks and datastores: VM-C3 (shared storage the target reaches), ST-C1..ST-C5 (what storage
migration cannot move), ST-D (the target datastore: attached to the VM's host, enough space, not where the
disk already is).

Messages name disks by their target (vda) and datastores by name, never the VM, so a finding is shared by
every VM whose disks look the same."""

from __future__ import annotations

from hotmig_tui.core.model import Datastore, Disk, Host
from hotmig_tui.core.rules import catalog
from hotmig_tui.core.rules.facts import Fact, probed
from hotmig_tui.core.rules.findings import Finding, Severity
from hotmig_tui.core.units import fmt_bytes


def shared_storage(
    disk: Disk, datastore: Datastore | None, target: Host, probe: Fact[bool] | None
) -> Finding | None:
    """VM-C3 for one disk; probe: a fresh 'is the disk path visible from the target' fact, if any. Without a
    probe the message does not name the target: one finding serves every host that cannot reach the disk."""
    ds = (("datastore", datastore.name),) if datastore else ()
    if probe is not None and not probe.value:
        return catalog.SHARED_STORAGE.failed(
            f"target {target.name} cannot see disk {disk.target} at {disk.path} ({probed(probe)})",
            (("host", target.name), *ds),
            age_s=probe.age_s,
        )
    if datastore is None:
        if probe is not None:
            return None
        return catalog.SHARED_STORAGE.unknown(
            f"disk {disk.target} ({disk.path}) is on no known datastore: whether other hosts see it is "
            "unknown",
            remedy="probe the disk path from the target, or declare its datastore in the inventory",
        )
    if not datastore.shared:
        return catalog.SHARED_STORAGE.failed(
            f"disk {disk.target} is on {datastore.name}, local storage of {_hosts(datastore)}: no other host "
            "reaches it",
            ds,
        )
    if target.name not in datastore.hosts:
        return catalog.SHARED_STORAGE.failed(
            f"disk {disk.target} is on {datastore.name}, which the target does not mount (only "
            f"{_hosts(datastore)} do)",
            ds,
        )
    return None


def source_disk(disk: Disk, datastore: Datastore | None, live: bool) -> list[Finding]:
    """ST-C1..ST-C5 for one moved disk, from what the disk is and where it is now (any target)."""
    findings = []
    ds = (("datastore", datastore.name),) if datastore else ()
    if datastore is not None and _raw(datastore):
        findings.append(
            catalog.VIRTUALISED.failed(
                f"disk {disk.target} is on {datastore.name} ({datastore.pool_type}), which holds raw "
                "volumes, not image files",
                ds,
            )
        )
    if disk.shareable:
        findings.append(catalog.SHARED_OR_CLONE.failed(f"disk {disk.target} is shareable (multi-attach)", ds))
    if disk.linked_clone:
        findings.append(
            catalog.SHARED_OR_CLONE.failed(
                f"disk {disk.target} is a linked clone (backing file {disk.backing_chain[0]})", ds
            )
        )
    if live:
        if disk.transient:
            findings.append(
                catalog.TRANSIENT_OR_CACHED.failed(f"disk {disk.target} is non-persistent (<transient/>)", ds)
            )
        if disk.host_cached:
            findings.append(
                catalog.TRANSIENT_OR_CACHED.failed(
                    f"disk {disk.target} is host-cached (cache={disk.cache_mode}, the ICache twin)", ds
                )
            )
        if datastore is not None and datastore.distributed_block:
            findings.append(
                catalog.DISTRIBUTED.failed(
                    f"disk {disk.target} is on {datastore.name}, distributed block storage "
                    f"({datastore.pool_type})",
                    ds,
                )
            )
    elif datastore is not None and datastore.distributed_block and (why := _cold_trouble(disk)):
        findings.append(
            catalog.COLD.failed(
                f"the VM is stopped and disk {disk.target} {why} on {datastore.name}, distributed block "
                "storage",
                ds,
            )
        )
    return findings


def target_datastore(disks: tuple[Disk, ...], target: Datastore, live: bool) -> list[Finding]:
    """ST-C1, ST-C4, ST-C5 and ST-D.differs for moving these disks to the target datastore."""
    findings = []
    ds = (("datastore", target.name),)
    if _raw(target):
        findings.append(
            catalog.VIRTUALISED.failed(
                f"target datastore {target.name} ({target.pool_type}) holds raw volumes, not image files",
                ds,
            )
        )
    if live and target.distributed_block:
        findings.append(
            catalog.DISTRIBUTED.failed(
                f"target datastore {target.name} is distributed block storage ({target.pool_type})", ds
            )
        )
    for disk in disks:
        if not live and target.block and (why := _cold_trouble(disk)):
            findings.append(
                catalog.COLD.failed(
                    f"the VM is stopped and disk {disk.target} {why}; target {target.name} is block storage "
                    f"({target.pool_type})",
                    ds,
                )
            )
        if disk.datastore == target.name:
            findings.append(
                catalog.DATASTORE_DIFFERS.failed(f"disk {disk.target} is already on {target.name}", ds)
            )
    return findings


def datastore_host(target: Datastore, host: Host) -> Finding | None:
    if host.name in target.hosts:
        return None
    return catalog.DATASTORE_HOST.failed(
        f"target datastore {target.name} is not attached to {host.name}, where the VM will run "
        f"(attached to {_hosts(target)})",
        (("datastore", target.name), ("host", host.name)),
    )


def datastore_space(allocation: int, capacity: int, target: Datastore, incoming: int) -> Finding | None:
    """allocation/capacity: totals of the moved disks; incoming: space promised to copies in flight."""
    ds = (("datastore", target.name),)
    if target.free is None:
        return catalog.DATASTORE_SPACE.unknown(
            f"free space on target datastore {target.name} is unknown; the disks need "
            f"{fmt_bytes(allocation)}",
            ds,
        )
    available = target.free - incoming
    promised = (
        f" ({fmt_bytes(incoming)} of its {fmt_bytes(target.free)} is promised to copies in flight)"
        if incoming
        else ""
    )
    if allocation > available:
        return catalog.DATASTORE_SPACE.failed(
            f"target datastore {target.name} has {fmt_bytes(available)} free{promised}, the disks need "
            f"{fmt_bytes(allocation)}",
            ds,
        )
    if capacity > available:
        return catalog.DATASTORE_SPACE.failed(
            f"target datastore {target.name} has {fmt_bytes(available)} free{promised}: it holds the disks' "
            f"{fmt_bytes(allocation)} allocated now, but they may grow to {fmt_bytes(capacity)}",
            ds,
            severity=Severity.WARNING,
            remedy=(
                "confirm (thin disks may fill the datastore later), or choose a datastore with more free "
                "space"
            ),
        )
    return None


def _hosts(datastore: Datastore, shown: int = 4) -> str:
    names = datastore.hosts
    if not names:
        return "no host"
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _raw(datastore: Datastore) -> bool:
    # Distributed block storage is not an image datastore either, but ST-C4/ST-C5 say what it allows.
    return not datastore.virtualised and not datastore.distributed_block


def _cold_trouble(disk: Disk) -> str:
    if disk.transient:
        return "is non-persistent"
    if disk.has_snapshots:
        return f"has {disk.snapshots} snapshot{'s' if disk.snapshots > 1 else ''}"
    return ""
