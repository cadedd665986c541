"""The details pane's content: every fact about the selected object, as Rich renderables."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from hotmig_tui.core.model import Cluster, Datastore, Host, Inventory, Vm
from hotmig_tui.core.units import fmt_bytes, fmt_rate
from hotmig_tui.tui.refs import Ref


def render_details(inventory: Inventory, ref: Ref | None) -> RenderableType:
    if ref is None or ref.kind == "group":
        return _overview(inventory)
    obj = {"cluster": inventory.cluster, "host": inventory.host, "vm": inventory.vm,
           "datastore": inventory.datastore}[ref.kind](ref.name)
    if obj is None:
        return Text(f"{ref.kind} {ref.name} is no longer in the inventory", style="italic")
    if isinstance(obj, Vm):
        return _vm(inventory, obj)
    if isinstance(obj, Host):
        return _host(inventory, obj)
    if isinstance(obj, Cluster):
        return _cluster(inventory, obj)
    return _datastore(inventory, obj)


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
