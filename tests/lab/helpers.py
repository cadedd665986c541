"""Small helpers the lab tests share: a connected backend for the lab, and looks at what libvirt says."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

libvirt = pytest.importorskip("libvirt", reason="libvirt-python missing (needs libvirt-dev): make test installs it")

from hotmig_tui.backends.libvirt import LibvirtBackend  # noqa: E402 (after the importorskip)
from hotmig_tui.backends.maintenance import MaintenanceStore  # noqa: E402
from hotmig_tui.core.inventory_file import parse_inventory  # noqa: E402

STATES = {libvirt.VIR_DOMAIN_RUNNING: "running", libvirt.VIR_DOMAIN_PAUSED: "paused",
          libvirt.VIR_DOMAIN_SHUTOFF: "shutoff"}


@contextlib.asynccontextmanager
async def lab_backend(lab) -> AsyncIterator[LibvirtBackend]:  # type: ignore[no-untyped-def]
    path = Path(lab.inventory)
    declared = parse_inventory(path.read_text(), str(path)).inventory
    with tempfile.TemporaryDirectory() as tmp:
        backend = LibvirtBackend(declared, MaintenanceStore(Path(tmp) / "maintenance.json"))
        await backend.connect()
        try:
            down = [h.name for h in backend.snapshot().hosts if h.state.value != "connected"]
            assert not down, f"lab hosts not connected: {down}"
            yield backend
        finally:
            await backend.close()


async def domain_state(backend: LibvirtBackend, host: str, vm: str) -> str | None:
    """'running', 'paused', ... on that host, or None when the host has no such domain (not even defined)."""
    conn = backend.connection(host).conn
    try:
        dom = await backend.lv.call(conn.lookupByName, vm)
    except libvirt.libvirtError:
        return None
    state, _ = await backend.lv.call(dom.state)
    return STATES.get(state, str(state))


async def volumes(backend: LibvirtBackend, host: str, datastore: str) -> set[str]:
    ds = backend.snapshot().datastore(datastore)
    assert ds is not None, datastore
    conn = backend.connection(host).conn
    pool = await backend.lv.call(conn.storagePoolLookupByName, ds.pool or ds.name)
    await backend.lv.call(pool.refresh, 0)
    return set(await backend.lv.call(pool.listVolumes))


def in_ci() -> bool:
    return os.environ.get("CI") == "true"
