"""A short bandwidth measurement from the source to the target over the migration network.

The target runs a small receiver (python3) that listens on its migration address — on the first free port of
QEMU's migration range (49152-49215), so a firewall that blocks migrations blocks this too — and counts what
arrives; the source runs a sender (python3) that streams zeros to it. Both stop at max_bytes or max_seconds,
whichever comes first. The rate is measured where the data lands, from the first byte to the last (the TCP
handshake and the first chunk excluded). Needs python3 on both hosts; without it the result is unknown, saying
which host lacks it. Never run it during a migration of either host: it competes for the same link.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import time
from collections.abc import Callable

import asyncssh

from hotmig_tui.backends.ssh.errors import SshError
from hotmig_tui.backends.ssh.facts import Probed
from hotmig_tui.backends.ssh.session import HostSession

MAX_BYTES = 256 * 2**20
MAX_SECONDS = 3.0
PORTS = (49152, 49215)
SETUP_S = 10.0
PYTHON = "python3"

RECEIVER = """
import socket, sys, time
addr, lo, hi, limit, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
for port in [*range(lo, hi + 1), 0]:
    try:
        s.bind((addr, port))
        break
    except OSError:
        pass
s.listen(1)
s.settimeout(seconds + 20)
print("PORT", s.getsockname()[1], flush=True)
c, _ = s.accept()
c.settimeout(seconds + 5)
buf = bytearray(1 << 18)
total = counted = 0
first = last = None
while total < limit:
    try:
        n = c.recv_into(buf)
    except socket.timeout:
        break
    if not n:
        break
    now = time.monotonic()
    total += n
    if first is None:
        first = now
    else:
        counted += n
        last = now
print("RESULT", total, counted, (last - first) if last else 0.0, flush=True)
"""

SENDER = """
import socket, sys, time
addr, port, limit, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
c = socket.create_connection((addr, port), timeout=5)
c.settimeout(seconds + 5)
chunk = bytes(1 << 18)
sent = 0
start = time.monotonic()
while sent < limit and time.monotonic() - start < seconds:
    n = min(len(chunk), limit - sent)
    c.sendall(chunk[:n])
    sent += n
c.shutdown(socket.SHUT_WR)
c.recv(1)
print("SENT", sent, time.monotonic() - start, flush=True)
"""


async def measure_link(source: HostSession, target: HostSession, address: str,
                       max_bytes: int = MAX_BYTES, max_seconds: float = MAX_SECONDS) -> Probed[float]:
    started = time.monotonic()
    where = f"{source.name} -> {target.name} ({address})"

    def result(value: float | None, detail: str) -> Probed[float]:
        return Probed(value, time.monotonic(), f"{where}: {detail}", time.monotonic() - started)

    try:
        conn = await target.connection()
    except SshError as exc:
        return result(None, f"cannot start the receiver: {exc.reason}")
    args = " ".join(shlex.quote(str(a)) for a in (address, *PORTS, max_bytes, max_seconds))
    async with target.slot():
        try:
            receiver = await conn.create_process(f"{PYTHON} -c {shlex.quote(RECEIVER)} {args}")
        except (asyncssh.Error, ConnectionError) as exc:
            return result(None, f"cannot start the receiver on {target.name}: {exc}")
        try:
            return await _run(source, receiver, target.name, address, max_bytes, max_seconds, result)
        finally:
            with contextlib.suppress(asyncssh.Error, OSError):
                receiver.terminate()  # it would otherwise wait for a sender that never came, ~20 s
            receiver.close()


async def _run(source: HostSession, receiver: asyncssh.SSHClientProcess, target_name: str, address: str,
               max_bytes: int, max_seconds: float, result: Callable[[float | None, str], Probed[float]]
               ) -> Probed[float]:
    try:
        line = await asyncio.wait_for(receiver.stdout.readline(), SETUP_S)
    except TimeoutError:
        return result(None, f"the receiver on {target_name} did not start within {SETUP_S:g} s")
    if not line.startswith("PORT "):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receiver.wait(), 2.0)
        return result(None, _missing(target_name, receiver.exit_status, await _stderr(receiver)))
    port = int(line.split()[1])
    args = " ".join(shlex.quote(str(a)) for a in (address, port, max_bytes, max_seconds))
    try:
        sent = await source.run(f"{PYTHON} -c {shlex.quote(SENDER)} {args}", "the link measurement's sender",
                                timeout=max_seconds + SETUP_S)
    except SshError as exc:
        return result(None, f"the sender failed: {exc.reason}")
    if sent.exit_status != 0:
        err = str(sent.stderr or "").strip().splitlines()
        if sent.exit_status == 127:
            return result(None, _missing(source.name, 127, "\n".join(err)))
        return result(None, f"{source.name} could not send to {address}:{port}: "
                            f"{err[-1] if err else f'exit {sent.exit_status}'}")
    try:
        line = await asyncio.wait_for(receiver.stdout.readline(), SETUP_S)
    except TimeoutError:
        line = ""
    fields = line.split()
    if len(fields) != 4 or fields[0] != "RESULT":
        return result(None, f"the receiver on {target_name} reported nothing")
    total, counted, seconds = int(fields[1]), int(fields[2]), float(fields[3])
    if seconds <= 0 or counted <= 0:
        return result(None, f"too little data to time ({total} bytes)")
    rate = counted / seconds
    return result(rate, f"{rate / 2**20:.1f} MiB/s ({total / 2**20:.0f} MiB in {seconds:.2f} s, port {port})")


async def _stderr(process: asyncssh.SSHClientProcess) -> str:
    try:
        return str(await asyncio.wait_for(process.stderr.read(), 2.0))
    except (TimeoutError, asyncssh.Error):
        return ""


def _missing(host: str, status: int | None, stderr: str) -> str:
    if status == 127 or "not found" in stderr:
        return f"{host} has no python3, which the link measurement needs"
    last = stderr.strip().splitlines()[-1:] or [f"exit {status}"]
    return f"the measurement failed on {host}: {last[0]}"
