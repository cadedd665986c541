"""Host failures for fault tests: kill a host's daemon (and its QEMU processes) the way a crash would.

Only PIDs from the lab's own pid files are signalled, each checked against its command line first.
`heal()` (an idempotent `lab up`) starts whatever is missing again.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from . import control, layout
from .hosts import daemon_pid, qemu_pids
from .layout import Paths
from .proc import alive


def _kill(pids: list[int], expect: str) -> list[int]:
    killed = []
    for pid in pids:
        if alive(pid, expect):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(p) for p in killed):
        time.sleep(0.05)
    return killed


def kill_daemon(host: str) -> list[int]:
    """SIGKILL the host's libvirtd only: its guests' QEMU processes keep running (a daemon restart)."""
    hp = Paths(layout.lab_dir()).host(layout.host_index(host))
    pid = daemon_pid(hp)
    return _kill([pid] if pid else [], "libvirtd")


def kill_host(host: str) -> list[int]:
    """SIGKILL the host's libvirtd and every QEMU it runs: the host as good as lost power."""
    hp = Paths(layout.lab_dir()).host(layout.host_index(host))
    guests = qemu_pids(hp)
    killed = kill_daemon(host)
    return killed + _kill(guests, "qemu-system")


def heal(hosts: int = 3, log: Callable[[str], None] = lambda _line: None) -> None:
    """Start again what is missing (daemons, guests at home), keeping what runs."""
    control.up(hosts, log)
