"""The convergence policy, from recorded sample lists: what it does at stalls and at the timeout, and that it
never does the same thing twice."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace

import pytest

from hotmig_tui.core.physics import PrecopyState
from hotmig_tui.core.policy import (
    Abort,
    Action,
    EnableAutoConverge,
    Notice,
    PauseToComplete,
    PolicyConfig,
    SetMaxDowntime,
    StartPostcopy,
    boundaries,
    decide,
    default_timeout,
    stalled_iterations,
)
from hotmig_tui.core.run import MigrationOptions, Phase, Sample, TimeoutAction
from hotmig_tui.core.units import GiB, MiB

RATE = 100 * MiB


def recorded(
    sets_mib: Sequence[float],
    *,
    limit: float | Sequence[float] = 0.3,
    throttle: Sequence[float] | None = None,
    dt: float = 1.0,
) -> list[Sample]:
    """A pre-copy run as a backend records it: two polls per iteration, the first right after the sync that
    found ``sets_mib[i]`` MiB dirty, the second half-way through sending it. ``limit``/``throttle`` may vary
    by iteration, as they do once the engine applies an action."""
    samples: list[Sample] = []
    processed, t = 0.0, 0.0
    for i, size in enumerate(sets_mib):
        size *= MiB
        limit_i = limit if isinstance(limit, float) else limit[i]
        throttle_i = throttle[i] if throttle else 0.0
        for left in (size, size / 2):
            t += dt
            samples.append(
                Sample(
                    t=t,
                    phase=Phase.PRECOPY,
                    iteration=i + 1,
                    memory_total=GiB,
                    memory_processed=round(processed + size - left),
                    memory_remaining=round(left),
                    transfer_rate=RATE,
                    max_downtime=limit_i,
                    bandwidth=RATE,
                    throttle=throttle_i,
                )
            )
        processed += size
    return samples


def replay(
    samples: Sequence[Sample], config: PolicyConfig | None = None, options: MigrationOptions | None = None
) -> list[Action]:
    """Call decide after every sample, as the engine does, keeping the ledger of actions taken."""
    taken: list[Action] = []
    for n in range(1, len(samples) + 1):
        taken.extend(decide(samples[:n], config, options, taken))
    return taken


STUCK_AT_40 = [1024, 100, 42, 41, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40]


def test_a_converging_run_takes_no_action() -> None:
    assert replay(recorded([1024, 400, 200, 100, 50, 25])) == []
    # Slow but steady: 3 % less per iteration still beats the best by 5 % every other iteration.
    assert replay(recorded([1024] + [300 * 0.97**i for i in range(20)])) == []


def test_a_stall_raises_max_downtime_to_the_step_that_fits() -> None:
    # Sets: 100 → 42 (new lows), then 41, 40, 40: no 5 % gain for 3 iterations, so at iteration 6.
    # 40 MiB at 100 MiB/s needs 0.4 s; with the 10 % margin 0.44 s: the 500 ms step, skipping 400 ms.
    taken = replay(recorded(STUCK_AT_40[:7]))
    assert len(taken) == 1
    step = taken[0]
    assert isinstance(step, SetMaxDowntime)
    assert step.seconds == 0.5 and step.iteration == 6
    assert step.reason == (
        "no new low in remaining memory for 3 iterations (40 MiB at iteration 6); sending it needs ~400 ms: "
        "raising max downtime to 500 ms"
    )


def applied(samples: list[Sample], from_sample: int, **change: float) -> list[Sample]:
    """The same recording, with what the engine changed showing from sample ``from_sample`` on."""
    return samples[:from_sample] + [replace(s, **change) for s in samples[from_sample:]]


def test_a_stall_escalates_to_auto_converge_then_postcopy() -> None:
    # 500 ms at iteration 6 (sample 10) shows from the next poll on and does not help; at iteration 9
    # auto-converge, QEMU's throttle shows from the next poll; three more flat iterations: post-copy.
    samples = recorded(STUCK_AT_40 + [40] * 4)
    samples = applied(samples, 11, max_downtime=0.5)
    samples = applied(samples, 17, throttle=0.99)
    taken = replay(samples, options=MigrationOptions(auto_converge=True, postcopy=True))
    assert [(type(a), a.iteration) for a in taken] == [
        (SetMaxDowntime, 6),
        (EnableAutoConverge, 9),
        (StartPostcopy, 12),
    ]
    assert taken[1].reason == (
        "no new low in remaining memory for 3 iterations (40 MiB at iteration 9); 500 ms should cover the "
        "~400 ms it needs, yet it does not finish: switching on auto-converge"
    )
    # Post-copy ends pre-copy: nothing more follows however long the recording goes on (6 more iterations).


def test_a_stall_far_beyond_the_ceiling_skips_the_downtime_steps() -> None:
    # 188 MiB at 100 MiB/s needs ~1.9 s: no step up to 500 ms would do, so no downtime raise at all.
    stuck = recorded([1024, 200, 190, 188, 188, 188, 188])
    [ac] = replay(stuck, options=MigrationOptions(auto_converge=True))
    assert isinstance(ac, EnableAutoConverge)
    assert "above the 500 ms ceiling: switching on auto-converge" in ac.reason
    [post] = replay(stuck, options=MigrationOptions(postcopy=True))
    assert isinstance(post, StartPostcopy)


def test_with_nothing_else_allowed_it_climbs_then_says_so_once() -> None:
    stuck = recorded([1024, 200] + [188] * 14)
    taken = replay(stuck)  # default options: neither auto-converge nor post-copy allowed
    assert [type(a) for a in taken] == [SetMaxDowntime, SetMaxDowntime, Notice]
    assert [a.seconds for a in taken if isinstance(a, SetMaxDowntime)] == [0.4, 0.5]
    assert taken[-1].reason.endswith(
        "nothing left to try (downtime at its ceiling, no auto-converge or "
        "post-copy allowed): waiting for the operator"
    )


def test_one_step_per_stall_like_nova_and_ovirt() -> None:
    # Proxmox's 100 ms start with fit_steps off walks oVirt's ladder one step per stall.
    stuck = recorded([1024, 200] + [188] * 30, limit=0.1)
    taken = replay(stuck, PolicyConfig(fit_steps=False))
    raises = [a.seconds for a in taken if isinstance(a, SetMaxDowntime)]
    assert raises == [0.15, 0.2, 0.3, 0.4, 0.5]
    iterations = [a.iteration for a in taken]
    assert all(b - a >= 3 for a, b in itertools.pairwise(iterations))


def test_policy_off_takes_no_step_but_the_timeout_still_fires() -> None:
    stuck = recorded([1024, 200] + [188] * 10)
    opts = MigrationOptions(policy=False, postcopy=True, auto_converge=True, timeout=20.0)
    [only] = replay(stuck, options=opts)
    assert isinstance(only, Abort) and only.on_timeout


@pytest.mark.parametrize(
    ("action", "postcopy", "expected"),
    [
        (TimeoutAction.ABORT, False, Abort),
        (TimeoutAction.PAUSE, False, PauseToComplete),
        (TimeoutAction.POSTCOPY, True, StartPostcopy),
        (TimeoutAction.POSTCOPY, False, Abort),  # post-copy was not allowed at the start: abort instead
    ],
)
def test_the_timeout_fires_once(action: TimeoutAction, postcopy: bool, expected: type) -> None:
    samples = recorded([1024, 400, 200, 100, 90, 85, 80, 78, 76, 75], limit=0.05)  # slow: no stall yet
    opts = MigrationOptions(timeout=9.0, timeout_action=action, postcopy=postcopy)
    taken = replay(samples, options=opts)
    assert len(taken) == 1
    [fired] = taken
    assert type(fired) is expected and fired.on_timeout and fired.iteration == 5  # t = 9 s: 5th iteration
    assert fired.reason.startswith("timeout 9.0 s reached at iteration 5 with ")


def test_the_pause_action_says_how_long_the_guest_will_stay_paused() -> None:
    samples = recorded([1024, 400, 200], limit=0.05)
    opts = MigrationOptions(timeout=5.0, timeout_action=TimeoutAction.PAUSE)
    [pause] = replay(samples, options=opts)
    assert pause.reason == (
        "timeout 5.0 s reached at iteration 3 with 200 MiB still to copy: pausing the guest so the copy "
        "completes (~2.0 s paused at 100 MiB/s)"
    )


def test_the_timeout_never_aborts_postcopy_or_a_switchover() -> None:
    samples = recorded([1024, 400, 200, 100])
    in_postcopy = samples[:-2] + [replace(s, postcopy=True) for s in samples[-2:]]
    [note] = replay(in_postcopy, options=MigrationOptions(timeout=7.0, postcopy=True))
    assert isinstance(note, Notice) and note.on_timeout
    assert "during post-copy: letting it finish" in note.reason
    switching = [*samples, Sample(t=9.0, phase=Phase.SWITCHOVER, iteration=5)]
    [note] = replay(switching, options=MigrationOptions(timeout=8.5))
    assert isinstance(note, Notice) and "after the switchover began" in note.reason


def test_a_postcopy_timeout_during_the_disk_mirror_aborts() -> None:
    mirror = [Sample(t=float(t), phase=Phase.MIRROR) for t in range(1, 6)]
    opts = MigrationOptions(timeout=3.0, timeout_action=TimeoutAction.POSTCOPY, postcopy=True)
    [fired] = replay(mirror, options=opts)
    assert isinstance(fired, Abort)
    assert fired.reason == (
        "timeout 3.0 s reached during mirror: post-copy only takes over memory, so aborting; the VM keeps "
        "running where it was"
    )


def test_the_same_state_never_yields_the_same_action_twice() -> None:
    samples = recorded(STUCK_AT_40[:7])
    first = decide(samples, None, None, [])
    assert len(first) == 1
    # The engine applied it, but the next poll is still in iteration 6 and still shows the old limit.
    lagging = [*samples, replace(samples[-1], t=samples[-1].t + 0.5)]
    assert decide(lagging, None, None, first) == []
    assert decide(samples, None, None, first) == []


def test_boundaries_rebuild_the_dirty_set_a_late_poll_under_reads() -> None:
    # Iteration 2 found 100 MiB, but the only poll in it came when 60 MiB were already sent.
    samples = [
        Sample(
            t=1.0, phase=Phase.PRECOPY, iteration=1, memory_processed=900 * MiB, memory_remaining=50 * MiB
        ),
        Sample(
            t=2.0, phase=Phase.PRECOPY, iteration=2, memory_processed=1010 * MiB, memory_remaining=40 * MiB
        ),
    ]
    assert [b.remaining for b in boundaries(samples)] == [50 * MiB, 100 * MiB]


def test_stall_counting() -> None:
    # 5 % margin: 100 → 97 → 95.5 are no new lows; 94 is (6 % below 100).
    assert stalled_iterations(recorded([1024, 100, 97, 95.5])) == 2
    assert stalled_iterations(recorded([1024, 100, 97, 95.5, 94])) == 0
    # A change the samples show (here the user's new limit at iteration 4) restarts the count.
    assert stalled_iterations(recorded([1024, 100, 100, 100, 100], limit=[0.3, 0.3, 0.3, 0.4, 0.4])) == 1


def test_closed_loop_with_the_model() -> None:
    """The policy driving the shared model as the engine will drive a backend: a guest dirtying 300 MiB/s
    over 200 MiB behind a 100 MiB/s cap never converges alone; auto-converge, switched on at the first
    stall, brings it home."""
    for options, ending in (
        (MigrationOptions(auto_converge=True, postcopy=True), None),
        (MigrationOptions(postcopy=True), StartPostcopy),
    ):
        state = PrecopyState.start(GiB, 200 * MiB, zero_share=0.0)
        limit, auto_converge = 0.3, False
        samples: list[Sample] = []
        taken: list[Action] = []
        while not state.converged and state.t < 300 and not any(isinstance(a, StartPostcopy) for a in taken):
            state = state.advance(
                0.5, bandwidth=RATE, dirty_rate=300 * MiB, max_downtime=limit, auto_converge=auto_converge
            )
            samples.append(
                Sample(
                    t=state.t,
                    phase=Phase.PRECOPY,
                    iteration=state.iteration,
                    memory_total=GiB,
                    memory_processed=round(state.processed),
                    memory_remaining=round(state.remaining),
                    transfer_rate=RATE,
                    max_downtime=limit,
                    bandwidth=RATE,
                    throttle=state.throttle,
                )
            )
            for action in decide(samples, None, options, taken):
                taken.append(action)
                if isinstance(action, SetMaxDowntime):
                    limit = action.seconds
                auto_converge = auto_converge or isinstance(action, EnableAutoConverge)
        if ending is None:
            assert state.converged
            assert [type(a) for a in taken] == [EnableAutoConverge]
            assert "sending it needs ~1.9 s, above the 500 ms ceiling" in taken[0].reason
        else:
            assert [type(a) for a in taken] == [ending]


def test_default_timeout_is_novas_800_s_per_gib() -> None:
    assert default_timeout(8 * GiB) == 6400.0
    assert default_timeout(100 * MiB) == 800.0


def test_bad_configs_are_refused() -> None:
    with pytest.raises(ValueError):
        PolicyConfig(downtime_schedule=(0.5, 0.3))
    with pytest.raises(ValueError):
        PolicyConfig(stall_iterations=0)
    with pytest.raises(ValueError):
        PolicyConfig(min_progress=1.0)
    assert PolicyConfig().steps_above(0.3) == (0.4, 0.5)
