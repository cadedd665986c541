"""Checking one planned migration, and ranking every candidate target of a VM."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

from hotmig_tui.core.model import Inventory, Vm
from hotmig_tui.core.rules import catalog, storage_rules, vm_rules
from hotmig_tui.core.rules.facts import CheckContext
from hotmig_tui.core.rules.findings import Finding
from hotmig_tui.core.rules.index import ERROR_UNIT, Cell, CheckIndex, bits, tally
from hotmig_tui.core.rules.moves import moved_disks
from hotmig_tui.core.run import MigrationKind, MigrationPlan


class Candidate(NamedTuple):
    """One target for a VM: a host (VM live), a datastore (storage), or a host with its best datastore (whole
    machine), with every finding the move would raise. (A NamedTuple: a large inventory makes millions.)"""

    kind: MigrationKind
    target_host: str | None
    target_datastore: str | None
    findings: tuple[Finding, ...]  # grouped by rule family; worst_first() orders them as check() does
    errors: int
    warnings: int
    memory_after: int | None  # target host's free memory once the VM is there (VM live, whole machine)
    space_after: int | None  # target datastore's free space once the disks are there (storage, whole machine)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def worst_first(self) -> list[Finding]:
        return worst_first(self.findings)


def check(plan: MigrationPlan, inventory: Inventory, context: CheckContext | None = None) -> list[Finding]:
    """Every finding for one planned migration, worst first. When none blocks (Finding.blocks), it may start
    once the user has confirmed the warnings."""
    index = CheckIndex.of(inventory, context)
    vm = inventory.vm(plan.vm)
    problems = _plan_problems(plan, vm, index)
    if problems or vm is None:
        return problems
    kind = plan.kind
    findings = [*index.vm_part(vm, kind), *index.source_part(vm.host)]
    findings += vm_rules.placement(vm, plan.source, plan.target_host)
    moved = moved_disks(vm, kind, plan.disks)
    if plan.target_host and plan.target_host != vm.host:
        ti = index.host_ix[plan.target_host]
        for row in index.host_rows(vm, kind, moved):
            findings += row.cells[ti]
    if kind is not MigrationKind.VM:
        assert plan.target_datastore is not None
        di = index.ds_ix[plan.target_datastore]
        live = kind is MigrationKind.WHOLE or vm.running
        findings += index.disk_part(moved, live)
        findings += index.datastore_row(moved, live).cells[di]
        findings += index.space(sum(d.allocation for d in moved), sum(d.capacity for d in moved), di)
        host = index.hosts[index.host_ix[plan.target_host or vm.host]]
        if finding := storage_rules.datastore_host(index.datastores[di], host):
            findings.append(finding)
    findings += index.queueing(plan)
    return worst_first(findings)


def candidates(
    vm: str | Vm, kind: MigrationKind, inventory: Inventory, context: CheckContext | None = None
) -> list[Candidate]:
    """Every target for the VM, best first: no errors, then fewest warnings, then most headroom (ties keep
    the inventory's order).

    VM live: every other host. Storage: every datastore (the VM stays on its host). Whole machine: every other
    host, each with the datastore that suits it best among those it mounts (fewest errors and warnings, then
    most free space); check() judges any other pairing."""
    index = CheckIndex.of(inventory, context)
    found = inventory.vm(vm) if isinstance(vm, str) else vm
    if found is None:
        raise KeyError(f"unknown VM {vm!r}")
    if found.host not in index.host_ix:
        return []
    if kind is MigrationKind.VM:
        ranked = _host_candidates(index, found)
    elif kind is MigrationKind.STORAGE:
        ranked = _datastore_candidates(index, found)
    else:
        ranked = _whole_candidates(index, found)
    ranks = [rank for rank, _ in ranked]
    return [ranked[i][1] for i in sorted(range(len(ranked)), key=ranks.__getitem__)]


def plan_for(vm: Vm, candidate: Candidate) -> MigrationPlan:
    return MigrationPlan(vm.name, candidate.kind, vm.host, candidate.target_host, candidate.target_datastore)


def worst_first(findings: Cell | list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.severity, catalog.ORDER[f.rule]))


def _plan_problems(plan: MigrationPlan, vm: Vm | None, index: CheckIndex) -> list[Finding]:
    problems = []
    if vm is None:
        problems.append(f"VM {plan.vm} is not in the inventory")
    elif vm.host not in index.host_ix:
        problems.append(f"{vm.name}'s host {vm.host} is not in the inventory")
    needs_host = plan.kind is not MigrationKind.STORAGE
    if needs_host and not plan.target_host:
        problems.append(f"a {plan.kind.value} migration needs a target host")
    elif plan.target_host and plan.target_host not in index.host_ix:
        problems.append(f"target host {plan.target_host} is not in the inventory")
    elif not needs_host and plan.target_host and vm and plan.target_host != vm.host:
        problems.append(
            "a storage migration keeps the VM on its host: to move both, plan a whole-machine migration"
        )
    if plan.kind is not MigrationKind.VM and not plan.target_datastore:
        problems.append(f"a {plan.kind.value} migration needs a target datastore")
    elif plan.target_datastore and plan.target_datastore not in index.ds_ix:
        problems.append(f"target datastore {plan.target_datastore} is not in the inventory")
    if vm is not None and plan.disks:
        unknown = sorted(set(plan.disks) - {d.target for d in vm.disks})
        if unknown:
            problems.append(f"{vm.name} has no disk {', '.join(unknown)}")
    return [catalog.PLAN.failed(p, (("vm", plan.vm),)) for p in problems]


# Each builder returns (rank, candidate) pairs; a rank orders by errors, warnings, headroom unknown, then
# most headroom (the builders of one call all use one form of rank: an int or a tuple).
_Ranked = list[tuple[Any, Candidate]]
_HALF = 1 << 63
# Candidate(...) without the Python-level __new__ frame, for the per-host loop.
_candidate: Callable[[tuple[object, ...]], Candidate] = partial(tuple.__new__, Candidate)


def _host_candidates(index: CheckIndex, vm: Vm) -> _Ranked:
    kind = MigrationKind.VM
    base = index.vm_part(vm, kind) + index.source_part(vm.host)
    base_tally = tally(base)
    queueing = bool(index.context.in_flight)
    source = index.host_ix[vm.host]
    r0, r1, r2 = index.host_rows(vm, kind, ())
    ranked: _Ranked = []
    for i, host, a, b, c, na, nb, nc, after in zip(
        range(len(index.hosts)), index.hosts,
        r0.cells, r1.cells, r2.cells, r0.tallies, r1.tallies, r2.tallies,
        index.memory_after(vm.memory), strict=True,
    ):  # fmt: skip
        if i == source:
            continue
        findings = base + a + b + c
        n = base_tally + na + nb + nc
        if queueing:
            extra = tuple(index.queueing(MigrationPlan(vm.name, kind, vm.host, host.name)))
            findings, n = findings + extra, n + tally(extra)
        errors, warnings = divmod(n, ERROR_UNIT)
        # One int orders like (errors, warnings, headroom unknown, most headroom): this loop runs per host
        # per VM, and comparing ints is what keeps a sort of 200 candidates cheap.
        rank = ((n << 1 | (after is None)) << 64) + _HALF - (after or 0)
        ranked.append((rank, _candidate((kind, host.name, None, findings, errors, warnings, after, None))))
    return ranked


def _datastore_candidates(index: CheckIndex, vm: Vm) -> _Ranked:
    kind = MigrationKind.STORAGE
    moved = vm.disks
    live = vm.running
    base = index.vm_part(vm, kind) + index.source_part(vm.host) + index.disk_part(moved, live)
    host = index.hosts[index.host_ix[vm.host]]
    allocation, capacity = sum(d.allocation for d in moved), sum(d.capacity for d in moved)
    row = index.datastore_row(moved, live)
    ranked: _Ranked = []
    for di, ds in enumerate(index.datastores):
        findings = base + row.cells[di] + index.space(allocation, capacity, di)
        if finding := storage_rules.datastore_host(ds, host):
            findings += (finding,)
        findings += tuple(index.queueing(MigrationPlan(vm.name, kind, vm.host, None, ds.name)))
        errors, warnings = divmod(tally(findings), ERROR_UNIT)
        after = index.space_after(allocation, di)
        candidate = Candidate(kind, None, ds.name, findings, errors, warnings, None, after)
        ranked.append(((errors, warnings, after is None, -(after or 0)), candidate))
    return ranked


def _whole_candidates(index: CheckIndex, vm: Vm) -> _Ranked:
    kind = MigrationKind.WHOLE
    if not index.datastores:
        return []
    moved = vm.disks
    base = index.vm_part(vm, kind) + index.source_part(vm.host) + index.disk_part(moved, True)
    allocation, capacity = sum(d.allocation for d in moved), sum(d.capacity for d in moved)
    ds_row = index.datastore_row(moved, True)
    ds_cells = [cell + index.space(allocation, capacity, di) for di, cell in enumerate(ds_row.cells)]
    space_after = [index.space_after(allocation, di) for di in range(len(index.datastores))]
    ds_rank = [
        (*divmod(tally(cell), ERROR_UNIT), -(space_after[di] or 0)) for di, cell in enumerate(ds_cells)
    ]
    rows = index.host_rows(vm, kind, moved)
    after = index.memory_after(vm.memory)
    source = index.host_ix[vm.host]
    ranked: _Ranked = []
    for i, host in enumerate(index.hosts):
        if i == source:
            continue
        mounted = list(bits(index.host_ds[i])) or range(len(index.datastores))
        di = min(mounted, key=ds_rank.__getitem__)
        findings = base + tuple(f for row in rows for f in row.cells[i]) + ds_cells[di]
        if finding := storage_rules.datastore_host(index.datastores[di], host):
            findings += (finding,)
        ds = index.datastores[di].name
        findings += tuple(index.queueing(MigrationPlan(vm.name, kind, vm.host, host.name, ds)))
        errors, warnings = divmod(tally(findings), ERROR_UNIT)
        candidate = Candidate(kind, host.name, ds, findings, errors, warnings, after[i], space_after[di])
        rank = (errors, warnings, after[i] is None, -(after[i] or 0), -(space_after[di] or 0))
        ranked.append((rank, candidate))
    return ranked
