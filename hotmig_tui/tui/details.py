"""The details pane's content: every fact about the selected object, and what the constraint rules say about
it (its findings with rule ids, severities and remedies; for a VM, a verdict per kind and the predictor's
verdict for VM live), as Rich renderables."""

from __future__ import annotations

from collections import Counter

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from hotmig_tui.core.model import Cluster, Datastore, Host, Inventory, Vm
from hotmig_tui.core.planning import prediction_for
from hotmig_tui.core.run import MigrationKind
from hotmig_tui.core.units import fmt_bytes, fmt_rate
from hotmig_tui.tui.checks import InventoryChecks, mark_kind
from hotmig_tui.tui.findings_view import Palette, findings_table, prediction_summary, verdict_line
from hotmig_tui.tui.refs import Ref
from hotmig_tui.tui.widgets.inventory_tree import MARK_SYMBOL

# What a missing mark means, per kind of object: only that nothing rules the object out as a whole (the
# rules report problems only; a target may still fail a rule for one particular VM).
NO_MARK = {
    "vm": "no rule rules out every live-migration target",
    "host": "no rule rules it out as a migration target",
    "datastore": "no rule rules out moving disks to or from it live",
}


def render_details(
    inventory: Inventory,
    ref: Ref | None,
    checks: InventoryChecks | None = None,
    palette: Palette | None = None,
) -> RenderableType:
    """``checks``: the rules' results for this inventory, None while they are being computed."""
    if ref is None or ref.kind == "group":
        return _overview(inventory)
    obj = {"cluster": inventory.cluster, "host": inventory.host, "vm": inventory.vm,
           "datastore": inventory.datastore}[ref.kind](ref.name)
    if obj is None:
        return Text(f"{ref.kind} {ref.name} is no longer in the inventory", style="italic")
    if isinstance(obj, Vm):
        facts = _vm(inventory, obj)
    elif isinstance(obj, Host):
        facts = _host(inventory, obj)
    elif isinstance(obj, Cluster):
        facts = _cluster(inventory, obj)
    else:
        facts = _datastore(inventory, obj)
    return Group(facts, Text(""), _checks(inventory, ref, obj, checks, palette or Palette()))


def _checks(
    inv: Inventory, ref: Ref, obj: object, checks: InventoryChecks | None, palette: Palette
) -> RenderableType:
    title = Text("Constraints", style="bold")
    if checks is None:
        return Group(title, Text("checking…", style="dim italic"))
    if checks.inventory is not inv:  # a newer snapshot is being checked: say what these results are
        title.append(" (rechecking; below: as of the previous snapshot)", style="dim italic")
    if checks.error:
        return Group(title, Text(f"the checks failed: {checks.error}", style=palette.error))
    parts: list[RenderableType] = [title]
    if isinstance(obj, Vm):
        parts += _vm_verdicts(inv, obj, checks, palette)
    if isinstance(obj, Cluster):
        parts.append(_cluster_marks(inv, obj, checks, palette))
        return Group(*parts)
    mark = checks.mark(ref)
    if mark is None:
        parts.append(Text(NO_MARK.get(ref.kind, ""), style="dim"))
    else:
        parts.append(findings_table(mark.findings, palette))
    return Group(*parts)


def _vm_verdicts(inv: Inventory, vm: Vm, checks: InventoryChecks, palette: Palette) -> list[RenderableType]:
    verdict = checks.verdicts.get(vm.name)
    lines: list[RenderableType] = []
    if verdict is not None:
        lines += [verdict_line(v, palette) for v in verdict.kinds.values()]
    if vm.running:
        prediction = prediction_for(inv, vm, MigrationKind.VM)
        lines.append(Text.assemble(("VM live prediction: ", "bold"), prediction_summary(prediction, palette)))
    else:
        lines.append(Text(f"VM live prediction: none (the VM is {vm.state.value})", style="dim"))
    return lines


def _cluster_marks(inv: Inventory, c: Cluster, checks: InventoryChecks, palette: Palette) -> Text:
    """How many of the cluster's hosts and VMs are marked in the tree, so a collapsed cluster still tells."""
    counts: Counter[tuple[str, str]] = Counter()
    for host in inv.hosts_in(c.name):
        for key in [("host", host.name), *(("vm", vm.name) for vm in inv.vms_on(host.name))]:
            mark = checks.objects.get(key)
            if mark and (kind := mark_kind(mark)):
                counts[key[0], kind] += 1
    if not counts:
        return Text("no host or VM of this cluster is marked", style="dim")
    text = Text("marked: ")
    for i, ((what, kind), n) in enumerate(sorted(counts.items())):
        noun = {"vm": "VM", "host": "host"}[what] + ("s" if n != 1 else "")
        text.append(", " if i else "")
        text.append(f"{MARK_SYMBOL[kind]} {n} {noun}", style=palette.mark(kind))
    return text


def _facts(title: str, rows: list[tuple[str, object]]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.title = title
    table.title_justify = "left"
    table.title_style = "bold"
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value if isinstance(value, Text) else Text(str(value)))
    return table


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _unknown(value: object, fmt=str) -> str:  # type: ignore[no-untyped-def]
    return "unknown" if value is None else fmt(value)


def _overview(inv: Inventory) -> RenderableType:
    running = sum(vm.running for vm in inv.vms)
    return _facts(
        "Datacenter",
        [
            ("source", inv.source or "?"),
            ("clusters", len(inv.clusters)),
            ("hosts", len(inv.hosts)),
            ("datastores", len(inv.datastores)),
            ("VMs", f"{len(inv.vms)} ({running} running)"),
        ],
    )


def _cluster(inv: Inventory, c: Cluster) -> RenderableType:
    hosts = inv.hosts_in(c.name)
    vms = [vm for h in hosts for vm in inv.vms_on(h.name)]
    memory = sum(h.memory_total or 0 for h in hosts)
    free = sum(h.memory_free or 0 for h in hosts)
    return _facts(
        f"Cluster {c.name}",
        [
            ("description", c.description or "-"),
            ("memory overcommit", _yes(c.memory_overcommit)),
            ("IMC (CPU compat.)", c.cpu_compat_mode or "off"),
            ("migration network", c.migration_network or "none: the management network carries migrations"),
            ("migration bandwidth", fmt_rate(c.migration_bandwidth) if c.migration_bandwidth else "unknown"),
            ("hosts", f"{len(hosts)}: {', '.join(h.name for h in hosts)}"),
            ("CPU models", ", ".join(sorted({h.cpu_model or "?" for h in hosts})) or "-"),
            ("memory", f"{fmt_bytes(memory)} total, {fmt_bytes(free)} free"),
            ("VMs", f"{len(vms)} ({sum(v.running for v in vms)} running)"),
        ],
    )


def _host(inv: Inventory, h: Host) -> RenderableType:
    vms = inv.vms_on(h.name)
    running = [v for v in vms if v.running]
    facts = _facts(
        f"Host {h.name}",
        [
            ("state", h.state.value + (f" ({h.error})" if h.error else "")),
            ("cluster", h.cluster),
            ("libvirt URI", h.uri),
            ("SSH", h.ssh or "-"),
            ("migration address", h.address or "from the URI"),
            ("peer URI", h.migration_uri or "-"),
            ("CPU", f"{_unknown(h.cpu_model)} ({_unknown(h.cpu_vendor)}), {_unknown(h.cpu_count)} cpus"),
            ("memory", f"{fmt_bytes(h.memory_total)} total, {fmt_bytes(h.memory_free)} free"),
            ("VMs", f"{len(vms)} ({len(running)} running, {fmt_bytes(sum(v.memory for v in running))} in use)"),
            ("datastores", ", ".join(ds.name for ds in inv.datastores_of(h.name)) or "-"),
            ("hypervisor", h.hypervisor or "unknown"),
            ("host UUID", h.uuid or "unknown"),
        ],
    )
    return facts


def _datastore(inv: Inventory, ds: Datastore) -> RenderableType:
    vms = inv.vms_using(ds.name)
    used = f" ({ds.used / ds.capacity:.0%} used)" if ds.used is not None and ds.capacity else ""
    return _facts(
        f"Datastore {ds.name}",
        [
            ("type", ds.pool_type + (" (distributed block)" if ds.distributed_block else "")),
            ("shared", _yes(ds.shared)),
            ("virtualised", _yes(ds.virtualised) + ("" if ds.virtualised else ": not an image datastore")),
            ("capacity", f"{fmt_bytes(ds.capacity)}, {fmt_bytes(ds.free)} free{used}"),
            ("hosts", ", ".join(ds.hosts)),
            ("libvirt pool", ds.pool or ds.name),
            ("path", ds.path or "-"),
            ("VMs", f"{len(vms)}: {', '.join(v.name for v in vms[:12])}{' ...' if len(vms) > 12 else ''}"),
        ],
    )


def _vm(inv: Inventory, vm: Vm) -> RenderableType:
    host = inv.host(vm.host)
    dirty = "unknown"
    if vm.dirty_rate is not None:
        dirty = f"{fmt_rate(vm.dirty_rate)} ({'measured' if vm.dirty_rate_measured else 'expected'})"
    devices = ", ".join(f"{d.kind.value.upper()} {d.address}" + (f" ({d.description})" if d.description else "")
                        for d in vm.passthrough)
    facts = _facts(
        f"VM {vm.name}",
        [
            ("state", vm.state.value + ("" if vm.persistent else ", transient domain")),
            ("host", f"{vm.host} ({host.cluster})" if host else vm.host),
            ("vCPUs / memory", f"{vm.vcpus} / {fmt_bytes(vm.memory)}"),
            ("CPU", (vm.cpu_mode.value if vm.cpu_mode else "hypervisor default")
             + (f" {vm.cpu_model}" if vm.cpu_model else "")),
            ("workload", vm.workload or "-"),
            ("dirty rate", dirty),
            ("working set", fmt_bytes(vm.working_set) if vm.working_set is not None else "unknown"),
            ("passthrough", devices or "none"),
            ("UUID", vm.uuid or "-"),
        ],
    )
    disks = Table(title="Disks", title_justify="left", title_style="bold", box=None, padding=(0, 1),
                  show_edge=False, header_style="dim")
    for column in ("disk", "datastore", "size", "allocated", "flags"):
        disks.add_column(column, overflow="fold")
    for d in vm.disks:
        flags = [d.format]
        if d.linked_clone:
            flags.append("linked clone")
        if d.shareable:
            flags.append("shareable")
        if d.transient:
            flags.append("transient")
        if d.cache_mode not in ("default", "none"):
            flags.append(f"cache={d.cache_mode}")
        if d.snapshots:
            flags.append(f"{d.snapshots} snapshots")
        disks.add_row(d.target, d.datastore or "(no pool)", fmt_bytes(d.capacity), fmt_bytes(d.allocation),
                      ", ".join(flags))
        disks.add_row("", Text(d.path, style="dim"), "", "", "")
    return Group(facts, Text(""), disks)
