"""What every subcommand shares: choosing the inventory, loading it, printing errors with exit code 2."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from pathlib import Path
from typing import Any

from hotmig_tui.backends.base import Backend
from hotmig_tui.backends.select import Source, open_backend
from hotmig_tui.core.inventory_file import InventoryError
from hotmig_tui.core.model import Inventory
from hotmig_tui.paths import config_dir

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: printed as one clear line, exit code 2."""


def add_source_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--demo", action="store_true", help="the built-in simulated datacenter")
    group.add_argument("--lab", action="store_true", help="the real libvirt lab started by `hotmig lab up`")
    group.add_argument("--inventory", metavar="FILE", type=Path, help="an inventory file (TOML)")
    parser.add_argument("--scale", metavar="HOSTS,VMS", type=scale_type,
                        help="a generated simulated datacenter of that size (e.g. 200,10000)")
    parser.add_argument("--seed", type=int, default=1, help="seed for generated inventories and simulated noise")
    parser.add_argument("--ssh", action="store_true",
                        help="with --lab: reach the lab's hosts over SSH only (libvirt through hotmig's own tunnels)")
    parser.add_argument("--accept-new-host-keys", action="store_true",
                        help="SSH: trust a host seen for the first time, recording its key in hotmig's known_hosts "
                             "and the audit log; a changed key is always refused")


def scale_type(text: str) -> tuple[int, int]:
    try:
        hosts, vms = (int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HOSTS,VMS such as 200,10000, got {text!r}") from None
    if hosts < 1 or vms < 0 or hosts > 100_000 or vms > 1_000_000:
        raise argparse.ArgumentTypeError(f"HOSTS must be 1..100000 and VMS 0..1000000, got {text!r}")
    return hosts, vms


def user_inventory_path() -> Path:
    return config_dir() / "inventory.toml"


def source_from_args(args: argparse.Namespace, speed: float = 1.0) -> Source:
    if args.scale and (args.lab or args.inventory):
        raise UsageError("--scale generates a simulated datacenter: use it alone or with --demo")
    if getattr(args, "accept_new_host_keys", False):  # the user's explicit choice, for this process only
        from hotmig_tui.backends.ssh import allow_first_contact
        from hotmig_tui.history.audit import AuditLog

        allow_first_contact(AuditLog())
    if getattr(args, "ssh", False) and not args.lab:
        raise UsageError("--ssh goes with --lab; an inventory file says per host whether to use SSH (`ssh = ...`)")
    if args.lab:
        from hotmig_tui import lab

        path = lab.ssh_inventory_path() if getattr(args, "ssh", False) else lab.inventory_path()
        if not path.exists():
            raise UsageError(f"no lab inventory at {path}: start the lab first with `hotmig lab up`")
        return Source(inventory_file=path, speed=speed)
    if args.inventory:
        return Source(inventory_file=args.inventory, speed=speed)
    if not args.demo and not args.scale and user_inventory_path().exists():
        return Source(inventory_file=user_inventory_path(), speed=speed)
    return Source(scale=args.scale, seed=args.seed, speed=speed)


def load_backend(args: argparse.Namespace, speed: float = 1.0) -> Backend:
    return open_backend(source_from_args(args, speed))


async def read_inventory(args: argparse.Namespace) -> Inventory:
    """Connect, take one snapshot, disconnect: for commands that only read."""
    backend = load_backend(args)
    await backend.connect()
    try:
        return backend.snapshot()
    finally:
        await backend.close()


def run_guarded(coro: Any) -> int:
    """Run a command's coroutine, turning bad input into one clear line and exit code 2."""
    try:
        return asyncio.run(coro)
    except InventoryError as exc:
        print(f"hotmig: bad inventory file\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"hotmig: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _finite(value: Any) -> Any:
    """JSON has no Infinity or NaN (jq 1.6, browsers, Go reject them): null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def print_json(value: Any) -> None:
    json.dump(_finite(value), sys.stdout, indent=None, separators=(",", ":"), allow_nan=False)
    sys.stdout.write("\n")
    sys.stdout.flush()
