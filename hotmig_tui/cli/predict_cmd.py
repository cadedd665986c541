"""`hotmig predict`: will it converge, how long, how much downtime, and what would finish it."""

from __future__ import annotations

import argparse

from hotmig_tui.cli.common import EXIT_OK, add_source_options, print_json, read_inventory, run_guarded
from hotmig_tui.cli.planning import add_run_options, add_target_options, options_from_args, plan_from_args, positive
from hotmig_tui.core.export import plain
from hotmig_tui.core.predict import LinkFacts, Prediction, predict
from hotmig_tui.core.units import MiB, fmt_bytes, fmt_rate, fmt_seconds


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="predict a migration before starting it",
                       description="Predict convergence, time, downtime and bytes of a planned migration.")
    add_source_options(p)
    add_target_options(p)
    add_run_options(p)
    p.add_argument("--link", metavar="MIB_S", type=positive(float, minimum=0.001),
                   help="measured link bandwidth in MiB/s (overrides none)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=lambda args: run_guarded(_predict(args)))


async def _predict(args: argparse.Namespace) -> int:
    inventory = await read_inventory(args)
    plan = plan_from_args(args, inventory, options_from_args(args))
    vm = inventory.vm(plan.vm)
    assert vm is not None
    link = LinkFacts.of(inventory.cluster_of(plan.destination), args.link * MiB if args.link else None)
    result = predict(vm, plan.kind, link, plan.options, disks=plan.disks)
    if args.json:
        data = plain(result)
        data["passes"] = data["passes"][:200]  # a run near its critical dirty rate can take thousands of passes
        print_json(data)
    else:
        print(render(result))
    return EXIT_OK


def render(p: Prediction) -> str:
    verdict = {True: "converges", False: "does NOT converge by plain pre-copy", None: "unknown"}[p.converges]
    lines = [f"{p.kind.value} migration: {verdict}", f"  {p.reason}"]
    rows = [
        ("iterations", p.iterations), ("total time", fmt_seconds(p.total_time) if p.total_time else None),
        ("downtime", fmt_seconds(p.downtime) if p.downtime is not None else None),
        ("memory sent", fmt_bytes(p.memory_bytes) if p.memory_bytes else None),
        ("disk sent", fmt_bytes(p.disk_bytes) if p.disk_bytes else None),
        ("pre-copy rate", fmt_rate(p.bandwidth) if p.bandwidth else None),
    ]
    lines += [f"  {k:<14} {v}" for k, v in rows if v is not None]
    if p.step:
        lines.append(f"  to finish: {p.step.text}")
    lines += [f"  assumed: {a}" for a in p.assumptions]
    return "\n".join(lines)
