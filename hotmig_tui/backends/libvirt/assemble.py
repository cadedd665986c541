"""Turn per-host readings plus the inventory file's declarations into one Inventory (pure).

Declared datastores get their facts from the pools of that name on their hosts; pools nobody declared
become a datastore of their own host (named host:pool). Disks are mapped to datastores by the pool
directory they live in. A VM seen on two hosts (mid-migration) is shown where it runs.
"""

from __future__ import annotations

import dataclasses
import os

from hotmig_tui.backends.libvirt.facts import DomainReading, HostReading, PoolReading
from hotmig_tui.core.model import (
    SHARED_POOL_TYPES,
    VIRTUALISED_POOL_TYPES,
    Datastore,
    Disk,
    Host,
    HostState,
    Inventory,
    PassthroughDevice,
    PassthroughKind,
    Vm,
    VmState,
)


def host_from_reading(declared: Host, reading: HostReading, state: HostState) -> Host:
    return dataclasses.replace(
        declared,
        state=state,
        cpu_model=reading.caps.cpu_model,
        cpu_vendor=reading.caps.cpu_vendor,
        cpu_count=reading.cpu_count,
        cpu_features=reading.caps.cpu_features,
        guest_cpu_models=reading.guest_cpu_models,
        memory_total=reading.memory_total,
        memory_free=reading.memory_free,
        uuid=reading.caps.uuid,
        hypervisor=reading.hypervisor,
        error=None,
    )


def build_inventory(declared: Inventory, hosts: dict[str, Host], readings: dict[str, HostReading]) -> Inventory:
    datastores = _datastores(declared, readings)
    locate = _Locator(datastores, readings)
    seen: dict[str, tuple[int, Vm]] = {}
    for host_name, reading in readings.items():
        for domain in reading.domains:
            vm = _vm(host_name, domain, reading, locate)
            rank = _rank(domain)
            if vm.name not in seen or rank > seen[vm.name][0]:
                seen[vm.name] = (rank, vm)
    ordered = [hosts.get(h.name, h) for h in declared.hosts]
    return Inventory(declared.clusters, tuple(ordered), tuple(datastores),
                     tuple(sorted((v for _, v in seen.values()), key=lambda v: (v.host, v.name))),
                     source=declared.source)


def _rank(domain: DomainReading) -> int:
    """Where a VM is said to run when two hosts know it: running beats paused beats an incoming copy."""
    if domain.incoming:
        return 0
    return {VmState.RUNNING: 3, VmState.PAUSED: 2, VmState.CRASHED: 1}.get(domain.state, 1)


def _datastores(declared: Inventory, readings: dict[str, HostReading]) -> list[Datastore]:
    result: list[Datastore] = []
    claimed: set[tuple[str, str]] = set()
    for ds in declared.datastores:
        pool_name = ds.pool or ds.name
        pools = [(h, p) for h in ds.hosts for p in readings.get(h, _NO_READING).pools if p.facts.name == pool_name]
        claimed.update((h, pool_name) for h in ds.hosts)
        active = next((p for _, p in pools if p.active), None)
        result.append(dataclasses.replace(
            ds,
            capacity=active.capacity if active else ds.capacity,
            free=active.available if active else ds.free,
            path=ds.path or (active.facts.target_path if active else None),
        ))
    for host, reading in readings.items():
        for pool in reading.pools:
            if (host, pool.facts.name) not in claimed:
                result.append(_undeclared(host, pool))
    return result


def _undeclared(host: str, pool: PoolReading) -> Datastore:
    kind = pool.facts.pool_type
    return Datastore(
        name=f"{host}:{pool.facts.name}",
        pool_type=kind,
        shared=kind in SHARED_POOL_TYPES,
        virtualised=kind in VIRTUALISED_POOL_TYPES,
        hosts=(host,),
        capacity=pool.capacity if pool.active else None,
        free=pool.available if pool.active else None,
        pool=pool.facts.name,
        path=pool.facts.target_path,
    )


class _Locator:
    """Which datastore a disk path belongs to, as seen from one host."""

    def __init__(self, datastores: list[Datastore], readings: dict[str, HostReading]) -> None:
        self.by_host_pool: dict[tuple[str, str], Datastore] = {}
        for ds in datastores:
            for host in ds.hosts:
                self.by_host_pool[(host, ds.pool or ds.name)] = ds
        self.dirs: dict[str, list[tuple[str, Datastore]]] = {}
        for host, reading in readings.items():
            entries = []
            for pool in reading.pools:
                ds = self.by_host_pool.get((host, pool.facts.name))
                if ds and pool.facts.target_path:
                    entries.append((os.path.normpath(pool.facts.target_path), ds))
                elif ds and pool.facts.source_name:
                    entries.append((f"{pool.facts.pool_type}:{pool.facts.source_name}", ds))
            self.dirs[host] = sorted(entries, key=lambda e: -len(e[0]))  # deepest directory first

    def datastore(self, host: str, path: str, pool: str | None) -> str | None:
        if pool:
            ds = self.by_host_pool.get((host, pool))
            return ds.name if ds else None
        directory = os.path.dirname(os.path.normpath(path))
        for prefix, ds in self.dirs.get(host, []):
            if directory == prefix or directory.startswith(prefix + "/") or path.startswith(prefix + "/"):
                return ds.name
        return None


def _vm(host: str, domain: DomainReading, reading: HostReading, locate: _Locator) -> Vm:
    facts = domain.facts
    disks = []
    for source in facts.disks:
        capacity, allocation = domain.block.get(source.target, (0, 0))
        disks.append(Disk(
            target=source.target,
            path=source.path,
            datastore=locate.datastore(host, source.path, source.pool),
            capacity=capacity,
            allocation=allocation,
            format=source.format,
            backing_chain=source.backing_chain,
            shareable=source.shareable,
            transient=source.transient,
            cache_mode=source.cache_mode,
            snapshots=domain.snapshots,
        ))
    passthrough = tuple(
        PassthroughDevice(PassthroughKind.GPU, d.address, "display controller")
        if d.kind is PassthroughKind.PCI and d.address in reading.gpus else d
        for d in facts.passthrough
    )
    measured = domain.dirty_rate_measured
    return Vm(
        name=facts.name,
        host=host,
        state=domain.state,
        vcpus=facts.vcpus,
        memory=facts.memory,
        uuid=facts.uuid,
        cpu_mode=facts.cpu_mode,
        cpu_model=facts.cpu_model,
        passthrough=passthrough,
        disks=tuple(disks),
        dirty_rate=measured if measured is not None else facts.dirty_rate,
        dirty_rate_measured=measured is not None,
        working_set=facts.working_set,
        workload=facts.workload,
        persistent=domain.persistent,
    )


_NO_READING = HostReading(0, frozenset(), 0, 0, None, "", (), ())  # type: ignore[arg-type]
