"""Read everything hotmig needs from one host, in bulk where libvirt allows (blocking: run in the pool)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import libvirt

from hotmig_tui.backends.libvirt.xmlparse import (
    DomainFacts,
    HostCapabilities,
    PoolFacts,
    parse_capabilities,
    parse_domain,
    parse_guest_cpu_models,
    parse_pool,
)
from hotmig_tui.core.model import VmState

DOMAIN_STATES = {
    libvirt.VIR_DOMAIN_RUNNING: VmState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: VmState.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: VmState.PAUSED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: VmState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: VmState.STOPPED,
    libvirt.VIR_DOMAIN_SHUTOFF: VmState.STOPPED,
    libvirt.VIR_DOMAIN_NOSTATE: VmState.STOPPED,
    libvirt.VIR_DOMAIN_CRASHED: VmState.CRASHED,
}
STATS = libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_BLOCK | libvirt.VIR_DOMAIN_STATS_DIRTYRATE
DIRTYRATE_MEASURED = 2  # dirtyrate.calc_status: 2 = measured


@dataclass(frozen=True)
class PoolReading:
    facts: PoolFacts
    active: bool
    capacity: int
    available: int


@dataclass(frozen=True)
class DomainReading:
    facts: DomainFacts
    state: VmState
    persistent: bool
    snapshots: int
    # target -> (capacity, allocation) from the bulk block stats
    block: dict[str, tuple[int, int]] = field(default_factory=dict)
    dirty_rate_measured: float | None = None  # bytes/s, from libvirt's last dirty-rate calculation
    incoming: bool = False  # paused because a migration into this host is in progress


@dataclass(frozen=True)
class HostReading:
    cpu_count: int
    guest_cpu_models: frozenset[str]
    memory_total: int
    memory_free: int
    caps: HostCapabilities
    hypervisor: str
    pools: tuple[PoolReading, ...]
    domains: tuple[DomainReading, ...]
    gpus: frozenset[str] = frozenset()  # PCI addresses of display-class devices passed through


def read_host(conn: libvirt.virConnect) -> HostReading:
    info = conn.getInfo()  # [arch, memory MiB, cpus, MHz, nodes, sockets, cores, threads]
    caps = parse_capabilities(conn.getCapabilities())
    domains = tuple(d for dom, stats in conn.getAllDomainStats(STATS, 0) if (d := _read_domain(dom, stats)))
    pci = {addr for d in domains for addr in d.facts.pci_addresses}
    return HostReading(
        cpu_count=info[2],
        guest_cpu_models=_guest_cpu_models(conn, caps.arch),
        memory_total=info[1] * 2**20,
        memory_free=conn.getFreeMemory(),
        caps=caps,
        hypervisor=f"{conn.getType()} {_version(conn.getVersion())}, libvirt {_version(conn.getLibVersion())}",
        pools=tuple(_read_pool(p) for p in conn.listAllStoragePools()),
        domains=domains,
        gpus=frozenset(a for a in pci if _is_display_device(conn, a)),
    )


def _guest_cpu_models(conn: libvirt.virConnect, arch: str | None) -> frozenset[str]:
    """The custom CPU models this host can run guests with, under KVM or TCG. The union: the model does not
    say which accelerator a VM uses, and a wrong guess here ends as libvirt's own refusal (mapped to VM-F3)."""
    models: frozenset[str] = frozenset()
    for virttype in ("kvm", "qemu"):
        with contextlib.suppress(libvirt.libvirtError):
            models |= parse_guest_cpu_models(conn.getDomainCapabilities(None, arch, None, virttype, 0))
    return models


def _read_pool(pool: libvirt.virStoragePool) -> PoolReading:
    facts = parse_pool(pool.XMLDesc(0))
    active = bool(pool.isActive())
    if active:
        with contextlib.suppress(libvirt.libvirtError):
            pool.refresh(0)
    _state, capacity, _allocation, available = pool.info()
    return PoolReading(facts, active, capacity, available)


def _read_domain(dom: libvirt.virDomain, stats: dict[str, object]) -> DomainReading | None:
    """None when the domain went away meanwhile (it just migrated off this host)."""
    try:
        return _read_live_domain(dom, stats)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        raise


def _read_live_domain(dom: libvirt.virDomain, stats: dict[str, object]) -> DomainReading:
    facts = parse_domain(dom.XMLDesc(0))
    state_code = int(stats["state.state"] if "state.state" in stats else dom.state()[0])  # type: ignore[call-overload]
    reason = int(stats.get("state.reason", 0))  # type: ignore[call-overload]
    block: dict[str, tuple[int, int]] = {}
    for i in range(int(stats.get("block.count", 0))):  # type: ignore[call-overload]
        name = stats.get(f"block.{i}.name")
        if isinstance(name, str):
            capacity = int(stats.get(f"block.{i}.capacity", 0))  # type: ignore[call-overload]
            allocation = int(stats.get(f"block.{i}.allocation", stats.get(f"block.{i}.physical", 0)))  # type: ignore[call-overload]
            block[name] = (capacity, allocation)
    measured = None
    if stats.get("dirtyrate.calc_status") == DIRTYRATE_MEASURED and "dirtyrate.megabytes_per_second" in stats:
        measured = float(stats["dirtyrate.megabytes_per_second"]) * 2**20  # type: ignore[arg-type]
    return DomainReading(
        facts=facts,
        state=DOMAIN_STATES.get(state_code, VmState.STOPPED),
        persistent=bool(dom.isPersistent()),
        snapshots=_snapshots(dom),
        block=block,
        dirty_rate_measured=measured,
        incoming=state_code == libvirt.VIR_DOMAIN_PAUSED
        and reason in (libvirt.VIR_DOMAIN_PAUSED_MIGRATION, libvirt.VIR_DOMAIN_PAUSED_STARTING_UP),
    )


def _snapshots(dom: libvirt.virDomain) -> int:
    try:
        return dom.snapshotNum(0)
    except libvirt.libvirtError:
        return 0


def _is_display_device(conn: libvirt.virConnect, address: str) -> bool:
    """PCI class 0x03xxxx is a display controller: a GPU passed through."""
    name = "pci_" + address.replace(":", "_").replace(".", "_")
    try:
        xml = conn.nodeDeviceLookupByName(name).XMLDesc(0)
    except libvirt.libvirtError:
        return False
    return "<class>0x03" in xml


def _version(number: int) -> str:
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"
