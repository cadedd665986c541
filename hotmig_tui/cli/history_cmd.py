"""`hotmig history`: the runs recorded in the history database."""

from __future__ import annotations

import argparse
import time

from hotmig_tui.cli.common import EXIT_OK, print_json
from hotmig_tui.cli.table import format_table
from hotmig_tui.core.units import fmt_bytes, fmt_seconds
from hotmig_tui.history.store import History


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="past migrations", description="List recorded migrations, newest first.")
    p.add_argument("--limit", type=_limit, default=50, help="at most this many runs (1..1000000)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_history)


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"must be 1..1000000, got {text!r}")
    return value


def _history(args: argparse.Namespace) -> int:
    history = History()
    try:
        records = history.runs(args.limit)
    finally:
        history.close()
    if args.json:
        print_json({"runs": [r.to_dict() for r in records]})
        return EXIT_OK
    rows = []
    for r in records:
        o = r.outcome or {}
        rows.append((
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started_at)), r.vm, r.kind, r.source,
            r.target_host or r.target_datastore or "", r.phase, r.cause or "", r.vm_host or "?",
            fmt_seconds(o["downtime"]) if o.get("downtime") is not None else "",
            fmt_seconds(o["total_time"]) if o.get("total_time") is not None else "",
            fmt_bytes(o["bytes_sent"]) if o.get("bytes_sent") else "", r.backend,
        ))
    print(format_table("Migrations", ("started", "VM", "kind", "from", "to", "outcome", "cause", "VM on",
                                      "downtime", "time", "sent", "backend"), rows))
    return EXIT_OK
