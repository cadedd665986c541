"""`hotmig inventory`: everything the backend knows, as JSON or readable tables."""

from __future__ import annotations

import argparse

from hotmig_tui.cli.common import EXIT_OK, add_source_options, print_json, read_inventory, run_guarded
from hotmig_tui.cli.table import format_table
from hotmig_tui.core.export import inventory_to_dict
from hotmig_tui.core.model import Inventory
from hotmig_tui.core.units import fmt_bytes, fmt_rate


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inventory", help="print clusters, hosts, datastores and VMs",
                       description="Print the inventory: clusters, hosts, datastores, VMs (sizes in bytes in JSON).")
    add_source_options(p)
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(func=lambda args: run_guarded(_inventory(args)))


async def _inventory(args: argparse.Namespace) -> int:
    inventory = await read_inventory(args)
    if args.json:
        print_json(inventory_to_dict(inventory))
    else:
        print(render_tables(inventory))
    return EXIT_OK


def render_tables(inv: Inventory) -> str:
    def yes(flag: bool) -> str:
        return "yes" if flag else "no"

    clusters = [
        (c.name, yes(c.memory_overcommit), c.cpu_compat_mode or "off", c.migration_network or "management",
         fmt_rate(c.migration_bandwidth) if c.migration_bandwidth else "?", len(inv.hosts_in(c.name)))
        for c in inv.clusters
    ]
    hosts = [
        (h.name, h.cluster, h.state, h.cpu_model or "?", h.cpu_count or "?", fmt_bytes(h.memory_total),
         fmt_bytes(h.memory_free), len(inv.vms_on(h.name)), h.error or "")
        for h in inv.hosts
    ]
    datastores = [
        (d.name, d.pool_type, yes(d.shared), yes(d.virtualised), fmt_bytes(d.capacity), fmt_bytes(d.free),
         ",".join(d.hosts))
        for d in inv.datastores
    ]
    vms = [
        (v.name, v.host, v.state, v.vcpus, fmt_bytes(v.memory), fmt_rate(v.dirty_rate) if v.dirty_rate else "?",
         ",".join(sorted({d.datastore or "?" for d in v.disks})), ",".join(p.kind for p in v.passthrough))
        for v in inv.vms
    ]
    return "\n\n".join([
        format_table("Clusters", ("name", "overcommit", "IMC", "migration network", "bandwidth", "hosts"), clusters),
        format_table("Hosts", ("name", "cluster", "state", "CPU", "cpus", "memory", "free", "VMs", "error"), hosts),
        format_table("Datastores", ("name", "type", "shared", "virtualised", "capacity", "free", "hosts"),
                     datastores),
        format_table("VMs", ("name", "host", "state", "vcpus", "memory", "dirty rate", "datastores", "passthrough"),
                     vms),
    ])
