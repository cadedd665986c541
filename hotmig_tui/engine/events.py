"""What the engine tells its watchers (the screens, the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

from hotmig_tui.core.run import Update
from hotmig_tui.engine.handle import RunHandle


@dataclass(frozen=True)
class RunQueued:
    handle: RunHandle


@dataclass(frozen=True)
class RunStarted:
    handle: RunHandle


@dataclass(frozen=True)
class RunUpdated:
    handle: RunHandle
    update: Update


@dataclass(frozen=True)
class RunFinished:
    handle: RunHandle


@dataclass(frozen=True)
class StoreProblem:
    """The history or the audit log could not be written (said once; runs go on)."""

    text: str
    handle: None = None


EngineEvent = RunQueued | RunStarted | RunUpdated | RunFinished | StoreProblem
