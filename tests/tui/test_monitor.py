"""The monitor and the migrations list, driven by keyboard on simulated runs (Pilot)."""

from __future__ import annotations

import asyncio
import io
import time

from rich.console import Console

from hotmig_tui.backends.sim import SimBackend, demo_inventory_file
from hotmig_tui.core.run import (
    FailureCause,
    MigrationKind,
    MigrationOptions,
    MigrationPlan,
    Phase,
    TimeoutAction,
)
from hotmig_tui.engine import RunHandle
from hotmig_tui.tui.app import HotmigApp
from hotmig_tui.tui.screens.migrations import MigrationsScreen
from hotmig_tui.tui.screens.monitor import MonitorScreen
from hotmig_tui.tui.widgets.chart import Chart


def sim_app(speed: float) -> HotmigApp:
    inv = demo_inventory_file().inventory
    return HotmigApp(SimBackend(inv, seed=7, speed=speed), source_label="demo datacenter")


async def finish(pilot, handle: RunHandle, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while handle.outcome is None:
        assert time.monotonic() < deadline, f"run still {handle.phase} after {timeout} s"
        await pilot.pause(0.1)
    await pilot.pause(0.6)  # one more chart redraw tick


def rendered(app: HotmigApp, selector: str) -> str:
    console = Console(width=160, record=True, file=io.StringIO())
    console.print(app.screen.query_one(selector).content)
    return console.export_text()


async def test_quiet_vm_migrates_and_the_monitor_shows_it() -> None:
    app = sim_app(speed=100)
    async with app.run_test(size=(80, 24)) as pilot:
        handle = app.start_migration(MigrationPlan("web-01", MigrationKind.VM, "cna1", "cna2"))
        await pilot.pause()
        assert isinstance(app.screen, MonitorScreen)
        await finish(pilot, handle)
        outcome = handle.outcome
        assert outcome.ok and outcome.vm_host == "cna2" and 1 <= outcome.iterations <= 6
        assert outcome.downtime < 0.3  # under QEMU's default limit
        assert "DONE: cna2 runs the VM" in rendered(app, "#outcome")
        assert "✓ done" in rendered(app, "#stepper")
        charts = list(app.screen.query(Chart))
        assert len(charts) == 3 and all(c.redraws >= 1 for c in charts)
        assert any("pre-copy pass" in line.text for line in handle.log)
        assert app.backend.snapshot().vm("web-01").host == "cna2"


async def test_a_vm_too_busy_for_its_link_is_finished_by_the_policy() -> None:
    app = sim_app(speed=2000)
    async with app.run_test(size=(120, 40)) as pilot:
        plan = MigrationPlan("olap-01", MigrationKind.VM, "cna5", "cna4", options=MigrationOptions(postcopy=True))
        handle = app.start_migration(plan)
        await finish(pilot, handle, timeout=120)
        assert handle.outcome.ok and handle.outcome.postcopy
        policy = [line.text for line in handle.log if line.level == "policy"]
        assert policy, "the policy's reasons are in the log"
        assert any(s.postcopy for s in handle.samples)  # the samples said it, so the status line showed it


async def test_timeout_abort_keeps_the_vm_on_its_source_and_says_why() -> None:
    app = sim_app(speed=2000)
    async with app.run_test(size=(80, 24)) as pilot:
        plan = MigrationPlan("olap-01", MigrationKind.VM, "cna5", "cna4",
                             options=MigrationOptions(timeout=300, timeout_action=TimeoutAction.ABORT))
        handle = app.start_migration(plan)
        await finish(pilot, handle, timeout=120)
        assert handle.outcome.phase is Phase.ABORTED and handle.outcome.cause is FailureCause.TIMEOUT
        assert handle.outcome.vm_host == "cna5"
        text = rendered(app, "#outcome")
        assert "ABORTED" in text and "VM-F6" in text and "cna5" in text
        stepper = rendered(app, "#stepper")
        assert "✖ precopy ABORTED" in stepper and "○ switchover" in stepper and "✓ switchover" not in stepper


async def test_abort_key_asks_first_then_aborts() -> None:
    app = sim_app(speed=1)
    async with app.run_test(size=(80, 24)) as pilot:
        handle = app.start_migration(MigrationPlan("olap-01", MigrationKind.VM, "cna5", "cna4"))
        while not handle.samples:
            await pilot.pause(0.1)
        await pilot.press("a")
        await pilot.pause()
        assert handle.outcome is None  # nothing happens before the confirmation
        await pilot.press("n")  # changed my mind
        await pilot.pause(0.3)
        assert handle.outcome is None
        await pilot.press("a", "y")
        await finish(pilot, handle, timeout=30)
        assert handle.outcome.phase is Phase.ABORTED and handle.outcome.vm_host == "cna5"
        assert app.backend.snapshot().vm("olap-01").host == "cna5"


async def test_downtime_keys_tune_the_running_migration() -> None:
    app = sim_app(speed=1)
    async with app.run_test(size=(80, 24)) as pilot:
        handle = app.start_migration(MigrationPlan("olap-01", MigrationKind.VM, "cna5", "cna4"))
        while not handle.samples:
            await pilot.pause(0.1)
        await pilot.press("plus")
        await pilot.pause(1.2)
        assert any("max downtime" in line.text for line in handle.log)
        raised = handle.samples[-1].max_downtime
        assert raised is not None and raised > 0.3
        await pilot.press("minus", "minus")
        await pilot.pause(1.2)
        assert handle.samples[-1].max_downtime < raised
        await app.engine.abort(handle)
        await finish(pilot, handle)


async def test_migrations_list_shows_every_run_and_opens_its_monitor() -> None:
    app = sim_app(speed=1)
    async with app.run_test(size=(80, 24)) as pilot:
        first = app.start_migration(MigrationPlan("olap-01", MigrationKind.VM, "cna5", "cna4"), watch=False)
        second = app.start_migration(MigrationPlan("web-01", MigrationKind.VM, "cna1", "cna2"), watch=False)
        await pilot.press("g")
        await pilot.pause(0.7)
        assert isinstance(app.screen, MigrationsScreen)
        listing = rendered(app, "#runs")
        assert "olap-01" in listing and "web-01" in listing and "cna5 → cna4" in listing
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MonitorScreen) and app.screen.handle in (first, second)
        for handle in (first, second):
            await app.engine.abort(handle)
        await asyncio.sleep(0)


async def test_quitting_with_a_run_in_flight_asks_first() -> None:
    app = sim_app(speed=1)
    async with app.run_test(size=(80, 24)) as pilot:
        handle = app.start_migration(MigrationPlan("olap-01", MigrationKind.VM, "cna5", "cna4"), watch=False)
        await pilot.pause(0.3)
        assert "1 migrating" in str(app.screen.query_one("#totals").content)
        await pilot.press("q")
        await pilot.pause()
        assert handle.outcome is None and app.is_running  # asked, nothing aborted yet
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and handle.outcome is None
        await pilot.press("q", "y")
        await pilot.pause(0.5)
    assert handle.outcome is not None and handle.outcome.vm_host == "cna5"  # aborted on the way out
