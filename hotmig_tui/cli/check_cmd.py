"""`hotmig check`: the constraints a migration would fail, for one target or for every candidate."""

from __future__ import annotations

import argparse
from typing import Any

from hotmig_tui.cli.common import EXIT_FAILED, EXIT_OK, add_source_options, load_backend, print_json, run_guarded
from hotmig_tui.cli.planning import add_target_options, plan_from_args, require_vm
from hotmig_tui.cli.probing import probed_context
from hotmig_tui.core.planning import plan_context
from hotmig_tui.core.rules import Finding, candidates, check
from hotmig_tui.core.run import MigrationKind, MigrationOptions

SYMBOL = {"error": "✖", "warning": "▲", "info": "·"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="which constraints a migration would fail",
                       description="Check a planned migration against every constraint (exit 1 when any error).")
    add_source_options(p)
    add_target_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=lambda args: run_guarded(_check(args)))


def finding_dict(f: Finding) -> dict[str, Any]:
    return {"rule": f.rule, "article": f.article, "severity": f.severity.label, "status": f.status.value,
            "message": f.message, "remedy": f.remedy, "objects": [list(o) for o in f.objects]}


def finding_line(f: Finding) -> str:
    unknown = " (unknown)" if f.status.value == "unknown" else ""
    return f"  {SYMBOL[f.severity.label]} {f.rule:<12} {f.message}{unknown}\n      remedy: {f.remedy}"


async def _check(args: argparse.Namespace) -> int:
    backend = load_backend(args)
    await backend.connect()
    kind = MigrationKind(args.kind)
    targeted = bool(args.to) or (kind is MigrationKind.STORAGE and bool(args.datastore))
    try:
        inventory = backend.snapshot()
        plan = plan_from_args(args, inventory, MigrationOptions()) if targeted else None
        context = await probed_context(backend, inventory, plan) if plan else None
    finally:
        await backend.close()
    if plan is not None and context is not None:
        findings = check(plan, inventory, context)
        ok = not any(f.blocks for f in findings)
        if args.json:
            print_json({"ok": ok, "findings": [finding_dict(f) for f in findings]})
        else:
            where = plan.target_host or plan.target_datastore
            print(f"{kind.value} migration of {plan.vm} to {where}: {'possible' if ok else 'blocked'}")
            print("\n".join(finding_line(f) for f in findings) or "  no findings")
        return EXIT_OK if ok else EXIT_FAILED
    require_vm(args.vm, inventory)
    ranked = candidates(args.vm, kind, inventory, plan_context(inventory, require_vm(args.vm, inventory), kind))
    if args.json:
        print_json({"ok": any(c.ok for c in ranked), "candidates": [
            {"target_host": c.target_host, "target_datastore": c.target_datastore, "ok": c.ok,
             "errors": c.errors, "warnings": c.warnings,
             "findings": [finding_dict(f) for f in c.worst_first()]} for c in ranked]})
    else:
        print(f"{kind.value} migration of {args.vm}: {sum(c.ok for c in ranked)} of {len(ranked)} targets possible")
        for c in ranked:
            target = " / ".join(t for t in (c.target_host, c.target_datastore) if t)
            print(f"{'✔' if c.ok else '✖'} {target}: {c.errors} errors, {c.warnings} warnings")
            for f in c.worst_first():
                print(finding_line(f))
    return EXIT_OK if any(c.ok for c in ranked) else EXIT_FAILED
