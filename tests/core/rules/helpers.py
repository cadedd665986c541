"""Shared set-up for the rule tests: the demo datacenter, plans, and small stand-ins."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

from hotmig_tui.core.inventory_file import parse_inventory
from hotmig_tui.core.model import (
    SHARED_POOL_TYPES,
    VIRTUALISED_POOL_TYPES,
    Cluster,
    Datastore,
    Disk,
    Host,
    HostState,
    Inventory,
)
from hotmig_tui.core.rules import CheckContext, Finding, check
from hotmig_tui.core.run import MigrationKind, MigrationPlan
from hotmig_tui.core.units import GiB

VM, STORAGE, WHOLE = MigrationKind.VM, MigrationKind.STORAGE, MigrationKind.WHOLE


def demo_inventory() -> Inventory:
    text = (files("hotmig_tui.backends.sim") / "demo.toml").read_text()
    return parse_inventory(text, "demo.toml").inventory


@dataclass(frozen=True)
class Verdict:
    """A stand-in for the predictor's result (only what VM-T reads)."""

    converges: bool | None
    reason: str


def plan(
    inventory: Inventory, vm: str, kind: MigrationKind, host: str | None = None, datastore: str | None = None
) -> MigrationPlan:
    found = inventory.vm(vm)
    assert found is not None, vm
    return MigrationPlan(vm, kind, found.host, host, datastore)


def findings_for(
    inventory: Inventory,
    vm: str,
    kind: MigrationKind,
    host: str | None = None,
    datastore: str | None = None,
    context: CheckContext | None = None,
) -> list[Finding]:
    return check(plan(inventory, vm, kind, host, datastore), inventory, context)


def rules(findings: list[Finding], blocking_only: bool = False) -> set[str]:
    return {f.rule for f in findings if f.blocks or not blocking_only}


def one(findings: list[Finding], rule: str) -> Finding:
    found = [f for f in findings if f.rule == rule]
    assert len(found) == 1, (rule, [f.message for f in findings])
    return found[0]


def host(name: str = "t1", cluster: str = "c", **facts: object) -> Host:
    defaults: dict[str, object] = dict(
        state=HostState.CONNECTED,
        cpu_model="Skylake-Server",
        cpu_vendor="Intel",
        cpu_count=32,
        memory_total=256 * GiB,
        memory_free=128 * GiB,
    )
    defaults.update(facts)
    return Host(name, cluster, f"qemu+ssh://root@{name}/system", **defaults)  # type: ignore[arg-type]


def cluster(name: str = "c", **settings: object) -> Cluster:
    return Cluster(name, **settings)  # type: ignore[arg-type]


def datastore(
    name: str = "ds", pool_type: str = "netfs", hosts: tuple[str, ...] = ("t1",), **facts: object
) -> Datastore:
    shared = facts.pop("shared", pool_type in SHARED_POOL_TYPES or len(hosts) > 1)
    virtualised = facts.pop("virtualised", pool_type in VIRTUALISED_POOL_TYPES)
    return Datastore(name, pool_type, bool(shared), bool(virtualised), hosts, **facts)  # type: ignore[arg-type]


def disk(target: str = "vda", on: str | None = "ds", **facts: object) -> Disk:
    defaults: dict[str, object] = dict(capacity=40 * GiB, allocation=10 * GiB)
    defaults.update(facts)
    return Disk(target, f"/{on}/{target}.qcow2", on, **defaults)  # type: ignore[arg-type]
