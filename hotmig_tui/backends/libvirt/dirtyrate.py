"""Measure a VM's dirty rate before a run: libvirt's page sampling (dirty-bitmap reads 0 under TCG)."""

from __future__ import annotations

import asyncio

import libvirt

from hotmig_tui.backends.libvirt.connection import HostConnection
from hotmig_tui.backends.libvirt.facts import DIRTYRATE_MEASURED
from hotmig_tui.backends.libvirt.loop import LibvirtLoop


async def measure(lv: LibvirtLoop, conn: HostConnection, vm: str, seconds: float) -> float:
    """Bytes/s. Note: sampling saturates near working set / period; measure over more than one second."""
    assert conn.conn is not None
    dom = await lv.call(conn.conn.lookupByName, vm)
    await lv.call(dom.startDirtyRateCalc, max(1, round(seconds)), libvirt.VIR_DOMAIN_DIRTYRATE_MODE_PAGE_SAMPLING)
    await asyncio.sleep(seconds)
    for _ in range(50):
        (_, stats), = await lv.call(conn.conn.domainListGetStats, [dom], libvirt.VIR_DOMAIN_STATS_DIRTYRATE, 0)
        if stats.get("dirtyrate.calc_status") == DIRTYRATE_MEASURED:
            return float(stats["dirtyrate.megabytes_per_second"]) * 2**20
        await asyncio.sleep(0.2)
    raise TimeoutError(f"libvirt did not finish the dirty-rate calculation of {vm}")
