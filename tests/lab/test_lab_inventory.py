"""The lab's inventory file parses with hotmig's own loader into what the lab is: no lab needed."""

from __future__ import annotations

from pathlib import Path

from hotmig_tui.core.inventory_file import parse_inventory
from hotmig_tui.lab import inventory
from hotmig_tui.lab.layout import Paths


def test_lab_inventory_loads_with_hotmigs_loader(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    text = inventory.render(paths, 4)
    parsed = parse_inventory(text, "inventory.toml")
    inv = parsed.inventory
    assert parsed.backend == "libvirt"
    assert [c.name for c in inv.clusters] == ["lab-a", "lab-b"]
    assert [h.name for h in inv.hosts_in("lab-a")] == ["lab1", "lab2"]
    assert [h.name for h in inv.hosts_in("lab-b")] == ["lab3", "lab4"]
    lab1 = inv.host("lab1")
    assert lab1 is not None and lab1.address == "198.18.0.11"
    assert lab1.uri == f"qemu:///system?socket={tmp_path}/hosts/lab1/run/libvirt/libvirt-sock"
    shared = inv.datastore("shared")
    assert shared is not None and shared.shared and shared.hosts == ("lab1", "lab2")
    assert shared.path == str(tmp_path / "shared")
    local3 = inv.datastore("lab3-local")
    assert local3 is not None and not local3.shared and local3.pool == "local" and local3.hosts == ("lab3",)
    assert local3.path == str(tmp_path / "local")
    assert text.startswith('# written by `hotmig lab up`\nbackend = "libvirt"\n')
