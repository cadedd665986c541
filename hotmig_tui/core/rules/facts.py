"""What the rules know beyond the inventory snapshot: probe facts with their age, the predictor's verdicts,
and the migrations already running or queued.

Facts only a probe can give (reachability on the migration network, a disk path visible from a host, free
memory right now) arrive here from the backend/ssh layer. Without one, a rule that needs it reports
*unknown*, never a pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from hotmig_tui.core.run import MigrationPlan
from hotmig_tui.core.units import fmt_seconds

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Fact(Generic[T]):
    value: T
    age_s: float  # seconds since it was probed
    detail: str = ""  # what the probe saw, for the message ("ping 10.20.0.4: 100% loss")


class ConvergenceVerdict(Protocol):
    """What the VM-T rule needs from the predictor (core.predict.Prediction fits as it is)."""

    @property
    def converges(self) -> bool | None: ...  # None: the predictor cannot tell

    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class CheckContext:
    # (source host, target host) -> did they reach each other on the migration network; either order counts.
    reachable: Mapping[tuple[str, str], Fact[bool]] = field(default_factory=dict)
    # (host, disk path) -> is the path visible from that host.
    disk_visible: Mapping[tuple[str, str], Fact[bool]] = field(default_factory=dict)
    # host -> free memory now (bytes); overrides the snapshot's Host.memory_free.
    memory_free: Mapping[str, Fact[int]] = field(default_factory=dict)
    # VM name -> the predictor's verdict for its migration (VM-T).
    predictions: Mapping[str, ConvergenceVerdict] = field(default_factory=dict)
    # Migrations running or queued: they hold concurrency budget, memory on their target hosts and space on
    # their target datastores.
    in_flight: tuple[MigrationPlan, ...] = ()
    # Probe facts older than this (s) count as unknown; None: any age is accepted.
    max_fact_age: float | None = None

    def fresh(self, fact: Fact[T] | None) -> Fact[T] | None:
        if fact is None or (self.max_fact_age is not None and fact.age_s > self.max_fact_age):
            return None
        return fact

    def stale(self, fact: Fact[T] | None) -> bool:
        return fact is not None and self.fresh(fact) is None


def probed(fact: Fact[object]) -> str:
    """'probed 12.0 s ago' (+ what the probe saw)."""
    text = f"probed {fmt_seconds(fact.age_s)} ago"
    return f"{text}: {fact.detail}" if fact.detail else text
