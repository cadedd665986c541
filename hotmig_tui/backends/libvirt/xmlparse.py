"""Pure parsing of libvirt XML (capabilities, domains, pools) into the facts hotmig's checks need."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from hotmig_tui.core.model import CpuMode, PassthroughDevice, PassthroughKind

WORKLOAD_NS = "urn:hotmig:workload:1"
_UNITS = {"b": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 2**20, "mib": 2**20, "mb": 10**6,
          "g": 2**30, "gib": 2**30, "gb": 10**9, "t": 2**40, "tib": 2**40, "tb": 10**12}


@dataclass(frozen=True)
class HostCapabilities:
    uuid: str | None
    cpu_model: str | None
    cpu_vendor: str | None
    cpu_features: frozenset[str]
    arch: str | None


@dataclass(frozen=True)
class DiskSource:
    target: str
    source_type: str  # file | block | network | volume
    path: str  # file path, block device, "protocol:name" for network disks, "pool/volume" for volumes
    format: str
    cache_mode: str
    shareable: bool
    transient: bool
    readonly: bool
    backing_chain: tuple[str, ...]
    pool: str | None = None  # for <source pool=...>


@dataclass(frozen=True)
class DomainFacts:
    name: str
    uuid: str
    vcpus: int
    memory: int
    cpu_mode: CpuMode | None
    cpu_model: str | None
    passthrough: tuple[PassthroughDevice, ...]
    disks: tuple[DiskSource, ...]
    dirty_rate: float | None = None  # expected, from hotmig's workload metadata
    working_set: int | None = None
    workload: str = ""
    pci_addresses: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class PoolFacts:
    name: str
    pool_type: str
    target_path: str | None
    source_name: str | None


def parse_capabilities(xml: str) -> HostCapabilities:
    root = ET.fromstring(xml)
    cpu = root.find("host/cpu")
    return HostCapabilities(
        uuid=_text(root.find("host/uuid")),
        cpu_model=_text(cpu.find("model")) if cpu is not None else None,
        cpu_vendor=_text(cpu.find("vendor")) if cpu is not None else None,
        cpu_features=frozenset(f.get("name", "") for f in cpu.findall("feature")) if cpu is not None else frozenset(),
        arch=_text(cpu.find("arch")) if cpu is not None else None,
    )


def parse_domain(xml: str) -> DomainFacts:
    root = ET.fromstring(xml)
    memory = root.find("memory")
    cpu = root.find("cpu")
    mode = cpu.get("mode") if cpu is not None else None
    metadata = root.find(f"metadata/{{{WORKLOAD_NS}}}workload")
    devices = root.find("devices")
    passthrough, pci = _passthrough(devices)
    return DomainFacts(
        name=_text(root.find("name")) or "",
        uuid=_text(root.find("uuid")) or "",
        vcpus=int(_text(root.find("vcpu")) or 1),
        memory=_size(memory) if memory is not None else 0,
        cpu_mode=CpuMode(mode) if mode in {m.value for m in CpuMode} else None,
        cpu_model=_text(cpu.find("model")) if cpu is not None else None,
        passthrough=passthrough,
        disks=tuple(d for d in (_disk(e) for e in (devices.findall("disk") if devices is not None else [])) if d),
        dirty_rate=_float(metadata.get("dirty_rate")) if metadata is not None else None,
        working_set=_int(metadata.get("working_set")) if metadata is not None else None,
        workload=metadata.get("name", "") if metadata is not None else "",
        pci_addresses=pci,
    )


def parse_guest_cpu_models(domain_capabilities_xml: str) -> frozenset[str]:
    root = ET.fromstring(domain_capabilities_xml)
    return frozenset(m.text.strip() for m in root.findall("cpu/mode[@name='custom']/model")
                     if m.text and m.get("usable", "yes") == "yes")


def parse_pool(xml: str) -> PoolFacts:
    root = ET.fromstring(xml)
    return PoolFacts(
        name=_text(root.find("name")) or "",
        pool_type=root.get("type", "dir"),
        target_path=_text(root.find("target/path")),
        source_name=_text(root.find("source/name")),
    )


def _disk(e: ET.Element) -> DiskSource | None:
    if e.get("device", "disk") not in ("disk", "lun"):
        return None  # cdrom/floppy media do not move with the VM's storage
    source = e.find("source")
    source_type = e.get("type", "file")
    path, pool = "", None
    if source is not None:
        if source_type == "network":
            path = f"{source.get('protocol', '')}:{source.get('name', '')}"
        elif source_type == "volume":
            pool = source.get("pool")
            path = f"{pool}/{source.get('volume', '')}"
        else:
            path = source.get("file") or source.get("dev") or ""
    driver = e.find("driver")
    chain: list[str] = []
    backing = e.find("backingStore")
    while backing is not None and backing.find("source") is not None:
        src = backing.find("source")
        assert src is not None
        chain.append(src.get("file") or src.get("dev") or src.get("name") or "?")
        backing = backing.find("backingStore")
    target = e.find("target")
    return DiskSource(
        target=target.get("dev", "?") if target is not None else "?",
        source_type=source_type,
        path=path,
        format=driver.get("type", "raw") if driver is not None else "raw",
        cache_mode=driver.get("cache", "default") if driver is not None else "default",
        shareable=e.find("shareable") is not None,
        transient=e.find("transient") is not None,
        readonly=e.find("readonly") is not None,
        backing_chain=tuple(chain),
        pool=pool,
    )


def _passthrough(devices: ET.Element | None) -> tuple[tuple[PassthroughDevice, ...], tuple[str, ...]]:
    found: list[PassthroughDevice] = []
    pci: list[str] = []
    if devices is None:
        return (), ()
    for hostdev in devices.findall("hostdev"):
        kind = hostdev.get("type")
        address = hostdev.find("source/address")
        if kind == "pci" and address is not None:
            text = "{:04x}:{:02x}:{:02x}.{:x}".format(*(int(address.get(k, "0"), 0)
                                                         for k in ("domain", "bus", "slot", "function")))
            pci.append(text)
            found.append(PassthroughDevice(PassthroughKind.PCI, text))
        elif kind == "usb":
            vendor, product = hostdev.find("source/vendor"), hostdev.find("source/product")
            if address is not None:
                text = f"bus {address.get('bus')} device {address.get('device')}"
            else:
                ids = [x.get("id", "?") if x is not None else "?" for x in (vendor, product)]
                text = ":".join(ids)
            found.append(PassthroughDevice(PassthroughKind.USB, text))
        elif kind == "mdev":  # mediated devices are vGPUs in practice
            uuid = address.get("uuid", "mdev") if address is not None else "mdev"
            found.append(PassthroughDevice(PassthroughKind.GPU, uuid, "mediated device (vGPU)"))
    for redir in devices.findall("redirdev"):
        if redir.get("bus") == "usb":
            found.append(PassthroughDevice(PassthroughKind.USB, f"redirected ({redir.get('type', '?')})"))
    return tuple(found), tuple(pci)


def _size(e: ET.Element) -> int:
    return int(float(e.text or 0) * _UNITS.get(e.get("unit", "KiB").lower(), 1024))


def _text(e: ET.Element | None) -> str | None:
    return e.text.strip() if e is not None and e.text else None


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    value = _float(text)
    return int(value) if value is not None else None
