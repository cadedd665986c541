"""The built-in demo datacenter (demo.toml, loaded through the ordinary inventory-file loader)."""

from __future__ import annotations

from importlib import resources

from hotmig_tui.core.inventory_file import InventoryFile, parse_inventory

DEMO_FILE = "demo.toml"


def demo_inventory_file() -> InventoryFile:
    text = resources.files(__package__).joinpath(DEMO_FILE).read_text(encoding="utf-8")
    return parse_inventory(text, f"<built-in {DEMO_FILE}>")
