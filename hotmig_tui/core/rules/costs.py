"""The concurrency cost model (DESIGN.md §7, vCenter's): each migration costs slots on the hosts, datastores
and migration networks it uses; a resource whose budget is spent makes the next migration queue, not fail.

Pure functions, shared by the checker (a warning that the run will queue) and the engine (admission)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hotmig_tui.core.model import Inventory
from hotmig_tui.core.rules.moves import moved_disks
from hotmig_tui.core.run import MigrationKind, MigrationPlan

# ("host", host) | ("datastore", datastore) | ("network", host): the host's migration network interface.
Resource = tuple[str, str]

HOST_BUDGET = 8
DATASTORE_BUDGET = 128
NETWORK_BUDGET = 4  # below 10 Gbit/s
FAST_NETWORK_BUDGET = 8
FAST_NETWORK = 10e9 / 8  # bytes/s

HOST_COST = {MigrationKind.VM: 1, MigrationKind.STORAGE: 4, MigrationKind.WHOLE: 4}
DATASTORE_COST = {MigrationKind.VM: 1, MigrationKind.STORAGE: 16, MigrationKind.WHOLE: 16}
NETWORK_COST = {MigrationKind.VM: 1, MigrationKind.STORAGE: 0, MigrationKind.WHOLE: 1}


def costs(plan: MigrationPlan, inventory: Inventory) -> dict[Resource, int]:
    kind = plan.kind
    hosts = dict.fromkeys(h for h in (plan.source, plan.target_host) if h)
    result: dict[Resource, int] = {("host", h): HOST_COST[kind] for h in hosts}
    if NETWORK_COST[kind]:
        result.update({("network", h): NETWORK_COST[kind] for h in hosts})
    vm = inventory.vm(plan.vm)
    moved = moved_disks(vm, kind, plan.disks) if vm else ()
    if kind is MigrationKind.VM:
        touched = [d.datastore for d in vm.disks] if vm else []
    else:
        touched = [d.datastore for d in moved] + [plan.target_datastore]
    for name in dict.fromkeys(n for n in touched if n):
        result[("datastore", name)] = DATASTORE_COST[kind]
    return result


def budget(resource: Resource, inventory: Inventory) -> int:
    what, name = resource
    if what == "host":
        return HOST_BUDGET
    if what == "datastore":
        return DATASTORE_BUDGET
    cluster = inventory.cluster_of(name)
    bandwidth = cluster.migration_bandwidth if cluster else None
    return FAST_NETWORK_BUDGET if bandwidth is not None and bandwidth >= FAST_NETWORK else NETWORK_BUDGET


def load(plans: Iterable[MigrationPlan], inventory: Inventory) -> dict[Resource, int]:
    """Slots in use by these (running or queued) migrations, per resource."""
    total: dict[Resource, int] = {}
    for plan in plans:
        for resource, cost in costs(plan, inventory).items():
            total[resource] = total.get(resource, 0) + cost
    return total


def full(in_use: Mapping[Resource, int], plan: MigrationPlan, inventory: Inventory) -> list[Resource]:
    """The resources whose budget this plan would overrun; empty when it can start now."""
    return [
        resource
        for resource, cost in costs(plan, inventory).items()
        if in_use.get(resource, 0) + cost > budget(resource, inventory)
    ]


def fits(in_use: Mapping[Resource, int], plan: MigrationPlan, inventory: Inventory) -> bool:
    return not full(in_use, plan, inventory)
