"""An in-process SSH server (asyncssh.listen on 127.0.0.1, generated keys) standing in for a host's sshd: it
authenticates by key, runs commands with /bin/sh, forwards TCP and unix sockets as OpenSSH does (including
OpenSSH's strerror() reasons for failed connections), and counts what the tests want to know."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
import pytest

from hotmig_tui.backends.ssh import SshSettings


@dataclass
class Keys:
    host: asyncssh.SSHKey
    other_host: asyncssh.SSHKey
    client: asyncssh.SSHKey
    client_path: Path


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    client = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path_factory.mktemp("keys") / "id_ed25519"
    client.write_private_key(str(path))
    path.chmod(0o600)
    return Keys(asyncssh.generate_private_key("ssh-ed25519"), asyncssh.generate_private_key("ssh-ed25519"),
                client, path)


@dataclass
class ServerStats:
    opening: int = 0  # connections between TCP accept and the end of authentication
    max_opening: int = 0
    connections: int = 0
    live: list[asyncssh.SSHServerConnection] = field(default_factory=list)


class _Server(asyncssh.SSHServer):
    def __init__(self, stats: ServerStats, auth_delay: float, forwarding: bool, connect_error: str | None) -> None:
        self.stats, self.auth_delay, self.forwarding = stats, auth_delay, forwarding
        self.connect_error = connect_error  # what this "sshd" reports for every TCP connection it is asked for
        self.conn: asyncssh.SSHServerConnection | None = None
        self.authing = False

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.stats.connections += 1
        self.stats.opening += 1
        self.authing = True
        self.stats.max_opening = max(self.stats.max_opening, self.stats.opening)
        self.stats.live.append(conn)

    def _done_opening(self) -> None:
        if self.authing:
            self.authing = False
            self.stats.opening -= 1

    def connection_lost(self, exc: Exception | None) -> None:
        self._done_opening()
        if self.conn in self.stats.live:
            self.stats.live.remove(self.conn)

    async def begin_auth(self, username: str) -> bool:
        await asyncio.sleep(self.auth_delay)
        return True

    def auth_completed(self) -> None:
        self._done_opening()

    async def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int):  # type: ignore[no-untyped-def]
        if not self.forwarding:
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "open failed")
        if self.connect_error:
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED, self.connect_error)
        try:  # like sshd: connect first, report strerror() on failure
            _, writer = await asyncio.open_connection(dest_host, dest_port)
        except OSError as exc:
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED, os.strerror(exc.errno or 0)) from None
        writer.close()
        return asyncssh.SSHTCPSession()  # the probes only need the connection made; nothing flows

    def unix_connection_requested(self, dest_path: str):  # type: ignore[no-untyped-def]
        if not self.forwarding:
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "open failed")
        if not os.path.exists(dest_path):
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED, "No such file or directory")
        return True


async def _shell(process: asyncssh.SSHServerProcess) -> None:
    """Run the client's command with /bin/sh, as sshd would, streaming its output."""
    proc = await asyncio.create_subprocess_shell(
        process.command or "true", stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)

    async def pump(source: asyncio.StreamReader, sink) -> None:  # type: ignore[no-untyped-def]
        while chunk := await source.read(65536):
            sink.write(chunk.decode(errors="replace"))

    try:
        await asyncio.gather(pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr))  # type: ignore[arg-type]
        process.exit(await proc.wait())
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@dataclass
class Sshd:
    port: int
    host_key: asyncssh.SSHKey
    stats: ServerStats
    listener: asyncssh.SSHAcceptor | None
    options: dict

    @property
    def address(self) -> str:
        return f"tester@127.0.0.1:{self.port}"

    def known_hosts_line(self, key: asyncssh.SSHKey | None = None) -> str:
        return f"[127.0.0.1]:{self.port} {(key or self.host_key).export_public_key().decode().strip()}\n"

    def drop_all(self) -> None:
        for conn in list(self.stats.live):
            conn.abort()

    async def stop(self) -> None:
        if self.listener is not None:
            self.listener.close()
            await self.listener.wait_closed()
            self.listener = None

    async def start(self) -> None:
        self.listener = await listen_sshd(self.port, self.host_key, self.stats, **self.options)


async def listen_sshd(port: int, host_key: asyncssh.SSHKey, stats: ServerStats, authorized: asyncssh.SSHKey | None,
                  auth_delay: float = 0.0, forwarding: bool = True, password_only: bool = False,
                  connect_error: str | None = None) -> asyncssh.SSHAcceptor:
    authorized_keys = asyncssh.import_authorized_keys(authorized.export_public_key().decode()) if authorized else None
    return await asyncssh.listen(
        "127.0.0.1", port, server_host_keys=[host_key],
        authorized_client_keys=None if password_only else authorized_keys,
        server_factory=lambda: _Server(stats, auth_delay, forwarding, connect_error),
        process_factory=_shell, allow_scp=False, encoding="utf-8",
        password_auth=password_only, kbdint_auth=False, public_key_auth=not password_only,
    )


@pytest.fixture
async def sshd_factory(keys: Keys) -> AsyncIterator[Callable[..., object]]:
    started: list[Sshd] = []

    async def start(**options: object) -> Sshd:
        options.setdefault("authorized", keys.client)
        stats = ServerStats()
        listener = await listen_sshd(0, keys.host, stats, **options)  # type: ignore[arg-type]
        port = listener.sockets[0].getsockname()[1]
        sshd = Sshd(port, keys.host, stats, listener, options)
        started.append(sshd)
        return sshd

    yield start
    for sshd in started:
        with contextlib.suppress(Exception):
            await sshd.stop()


@pytest.fixture
async def sshd(sshd_factory) -> Sshd:  # type: ignore[no-untyped-def]
    return await sshd_factory()


def settings_for(tmp_path: Path, keys: Keys, *known: str, **overrides: object) -> SshSettings:
    """Settings that read no user files: the given known_hosts lines, the test's client key."""
    known_hosts = tmp_path / "inventory_known_hosts"
    known_hosts.write_text("".join(known))
    values: dict[str, object] = dict(
        known_hosts=(known_hosts,), identity=keys.client_path, own_known_hosts=tmp_path / "own_known_hosts",
        user_files=False, connect_timeout_s=3.0, backoff_s=(0.05, 0.1, 0.2), keepalive_interval_s=1.0,
    )
    values.update(overrides)
    return SshSettings(**values)  # type: ignore[arg-type]
