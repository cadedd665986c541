"""The dashboard: `hotmig` (your inventory, or the demo) and `hotmig demo` (always the simulated datacenter)."""

from __future__ import annotations

import argparse

from hotmig_tui.cli.common import EXIT_USAGE, UsageError, scale_type, source_from_args
from hotmig_tui.cli.planning import plan_from_spec, positive
from hotmig_tui.core.inventory_file import InventoryError
from hotmig_tui.core.run import MigrationOptions


def add_tui_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--theme", metavar="NAME",
                        help="start with this theme (themes/ and ~/.config/hotmig/themes/)")
    parser.add_argument("--start", metavar="SPEC", action="append", default=[],
                        help="start a migration at once (checked first): VM@HOST, VM@HOST/DATASTORE (whole "
                             "machine) or VM/DATASTORE (storage); repeat for several")
    parser.add_argument("--speed", type=positive(float),
                        default=1.0, help="simulated datacenter: X times faster than real")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="open the dashboard on the built-in simulated datacenter",
                       description="Open the dashboard on the built-in simulated datacenter (no hypervisor needed).")
    p.add_argument("--scale", metavar="HOSTS,VMS", type=scale_type, help="a generated datacenter")
    p.add_argument("--seed", type=int, default=1)
    add_tui_options(p)
    p.set_defaults(func=run_dashboard, demo=True, lab=False, inventory=None)


def run_dashboard(args: argparse.Namespace) -> int:
    import sys

    from hotmig_tui.backends.select import open_backend

    try:
        if args.speed <= 0:
            raise UsageError("--speed must be positive")
        source = source_from_args(args, speed=args.speed)
        backend = open_backend(source)
        if args.start and backend.label != "sim":
            # Real hosts report their VMs only once connected, inside the dashboard: plans cannot be read here.
            raise UsageError("--start is for simulated datacenters; on real hosts use `hotmig migrate` or the wizard")
        plans = [plan_from_spec(spec, backend.snapshot(), MigrationOptions()) for spec in args.start]
    except InventoryError as exc:
        print(f"hotmig: bad inventory file\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"hotmig: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from hotmig_tui.tui.app import HotmigApp  # Textual is imported only when the dashboard opens

    app = HotmigApp(backend, source_label=source.label, theme_name=args.theme, start=plans)
    app.run()
    return app.return_code or 0
