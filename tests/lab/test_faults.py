"""Every failure cause of the article (seed VM-F1 … VM-F6) reproduced on the real lab.

For each: the run ends FAILED or ABORTED with the article's cause and libvirt's own error text; the VM runs on
exactly one host and is not paused (unless the chosen timeout action paused it); the guest's memory and disk
checks pass; nothing is left on the target; the history records it. The CI log gets a table of them all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from hotmig_tui.core.model import CpuMode, Inventory
from hotmig_tui.core.rules import CheckContext, Fact
from hotmig_tui.core.run import (
    FailureCause,
    MigrationKind,
    MigrationOptions,
    MigrationPlan,
    Outcome,
    Phase,
    TimeoutAction,
)
from hotmig_tui.engine import Engine, RunHandle
from hotmig_tui.history.store import History
from hotmig_tui.lab import console, crash, faults
from tests.conftest import REPORTS

from .helpers import domain_state, lab_backend, libvirt, volumes

pytestmark = pytest.mark.lab
MiB = 2**20
SLOW = 8 * MiB  # no busy guest (64 MiB rewritten continuously) converges through this
TABLE = REPORTS.setdefault(
    "fault tests (seed VM-F): cause, outcome, where the VM ran, integrity, leftovers on the target",
    [f"{'cause':<28} {'outcome':<8} {'cause id':<8} {'VM on':<6} {'paused':<6} {'integrity':<10} leftovers"],
)
During = Callable[[Engine, RunHandle], Awaitable[None]]


async def wait_pass(handle: RunHandle, n: int = 2, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not any(s.iteration and s.iteration >= n for s in handle.samples):
        if handle.outcome is not None or time.monotonic() > deadline:
            raise AssertionError(f"the run never reached pass {n}: {handle.outcome}")
        await asyncio.sleep(0.2)


async def run(backend, plan: MigrationPlan, tmp_path: Path, during: During | None = None,  # type: ignore[no-untyped-def]
              **engine_args) -> tuple[RunHandle, Outcome, History]:
    history = History(tmp_path / "history.sqlite")
    engine = Engine(backend, history, **engine_args)
    handle = engine.submit(plan)
    if during is not None:
        await during(engine, handle)
    outcome = await asyncio.wait_for(engine.wait(handle), 600)
    for line in handle.log:
        print(f"    {line.t:6.1f}s {line.level:<7} {line.text}")
    await engine.close()
    return handle, outcome, History(tmp_path / "history.sqlite")


async def running_on(backend, vm: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    found = []
    for host in backend.snapshot().hosts:
        conn = backend.connections.get(host.name)
        state = await domain_state(backend, host.name, vm) if conn is not None and conn.up else None
        if state in ("running", "paused"):
            found.append((host.name, state))
    return found


async def settle_target(backend, target: str, vm: str, timeout: float = 30) -> str | None:  # type: ignore[no-untyped-def]
    """The target cleans up its half-built copy shortly after the source gives up: wait for that."""
    deadline = time.monotonic() + timeout
    state = await domain_state(backend, target, vm)
    while state is not None and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        state = await domain_state(backend, target, vm)
    return state


async def assert_safe(  # type: ignore[no-untyped-def]
    backend, handle: RunHandle, outcome: Outcome, history: History, *, label: str, guest: str, source: str,
    target: str, since: int, phases: tuple[Phase, ...], cause: FailureCause | None, paused_ok: bool = False,
    target_volumes: tuple[str, set[str]] | None = None,
) -> None:
    assert outcome.phase in phases, outcome
    assert outcome.cause is cause, outcome
    assert outcome.ok or outcome.error, "libvirt's own error text must be attached"
    where = await running_on(backend, guest)
    assert len(where) == 1, f"the VM must run on exactly one host, found {where}"
    host, state = where[0]
    assert host == outcome.vm_host, (where, outcome)
    assert state == "running" or paused_ok, where
    left = await settle_target(backend, target, guest) if host != target else None
    leftovers = [] if left is None else [f"domain {guest} ({left})"]
    if target_volumes is not None:
        datastore, before = target_volumes
        leftovers += sorted(await volumes(backend, target, datastore) - before)
    report = console.wait_healthy(guest, since, heartbeats=3, full_sweep=True, timeout=120)
    record = next(r for r in history.runs() if r.id == handle.id)
    TABLE.append(f"{label:<28} {outcome.phase.value:<8} {outcome.cause.value if outcome.cause else '-':<8} "
                 f"{host:<6} {state == 'paused'!s:<6} {'ok' if report.ok else 'BAD':<10} "
                 f"{', '.join(leftovers) or 'none'}")
    assert report.ok, report.summary()
    assert not leftovers, leftovers
    assert record.phase == outcome.phase.value and record.cause == (cause.value if cause else None)


def busy_plan(source: str, target: str, **options) -> MigrationPlan:  # type: ignore[no-untyped-def]
    return MigrationPlan("busy", MigrationKind.VM, source, target,
                         options=MigrationOptions(bandwidth=SLOW, policy=False, **options))


async def test_network_cut_mid_run_is_vm_f1(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async with lab_backend(lab) as backend:
        since = console.offset("busy")

        async def cut_after_two_passes(engine: Engine, handle: RunHandle) -> None:
            await wait_pass(handle)
            faults.cut("lab2")

        try:
            handle, outcome, history = await run(backend, busy_plan("lab1", "lab2"), tmp_path, cut_after_two_passes)
        finally:
            faults.restore("lab2")
        await assert_safe(backend, handle, outcome, history, label="VM-F1 network cut", guest="busy",
                          source="lab1", target="lab2", since=since, phases=(Phase.FAILED,),
                          cause=FailureCause.NETWORK)


async def test_target_host_crash_mid_run_is_vm_f2(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async with lab_backend(lab) as backend:
        since = console.offset("busy")

        async def crash_target(engine: Engine, handle: RunHandle) -> None:
            await wait_pass(handle)
            assert crash.kill_host("lab2"), "nothing was killed"

        try:
            handle, outcome, history = await run(backend, busy_plan("lab1", "lab2"), tmp_path, crash_target)
        finally:
            await asyncio.to_thread(crash.heal)
        await wait_connected(backend, "lab2")
        await assert_safe(backend, handle, outcome, history, label="VM-F2 target host crash", guest="busy",
                          source="lab1", target="lab2", since=since, phases=(Phase.FAILED,),
                          cause=FailureCause.HOST_FAILED)


async def test_source_daemon_restart_mid_run_is_vm_f2(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async with lab_backend(lab) as backend:
        since = console.offset("busy")

        async def restart_source_daemon(engine: Engine, handle: RunHandle) -> None:
            await wait_pass(handle)
            assert crash.kill_daemon("lab1"), "nothing was killed"
            await asyncio.to_thread(crash.heal)

        handle, outcome, history = await run(backend, busy_plan("lab1", "lab2"), tmp_path, restart_source_daemon)
        await wait_connected(backend, "lab1")
        await assert_safe(backend, handle, outcome, history, label="VM-F2 source daemon restart", guest="busy",
                          source="lab1", target="lab2", since=since, phases=(Phase.FAILED,),
                          cause=FailureCause.HOST_FAILED)


async def test_target_entering_maintenance_mid_run_is_vm_f2(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async with lab_backend(lab) as backend:
        since = console.offset("busy")

        async def maintenance(engine: Engine, handle: RunHandle) -> None:
            await wait_pass(handle)
            await backend.set_maintenance("lab2", True)

        try:
            handle, outcome, history = await run(backend, busy_plan("lab1", "lab2"), tmp_path, maintenance)
        finally:
            await backend.set_maintenance("lab2", False)
        await assert_safe(backend, handle, outcome, history, label="VM-F2 target into maintenance", guest="busy",
                          source="lab1", target="lab2", since=since, phases=(Phase.ABORTED,),
                          cause=FailureCause.HOST_FAILED)
        assert any("maintenance" in line.text for line in handle.log)


async def test_incompatible_cpus_are_vm_f3(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Refused before starting by the checks, and refused by libvirt itself, each mapped to VM-F3.

    The lab's hosts share one CPU and its guests use QEMU's generic qemu64 model (which may move anywhere), so
    for the checks the snapshot shows what libvirt would report for a host-model guest and an AMD target.
    libvirt's own refusal is real: the guest asked to show another CPU model on the target (guest-ABI check)."""
    from hotmig_tui.backends.libvirt.errors import failure_cause

    async with lab_backend(lab) as backend:
        since = console.offset("moderate")
        real = backend.snapshot()
        amd = dataclasses.replace(real.host("lab3"), cpu_model="EPYC-Rome", cpu_vendor="AMD")
        host_model = dataclasses.replace(real.vm("moderate"), cpu_mode=CpuMode.HOST_MODEL, cpu_model=None)
        shown = Inventory(real.clusters, tuple(amd if h.name == "lab3" else h for h in real.hosts),
                          real.datastores, tuple(host_model if v.name == "moderate" else v for v in real.vms),
                          real.source)
        backend.snapshot = lambda: shown  # what the checks see; the run itself would be real
        plan = MigrationPlan("moderate", MigrationKind.WHOLE, "lab1", "lab3", "lab3-local")
        before = await volumes(backend, "lab3", "lab3-local")
        try:
            handle, outcome, history = await run(backend, plan, tmp_path)
        finally:
            del backend.snapshot
        assert "VM-C2.5" in (outcome.error or "")
        await assert_safe(backend, handle, outcome, history, label="VM-F3 CPUs differ (checks)", guest="moderate",
                          source="lab1", target="lab3", since=since, phases=(Phase.FAILED,),
                          cause=FailureCause.CPU_INCOMPATIBLE, target_volumes=("lab3-local", before))
        # libvirt's own refusal: the same guest asked to show another CPU model on the target.
        src, dst = backend.connection("lab1").conn, backend.connection("lab2").conn
        dom = await backend.lv.call(src.lookupByName, "moderate")
        xml = await backend.lv.call(dom.XMLDesc, libvirt.VIR_DOMAIN_XML_MIGRATABLE)
        icelake = "<cpu mode='custom' match='exact'><model>Icelake-Server</model></cpu>"
        changed = xml.replace("</vcpu>", "</vcpu>" + icelake, 1)
        params = {libvirt.VIR_MIGRATE_PARAM_DEST_XML: changed, libvirt.VIR_MIGRATE_PARAM_URI: "tcp://198.18.0.12"}
        with pytest.raises(libvirt.libvirtError) as refused:
            await backend.lv.call(dom.migrate3, dst, params, libvirt.VIR_MIGRATE_LIVE)
        print(f"    libvirt: {refused.value.get_error_message()}")
        assert failure_cause(refused.value) is FailureCause.CPU_INCOMPATIBLE
        assert await domain_state(backend, "lab1", "moderate") == "running"
        assert await settle_target(backend, "lab2", "moderate") is None


async def test_target_without_resources_is_vm_f5(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A probe says the target has 100 MiB free right now: the checks refuse before anything starts."""
    async with lab_backend(lab) as backend:
        since = console.offset("moderate")
        scarce = CheckContext(memory_free={"lab2": Fact(100 * MiB, 1.0, "MemAvailable from /proc/meminfo")})
        plan = MigrationPlan("moderate", MigrationKind.VM, "lab1", "lab2")
        handle, outcome, history = await run(backend, plan, tmp_path, context=lambda _plan: scarce)
        assert "VM-C2.1" in (outcome.error or "")
        await assert_safe(backend, handle, outcome, history, label="VM-F5 target lacks memory", guest="moderate",
                          source="lab1", target="lab2", since=since, phases=(Phase.FAILED,),
                          cause=FailureCause.RESOURCES)


@pytest.mark.parametrize("checks", [True, False], ids=["refused by the checks", "refused by libvirt"])
@pytest.mark.parametrize(("guest", "target"), [("local1", "lab2"), ("idle", "lab3")],
                         ids=["local disk", "shared datastore not on the target"])
async def test_target_that_cannot_reach_the_disks_is_vm_f4(lab, tmp_path: Path, guest: str, target: str,  # type: ignore[no-untyped-def]
                                                          checks: bool) -> None:
    async with lab_backend(lab) as backend:
        since = console.offset(guest)
        source = backend.snapshot().vm(guest).host
        plan = MigrationPlan(guest, MigrationKind.VM, source, target)
        handle, outcome, history = await run(backend, plan, tmp_path, checks=checks)
        if checks:
            assert "VM-C3" in (outcome.error or "")
        else:
            print(f"    libvirt: {outcome.error}")
        await assert_safe(backend, handle, outcome, history,
                          label=f"VM-F4 {guest}→{target} ({'checks' if checks else 'libvirt'})", guest=guest,
                          source=source, target=target, since=since, phases=(Phase.FAILED,),
                          cause=FailureCause.DISK_UNREACHABLE)


@pytest.mark.parametrize("action", list(TimeoutAction), ids=lambda a: a.value)
async def test_timeout_behind_a_capped_link_is_vm_f6(lab, tmp_path: Path, action: TimeoutAction) -> None:  # type: ignore[no-untyped-def]
    async with lab_backend(lab) as backend:
        since = console.offset("busy")
        # tc tbf on the target's link: the busy guest cannot converge through 8 MiB/s.
        plan = MigrationPlan("busy", MigrationKind.VM, "lab1", "lab2", options=MigrationOptions(
            timeout=8.0, timeout_action=action, postcopy=action is TimeoutAction.POSTCOPY))
        with faults.capped("lab2", SLOW):
            handle, outcome, history = await run(backend, plan, tmp_path)
        assert any(line.level == "policy" and "timeout" in line.text.lower() for line in handle.log), handle.log
        if action is TimeoutAction.ABORT:
            await assert_safe(backend, handle, outcome, history, label="VM-F6 timeout, abort", guest="busy",
                              source="lab1", target="lab2", since=since, phases=(Phase.ABORTED,),
                              cause=FailureCause.TIMEOUT)
            return
        # Pause or post-copy complete the run on the target: it timed out, and the chosen action finished it.
        assert outcome.phase is Phase.DONE and outcome.vm_host == "lab2", outcome
        if action is TimeoutAction.PAUSE:
            assert any(line.level == "error" and "paused" in line.text for line in handle.log)  # said in red
        else:
            assert outcome.postcopy
        await assert_safe(backend, handle, outcome, history, label=f"VM-F6 timeout, {action.value}", guest="busy",
                          source="lab1", target="lab1", since=since, phases=(Phase.DONE,), cause=None)
        _, back, _ = await run(backend, MigrationPlan("busy", MigrationKind.VM, "lab2", "lab1"), tmp_path)
        assert back.ok, back.error


async def wait_connected(backend, host: str, timeout: float = 60) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while backend.snapshot().host(host).state.value != "connected":
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{host} did not reconnect within {timeout} s: {backend.snapshot().host(host)}")
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def test_a_lost_daemon_shows_disconnected_and_comes_back(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async with lab_backend(lab) as backend:
        started = time.monotonic()
        crash.kill_daemon("lab3")
        while backend.snapshot().host("lab3").state.value != "disconnected":
            assert time.monotonic() - started < 20, "not shown disconnected within the keepalive time"
            await asyncio.sleep(0.1)
        shown = time.monotonic() - started
        reason = backend.snapshot().host("lab3").error
        assert reason
        await asyncio.to_thread(crash.heal)
        back = await wait_connected(backend, "lab3")
        TABLE.append(f"{'connection lost (lab3)':<28} shown disconnected after {shown:.1f} s ({reason}); "
                     f"reconnected {back:.1f} s after the daemon was back")
