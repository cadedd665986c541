"""A real multi-host libvirt/QEMU lab on one Linux machine (root, Debian/Ubuntu): `up`, `status`, `down`.

N >= 3 hosts, each a libvirtd in its own mount and network namespace on a bridge of the lab's own; a shared
datastore for hosts 1-2 (cluster lab-a), a local datastore per host, and a handful of tiny guests whose
workloads dirty memory at known rates and prove on their serial consoles that memory and disk stayed intact
(see `hotmig_tui.lab.console` and README.md here). The CLI (`hotmig lab ...`) is a thin layer over this.

Nothing here imports Textual or hotmig's backends: the lab is infrastructure, not a client of hotmig.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import control
from .errors import LabError
from .info import GuestStatus, HostStatus, LabGuest, LabHost, LabInfo, LabStatus
from .layout import Paths
from .layout import lab_dir as lab_dir

__all__ = [
    "GuestStatus",
    "HostStatus",
    "LabError",
    "LabGuest",
    "LabHost",
    "LabInfo",
    "LabStatus",
    "down",
    "inventory_path",
    "lab_dir",
    "ssh_inventory_path",
    "status",
    "up",
]


def up(hosts: int = 3, log: Callable[[str], None] = print) -> LabInfo:
    """Bring the lab up with `hosts` hosts (installing what it needs), reusing whatever runs healthy."""
    return control.up(hosts, log)


def status() -> LabStatus:
    """What runs now; never starts or stops anything."""
    return control.status()


def down(log: Callable[[str], None] = print) -> None:
    """Stop exactly what `up` started and remove the namespaces; safe when the lab is half up or down."""
    control.down(log)


def inventory_path() -> Path:
    """The lab's inventory file (hotmig's inventory format), written by `up`."""
    return Paths(lab_dir()).inventory


def ssh_inventory_path() -> Path:
    """The lab's hosts reached over SSH only (libvirt through hotmig's tunnels), written by `up`."""
    return Paths(lab_dir()).ssh_inventory
