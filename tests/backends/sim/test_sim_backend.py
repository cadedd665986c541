import asyncio

from hotmig_tui.backends.sim import SimBackend, demo_inventory_file
from hotmig_tui.core.model import HostState


async def test_maintenance_is_published_as_a_change() -> None:
    backend = SimBackend(demo_inventory_file().inventory)
    await backend.connect()
    changes = backend.changes()
    waiter = asyncio.ensure_future(anext(changes))
    await asyncio.sleep(0)
    await backend.set_maintenance("cna1", True)
    change = await asyncio.wait_for(waiter, 1)
    assert change.hosts == {"cna1"} and "maintenance" in change.text
    assert backend.snapshot().host("cna1").state is HostState.MAINTENANCE
    await backend.close()


async def test_measure_dirty_rate_reports_the_declared_rate() -> None:
    backend = SimBackend(demo_inventory_file().inventory)
    measured = await backend.measure_dirty_rate("olap-01", 3)
    assert measured.dirty_rate == 320 * 2**20 and "simulated" in measured.detail
