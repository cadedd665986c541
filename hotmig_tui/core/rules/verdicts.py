"""The whole inventory at a glance: which VMs can move at all, by which kinds, and why not; which hosts,
datastores and VMs deserve a mark in the inventory tree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from hotmig_tui.core.model import Disk, Inventory, Vm
from hotmig_tui.core.rules import catalog, storage_rules
from hotmig_tui.core.rules.facts import CheckContext
from hotmig_tui.core.rules.findings import Finding, ObjectKey, Severity
from hotmig_tui.core.rules.index import CheckIndex, Row, bits
from hotmig_tui.core.run import MigrationKind


@dataclass(frozen=True, slots=True)
class Blocker:
    """One reason targets are ruled out: the rule, how many targets ("host"s or "datastore"s) it rules out,
    and one of its findings as an example."""

    rule: str
    targets: int
    unit: str
    example: Finding


@dataclass(frozen=True, slots=True)
class KindVerdict:
    kind: MigrationKind
    targets: int  # targets with no error (hosts, datastores, or hosts that mount a suitable datastore)
    considered: int  # targets looked at
    blockers: tuple[Blocker, ...]  # why not, most targets first; filled only when targets == 0

    @property
    def movable(self) -> bool:
        return self.targets > 0


@dataclass(frozen=True)
class VmVerdict:
    vm: str
    kinds: dict[MigrationKind, KindVerdict]

    @property
    def movable_by(self) -> tuple[MigrationKind, ...]:
        return tuple(k for k, v in self.kinds.items() if v.movable)


@dataclass(frozen=True, slots=True)
class ObjectMark:
    severity: Severity  # the worst among the findings
    findings: tuple[Finding, ...]


def check_inventory(inventory: Inventory, context: CheckContext | None = None) -> dict[str, VmVerdict]:
    index = CheckIndex.of(inventory, context)
    if "verdicts" not in index.derived:
        index.derived["verdicts"] = {vm.name: verdict(index, vm) for vm in inventory.vms}
    return dict(cast("dict[str, VmVerdict]", index.derived["verdicts"]))


def verdict(index: CheckIndex, vm: Vm) -> VmVerdict:
    return VmVerdict(
        vm.name,
        {
            MigrationKind.VM: _live(index, vm),
            MigrationKind.STORAGE: _storage(index, vm),
            MigrationKind.WHOLE: _whole(index, vm),
        },
    )


def object_findings(inventory: Inventory, context: CheckContext | None = None) -> dict[ObjectKey, ObjectMark]:
    """Marks for the inventory tree; objects with nothing to mark are absent.

    A VM is marked when it cannot be live-migrated anywhere: an error when no whole-machine migration can
    move it either, a warning when only a whole-machine migration can (its disks are not on shared storage
    the other hosts reach). A host is marked when it cannot be a target (disconnected, rebooting,
    maintenance); a datastore when storage cannot be moved live to or from it (raw LUN, distributed block)."""
    index = CheckIndex.of(inventory, context)
    marks: dict[ObjectKey, ObjectMark] = {}
    for vm, result in check_inventory(inventory, context).items():
        live, whole = result.kinds[MigrationKind.VM], result.kinds[MigrationKind.WHOLE]
        if live.movable:
            continue
        findings = {b.example.rule: b.example for b in live.blockers}
        if not whole.movable:
            # Add only what rules out every whole-machine target: the rest is detail of the live verdict.
            decisive = [b.example for b in whole.blockers if b.targets == whole.considered]
            findings.update({f.rule: f for f in decisive if f.rule not in findings})
        severity = Severity.WARNING if whole.movable else Severity.ERROR
        marks[("vm", vm)] = ObjectMark(severity, tuple(findings.values()))
    for host, cell in zip(index.hosts, index.target_row().cells, strict=True):
        if cell:
            marks[("host", host.name)] = ObjectMark(max(f.severity for f in cell), cell)
    for ds in index.datastores:
        found = tuple(storage_rules.target_datastore((), ds, live=True))
        if found:
            marks[("datastore", ds.name)] = ObjectMark(max(f.severity for f in found), found)
    return marks


def _blocks(findings: list[Finding] | tuple[Finding, ...]) -> list[Finding]:
    return [f for f in findings if f.blocks]


def _live(index: CheckIndex, vm: Vm) -> KindVerdict:
    kind = MigrationKind.VM
    base = _blocks([*index.vm_part(vm, kind), *index.source_part(vm.host)])
    source = index.host_ix.get(vm.host)
    if source is None:
        return KindVerdict(kind, 0, 0, _base_blockers(base, 0, "host"))
    considered = index.all_hosts & ~(1 << source)
    rows = index.host_rows(vm, kind, ())
    ok = 0 if base else considered & ~_blocked(rows)
    return _verdict(
        kind,
        ok,
        considered,
        lambda: [
            *_base_blockers(base, considered.bit_count(), "host"),
            *_row_blockers(rows, considered, "host"),
        ],
    )


def _storage(index: CheckIndex, vm: Vm) -> KindVerdict:
    kind = MigrationKind.STORAGE
    moved = vm.disks
    base = _blocks(
        [*index.vm_part(vm, kind), *index.source_part(vm.host), *index.disk_part(moved, vm.running)]
    )
    considered = index.all_datastores
    source = index.host_ix.get(vm.host)
    if source is None:
        return KindVerdict(
            kind, 0, considered.bit_count(), _base_blockers(base, considered.bit_count(), "datastore")
        )
    row = index.datastore_row(moved, vm.running)
    allocation = sum(d.allocation for d in moved)
    too_small = index.space_blocked(allocation)
    unmounted = considered & ~index.host_ds[source]
    ok = 0 if base else considered & ~row.blocked & ~too_small & ~unmounted

    def why() -> list[Blocker]:
        host = index.hosts[source]
        return [
            *_base_blockers(base, considered.bit_count(), "datastore"),
            *_row_blockers([row], considered, "datastore"),
            *_mask_blocker(too_small, "datastore", lambda di: _space(index, moved, di)),
            *_mask_blocker(
                unmounted, "datastore", lambda di: storage_rules.datastore_host(index.datastores[di], host)
            ),
        ]

    return _verdict(kind, ok, considered, why)


def _whole(index: CheckIndex, vm: Vm) -> KindVerdict:
    kind = MigrationKind.WHOLE
    moved = vm.disks
    base = _blocks([*index.vm_part(vm, kind), *index.source_part(vm.host), *index.disk_part(moved, True)])
    source = index.host_ix.get(vm.host)
    if source is None:
        return KindVerdict(kind, 0, 0, _base_blockers(base, 0, "host"))
    considered = index.all_hosts & ~(1 << source)
    rows = index.host_rows(vm, kind, moved)
    ds_row = index.datastore_row(moved, True)
    too_small = index.space_blocked(sum(d.allocation for d in moved))
    hosts_ok = considered & ~_blocked(rows)
    ds_ok = index.all_datastores & ~ds_row.blocked & ~too_small
    ok = 0 if base else hosts_ok & index.reach_union(ds_ok)

    def why() -> list[Blocker]:
        blockers = [
            *_base_blockers(base, considered.bit_count(), "host"),
            *_row_blockers(rows, considered, "host"),
            *_row_blockers([ds_row], index.all_datastores, "datastore"),
            *_mask_blocker(too_small, "datastore", lambda di: _space(index, moved, di)),
        ]
        if not base and hosts_ok and ds_ok:
            host = index.hosts[next(iter(bits(hosts_ok)))]
            ds = index.datastores[next(iter(bits(ds_ok)))]
            example = storage_rules.datastore_host(ds, host)
            if example:
                blockers.append(Blocker(example.rule, hosts_ok.bit_count(), "host", example))
        return blockers

    return _verdict(kind, ok, considered, why)


def _verdict(kind: MigrationKind, ok: int, considered: int, why: Callable[[], list[Blocker]]) -> KindVerdict:
    targets = ok.bit_count()
    blockers: tuple[Blocker, ...] = ()
    if not targets:
        blockers = tuple(sorted(why(), key=lambda b: (-b.targets, catalog.ORDER[b.rule])))
    return KindVerdict(kind, targets, considered.bit_count(), blockers)


def _blocked(rows: list[Row]) -> int:
    mask = 0
    for row in rows:
        mask |= row.blocked
    return mask


def _base_blockers(base: list[Finding], targets: int, unit: str) -> list[Blocker]:
    return [Blocker(f.rule, targets, unit, f) for f in base]


def _row_blockers(rows: list[Row], considered: int, unit: str) -> list[Blocker]:
    blockers = []
    for row in rows:
        for rule, mask in row.by_rule.items():
            mask &= considered
            if mask:
                first = next(iter(bits(mask)))
                example = next(f for f in row.cells[first] if f.rule == rule and f.blocks)
                blockers.append(Blocker(rule, mask.bit_count(), unit, example))
    return blockers


def _mask_blocker(mask: int, unit: str, example: Callable[[int], Finding | None]) -> list[Blocker]:
    if not mask:
        return []
    finding = example(next(iter(bits(mask))))
    return [Blocker(finding.rule, mask.bit_count(), unit, finding)] if finding else []


def _space(index: CheckIndex, moved: tuple[Disk, ...], di: int) -> Finding | None:
    cell = index.space(sum(d.allocation for d in moved), sum(d.capacity for d in moved), di)
    return cell[0] if cell else None
