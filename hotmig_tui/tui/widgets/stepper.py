"""The article's phases as a one-line stepper: done ✓, current ●, to come ○; FAILED/ABORTED in red."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from hotmig_tui.core.run import PHASES_BY_KIND, MigrationKind, Phase


def stepper_text(kind: MigrationKind, phase: Phase, colours: dict[str, str], reached: Phase | None = None) -> Text:
    """`reached`: the last phase entered before a FAILED/ABORTED end; that step is marked ✖, the ones after it
    were never reached and stay ○ (a run aborted in pre-copy never switched over)."""
    steps = PHASES_BY_KIND[kind]
    text = Text(no_wrap=True, overflow="ellipsis")
    if phase is Phase.QUEUED:
        return text.append("○ queued: waiting for budget", style=colours["warning"])
    failed = phase in (Phase.FAILED, Phase.ABORTED)
    at = reached if failed else phase
    current = steps.index(at) if at in steps else (0 if failed else len(steps))
    for i, step in enumerate(steps):
        if i:
            text.append(" › ", style="dim")
        if failed and i == current:
            text.append(f"✖ {step.value} {phase.value.upper()}", style=f"bold {colours['error']}")
        elif i < current or phase is Phase.DONE:
            text.append(f"✓ {step.value}", style=colours["success"])
        elif i == current:
            text.append(f"● {step.value.upper()}", style=f"bold {colours['accent']}")
        else:
            text.append(f"○ {step.value}", style="dim")
    return text


class PhaseStepper(Static):
    DEFAULT_CSS = "PhaseStepper { height: 1; padding: 0 1; }"
