"""What a tree node or a details pane points at: an object of the inventory by kind and name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["cluster", "host", "vm", "datastore", "group"]


@dataclass(frozen=True, slots=True)
class Ref:
    kind: Kind
    name: str
