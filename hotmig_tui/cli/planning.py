"""Turning command-line arguments into a MigrationPlan (shared by check, predict and migrate)."""

from __future__ import annotations

import argparse
import difflib
import math

from hotmig_tui.cli.common import UsageError
from hotmig_tui.core.model import Inventory, Vm
from hotmig_tui.core.run import MigrationKind, MigrationOptions, MigrationPlan, TimeoutAction
from hotmig_tui.core.units import MiB

KINDS = [k.value for k in MigrationKind]


def add_target_options(p: argparse.ArgumentParser, target_required: bool = False) -> None:
    p.add_argument("vm", metavar="VM", help="the VM to move")
    p.add_argument("--kind", choices=KINDS, default="vm",
                   help="vm: VM live (memory, shared storage); storage: disks only; whole: VM and disks")
    p.add_argument("--to", metavar="HOST", required=target_required, help="target host (vm and whole kinds)")
    p.add_argument("--datastore", metavar="DS", help="target datastore (storage and whole kinds)")
    p.add_argument("--disk", metavar="TARGET", action="append", default=[],
                   help="storage/whole: only this disk (vda, ...); repeat for more; default: all")


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-downtime", metavar="MS", type=positive(float), help="max downtime in ms (QEMU: 300)")
    p.add_argument("--bandwidth", metavar="MIB_S", type=positive(float, minimum=0.001), help="bandwidth limit in MiB/s")
    p.add_argument("--timeout", metavar="S", type=positive(float), help="give up (see --timeout-action) after S s")
    p.add_argument("--timeout-action", choices=[a.value for a in TimeoutAction], default="abort",
                   help="at the timeout: abort (VM stays on its source), pause (pause to complete), postcopy")
    p.add_argument("--auto-converge", action="store_true", help="allow vCPU throttling when it does not converge")
    p.add_argument("--postcopy", action="store_true", help="allow switching to post-copy")
    p.add_argument("--no-policy", action="store_true", help="never change anything by itself during the run")
    p.add_argument("--remove-source", action="store_true", help="storage/whole: delete the source images after")


def positive(kind, minimum=0.0):  # type: ignore[no-untyped-def]
    def parse(text: str):  # type: ignore[no-untyped-def]
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {text!r}")
        return value
    return parse


def options_from_args(args: argparse.Namespace) -> MigrationOptions:
    if args.timeout_action != "abort" and args.timeout is None:
        raise UsageError("--timeout-action needs --timeout S")
    if args.timeout_action == "postcopy" and not args.postcopy:
        raise UsageError("--timeout-action postcopy needs --postcopy (post-copy must be allowed from the start)")
    return MigrationOptions(
        max_downtime=args.max_downtime / 1000 if args.max_downtime else None,
        bandwidth=args.bandwidth * MiB if args.bandwidth else None,
        timeout=args.timeout,
        timeout_action=TimeoutAction(args.timeout_action),
        auto_converge=args.auto_converge,
        postcopy=args.postcopy,
        remove_source=args.remove_source,
        policy=not args.no_policy,
    )


def require_vm(name: str, inventory: Inventory) -> Vm:
    vm = inventory.vm(name)
    if vm is None:
        raise UsageError(f"no VM named {name!r}{_did_you_mean(name, [v.name for v in inventory.vms])}")
    return vm


def plan_from_args(args: argparse.Namespace, inventory: Inventory, options: MigrationOptions) -> MigrationPlan:
    vm = require_vm(args.vm, inventory)
    kind = MigrationKind(args.kind)
    if kind is MigrationKind.STORAGE:
        if args.to and args.to != vm.host:
            raise UsageError("storage migration keeps the VM on its host: leave out --to, or use --kind whole")
        if not args.datastore:
            raise UsageError("storage migration needs --datastore DS")
    else:
        if not args.to:
            raise UsageError(f"{kind.value} migration needs --to HOST")
        if kind is MigrationKind.WHOLE and not args.datastore:
            raise UsageError("whole-machine migration needs --datastore DS (a datastore the target host reaches)")
        if kind is MigrationKind.VM and args.datastore:
            raise UsageError("VM live migration leaves the disks where they are: use --kind whole to move them too")
    if args.to and inventory.host(args.to) is None:
        raise UsageError(f"no host named {args.to!r}{_did_you_mean(args.to, [h.name for h in inventory.hosts])}")
    if args.datastore and inventory.datastore(args.datastore) is None:
        names = [d.name for d in inventory.datastores]
        raise UsageError(f"no datastore named {args.datastore!r}{_did_you_mean(args.datastore, names)}")
    unknown = set(args.disk) - {d.target for d in vm.disks}
    if unknown:
        raise UsageError(f"{vm.name} has no disk {', '.join(sorted(unknown))} (it has "
                         f"{', '.join(d.target for d in vm.disks)})")
    return MigrationPlan(
        vm=vm.name,
        kind=kind,
        source=vm.host,
        target_host=None if kind is MigrationKind.STORAGE else args.to,
        target_datastore=args.datastore,
        disks=tuple(args.disk),
        options=options,
    )


def _did_you_mean(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def plan_from_spec(spec: str, inventory: Inventory, options: MigrationOptions) -> MigrationPlan:
    """`VM@HOST` (VM live), `VM@HOST/DATASTORE` (whole machine), `VM/DATASTORE` (storage)."""
    vm_part, _, rest = spec.partition("@")
    if rest:
        host, _, datastore = rest.partition("/")
        kind = MigrationKind.WHOLE if datastore else MigrationKind.VM
    else:
        vm_part, _, datastore = spec.partition("/")
        host, kind = "", MigrationKind.STORAGE
        if not datastore:
            raise UsageError(f"--start {spec!r}: expected VM@HOST, VM@HOST/DATASTORE or VM/DATASTORE")
    args = argparse.Namespace(vm=vm_part, kind=kind.value, to=host or None, datastore=datastore or None, disk=[])
    return plan_from_args(args, inventory, options)
