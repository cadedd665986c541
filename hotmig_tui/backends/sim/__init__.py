from hotmig_tui.backends.sim.backend import SimBackend
from hotmig_tui.backends.sim.datacenter import demo_inventory_file
from hotmig_tui.backends.sim.generate import generate

__all__ = ["SimBackend", "demo_inventory_file", "generate"]
