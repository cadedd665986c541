"""The predictor: hand-checked cases, the convergence boundary, suggested steps, and the lab's numbers."""

from __future__ import annotations

import pytest

from hotmig_tui.core.model import Cluster, Disk, Vm, VmState
from hotmig_tui.core.physics import (
    DEVICE_STATE_BYTES,
    PIVOT_TIME,
    RESUME_TIME,
    SETUP_TIME,
    PrecopyState,
    critical_dirty_rate,
)
from hotmig_tui.core.predict import LinkFacts, Step, fmt_bits, predict
from hotmig_tui.core.run import MigrationKind, MigrationOptions, TimeoutAction
from hotmig_tui.core.units import GiB, MiB, parse_rate

GBIT = parse_rate("1 Gbit/s")


def vm(
    memory: int = 1000 * MiB,
    dirty_rate: float | None = 50 * MiB,
    working_set: int | None = 100 * MiB,
    disks: tuple[Disk, ...] = (),
) -> Vm:
    return Vm(
        "vm1",
        "cna1",
        VmState.RUNNING,
        2,
        memory,
        dirty_rate=dirty_rate,
        dirty_rate_measured=True,
        working_set=working_set,
        disks=disks,
    )


def test_hand_checked_vm_migration() -> None:
    # Same numbers as the physics hand check: M 1000 MiB, z 0, W 100 MiB, D 50 MiB/s, B 100 MiB/s, T 0.3 s.
    # Passes 1000, 99.326, 39.142 MiB → 11.38468 s; last set 17.775 MiB → downtime 0.19275 s.
    # total = setup + pre-copy + downtime; bytes = 1000 + 99.326 + 39.142 + 17.775 MiB + device state.
    p = predict(vm(), MigrationKind.VM, LinkFacts(bandwidth=100 * MiB), zero_share=0.0)
    assert p.converges is True
    assert p.iterations == 5
    assert p.downtime == pytest.approx(0.19275, rel=1e-4)
    assert p.total_time == pytest.approx(SETUP_TIME + 11.38468 + 0.19275, rel=1e-5)
    assert p.memory_bytes == pytest.approx(
        (1000 + 99.3262 + 39.1423 + 17.7750) * MiB + DEVICE_STATE_BYTES, rel=1e-5
    )
    assert p.disk_bytes is None
    assert p.step is None and p.remedies == ()
    assert p.assumptions == ()
    assert not p.uncertain
    assert p.reason == (
        "dirties 50 MiB/s over a 100 MiB working set; the 839 Mbit/s link carries 100 MiB/s: "
        "converges in 5 iterations, ~11.9 s with ~193 ms downtime"
    )


def test_the_convergence_boundary() -> None:
    # B·T = 30 MiB against W = 100 MiB: D* = B·(−ln(1 − 0.3)/0.3) = 118.9 MiB/s. A large RAM makes the first
    # pass long, so the dirty set approaches its fixed point from above.
    link = LinkFacts(bandwidth=100 * MiB)
    d_star = critical_dirty_rate(100 * MiB, 100 * MiB, 0.3)
    assert d_star / MiB == pytest.approx(118.89, rel=1e-3)
    below = predict(vm(memory=8 * GiB, dirty_rate=0.98 * d_star), MigrationKind.VM, link)
    above = predict(vm(memory=8 * GiB, dirty_rate=1.02 * d_star), MigrationKind.VM, link)
    assert below.converges is True
    assert (
        below.downtime is not None and below.downtime <= 0.3 + DEVICE_STATE_BYTES / (100 * MiB) + RESUME_TIME
    )
    assert above.converges is False
    assert above.total_time is None and above.downtime is None
    assert above.needed_downtime is not None and above.needed_downtime > 0.3
    assert above.critical_dirty_rate == pytest.approx(d_star)


def test_non_convergence_suggests_the_downtime_step_that_fits() -> None:
    # D = 127.7 MiB/s settles at S* = 40 MiB (x = 0.4 → λ = −ln 0.6/0.4): 0.4 s at 100 MiB/s. With the 10 %
    # margin the policy needs 0.44 s: of the steps above 300 ms, 500 ms.
    d = critical_dirty_rate(100 * MiB, 100 * MiB, 0.4)
    p = predict(vm(memory=8 * GiB, dirty_rate=d * 1.001), MigrationKind.VM, LinkFacts(bandwidth=100 * MiB))
    assert p.converges is False
    assert p.step is not None and p.step.step is Step.RAISE_DOWNTIME
    assert p.step.max_downtime == 0.5
    assert p.step.allowed
    # QEMU stops at the first set under 0.5 s × 100 MiB/s: the real downtime is at most the limit plus the
    # device state and resume (no cap here, so the final copy runs at the same 100 MiB/s).
    assert 0.4 < p.step.downtime <= 0.5 + DEVICE_STATE_BYTES / (100 * MiB) + RESUME_TIME
    assert "pre-copy never converges; raising max downtime to 500 ms would finish in ~" in p.reason


def test_non_convergence_suggests_postcopy_when_allowed() -> None:
    # The classic: 320 MiB/s over a 9 GiB working set on 1 Gbit/s. S* ≈ 8.2 GiB: no downtime step comes close.
    db = vm(memory=16 * GiB, dirty_rate=320 * MiB, working_set=9 * GiB)
    p = predict(db, MigrationKind.VM, LinkFacts(bandwidth=GBIT), MigrationOptions(postcopy=True))
    assert p.converges is False
    assert p.step is not None and p.step.step is Step.POSTCOPY and p.step.allowed
    assert p.step.downtime < 0.05
    assert [r.step for r in p.remedies] == [Step.AUTO_CONVERGE, Step.POSTCOPY, Step.PAUSE]
    assert p.reason.startswith(
        "dirties 320 MiB/s over a 9 GiB working set; the 1 Gbit/s link carries 119 MiB/s: pre-copy never "
        "converges; post-copy would finish in ~"
    )
    # Without post-copy allowed, the prediction names the first step that would work and says it is not on.
    off = predict(db, MigrationKind.VM, LinkFacts(bandwidth=GBIT))
    assert off.step is not None and not off.step.allowed
    assert off.reason.endswith("(not enabled for this run)")


def test_auto_converge_is_the_step_when_allowed_and_sufficient() -> None:
    guest = vm(memory=1 * GiB, dirty_rate=300 * MiB, working_set=200 * MiB)
    p = predict(guest, MigrationKind.VM, LinkFacts(bandwidth=100 * MiB), MigrationOptions(auto_converge=True))
    assert p.step is not None and p.step.step is Step.AUTO_CONVERGE and p.step.allowed
    assert p.step.throttle is not None and 0.2 <= p.step.throttle <= 0.99
    assert "slowing the guest's vCPUs by up to" in p.reason


def test_a_cap_governs_precopy_and_the_link_the_final_copy() -> None:
    # 40 MiB/s cap on a 1 Gbit/s link: pre-copy at 40 MiB/s, the final copy at 119 MiB/s.
    guest = vm(dirty_rate=20 * MiB)
    p = predict(guest, MigrationKind.VM, LinkFacts(bandwidth=GBIT), MigrationOptions(bandwidth=40 * MiB))
    assert p.bandwidth == 40 * MiB
    assert p.link_speed == GBIT
    assert p.downtime is not None and p.expected_downtime is not None
    assert p.downtime < p.expected_downtime
    assert "the 40 MiB/s bandwidth limit governs" in p.reason
    # A measured link slower than declared wins over the declaration.
    assert LinkFacts(bandwidth=GBIT, measured_bandwidth=90 * MiB).speed == 90 * MiB


def test_unknown_working_set_assumes_all_of_ram_and_says_so() -> None:
    p = predict(vm(working_set=None), MigrationKind.VM, LinkFacts(bandwidth=GBIT))
    assert p.uncertain
    assert p.assumptions == ("working set unknown: assumed all 1000 MiB of RAM (the pessimistic case)",)
    assert "over a 1000 MiB working set" in p.reason


def test_unknown_dirty_rate_or_link_leaves_convergence_unknown() -> None:
    p = predict(vm(dirty_rate=None), MigrationKind.VM, LinkFacts(bandwidth=100 * MiB), zero_share=0.0)
    assert p.converges is None and p.uncertain
    assert p.reason == (
        "dirty rate unknown, so convergence is too (measure it first); "
        "the 839 Mbit/s link carries 100 MiB/s: one pass over its memory takes ~10.0 s"
    )
    q = predict(vm(), MigrationKind.VM, LinkFacts.of(Cluster("c")))
    assert q.converges is None
    assert q.reason.startswith("link speed unknown")
    # A cap alone is enough to predict, with the final copy assumed at the cap.
    r = predict(vm(), MigrationKind.VM, LinkFacts(), MigrationOptions(bandwidth=100 * MiB))
    assert r.converges is True
    assert any("link speed unknown" in a for a in r.assumptions)


def test_storage_migration_copies_allocated_bytes_plus_writes() -> None:
    # 20 GiB allocated at 200 MiB/s while the guest writes 10 MiB/s: 20480/190 = 107.8 s, then the pivot.
    disk = Disk("vda", "/images/a.qcow2", "ds1", 40 * GiB, 20 * GiB)
    guest = vm(disks=(disk, Disk("vdb", "/shared/b", "ds2", GiB, GiB, shareable=True)))
    p = predict(guest, MigrationKind.STORAGE, LinkFacts(disk_bandwidth=200 * MiB), disk_write_rate=10 * MiB)
    assert p.converges is True
    assert p.mirror_time == pytest.approx(20480 / 190)
    assert p.total_time == pytest.approx(20480 / 190 + PIVOT_TIME)
    assert p.downtime == 0.0
    assert p.disk_bytes == pytest.approx(20 * GiB + 10 * MiB * 20480 / 190, rel=1e-9)
    assert "the guest never pauses" in p.reason
    unknown = predict(guest, MigrationKind.STORAGE, LinkFacts())
    assert unknown.converges is None
    assert any("disk writes unknown" in a for a in unknown.assumptions)


def test_whole_machine_mirrors_disks_first_then_memory_over_the_same_link() -> None:
    disk = Disk("vda", "/images/a.qcow2", "ds1", 40 * GiB, 10 * GiB)
    guest = vm(disks=(disk,))
    alone = predict(guest, MigrationKind.VM, LinkFacts(bandwidth=100 * MiB), zero_share=0.0)
    whole = predict(
        guest, MigrationKind.WHOLE, LinkFacts(bandwidth=100 * MiB), zero_share=0.0, disk_write_rate=0
    )
    assert whole.mirror_time == pytest.approx(10 * 1024 / 100)
    assert alone.total_time is not None and whole.total_time is not None
    assert whole.total_time == pytest.approx(alone.total_time + 102.4)
    assert whole.disk_bytes == 10 * GiB
    assert whole.reason.startswith("mirrors 10 GiB of disk first (~102.4 s); dirties 50 MiB/s")


def test_the_timeout_is_checked_against_the_prediction() -> None:
    opts = MigrationOptions(timeout=5.0, timeout_action=TimeoutAction.PAUSE)
    p = predict(vm(), MigrationKind.VM, LinkFacts(bandwidth=100 * MiB), opts, zero_share=0.0)
    assert p.within_timeout is False
    assert p.reason.endswith("; the 5.0 s timeout would pause the guest first")
    assert predict(vm(), MigrationKind.VM, LinkFacts(bandwidth=100 * MiB)).within_timeout is None


def test_stepping_the_model_reproduces_the_prediction() -> None:
    """What the simulator will do (fixed ticks, constant inputs) lands on the predictor's iterations, times
    and downtime: they share one model."""
    guest = vm(memory=2 * GiB, dirty_rate=60 * MiB, working_set=300 * MiB)
    link, opts = LinkFacts(bandwidth=GBIT), MigrationOptions(bandwidth=80 * MiB)
    p = predict(guest, MigrationKind.VM, link, opts)
    assert p.converges and p.iterations is not None and p.total_time is not None

    state, tick, syncs = PrecopyState.start(guest.memory, 300 * MiB), 0.25, []
    while not state.converged:
        nxt = state.advance(tick, bandwidth=80 * MiB, dirty_rate=60 * MiB, max_downtime=0.3)
        if nxt.iteration != state.iteration:
            syncs.append(nxt.pass_started)
        state = nxt
    end = state.stop_and_copy(GBIT)
    assert end.iterations == p.iterations
    assert syncs == pytest.approx([q.start + q.duration for q in p.passes], rel=1e-9)
    assert SETUP_TIME + end.t_end == pytest.approx(p.total_time, rel=1e-9)
    assert end.downtime == pytest.approx(p.downtime, rel=1e-9)


def test_lab_numbers_in_the_right_range() -> None:
    """lab-notes: a 256 MiB TCG guest dirtying 32 MiB at 20 MiB/s, unlimited loopback: 0.9 s job, 137 ms
    downtime, 3 iterations. The loopback's speed under TCG and the guest's zero pages were not recorded, so
    this sweeps plausible values. The model gets the iterations (one pass, then stop) and the time's order
    of magnitude; it under-predicts the downtime (10–60 ms against 137 ms) because under TCG stopping and
    restarting the emulated guest costs far more than the 5 ms resume constant. Not fitted, on purpose."""
    guest = vm(memory=256 * MiB, dirty_rate=20 * MiB, working_set=32 * MiB)
    for loopback in (200 * MiB, 500 * MiB, 2 * GiB):
        for zeros in (0.5, 0.8):
            p = predict(guest, MigrationKind.VM, LinkFacts(bandwidth=loopback), zero_share=zeros)
            assert p.iterations == 3
            assert p.total_time is not None and 0.3 < p.total_time < 3.0
            assert p.downtime is not None and p.downtime < 0.137


def test_lab_raising_downtime_helps_only_when_it_covers_the_working_set() -> None:
    """lab-notes: a guest re-dirtying its 64 MiB working set every pass converges only when max_downtime ×
    bandwidth ≥ the working set; 2 s did it at 40 MiB/s but not behind a 200 mbit (25 MB/s) cap; post-copy
    always finished with 4–5 ms downtime."""
    busy = vm(memory=256 * MiB, dirty_rate=1 * GiB, working_set=64 * MiB)  # D ≫ B: every pass re-dirties W
    loopback = LinkFacts(bandwidth=1 * GiB)
    two_s = MigrationOptions(max_downtime=2.0, bandwidth=parse_rate("200 Mbit/s"), postcopy=True)
    assert predict(busy, MigrationKind.VM, loopback, two_s).converges is False
    at_40 = MigrationOptions(max_downtime=2.0, bandwidth=40 * MiB)
    converged = predict(busy, MigrationKind.VM, loopback, at_40)
    assert converged.converges is True
    assert converged.expected_downtime is not None and converged.expected_downtime > 1.0  # QEMU's estimate
    assert converged.downtime is not None and converged.downtime < 0.1  # real: the last copy at link speed
    post = predict(busy, MigrationKind.VM, loopback, two_s).step
    assert post is not None and post.step is Step.POSTCOPY
    assert post.downtime < 0.01


def test_fmt_bits() -> None:
    assert fmt_bits(GBIT) == "1 Gbit/s"
    assert fmt_bits(parse_rate("10 Gbit/s")) == "10 Gbit/s"
    assert fmt_bits(parse_rate("200 Mbit/s")) == "200 Mbit/s"
