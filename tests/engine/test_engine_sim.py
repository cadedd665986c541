"""The engine driving simulated runs: the policy, the timeout, concurrency budgets, history."""

from __future__ import annotations

from pathlib import Path

from hotmig_tui.backends.sim import SimBackend, demo_inventory_file
from hotmig_tui.core import policy
from hotmig_tui.core.run import FailureCause, MigrationKind, MigrationOptions, MigrationPlan, Phase, Sample
from hotmig_tui.engine import Engine, RunFinished, RunHandle, RunQueued, RunStarted, RunUpdated
from hotmig_tui.history.store import History

FAST = 100_000.0


def engine(tmp_path: Path) -> Engine:
    backend = SimBackend(demo_inventory_file().inventory, seed=1, speed=FAST)
    return Engine(backend, History(tmp_path / "history.sqlite"))


def olap(**options: object) -> MigrationPlan:
    return MigrationPlan("olap-01", MigrationKind.VM, "cna5", target_host="cna4", options=MigrationOptions(**options))


def policy_lines(handle: RunHandle) -> list[str]:
    return [line.text for line in handle.log if line.level == "policy"]


async def test_quiet_vm_is_done_without_policy_action_and_recorded(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    handle = eng.submit(MigrationPlan("web-01", MigrationKind.VM, "cna1", target_host="cna2"))
    outcome = await eng.wait(handle)
    assert outcome.phase is Phase.DONE and outcome.vm_host == "cna2" and 0 < outcome.downtime < 0.3
    assert handle.actions == [] and policy_lines(handle) == []
    assert handle.phase is Phase.DONE and handle.samples
    assert eng.backend.snapshot().vm("web-01").host == "cna2"
    history = eng.history
    assert history is not None
    record = next(r for r in history.runs() if r.id == handle.id)
    assert record.phase == "done" and record.vm_host == "cna2" and record.backend == "sim"
    assert record.outcome["iterations"] == outcome.iterations
    assert history.samples(handle.id) == handle.samples
    assert any("pre-copy pass 1 begins" in text for _, _, text in history.log(handle.id))
    await eng.close()


async def test_olap_does_not_converge_and_the_policy_switches_to_postcopy(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    handle = eng.submit(olap(postcopy=True))
    outcome = await eng.wait(handle)
    assert outcome.phase is Phase.DONE and outcome.postcopy and outcome.vm_host == "cna4"
    assert outcome.downtime < 0.1
    assert [type(a) for a in handle.actions] == [policy.StartPostcopy]
    reasons = policy_lines(handle)
    assert len(reasons) == 1 and "no new low in remaining memory" in reasons[0]
    assert reasons[0].endswith("switching to post-copy")
    # It never converged by itself: pre-copy ran several passes before the policy stepped in.
    assert max(s.iteration for s in handle.samples if not s.postcopy) >= 4
    assert eng.backend.snapshot().vm("olap-01").host == "cna4"
    await eng.close()


async def test_olap_with_auto_converge_allowed_is_finished_by_throttling(tmp_path: Path) -> None:
    """libvirt switches auto-converge on for the whole run when it is allowed (VIR_MIGRATE_AUTO_CONVERGE): QEMU's
    rising throttle is progress, so the policy has nothing to add."""
    eng = engine(tmp_path)
    handle = eng.submit(olap(auto_converge=True))
    outcome = await eng.wait(handle)
    assert outcome.phase is Phase.DONE and not outcome.postcopy and outcome.vm_host == "cna4"
    assert max(s.throttle or 0 for s in handle.samples) >= 0.5
    assert outcome.stats["auto_converge_throttle"] >= 50
    await eng.close()


async def test_olap_with_nothing_allowed_times_out_and_stays_on_its_source(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    handle = eng.submit(olap(timeout=700.0))
    outcome = await eng.wait(handle)
    assert outcome.phase is Phase.ABORTED and outcome.cause is FailureCause.TIMEOUT
    assert outcome.vm_host == "cna5" and eng.backend.snapshot().vm("olap-01").host == "cna5"
    assert isinstance(handle.actions[-1], policy.Abort) and handle.actions[-1].on_timeout
    assert any(text.startswith("timeout 11 min 40 s reached") for text in policy_lines(handle))
    # Before the timeout the policy raised the limit, the only step left to it, and said why.
    assert any("nothing else allowed" in text for text in policy_lines(handle))
    assert 700 <= handle.samples[-1].t < 702
    await eng.close()


async def test_host_budget_queues_the_third_storage_migration(tmp_path: Path) -> None:
    """Storage migration costs 4 of a host's budget of 8: the third on cna1 waits for one of the first two."""
    eng = engine(tmp_path)
    events = eng.events()
    plans = [
        MigrationPlan("web-01", MigrationKind.STORAGE, "cna1", target_datastore="local-cna1"),
        MigrationPlan("web-02", MigrationKind.STORAGE, "cna1", target_datastore="local-cna1"),
        MigrationPlan("huge-analytics-01", MigrationKind.STORAGE, "cna1", target_datastore="local-cna1"),
    ]
    handles = [eng.submit(p) for p in plans]
    order: list[tuple[str, str]] = []
    async for event in events:
        if isinstance(event, RunQueued | RunStarted | RunFinished):
            order.append((type(event).__name__, event.handle.plan.vm))
        if isinstance(event, RunFinished) and all(h.outcome for h in handles):
            break
    outcomes = [h.outcome for h in handles]
    assert all(o is not None and o.ok for o in outcomes)
    started = order.index(("RunStarted", "huge-analytics-01"))
    first_finished = min(i for i, (kind, _) in enumerate(order) if kind == "RunFinished")
    assert first_finished < started
    queued = handles[2].log[0]
    assert queued.text.startswith("queued: waiting for") and "host cna1" in queued.text and queued.level == "warning"
    assert not any(h.log[0].text.startswith("queued") for h in handles[:2])
    inventory = eng.backend.snapshot()
    assert all(inventory.vm(p.vm).disks[0].datastore == "local-cna1" for p in plans)
    await eng.close()


async def test_target_entering_maintenance_mid_run_aborts_with_host_failed(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    events = eng.events()
    handle = eng.submit(olap())
    async for event in events:
        if isinstance(event, RunUpdated) and isinstance(event.update, Sample) and event.update.t >= 30:
            break
    await eng.backend.set_maintenance("cna4", True)
    outcome = await eng.wait(handle)
    assert outcome.phase is Phase.ABORTED and outcome.cause is FailureCause.HOST_FAILED
    assert outcome.vm_host == "cna5" and eng.backend.snapshot().vm("olap-01").host == "cna5"
    await eng.close()
