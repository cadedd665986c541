"""Simulated runs of all three kinds, driven directly (no engine): phases, samples, outcome, inventory."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from hotmig_tui.backends.base import Change
from hotmig_tui.backends.sim import SimBackend, demo_inventory_file
from hotmig_tui.backends.sim.migration import SimRunError
from hotmig_tui.core.run import (
    PHASES_BY_KIND,
    FailureCause,
    LogLine,
    MigrationKind,
    MigrationOptions,
    MigrationPlan,
    Outcome,
    Phase,
    PhaseChange,
    Sample,
    Update,
)
from hotmig_tui.core.units import GiB, MiB

FAST = 100_000.0


def sim(seed: int = 0, speed: float = FAST) -> SimBackend:
    return SimBackend(demo_inventory_file().inventory, seed=seed, speed=speed)


def vm_plan(vm: str, source: str, target: str, **options: object) -> MigrationPlan:
    return MigrationPlan(vm, MigrationKind.VM, source, target_host=target, options=MigrationOptions(**options))


async def run_to_end(backend: SimBackend, plan: MigrationPlan) -> tuple[list[Update], Outcome]:
    run = await backend.start(plan)
    updates = [u async for u in run.updates()]
    return updates, await run.result()


def samples(updates: list[Update]) -> list[Sample]:
    return [u for u in updates if isinstance(u, Sample)]


def phases(updates: list[Update]) -> list[Phase]:
    return [u.phase for u in updates if isinstance(u, PhaseChange)]


def logs(updates: list[Update]) -> list[str]:
    return [u.text for u in updates if isinstance(u, LogLine)]


async def test_vm_live_quiet_vm_completes_and_moves() -> None:
    backend = sim()
    before = backend.snapshot()
    changes = backend.changes()
    change = asyncio.ensure_future(anext(changes))
    await asyncio.sleep(0)
    updates, outcome = await run_to_end(backend, vm_plan("web-01", "cna1", "cna2"))
    assert outcome.phase is Phase.DONE and outcome.vm_host == "cna2" and not outcome.vm_paused
    # PREPARE is the run's first phase (the engine reports it); the rest as the libvirt backend reports them.
    assert phases(updates) == list(PHASES_BY_KIND[MigrationKind.VM][1:])
    assert 2 <= outcome.iterations <= 6 and 0 < outcome.downtime < 0.3
    assert outcome.memory_bytes and outcome.bytes_sent == outcome.memory_bytes and outcome.disk_bytes is None
    assert outcome.total_time > outcome.downtime and outcome.setup_time
    assert outcome.stats["memory_iteration"] == outcome.iterations and outcome.stats["downtime"] > 0
    assert "pre-copy pass 1 begins" in logs(updates) and logs(updates)[-1].startswith("DONE: cna2 runs the VM")
    after = backend.snapshot()
    assert after.vm("web-01").host == "cna2" and before.vm("web-01").host == "cna1"
    vm_memory = before.vm("web-01").memory
    assert after.host("cna1").memory_free == before.host("cna1").memory_free + vm_memory
    assert after.host("cna2").memory_free == before.host("cna2").memory_free - vm_memory
    published: Change = await asyncio.wait_for(change, 1)
    assert published.inventory is after and published.vms == {"web-01"} and published.hosts == {"cna1", "cna2"}
    assert "cna2" in published.text


async def test_samples_show_the_libvirt_quirks() -> None:
    """A bandwidth cap makes several passes: iterations rise, remaining falls within a pass, the dirty rate is 0
    during pass 1, and QEMU's expected downtime (remaining / capped rate) is far above the real one."""
    updates, outcome = await run_to_end(sim(), vm_plan("web-01", "cna1", "cna2", bandwidth=50 * MiB))
    got = samples(updates)
    assert outcome.ok and all(s.phase is Phase.PRECOPY for s in got)
    iterations = [s.iteration for s in got]
    assert iterations == sorted(iterations) and iterations[-1] >= 3
    pass1 = [s for s in got if s.iteration == 1]
    assert len(pass1) > 50 and all(s.dirty_rate == 0 for s in pass1)
    assert all(a.memory_remaining > b.memory_remaining for a, b in itertools.pairwise(pass1))
    assert all(s.dirty_rate > 0 for s in got if s.iteration > 1)
    assert got[-1].memory_remaining < pass1[-1].memory_remaining
    assert all(s.memory_total == 4 * GiB and s.max_downtime == 0.3 and s.bandwidth == 50 * MiB for s in got)
    assert all(45 * MiB < s.transfer_rate <= 50 * MiB for s in got)
    assert all(s.data_remaining == s.memory_remaining and s.throttle is None and not s.postcopy for s in got)
    # One sample per 0.5 simulated s, every 0.2 s near the end, in simulated seconds since the start.
    steps = {round(b.t - a.t, 6) for a, b in itertools.pairwise(got)}
    assert steps <= {0.5, 0.2} and 0.3 < got[0].t <= 0.8
    assert got[-1].expected_downtime > 5 * outcome.downtime
    assert outcome.iterations > iterations[-1]
    assert any("QEMU lifts the bandwidth limit" in line for line in logs(updates))


async def test_storage_migration_mirrors_then_pivots() -> None:
    backend = sim()
    before = backend.snapshot()
    plan = MigrationPlan("web-01", MigrationKind.STORAGE, "cna1", target_datastore="local-cna1")
    updates, outcome = await run_to_end(backend, plan)
    assert outcome.ok and outcome.vm_host == "cna1" and outcome.iterations is None
    assert phases(updates) == list(PHASES_BY_KIND[MigrationKind.STORAGE][1:])
    got = samples(updates)
    copied = [s.disks["vda"].copied for s in got]
    assert copied == sorted(copied) and len(set(copied)) == len(copied)
    assert got[-1].disks["vda"].ready and not any(s.disks["vda"].ready for s in got[:-1])
    allocation = before.vm("web-01").disks[0].allocation
    assert outcome.disk_bytes == allocation == got[-1].disks["vda"].total
    assert "vda: mirror in sync (READY)" in logs(updates)
    disk = backend.snapshot().vm("web-01").disks[0]
    assert disk.datastore == "local-cna1" and disk.path == "/var/lib/libvirt/images/web-01-vda.qcow2"
    after = backend.snapshot()
    assert after.datastore("local-cna1").free == before.datastore("local-cna1").free - allocation
    assert after.datastore("nfs-a").free == before.datastore("nfs-a").free  # the source image is kept
    assert after.vm("web-01").host == "cna1"


async def test_whole_machine_mirrors_then_copies_memory_with_one_pause() -> None:
    backend = sim()
    before = backend.snapshot()
    plan = MigrationPlan("build-01", MigrationKind.WHOLE, "cna1", target_host="cna2", target_datastore="local-cna2")
    updates, outcome = await run_to_end(backend, plan)
    assert outcome.ok and outcome.vm_host == "cna2"
    assert phases(updates) == list(PHASES_BY_KIND[MigrationKind.WHOLE][1:])
    assert 0 < outcome.downtime < 0.3 and outcome.iterations >= 2
    allocation = before.vm("build-01").disks[0].allocation
    assert outcome.disk_bytes == allocation and outcome.bytes_sent == allocation + outcome.memory_bytes
    got = samples(updates)
    mirror = [s for s in got if s.phase is Phase.MIRROR]
    precopy = [s for s in got if s.phase is Phase.PRECOPY]
    assert mirror and precopy and got.index(precopy[0]) == len(mirror)
    assert all(set(s.disks) == {"vda"} for s in got) and all(s.memory_remaining is None for s in mirror)
    assert all(s.disks["vda"].ready for s in precopy) and precopy[0].dirty_rate == 0
    after = backend.snapshot()
    vm = after.vm("build-01")
    assert vm.host == "cna2" and vm.disks[0].datastore == "local-cna2"
    assert vm.disks[0].path == "/var/lib/libvirt/images/build-01-vda.qcow2"
    assert after.datastore("local-cna2").free == before.datastore("local-cna2").free - allocation


async def test_same_seed_same_samples_other_seed_other_noise() -> None:
    plan = vm_plan("web-01", "cna1", "cna2", bandwidth=200 * MiB)
    first, out1 = await run_to_end(sim(seed=3), plan)
    second, out2 = await run_to_end(sim(seed=3), plan)
    other, _ = await run_to_end(sim(seed=4), plan)
    assert samples(first) == samples(second) and out1 == out2
    assert samples(first) != samples(other)


async def test_abort_leaves_the_vm_on_the_source_and_the_inventory_unchanged() -> None:
    backend = sim()
    before = backend.snapshot()
    run = await backend.start(vm_plan("olap-01", "cna5", "cna4"))
    seen: list[Update] = []
    async for update in run.updates():
        seen.append(update)
        if isinstance(update, Sample) and update.t >= 10:
            await run.abort()
    outcome = await run.result()
    assert outcome.phase is Phase.ABORTED and outcome.vm_host == "cna5" and outcome.cause is None
    assert "canceled by client" in outcome.error
    assert phases(seen) == [Phase.PRECOPY, Phase.ABORTED]
    assert backend.snapshot() is before


async def test_postcopy_not_allowed_raises_and_allowed_finishes() -> None:
    backend = sim()
    run = await backend.start(vm_plan("olap-01", "cna5", "cna4"))
    with pytest.raises(SimRunError, match="post-copy was not allowed"):
        await run.start_postcopy()
    await run.abort()
    assert (await run.result()).phase is Phase.ABORTED

    run = await backend.start(vm_plan("olap-01", "cna5", "cna4", postcopy=True))
    seen: list[Update] = []
    async for update in run.updates():
        seen.append(update)
        if isinstance(update, Sample) and update.iteration == 2 and not update.postcopy:
            await run.start_postcopy()
    outcome = await run.result()
    assert outcome.ok and outcome.postcopy and outcome.vm_host == "cna4" and outcome.downtime < 0.1
    resumed = [s for s in samples(seen) if s.phase is Phase.RESUMED]
    assert resumed and all(s.postcopy for s in resumed)
    assert phases(seen) == list(PHASES_BY_KIND[MigrationKind.VM][1:])


async def test_pause_to_complete_finishes_with_the_pause_as_downtime() -> None:
    run = await sim().start(vm_plan("olap-01", "cna5", "cna4"))
    async for update in run.updates():
        if isinstance(update, Sample) and update.iteration == 3:
            await run.pause_to_complete()
    outcome = await run.result()
    assert outcome.ok and outcome.vm_host == "cna4" and not outcome.vm_paused
    assert outcome.downtime > 10  # the guest waits while pre-copy sends what it had dirtied


async def test_target_in_maintenance_fails_with_host_failed() -> None:
    backend = sim()
    await backend.set_maintenance("cna2", True)
    updates, outcome = await run_to_end(backend, vm_plan("web-01", "cna1", "cna2"))
    assert outcome.phase is Phase.FAILED and outcome.cause is FailureCause.HOST_FAILED
    assert outcome.vm_host == "cna1" and "maintenance" in outcome.error
    assert phases(updates) == [Phase.FAILED] and backend.snapshot().vm("web-01").host == "cna1"


async def test_stopped_vm_fails_with_a_clear_error() -> None:
    _, outcome = await run_to_end(sim(), vm_plan("archive-01", "cna3", "cna1"))
    assert outcome.phase is Phase.FAILED and "not running" in outcome.error and outcome.vm_host == "cna3"


async def test_vm_live_with_a_local_disk_fails_with_disk_unreachable() -> None:
    _, outcome = await run_to_end(sim(), vm_plan("build-01", "cna1", "cna2"))
    assert outcome.phase is Phase.FAILED and outcome.cause is FailureCause.DISK_UNREACHABLE


async def test_impossible_plans_are_refused_at_start() -> None:
    backend = sim()
    with pytest.raises(SimRunError, match="not reachable"):
        await backend.start(MigrationPlan("web-01", MigrationKind.STORAGE, "cna1", target_datastore="local-cna2"))
    with pytest.raises(SimRunError, match="already runs on"):
        await backend.start(vm_plan("web-01", "cna1", "cna1"))
    with pytest.raises(SimRunError, match="no VM"):
        await backend.start(vm_plan("nope", "cna1", "cna2"))


async def test_storage_run_refuses_memory_controls() -> None:
    run = await sim().start(MigrationPlan("web-01", MigrationKind.STORAGE, "cna1", target_datastore="local-cna1"))
    for control in (run.start_postcopy(), run.set_max_downtime(1.0), run.pause_to_complete()):
        with pytest.raises(SimRunError):
            await control
    await run.abort()
    outcome = await run.result()
    assert outcome.phase is Phase.ABORTED and "vda canceled" in outcome.error


async def test_speed_scales_simulated_time_to_real_time() -> None:
    started = time.monotonic()
    _, outcome = await run_to_end(sim(speed=20), vm_plan("web-01", "cna1", "cna2"))
    elapsed = time.monotonic() - started
    assert outcome.total_time / 20 * 0.9 <= elapsed <= outcome.total_time / 20 + 0.5
