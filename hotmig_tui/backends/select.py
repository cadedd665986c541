"""Choose and build the backend for an inventory: the built-in demo, a generated one, or a file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hotmig_tui.backends.base import Backend
from hotmig_tui.backends.sim import SimBackend, demo_inventory_file, generate
from hotmig_tui.core.inventory_file import InventoryError, InventoryFile, parse_inventory


@dataclass(frozen=True)
class Source:
    """Where the inventory comes from: the demo (optionally generated at scale) or an inventory file."""

    inventory_file: Path | None = None
    scale: tuple[int, int] | None = None
    seed: int = 1
    speed: float = 1.0

    @property
    def label(self) -> str:
        if self.inventory_file:
            return str(self.inventory_file)
        return f"generated {self.scale[0]} hosts, {self.scale[1]} VMs" if self.scale else "demo datacenter"


def read_inventory_file(path: Path) -> InventoryFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InventoryError(str(path), [f"cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise InventoryError(str(path), [f"not UTF-8 text: {exc.reason} at byte {exc.start}"]) from None
    return parse_inventory(text, str(path))


def open_backend(source: Source) -> Backend:
    """Raises InventoryError for a bad file (the CLI turns it into exit code 2)."""
    if source.scale:
        return SimBackend(generate(*source.scale, seed=source.seed), seed=source.seed, speed=source.speed)
    loaded = read_inventory_file(source.inventory_file) if source.inventory_file else demo_inventory_file()
    if loaded.backend == "sim":
        return SimBackend(loaded.inventory, seed=loaded.seed or source.seed, speed=source.speed)
    try:
        from hotmig_tui.backends.libvirt import LibvirtBackend  # needs libvirt-python: import only when asked
    except ImportError as exc:
        raise InventoryError(source.label, [f'backend = "libvirt" needs libvirt-python '
                                            f'(pip install "hotmig[libvirt]"): {exc}']) from None

    ssh = None
    if any(h.ssh for h in loaded.inventory.hosts):
        from hotmig_tui.backends.ssh import SshSettings

        ssh = SshSettings.from_options(loaded.ssh)
    return LibvirtBackend(loaded.inventory, ssh=ssh)
