"""The same screens on real hosts: the dashboard and `hotmig migrate --lab` drive real migrations."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hotmig_tui.backends.libvirt import LibvirtBackend
from hotmig_tui.backends.maintenance import MaintenanceStore
from hotmig_tui.core.inventory_file import parse_inventory
from hotmig_tui.core.run import FailureCause, MigrationKind, MigrationOptions, MigrationPlan, Phase
from hotmig_tui.engine import Engine, RunHandle
from hotmig_tui.history.store import History
from hotmig_tui.lab import console, faults
from hotmig_tui.tui.app import HotmigApp
from hotmig_tui.tui.screens.monitor import MonitorScreen

from .helpers import domain_state

pytestmark = pytest.mark.lab
MiB = 2**20


def lab_app(lab, tmp_path: Path) -> HotmigApp:  # type: ignore[no-untyped-def]
    declared = parse_inventory(Path(lab.inventory).read_text(), str(lab.inventory)).inventory
    backend = LibvirtBackend(declared, MaintenanceStore(tmp_path / "maintenance.json"))
    return HotmigApp(backend, source_label="lab", engine=Engine(backend, History(tmp_path / "history.sqlite")))


async def until(pilot, condition, timeout: float, what: str) -> list[float]:  # type: ignore[no-untyped-def]
    """Wait, pressing a harmless key now and then: how long each key took to be handled (the UI never froze)."""
    latencies = []
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        started = time.monotonic()
        await pilot.press("t")  # next theme: a redraw of everything
        latencies.append(time.monotonic() - started)
        await pilot.pause(0.3)
    return latencies


async def test_dashboard_runs_a_real_migration_and_shows_a_real_failure(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        await until(pilot, lambda: all(h.state.value == "connected" for h in app.backend.snapshot().hosts),
                    60, "the lab hosts connecting")
        assert {v.name for v in app.backend.snapshot().vms} >= {"idle", "moderate", "busy", "local1", "local3"}
        since = console.offset("moderate")
        handle: RunHandle = app.start_migration(MigrationPlan("moderate", MigrationKind.VM, "lab1", "lab2"))
        await pilot.pause()
        assert isinstance(app.screen, MonitorScreen)
        keys = await until(pilot, lambda: handle.outcome is not None, 120, "the migration ending")
        assert handle.outcome.ok and handle.outcome.vm_host == "lab2", handle.outcome
        await pilot.pause(0.6)
        assert "DONE: lab2 runs the VM" in str(app.screen.query_one("#outcome").content)
        assert console.wait_healthy("moderate", since, heartbeats=2, timeout=60).ok
        await pilot.press("escape")
        # A real failure while the screen watches: lab2 is cut off mid-run (VM-F1).
        plan = MigrationPlan("busy", MigrationKind.VM, "lab1", "lab2",
                             options=MigrationOptions(bandwidth=8 * MiB, policy=False))
        failing = app.start_migration(plan)
        await until(pilot, lambda: any(s.iteration and s.iteration >= 2 for s in failing.samples), 120, "pass 2")
        faults.cut("lab2")
        try:
            keys += await until(pilot, lambda: failing.outcome is not None, 120, "the failure")
        finally:
            faults.restore("lab2")
        assert failing.outcome.phase is Phase.FAILED and failing.outcome.cause is FailureCause.NETWORK
        await pilot.pause(0.6)
        shown = str(app.screen.query_one("#outcome").content)
        assert "VM-F1" in shown and "lab1" in shown
        print(f"\n  key handled in {max(keys) * 1000:.0f} ms at worst ({len(keys)} presses during two real runs)")
        assert max(keys) < 5, "the dashboard froze"
        back = app.start_migration(MigrationPlan("moderate", MigrationKind.VM, "lab2", "lab1"), watch=False)
        await until(pilot, lambda: back.outcome is not None, 120, "moving moderate back")
        assert back.outcome.ok


def test_migrate_command_on_the_lab(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {"HOTMIG_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    there = subprocess.run([sys.executable, "-m", "hotmig_tui", "migrate", "--lab", "idle", "--to", "lab2", "--yes",
                            "--json"], capture_output=True, text=True, timeout=300, env=env)
    lines = [json.loads(line) for line in there.stdout.splitlines()]
    result = lines[-1]
    assert there.returncode == 0 and result["type"] == "result" and result["outcome"] == "done", there.stderr
    assert result["vm_host"] == "lab2" and result["downtime"] is not None and result["iterations"] >= 1
    assert any(line["type"] == "sample" for line in lines) and any(line["type"] == "phase" for line in lines)
    back = subprocess.run([sys.executable, "-m", "hotmig_tui", "migrate", "--lab", "idle", "--to", "lab1", "--yes"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert back.returncode == 0 and "DONE: lab1 runs the VM" in back.stdout, back.stdout + back.stderr
    assert asyncio.run(_state("lab1", "idle", lab)) == "running"


async def _state(host: str, vm: str, lab) -> str | None:  # type: ignore[no-untyped-def]
    from .helpers import lab_backend

    async with lab_backend(lab) as backend:
        return await domain_state(backend, host, vm)
