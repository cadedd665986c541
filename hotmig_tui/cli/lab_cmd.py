"""`hotmig lab up|status|down`: the real multi-host libvirt/QEMU lab on this machine."""

from __future__ import annotations

import argparse
import json
import sys
import time

from hotmig_tui.cli.common import EXIT_FAILED, EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lab", help="a real libvirt/QEMU lab of several hosts on this machine (root)",
                       description="Build and drive a real multi-host libvirt/QEMU lab in network namespaces.")
    lab_sub = p.add_subparsers(title="lab commands", metavar="ACTION", required=True)
    up = lab_sub.add_parser("up", help="install what is needed and start the lab (safe to run twice)")
    up.add_argument("--hosts", type=int, default=3, help="number of hosts, at least 3 (default 3)")
    up.set_defaults(func=_up)
    status = lab_sub.add_parser("status", help="what runs, where")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_status)
    down = lab_sub.add_parser("down", help="stop exactly what `lab up` started and remove the namespaces")
    down.set_defaults(func=_down)


def _up(args: argparse.Namespace) -> int:
    from hotmig_tui import lab

    if args.hosts < 3:
        print("hotmig: error: the lab needs at least 3 hosts (--hosts 3 or more)", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        info = lab.up(hosts=args.hosts, log=lambda line: print(line, flush=True))
    except lab.LabError as exc:
        print(f"hotmig lab: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"lab up in {time.monotonic() - started:.1f} s; inventory: {lab.inventory_path()}")
    del info
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    from hotmig_tui import lab

    try:
        status = lab.status()
    except lab.LabError as exc:
        print(f"hotmig lab: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(status.to_dict() if hasattr(status, "to_dict") else str(status)))
    else:
        print(status)
    return EXIT_OK


def _down(args: argparse.Namespace) -> int:
    from hotmig_tui import lab

    try:
        lab.down(log=lambda line: print(line, flush=True))
    except lab.LabError as exc:
        print(f"hotmig lab: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
