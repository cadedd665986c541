"""Messages workers post to the app; handlers own the state and update the widgets."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from hotmig_tui.backends.base import Change
from hotmig_tui.engine import EngineEvent


@dataclass
class InventoryChanged(Message):
    change: Change


@dataclass
class BackendProblem(Message):
    text: str


@dataclass
class EngineChanged(Message):
    event: EngineEvent
