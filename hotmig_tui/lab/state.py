"""The lab's state file (`<lab>/state.json`): what `up` started, for `down` and `status` to act on."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import LabError

VERSION = 1


@dataclass
class HostRecord:
    index: int
    name: str
    netns: str
    address: str
    uuid: str
    uri: str
    pid: int | None = None  # libvirtd, as started; its own pid file is checked too
    started_at: float | None = None
    sshd_pid: int | None = None  # the host's sshd, as started; its own pid file is checked too
    sshd_for: int | None = None  # the libvirtd whose namespaces that sshd was started in


@dataclass
class LabState:
    hosts: dict[int, HostRecord] = field(default_factory=dict)
    image: str | None = None  # key of the guest image the guests were defined with
    created_at: float | None = None
    version: int = VERSION

    def to_json(self) -> str:
        data = asdict(self)
        data["hosts"] = [asdict(h) for _, h in sorted(self.hosts.items())]
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LabState:
        data = json.loads(text)
        if data.get("version") != VERSION:
            raise ValueError(f"state version {data.get('version')!r}, expected {VERSION}")
        hosts = {h["index"]: HostRecord(**h) for h in data.get("hosts", [])}
        return cls(hosts=hosts, image=data.get("image"), created_at=data.get("created_at"))


def load(path: Path) -> LabState | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        return LabState.from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise LabError(f"unreadable lab state file {path}: {exc}; run `hotmig lab down` to clean up") from exc


def save(path: Path, state: LabState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.to_json())
    os.replace(tmp, path)
