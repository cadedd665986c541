"""One migration as the engine tracks it: its plan, where it is, everything it reported."""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field
from enum import StrEnum

from hotmig_tui.backends.base import Run
from hotmig_tui.core.policy import Action
from hotmig_tui.core.run import LogLine, MigrationPlan, Outcome, Phase, Sample

_ids = itertools.count(1)


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"


@dataclass(eq=False)
class RunHandle:
    plan: MigrationPlan
    # Unique across processes sharing one history: two `hotmig migrate` started in the same second.
    id: str = field(default_factory=lambda: f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{next(_ids)}")
    state: RunState = RunState.QUEUED
    phase: Phase = Phase.QUEUED
    reached: Phase = Phase.QUEUED  # the last phase it entered before it ended (the stepper's last step)
    queued_because: str = ""
    samples: list[Sample] = field(default_factory=list)
    log: list[LogLine] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)  # the policy's ledger (keeps it idempotent)
    outcome: Outcome | None = None
    run: Run | None = None
    timed_out: bool = False
    maintenance: bool = False  # its target entered maintenance mode while it ran or waited
    cancelled: bool = False
    submitted_at: float = field(default_factory=time.monotonic)

    @property
    def last(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    @property
    def progress(self) -> float | None:
        """0..1 of data sent so far, from the latest sample (None when nothing reported it)."""
        s = self.last
        if s is None:
            return None
        if s.memory_total and s.memory_remaining is not None and s.phase is not Phase.MIRROR:
            return max(0.0, min(1.0, 1 - s.memory_remaining / s.memory_total))
        if s.disks:
            total = sum(d.total for d in s.disks.values())
            return sum(d.copied for d in s.disks.values()) / total if total else None
        return None
