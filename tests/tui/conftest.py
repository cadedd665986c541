from __future__ import annotations

import pytest

from hotmig_tui.backends.sim import SimBackend, demo_inventory_file, generate
from hotmig_tui.tui.app import HotmigApp


def demo_app(**kwargs: object) -> HotmigApp:
    return HotmigApp(SimBackend(demo_inventory_file().inventory), source_label="demo datacenter", **kwargs)


def scale_app(hosts: int, vms: int) -> HotmigApp:
    return HotmigApp(SimBackend(generate(hosts, vms, seed=1)), source_label=f"generated {hosts},{vms}")


@pytest.fixture
def app() -> HotmigApp:
    return demo_app()
