"""check(), candidates(), check_inventory() and object_findings() on the demo datacenter."""

from __future__ import annotations

from hotmig_tui.core.model import Inventory
from hotmig_tui.core.rules import (
    CheckContext,
    Fact,
    Severity,
    Status,
    candidates,
    check,
    check_inventory,
    object_findings,
    plan_for,
)
from hotmig_tui.core.run import MigrationKind, MigrationPlan
from hotmig_tui.core.units import GiB
from tests.core.rules.helpers import STORAGE, VM, WHOLE, findings_for, one, plan, rules

# --- check() ------------------------------------------------------------------------------------------------


def test_a_clean_plan_has_no_errors_only_the_unknowns(demo: Inventory) -> None:
    findings = findings_for(demo, "web-01", VM, "cna2")
    assert not [f for f in findings if f.blocks]
    assert {(f.rule, f.status) for f in findings} == {("VM-C4", Status.UNKNOWN), ("VM-T", Status.UNKNOWN)}


def test_findings_come_worst_first(demo: Inventory) -> None:
    findings = findings_for(demo, "build-01", VM, "dev1")
    severities = [f.severity for f in findings]
    assert severities == sorted(severities, reverse=True) and severities[0] is Severity.ERROR


def test_plans_that_make_no_sense_get_plan_errors(demo: Inventory) -> None:
    cases = {
        MigrationPlan("nope", VM, "cna1", "cna2"): "VM nope is not in the inventory",
        MigrationPlan("web-01", VM, "cna1"): "needs a target host",
        MigrationPlan("web-01", VM, "cna1", "cna9"): "target host cna9 is not in the inventory",
        MigrationPlan("web-01", STORAGE, "cna1"): "needs a target datastore",
        MigrationPlan("web-01", STORAGE, "cna1", "cna2", "local-cna2"): "plan a whole-machine migration",
        MigrationPlan("web-01", WHOLE, "cna1", "cna2", "nowhere"): "target datastore nowhere",
        MigrationPlan("web-01", STORAGE, "cna1", None, "local-cna1", ("vdz",)): "web-01 has no disk vdz",
    }
    for bad, text in cases.items():
        findings = check(bad, demo)
        assert [f.rule for f in findings] == ["PLAN"], bad
        assert text in findings[0].message


def test_a_stale_plan_source_is_caught(demo: Inventory) -> None:
    findings = check(MigrationPlan("web-01", VM, "cna2", "cna3"), demo)
    assert "now runs on cna1" in one(findings, "VM-D").message


def test_reachability_probe_results_are_used(demo: Inventory) -> None:
    ok = CheckContext(reachable={("cna1", "cna2"): Fact(True, 4.0)})
    assert "VM-C4" not in rules(findings_for(demo, "web-01", VM, "cna2", context=ok))
    # either direction counts
    reverse = CheckContext(reachable={("cna2", "cna1"): Fact(False, 4.0, "timeout")})
    finding = one(findings_for(demo, "web-01", VM, "cna2", context=reverse), "VM-C4")
    assert finding.blocks and "timeout" in finding.message


def test_stale_probe_results_are_unknown(demo: Inventory) -> None:
    context = CheckContext(reachable={("cna1", "cna2"): Fact(True, 900.0)}, max_fact_age=300.0)
    finding = one(findings_for(demo, "web-01", VM, "cna2", context=context), "VM-C4")
    assert finding.status is Status.UNKNOWN and "too old" in finding.message


def test_a_memory_probe_overrides_the_snapshot(demo: Inventory) -> None:
    assert "VM-C2.1.mem" in rules(findings_for(demo, "db-01", VM, "cna3"), blocking_only=True)
    fresh = CheckContext(memory_free={"cna3": Fact(100 * GiB, 2.0)})
    assert "VM-C2.1.mem" not in rules(findings_for(demo, "db-01", VM, "cna3", context=fresh))
    probed_low = CheckContext(memory_free={"cna2": Fact(10 * GiB, 3.0)})
    finding = one(findings_for(demo, "db-01", VM, "cna2", context=probed_low), "VM-C2.1.mem")
    assert finding.message == "target cna2 has 10 GiB free, the VM needs 64 GiB" and finding.age_s == 3.0


def test_memory_promised_to_migrations_in_flight_is_taken_off(demo: Inventory) -> None:
    context = CheckContext(
        memory_free={"cna2": Fact(10 * GiB, 3.0)}, in_flight=(plan(demo, "web-01", VM, "cna2"),)
    )
    finding = one(findings_for(demo, "api-02", VM, "cna2", context=context), "VM-C2.1.mem")
    assert finding.message == (
        "target cna2 has 6 GiB free (4 GiB of its 10 GiB is promised to migrations in flight), "
        "the VM needs 8 GiB"
    )


def test_a_disk_probe_that_fails_is_vm_c3(demo: Inventory) -> None:
    vm = demo.vm("web-01")
    assert vm is not None
    context = CheckContext(disk_visible={("cna2", vm.disks[0].path): Fact(False, 1.0, "ENOENT")})
    finding = one(findings_for(demo, "web-01", VM, "cna2", context=context), "VM-C3")
    assert "target cna2 cannot see disk vda" in finding.message and "ENOENT" in finding.message


def test_predictions_feed_vm_t(demo: Inventory) -> None:
    from tests.core.rules.helpers import Verdict

    context = CheckContext(predictions={"web-01": Verdict(True, "converges in 3 iterations")})
    assert "VM-T" not in rules(findings_for(demo, "web-01", VM, "cna2", context=context))


def test_the_predictors_own_result_fits(demo: Inventory) -> None:
    from hotmig_tui.core.predict import Prediction

    verdict = Prediction(MigrationKind.VM, False, "dirties faster than the link")
    context = CheckContext(predictions={"olap-01": verdict})
    finding = one(findings_for(demo, "olap-01", VM, "cna4", context=context), "VM-T")
    assert finding.status is Status.FAILED and "dirties faster than the link" in finding.message


def test_cold_storage_migration_of_a_stopped_vm(demo: Inventory) -> None:
    findings = findings_for(demo, "archive-01", STORAGE, None, "fusion-1")
    assert "VM-C1.run" not in rules(findings)
    assert "has 3 snapshots" in one(findings, "ST-C5").message
    assert "ST-C4" not in rules(findings)  # distributed block is fine cold, save ST-C5's cases


def test_whole_machine_checks_the_disks_it_leaves_in_place(demo: Inventory) -> None:
    only_vda = MigrationPlan("db-01", WHOLE, "cna1", "cna2", "local-cna2", ("vda",))
    assert not [f for f in check(only_vda, demo) if f.blocks]  # vdb stays on fusion-1, which cna2 mounts
    to_dev = MigrationPlan("db-01", WHOLE, "cna1", "dev2", "local-dev2", ("vda",))
    assert "vdb is on fusion-1, which the target does not mount" in one(check(to_dev, demo), "VM-C3").message
    everything = MigrationPlan("db-01", WHOLE, "cna1", "cna2", "local-cna2")
    assert {"ST-C4"} <= rules(check(everything, demo), blocking_only=True)


def test_the_index_is_built_once_per_inventory_and_context(demo: Inventory) -> None:
    from hotmig_tui.core.rules import CheckIndex

    context = CheckContext()
    assert CheckIndex.of(demo, context) is CheckIndex.of(demo, context)
    assert CheckIndex.of(demo, context) is not CheckIndex.of(demo, CheckContext())


# --- candidates() -------------------------------------------------------------------------------------------


def test_vm_candidates_are_the_other_hosts_best_first(demo: Inventory) -> None:
    ranked = candidates("web-01", VM, demo)
    assert [c.target_host for c in ranked][:1] == ["cna2"]
    assert "cna1" not in {c.target_host for c in ranked} and len(ranked) == len(demo.hosts) - 1
    keys = [(c.errors, c.warnings) for c in ranked]
    assert keys == sorted(keys)
    cna3 = next(c for c in ranked if c.target_host == "cna3")
    assert cna3.memory_after == demo.host("cna3").memory_free - 4 * GiB  # type: ignore[union-attr]


def test_storage_candidates_are_datastores_and_the_vm_stays(demo: Inventory) -> None:
    ranked = candidates("web-01", STORAGE, demo)
    assert {c.target_host for c in ranked} == {None}
    assert ranked[0].target_datastore == "local-cna1" and ranked[0].ok
    assert next(c for c in ranked if c.target_datastore == "nfs-a").errors >= 1  # where it already is


def test_whole_candidates_pair_each_host_with_a_datastore_it_mounts(demo: Inventory) -> None:
    ranked = candidates("build-01", WHOLE, demo)
    best = ranked[0]
    assert best.ok and best.target_host in ("cna2", "dev2")
    for c in ranked:
        assert c.target_host in demo.datastore(c.target_datastore).hosts  # type: ignore[union-attr]


def test_candidates_agree_with_check_for_every_vm_and_kind(demo: Inventory) -> None:
    for vm in demo.vms:
        for kind in MigrationKind:
            for candidate in candidates(vm.name, kind, demo):
                findings = check(plan_for(vm, candidate), demo)
                assert sorted(f.rule for f in findings) == sorted(f.rule for f in candidate.findings), (
                    vm.name, kind, candidate.target_host, candidate.target_datastore,
                )  # fmt: skip
                assert candidate.worst_first() == findings


# --- check_inventory() and object_findings() ----------------------------------------------------------------


def test_inventory_verdicts_agree_with_candidates(demo: Inventory) -> None:
    verdicts = check_inventory(demo)
    for vm in demo.vms:
        for kind in MigrationKind:
            ranked = candidates(vm.name, kind, demo)
            assert verdicts[vm.name].kinds[kind].targets == sum(c.ok for c in ranked), (vm.name, kind)


def test_inventory_verdict_says_why_not(demo: Inventory) -> None:
    verdicts = check_inventory(demo)
    gpu = verdicts["gpu-render-01"].kinds[VM]
    assert (
        not gpu.movable and gpu.blockers[0].rule == "VM-C1.dev" and gpu.blockers[0].targets == gpu.considered
    )
    build = verdicts["build-01"]
    assert build.movable_by == (STORAGE, WHOLE)
    assert build.kinds[VM].blockers[0].rule == "VM-C3"
    assert verdicts["web-01"].kinds[VM].blockers == ()  # filled only when nothing is possible


def test_object_marks(demo: Inventory) -> None:
    marks = object_findings(demo)
    assert marks[("vm", "gpu-render-01")].severity is Severity.ERROR
    assert marks[("vm", "build-01")].severity is Severity.WARNING  # whole machine still can
    assert marks[("vm", "build-01")].findings[0].rule == "VM-C3"
    assert ("vm", "web-01") not in marks
    assert [f.rule for f in marks[("host", "cna6")].findings] == ["VM-C2.3"]
    assert ("host", "cna1") not in marks
    assert [f.rule for f in marks[("datastore", "fusion-1")].findings] == ["ST-C4"]
    assert [f.rule for f in marks[("datastore", "san-lun7")].findings] == ["ST-C1"]
    assert ("datastore", "nfs-a") not in marks
