"""Findings, verdicts and predictions as Rich text, for the details pane and the migrate wizard.

Every finding carries a symbol as well as a colour, so it reads without colour: ✖ a failed error (blocks),
▲ a failed warning (needs a confirm), ? an unchecked fact (never shown as a pass), · information. Colours
come from the running theme (``Palette.of(app)``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from hotmig_tui.core.predict import Prediction
from hotmig_tui.core.rules import Finding, KindVerdict, Severity, Status
from hotmig_tui.core.run import MigrationKind
from hotmig_tui.core.units import fmt_bytes, fmt_seconds

KIND_LABEL = {MigrationKind.VM: "VM live", MigrationKind.STORAGE: "storage", MigrationKind.WHOLE: "whole machine"}
TARGET_UNIT = {MigrationKind.VM: "hosts", MigrationKind.STORAGE: "datastores", MigrationKind.WHOLE: "hosts"}
SEVERITY_SYMBOL = {Severity.ERROR: "✖", Severity.WARNING: "▲", Severity.INFO: "·"}
UNKNOWN_SYMBOL = "?"


@dataclass(frozen=True)
class Palette:
    """The theme's colours for severities (Rich styles cannot refer to Textual's $variables)."""

    error: str = "red"
    warning: str = "yellow"
    success: str = "green"

    @classmethod
    def of(cls, variables: Mapping[str, str]) -> Palette:
        """From ``app.theme_variables``."""
        return cls(
            variables.get("error", cls.error),
            variables.get("warning", cls.warning),
            variables.get("success", cls.success),
        )

    def severity(self, severity: Severity) -> str:
        if severity is Severity.ERROR:
            return f"bold {self.error}"
        if severity is Severity.WARNING:
            return self.warning
        return "dim"

    def mark(self, mark: str) -> str:
        """A tree mark's style ("error", "warning", "unknown")."""
        return {"error": f"bold {self.error}", "warning": self.warning}.get(mark, "dim italic")


def symbol(finding: Finding) -> str:
    return UNKNOWN_SYMBOL if finding.status is Status.UNKNOWN else SEVERITY_SYMBOL[finding.severity]


def badge(finding: Finding, palette: Palette) -> Text:
    """'✖ VM-C2.4': the inline form, for a candidate's row."""
    return Text(f"{symbol(finding)} {finding.rule}", style=palette.severity(finding.severity))


def badges(findings: Iterable[Finding], palette: Palette) -> Text:
    return Text(" ").join(badge(f, palette) for f in findings)


def findings_table(findings: Iterable[Finding], palette: Palette) -> Table:
    """One row per finding: symbol and rule id, then the message, what was not checked, and the remedy."""
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold", ratio=1)
    for f in findings:
        head = Text(f"{symbol(f)} {f.rule}", style=palette.severity(f.severity))
        state = "not checked" if f.status is Status.UNKNOWN else "failed"
        body = Text.assemble(
            (f"{f.severity.label}, {state}: ", palette.severity(f.severity)),
            f.message,
            ("\nremedy: ", "dim"),
            f.remedy,
        )
        table.add_row(head, body)
    return table


def verdict_line(verdict: KindVerdict, palette: Palette, most: int = 3) -> Text:
    """'VM live: 2 of 7 hosts possible', or why none is: the ``most`` rules that rule out most targets."""
    label = KIND_LABEL[verdict.kind]
    unit = TARGET_UNIT[verdict.kind]
    if verdict.movable:
        return Text.assemble(
            (f"{label}: ", "bold"), (f"{verdict.targets} of {verdict.considered} {unit} possible", palette.success)
        )
    text = Text.assemble((f"{label}: ", "bold"), (f"✖ none of {verdict.considered} {unit}", palette.error))
    if verdict.blockers:
        why = [f"{b.rule} rules out {b.targets} {b.unit}{'s' if b.targets != 1 else ''}"
               for b in verdict.blockers[:most]]
        more = len(verdict.blockers) - most
        text.append(" — " + ", ".join(why) + (f", {more} more rule{'s' if more != 1 else ''}" if more > 0 else ""))
    return text


def convergence(prediction: Prediction, palette: Palette) -> Text:
    """'✔ converges' / '▲ does not converge' / '? unknown': the predictor's verdict in a word."""
    if prediction.converges is None:
        return Text("? unknown", style="dim italic")
    if prediction.converges:
        return Text("✔ converges", style=palette.success)
    return Text("▲ does not converge by plain pre-copy", style=palette.warning)


def prediction_summary(prediction: Prediction, palette: Palette) -> Text:
    return Text.assemble(convergence(prediction, palette), " — ", prediction.reason)


def prediction_table(prediction: Prediction, palette: Palette) -> RenderableType:
    """Everything the predictor says before a run, values it does not know left out rather than guessed."""
    rows: list[tuple[str, Text | str | None]] = [
        ("converges", prediction_summary(prediction, palette)),
        ("iterations", str(prediction.iterations) if prediction.iterations is not None else None),
        ("total time", fmt_seconds(prediction.total_time) if prediction.total_time is not None else None),
        ("downtime", fmt_seconds(prediction.downtime) if prediction.downtime is not None else None),
        ("bytes sent", fmt_bytes(prediction.bytes_sent) if prediction.bytes_sent is not None else None),
        ("to finish it", prediction.step.text if prediction.step else None),
    ]
    if prediction.within_timeout is False:
        rows.append(("timeout", Text("the timeout comes first", style=palette.warning)))
    rows += [("assumed", a) for a in prediction.assumptions]
    table = Table.grid(padding=(0, 1))
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold", ratio=1)
    for key, value in rows:
        if value is not None:
            table.add_row(key, value)
    return table
