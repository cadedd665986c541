"""One SSH connection per host: opened on demand under a pool-wide bound, kept, reopened with backoff.

A failed attempt makes the next one wait (1, 2, 4, 8, 15, 30 s, then every 30 s), so neither libvirt's own
reconnection loop nor the probes can hammer a host that is down; a connection that was up and got lost is
reopened in the background on the same schedule. Keepalives notice a silent host within interval x count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable

import asyncssh

from hotmig_tui.backends.ssh.address import SshAddress
from hotmig_tui.backends.ssh.errors import RemoteCommandFailed, SshAuthFailed, SshError, SshUnreachable
from hotmig_tui.backends.ssh.hostkeys import HostKeyCheck, TrustedKeys
from hotmig_tui.backends.ssh.settings import SshSettings

log = logging.getLogger(__name__)
CLOSE_WAIT_S = 2.0


class _Client(asyncssh.SSHClient):
    """asyncssh's callbacks for one connection attempt: host key decisions and the connection's end."""

    def __init__(self, check: HostKeyCheck, lost: Callable[[_Client, Exception | None], None]) -> None:
        self._check = check
        self._lost = lost

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        return self._check.decide(host, addr, port, key)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost(self, exc)


class HostSession:
    def __init__(
        self,
        name: str,
        address: SshAddress,
        settings: SshSettings,
        opening: asyncio.Semaphore,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.address = address
        self.settings = settings
        self._opening = opening
        self._clock = clock
        self._conn: asyncssh.SSHClientConnection | None = None
        self._client: _Client | None = None
        self._lock = asyncio.Lock()
        self._channels = asyncio.Semaphore(settings.channels_per_host)
        self._failures = 0
        self._next_attempt = 0.0
        self._last_error: SshError | None = None
        self._reconnect: asyncio.Task[None] | None = None
        self._closed = False
        self.error: str | None = None  # why the host is not connected now (None while it is)
        self.attempts: list[float] = []  # clock() of every connection attempt: the backoff, observable
        self.connect_seconds: float | None = None  # how long the last successful open took

    @property
    def up(self) -> bool:
        return self._conn is not None

    async def connection(self) -> asyncssh.SSHClientConnection:
        """The host's connection, opening it if needed; raises SshError (the last one while backing off)."""
        if self._conn is not None:
            return self._conn
        async with self._lock:
            if self._conn is not None:
                return self._conn
            if self._closed:
                raise SshUnreachable(self.name, "hotmig closed its SSH session")
            if self._last_error is not None and self._clock() < self._next_attempt:
                raise self._last_error.with_traceback(None)
            return await self._open()

    async def run(self, command: str, label: str, timeout: float | None = None,
                  stdin: str | None = None) -> asyncssh.SSHCompletedProcess:
        """Run a command on the host; its exit status is the caller's to judge. `label` names it in errors."""
        conn = await self.connection()
        limit = timeout or self.settings.command_timeout_s
        async with self._channels:
            try:
                return await conn.run(command, check=False, timeout=limit, input=stdin)
            except asyncssh.TimeoutError:
                raise RemoteCommandFailed(self.name, f"{label} did not finish within {limit:g} s") from None
            except asyncssh.ChannelOpenError as exc:
                raise RemoteCommandFailed(self.name, f"cannot run {label}: the host refused ({exc.reason})") from None
            except (asyncssh.DisconnectError, ConnectionError) as exc:
                raise SshUnreachable(self.name, f"connection lost while running {label}: {_why(exc)}") from None

    def slot(self) -> asyncio.Semaphore:
        """Hold while a long-running channel is open on the host (counts against channels_per_host)."""
        return self._channels

    async def close(self) -> None:
        self._closed = True
        if self._reconnect is not None:
            self._reconnect.cancel()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
            with contextlib.suppress(TimeoutError, asyncssh.Error, OSError):
                await asyncio.wait_for(conn.wait_closed(), CLOSE_WAIT_S)

    # --- opening --------------------------------------------------------------------------------------------
    async def _open(self) -> asyncssh.SSHClientConnection:
        async with self._opening:
            self.attempts.append(self._clock())
            started = self._clock()
            try:
                conn, client, check = await self._connect()
                try:
                    check.commit()
                except OSError as exc:  # the user asked for the key to be recorded: no session without that
                    conn.close()
                    raise SshError(self.name, f"cannot record its new host key in "
                                   f"{self.settings.own_known_hosts}: {_why(exc)}") from None
            except SshError as exc:
                self._failed(exc)
                raise
            self.connect_seconds = self._clock() - started
        self._conn, self._client = conn, client
        self._failures, self._last_error, self.error = 0, None, None
        log.info("%s: SSH session to %s up in %.2f s", self.name, self.address, self.connect_seconds)
        return conn

    def _failed(self, exc: SshError) -> None:
        self._failures += 1
        backoff = self.settings.backoff_s
        self._next_attempt = self._clock() + backoff[min(self._failures - 1, len(backoff) - 1)]
        self._last_error, self.error = exc, exc.reason
        log.info("%s", exc)

    async def _connect(self) -> tuple[asyncssh.SSHClientConnection, _Client, HostKeyCheck]:
        a, s = self.address, self.settings
        where = f"{a.known_hosts_name}"
        config = () if s.user_files else None  # () = ~/.ssh/config, as OpenSSH reads it
        try:
            # Which known_hosts files ~/.ssh/config names for this host (and the user name it gives).
            named = await asyncssh.SSHClientConnectionOptions.construct(
                host=a.host, port=a.port or (), username=a.user or (), config=config)
            loop = asyncio.get_running_loop()
            trusted = await loop.run_in_executor(None, TrustedKeys.read, s, named.known_hosts)
            keys = await loop.run_in_executor(None, _identity, s)
        except (ValueError, asyncssh.KeyImportError, OSError) as exc:
            raise SshAuthFailed(self.name, f"cannot prepare the SSH session to {where}: {_why(exc)}") from None
        check = HostKeyCheck(self.name, a, s, trusted)
        client: _Client | None = None

        def factory() -> _Client:
            nonlocal client
            client = _Client(check, self._lost)
            return client

        try:
            conn = await asyncssh.connect(
                a.host, port=a.port or (), username=a.user or (), config=config,
                known_hosts=trusted.for_asyncssh(), client_factory=factory,
                client_keys=keys, agent_path=() if s.user_files else None,
                password_auth=False, kbdint_auth=False,  # never prompt: the terminal belongs to the TUI
                connect_timeout=s.connect_timeout_s, keepalive_interval=s.keepalive_interval_s,
                keepalive_count_max=s.keepalive_count,
            )
        except asyncssh.HostKeyNotVerifiable as exc:
            raise check.refusal(exc.reason) from None
        except asyncssh.PermissionDenied:
            raise SshAuthFailed(self.name, f"{named.username}@{where} refused every key hotmig offered "
                                f"({_offered(s)})") from None
        except asyncssh.DisconnectError as exc:
            raise SshUnreachable(self.name, f"{where} ended the SSH conversation: {exc.reason}") from None
        except TimeoutError:
            raise SshUnreachable(self.name, f"no SSH answer from {where} within {s.connect_timeout_s:g} s") from None
        except OSError as exc:
            raise SshUnreachable(self.name, f"cannot reach {where}: {_why(exc)}") from None
        assert client is not None
        return conn, client, check

    # --- losing it -------------------------------------------------------------------------------------------
    def _lost(self, client: _Client, exc: Exception | None) -> None:
        if client is not self._client or self._conn is None:
            return  # an attempt that failed (reported by _connect) or an old connection
        self._conn = self._client = None
        self.error = f"SSH connection lost: {_why(exc) if exc else 'closed by the host'}"
        self._last_error = SshUnreachable(self.name, self.error)
        self._failures = 1
        self._next_attempt = self._clock() + self.settings.backoff_s[0]
        log.info("%s: %s", self.name, self.error)
        if not self._closed and (self._reconnect is None or self._reconnect.done()):
            self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_with_backoff())

    async def _reconnect_with_backoff(self) -> None:
        while not self._closed and self._conn is None:
            await asyncio.sleep(max(0.0, self._next_attempt - self._clock()))
            try:
                await self.connection()
            except SshError:
                continue  # connection() noted the failure and the next attempt's time
            except RuntimeError:  # the loop is shutting down (its owner never closed the session)
                return


def _identity(settings: SshSettings) -> object:
    """client_keys for asyncssh: the inventory's identity (with the agent), else OpenSSH's defaults."""
    if settings.identity is not None:
        return [asyncssh.read_private_key(str(settings.identity))]
    return () if settings.user_files else None


def _offered(settings: SshSettings) -> str:
    sources = [str(settings.identity)] if settings.identity else []
    if settings.user_files:
        sources += ["the agent"] + ([] if settings.identity else ["~/.ssh/config's IdentityFile or ~/.ssh/id_*"])
    return ", ".join(sources) or "no keys"


def _why(exc: BaseException) -> str:
    """A library exception's reason, without its repr (no arguments that might carry data)."""
    if isinstance(exc, asyncssh.Error):
        return exc.reason
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)  # asyncio's "Connect call failed (addr)" hides the reason
    return str(exc) or type(exc).__name__
