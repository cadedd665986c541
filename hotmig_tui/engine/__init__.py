"""Runs migrations through their phases with a backend, applies the policy, records history."""

from hotmig_tui.engine.engine import Engine
from hotmig_tui.engine.events import EngineEvent, RunFinished, RunQueued, RunStarted, RunUpdated, StoreProblem
from hotmig_tui.engine.handle import RunHandle, RunState

__all__ = [
    "Engine",
    "EngineEvent",
    "RunFinished",
    "RunHandle",
    "RunQueued",
    "RunStarted",
    "RunState",
    "RunUpdated",
    "StoreProblem",
]
