"""The lab's guests: what each one runs, its domain XML, and defining/starting it idempotently."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from . import layout, storage
from .guestimage import GuestImage
from .install import QEMU
from .layout import Paths

Log = Callable[[str], None]
MiB = 1 << 20
KiB = 1 << 10
WORKLOAD_NS = "urn:hotmig:workload:1"


@dataclass(frozen=True)
class GuestSpec:
    name: str
    host: int  # index of the host it is started on
    pool: str  # storage.SHARED_POOL or storage.LOCAL_POOL
    mem_ws: int  # bytes of memory the workload keeps rewriting (and verifying)
    mem_rate: int  # bytes/s it dirties
    disk_ws: int  # bytes at the start of its disk it keeps rewriting (and verifying)
    disk_rate: int  # bytes/s it writes to its disk
    purpose: str
    memory: int = 256 * MiB
    vcpus: int = 1
    disk_size: int = 64 * MiB

    @property
    def volume(self) -> str:
        return f"{self.name}.qcow2"

    @property
    def uuid(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:hotmig:lab:guest:{self.name}"))

    def datastore(self) -> str:
        return (
            storage.SHARED_POOL
            if self.pool == storage.SHARED_POOL
            else f"{layout.host_name(self.host)}-local"
        )


# Rates are chosen against a link capped at ~8 MiB/s, the fault tests' usual cap: `moderate` converges on a
# free link, `busy` re-dirties its whole 64 MiB set far faster than such a link can send it (never converges
# with the default 300 ms downtime), `idle` converges at once.
GUESTS: tuple[GuestSpec, ...] = (
    GuestSpec(
        "idle",
        1,
        storage.SHARED_POOL,
        16 * MiB,
        0,
        8 * MiB,
        0,
        "idle: writes its memory and disk once, then only re-verifies them",
    ),
    GuestSpec(
        "moderate",
        1,
        storage.SHARED_POOL,
        48 * MiB,
        8 * MiB,
        8 * MiB,
        128 * KiB,
        "moderate: dirties 8 MiB/s over a 48 MiB working set",
    ),
    GuestSpec(
        "busy",
        1,
        storage.SHARED_POOL,
        64 * MiB,
        32 * MiB,
        8 * MiB,
        512 * KiB,
        "busy: re-dirties its 64 MiB working set every 2 s, faster than an 8 MiB/s link",
    ),
    GuestSpec(
        "local1",
        1,
        storage.LOCAL_POOL,
        16 * MiB,
        2 * MiB,
        8 * MiB,
        256 * KiB,
        "local1: disk on lab1's local datastore (whole-machine migration; unreachable disk)",
    ),
    GuestSpec(
        "local3",
        3,
        storage.LOCAL_POOL,
        16 * MiB,
        2 * MiB,
        8 * MiB,
        256 * KiB,
        "local3: disk on lab3's local datastore (cluster lab-b)",
    ),
)


def specs(n_hosts: int) -> list[GuestSpec]:
    return [g for g in GUESTS if g.host <= n_hosts]


def spec(name: str) -> GuestSpec:
    for g in GUESTS:
        if g.name == name:
            return g
    raise KeyError(name)


def console_path(paths: Paths, name: str) -> Path:
    return paths.consoles / f"{name}.log"


def cmdline(g: GuestSpec) -> str:
    # mitigations=off: page-table isolation and friends cost a lot under TCG and protect nothing here.
    return (
        f"console=ttyS0 quiet loglevel=3 panic=0 mitigations=off hm.guest={g.name} hm.mem_ws={g.mem_ws} "
        f"hm.mem_rate={g.mem_rate} hm.disk_ws={g.disk_ws} hm.disk_rate={g.disk_rate}"
    )


def domain_xml(g: GuestSpec, disk: str, image: GuestImage, console: Path, cache: str) -> str:
    workload = (
        f"<hotmig:workload xmlns:hotmig={quoteattr(WORKLOAD_NS)} dirty_rate='{g.mem_rate}' "
        f"working_set='{g.mem_ws}' disk_write_rate='{g.disk_rate}' disk_working_set='{g.disk_ws}'/>"
    )
    return f"""<domain type='qemu'>
  <name>{escape(g.name)}</name>
  <uuid>{g.uuid}</uuid>
  <title>hotmig lab guest {escape(g.name)}</title>
  <description>{escape(g.purpose)}</description>
  <metadata>
    {workload}
  </metadata>
  <memory unit='bytes'>{g.memory}</memory>
  <currentMemory unit='bytes'>{g.memory}</currentMemory>
  <vcpu placement='static'>{g.vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{escape(str(image.kernel))}</kernel>
    <initrd>{escape(str(image.initrd))}</initrd>
    <cmdline>{escape(cmdline(g))}</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{QEMU}</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='{cache}'/>
      <source file={quoteattr(disk)}/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <controller type='usb' model='none'/>
    <serial type='file'>
      <source path={quoteattr(str(console))} append='on'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def disk_cache_mode(directory: Path) -> str:
    """cache='none' (O_DIRECT on the host: what shared storage needs for a safe migration) where the
    filesystem supports O_DIRECT, else writeback."""
    probe = directory / ".direct-io-probe"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_RDWR | os.O_DIRECT, 0o600)
        os.close(fd)
        return "none"
    except OSError:
        return "writeback"
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


def find(conns: dict[int, Any], name: str) -> tuple[int, Any] | None:
    """The host where guest `name` is active, and its domain; None when it runs nowhere."""
    for i, conn in conns.items():
        for dom in conn.listAllDomains():
            if dom.name() == name and dom.isActive():
                return i, dom
    return None


def ensure(
    conns: dict[int, Any], g: GuestSpec, image: GuestImage, paths: Paths, cache: str, log: Log
) -> bool:
    """Make guest `g` run: reuse it where it is active, else (re)define and start it on its home host.

    Returns True when it was started now (its console then starts afresh).
    """
    if find(conns, g.name):
        return False
    conn = conns[g.host]
    disk = storage.ensure_volume(conn, g.pool, g.volume, g.disk_size)
    console = console_path(paths, g.name)
    console.parent.mkdir(parents=True, exist_ok=True)
    console.write_bytes(b"")
    # Defining again while inactive updates an older definition (e.g. a new guest image) in place.
    dom = conn.defineXML(domain_xml(g, disk, image, console, cache))
    dom.create()
    log(f"{g.name}: started on {layout.host_name(g.host)} ({g.purpose})")
    return True
