"""Concurrency rules: CC.vm (one migration per VM at a time, an error) and CC.host / CC.datastore /
CC.network (a spent budget makes the run queue: a warning, never a refusal)."""

from __future__ import annotations

from collections.abc import Mapping

from hotmig_tui.core.model import Inventory
from hotmig_tui.core.rules import catalog
from hotmig_tui.core.rules.costs import Resource, budget, costs
from hotmig_tui.core.rules.findings import Finding, Rule
from hotmig_tui.core.run import MigrationPlan

_RULE: dict[str, Rule] = {
    "host": catalog.HOST_SLOTS,
    "datastore": catalog.DATASTORE_SLOTS,
    "network": catalog.NETWORK_SLOTS,
}
_WHAT = {"host": "host {}", "datastore": "datastore {}", "network": "the migration network of {}"}


def busy(vm: str, in_flight: tuple[MigrationPlan, ...]) -> Finding | None:
    for other in in_flight:
        if other.vm == vm:
            where = other.target_host or other.target_datastore or "?"
            return catalog.BUSY.failed(
                f"{vm} already has a {other.kind.value} migration to {where} running or queued", (("vm", vm),)
            )
    return None


def queueing(
    plan: MigrationPlan, inventory: Inventory, in_use: Mapping[Resource, int], holders: Mapping[Resource, int]
) -> list[Finding]:
    """in_use: slots taken per resource by migrations in flight; holders: how many migrations hold each."""
    findings = []
    for resource, cost in costs(plan, inventory).items():
        taken = in_use.get(resource, 0)
        limit = budget(resource, inventory)
        if taken + cost <= limit:
            continue
        what, name = resource
        count = holders.get(resource, 0)
        findings.append(
            _RULE[what].failed(
                f"{_WHAT[what].format(name)} has {taken} of {limit} migration slots taken by {count} "
                f"migration{'s' if count != 1 else ''} running or queued; "
                f"this one needs {cost}, so it will queue",
                (("host" if what == "network" else what, name),),
            )
        )
    return findings
