"""Simulated migrations: the one physical model (core.physics) advanced in simulated time, reported through
the same Samples, phases and log lines as the libvirt runs (DESIGN.md §1, §4, §6).

Time: the run keeps its own simulated clock ``t`` (seconds since it started, the ``t`` of every update) and
sleeps so that ``t`` simulated seconds take ``t / speed`` real ones: ``--speed 1`` is real time, ``--speed 100``
finishes a five-minute migration in three seconds. It advances in ticks of libvirt's poll interval, one
Sample per tick; a control (max downtime, bandwidth, post-copy, pause, abort) takes effect at the next tick.

Noise: a few per cent on the guest's dirty rate and on the link, per tick, from an RNG seeded by the backend's
seed and the plan, so the same seed and plan give the same run. Nothing fails at random: a run fails only for a
reason libvirt would give too (the target host down or in maintenance, a VM that is not running, disks the
target cannot reach), or because someone aborted it.

This module holds what every kind shares; memory_migration.py (VM live, whole machine) and
storage_migration.py (disk mirror) hold the kinds.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from hotmig_tui.core.describe import outcome_summary
from hotmig_tui.core.model import Cluster, Datastore, Host, HostState, Inventory, Vm, VmState
from hotmig_tui.core.physics import QEMU_MAX_DOWNTIME
from hotmig_tui.core.run import FailureCause, LogLine, MigrationPlan, Outcome, Phase, PhaseChange, Sample, Update
from hotmig_tui.core.units import MiB, fmt_rate

if TYPE_CHECKING:
    from hotmig_tui.backends.sim.backend import SimBackend

# libvirt's poll cadence (the libvirt backend's POLL_S / POLL_NEAR_END_S), in simulated seconds.
SAMPLE_S = 0.5
SAMPLE_NEAR_END_S = 0.2
# Used when the target cluster declares no migration_bandwidth; said in the run's log.
FALLBACK_LINK = 1e9 / 8  # 1 Gbit/s
# Used when the VM declares no dirty rate: a lightly loaded server. Said in the run's log.
FALLBACK_DIRTY_RATE = 10 * MiB
# Per-tick noise, as a relative standard deviation. A guest's writes wander more than a link's throughput,
# and a link never runs above its rate, so the link's noise only ever slows it.
DIRTY_NOISE = 0.03
LINK_NOISE = 0.02
NOISE_CLIP = 3.0  # standard deviations


class SimRunError(Exception):
    """A run cannot do what was asked (a bad plan, a control the kind does not support); clear message."""


class RunEnded(Exception):
    """Raised inside a run to end it early: FAILED (with a cause) or ABORTED."""

    def __init__(self, phase: Phase, error: str, cause: FailureCause | None = None) -> None:
        super().__init__(error)
        self.phase, self.error, self.cause = phase, error, cause


def plan_rng(seed: int, plan: MigrationPlan) -> random.Random:
    """Deterministic per seed and plan. A string seed, not hash(): str hashes change between processes."""
    key = f"{seed}|{plan.vm}|{plan.kind.value}|{plan.source}|{plan.target_host}|{plan.target_datastore}|{plan.disks}"
    return random.Random(key)


class Noise:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _gauss(self, sigma: float) -> float:
        return max(-NOISE_CLIP, min(NOISE_CLIP, self.rng.gauss(0.0, 1.0))) * sigma

    def dirty(self) -> float:
        return 1.0 + self._gauss(DIRTY_NOISE)

    def link(self) -> float:
        return 1.0 - abs(self._gauss(LINK_NOISE))


class SimRunBase:
    """The Run protocol's plumbing: the update stream, phases, the log, the clock, the end."""

    def __init__(self, backend: SimBackend, plan: MigrationPlan) -> None:
        self.plan = plan
        self.backend = backend
        inventory: Inventory = backend.snapshot()
        vm = inventory.vm(plan.vm)
        if vm is None:
            raise SimRunError(f"no VM named {plan.vm!r}")
        self.vm: Vm = vm
        source = inventory.host(vm.host)
        if source is None:
            raise SimRunError(f"{vm.name} runs on {vm.host!r}, which the inventory does not list")
        self.source: Host = source
        self.target: Host | None = inventory.host(plan.target_host) if plan.target_host else None
        if plan.target_host and self.target is None:
            raise SimRunError(f"no host named {plan.target_host!r}")
        self.target_datastore: Datastore | None = (
            inventory.datastore(plan.target_datastore) if plan.target_datastore else None
        )
        if plan.target_datastore and self.target_datastore is None:
            raise SimRunError(f"no datastore named {plan.target_datastore!r}")
        self.cluster: Cluster | None = inventory.cluster_of(plan.target_host or vm.host)
        self.phase = Phase.PREPARE
        self.t = 0.0
        self.max_downtime = plan.options.max_downtime or QEMU_MAX_DOWNTIME
        self.bandwidth = plan.options.bandwidth  # the cap in force; None = unlimited
        self.abort_requested = False
        self.destinations: dict[str, str] = {}  # disk target -> its path on the target datastore
        self.noise = Noise(plan_rng(backend.seed, plan))
        self._queue: asyncio.Queue[Update | None] = asyncio.Queue()
        self._outcome: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._t0_real = 0.0
        self._task: asyncio.Task[None] | None = None

    # --- Run protocol -----------------------------------------------------------------------------------
    def begin(self) -> None:
        self._t0_real = asyncio.get_running_loop().time()
        self._task = asyncio.ensure_future(self._main())

    async def updates(self) -> AsyncIterator[Update]:
        while (update := await self._queue.get()) is not None:
            yield update

    async def result(self) -> Outcome:
        return await asyncio.shield(self._outcome)

    async def abort(self) -> None:
        """Like libvirt's abortJob: never raises; a run past the point of no return finishes instead."""
        if self.phase in (Phase.SWITCHOVER, Phase.RESUMED, Phase.CLEANUP) or self.phase.final:
            self.log(f"too late to abort: the run is in {self.phase.value}", "warning")
            return
        if not self.abort_requested:
            self.abort_requested = True
            self.log("abort requested")

    # --- plumbing ---------------------------------------------------------------------------------------
    def emit(self, update: Update) -> None:
        self._queue.put_nowait(update)

    async def publish(self, sample: Sample) -> None:
        """Emit a poll's sample and give its consumer (the engine's policy) a turn before the next tick, so a
        control it sends takes effect at the sample's own time, as a prompt libvirt call would."""
        self.emit(sample)
        await asyncio.sleep(0)

    def log(self, text: str, level: str = "info") -> None:
        self.emit(LogLine(self.t, text, level))

    def enter(self, phase: Phase, detail: str = "") -> None:
        if phase is not self.phase:
            self.phase = phase
            self.emit(PhaseChange(self.t, phase, detail))

    async def sleep_until(self, t: float) -> None:
        """Let simulated time ``t`` arrive in real time. Always yields, so consumers and controls get a turn."""
        self.t = t
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, self._t0_real + t / self.backend.speed - loop.time()))

    def link_speed(self) -> float:
        """The migration network's own speed: the final copy runs at it (QEMU lifts the cap then)."""
        declared = self.cluster.migration_bandwidth if self.cluster else None
        return declared or FALLBACK_LINK

    def capped(self, rate: float) -> float:
        return min(rate, self.bandwidth) if self.bandwidth else rate

    def check_aborted(self, error: str) -> None:
        if self.abort_requested:
            raise RunEnded(Phase.ABORTED, error)

    def check_hosts_and_vm(self, hosts: list[Host]) -> None:
        """What libvirt would refuse at once: a host it cannot use, a VM that is not running."""
        inventory = self.backend.snapshot()
        for planned in hosts:
            host = inventory.host(planned.name) or planned
            if host.state is HostState.MAINTENANCE and host.name != self.source.name:  # evacuating is fine
                raise RunEnded(Phase.FAILED, f"host {host.name} is in maintenance mode: it takes no migrations",
                               FailureCause.HOST_FAILED)
            if host.state in (HostState.DISCONNECTED, HostState.REBOOTING):
                why = f" ({host.error})" if host.error else ""
                raise RunEnded(Phase.FAILED, f"cannot reach host {host.name}: {host.state.value}{why}",
                               FailureCause.HOST_FAILED)
        vm = inventory.vm(self.vm.name) or self.vm
        if vm.state is not VmState.RUNNING:
            raise RunEnded(Phase.FAILED, f"{vm.name} is not running on {self.source.name} ({vm.state.value}): "
                                         "live migration needs it running")

    def log_link(self, what: str, rate: float) -> None:
        declared = self.cluster.migration_bandwidth if self.cluster else None
        if declared:
            text = f"{what} at {fmt_rate(rate)}" + (
                f" (bandwidth limit; the link carries {fmt_rate(declared)})" if rate < declared else "")
            self.log(text)
        else:
            cluster = self.cluster.name if self.cluster else "the target cluster"
            self.log(f"{cluster} declares no migration_bandwidth: simulating a 1 Gbit/s link "
                     f"({fmt_rate(FALLBACK_LINK)})", "warning")

    # --- the run ----------------------------------------------------------------------------------------
    async def _main(self) -> None:
        try:
            outcome = await self.execute()
        except RunEnded as end:
            outcome = self.ended(end)
        except Exception as exc:  # a bug in the simulator still ends as an Outcome, with the VM located
            outcome = self.ended(RunEnded(Phase.FAILED, f"simulator error: {exc!r}"))
        if outcome.ok:
            self.apply(outcome)
        self.enter(outcome.phase, outcome.error or "")
        self.log(outcome_summary(outcome), "info" if outcome.ok else "error")
        self._queue.put_nowait(None)
        self._outcome.set_result(outcome)

    async def execute(self) -> Outcome:
        raise NotImplementedError

    def ended(self, end: RunEnded) -> Outcome:
        """A run that did not finish: the VM keeps running, unpaused, on its source; nothing moved."""
        self.clean_target()
        return Outcome(phase=end.phase, vm_host=self.source.name, cause=end.cause, error=end.error,
                       total_time=self.t)

    def clean_target(self) -> None:
        """Say what a failed run removes on the target; subclasses know what they created."""

    def apply(self, outcome: Outcome) -> None:
        """A run that succeeded: the VM (and the disks it moved) are now where the plan said."""
        self.backend.apply_migration(self.plan, self.vm.name, self.destinations)

