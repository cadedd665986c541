"""`hotmig migrate`: check, confirm, run, and print one progress line (or JSON object) per sample.

Exit 0 when the migration is done, 1 when it failed, was aborted or was refused by a check, 2 for bad usage.
Ctrl-C aborts the run (the VM stays on its source) and waits for the outcome.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Any

from hotmig_tui.cli.check_cmd import finding_dict, finding_line
from hotmig_tui.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_source_options,
    load_backend,
    print_json,
    run_guarded,
)
from hotmig_tui.cli.planning import (
    add_run_options,
    add_target_options,
    options_from_args,
    plan_from_args,
    positive,
)
from hotmig_tui.cli.probing import probed_context
from hotmig_tui.core.describe import outcome_summary, sample_facts
from hotmig_tui.core.export import plain
from hotmig_tui.core.rules import check
from hotmig_tui.core.run import LogLine, MigrationPlan, Outcome, PhaseChange, Sample
from hotmig_tui.engine import Engine, RunFinished, RunUpdated
from hotmig_tui.history.audit import AuditLog
from hotmig_tui.history.store import History


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("migrate", help="run a live migration", description=__doc__)
    add_source_options(p)
    add_target_options(p)
    add_run_options(p)
    p.add_argument("--speed", type=positive(float),
                   default=1.0, help="simulated datacenter: run X times faster than real")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true", help="one JSON object per line: samples, phases, log, result")
    p.set_defaults(func=lambda args: run_guarded(_migrate(args)))


async def _migrate(args: argparse.Namespace) -> int:
    if args.speed <= 0:
        raise UsageError("--speed must be positive")
    options = options_from_args(args)
    backend = load_backend(args, speed=args.speed)
    await backend.connect()
    engine: Engine | None = None
    try:
        inventory = backend.snapshot()
        plan = plan_from_args(args, inventory, options)
        context = await probed_context(backend, inventory, plan)
        findings = check(plan, inventory, context)
        if not _confirmed(args, plan, findings):
            return EXIT_FAILED
        # The engine checks again just before starting, with the same probe facts.
        engine = Engine(backend, History(), AuditLog(), context=lambda _plan: context)
        return await _run(engine, plan, args.json)
    finally:
        if engine is not None:
            await engine.close()
        await backend.close()


def _confirmed(args: argparse.Namespace, plan: MigrationPlan, findings: list[Any]) -> bool:
    blocking = [f for f in findings if f.blocks]
    out = sys.stderr if args.json else sys.stdout
    if findings and not args.json:
        print("\n".join(finding_line(f) for f in findings), file=out)
    if blocking:
        if args.json:
            print_json({"type": "result", "outcome": "refused", "findings": [finding_dict(f) for f in findings]})
        else:
            print(f"refused: {len(blocking)} constraint{'s' if len(blocking) > 1 else ''} would make it fail", file=out)
        return False
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError("no terminal to confirm on: pass --yes to start without asking")
    where = f"{plan.source} → {plan.target_host or plan.source}" + (
        f" (disks to {plan.target_datastore})" if plan.target_datastore else "")
    warn = f" with {len(findings)} warning{'s' if len(findings) > 1 else ''}" if findings else ""
    answer = input(f"Start {plan.kind.value} migration of {plan.vm}, {where}{warn}? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


async def _run(engine: Engine, plan: MigrationPlan, as_json: bool) -> int:
    events = engine.events()
    handle = engine.submit(plan)
    loop = asyncio.get_running_loop()
    with _abort_on_interrupt(loop, lambda: asyncio.ensure_future(engine.abort(handle))):
        async for event in events:
            if event.handle is not handle:
                continue
            if isinstance(event, RunUpdated):
                _print_update(event.update, as_json)
            elif isinstance(event, RunFinished):
                break
    outcome = handle.outcome
    assert outcome is not None
    _print_result(outcome, handle.id, as_json)
    return EXIT_OK if outcome.ok else EXIT_FAILED


class _abort_on_interrupt:  # a context manager, named for how it reads at the call site
    def __init__(self, loop: asyncio.AbstractEventLoop, abort: Any) -> None:
        self.loop, self.abort = loop, abort

    def __enter__(self) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            self.loop.add_signal_handler(signal.SIGINT, self._interrupted)

    def _interrupted(self) -> None:
        print("interrupted: aborting the migration (the VM stays on its source)...", file=sys.stderr)
        self.abort()

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            self.loop.remove_signal_handler(signal.SIGINT)


def _print_update(update: Any, as_json: bool) -> None:
    if as_json:
        kind = {Sample: "sample", PhaseChange: "phase", LogLine: "log"}[type(update)]
        print_json({"type": kind, **plain(update)})
        return
    stamp = f"[{update.t:7.1f}s]"
    if isinstance(update, PhaseChange):
        print(f"{stamp} == {update.phase.value.upper()} {update.detail}", flush=True)
    elif isinstance(update, LogLine):
        print(f"{stamp} {update.level:<7} {update.text}", flush=True)
    else:
        print(f"{stamp} {progress_line(update)}", flush=True)


def progress_line(s: Sample) -> str:
    return "  ".join([f"{s.phase.value:<9}", *sample_facts(s)])


def _print_result(o: Outcome, run_id: str, as_json: bool) -> None:
    result = {
        "type": "result", "run": run_id, "outcome": o.phase.value, "ok": o.ok,
        "cause": o.cause.value if o.cause else None, "cause_text": o.cause.text if o.cause else None,
        "error": o.error, "vm_host": o.vm_host, "vm_paused": o.vm_paused, "downtime": o.downtime,
        "total_time": o.total_time, "iterations": o.iterations, "bytes": o.bytes_sent,
        "memory_bytes": o.memory_bytes, "disk_bytes": o.disk_bytes, "postcopy": o.postcopy,
    }
    if as_json:
        print_json(result)
        return
    print(outcome_summary(o))
