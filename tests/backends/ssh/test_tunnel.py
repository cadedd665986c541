"""libvirt's socket through the SSH session: a private local socket forwarded to the host's socket."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import time
from pathlib import Path

import asyncssh
import pytest

from hotmig_tui.backends.ssh import LibvirtTunnels, SessionPool, SshLoop, SshUnreachable, ToolMissing, tunnelled
from hotmig_tui.core.inventory_file import parse_inventory
from hotmig_tui.core.model import Host

from .conftest import Keys, ServerStats, listen_sshd, settings_for


def tunnel_host(sshd, remote: str) -> Host:  # type: ignore[no-untyped-def]
    return Host(name="cna1", cluster="c", uri=f"ssh+unix://{remote}", ssh=sshd.address)


async def echo_server(path: Path) -> asyncio.AbstractServer:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(b"echo:" + data)
            await writer.drain()
        writer.close()

    return await asyncio.start_unix_server(echo, str(path))


async def test_libvirt_socket_is_forwarded_to_a_private_local_socket(sshd, keys: Keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    remote = tmp_path / "libvirt-sock"  # "on the host": the test server forwards to it
    server = await echo_server(remote)
    pool = SessionPool(settings_for(tmp_path, keys, sshd.known_hosts_line()))
    pool.add("cna1", sshd.address)
    tunnels = LibvirtTunnels(pool)
    host = tunnel_host(sshd, str(remote))
    uri = await tunnels.uri(host)
    prefix = "qemu+unix:///system?socket="
    assert uri.startswith(prefix)
    local = Path(uri[len(prefix):])
    assert stat.S_IMODE(local.parent.stat().st_mode) == 0o700  # only this user can reach the host's libvirt
    assert len(str(local)) < 108
    reader, writer = await asyncio.open_unix_connection(str(local))
    writer.write(b"hello")
    assert await asyncio.wait_for(reader.read(100), 5) == b"echo:hello"
    writer.close()
    assert await tunnels.uri(host) == uri  # the same forward while the session lives
    await tunnels.close()
    assert not local.parent.exists()
    await pool.close()
    server.close()


async def test_the_tunnel_keeps_serving_while_the_callers_loop_is_blocked(keys: Keys, tmp_path: Path) -> None:
    """Sessions on the SSH thread (as the libvirt backend runs them): libvirt, in its own threads, keeps talking
    through the tunnel however long the caller's loop is busy."""
    remote = tmp_path / "libvirt-sock"
    host_side = SshLoop()  # "the host": its sshd and libvirt socket, on a loop of their own
    server = await host_side.run(echo_server(remote))
    sshd = await host_side.run(listen_sshd(0, keys.host, ServerStats(), keys.client))
    port = sshd.sockets[0].getsockname()[1]
    known = f"[127.0.0.1]:{port} {keys.host.export_public_key().decode().strip()}\n"
    pool = SessionPool(settings_for(tmp_path, keys, known), SshLoop())
    pool.add("cna1", f"tester@127.0.0.1:{port}")
    tunnels = LibvirtTunnels(pool)
    uri = await tunnels.uri(Host(name="cna1", cluster="c", uri=f"ssh+unix://{remote}", ssh="x"))
    with socket.socket(socket.AF_UNIX) as sock:  # blocking calls on this loop, as libvirt's threads make them
        sock.settimeout(5)
        sock.connect(uri.split("socket=", 1)[1])
        time.sleep(1.0)
        sock.sendall(b"ping")
        assert sock.recv(100) == b"echo:ping"
    await tunnels.close()
    await pool.close()
    await host_side.run(_close(server, sshd))


async def _close(server: asyncio.AbstractServer, sshd: asyncssh.SSHAcceptor) -> None:
    server.close()
    sshd.close()


async def test_a_missing_remote_socket_is_named(sshd, keys: Keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pool = SessionPool(settings_for(tmp_path, keys, sshd.known_hosts_line()))
    pool.add("cna1", sshd.address)
    tunnels = LibvirtTunnels(pool)
    with pytest.raises(SshUnreachable, match="cannot open libvirt's socket /nonexistent/libvirt-sock"):
        await tunnels.uri(tunnel_host(sshd, "/nonexistent/libvirt-sock"))
    await tunnels.close()
    await pool.close()


async def test_an_sshd_without_stream_forwarding_is_explained(sshd_factory, keys: Keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sshd = await sshd_factory(forwarding=False)
    pool = SessionPool(settings_for(tmp_path, keys, sshd.known_hosts_line()))
    pool.add("cna1", sshd.address)
    tunnels = LibvirtTunnels(pool)
    with pytest.raises(ToolMissing, match="AllowStreamLocalForwarding"):
        await tunnels.uri(tunnel_host(sshd, os.devnull))
    await tunnels.close()
    await pool.close()


def test_a_host_with_ssh_and_no_uri_opts_into_the_tunnel() -> None:
    text = """
[ssh]
known_hosts = "ssh/known_hosts"
identity = "/abs/id_ed25519"

[[cluster]]
name = "c"
[[cluster.host]]
name = "tunnelled"
ssh = "root@10.0.0.1:22"
[[cluster.host]]
name = "other-socket"
ssh = "root@10.0.0.2"
uri = "ssh+unix:///run/libvirt/virtqemud-sock"
[[cluster.host]]
name = "libvirt-own-ssh"
ssh = "root@10.0.0.3"
uri = "qemu+ssh://root@10.0.0.3/system"
"""
    parsed = parse_inventory(text, "/etc/hotmig/inventory.toml")
    hosts = {h.name: h for h in parsed.inventory.hosts}
    assert hosts["tunnelled"].uri == "ssh+unix:///run/libvirt/libvirt-sock" and tunnelled(hosts["tunnelled"])
    assert tunnelled(hosts["other-socket"])
    assert not tunnelled(hosts["libvirt-own-ssh"])  # libvirt's own transport; the session serves probes only
    assert parsed.ssh is not None
    assert parsed.ssh.known_hosts == "/etc/hotmig/ssh/known_hosts" and parsed.ssh.identity == "/abs/id_ed25519"
