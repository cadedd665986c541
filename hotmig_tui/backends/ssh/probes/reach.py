"""Can the source reach the target on the migration network? A TCP connection made *from the source*.

The source's own sshd makes it (a direct-tcpip channel, what `ssh -W` uses): nothing but sshd with
AllowTcpForwarding (OpenSSH's default) is needed there. Where forwarding is off, the source's bash does it
(`/dev/tcp`, under coreutils' `timeout`). With neither, the answer is unknown, with that reason.

Reading the outcome: connected, or "connection refused", means the target's address answered — reachable (a
refusal only says nothing listens on that port). "No route to host", "network unreachable" or no answer within
the timeout mean it is not. The probe cannot tell a firewall that drops only QEMU's migration ports (49152-49215
by default); the link measurement listens in that range and can.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Callable

import asyncssh

from hotmig_tui.backends.ssh.errors import SshError
from hotmig_tui.backends.ssh.facts import Probed
from hotmig_tui.backends.ssh.session import HostSession

TIMEOUT_S = 5.0
ANSWERED = ("connection refused",)  # the target's kernel answered: the path works
Result = Callable[[bool | None, str], Probed[bool]]


async def reachability(source: HostSession, target: str, address: str, port: int,
                       timeout: float = TIMEOUT_S) -> Probed[bool]:
    started = time.monotonic()
    where = f"{source.name} -> {target} ({_hostport(address, port)})"

    def result(value: bool | None, detail: str) -> Probed[bool]:
        return Probed(value, time.monotonic(), f"{where}: {detail}", time.monotonic() - started)

    try:
        conn = await source.connection()
    except SshError as exc:
        return result(None, f"cannot probe from {source.name}: {exc.reason}")
    try:
        _, writer = await asyncio.wait_for(conn.open_connection(address, port), timeout)
    except TimeoutError:
        return result(False, f"no answer within {timeout:g} s")
    except asyncssh.ChannelOpenError as exc:
        if exc.code == asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED:
            return await _with_bash(source, address, port, timeout, result)
        if exc.reason.lower() in ANSWERED:
            return result(True, f"the target answered ({exc.reason}: nothing listens on port {port})")
        return result(False, exc.reason)
    except (asyncssh.DisconnectError, ConnectionError) as exc:
        return result(None, f"the SSH session to {source.name} failed during the probe: {exc}")
    writer.close()
    return result(True, f"TCP connection made in {(time.monotonic() - started) * 1000:.0f} ms")


async def _with_bash(source: HostSession, address: str, port: int, timeout: float,
                     result: Result) -> Probed[bool]:
    script = f"exec 3<>/dev/tcp/{address}/{port}"
    command = f"timeout {timeout:g} bash -c {shlex.quote(script)}"
    try:
        done = await source.run(command, "the reachability probe (bash /dev/tcp)", timeout=timeout + 5)
    except SshError as exc:
        return result(None, f"cannot probe from {source.name}: {exc.reason}")
    err = str(done.stderr or "").strip().splitlines()
    last = err[-1].rsplit(": ", 1)[-1] if err else ""
    if done.exit_status == 0:
        return result(True, "TCP connection made (bash /dev/tcp; the source's sshd does not forward TCP)")
    if done.exit_status == 124:
        return result(False, f"no answer within {timeout:g} s (bash /dev/tcp)")
    if done.exit_status in (126, 127):
        return result(None, f"{source.name}'s sshd does not forward TCP (AllowTcpForwarding no) and it has no "
                            "bash and timeout to connect with")
    if last.lower() in ANSWERED:
        return result(True, f"the target answered ({last}: nothing listens on port {port})")
    return result(False, last or f"bash /dev/tcp failed (exit {done.exit_status})")


def _hostport(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
