"""Convergence policy: what to do next in a running migration, as small pure functions (DESIGN.md §5).

``decide(history, config, options, taken)`` looks at the samples so far and the actions already taken and
returns the actions to take now, each with a one-line reason for the run's log. Deterministic, no clock:
the samples carry the time. Pass every action ``decide`` returned back in ``taken``: that ledger keeps it
idempotent (one step per iteration, the timeout once, never the same downtime twice), even when a sample
still shows the state from before the engine applied the last action.

Defaults, and why (numbers from anchors.md):

- Downtime schedule 100, 150, 200, 300, 400, 500 ms: oVirt's minimal-downtime schedule. Only steps above the
  limit in force are used, so with QEMU's 300 ms default the policy tries 400 then 500 ms, and with Proxmox's
  100 ms it walks the whole ladder. The ceiling, 500 ms, is Nova's live_migration_downtime and vMotion's
  switchover goal: past it, applications start to notice. Nova ramps by elapsed time (10 steps over 75 s/GiB);
  hotmig ramps at stalls instead, because time says nothing about progress (Nova dropped its progress timeout
  for exactly that, LP#1644248) while an iteration that finds no smaller dirty set does.
- Stall: remaining memory, read at iteration boundaries, has not reached a new low by at least 5 % for 3
  iterations. Proxmox doubles the downtime after more than 5 stalled 1 s polls; Kubevirt asks for this test
  at iteration boundaries (kubevirt#3504). The 5 % margin keeps a dirty set that creeps toward its fixed
  point, or jitters around it, from counting as progress. Counting restarts after each action and after any
  change the samples show (limit, bandwidth, throttle), so every step gets 3 iterations to work.
- Which step: QEMU stops the guest when remaining ÷ transfer rate ≤ max downtime, so at a stall the policy
  knows the downtime that would do: it jumps to the smallest schedule step at least 10 % above that. When no
  step up to the ceiling would do, more downtime only hurts the guest: the policy switches on auto-converge
  (if allowed), then post-copy (if allowed), and only when neither is allowed climbs the schedule anyway.
- Timeout: fires once, at the first sample at or past ``options.timeout``: abort, pause to complete, or
  post-copy (post-copy only if the run was started with it allowed; otherwise abort, which leaves the VM as
  it was). Never during post-copy or after the switchover began: aborting then would lose the guest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hotmig_tui.core.physics import QEMU_MAX_DOWNTIME
from hotmig_tui.core.run import MigrationOptions, Phase, Sample, TimeoutAction
from hotmig_tui.core.units import GiB, fmt_bytes, fmt_rate, fmt_seconds

DOWNTIME_SCHEDULE = (0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
STALL_ITERATIONS = 3
MIN_PROGRESS = 0.05
# A step must cover the needed downtime with this much to spare: the dirty set and QEMU's rate both jitter.
FIT_MARGIN = 1.1
# Nova's live_migration_completion_timeout: 800 s per GiB of RAM and disk to move.
TIMEOUT_PER_GIB = 800.0


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    downtime_schedule: tuple[float, ...] = DOWNTIME_SCHEDULE  # s, ascending; the last is the ceiling
    stall_iterations: int = STALL_ITERATIONS  # K iterations without a new low make a stall
    min_progress: float = MIN_PROGRESS  # a new low must beat the best by this share
    auto_converge: bool = True  # the policy may switch auto-converge on (the run's options must allow it too)
    postcopy: bool = True  # the policy may switch to post-copy (the run's options must allow it too)
    fit_steps: bool = True  # jump to the step that fits; False: climb one step per stall, like Nova and oVirt

    def __post_init__(self) -> None:
        steps = self.downtime_schedule
        if any(s <= 0 for s in steps) or list(steps) != sorted(set(steps)):
            raise ValueError(f"downtime_schedule must be positive and strictly ascending: {steps}")
        if self.stall_iterations < 1:
            raise ValueError(f"stall_iterations must be at least 1: {self.stall_iterations}")
        if not 0.0 <= self.min_progress < 1.0:
            raise ValueError(f"min_progress must be within 0..1: {self.min_progress}")

    @property
    def ceiling(self) -> float | None:
        return self.downtime_schedule[-1] if self.downtime_schedule else None

    def steps_above(self, limit: float) -> tuple[float, ...]:
        # A little tolerance, so 0.30000000000000004 in force does not make 0.3 look like a raise.
        return tuple(s for s in self.downtime_schedule if s > limit + 1e-9)


# --- Actions: what the engine should do, and why. ----------------------------------------------------------
# ``iteration``: the iteration it was decided at (None: unknown); ``on_timeout``: taken by the timeout.


@dataclass(frozen=True, slots=True)
class SetMaxDowntime:
    seconds: float
    reason: str
    iteration: int | None = None
    on_timeout: bool = False


@dataclass(frozen=True, slots=True)
class EnableAutoConverge:
    reason: str
    iteration: int | None = None
    on_timeout: bool = False


@dataclass(frozen=True, slots=True)
class StartPostcopy:
    reason: str
    iteration: int | None = None
    on_timeout: bool = False


@dataclass(frozen=True, slots=True)
class Abort:
    reason: str
    iteration: int | None = None
    on_timeout: bool = False


@dataclass(frozen=True, slots=True)
class PauseToComplete:
    """Pause the guest so the last copy completes (Nova's force_complete without post-copy, virsh
    --timeout-suspend). The guest stays paused until the target resumes it."""

    reason: str
    iteration: int | None = None
    on_timeout: bool = False


@dataclass(frozen=True, slots=True)
class Notice:
    """Nothing to do, but the log should say why (a stall with nothing left to try, a timeout let pass)."""

    reason: str
    iteration: int | None = None
    on_timeout: bool = False


Action = SetMaxDowntime | EnableAutoConverge | StartPostcopy | Abort | PauseToComplete | Notice
# Actions after which pre-copy is over one way or another: the convergence policy stops stepping.
_ENDINGS = (StartPostcopy, Abort, PauseToComplete)


# --- Reading the run so far. --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Boundary:
    """An iteration as the samples saw it."""

    iteration: int
    t: float  # the first sample in it
    remaining: int  # the dirty set the sync that began it found (estimated, see ``boundaries``)


def boundaries(samples: Sequence[Sample]) -> list[Boundary]:
    """One Boundary per pre-copy iteration seen, in order. Polls miss short iterations; that is fine.

    A poll lands some time after the sync, when part of the new dirty set is already sent: reading
    memory_remaining alone would under-read it by up to a poll interval of sending. When the previous
    iteration's last sample is at hand, the set is rebuilt from the bytes sent since: the previous pass ended
    when processed reached its processed + remaining, so set = remaining + processed − that.
    """
    seen: dict[int, Boundary] = {}
    last: dict[int, Sample] = {}
    for s in samples:
        if s.phase is not Phase.PRECOPY or s.postcopy or s.iteration is None or s.memory_remaining is None:
            continue
        estimate = s.memory_remaining
        before = last.get(s.iteration - 1)
        if (
            before is not None
            and before.memory_remaining is not None
            and before.memory_processed is not None
            and s.memory_processed is not None
        ):
            sent_since = s.memory_processed - (before.memory_processed + before.memory_remaining)
            estimate = max(estimate, s.memory_remaining + sent_since)
        b = seen.get(s.iteration)
        if b is None or estimate > b.remaining:
            seen[s.iteration] = Boundary(s.iteration, b.t if b else s.t, estimate)
        last[s.iteration] = s
    return sorted(seen.values(), key=lambda b: b.iteration)


def last_new_low(bounds: Sequence[Boundary], min_progress: float = MIN_PROGRESS) -> int | None:
    """The iteration where remaining memory last beat its best so far by ``min_progress``.

    Smaller gains do not move the best, so slow but real progress still adds up to a new low now and then.
    """
    best, last = None, None
    for b in bounds:
        if best is None or b.remaining < best * (1.0 - min_progress):
            best, last = b.remaining, b.iteration
    return last


def last_change(samples: Sequence[Sample]) -> int:
    """The latest iteration where the samples show a change of limit, bandwidth, or a rising throttle: whoever
    made it (the policy, the user, QEMU's auto-converge), it deserves its own iterations to work."""
    last, prev = 0, None
    for s in samples:
        if s.iteration is None:
            continue
        if prev is not None and (
            _changed(prev.max_downtime, s.max_downtime)
            or _changed(prev.bandwidth, s.bandwidth)
            or (s.throttle or 0.0) > (prev.throttle or 0.0)
        ):
            last = s.iteration
        prev = s
    return last


def _changed(before: float | None, after: float | None) -> bool:
    return before is not None and after is not None and abs(before - after) > 1e-9


def stalled_iterations(samples: Sequence[Sample], min_progress: float = MIN_PROGRESS, since: int = 0) -> int:
    """Iterations since remaining memory last reached a new low (or since ``since``, if later)."""
    bounds = boundaries(samples)
    if not bounds:
        return 0
    low = last_new_low(bounds, min_progress) or 0
    return bounds[-1].iteration - max(low, since, last_change(samples))


def limit_in_force(samples: Sequence[Sample], options: MigrationOptions) -> float:
    """The max downtime now: as the latest sample reports it, else as the run was started."""
    for s in reversed(samples):
        if s.max_downtime is not None:
            return s.max_downtime
    return options.max_downtime if options.max_downtime is not None else QEMU_MAX_DOWNTIME


def postcopy_active(samples: Sequence[Sample], taken: Sequence[Action] = ()) -> bool:
    return bool(samples and samples[-1].postcopy) or any(isinstance(a, StartPostcopy) for a in taken)


def auto_converge_active(samples: Sequence[Sample], taken: Sequence[Action] = ()) -> bool:
    return any((s.throttle or 0.0) > 0 for s in samples) or any(
        isinstance(a, EnableAutoConverge) for a in taken
    )


def needed_downtime(remaining: float, sample: Sample) -> float | None:
    """The limit at which QEMU would stop the guest now: remaining over the rate QEMU measures."""
    rate = sample.transfer_rate or sample.bandwidth
    return remaining / rate if rate else None


# --- The decisions. -----------------------------------------------------------------------------------------


def timeout_action(
    samples: Sequence[Sample], options: MigrationOptions, taken: Sequence[Action] = ()
) -> Action | None:
    """The timeout's action, once: at the first sample at or past ``options.timeout``."""
    if options.timeout is None or not samples or any(a.on_timeout for a in taken):
        return None
    now = samples[-1]
    if now.phase.final or now.t < options.timeout:
        return None
    it = now.iteration
    left = now.data_remaining if now.data_remaining is not None else now.memory_remaining
    head = f"timeout {fmt_seconds(options.timeout)} reached"
    head += f" at iteration {it}" if it is not None else ""
    head += f" with {fmt_bytes(left)} still to copy" if left is not None else ""
    if postcopy_active(samples, taken):
        return Notice(
            f"{head} during post-copy: letting it finish (aborting now would lose the guest)", it, True
        )
    if now.phase in (Phase.SWITCHOVER, Phase.RESUMED, Phase.CLEANUP):
        return Notice(f"{head} after the switchover began: letting it finish", it, True)
    kept = "aborting; the VM keeps running where it was"
    match options.timeout_action:
        case TimeoutAction.ABORT:
            return Abort(f"{head}: {kept}", it, True)
        case TimeoutAction.PAUSE:
            rate = now.transfer_rate or now.bandwidth
            paused = (
                f" (~{fmt_seconds(left / rate)} paused at {fmt_rate(rate)})"
                if left is not None and rate
                else ""
            )
            return PauseToComplete(f"{head}: pausing the guest so the copy completes{paused}", it, True)
        case TimeoutAction.POSTCOPY:
            if not options.postcopy:
                return Abort(f"{head}: post-copy was not allowed when the run started, so {kept}", it, True)
            if now.phase is not Phase.PRECOPY:
                return Abort(
                    f"{head} during {now.phase.value}: post-copy only takes over memory, so {kept}", it, True
                )
            return StartPostcopy(f"{head}: switching to post-copy", it, True)
    return None


def convergence_step(
    samples: Sequence[Sample], config: PolicyConfig, options: MigrationOptions, taken: Sequence[Action] = ()
) -> Action | None:
    """At a stall in pre-copy, the next step: raise max downtime, auto-converge, post-copy (or why not)."""
    if not options.policy or not samples or samples[-1].phase is not Phase.PRECOPY:
        return None
    if postcopy_active(samples, taken) or any(isinstance(a, _ENDINGS) for a in taken):
        return None
    bounds = boundaries(samples)
    if not bounds:
        return None
    current = bounds[-1]
    steps_taken = [a for a in taken if not a.on_timeout]
    if any(a.iteration == current.iteration for a in steps_taken):
        return None  # one step per iteration: the last one has not had its chance yet
    since = max((a.iteration or 0 for a in steps_taken), default=0)
    stalled = stalled_iterations(samples, config.min_progress, since)
    if stalled < config.stall_iterations:
        return None
    return _escalate(samples, current, stalled, config, options, taken)


def _escalate(
    samples: Sequence[Sample],
    current: Boundary,
    stalled: int,
    config: PolicyConfig,
    options: MigrationOptions,
    taken: Sequence[Action],
) -> Action | None:
    it = current.iteration
    left = fmt_bytes(current.remaining)
    where = f"no new low in remaining memory for {stalled} iterations ({left} at iteration {it})"
    # Never raise to a value already used: the policy's own last raise counts even if a sample lags behind it.
    floor = max(
        [limit_in_force(samples, options)] + [a.seconds for a in taken if isinstance(a, SetMaxDowntime)]
    )
    steps = config.steps_above(floor)
    needed = needed_downtime(current.remaining, samples[-1])

    if steps and (needed is None or not config.fit_steps):
        return SetMaxDowntime(steps[0], f"{where}: raising max downtime to {fmt_seconds(steps[0])}", it)
    fitting = [s for s in steps if needed is not None and s >= needed * FIT_MARGIN]
    if fitting:
        return SetMaxDowntime(
            fitting[0],
            f"{where}; sending it needs ~{fmt_seconds(needed)}: "
            f"raising max downtime to {fmt_seconds(fitting[0])}",
            it,
        )
    why = _why_no_step(where, needed, floor, max(floor, config.ceiling or floor))
    if config.auto_converge and options.auto_converge and not auto_converge_active(samples, taken):
        return EnableAutoConverge(f"{why}: switching on auto-converge", it)
    if config.postcopy and options.postcopy:
        return StartPostcopy(f"{why}: switching to post-copy", it)
    if steps:
        return SetMaxDowntime(
            steps[0], f"{why}; nothing else allowed: raising max downtime to {fmt_seconds(steps[0])}", it
        )
    if not any(isinstance(a, Notice) and not a.on_timeout for a in taken):
        then = "the timeout" if options.timeout is not None else "the operator"
        return Notice(
            f"{why}; nothing left to try (downtime at its ceiling, no auto-converge or post-copy "
            f"allowed): waiting for {then}",
            it,
        )
    return None


def _why_no_step(where: str, needed: float | None, floor: float, top: float) -> str:
    if needed is None:
        return where
    if needed * FIT_MARGIN > top:
        beyond = "above" if needed > top else "too close to"
        return f"{where}; sending it needs ~{fmt_seconds(needed)}, {beyond} the {fmt_seconds(top)} ceiling"
    # The limit already covers it on paper: QEMU's own numbers (its rate, the set it found) disagree.
    covered = f"{fmt_seconds(floor)} should cover the ~{fmt_seconds(needed)} it needs"
    return f"{where}; {covered}, yet it does not finish"


def decide(
    history: Sequence[Sample],
    config: PolicyConfig | None = None,
    options: MigrationOptions | None = None,
    taken: Sequence[Action] = (),
) -> list[Action]:
    """The actions to take after the latest sample. The timeout, when it fires, supersedes any step."""
    config = config or PolicyConfig()
    options = options or MigrationOptions()
    if not history or history[-1].phase.final:
        return []
    timeout = timeout_action(history, options, taken)
    if timeout is not None:
        return [timeout]
    step = convergence_step(history, config, options, taken)
    return [step] if step is not None else []


def default_timeout(data_bytes: float, per_gib: float = TIMEOUT_PER_GIB) -> float:
    """Nova's completion timeout for ``data_bytes`` of RAM and disk: a starting value for the wizard."""
    return per_gib * max(1.0, data_bytes / GiB)
