"""The monitor under load: 4 concurrent simulated migrations for 60 s, under a real pty.

Prints the dashboard's CPU use (share of one core) and bytes written to the terminal per second, at 80x24
and 160x50, next to the idle dashboard measured the same way in this run. Aim (engine issue): under 10 % of
one core and under 30 KB/s. Numbers, not a timed pass/fail test.
"""

from __future__ import annotations

import sys
import time

import pytest

from .pty_harness import PtyProgram

WINDOW_S = 60.0
BASELINE_S = 20.0
# Long runs on the demo datacenter (tens of GiB, or dirtying faster than the link): all four last > 60 s.
RUNS = ["olap-01@cna4", "erp-db-01@cna5", "huge-analytics-01@cna2", "db-02@cna1"]


def measure(argv: list[str], size: tuple[int, int], seconds: float, ready: bytes) -> tuple[float, float]:
    program = PtyProgram(argv, columns=size[0], rows=size[1])
    program.start()
    try:
        program.wait_for(ready, timeout=30)
        program.read_for(3.0)  # let the start-up settle
        cpu0, bytes0, t0 = program.cpu_seconds(), program.received, time.perf_counter()
        program.read_for(seconds)
        elapsed = time.perf_counter() - t0
        return (program.cpu_seconds() - cpu0) / elapsed, (program.received - bytes0) / elapsed
    finally:
        program.stop()


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_monitor_with_four_migrations(size: tuple[int, int], report) -> None:  # type: ignore[no-untyped-def]
    hotmig = [sys.executable, "-m", "hotmig_tui", "demo"]
    idle_cpu, idle_bytes = measure(hotmig, size, BASELINE_S, b"Datastores")
    starts = [arg for spec in RUNS for arg in ("--start", spec)]
    cpu, rate = measure([*hotmig, *starts], size, WINDOW_S, b"remaining memory")
    assert cpu >= 0 and rate > 0  # measured, not judged on time
    report(f"monitor, 4 migrations, {size[0]}x{size[1]}: CPU {cpu:6.1%} of one core, {rate / 1000:5.1f} KB/s "
           f"to the terminal over {WINDOW_S:.0f} s (idle dashboard: {idle_cpu:5.1%}, {idle_bytes / 1000:4.1f} KB/s)")
