"""libvirt through a host's SSH session: the host's libvirt socket forwarded to a private local socket.

A host opts in with an `ssh` address and a `uri` of the form `ssh+unix:///PATH` (what the inventory gives a host
with `ssh` and no `uri`: PATH = /run/libvirt/libvirt-sock). hotmig then listens on `<runtime dir>/h<n>.sock`
(the directory is 0700: only this user can use the tunnel) and asyncssh forwards every connection there to PATH
on the host as a direct-streamlocal channel — the host's sshd connects to the socket itself, so the far side needs
nothing but sshd with AllowStreamLocalForwarding (OpenSSH's default): no nc, no system ssh client here. libvirt
connects to `qemu+unix:///system?socket=<that local socket>`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import asyncssh

from hotmig_tui.backends.ssh.errors import SshUnreachable, ToolMissing
from hotmig_tui.backends.ssh.pool import SessionPool
from hotmig_tui.core.inventory_file import SSH_TUNNEL_SCHEME
from hotmig_tui.core.model import Host


def tunnelled(host: Host) -> bool:
    return bool(host.ssh) and host.uri.startswith(f"{SSH_TUNNEL_SCHEME}:")


def remote_socket(uri: str) -> str:
    """ssh+unix:///run/libvirt/libvirt-sock -> /run/libvirt/libvirt-sock"""
    path = urlparse(uri).path
    if not path.startswith("/"):
        raise ValueError(f"{uri}: expected {SSH_TUNNEL_SCHEME}:///ABSOLUTE/PATH/OF/THE/LIBVIRT/SOCKET")
    return path


@dataclass
class _Forward:
    conn: asyncssh.SSHClientConnection
    listener: asyncssh.SSHListener
    uri: str


class LibvirtTunnels:
    def __init__(self, pool: SessionPool) -> None:
        self.pool = pool
        self._dir: Path | None = None
        self._forwards: dict[str, _Forward] = {}
        self._numbers: dict[str, int] = {}

    def resolver(self, host: Host) -> Callable[[], Awaitable[str]] | None:
        """What the host's libvirt connection calls for the URI to open; None for hosts not tunnelled."""
        if not tunnelled(host) or host.name not in self.pool:
            return None
        return lambda: self.uri(host)

    async def uri(self, host: Host) -> str:
        """The local libvirt URI for the host, (re)establishing its session and forward when needed."""
        return await self.pool.call(self._uri(host))

    async def _uri(self, host: Host) -> str:
        session = self.pool.session(host.name)
        conn = await session.connection()
        forward = self._forwards.get(host.name)
        if forward is not None and forward.conn is conn:
            return forward.uri
        if forward is not None:  # the session was reopened: the old listener died with the old connection
            forward.listener.close()
        remote = remote_socket(host.uri)
        await self._check_remote(host.name, conn, remote)
        local = self._socket_path(host.name)
        with contextlib.suppress(FileNotFoundError):
            local.unlink()
        listener = await conn.forward_local_path(str(local), remote)
        uri = f"qemu+unix:///system?socket={local}"
        self._forwards[host.name] = _Forward(conn, listener, uri)
        return uri

    async def close(self) -> None:
        await self.pool.call(self._close())

    async def _close(self) -> None:
        for forward in self._forwards.values():
            forward.listener.close()
        self._forwards.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    async def _check_remote(self, name: str, conn: asyncssh.SSHClientConnection, remote: str) -> None:
        """Open (and drop) one channel to the socket, so a missing socket or a refusing sshd gets a clear
        message here instead of an end-of-file inside libvirt."""
        try:
            _, writer = await conn.open_unix_connection(remote)
        except asyncssh.ChannelOpenError as exc:
            if exc.code == asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED:
                raise ToolMissing(name, f"its sshd refuses to forward unix sockets ({exc.reason}): libvirt through "
                                  "hotmig's tunnel needs AllowStreamLocalForwarding yes (OpenSSH's default)") from None
            raise SshUnreachable(name, f"cannot open libvirt's socket {remote} on the host ({exc.reason}): is "
                                 "libvirtd running? (modular daemons listen on /run/libvirt/virtqemud-sock: "
                                 "then set uri = \"ssh+unix:///run/libvirt/virtqemud-sock\")") from None
        writer.close()

    def _socket_path(self, name: str) -> Path:
        if self._dir is None:
            runtime = os.environ.get("XDG_RUNTIME_DIR")
            base = runtime if runtime and os.path.isdir(runtime) else None
            self._dir = Path(tempfile.mkdtemp(prefix="hotmig-ssh-", dir=base))  # mode 0700
            os.chmod(self._dir, 0o700)
        number = self._numbers.setdefault(name, len(self._numbers) + 1)
        return self._dir / f"h{number}.sock"  # short: a socket path must fit in 107 bytes
