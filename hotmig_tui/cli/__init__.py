"""`hotmig`: the dashboard, plus non-interactive subcommands for scripts and SSH one-liners."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from hotmig_tui import __version__
from hotmig_tui.cli import check_cmd, history_cmd, inventory_cmd, lab_cmd, migrate_cmd, predict_cmd, tui_cmd
from hotmig_tui.cli.common import add_source_options
from hotmig_tui.core.text import one_line


class Parser(argparse.ArgumentParser):
    """argparse, with its error messages on one line: it echoes what was typed, newlines and escapes too."""

    def error(self, message: str) -> NoReturn:
        super().error(one_line(message))


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="hotmig",
        description="Plan, check, run and watch live migrations on libvirt/KVM. "
        "Without a subcommand, opens the dashboard.",
    )
    parser.add_argument("--version", action="version", version=f"hotmig {__version__}")
    add_source_options(parser)
    tui_cmd.add_tui_options(parser)
    parser.set_defaults(func=tui_cmd.run_dashboard)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    tui_cmd.register(sub)
    inventory_cmd.register(sub)
    check_cmd.register(sub)
    predict_cmd.register(sub)
    migrate_cmd.register(sub)
    history_cmd.register(sub)
    lab_cmd.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("hotmig: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
