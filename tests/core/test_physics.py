"""The shared migration model (core.physics): formulas checked by hand, stepping checked against itself."""

from __future__ import annotations

import itertools
import math

import pytest

from hotmig_tui.core.physics import (
    AUTO_CONVERGE_INITIAL,
    AUTO_CONVERGE_MAX,
    DEVICE_STATE_BYTES,
    RESUME_TIME,
    MirrorState,
    PrecopyState,
    critical_dirty_rate,
    dirty_set,
    fixed_point,
    mirror_time,
    next_throttle,
    run_precopy,
)
from hotmig_tui.core.units import GiB, MiB


def test_dirty_set_grows_like_the_writes_then_saturates_at_the_working_set() -> None:
    assert dirty_set(100 * MiB, 1 * MiB) == pytest.approx(1 * MiB, rel=0.01)  # few rewrites yet
    assert dirty_set(100 * MiB, 100 * MiB) == pytest.approx(100 * MiB * (1 - math.exp(-1)))
    assert dirty_set(100 * MiB, 10 * GiB) == pytest.approx(100 * MiB)
    assert dirty_set(0, 5 * MiB) == 0.0
    assert dirty_set(100 * MiB, 0) == 0.0


def test_fixed_point_is_zero_when_the_link_outruns_the_guest() -> None:
    assert fixed_point(1 * GiB, dirty_rate=50 * MiB, bandwidth=100 * MiB) == 0.0
    assert fixed_point(1 * GiB, dirty_rate=100 * MiB, bandwidth=100 * MiB) == 0.0


def test_fixed_point_solves_the_recurrence() -> None:
    w, d, b = 9 * GiB, 320 * MiB, 125e6
    s = fixed_point(w, d, b)
    assert 0 < s < w
    assert s == pytest.approx(w * (1 - math.exp(-(d / b) * s / w)), rel=1e-9)


def test_critical_dirty_rate_is_where_the_settled_set_just_fits() -> None:
    w, b, t = 100 * MiB, 100 * MiB, 0.4
    # Closed form: x = B·T/W = 0.4, λ = −ln(0.6)/0.4 = 1.27706 → D = 127.7 MiB/s.
    d = critical_dirty_rate(w, b, t)
    assert d == pytest.approx(-math.log(0.6) / 0.4 * 100 * MiB)
    assert fixed_point(w, d, b) / b == pytest.approx(t, rel=1e-6)
    # A limit whose copy covers the whole working set converges at any dirty rate.
    assert critical_dirty_rate(w, b, 1.5) == math.inf


def test_hand_checked_precopy_passes() -> None:
    # M = 1000 MiB, no zero pages, W = 100 MiB, D = 50 MiB/s, B = 100 MiB/s, T = 0.3 s (threshold 30 MiB).
    # pass 0: 1000 MiB in 10 s                 → S1 = 100·(1 − e^−5)        = 99.326 MiB (> 30)
    # pass 1: 99.326 MiB in 0.99326 s          → S2 = 100·(1 − e^−0.49663)  = 39.142 MiB (> 30)
    # pass 2: 39.142 MiB in 0.39142 s          → S3 = 100·(1 − e^−0.195711) = 17.775 MiB (≤ 30: stop)
    # pre-copy time 10 + 0.99326 + 0.39142 = 11.38468 s; downtime 17.775/100 + 1/100 + 0.005 = 0.19275 s.
    # libvirt's count: 1 during pass 0, +1 per sync (3 syncs), +1 for the completion's own sync = 5.
    state = PrecopyState.start(1000 * MiB, 100 * MiB, zero_share=0.0)
    run = run_precopy(state, bandwidth=100 * MiB, dirty_rate=50 * MiB, max_downtime=0.3)
    assert run.converged
    assert [p.iteration for p in run.passes] == [1, 2, 3]
    assert [p.size / MiB for p in run.passes] == pytest.approx([1000, 99.3262, 39.1423], rel=1e-5)
    assert run.state.pass_size / MiB == pytest.approx(17.7750, rel=1e-5)
    assert run.state.t == pytest.approx(11.38468, rel=1e-5)
    end = run.state.stop_and_copy(100 * MiB)
    assert end.iterations == 5
    assert end.downtime == pytest.approx(0.177750 + DEVICE_STATE_BYTES / (100 * MiB) + RESUME_TIME, rel=1e-5)
    assert end.t_end == pytest.approx(11.38468 + end.downtime, rel=1e-6)


def test_zero_pages_shorten_the_first_pass_but_count_in_remaining() -> None:
    state = PrecopyState.start(1000 * MiB, 100 * MiB, zero_share=0.6)
    assert state.pass_size == pytest.approx(400 * MiB)
    assert state.remaining == pytest.approx(1000 * MiB)  # the bitmap walks all pages
    later = state.advance(2.0, bandwidth=100 * MiB, dirty_rate=0.0, max_downtime=0.3)
    assert later.processed == pytest.approx(200 * MiB)
    assert later.remaining == pytest.approx(500 * MiB)


def test_advance_does_not_depend_on_how_time_is_sliced() -> None:
    start = PrecopyState.start(2 * GiB, 300 * MiB, zero_share=0.1)
    kw = dict(bandwidth=80 * MiB, dirty_rate=120 * MiB, max_downtime=0.3, auto_converge=True)
    once = start.advance(60.0, **kw)  # type: ignore[arg-type]
    sliced = start
    for _ in range(600):
        sliced = sliced.advance(0.1, **kw)  # type: ignore[arg-type]
    assert sliced.iteration == once.iteration
    assert sliced.throttle == pytest.approx(once.throttle)
    assert sliced.processed == pytest.approx(once.processed, rel=1e-9)
    assert sliced.remaining == pytest.approx(once.remaining, rel=1e-6, abs=1.0)


def test_the_final_copy_runs_at_link_speed_while_the_estimate_divides_by_the_cap() -> None:
    # lab-notes: expected ~2 s, real 43–67 ms, because QEMU lifts the cap for the stop-and-copy.
    state = PrecopyState.start(256 * MiB, 64 * MiB, zero_share=0.5)
    run = run_precopy(state, bandwidth=40 * MiB, dirty_rate=400 * MiB, max_downtime=2.0)
    assert run.converged
    expected = run.state.expected_downtime(40 * MiB)
    real = run.state.stop_and_copy(link_bandwidth=1 * GiB).downtime
    assert 1.0 < expected <= 2.0
    assert real < 0.1


def test_reported_dirty_rate_is_zero_in_the_first_pass_and_tracks_the_bandwidth_when_saturated() -> None:
    # A guest that re-dirties its whole working set every pass: QEMU's dirty rate is then the working set
    # over the pass time, i.e. it tracks the bandwidth (lab-notes).
    state = PrecopyState.start(256 * MiB, 64 * MiB, zero_share=0.5)
    kw = dict(bandwidth=20 * MiB, dirty_rate=2 * GiB, max_downtime=0.3)
    assert state.advance(1.0, **kw).reported_dirty_rate == 0.0  # type: ignore[arg-type]
    later = state.advance(30.0, **kw)  # type: ignore[arg-type]
    assert not later.converged
    assert later.reported_dirty_rate == pytest.approx(20 * MiB, rel=0.01)


def test_auto_converge_throttle_steps_like_qemu() -> None:
    steps = [0.0]
    for _ in range(12):
        steps.append(next_throttle(steps[-1]))
    assert steps[:4] == pytest.approx([0.0, 0.2, 0.3, 0.4])
    assert steps[-1] == AUTO_CONVERGE_MAX
    # In a run: nothing in the first period, then one step every second high period, up to where it converges.
    state = PrecopyState.start(1 * GiB, 200 * MiB, zero_share=0.0)
    run = run_precopy(state, bandwidth=100 * MiB, dirty_rate=300 * MiB, max_downtime=0.3, auto_converge=True)
    throttles = [p.throttle for p in run.passes]
    assert throttles[0] == 0.0 and throttles[1] == 0.0
    assert AUTO_CONVERGE_INITIAL in throttles
    assert all(b >= a for a, b in itertools.pairwise(throttles))
    assert run.converged
    plain = run_precopy(state, bandwidth=100 * MiB, dirty_rate=300 * MiB, max_downtime=0.3)
    assert not plain.converged


def test_pause_and_complete_stops_the_guest_for_the_whole_rest() -> None:
    state = PrecopyState.start(1 * GiB, 200 * MiB, zero_share=0.0)
    stuck = run_precopy(state, bandwidth=100 * MiB, dirty_rate=300 * MiB, max_downtime=0.3).state
    assert not stuck.converged
    end = stuck.pause_and_complete(bandwidth=100 * MiB, link_bandwidth=100 * MiB, max_downtime=0.3)
    # The settled set (~188 MiB) goes at the capped rate with the guest paused: ~1.9 s, then the last bits.
    assert end.downtime == pytest.approx(stuck.pass_size / (100 * MiB), rel=0.05)
    assert end.iterations >= stuck.iteration + 1


def test_postcopy_pauses_only_for_the_device_state() -> None:
    state = PrecopyState.start(1 * GiB, 200 * MiB, zero_share=0.0)
    first = state.advance(
        state.time_to_sync(100 * MiB), bandwidth=100 * MiB, dirty_rate=300 * MiB, max_downtime=0.3
    )
    switched = first.start_postcopy(link_bandwidth=1 * GiB)
    assert switched.downtime < 0.01
    assert switched.remaining == pytest.approx(first.pass_size)
    done = switched.advance(switched.time_to_finish(1 * GiB), 1 * GiB)
    assert done.done
    assert done.iteration == first.iteration + 1


def test_mirror_with_synchronous_writes() -> None:
    # 64 MiB at 8 MiB/s, guest writing 1 MiB/s: the background copy gets 7 MiB/s → 9.14 s; end grows with it.
    assert mirror_time(64 * MiB, 8 * MiB) == pytest.approx(8.0)
    assert mirror_time(64 * MiB, 8 * MiB, 1 * MiB) == pytest.approx(64 / 7)
    assert mirror_time(64 * MiB, 8 * MiB, 8 * MiB) == math.inf
    mirror = MirrorState(64 * MiB)
    for _ in range(92):
        mirror = mirror.advance(0.1, 8 * MiB, 1 * MiB)
    assert mirror.ready
    assert mirror.end == pytest.approx(64 * MiB + 9.2 * MiB)
    assert mirror.cur == pytest.approx(mirror.end)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        PrecopyState.start(0, 0)
    with pytest.raises(ValueError):
        PrecopyState.start(1 * GiB, 0, zero_share=1.5)
    with pytest.raises(ValueError):
        PrecopyState.start(1 * GiB, 0).advance(1.0, bandwidth=1.0, dirty_rate=0.0, max_downtime=0.0)
