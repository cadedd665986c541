"""Maintenance mode is hotmig's own host state (libvirt has none): kept in a small file in the data dir."""

from __future__ import annotations

import json
from pathlib import Path

from hotmig_tui.paths import data_dir


class MaintenanceStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir() / "maintenance.json"

    def load(self) -> set[str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return set()
        return {h for h in data.get("hosts", []) if isinstance(h, str)}

    def save(self, hosts: set[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"hosts": sorted(hosts)}), encoding="utf-8")
        tmp.replace(self.path)
