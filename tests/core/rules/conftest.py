from __future__ import annotations

import pytest

from hotmig_tui.core.model import Inventory
from tests.core.rules.helpers import demo_inventory


@pytest.fixture(scope="session")
def demo() -> Inventory:
    return demo_inventory()
