"""CheckIndex: what the rules need about one inventory and context, computed once and shared by every check.

Checking every VM against every host would be millions of rule calls. Almost every finding depends on far
fewer things than (VM, target): the target's state, the two hosts' clusters, the VM's CPU mode and the
source's CPU, the VM's memory size, where its disks are. So findings are computed per such key, against all
targets at once, as a Row: one cell of findings per target host (or datastore), with a tally per cell and
bitmasks of the targets an error rules out. A check then concatenates a few cached cells, and "can this VM
move anywhere" is a handful of integer mask operations.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import ClassVar

from hotmig_tui.core.model import Cluster, CpuMode, Datastore, Disk, Host, Inventory, Vm
from hotmig_tui.core.rules import catalog, compute_rules, concurrency, network_rules, storage_rules, vm_rules
from hotmig_tui.core.rules.costs import Resource, costs, load
from hotmig_tui.core.rules.facts import CheckContext
from hotmig_tui.core.rules.findings import Finding, Severity, Status
from hotmig_tui.core.rules.moves import moved_disks
from hotmig_tui.core.run import MigrationKind, MigrationPlan

Cell = tuple[Finding, ...]
EMPTY: Cell = ()
# A cell's tally packs its error and warning counts in one int, so that tallies add up across rows.
ERROR_UNIT = 1 << 16


def tally(findings: Iterable[Finding]) -> int:
    total = 0
    for f in findings:
        if f.severity is Severity.ERROR and f.status is Status.FAILED:
            total += ERROR_UNIT
        elif f.severity is Severity.WARNING:
            total += 1
    return total


class Row:
    """One cell of findings per target (host or datastore, by index), with the targets errors rule out."""

    __slots__ = ("blocked", "by_rule", "cells", "tallies")

    def __init__(self, cells: Sequence[Cell]) -> None:
        self.cells: tuple[Cell, ...] = tuple(cells)
        self.blocked = 0  # bit i set: target i has an error
        self.by_rule: dict[str, int] = {}  # rule id -> the targets it rules out
        seen: dict[int, int] = {}  # cells are mostly shared: tally each distinct one once
        tallies = []
        for i, cell in enumerate(self.cells):
            if not cell:
                tallies.append(0)
                continue
            n = seen.get(id(cell))
            if n is None:
                n = seen[id(cell)] = tally(cell)
            tallies.append(n)
            if n >= ERROR_UNIT:
                self.blocked |= 1 << i
                for f in cell:
                    if f.blocks:
                        self.by_rule[f.rule] = self.by_rule.get(f.rule, 0) | 1 << i
        self.tallies: tuple[int, ...] = tuple(tallies)


def _cell(*findings: Finding | None) -> Cell:
    return tuple(f for f in findings if f is not None) or EMPTY


class CheckIndex:
    _recent: ClassVar[list[tuple[Inventory, CheckContext | None, CheckIndex]]] = []

    @classmethod
    def of(cls, inventory: Inventory, context: CheckContext | None = None) -> CheckIndex:
        """The index for this inventory and context, reused while both are the same objects."""
        for inv, ctx, index in cls._recent:
            if inv is inventory and ctx is context:
                return index
        index = cls(inventory, context)
        cls._recent.insert(0, (inventory, context, index))
        del cls._recent[4:]
        return index

    def __init__(self, inventory: Inventory, context: CheckContext | None = None) -> None:
        self.inventory = inventory
        self.context = context or CheckContext()
        self.hosts = inventory.hosts
        self.datastores = inventory.datastores
        self.host_ix = {h.name: i for i, h in enumerate(self.hosts)}
        self.ds_ix = {d.name: i for i, d in enumerate(self.datastores)}
        self.clusters: dict[str, Cluster] = {c.name: c for c in inventory.clusters}
        self.all_hosts = (1 << len(self.hosts)) - 1
        self.all_datastores = (1 << len(self.datastores)) - 1
        self.empty_host_row = Row([EMPTY] * len(self.hosts))
        self._rows: dict[tuple[object, ...], Row] = {}
        self._memo: dict[tuple[object, ...], Finding | None] = {}
        self._source_parts: dict[str, Cell] = {}
        self._space_cells: dict[tuple[int, int, int], Cell] = {}
        self._reach_union: dict[int, int] = {}
        self._after: dict[int, list[int | None]] = {}
        # Results computed from the index by other modules (the inventory verdicts), kept as long as it is.
        self.derived: dict[str, object] = {}

    # --- plain lookups -------------------------------------------------------------------------------------

    def cluster_of(self, host: Host) -> Cluster | None:
        return self.clusters.get(host.cluster)

    def datastore(self, name: str | None) -> Datastore | None:
        i = self.ds_ix.get(name) if name else None
        return None if i is None else self.datastores[i]

    @cached_property
    def ds_hosts(self) -> list[int]:
        """Per datastore: the hosts it is attached to, as a host mask."""
        return [sum(1 << self.host_ix[h] for h in set(d.hosts) if h in self.host_ix) for d in self.datastores]

    @cached_property
    def host_ds(self) -> list[int]:
        """Per host: the datastores attached to it, as a datastore mask."""
        masks = [0] * len(self.hosts)
        for di, mask in enumerate(self.ds_hosts):
            for hi in bits(mask):
                masks[hi] |= 1 << di
        return masks

    def reach_union(self, datastores: int) -> int:
        """The hosts that mount at least one of these datastores."""
        hosts = self._reach_union.get(datastores)
        if hosts is None:
            hosts = 0
            for di in bits(datastores):
                hosts |= self.ds_hosts[di]
            self._reach_union[datastores] = hosts
        return hosts

    def _once(self, key: tuple[object, ...], make: Callable[[], Finding | None]) -> Finding | None:
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    # --- context, folded once ------------------------------------------------------------------------------

    @cached_property
    def free_memory(self) -> list[tuple[int | None, float | None]]:
        """Per host: (free bytes, age of the probe) from a fresh probe, else the snapshot (age None)."""
        result: list[tuple[int | None, float | None]] = []
        for host in self.hosts:
            fact = self.context.fresh(self.context.memory_free.get(host.name))
            result.append((fact.value, fact.age_s) if fact else (host.memory_free, None))
        return result

    @cached_property
    def incoming_memory(self) -> dict[str, int]:
        incoming: dict[str, int] = {}
        for plan in self.context.in_flight:
            vm = self.inventory.vm(plan.vm)
            if vm and plan.target_host and plan.kind is not MigrationKind.STORAGE:
                incoming[plan.target_host] = incoming.get(plan.target_host, 0) + vm.memory
        return incoming

    @cached_property
    def incoming_space(self) -> dict[str, int]:
        incoming: dict[str, int] = {}
        for plan in self.context.in_flight:
            vm = self.inventory.vm(plan.vm)
            if vm and plan.target_datastore:
                size = sum(d.allocation for d in moved_disks(vm, plan.kind, plan.disks))
                incoming[plan.target_datastore] = incoming.get(plan.target_datastore, 0) + size
        return incoming

    @cached_property
    def slots(self) -> tuple[dict[Resource, int], dict[Resource, int]]:
        """(slots in use, migrations holding them) per resource, from the migrations in flight."""
        holders: dict[Resource, int] = {}
        for plan in self.context.in_flight:
            for resource in costs(plan, self.inventory):
                holders[resource] = holders.get(resource, 0) + 1
        return load(self.context.in_flight, self.inventory), holders

    def queueing(self, plan: MigrationPlan) -> list[Finding]:
        if not self.context.in_flight:
            return []
        in_use, holders = self.slots
        return concurrency.queueing(plan, self.inventory, in_use, holders)

    # --- findings that do not depend on the target ---------------------------------------------------------

    def vm_part(self, vm: Vm, kind: MigrationKind) -> Cell:
        found: list[Finding | None] = []
        if kind is not MigrationKind.STORAGE:
            prediction = self.context.predictions.get(vm.name)
            found += (vm_rules.running(vm), vm_rules.passthrough(vm), vm_rules.convergence(vm, prediction))
        if self.context.in_flight:
            found.append(concurrency.busy(vm.name, self.context.in_flight))
        return _cell(*found)

    def source_part(self, host: str) -> Cell:
        cell = self._source_parts.get(host)
        if cell is None:
            i = self.host_ix.get(host)
            if i is None:
                missing = f"the VM's host {host} is not in the inventory"
                cell = (catalog.PLAN.failed(missing, (("host", host),)),)
            else:
                cell = _cell(compute_rules.host_state(self.hosts[i], "source"))
            self._source_parts[host] = cell
        return cell

    def disk_part(self, disks: Iterable[Disk], live: bool) -> Cell:
        return tuple(
            f for d in disks for f in storage_rules.source_disk(d, self.datastore(d.datastore), live)
        )

    # --- rows over target hosts ----------------------------------------------------------------------------

    def host_rows(self, vm: Vm, kind: MigrationKind, moved: tuple[Disk, ...]) -> tuple[Row, Row, Row]:
        """The rows over target hosts for the VM: the host row (target state VM-C2.2/2.3, the host pair
        VM-C2.4/VM-C4/VM-T.2, CPU VM-C2.5), memory and CPUs (VM-C2.1), and VM-C3 for the disks that stay where
        they are (all of them for VM live; WM-N2 exempts the disks a whole machine moves). The VM's host must
        be in the inventory."""
        source = self.hosts[self.host_ix[vm.host]]
        pair = self.pair_row(source)
        cpu = self.cpu_row(vm.cpu_mode, vm.cpu_model, source)
        key = ("hosts", id(pair), id(cpu))
        hosts = self._rows.get(key)
        if hosts is None:
            target = self.target_row()
            cells = zip(target.cells, pair.cells, cpu.cells, strict=True)
            hosts = self._rows[key] = Row([a + b + c for a, b, c in cells])
        staying = vm.disks if kind is MigrationKind.VM else tuple(d for d in vm.disks if d not in moved)
        return hosts, self.memory_row(vm.memory, vm.vcpus), self.shared_row(staying)

    def _row(self, key: tuple[object, ...], build: Callable[[], Sequence[Cell]]) -> Row:
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = Row(build())
        return row

    def target_row(self) -> Row:
        return self._row(
            ("target",), lambda: [_cell(compute_rules.host_state(h, "target")) for h in self.hosts]
        )

    def pair_row(self, source: Host) -> Row:
        """VM-C2.4, VM-C4, VM-T.2. Without reachability probes these depend on the two clusters only, so the
        row is shared by every host of the source's cluster (its cell for the source itself is never used)."""
        reachable = self.context.reachable
        src_cluster = self.cluster_of(source)

        def build() -> list[Cell]:
            by_cluster: dict[str, Cell] = {}
            cells = []
            for target in self.hosts:
                dst_cluster = self.cluster_of(target)
                if src_cluster is None or dst_cluster is None:
                    cells.append(EMPTY)
                elif reachable:
                    cells.append(self._pair_cell(source, target, src_cluster, dst_cluster))
                else:
                    if dst_cluster.name not in by_cluster:
                        by_cluster[dst_cluster.name] = self._pair_cell(
                            source, target, src_cluster, dst_cluster
                        )
                    cells.append(by_cluster[dst_cluster.name])
            return cells

        return self._row(("pair", source.name if reachable else source.cluster), build)

    def _pair_cell(self, source: Host, target: Host, src: Cluster, dst: Cluster) -> Cell:
        return _cell(
            self._once(("overcommit", src.name, dst.name), lambda: compute_rules.overcommit_match(src, dst)),
            self._reachability(source, target, src, dst),
            self._once(("mgmt", src.name, dst.name), lambda: network_rules.management_network(src, dst)),
        )

    def _reachability(self, source: Host, target: Host, src: Cluster, dst: Cluster) -> Finding | None:
        ctx = self.context
        raw = (ctx.reachable.get((source.name, target.name)), ctx.reachable.get((target.name, source.name)))
        if raw == (None, None):
            return self._once(("unprobed", src.name, dst.name), lambda: network_rules.unprobed(src, dst))
        facts = tuple(ctx.fresh(f) for f in raw)
        return network_rules.reachability(source, target, facts, any(ctx.stale(f) for f in raw))

    def cpu_row(self, mode: CpuMode | None, model: str | None, source: Host) -> Row:
        """Keyed by the source's CPU and cluster, not its name: hosts alike share the row."""
        src_cluster = self.cluster_of(source)
        key = ("cpu", mode, model, source.cpu_model, source.cpu_vendor, source.cluster)
        return self._row(
            key,
            lambda: [
                _cell(compute_rules.cpu_compatible(mode, model, source, t, src_cluster, self.cluster_of(t)))
                for t in self.hosts
            ],
        )

    def memory_row(self, memory: int, vcpus: int) -> Row:
        def build() -> list[Cell]:
            cells = []
            for host, (free, age) in zip(self.hosts, self.free_memory, strict=True):
                cluster = self.cluster_of(host)
                incoming = self.incoming_memory.get(host.name, 0)
                overcommit = bool(cluster and cluster.memory_overcommit)
                cells.append(
                    _cell(
                        compute_rules.target_memory(memory, host, overcommit, free, incoming, age),
                        compute_rules.target_cpus(vcpus, host),
                    )
                )
            return cells

        return self._row(("memory", memory, vcpus), build)

    def memory_after(self, memory: int) -> list[int | None]:
        """Per host: free memory left once the VM is there (None when unknown)."""
        after = self._after.get(memory)
        if after is None:
            after = self._after[memory] = [
                None if free is None else free - self.incoming_memory.get(h.name, 0) - memory
                for h, (free, _) in zip(self.hosts, self.free_memory, strict=True)
            ]
        return after

    def shared_row(self, disks: tuple[Disk, ...]) -> Row:
        """VM-C3 for these disks against every host."""
        if not disks:
            return self.empty_host_row
        probes = self.context.disk_visible
        key = (
            "shared",
            *((d.target, d.datastore, d.path if probes or not d.datastore else "") for d in disks),
        )

        def build() -> list[Cell]:
            stores = [self.datastore(d.datastore) for d in disks]
            # Without probes a disk's finding depends only on whether the target mounts its datastore.
            by_mount: dict[tuple[int, bool], Finding | None] = {}
            cells = []
            for t in self.hosts:
                found = []
                for n, (d, ds) in enumerate(zip(disks, stores, strict=True)):
                    probe = self.context.fresh(probes.get((t.name, d.path))) if probes else None
                    if probe is None:
                        mounted = (n, ds is not None and t.name in ds.hosts)
                        if mounted not in by_mount:
                            by_mount[mounted] = storage_rules.shared_storage(d, ds, t, None)
                        found.append(by_mount[mounted])
                    else:
                        found.append(storage_rules.shared_storage(d, ds, t, probe))
                cells.append(_cell(*found))
            return cells

        return self._row(key, build)

    # --- rows over target datastores -----------------------------------------------------------------------

    def datastore_row(self, moved: tuple[Disk, ...], live: bool) -> Row:
        key = ("datastores", live, *((d.target, d.datastore, d.transient, d.snapshots) for d in moved))
        return self._row(
            key, lambda: [tuple(storage_rules.target_datastore(moved, ds, live)) for ds in self.datastores]
        )

    def space(self, allocation: int, capacity: int, di: int) -> Cell:
        key = (allocation, capacity, di)
        cell = self._space_cells.get(key)
        if cell is None:
            ds = self.datastores[di]
            incoming = self.incoming_space.get(ds.name, 0)
            cell = self._space_cells[key] = _cell(
                storage_rules.datastore_space(allocation, capacity, ds, incoming)
            )
        return cell

    def space_after(self, allocation: int, di: int) -> int | None:
        ds = self.datastores[di]
        return None if ds.free is None else ds.free - self.incoming_space.get(ds.name, 0) - allocation

    @cached_property
    def _by_free_space(self) -> tuple[list[int], list[int]]:
        """Datastores with a known free space, ascending, and the masks of the first k of them."""
        known = sorted(
            (d.free - self.incoming_space.get(d.name, 0), i)
            for i, d in enumerate(self.datastores)
            if d.free is not None
        )
        prefix, mask = [0], 0
        for _, i in known:
            mask |= 1 << i
            prefix.append(mask)
        return [free for free, _ in known], prefix

    def space_blocked(self, allocation: int) -> int:
        """The datastores too small for this allocation (ST-D.space errors), as a mask."""
        frees, prefix = self._by_free_space
        return prefix[bisect.bisect_left(frees, allocation)]


def bits(mask: int) -> Iterable[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low
