"""The domain model: clusters, hosts, datastores, VMs and their disks.

Plain frozen values, sizes in bytes, rates in bytes/s. Every fact that a constraint of the source article
(`shared/seed/README.md`) needs is a field here; facts a backend could not learn are ``None`` (unknown), never
invented.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import TypeVar

T = TypeVar("T")


class HostState(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    MAINTENANCE = "maintenance"
    REBOOTING = "rebooting"


class VmState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    CRASHED = "crashed"


class CpuMode(StrEnum):
    """libvirt's <cpu mode=...>; host-passthrough ties a VM to identical host CPUs."""

    HOST_PASSTHROUGH = "host-passthrough"
    HOST_MODEL = "host-model"
    CUSTOM = "custom"


class PassthroughKind(StrEnum):
    GPU = "gpu"
    PCI = "pci"
    USB = "usb"


# libvirt pool types, grouped by what the article's storage constraints ask of them.
SHARED_POOL_TYPES = frozenset({"netfs", "gluster", "rbd", "sheepdog", "iscsi", "iscsi-direct", "vstorage"})
# Distributed block storage: the article's FusionStorage (ST-C4); libvirt network disks.
DISTRIBUTED_BLOCK_POOL_TYPES = frozenset({"rbd", "sheepdog", "fusionstorage"})
# Image-file datastores (ST-C1 "virtualised"); logical volumes count as images as DESIGN.md §2 says.
VIRTUALISED_POOL_TYPES = frozenset({"dir", "fs", "netfs", "gluster", "logical", "vstorage"})
# Block storage for the cold-migration rules (ST-C5).
BLOCK_POOL_TYPES = frozenset(
    {"logical", "disk", "iscsi", "iscsi-direct", "scsi", "mpath", "rbd", "sheepdog", "fusionstorage"}
)
POOL_TYPES = SHARED_POOL_TYPES | DISTRIBUTED_BLOCK_POOL_TYPES | VIRTUALISED_POOL_TYPES | BLOCK_POOL_TYPES | {"zfs"}
# Host-side caching modes that stand in for the article's ICache (DESIGN.md §2).
HOST_CACHED_MODES = frozenset({"writeback", "unsafe"})
CACHE_MODES = frozenset({"default", "none", "writethrough", "writeback", "directsync", "unsafe"})


@dataclass(frozen=True, slots=True)
class Cluster:
    name: str
    memory_overcommit: bool = False
    # IMC (CPU compatibility mode): the baseline CPU model every host presents, or None when off.
    cpu_compat_mode: str | None = None
    # CIDR of the dedicated migration network, or None (migration goes over the management network, VM-T2).
    migration_network: str | None = None
    # Usable bandwidth of that network, bytes/s; None when nobody measured or declared it.
    migration_bandwidth: float | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Host:
    name: str
    cluster: str
    uri: str
    ssh: str | None = None
    # This host's address on the migration network (None: use the URI's host).
    address: str | None = None
    # libvirt URI a peer daemon uses to reach this host (peer-to-peer migration); None: client-driven.
    migration_uri: str | None = None
    state: HostState = HostState.DISCONNECTED
    cpu_model: str | None = None
    cpu_vendor: str | None = None
    cpu_count: int | None = None
    cpu_features: frozenset[str] = frozenset()
    # CPU models the hypervisor can give guests (libvirt's domain capabilities, usable); empty when unknown.
    guest_cpu_models: frozenset[str] = frozenset()
    memory_total: int | None = None
    memory_free: int | None = None
    uuid: str | None = None
    hypervisor: str | None = None
    # Why the host is disconnected, as the connection layer reported it.
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Datastore:
    name: str
    pool_type: str
    shared: bool
    virtualised: bool
    hosts: tuple[str, ...]
    capacity: int | None = None
    free: int | None = None
    # The libvirt pool's name on each host, and its target directory (image datastores).
    pool: str | None = None
    path: str | None = None

    @property
    def distributed_block(self) -> bool:
        return self.pool_type in DISTRIBUTED_BLOCK_POOL_TYPES

    @property
    def block(self) -> bool:
        return self.pool_type in BLOCK_POOL_TYPES

    @property
    def used(self) -> int | None:
        if self.capacity is None or self.free is None:
            return None
        return self.capacity - self.free


@dataclass(frozen=True, slots=True)
class PassthroughDevice:
    kind: PassthroughKind
    address: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Disk:
    target: str
    path: str
    datastore: str | None
    capacity: int
    allocation: int
    format: str = "raw"
    # Backing files, nearest first; non-empty means a linked clone (ST-C2).
    backing_chain: tuple[str, ...] = ()
    shareable: bool = False
    # <transient/>: the article's non-persistent disk (ST-C3, ST-C5).
    transient: bool = False
    cache_mode: str = "default"
    snapshots: int = 0

    @property
    def linked_clone(self) -> bool:
        return bool(self.backing_chain)

    @property
    def host_cached(self) -> bool:
        """Closest libvirt twin of the article's ICache (ST-C3)."""
        return self.cache_mode in HOST_CACHED_MODES

    @property
    def has_snapshots(self) -> bool:
        return self.snapshots > 0


@dataclass(frozen=True, slots=True)
class Vm:
    name: str
    host: str
    state: VmState
    vcpus: int
    memory: int
    uuid: str | None = None
    cpu_mode: CpuMode | None = None
    cpu_model: str | None = None
    passthrough: tuple[PassthroughDevice, ...] = ()
    disks: tuple[Disk, ...] = ()
    # Memory written per second (bytes/s) and the writable working set (bytes): measured by the backend
    # before a run, or declared as expected; None when unknown.
    dirty_rate: float | None = None
    dirty_rate_measured: bool = False
    working_set: int | None = None
    workload: str = ""
    persistent: bool = True

    @property
    def running(self) -> bool:
        return self.state in (VmState.RUNNING, VmState.PAUSED)

    @property
    def host_cached(self) -> bool:
        return any(d.host_cached for d in self.disks)


@dataclass(frozen=True)
class Inventory:
    """One consistent snapshot of everything hotmig knows, with lookups by name."""

    clusters: tuple[Cluster, ...] = ()
    hosts: tuple[Host, ...] = ()
    datastores: tuple[Datastore, ...] = ()
    vms: tuple[Vm, ...] = ()
    source: str = ""
    _index: dict[str, dict[str, object]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for kind, items in (
            ("cluster", self.clusters),
            ("host", self.hosts),
            ("datastore", self.datastores),
            ("vm", self.vms),
        ):
            self._index[kind] = {item.name: item for item in items}

    def cluster(self, name: str) -> Cluster | None:
        return self._index["cluster"].get(name)  # type: ignore[return-value]

    def host(self, name: str) -> Host | None:
        return self._index["host"].get(name)  # type: ignore[return-value]

    def datastore(self, name: str) -> Datastore | None:
        return self._index["datastore"].get(name)  # type: ignore[return-value]

    def vm(self, name: str) -> Vm | None:
        return self._index["vm"].get(name)  # type: ignore[return-value]

    @cached_property
    def _hosts_by_cluster(self) -> dict[str, list[Host]]:
        return _group(self.hosts, lambda h: h.cluster)

    @cached_property
    def _vms_by_host(self) -> dict[str, list[Vm]]:
        return _group(self.vms, lambda v: v.host)

    @cached_property
    def _vms_by_datastore(self) -> dict[str, list[Vm]]:
        groups: dict[str, list[Vm]] = {}
        for vm in self.vms:
            for name in dict.fromkeys(d.datastore for d in vm.disks if d.datastore):
                groups.setdefault(name, []).append(vm)
        return groups

    def hosts_in(self, cluster: str) -> list[Host]:
        return self._hosts_by_cluster.get(cluster, [])

    def vms_on(self, host: str) -> list[Vm]:
        return self._vms_by_host.get(host, [])

    def vms_using(self, datastore: str) -> list[Vm]:
        return self._vms_by_datastore.get(datastore, [])

    def datastores_of(self, host: str) -> list[Datastore]:
        return [ds for ds in self.datastores if host in ds.hosts]

    def cluster_of(self, host: str) -> Cluster | None:
        h = self.host(host)
        return self.cluster(h.cluster) if h else None


def _group(items: Iterable[T], key: Callable[[T], str]) -> dict[str, list[T]]:
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups
