"""What `up` returns and `status` reports: plain frozen values."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LabHost:
    index: int
    name: str  # lab1, lab2, ...
    cluster: str
    address: str  # on the lab network (198.18.0.0/24)
    uri: str  # for clients in the root namespace: qemu:///system?socket=...
    migration_uri: str  # for peer daemons: qemu+tcp://ADDRESS/system
    uuid: str  # its host_uuid
    netns: str
    bridge_port: str  # the veth end in the lab bridge: set it down to cut the host off, tc on it to cap it
    socket: Path
    pid: int | None


@dataclass(frozen=True)
class LabGuest:
    name: str
    home: str  # host it is started on
    datastore: str
    pool: str
    disk: str  # its disk's path, as its hosts see it
    console: Path
    memory: int
    dirty_rate: int  # bytes/s the workload dirties (expected; measure with startDirtyRateCalc)
    working_set: int
    disk_rate: int
    purpose: str


@dataclass(frozen=True)
class LabInfo:
    lab_dir: Path
    inventory: Path
    hosts: tuple[LabHost, ...]
    guests: tuple[LabGuest, ...]
    started: tuple[str, ...]  # what this `up` started (hosts and guests); empty when all was reused
    seconds: float  # how long `up` took

    def host(self, name: str) -> LabHost:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    def guest(self, name: str) -> LabGuest:
        for g in self.guests:
            if g.name == name:
                return g
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (paths as strings)."""
        return _plain(asdict(self))


@dataclass(frozen=True)
class HostStatus:
    name: str
    address: str
    uri: str
    pid: int | None
    running: bool  # the daemon's process is alive
    answering: bool  # and answers over its socket
    error: str | None = None


@dataclass(frozen=True)
class GuestStatus:
    name: str
    host: str | None  # where it is active, None when nowhere
    state: str  # running, paused, ... or "absent"
    heartbeat: str | None  # the last heartbeat line on its console
    healthy: bool  # running, with a recent heartbeat that says memory and disk are OK


@dataclass(frozen=True)
class LabStatus:
    lab_dir: Path
    up: bool  # every host answers and every guest is healthy
    hosts: tuple[HostStatus, ...]
    guests: tuple[GuestStatus, ...]
    problems: tuple[str, ...]

    def summary(self) -> str:
        if not self.hosts and not self.problems:
            return f"lab at {self.lab_dir}: down"
        lines = [f"lab at {self.lab_dir}: {'up' if self.up else 'NOT healthy'}"]
        for h in self.hosts:
            how = "answering" if h.answering else ("running, not answering" if h.running else "stopped")
            lines.append(f"  host {h.name:<6} {h.address:<13} pid {h.pid or '-':<8} {how}")
        for g in self.guests:
            where = g.host or "-"
            lines.append(f"  guest {g.name:<9} on {where:<6} {g.state:<8} {g.heartbeat or 'no heartbeat'}")
        lines += [f"  problem: {p}" for p in self.problems]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (paths as strings)."""
        return _plain(asdict(self))

    def __str__(self) -> str:
        return self.summary()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
