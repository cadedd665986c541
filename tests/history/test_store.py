from pathlib import Path

from hotmig_tui.core.run import DiskProgress, FailureCause, MigrationKind, MigrationPlan, Outcome, Phase, Sample
from hotmig_tui.history.store import History


def test_round_trip(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite")
    plan = MigrationPlan("web-01", MigrationKind.WHOLE, "cna1", "cna2", "local-cna2")
    history.start_run("r1", plan, "sim", "alice")
    samples = [Sample(t=0.5, phase=Phase.MIRROR, disks={"vda": DiskProgress(10, 100)}),
               Sample(t=1.0, phase=Phase.PRECOPY, iteration=2, memory_remaining=5, dirty_rate=1.5)]
    for s in samples:
        history.add_sample("r1", s)
    history.add_log("r1", 1.0, "policy", "raise max downtime to 400 ms: stalled 3 passes")
    history.finish_run("r1", Outcome(Phase.FAILED, "cna1", cause=FailureCause.NETWORK, error="client socket is closed"))
    history.close()

    again = History(tmp_path / "h.sqlite")
    (record,) = again.runs()
    assert (record.vm, record.kind, record.phase, record.cause, record.vm_host, record.user) == (
        "web-01", "whole", "failed", "VM-F1", "cna1", "alice")
    assert record.outcome["error"] == "client socket is closed"
    assert again.samples("r1") == samples
    assert again.log("r1") == [(1.0, "policy", "raise max downtime to 400 ms: stalled 3 passes")]
