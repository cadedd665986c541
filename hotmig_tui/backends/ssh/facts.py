"""Probe results with the time they were taken, turned into the facts the checks read (core.rules.facts).

A result is known (value set) or unknown (value None, detail says why: the host lacks a tool, it was migrating,
its session is down). An unknown result never replaces a known one: the known one stays, ages, and the checks
treat it as stale once it is older than CheckContext.max_fact_age. Ages are computed when the facts are read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hotmig_tui.core.rules.facts import Fact

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Probed(Generic[T]):
    value: T | None  # None: the probe could not tell
    at: float  # clock() when it was taken
    detail: str  # what the probe saw, or why it could not tell
    seconds: float = 0.0  # how long the probe took

    @property
    def known(self) -> bool:
        return self.value is not None

    def fact(self, now: float) -> Fact[T]:
        assert self.value is not None
        return Fact(self.value, max(0.0, now - self.at), self.detail)


@dataclass(frozen=True, slots=True)
class HostLoad:
    memory_total: int  # bytes
    memory_available: int  # bytes (MemAvailable: what can be given to a guest without swapping)
    load: tuple[float, float, float]  # 1, 5, 15 min
    cpus: int
    cpu_model: str
    cpu_flags: frozenset[str]


class ProbeFacts:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.reachable: dict[tuple[str, str], Probed[bool]] = {}
        self.disk_visible: dict[tuple[str, str], Probed[bool]] = {}
        self.host_load: dict[str, Probed[HostLoad]] = {}
        self.bandwidth: dict[tuple[str, str], Probed[float]] = {}
        self.unknown: dict[tuple[str, Hashable], str] = {}  # (kind, key) -> why the latest probe could not tell

    def store(self, kind: str, key: Hashable, result: Probed[Any]) -> None:
        table: dict[Any, Probed[Any]] = getattr(self, kind)
        if result.known:
            table[key] = result
            self.unknown.pop((kind, key), None)
        else:
            self.unknown[(kind, key)] = result.detail

    def for_checks(self) -> dict[str, dict[Any, Fact[Any]]]:
        """The keyword arguments CheckContext takes for probe facts: CheckContext(**facts.for_checks(), ...)."""
        now = self.clock()
        memory = {h: Fact(p.value.memory_available, max(0.0, now - p.at), p.detail)
                  for h, p in self.host_load.items() if p.value is not None}
        return {
            "reachable": {k: p.fact(now) for k, p in self.reachable.items()},
            "disk_visible": {k: p.fact(now) for k, p in self.disk_visible.items()},
            "memory_free": memory,
        }

    def measured_bandwidth(self, source: str, target: str) -> Fact[float] | None:
        """For LinkFacts.of(cluster, measured_bandwidth=fact.value): the latest measurement of this pair."""
        probed = self.bandwidth.get((source, target)) or self.bandwidth.get((target, source))
        return probed.fact(self.clock()) if probed is not None else None

    def why_unknown(self, kind: str, key: Hashable) -> str | None:
        return self.unknown.get((kind, key))
