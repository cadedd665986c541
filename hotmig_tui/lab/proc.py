"""Running commands and handling our own processes by PID (never by name)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from .errors import LabError


def run(
    cmd: Sequence[str],
    *,
    check: bool = True,
    timeout: float = 600,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output; a failure becomes a LabError carrying the command's stderr."""
    try:
        proc = subprocess.run(
            list(cmd),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise LabError(f"command not found: {cmd[0]} (needed for: {' '.join(cmd)})") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"command timed out after {timeout:.0f} s: {' '.join(cmd)}") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        raise LabError(f"command failed (exit {proc.returncode}): {' '.join(cmd)}\n" + "\n".join(detail))
    return proc


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int | None, expect: str | None = None) -> bool:
    """True when `pid` runs (not a zombie) and, given `expect`, its command line contains it.

    The check on the command line guards against a recycled PID: a stale pid file never makes us signal
    someone else's process.
    """
    if not pid or pid <= 0:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the parenthesised command name, which may itself contain spaces or parentheses.
    if stat[stat.rfind(")") + 2 :].startswith(("Z", "X")):
        _reap(pid)
        return False
    return expect is None or expect in cmdline(pid)


def _reap(pid: int) -> None:
    # Our own children (daemons started by this process) would linger as zombies until waited for.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop(pids: Sequence[int], expect: str, timeout: float = 10.0) -> list[int]:
    """SIGTERM the live ones among `pids` whose command line contains `expect`, SIGKILL after `timeout`.

    Returns the PIDs that were signalled.
    """
    targets = [pid for pid in pids if alive(pid, expect)]
    for pid in targets:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(pid) for pid in targets):
        time.sleep(0.1)
    for pid in targets:
        if alive(pid, expect):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(pid) for pid in targets):
        time.sleep(0.05)
    return targets


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children first found, then theirs), from /proc's parent links."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
