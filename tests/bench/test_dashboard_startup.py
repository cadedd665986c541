"""Time to first frame and key-to-repaint latency of the dashboard, under a real pty.

Aims (foundation issue): first frame < 1 s (demo), < 2 s (200 hosts, 10,000 VMs); key latency < 50 ms.
Printed next to a trivial Textual app measured the same way in the same run; nothing here is a timed
pass/fail assertion (shared, noisy machines).
"""

from __future__ import annotations

import statistics
import sys

import pytest

from .pty_harness import DOWN, UP, PtyProgram

HOTMIG = [sys.executable, "-m", "hotmig_tui"]
BASELINE = [sys.executable, "-m", "tests.bench.baseline_app"]


def first_frame(argv: list[str], needle: bytes) -> tuple[float, PtyProgram]:
    program = PtyProgram(argv)
    program.start()
    return program.wait_for(needle), program


def key_latencies(program: PtyProgram, count: int = 20) -> list[float]:
    return [program.key_latency(DOWN if i % 4 < 2 else UP) for i in range(count)]


@pytest.mark.parametrize(
    ("label", "args"),
    [("demo", ["demo"]), ("scale 200,10000", ["demo", "--scale", "200,10000"])],
)
def test_first_frame_and_key_latency(label: str, args: list[str], report) -> None:  # type: ignore[no-untyped-def]
    base_time, base = first_frame(BASELINE, b"node 19")
    try:
        base_keys = key_latencies(base)
    finally:
        base.stop()
    frame_time, app = first_frame([*HOTMIG, *args], b"Datastores")
    try:
        if label.startswith("scale"):  # the large tree: open a cluster and a host, then move about
            app.key_latency(DOWN)
            app.key_latency(b"\r")
            app.key_latency(DOWN)
            app.key_latency(b" ")
        keys = key_latencies(app)
    finally:
        app.stop()
    assert keys and base_keys  # measured, not asserted on time
    report(
        f"{label:>16}: first frame {frame_time * 1000:6.0f} ms (baseline app {base_time * 1000:5.0f} ms); "
        f"key→repaint median {statistics.median(keys) * 1000:5.1f} ms, max {max(keys) * 1000:5.1f} ms "
        f"(baseline median {statistics.median(base_keys) * 1000:5.1f} ms)"
    )
