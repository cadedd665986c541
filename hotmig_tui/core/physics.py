"""One physical model of a live migration, shared by the predictor and the simulator (DESIGN.md §6).

Pre-copy. Pass 0 sends the guest's non-zero memory, M·(1−z). Every later pass sends the distinct pages the
guest dirtied during the one before: a guest writing D bytes/s at random into a writable working set W has
dirtied S = W·(1 − exp(−D·t/W)) distinct bytes after t seconds. QEMU re-syncs its dirty bitmap when a pass
ends and stops the guest once the dirty set fits the downtime limit at the rate it measures, S ≤ B·T,
where B is the capped pre-copy rate. The final copy then runs at the link's own speed, because QEMU lifts
the bandwidth cap for it (lab-notes, "What real pre-copy runs showed": expected ~2 s, real 43–67 ms). The
dirty set settles at the fixed point S* of that recurrence; when S* > B·T pre-copy never converges without
help. Auto-converge scales D by (1 − throttle); post-copy pauses the guest only for the device state and
fetches the rest afterwards.

Disks, mirrored with synchronous writes: the background copy reads the allocated bytes while the guest's
writes go to both sides and take their share of the link; READY when the background copy is done, then pivot.
A whole machine mirrors its disks first, then copies memory over the same link, then pauses once.

The simulator drives the ``*State`` classes step by step (``advance(dt, ...)`` returns the new state); the
predictor runs the same states pass by pass (``run_precopy``). Both see the same numbers for the same inputs.
Units: bytes, bytes/s, seconds since the phase started. Pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from hotmig_tui.core.units import MiB

# --- Knobs that set the model's accuracy. Change them here, with the evidence. ----------------------------

# QEMU's own downtime limit when nobody sets one (migrateGetMaxDowntime() = 300 ms, anchors.md).
QEMU_MAX_DOWNTIME = 0.3
# Share of RAM that is zero pages, which QEMU sends as a few header bytes. Freshly booted guests are mostly
# zero (the lab's 256 MiB guest: well over half); long-running ones fill free memory with page cache. 0.2 is a
# middle guess; a completed job's memory_constant/memory_total gives a VM's real share.
ZERO_PAGE_SHARE = 0.2
# Device state sent while the guest is paused (vCPU registers, virtio queues, chipset, small device buffers).
# Video RAM is a RAM block and goes with memory, not here. vGPUs and large NVMe state raise it.
DEVICE_STATE_BYTES = 1 * MiB
# Stopping the vCPUs, the last bitmap sync, loading the state on the target and resuming it: post-copy runs in
# the lab paused the guest 4–5 ms in all, so 5 ms.
RESUME_TIME = 0.005
# libvirt's Begin/Prepare/Perform handshake and the target QEMU's start before the first byte of RAM moves;
# 0.1–1 s on real hosts, more under TCG.
SETUP_TIME = 0.3
# Post-copy first sends the map of pages still to fetch: one bit per 4 KiB page.
POSTCOPY_MAP_SHARE = 1 / (4096 * 8)
# A pivot (blockJobAbort with PIVOT): flush, swap the backing node; the guest keeps running.
PIVOT_TIME = 0.05

# QEMU's auto-converge (anchors.md): the first throttle 20 %, +10 % per step, at most 99 %. It steps up when
# the bytes dirtied in a period exceed 50 % of the bytes sent in it, the second time that happens; it looks at
# most once a second (migration_bitmap_sync only re-evaluates periods longer than 1 s).
AUTO_CONVERGE_INITIAL = 0.20
AUTO_CONVERGE_INCREMENT = 0.10
AUTO_CONVERGE_MAX = 0.99
AUTO_CONVERGE_TRIGGER = 0.50
AUTO_CONVERGE_HIGH_PERIODS = 2
RATE_PERIOD = 1.0

# When run_precopy gives up: the dirty set has not shrunk by STALL_PROGRESS for STALL_PASSES passes (settled
# at its fixed point, or growing toward it), or MAX_PASSES passes went by (D a hair under B converges slowly).
STALL_PASSES = 30
STALL_PROGRESS = 0.001
MAX_PASSES = 10_000
# Guards one advance() against an endless loop when a caller passes a degenerate limit.
_MAX_SYNCS_PER_STEP = 10_000


def dirty_set(working_set: float, written: float) -> float:
    """Distinct bytes dirty after the guest wrote ``written`` bytes at random into ``working_set`` bytes."""
    if working_set <= 0 or written <= 0:
        return 0.0
    # expm1 keeps precision when written ≪ working set (the set then grows like written itself).
    return -working_set * math.expm1(-written / working_set)


def fixed_point(working_set: float, dirty_rate: float, bandwidth: float) -> float:
    """The dirty set S* where pre-copy settles: S = W·(1 − exp(−(D/B)·S/W)).

    Zero when the guest dirties no faster than the link sends (D ≤ B): each pass is then smaller than the one
    before and pre-copy always converges, given passes enough. Otherwise S*/W is the root x in (0, 1) of
    x = 1 − exp(−λx), λ = D/B, found by Newton's method from x = 1 (g(x) = x − 1 + e^(−λx) is convex and
    positive there, so the steps fall monotonically onto the root).
    """
    if working_set <= 0 or dirty_rate <= 0:
        return 0.0
    if bandwidth <= 0:
        return float(working_set)
    lam = dirty_rate / bandwidth
    if lam <= 1.0:
        return 0.0
    x = 1.0
    for _ in range(200):
        e = math.exp(-lam * x)
        step = (x - 1.0 + e) / (1.0 - lam * e)
        x -= step
        if abs(step) < 1e-13:
            break
    return working_set * x


def critical_dirty_rate(working_set: float, bandwidth: float, max_downtime: float) -> float:
    """The dirty rate at which S*/B = T: below it pre-copy converges, above it never (closed form).

    From x = 1 − exp(−λx) with x = B·T/W: λ = −ln(1 − x)/x. Infinite when B·T covers the whole working set.
    """
    if working_set <= 0 or bandwidth * max_downtime >= working_set:
        return math.inf
    x = bandwidth * max_downtime / working_set
    if x <= 0:
        return bandwidth  # no downtime allowed: converges only while each pass shrinks (D < B)
    return bandwidth * -math.log1p(-x) / x


def next_throttle(throttle: float) -> float:
    """QEMU's next auto-converge step from ``throttle`` (0 = not throttling yet)."""
    if throttle <= 0:
        return AUTO_CONVERGE_INITIAL
    return min(AUTO_CONVERGE_MAX, throttle + AUTO_CONVERGE_INCREMENT)


@dataclass(frozen=True, slots=True)
class Switchover:
    """The pause that ends pre-copy."""

    downtime: float  # s the guest does not run: the last copy at link speed, device state, resume
    bytes: float  # sent while paused (memory and device state)
    iterations: int  # libvirt's final memory_iteration: the completion's own bitmap sync counts one more
    t_end: float  # s since pre-copy started, when the guest runs on the target


@dataclass(frozen=True, slots=True)
class PostcopyState:
    """After the switch to post-copy: the guest runs on the target while the rest of its memory follows."""

    t: float
    remaining: float  # bytes the target still lacks
    processed: float  # memory bytes sent so far, pre-copy included
    iteration: int
    downtime: float  # s the guest was paused at the switch

    @property
    def done(self) -> bool:
        return self.remaining <= 0

    def time_to_finish(self, bandwidth: float) -> float:
        return self.remaining / bandwidth if bandwidth > 0 else math.inf

    def advance(self, dt: float, bandwidth: float) -> PostcopyState:
        """Send for ``dt`` seconds at ``bandwidth`` (QEMU's post-copy rate is unlimited by default)."""
        sent = min(self.remaining, max(0.0, bandwidth) * dt)
        return replace(self, t=self.t + dt, remaining=self.remaining - sent, processed=self.processed + sent)


@dataclass(frozen=True, slots=True)
class PrecopyState:
    """Pre-copy at one instant. Build it with ``start``; ``advance`` returns the state ``dt`` seconds later.

    ``iteration`` is libvirt's memory_iteration (QEMU's bitmap-sync count): 1 during the first pass, one more
    at each pass end. ``converged`` means the last sync found a dirty set that fits the limit: the caller then
    pauses the guest with ``stop_and_copy`` (QEMU does so at once).
    """

    memory: int
    working_set: float
    zero_share: float
    t: float = 0.0
    iteration: int = 1
    pass_size: float = 0.0  # bytes this pass sends (non-zero pages)
    pass_sent: float = 0.0
    pass_started: float = 0.0
    written: float = 0.0  # bytes the guest wrote since the last sync (its dirty set is dirty_set(W, written))
    processed: float = 0.0  # memory bytes sent so far (memory_processed)
    throttle: float = 0.0  # 0..1, auto-converge
    converged: bool = False
    # QEMU's memory_dirty_rate (bytes/s): distinct bytes dirtied per period; 0 until the first sync.
    reported_dirty_rate: float = 0.0
    # Bookkeeping of QEMU's ≥ 1 s rate periods (reported dirty rate, auto-converge trigger).
    period_start: float = 0.0
    period_dirtied: float = 0.0
    period_sent: float = 0.0
    high_periods: int = 0

    @classmethod
    def start(
        cls, memory: int, working_set: float, zero_share: float = ZERO_PAGE_SHARE, throttle: float = 0.0
    ) -> PrecopyState:
        if memory <= 0:
            raise ValueError(f"memory must be positive: {memory}")
        if not 0.0 <= zero_share <= 1.0:
            raise ValueError(f"zero_share must be within 0..1: {zero_share}")
        working_set = min(max(0.0, float(working_set)), float(memory))
        return cls(
            memory=memory,
            working_set=working_set,
            zero_share=zero_share,
            pass_size=memory * (1.0 - zero_share),
            throttle=throttle,
        )

    # --- what a job-stats poll would show ------------------------------------------------------------------

    @property
    def remaining(self) -> float:
        """memory_remaining: pages still marked in the bitmap. The first pass also walks the zero pages."""
        left = self.pass_size - self.pass_sent
        if self.iteration == 1:
            return left / (1.0 - self.zero_share) if self.zero_share < 1.0 else 0.0
        return left

    def expected_downtime(self, bandwidth: float) -> float:
        """QEMU's running estimate (the job's ``downtime``): what remains over the capped rate."""
        return self.remaining / bandwidth if bandwidth > 0 else math.inf

    def time_to_sync(self, bandwidth: float) -> float:
        """Seconds until this pass ends at ``bandwidth``."""
        left = self.pass_size - self.pass_sent
        if left <= 0:
            return 0.0
        return left / bandwidth if bandwidth > 0 else math.inf

    # --- stepping ------------------------------------------------------------------------------------------

    def advance(
        self,
        dt: float,
        *,
        bandwidth: float,
        dirty_rate: float,
        max_downtime: float,
        auto_converge: bool = False,
    ) -> PrecopyState:
        """The state ``dt`` seconds later, sending at ``bandwidth`` while the guest writes ``dirty_rate``.

        Passes that end inside ``dt`` are synced at their exact end, so the result does not depend on how the
        caller slices time. Stops advancing once converged (the guest is about to pause).
        """
        if max_downtime <= 0:
            raise ValueError(f"max_downtime must be positive: {max_downtime}")
        state = self
        left_dt = max(0.0, dt)
        for _ in range(_MAX_SYNCS_PER_STEP):
            if state.converged:
                break
            to_sync = state.time_to_sync(bandwidth)
            if to_sync > left_dt:
                state = state._send(left_dt, bandwidth, dirty_rate, ends_pass=False)
                break
            state = state._send(to_sync, bandwidth, dirty_rate, ends_pass=True)
            state = state._sync(bandwidth, max_downtime, auto_converge)
            left_dt -= to_sync
        return state

    def _send(self, dt: float, bandwidth: float, dirty_rate: float, *, ends_pass: bool) -> PrecopyState:
        # Set the pass's end exactly, not by adding bandwidth×dt: no float residue may start a phantom pass.
        sent = self.pass_size - self.pass_sent if ends_pass else bandwidth * dt
        return replace(
            self,
            t=self.t + dt,
            pass_sent=self.pass_size if ends_pass else self.pass_sent + sent,
            processed=self.processed + sent,
            written=self.written + max(0.0, dirty_rate) * (1.0 - self.throttle) * dt,
        )

    def _sync(self, bandwidth: float, max_downtime: float, auto_converge: bool) -> PrecopyState:
        """A pass ended: QEMU syncs the bitmap, updates its rates and throttle, and decides to stop or not."""
        dirtied = dirty_set(self.working_set, self.written)
        period_dirtied = self.period_dirtied + dirtied
        period_sent = self.period_sent + self.pass_size
        period = self.t - self.period_start
        reported, throttle, high = self.reported_dirty_rate, self.throttle, self.high_periods
        period_start = self.period_start
        if period >= RATE_PERIOD:
            reported = period_dirtied / period
            if auto_converge and period_dirtied > AUTO_CONVERGE_TRIGGER * period_sent:
                high += 1
                if high >= AUTO_CONVERGE_HIGH_PERIODS:
                    throttle, high = next_throttle(throttle), 0
            period_start, period_dirtied, period_sent = self.t, 0.0, 0.0
        return replace(
            self,
            iteration=self.iteration + 1,
            pass_size=dirtied,
            pass_sent=0.0,
            pass_started=self.t,
            written=0.0,
            converged=dirtied <= bandwidth * max_downtime,
            reported_dirty_rate=reported,
            throttle=throttle,
            high_periods=high,
            period_start=period_start,
            period_dirtied=period_dirtied,
            period_sent=period_sent,
        )

    # --- the three ways pre-copy ends ----------------------------------------------------------------------

    def _unsent(self) -> float:
        """What the target still lacks: the rest of this pass and whatever was dirtied since the last sync."""
        return (self.pass_size - self.pass_sent) + dirty_set(self.working_set, self.written)

    def stop_and_copy(
        self,
        link_bandwidth: float,
        *,
        device_state: float = DEVICE_STATE_BYTES,
        resume_time: float = RESUME_TIME,
    ) -> Switchover:
        """Pause the guest and send what is left at the link's own speed (QEMU lifts the cap for it)."""
        sent = self._unsent() + device_state
        downtime = sent / link_bandwidth + resume_time if link_bandwidth > 0 else math.inf
        return Switchover(
            downtime=downtime, bytes=sent, iterations=self.iteration + 1, t_end=self.t + downtime
        )

    def pause_and_complete(
        self,
        *,
        bandwidth: float,
        link_bandwidth: float,
        max_downtime: float,
        device_state: float = DEVICE_STATE_BYTES,
        resume_time: float = RESUME_TIME,
    ) -> Switchover:
        """Force-complete by pausing the guest (a timeout action): the guest writes nothing more, pre-copy
        finishes its passes at the capped rate until the dirty set fits, then stops and copies."""
        state = self
        # Paused, the guest dirties nothing: at most two more syncs (this pass, then what was dirtied before).
        for _ in range(3):
            if state.converged:
                break
            state = state.advance(
                state.time_to_sync(bandwidth), bandwidth=bandwidth, dirty_rate=0.0, max_downtime=max_downtime
            )
        final = state.stop_and_copy(link_bandwidth, device_state=device_state, resume_time=resume_time)
        return Switchover(
            downtime=final.t_end - self.t,
            bytes=final.bytes + (state.processed - self.processed),
            iterations=final.iterations,
            t_end=final.t_end,
        )

    def start_postcopy(
        self,
        link_bandwidth: float,
        *,
        device_state: float = DEVICE_STATE_BYTES,
        resume_time: float = RESUME_TIME,
    ) -> PostcopyState:
        """Switch to post-copy: pause for the device state and the map of missing pages, resume on the target.
        QEMU syncs the bitmap once more at the switch."""
        paused_bytes = device_state + self.memory * POSTCOPY_MAP_SHARE
        downtime = paused_bytes / link_bandwidth + resume_time if link_bandwidth > 0 else math.inf
        return PostcopyState(
            t=self.t + downtime,
            remaining=self._unsent(),
            processed=self.processed + paused_bytes,
            iteration=self.iteration + 1,
            downtime=downtime,
        )


@dataclass(frozen=True, slots=True)
class Pass:
    """One pre-copy pass as the predictor saw it."""

    iteration: int  # libvirt's memory_iteration during this pass
    start: float  # s since pre-copy started
    duration: float
    size: float  # bytes sent
    throttle: float


@dataclass(frozen=True, slots=True)
class PrecopyRun:
    """Pre-copy run pass by pass until it converges or settles without converging."""

    state: PrecopyState  # converged: ready for stop_and_copy; otherwise where it settled
    passes: tuple[Pass, ...]

    @property
    def converged(self) -> bool:
        return self.state.converged

    @property
    def smallest_dirty_set(self) -> float:
        """The smallest set any sync found (after the first pass): what a raised limit would have to cover."""
        sizes = [p.size for p in self.passes[1:]] + [self.state.pass_size]
        return min(sizes)


def run_precopy(
    state: PrecopyState,
    *,
    bandwidth: float,
    dirty_rate: float,
    max_downtime: float,
    auto_converge: bool = False,
    max_passes: int = MAX_PASSES,
) -> PrecopyRun:
    """Advance ``state`` one whole pass at a time, with constant inputs, until it converges or settles.

    Settled means the dirty set found at STALL_PASSES syncs in a row neither beat the best one by
    STALL_PROGRESS nor came with a higher auto-converge throttle (while that climbs, pre-copy still works).
    """
    passes: list[Pass] = []
    best, since_best = math.inf, 0
    while not state.converged and len(passes) < max_passes and bandwidth > 0:
        nxt = state.advance(
            state.time_to_sync(bandwidth),
            bandwidth=bandwidth,
            dirty_rate=dirty_rate,
            max_downtime=max_downtime,
            auto_converge=auto_converge,
        )
        passes.append(
            Pass(
                state.iteration,
                state.pass_started,
                nxt.t - state.pass_started,
                state.pass_size,
                state.throttle,
            )
        )
        throttled_more = nxt.throttle > state.throttle
        state = nxt
        if state.pass_size < best * (1.0 - STALL_PROGRESS) or throttled_more:
            best, since_best = min(best, state.pass_size), 0
        else:
            since_best += 1
        if since_best >= STALL_PASSES:
            break
    return PrecopyRun(state=state, passes=tuple(passes))


@dataclass(frozen=True, slots=True)
class MirrorState:
    """A disk mirror with synchronous writes (blockCopy SYNCHRONOUS_WRITES, NBD in a whole-machine move).

    The background copy reads the allocated bytes once; the guest's writes go to both sides as they happen and
    take their share of the link. libvirt's blockJobInfo shows ``cur``/``end``; ``end`` grows with the writes.
    """

    allocated: float
    copied: float = 0.0  # bytes the background copy has done
    written: float = 0.0  # guest writes mirrored since the start
    t: float = 0.0

    @property
    def cur(self) -> float:
        return self.copied + self.written

    @property
    def end(self) -> float:
        return self.allocated + self.written

    @property
    def ready(self) -> bool:
        return self.copied >= self.allocated

    def time_to_ready(self, bandwidth: float, write_rate: float = 0.0) -> float:
        return mirror_time(self.allocated - self.copied, bandwidth, write_rate)

    def advance(self, dt: float, bandwidth: float, write_rate: float = 0.0) -> MirrorState:
        # A synchronous write waits for the target, so the guest cannot write faster than the link carries.
        writes = min(max(0.0, write_rate), max(0.0, bandwidth))
        background = min(self.allocated - self.copied, (bandwidth - writes) * dt) if not self.ready else 0.0
        return replace(
            self, copied=self.copied + max(0.0, background), written=self.written + writes * dt, t=self.t + dt
        )


def mirror_time(allocated: float, bandwidth: float, write_rate: float = 0.0) -> float:
    """Seconds until a mirror of ``allocated`` bytes is READY (inf: writes fill the link)."""
    if allocated <= 0:
        return 0.0
    spare = bandwidth - max(0.0, write_rate)
    return allocated / spare if spare > 0 else math.inf
