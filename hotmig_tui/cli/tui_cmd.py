"""The dashboard: `hotmig` (your inventory, or the demo) and `hotmig demo` (always the simulated datacenter)."""

from __future__ import annotations

import argparse

from hotmig_tui.cli.common import EXIT_USAGE, UsageError, source_from_args
from hotmig_tui.core.inventory_file import InventoryError


def add_tui_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--theme", metavar="NAME",
                        help="start with this theme (themes/ and ~/.config/hotmig/themes/)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="open the dashboard on the built-in simulated datacenter",
                       description="Open the dashboard on the built-in simulated datacenter (no hypervisor needed).")
    p.add_argument("--scale", metavar="HOSTS,VMS", type=lambda t: _scale_type(t), help="a generated datacenter")
    p.add_argument("--seed", type=int, default=1)
    add_tui_options(p)
    p.set_defaults(func=run_dashboard, demo=True, lab=False, inventory=None)


def _scale_type(text: str) -> tuple[int, int]:
    from hotmig_tui.cli.common import _scale

    return _scale(text)


def run_dashboard(args: argparse.Namespace) -> int:
    import sys

    from hotmig_tui.backends.select import open_backend

    try:
        source = source_from_args(args)
        backend = open_backend(source)
    except InventoryError as exc:
        print(f"hotmig: bad inventory file\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"hotmig: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from hotmig_tui.tui.app import HotmigApp  # Textual is imported only when the dashboard opens

    app = HotmigApp(backend, source_label=source.label, theme_name=args.theme)
    app.run()
    return app.return_code or 0
