"""Reading a lab guest's serial console: heartbeats, and whether its memory and disk stayed intact.

Both source and target QEMU append to the same console file, so the log runs on across a migration. The usual
pattern in a test:

    mark = console.offset("moderate")           # before the migration
    ... migrate ...
    report = console.wait_healthy("moderate", since=mark, full_sweep=True)
    assert report.ok, report.summary()

The line format is documented in `hotmig_tui/lab/README.md`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from .layout import lab_dir

HEARTBEAT = re.compile(
    r"^HOTMIG HB seq=(?P<seq>\d+) up_ms=(?P<up>\d+)"
    r" MEM (?:OK gen=(?P<mgen>\d+)|BAD page=(?P<mbad>\d+)) sweeps=(?P<msw>\d+)"
    r" DISK (?:NONE|OK gen=(?P<dgen>\d+) sweeps=(?P<dsw>\d+)|BAD block=(?P<dbad>\d+) sweeps=(?P<dsw2>\d+))"
)
BOOT = "HOTMIG BOOT "
# Anything that means the workload or the guest kernel went wrong.
TROUBLE = re.compile(
    r"^HOTMIG (MEM BAD|DISK BAD|ERROR|EXIT)|Kernel panic|BUG: |Oops|general protection fault|segfault"
)


@dataclass(frozen=True)
class Heartbeat:
    seq: int
    uptime_ms: int
    mem_ok: bool
    mem_gen: int | None
    mem_bad_page: int | None
    mem_sweeps: int
    disk: bool  # the guest has a disk it writes and verifies
    disk_ok: bool
    disk_gen: int | None
    disk_bad_block: int | None
    disk_sweeps: int
    offset: int  # byte offset of the line in the console file
    line: str

    @property
    def ok(self) -> bool:
        return self.mem_ok and self.disk_ok


def parse_heartbeat(line: str, offset: int = 0) -> Heartbeat | None:
    m = HEARTBEAT.match(line)
    if not m:
        return None
    disk = not line.rstrip().endswith("DISK NONE")
    return Heartbeat(
        seq=int(m["seq"]),
        uptime_ms=int(m["up"]),
        mem_ok=m["mbad"] is None,
        mem_gen=int(m["mgen"]) if m["mgen"] else None,
        mem_bad_page=int(m["mbad"]) if m["mbad"] else None,
        mem_sweeps=int(m["msw"]),
        disk=disk,
        disk_ok=m["dbad"] is None,
        disk_gen=int(m["dgen"]) if m["dgen"] else None,
        disk_bad_block=int(m["dbad"]) if m["dbad"] else None,
        disk_sweeps=int(m["dsw"] or m["dsw2"] or 0),
        offset=offset,
        line=line,
    )


@dataclass(frozen=True)
class ConsoleReport:
    """What a guest's console said after some offset."""

    guest: str
    since: int
    end: int  # offset just past the last complete line read
    heartbeats: tuple[Heartbeat, ...]
    boots: int  # boot markers seen: a guest that rebooted (or was restarted) since `since`
    trouble: tuple[str, ...]  # lines that say memory/disk are bad, the workload exited, or the kernel oopsed

    @property
    def last(self) -> Heartbeat | None:
        return self.heartbeats[-1] if self.heartbeats else None

    @property
    def ok(self) -> bool:
        """At least one heartbeat, every one of them OK, no trouble and no reboot since `since`."""
        return (
            bool(self.heartbeats)
            and all(h.ok for h in self.heartbeats)
            and not self.trouble
            and not self.boots
        )

    def swept(self) -> bool:
        """True once a whole verification pass over memory (and disk) ran entirely after the first heartbeat
        seen here: the pass under way at that heartbeat may have started earlier, the one after it did not."""
        if len(self.heartbeats) < 2:
            return False
        first, last = self.heartbeats[0], self.heartbeats[-1]
        mem = last.mem_sweeps >= first.mem_sweeps + 2
        disk = not first.disk or last.disk_sweeps >= first.disk_sweeps + 2
        return mem and disk

    def summary(self) -> str:
        last = self.last.line if self.last else "no heartbeat"
        parts = [f"{self.guest}: {len(self.heartbeats)} heartbeat(s) since offset {self.since}, last: {last}"]
        if self.boots:
            parts.append(f"{self.boots} boot marker(s): the guest restarted")
        parts += [f"trouble: {line}" for line in self.trouble[:5]]
        return "; ".join(parts)


def console_path(guest: str, lab: Path | None = None) -> Path:
    return (lab or lab_dir()) / "consoles" / f"{guest}.log"


def offset(guest: str, lab: Path | None = None) -> int:
    """The console's current size: pass it as `since` to look only at what comes after now."""
    try:
        return console_path(guest, lab).stat().st_size
    except FileNotFoundError:
        return 0


def read(guest: str, since: int = 0, lab: Path | None = None) -> tuple[list[tuple[int, str]], int]:
    """Complete lines from `since` on, each with its offset, and the offset just past the last one.

    A line the guest is still writing (no newline yet) is left for the next read.
    """
    try:
        with open(console_path(guest, lab), "rb") as f:
            f.seek(since)
            data = f.read()
    except FileNotFoundError:
        return [], since
    lines = []
    pos = since
    for raw in data.splitlines(keepends=True):
        if not raw.endswith(b"\n"):
            break
        lines.append((pos, raw.decode(errors="replace").rstrip("\r\n")))
        pos += len(raw)
    return lines, pos


def scan(guest: str, since: int = 0, lab: Path | None = None) -> ConsoleReport:
    lines, end = read(guest, since, lab)
    heartbeats = []
    boots = 0
    trouble = []
    for pos, line in lines:
        hb = parse_heartbeat(line, pos)
        if hb:
            heartbeats.append(hb)
        elif line.startswith(BOOT):
            boots += 1
        if TROUBLE.search(line):
            trouble.append(line)
    return ConsoleReport(guest, since, end, tuple(heartbeats), boots, tuple(trouble))


def wait_heartbeat(
    guest: str, since: int | None = None, timeout: float = 30.0, lab: Path | None = None
) -> Heartbeat:
    """The first heartbeat written at or after offset `since` (default: now), waiting up to `timeout` s."""
    start = offset(guest, lab) if since is None else since
    deadline = time.monotonic() + timeout
    while True:
        report = scan(guest, start, lab)
        if report.heartbeats:
            return report.heartbeats[0]
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"{guest}: no heartbeat after offset {start} within {timeout:.0f} s; "
                f"console tail: {tail(guest, lab=lab)!r}"
            )
        time.sleep(0.2)


def wait_healthy(
    guest: str,
    since: int,
    heartbeats: int = 2,
    full_sweep: bool = False,
    timeout: float = 60.0,
    lab: Path | None = None,
) -> ConsoleReport:
    """Wait for `heartbeats` heartbeats after `since` (and, with `full_sweep`, for a verification pass that
    ran wholly after the first of them); return the report as soon as that is seen or trouble shows up.

    Raises TimeoutError when the guest does not get there within `timeout` seconds (it stopped, or hangs).
    """
    deadline = time.monotonic() + timeout
    while True:
        report = scan(guest, since, lab)
        if report.trouble or report.boots:
            return report
        if len(report.heartbeats) >= heartbeats and (not full_sweep or report.swept()):
            return report
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"{report.summary()} — waited {timeout:.0f} s for {heartbeats} heartbeat(s)"
                f"{' and a full verification pass' if full_sweep else ''}"
            )
        time.sleep(0.25)


def tail(guest: str, lines: int = 5, lab: Path | None = None) -> str:
    got, _ = read(guest, max(0, offset(guest, lab) - 4096), lab)
    return "\n".join(line for _, line in got[-lines:])
