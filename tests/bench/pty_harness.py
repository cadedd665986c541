"""Run a terminal program under a real pty and time what it writes: first frame, key-to-repaint, bytes, CPU."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import termios
import time
from dataclasses import dataclass, field


@dataclass
class PtyProgram:
    argv: list[str]
    columns: int = 80
    rows: int = 24
    env: dict[str, str] = field(default_factory=dict)
    pid: int = 0
    fd: int = -1
    started: float = 0.0
    received: int = 0

    def start(self) -> None:
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(self.columns), "LINES": str(self.rows),
               **self.env}
        self.started = time.perf_counter()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child
            os.execvpe(self.argv[0], self.argv, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.columns, 0, 0))

    def read_for(self, seconds: float) -> bytes:
        """Everything the program writes during `seconds`."""
        end = time.perf_counter() + seconds
        chunks = []
        while (left := end - time.perf_counter()) > 0:
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    break
                self.received += len(data)
                chunks.append(data)
        return b"".join(chunks)

    def wait_for(self, needle: bytes, timeout: float = 30.0) -> float:
        """Seconds since start() until `needle` appears in the output (then keeps draining until quiet)."""
        seen = b""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                data = os.read(self.fd, 65536)
                self.received += len(data)
                seen += data
                if needle in seen:
                    return time.perf_counter() - self.started
        raise TimeoutError(f"{needle!r} did not appear within {timeout} s; last output: {seen[-400:]!r}")

    def key_latency(self, key: bytes, quiet: float = 0.15, timeout: float = 5.0) -> float:
        """Send a key; seconds until the first repaint bytes arrive."""
        self.read_for(quiet)  # drain
        sent = time.perf_counter()
        os.write(self.fd, key)
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            raise TimeoutError(f"no repaint within {timeout} s after {key!r}")
        latency = time.perf_counter() - sent
        self.read_for(quiet)
        return latency

    def cpu_seconds(self) -> float:
        """User+system CPU time of the program so far (from /proc, clock ticks)."""
        with open(f"/proc/{self.pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGTERM)
                deadline = time.perf_counter() + 5
                while time.perf_counter() < deadline:
                    done, _ = os.waitpid(self.pid, os.WNOHANG)
                    if done:
                        break
                    self.read_for(0.05)
                else:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.pid = 0
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


DOWN = b"\x1b[B"
UP = b"\x1b[A"
