"""All three kinds of live migration, for real: libvirtd + QEMU 10 in the lab's namespaces.

Each test leaves the lab as it found it (the guest moves back), and checks what the issue asks: the guest's
heartbeat continues after the move with its memory and disk patterns intact, the VM runs on exactly one host,
the run's samples have the right shape, and the final record equals libvirt's own completed-job statistics.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from hotmig_tui.core.run import MigrationKind, MigrationOptions, MigrationPlan, Outcome, Phase
from hotmig_tui.engine import Engine, RunHandle
from hotmig_tui.history.store import History
from hotmig_tui.lab import console

from .helpers import domain_state, lab_backend, volumes

pytestmark = pytest.mark.lab
MiB = 2**20


async def migrate(backend, plan: MigrationPlan, tmp_path: Path, during=None) -> tuple[RunHandle, Outcome]:  # type: ignore[no-untyped-def]
    engine = Engine(backend, History(tmp_path / "history.sqlite"))
    handle = engine.submit(plan)
    if during is not None:
        await during(engine, handle)
    outcome = await asyncio.wait_for(engine.wait(handle), 600)
    await engine.close()
    print(f"\n  {plan.kind.value} {plan.vm} {plan.source}->{plan.target_host or plan.target_datastore}: "
          f"{outcome.phase.value} in {outcome.total_time or 0:.1f} s, downtime {outcome.downtime}, "
          f"iterations {outcome.iterations}, {outcome.bytes_sent} bytes")
    for line in handle.log:
        print(f"    {line.t:6.1f}s {line.level:<7} {line.text}")
    return handle, outcome


def completed_event(backend, vm: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    events = [e for e in backend.recent_events if e.vm == vm and e.kind == "job-completed"]
    assert events, "libvirt sent no JOB_COMPLETED event for the run"
    return events[-1].stats


async def test_vm_live_migration_of_a_dirtying_guest(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    guest = "moderate"
    async with lab_backend(lab) as backend:
        home = backend.snapshot().vm(guest).host
        other = "lab2" if home == "lab1" else "lab1"
        since = console.offset(guest)
        # A bandwidth cap makes pre-copy take several passes, so the curves have a shape to check.
        plan = MigrationPlan(guest, MigrationKind.VM, home, other,
                             options=MigrationOptions(bandwidth=16 * MiB, policy=False))
        handle, outcome = await migrate(backend, plan, tmp_path)
        assert outcome.phase is Phase.DONE, outcome.error
        assert outcome.vm_host == other and not outcome.vm_paused
        # Runs on the target only: gone from the source (definition moved too), running on the target.
        assert await domain_state(backend, home, guest) is None
        assert await domain_state(backend, other, guest) == "running"
        # The guest kept running on the target, memory and disk intact.
        report = console.wait_healthy(guest, since, heartbeats=3, full_sweep=True, timeout=90)
        assert report.ok, report.summary()
        # The curves: iterations rise, remaining memory falls (at iteration boundaries), dirty rate 0 in pass 1.
        samples = [s for s in handle.samples if s.phase is Phase.PRECOPY and s.iteration is not None]
        iterations = [s.iteration for s in samples]
        assert iterations == sorted(iterations) and iterations[-1] > iterations[0] >= 1
        firsts = [s for s in samples if s.iteration == iterations[0]]
        assert all(s.dirty_rate == 0 for s in firsts), "libvirt reports no dirty rate during pass 1"
        assert max(s.memory_remaining for s in samples) > samples[-1].memory_remaining
        assert all(s.memory_total and s.memory_total >= 200 * MiB for s in samples)  # the guest's 256 MiB
        # The final record is libvirt's completed-job statistics, unchanged.
        stats = completed_event(backend, guest)
        assert outcome.downtime == stats["downtime"] / 1000
        assert outcome.iterations == stats["memory_iteration"]
        assert outcome.bytes_sent == stats["data_processed"]
        assert outcome.total_time == stats["time_elapsed"] / 1000
        # Put it back.
        _, back = await migrate(backend, MigrationPlan(guest, MigrationKind.VM, other, home), tmp_path)
        assert back.ok, back.error


async def test_storage_live_migration_with_pivot(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    guest = "idle"
    async with lab_backend(lab) as backend:
        vm = backend.snapshot().vm(guest)
        host, source_ds = vm.host, vm.disks[0].datastore
        target_ds = f"{host}-local"
        source_path = vm.disks[0].path
        since = console.offset(guest)
        plan = MigrationPlan(guest, MigrationKind.STORAGE, host, target_datastore=target_ds,
                             options=MigrationOptions(bandwidth=32 * MiB))
        handle, outcome = await migrate(backend, plan, tmp_path)
        assert outcome.phase is Phase.DONE, outcome.error
        await backend.refresh(host)
        moved = backend.snapshot().vm(guest).disks[0]
        assert moved.datastore == target_ds and moved.path != source_path
        mirror = [s for s in handle.samples if s.disks]
        assert mirror and mirror[-1].disks["vda"].ready and mirror[-1].disks["vda"].fraction == 1.0
        # The guest kept writing and verifying its disk through the pivot.
        report = console.wait_healthy(guest, since, heartbeats=3, full_sweep=True, timeout=90)
        assert report.ok, report.summary()
        # The source image stays unless asked: it is still in the source pool.
        assert source_path.rsplit("/", 1)[1] in await volumes(backend, host, source_ds)
        # Back to the shared datastore, this time removing the copy we leave behind.
        back_plan = MigrationPlan(guest, MigrationKind.STORAGE, host, target_datastore=source_ds,
                                  options=MigrationOptions(remove_source=True))
        # The original image still exists there: move it aside first so nothing is overwritten.
        await remove_volume(backend, host, source_ds, source_path)
        _, back = await migrate(backend, back_plan, tmp_path)
        assert back.ok, back.error
        assert moved.path.rsplit("/", 1)[1] not in await volumes(backend, host, target_ds)


async def remove_volume(backend, host: str, datastore: str, path: str) -> None:  # type: ignore[no-untyped-def]
    conn = backend.connection(host).conn
    vol = await backend.lv.call(conn.storageVolLookupByPath, path)
    await backend.lv.call(vol.delete, 0)


async def test_whole_machine_migration_without_shared_storage(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    guest = "local1"
    async with lab_backend(lab) as backend:
        vm = backend.snapshot().vm(guest)
        home = vm.host
        since = console.offset(guest)
        started = time.monotonic()
        # Capped so the disk mirror lasts long enough to be sampled before the memory pass begins.
        plan = MigrationPlan(guest, MigrationKind.WHOLE, home, "lab3", "lab3-local",
                             options=MigrationOptions(bandwidth=16 * MiB, remove_source=True))
        handle, outcome = await migrate(backend, plan, tmp_path)
        assert outcome.phase is Phase.DONE, outcome.error
        assert outcome.vm_host == "lab3" and outcome.disk_bytes and outcome.disk_bytes > 0
        await backend.refresh("lab3")
        await backend.refresh(home)
        moved = backend.snapshot().vm(guest)
        assert moved.host == "lab3" and moved.disks[0].datastore == "lab3-local"
        assert await domain_state(backend, home, guest) is None
        # One pause: the source was suspended exactly once for the switch, disks and memory together.
        suspends = [e for e in backend.recent_events if e.vm == guest and e.host == home
                    and e.kind == "lifecycle" and e.name == "suspended"]
        assert len(suspends) == 1, suspends
        # Storage first, then memory: the disk mirror's samples come before the memory pre-copy's.
        phases = [s.phase for s in handle.samples]
        assert Phase.MIRROR in phases and Phase.PRECOPY in phases
        assert phases.index(Phase.MIRROR) < phases.index(Phase.PRECOPY)
        report = console.wait_healthy(guest, since, heartbeats=3, full_sweep=True, timeout=90)
        assert report.ok, report.summary()
        assert vm.disks[0].path.rsplit("/", 1)[1] not in await volumes(backend, home, f"{home}-local")
        print(f"  whole-machine run and checks: {time.monotonic() - started:.1f} s")
        _, back = await migrate(backend, MigrationPlan(guest, MigrationKind.WHOLE, "lab3", home, f"{home}-local",
                                                       options=MigrationOptions(remove_source=True)), tmp_path)
        assert back.ok, back.error


async def test_abort_in_the_middle_leaves_the_vm_on_its_source(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    guest = "busy"
    async with lab_backend(lab) as backend:
        home = backend.snapshot().vm(guest).host
        other = "lab2" if home == "lab1" else "lab1"
        since = console.offset(guest)

        async def abort_after_two_passes(engine: Engine, handle: RunHandle) -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if any(s.iteration and s.iteration >= 2 for s in handle.samples):
                    await engine.abort(handle)
                    return
                await asyncio.sleep(0.2)
            raise AssertionError("the run never reached its second pass")

        # 8 MiB/s cannot carry a guest that rewrites 64 MiB continuously: it would never converge.
        plan = MigrationPlan(guest, MigrationKind.VM, home, other,
                             options=MigrationOptions(bandwidth=8 * MiB, policy=False))
        _, outcome = await migrate(backend, plan, tmp_path, during=abort_after_two_passes)
        assert outcome.phase is Phase.ABORTED, outcome
        assert outcome.vm_host == home and not outcome.vm_paused
        assert await domain_state(backend, home, guest) == "running"
        assert await domain_state(backend, other, guest) is None  # nothing left on the target
        report = console.wait_healthy(guest, since, heartbeats=3, full_sweep=True, timeout=90)
        assert report.ok, report.summary()
