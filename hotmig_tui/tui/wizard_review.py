"""The wizard's review as text: the plan, the prediction, every finding, and what the start button says
(errors block and say which; warnings are listed again in the second confirm)."""

from __future__ import annotations

import textwrap

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from hotmig_tui.core.model import Inventory
from hotmig_tui.core.rules import Severity
from hotmig_tui.core.run import MigrationKind, MigrationOptions, MigrationPlan
from hotmig_tui.core.units import fmt_rate, fmt_seconds
from hotmig_tui.tui.findings_view import KIND_LABEL, Palette, findings_table, prediction_table, symbol
from hotmig_tui.tui.wizard_plan import Review


def review_content(review: Review, inventory: Inventory, palette: Palette) -> RenderableType:
    plan = review.plan
    findings: RenderableType = (
        findings_table(review.findings, palette)
        if review.findings
        else Text("none: no rule reports a problem", style=palette.success)
    )
    return Group(
        _facts(plan_rows(plan, inventory)),
        Text(""),
        Text(f"Findings ({len(review.findings)})", style="bold"),
        findings,
        Text(""),
        Text("Prediction", style="bold"),
        prediction_table(review.prediction, palette),
    )


def plan_rows(plan: MigrationPlan, inventory: Inventory) -> list[tuple[str, str]]:
    vm = inventory.vm(plan.vm)
    moved = [d for d in (vm.disks if vm else ()) if not plan.disks or d.target in plan.disks]
    disks = ", ".join(f"{d.target} ({d.datastore or 'no pool'})" for d in moved) or "none"
    if plan.kind is MigrationKind.VM:
        route = f"{plan.source} → {plan.target_host}; the disks stay where they are"
    elif plan.kind is MigrationKind.STORAGE:
        route = f"disks {disks} → {plan.target_datastore}; the VM stays on {plan.source}"
    else:
        route = f"{plan.source} → {plan.target_host}, disks {disks} → {plan.target_datastore}"
    return [
        ("VM", f"{plan.vm} ({vm.state.value} on {vm.host})" if vm else plan.vm),
        ("kind", f"{KIND_LABEL[plan.kind]} migration"),
        ("route", route),
        ("options", options_text(plan.options, plan.kind)),
    ]


def options_text(options: MigrationOptions, kind: MigrationKind) -> str:
    memory = kind is not MigrationKind.STORAGE  # a disk mirror has no downtime limit, throttle or post-copy
    parts = [
        f"bandwidth {fmt_rate(options.bandwidth)}" if options.bandwidth else "bandwidth unlimited",
        f"timeout {fmt_seconds(options.timeout)}, then {options.timeout_action.value}" if options.timeout
        else "no timeout",
    ]
    if memory:
        downtime = fmt_seconds(options.max_downtime) if options.max_downtime else "300 ms (QEMU's default)"
        parts = [f"max downtime {downtime}", *parts, f"auto-converge {'allowed' if options.auto_converge else 'off'}",
                 f"post-copy {'allowed' if options.postcopy else 'off'}"]
    if kind is not MigrationKind.VM:
        parts.append("remove the source images" if options.remove_source else "keep the source images")
    return " · ".join(parts)


def start_button(review: Review) -> tuple[str, bool]:
    """(label, disabled): a blocked plan's button says what blocks it."""
    blockers = review.blockers
    if blockers:
        return f"Blocked by {', '.join(dict.fromkeys(f.rule for f in blockers))}", True
    if review.warnings:
        n = len(review.warnings)
        return f"Start ({n} warning{'s' if n != 1 else ''} to confirm)…", False
    return "Start migration", False


def verdict_text(review: Review, palette: Palette) -> Text:
    blockers, warnings = review.blockers, review.warnings
    if blockers:
        n = len(blockers)
        errors = "1 error blocks" if n == 1 else f"{n} errors block"
        return Text(f"✖ {errors} this migration: fix {'it' if n == 1 else 'them'} or go back and choose another "
                    "target", style=palette.severity(Severity.ERROR))
    if warnings:
        n = len(warnings)
        return Text(f"▲ {n} warning{'s' if n != 1 else ''}: starting asks you to confirm "
                    f"{'it' if n == 1 else 'them'}", style=palette.warning)
    return Text("✔ nothing stands in the way", style=palette.success)


# The Confirm dialog is 64 columns wide and its label does not wrap: wrap here, inside its border and padding.
CONFIRM_WIDTH = 56


def warnings_question(review: Review) -> str:
    """The second confirm: the question, then every warning (its rule and message)."""
    plan = review.plan
    where = " + ".join(t for t in (plan.target_host, plan.target_datastore) if t)
    lines = textwrap.wrap(f"Start {plan.vm} → {where} despite {len(review.warnings)} warning"
                          f"{'s' if len(review.warnings) != 1 else ''}?", CONFIRM_WIDTH)
    for f in review.warnings:
        lines += ["", *textwrap.wrap(f"{symbol(f)} {f.rule}: {f.message}", CONFIRM_WIDTH, subsequent_indent="  ")]
    return "\n".join(lines)


def _facts(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold", ratio=1)
    for key, value in rows:
        table.add_row(key, value)
    return table
