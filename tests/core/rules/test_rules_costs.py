"""The concurrency cost model (DESIGN.md §7) and the CC rules built on it: queue, never refuse."""

from __future__ import annotations

from hotmig_tui.core.model import Inventory
from hotmig_tui.core.rules import CheckContext, Severity, budget, costs, fits, full, load
from hotmig_tui.core.run import MigrationPlan
from tests.core.rules.helpers import STORAGE, VM, WHOLE, findings_for, one, plan


def test_costs_of_a_vm_live_migration(demo: Inventory) -> None:
    assert costs(plan(demo, "web-01", VM, "cna2"), demo) == {
        ("host", "cna1"): 1, ("host", "cna2"): 1,
        ("network", "cna1"): 1, ("network", "cna2"): 1,
        ("datastore", "nfs-a"): 1,
    }  # fmt: skip


def test_costs_of_a_storage_migration(demo: Inventory) -> None:
    assert costs(plan(demo, "web-01", STORAGE, None, "local-cna1"), demo) == {
        ("host", "cna1"): 4, ("datastore", "nfs-a"): 16, ("datastore", "local-cna1"): 16,
    }  # fmt: skip


def test_costs_of_a_whole_machine_migration(demo: Inventory) -> None:
    assert costs(plan(demo, "build-01", WHOLE, "cna2", "local-cna2"), demo) == {
        ("host", "cna1"): 4, ("host", "cna2"): 4,
        ("network", "cna1"): 1, ("network", "cna2"): 1,
        ("datastore", "local-cna1"): 16, ("datastore", "local-cna2"): 16,
    }  # fmt: skip


def test_budgets(demo: Inventory) -> None:
    assert budget(("host", "cna1"), demo) == 8
    assert budget(("datastore", "nfs-a"), demo) == 128
    assert budget(("network", "cna1"), demo) == 8  # prod-a: 10 Gbit/s
    assert budget(("network", "cna4"), demo) == 4  # prod-b: 1 Gbit/s
    assert budget(("network", "dev1"), demo) == 4  # dev: no migration network


def test_fits_and_full(demo: Inventory) -> None:
    two_copies = [
        plan(demo, "web-01", STORAGE, None, "local-cna1"),
        plan(demo, "build-01", STORAGE, None, "nfs-a"),
    ]
    in_use = load(two_copies, demo)
    assert in_use[("host", "cna1")] == 8 and in_use[("datastore", "nfs-a")] == 32
    third = plan(demo, "web-02", VM, "cna2")
    assert not fits(in_use, third, demo)
    assert full(in_use, third, demo) == [("host", "cna1")]
    assert fits(in_use, plan(demo, "api-01", VM, "cna3"), demo)


def test_a_full_host_makes_the_run_queue_with_a_warning(demo: Inventory) -> None:
    running = (
        plan(demo, "web-01", STORAGE, None, "local-cna1"),
        plan(demo, "build-01", STORAGE, None, "nfs-a"),
    )
    findings = findings_for(demo, "web-02", VM, "cna2", context=CheckContext(in_flight=running))
    finding = one(findings, "CC.host")
    assert finding.severity is Severity.WARNING and not finding.blocks
    assert finding.message == (
        "host cna1 has 8 of 8 migration slots taken by 2 migrations running or queued; this one needs 1, "
        "so it will queue"
    )


def test_a_full_migration_network_queues(demo: Inventory) -> None:
    # four migrations cna4 -> cna5 fill both hosts' 1 Gbit/s migration networks (budget 4)
    vms = ("erp-app-01", "lic-server-01", "cluster-fs-a", "proxy-01")
    context = CheckContext(in_flight=tuple(plan(demo, vm, VM, "cna5") for vm in vms))
    findings = [
        f for f in findings_for(demo, "hpc-01", VM, "cna5", context=context) if f.rule == "CC.network"
    ]
    assert sorted(f.message.split(" has ")[0] for f in findings) == [
        "the migration network of cna4",
        "the migration network of cna5",
    ]
    assert "4 of 4 migration slots taken by 4 migrations" in findings[0].message


def test_a_full_datastore_queues(demo: Inventory) -> None:
    vms = ("web-01", "web-02", "web-03", "api-01", "api-02", "db-02", "mon-01", "huge-analytics-01")
    running = tuple(MigrationPlan(vm, STORAGE, "x", None, "nfs-a") for vm in vms)
    context = CheckContext(in_flight=running)
    finding = one(findings_for(demo, "build-01", STORAGE, None, "nfs-a", context=context), "CC.datastore")
    assert "datastore nfs-a has 128 of 128 migration slots taken by 8 migrations" in finding.message


def test_a_vm_already_migrating_is_an_error(demo: Inventory) -> None:
    context = CheckContext(in_flight=(plan(demo, "web-01", VM, "cna2"),))
    finding = one(findings_for(demo, "web-01", VM, "cna3", context=context), "CC.vm")
    assert finding.blocks and "web-01 already has a vm migration to cna2" in finding.message


def test_no_migrations_in_flight_no_concurrency_findings(demo: Inventory) -> None:
    assert not [f for f in findings_for(demo, "web-01", VM, "cna2") if f.rule.startswith("CC.")]
