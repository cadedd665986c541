"""Before a run: will it converge, how long will it take, how long will the guest pause, and, when plain
pre-copy never finishes, which policy step would (DESIGN.md §6).

Runs the shared model (core.physics) with the VM's dirty rate and working set, the link's speed and the run's
options. Facts that are missing are said so: an unknown working set is assumed to be all of RAM (the
pessimistic case) and listed in ``assumptions``; an unknown dirty rate or link speed leaves convergence
unknown rather than guessed. Literature puts models of this kind within ~90 % of real migration times
(Akoush et al. 2010, Liu et al. 2011); hotmig's own accuracy is measured against real QEMU in the lab.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from hotmig_tui.core.model import Cluster, Disk, Vm
from hotmig_tui.core.physics import (
    PIVOT_TIME,
    QEMU_MAX_DOWNTIME,
    SETUP_TIME,
    ZERO_PAGE_SHARE,
    Pass,
    PrecopyRun,
    PrecopyState,
    critical_dirty_rate,
    mirror_time,
    run_precopy,
)
from hotmig_tui.core.policy import FIT_MARGIN, PolicyConfig
from hotmig_tui.core.run import MigrationKind, MigrationOptions, TimeoutAction
from hotmig_tui.core.units import fmt_bytes, fmt_rate, fmt_seconds


@dataclass(frozen=True, slots=True)
class LinkFacts:
    """What is known about the path the migration takes; None = unknown. Rates in bytes/s."""

    bandwidth: float | None = None  # the migration network's declared speed (cluster.migration_bandwidth)
    measured_bandwidth: float | None = None  # measured between the two hosts
    disk_bandwidth: float | None = None  # storage kind: how fast the datastores copy

    @classmethod
    def of(
        cls,
        cluster: Cluster | None,
        measured_bandwidth: float | None = None,
        disk_bandwidth: float | None = None,
    ) -> LinkFacts:
        return cls(cluster.migration_bandwidth if cluster else None, measured_bandwidth, disk_bandwidth)

    @property
    def speed(self) -> float | None:
        """The link's own speed: the slower of what is declared and what was measured."""
        known = [b for b in (self.bandwidth, self.measured_bandwidth) if b]
        return min(known) if known else None


class Step(StrEnum):
    """What would finish a run that plain pre-copy does not, in the order the policy tries them."""

    RAISE_DOWNTIME = "raise-downtime"
    AUTO_CONVERGE = "auto-converge"
    POSTCOPY = "postcopy"
    PAUSE = "pause"  # the PAUSE timeout action: not a policy step, listed for comparison


@dataclass(frozen=True, slots=True)
class Remedy:
    step: Step
    allowed: bool  # the run's options (and the policy config) let hotmig take it
    total_time: float  # s, start to done
    downtime: float  # s
    iterations: int
    memory_bytes: int
    max_downtime: float | None = None  # RAISE_DOWNTIME: the limit that converges
    throttle: float | None = None  # AUTO_CONVERGE: the throttle it ends at

    @property
    def text(self) -> str:
        done = f"would finish in ~{fmt_seconds(self.total_time)} with ~{fmt_seconds(self.downtime)} downtime"
        match self.step:
            case Step.RAISE_DOWNTIME:
                text = f"raising max downtime to {fmt_seconds(self.max_downtime)} {done}"
            case Step.AUTO_CONVERGE:
                text = f"auto-converge {done}, slowing the guest's vCPUs by up to {self.throttle or 0:.0%}"
            case Step.POSTCOPY:
                text = f"post-copy {done}"
            case Step.PAUSE:
                text = f"pausing the guest {done}"
        return text if self.allowed else f"{text} (not enabled for this run)"


@dataclass(frozen=True, slots=True)
class Prediction:
    kind: MigrationKind
    converges: bool | None  # plain pre-copy (or the mirror) finishes on its own; None: unknown
    reason: str  # one line for the wizard and the run's log
    iterations: int | None = None  # libvirt's memory_iteration at completion
    total_time: float | None = None  # s, start to done; None: never, or unknown
    downtime: float | None = None  # s, real: last copy at link speed, device state, resume
    expected_downtime: float | None = None  # s, QEMU's running estimate just before the pause
    memory_bytes: int | None = None
    disk_bytes: int | None = None
    mirror_time: float | None = None  # s until the disks are READY
    bandwidth: float | None = None  # rate pre-copy (or the mirror) runs at
    link_speed: float | None = None  # rate the final copy runs at
    max_downtime: float = QEMU_MAX_DOWNTIME
    needed_downtime: float | None = None  # s, the limit at which plain pre-copy would stop
    critical_dirty_rate: float | None = None  # bytes/s: pre-copy converges below it (inf: always)
    step: Remedy | None = None  # what would finish it: the policy's first allowed step, else a suggestion
    remedies: tuple[Remedy, ...] = ()  # every step that would finish it, in the policy's order
    passes: tuple[Pass, ...] = ()
    within_timeout: bool | None = None  # None: no timeout, or nothing known
    assumptions: tuple[str, ...] = ()

    @property
    def uncertain(self) -> bool:
        return self.converges is None or bool(self.assumptions)

    @property
    def bytes_sent(self) -> int | None:
        if self.memory_bytes is None and self.disk_bytes is None:
            return None
        return (self.memory_bytes or 0) + (self.disk_bytes or 0)


def predict(
    vm: Vm,
    kind: MigrationKind,
    link: LinkFacts,
    options: MigrationOptions | None = None,
    *,
    disks: tuple[str, ...] = (),
    disk_write_rate: float | None = None,
    zero_share: float = ZERO_PAGE_SHARE,
    config: PolicyConfig | None = None,
) -> Prediction:
    """Predict one migration of ``vm``.

    ``disks``: the targets a storage or whole-machine migration copies (() = every non-shareable disk; leave
    out disks on datastores the target shares). ``disk_write_rate``: the guest's disk writes in bytes/s, which
    the model has no field for yet (None: assumed none, and said so).
    """
    options = options or MigrationOptions()
    config = config or PolicyConfig()
    moved = () if kind is MigrationKind.VM else _moved_disks(vm, disks)
    notes: list[str] = []
    if moved and disk_write_rate is None:
        notes.append("guest disk writes unknown: assumed none (every byte written adds to the copy)")
    writes = disk_write_rate or 0.0
    if kind is MigrationKind.STORAGE:
        return _predict_storage(moved, writes, link, options, notes)
    return _predict_memory(vm, kind, moved, writes, link, options, config, zero_share, notes)


def _moved_disks(vm: Vm, targets: tuple[str, ...]) -> tuple[Disk, ...]:
    if targets:
        return tuple(d for d in vm.disks if d.target in targets)
    return tuple(d for d in vm.disks if not d.shareable)


def _predict_storage(
    moved: tuple[Disk, ...], writes: float, link: LinkFacts, options: MigrationOptions, notes: list[str]
) -> Prediction:
    kind = MigrationKind.STORAGE
    allocated = sum(d.allocation for d in moved)
    known = [r for r in (link.disk_bandwidth, options.bandwidth) if r]
    if not known:
        return Prediction(
            kind,
            None,
            "copy speed unknown: declare the datastores' throughput or set a bandwidth limit",
            disk_bytes=allocated,
            assumptions=tuple(notes),
        )
    rate = min(known)
    if link.disk_bandwidth is None:
        notes.append("datastore copy speed unknown: assumed the bandwidth limit")
    seconds = mirror_time(allocated, rate, writes)
    if math.isinf(seconds):
        return Prediction(
            kind,
            False,
            f"the guest writes {fmt_rate(writes)}, as fast as the copy runs "
            f"({fmt_rate(rate)}): the mirror never gets ahead",
            bandwidth=rate,
            disk_bytes=allocated,
            assumptions=tuple(notes),
        )
    total = seconds + PIVOT_TIME
    reason = f"copies {fmt_bytes(allocated)} of allocated disk at {fmt_rate(rate)}: "
    reason += f"READY in ~{fmt_seconds(seconds)}, then pivot; the guest never pauses"
    return Prediction(
        kind,
        True,
        reason + _timeout_clause(total, options),
        total_time=total,
        downtime=0.0,
        disk_bytes=round(allocated + writes * seconds),
        mirror_time=seconds,
        bandwidth=rate,
        within_timeout=_within(total, options),
        assumptions=tuple(notes),
    )


def _predict_memory(
    vm: Vm,
    kind: MigrationKind,
    moved: tuple[Disk, ...],
    writes: float,
    link: LinkFacts,
    options: MigrationOptions,
    config: PolicyConfig,
    zero_share: float,
    notes: list[str],
) -> Prediction:
    max_downtime = options.max_downtime if options.max_downtime is not None else QEMU_MAX_DOWNTIME
    speed = link.speed
    known = [r for r in (speed, options.bandwidth) if r]
    if not known:
        reason = "link speed unknown: declare migration_bandwidth for the cluster, measure it, or set a limit"
        return Prediction(kind, None, reason, max_downtime=max_downtime, assumptions=tuple(notes))
    rate = min(known)  # the cap, when below the link, governs pre-copy
    final = speed or rate  # QEMU lifts the cap for the final copy: the link's own speed
    if speed is None:
        notes.append("link speed unknown: the last copy assumed at the bandwidth limit (QEMU lifts it then)")
    link_text = _link_text(rate, speed, options.bandwidth)

    # Whole machine: disks first; their mirrored writes keep their share of the link during pre-copy.
    allocated = sum(d.allocation for d in moved)
    disk_time = mirror_time(allocated, rate, writes) if moved else 0.0
    disk_text = f"mirrors {fmt_bytes(allocated)} of disk first (~{fmt_seconds(disk_time)}); " if moved else ""
    memory_rate = rate - writes
    if math.isinf(disk_time) or memory_rate <= 0:
        reason = f"the guest writes {fmt_rate(writes)} to disk, all the {fmt_rate(rate)} the link gives: "
        reason += "the mirror never gets ahead"
        return Prediction(
            kind,
            False,
            reason,
            bandwidth=rate,
            link_speed=final,
            max_downtime=max_downtime,
            assumptions=tuple(notes),
        )

    working_set = vm.working_set
    if working_set is None:
        working_set = vm.memory
        notes.append(f"working set unknown: assumed all {fmt_bytes(vm.memory)} of RAM (the pessimistic case)")
    start = PrecopyState.start(vm.memory, working_set, zero_share)
    if vm.dirty_rate is None:
        one_pass = start.time_to_sync(memory_rate)
        reason = (
            f"{disk_text}dirty rate unknown, so convergence is too (measure it first); {link_text}: one pass "
        )
        reason += f"over its memory takes ~{fmt_seconds(one_pass)}"
        return Prediction(
            kind,
            None,
            reason,
            bandwidth=rate,
            link_speed=final,
            max_downtime=max_downtime,
            mirror_time=disk_time if moved else None,
            assumptions=tuple(notes),
        )
    if not vm.dirty_rate_measured:
        notes.append("dirty rate declared, not measured")

    ctx = _Context(
        start, vm.dirty_rate, memory_rate, final, max_downtime, SETUP_TIME + disk_time, writes, allocated
    )
    plain = run_precopy(start, bandwidth=memory_rate, dirty_rate=vm.dirty_rate, max_downtime=max_downtime)
    guest = f"dirties {fmt_rate(vm.dirty_rate)} over a {fmt_bytes(start.working_set)} working set"
    base = Prediction(
        kind,
        None,
        "",
        expected_downtime=plain.state.expected_downtime(memory_rate),
        bandwidth=rate,
        link_speed=final,
        max_downtime=max_downtime,
        mirror_time=disk_time if moved else None,
        needed_downtime=plain.smallest_dirty_set / memory_rate,
        critical_dirty_rate=critical_dirty_rate(start.working_set, memory_rate, max_downtime),
        passes=plain.passes,
        assumptions=tuple(notes),
    )
    if plain.converged:
        done = ctx.finish(plain)
        reason = f"{disk_text}{guest}; {link_text}: converges in {done.iterations} iterations, "
        reason += f"~{fmt_seconds(done.total_time)} with ~{fmt_seconds(done.downtime)} downtime"
        return replace(
            base,
            converges=True,
            reason=reason + _timeout_clause(done.total_time, options),
            iterations=done.iterations,
            total_time=done.total_time,
            downtime=done.downtime,
            memory_bytes=done.memory_bytes,
            disk_bytes=ctx.disk_bytes(done.total_time - done.downtime) if moved else None,
            within_timeout=_within(done.total_time, options),
        )

    remedies = _remedies(ctx, plain, options, config)
    usable = [r for r in remedies if r.step is not Step.PAUSE]
    step = next((r for r in usable if r.allowed), usable[0] if usable else None)
    finish_time = step.total_time if step and step.allowed else math.inf
    reason = f"{disk_text}{guest}; {link_text}: pre-copy never converges"
    reason += f"; {step.text}" if step else ""
    return replace(
        base,
        converges=False,
        reason=reason + _timeout_clause(finish_time, options),
        disk_bytes=allocated if moved else None,
        step=step,
        remedies=remedies,
        within_timeout=_within(finish_time, options),
    )


@dataclass(frozen=True, slots=True)
class _Finish:
    total_time: float
    downtime: float
    iterations: int
    memory_bytes: int

    def remedy(self, step: Step, allowed: bool, **detail: float) -> Remedy:
        return Remedy(
            step,
            allowed,
            self.total_time,
            self.downtime,
            self.iterations,
            self.memory_bytes,
            max_downtime=detail.get("max_downtime"),
            throttle=detail.get("throttle"),
        )


@dataclass(frozen=True, slots=True)
class _Context:
    """The inputs every what-if run of one prediction shares."""

    start: PrecopyState
    dirty_rate: float
    rate: float  # pre-copy's share of the capped rate
    final: float  # the link's own speed
    max_downtime: float
    offset: float  # s before pre-copy starts: setup and, for a whole machine, the disk mirror
    writes: float
    allocated: float

    def disk_bytes(self, running: float) -> int:
        """Allocated bytes plus the guest's writes, mirrored for as long as the guest runs on the source."""
        return round(self.allocated + self.writes * (running - SETUP_TIME))

    def first_pass(self) -> PrecopyState:
        """Where pre-copy is when its first pass ends: where the what-ifs switch or pause."""
        return self.start.advance(
            self.start.time_to_sync(self.rate),
            bandwidth=self.rate,
            dirty_rate=self.dirty_rate,
            max_downtime=self.max_downtime,
        )

    def finish(self, run: PrecopyRun) -> _Finish:
        """Stop and copy where ``run`` converged."""
        end = run.state.stop_and_copy(self.final)
        return _Finish(
            self.offset + end.t_end, end.downtime, end.iterations, round(run.state.processed + end.bytes)
        )


def _remedies(
    ctx: _Context, plain: PrecopyRun, options: MigrationOptions, config: PolicyConfig
) -> tuple[Remedy, ...]:
    """Each step that would finish a run plain pre-copy cannot. Downtime steps and auto-converge as the
    policy takes them; post-copy and pausing as if switched on when the first pass ends (libvirt's
    --postcopy-after-precopy). The policy switches later, at a stall: its runs take a few passes longer."""
    out: list[Remedy] = []
    policy_on = options.policy
    # The policy's own choice: the smallest schedule step that covers the smallest dirty set, with its margin.
    needed = plain.smallest_dirty_set / ctx.rate
    fitting = [s for s in config.steps_above(ctx.max_downtime) if s >= needed * FIT_MARGIN]
    if fitting:
        run = run_precopy(ctx.start, bandwidth=ctx.rate, dirty_rate=ctx.dirty_rate, max_downtime=fitting[0])
        if run.converged:
            out.append(ctx.finish(run).remedy(Step.RAISE_DOWNTIME, policy_on, max_downtime=fitting[0]))
    throttled = run_precopy(
        ctx.start,
        bandwidth=ctx.rate,
        dirty_rate=ctx.dirty_rate,
        max_downtime=ctx.max_downtime,
        auto_converge=True,
    )
    if throttled.converged:
        allowed = policy_on and options.auto_converge and config.auto_converge
        out.append(
            ctx.finish(throttled).remedy(Step.AUTO_CONVERGE, allowed, throttle=throttled.state.throttle)
        )
    out.append(_postcopy(ctx, options, config))
    pause = ctx.first_pass().pause_and_complete(
        bandwidth=ctx.rate, link_bandwidth=ctx.final, max_downtime=ctx.max_downtime
    )
    out.append(
        Remedy(
            Step.PAUSE,
            options.timeout is not None and options.timeout_action is TimeoutAction.PAUSE,
            ctx.offset + pause.t_end,
            pause.downtime,
            pause.iterations,
            round(ctx.first_pass().processed + pause.bytes),
        )
    )
    return tuple(out)


def _postcopy(ctx: _Context, options: MigrationOptions, config: PolicyConfig) -> Remedy:
    """Post-copy switched on when the first pass ends."""
    switched = ctx.first_pass().start_postcopy(ctx.final)
    by_policy = options.policy and config.postcopy
    by_timeout = options.timeout is not None and options.timeout_action is TimeoutAction.POSTCOPY
    return Remedy(
        Step.POSTCOPY,
        options.postcopy and (by_policy or by_timeout),
        ctx.offset + switched.t + switched.time_to_finish(ctx.final),
        switched.downtime,
        switched.iteration,
        round(switched.processed + switched.remaining),
    )


def _within(total: float, options: MigrationOptions) -> bool | None:
    return None if options.timeout is None else total <= options.timeout


def _timeout_clause(total: float, options: MigrationOptions) -> str:
    if options.timeout is None or total <= options.timeout:
        return ""
    action = {
        TimeoutAction.ABORT: "abort it",
        TimeoutAction.PAUSE: "pause the guest",
        TimeoutAction.POSTCOPY: "switch it to post-copy",
    }[options.timeout_action]
    return f"; the {fmt_seconds(options.timeout)} timeout would {action} first"


def _link_text(rate: float, speed: float | None, cap: float | None) -> str:
    if speed is None or (cap is not None and cap < speed):
        return f"the {fmt_rate(rate)} bandwidth limit governs"
    return f"the {fmt_bits(speed)} link carries {fmt_rate(speed)}"


def fmt_bits(rate: float) -> str:
    """Bytes/s as people name links: 125e6 -> '1 Gbit/s'."""
    bits = rate * 8
    for unit, factor in (("Tbit/s", 1e12), ("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bits >= factor:
            return f"{bits / factor:.3g} {unit}"
    return f"{bits:.0f} bit/s"
