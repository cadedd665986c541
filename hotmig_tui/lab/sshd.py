"""An OpenSSH server per lab host, and the client's way to reach it: what hotmig's SSH mode talks to.

Host i's sshd runs in host i's own namespaces — it is entered with nsenter into its libvirtd's mount and network
namespaces, so it sees the host's /run/libvirt/libvirt-sock, datastores and hidden paths exactly as the daemon
does (the shared datastore only on lab1-2). One more private mount namespace on top binds the host's own
`<lab>/hosts/lab<i>/ssh` over /etc/ssh (config, host key, authorized_keys, pid file, log) and hides
`<lab>/ssh`, where hotmig's client key lives. It listens on the host's lab address, port 22, keys only.

The client (hotmig, in the root namespace) reaches the hosts through a veth leg into the lab bridge: `hmc0`
(198.18.0.2/24) in the root namespace, `hmcb` in the bridge. Only the lab's /24 is routed there; the hosts still
have no route out. `<lab>/ssh/known_hosts` holds every host's key, `<lab>/ssh/id_ed25519` hotmig's key.

An sshd is reused while it runs in the namespaces of its host's current libvirtd; one left in the namespaces of a
daemon since restarted is stopped and started again. It is stopped by its PID (and its sessions with it).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import asyncssh

from . import hosts, layout
from .errors import LabError
from .layout import Paths
from .proc import alive, descendants, read_pid, run, stop
from .state import LabState

Log = Callable[[str], None]
SSHD = "/usr/sbin/sshd"
READY_S = 15.0


# -- the client's leg into the lab network -------------------------------------------------------------------


def ensure_client_leg() -> None:
    if run(["ip", "link", "show", "dev", layout.CLIENT_IFACE], check=False).returncode != 0:
        _refuse_foreign_route()
        run(["ip", "link", "add", layout.CLIENT_IFACE, "type", "veth", "peer", "name", layout.CLIENT_PORT,
             "netns", layout.LAB_NETNS])
    run(["ip", "-n", layout.LAB_NETNS, "link", "set", layout.CLIENT_PORT, "master", layout.BRIDGE, "up"])
    run(["ip", "addr", "replace", f"{layout.CLIENT_ADDRESS}/{layout.PREFIX_LEN}", "dev", layout.CLIENT_IFACE])
    run(["ip", "link", "set", layout.CLIENT_IFACE, "up"])


def _refuse_foreign_route() -> None:
    shown = run(["ip", "-o", "route", "show", layout.SUBNET], check=False).stdout.strip()
    if shown:
        raise LabError(f"the root namespace already routes the lab's subnet {layout.SUBNET} ({shown}): "
                       f"the client leg {layout.CLIENT_IFACE} would take it over")


def remove_client_leg() -> bool:
    """Delete the leg (its peer goes with it); True when there was one."""
    return run(["ip", "link", "del", layout.CLIENT_IFACE], check=False).returncode == 0


# -- keys and configuration ----------------------------------------------------------------------------------


def _key(path: Path) -> asyncssh.SSHKey:
    """The private key at `path`, generated (ed25519, mode 0600) when absent."""
    if path.exists():
        return asyncssh.read_private_key(str(path))
    key = asyncssh.generate_private_key("ssh-ed25519", comment=path.name)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.export_private_key())
    os.replace(tmp, path)
    return key


def _public(key: asyncssh.SSHKey) -> str:
    algorithm, blob = key.export_public_key().decode().split()[:2]
    return f"{algorithm} {blob}"


def sshd_config(i: int) -> str:
    return "\n".join(
        [
            "# written by `hotmig lab up`; inside the host this directory is /etc/ssh",
            f"ListenAddress {layout.host_address(i)}:{layout.SSH_PORT}",
            "HostKey /etc/ssh/ssh_host_ed25519_key",
            "PidFile /etc/ssh/sshd.pid",
            "AuthorizedKeysFile /etc/ssh/authorized_keys",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            # hotmig's tunnel to libvirt's socket and its reachability probe: OpenSSH's defaults, said out loud.
            "AllowStreamLocalForwarding yes",
            "AllowTcpForwarding yes",
            "X11Forwarding no",
            "PrintMotd no",
            "MaxSessions 16",
            # A client that vanished (a cut link) is dropped within ~15 s.
            "ClientAliveInterval 5",
            "ClientAliveCountMax 3",
            "LogLevel VERBOSE",
            "",
        ]
    )


def write_files(paths: Paths, n: int) -> None:
    """hotmig's key, each host's key, config and authorized_keys, and the known_hosts naming them all."""
    paths.ssh.mkdir(mode=0o700, exist_ok=True)
    os.chmod(paths.ssh, 0o700)
    client = _public(_key(paths.client_key))
    known = []
    for i in range(1, n + 1):
        d = paths.host(i).ssh
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(d, 0o700)  # sshd's StrictModes: its files may not be group- or world-writable
        host_key = _key(d / "ssh_host_ed25519_key")
        (d / "sshd_config").write_text(sshd_config(i))
        (d / "authorized_keys").write_text(f"{client} hotmig-lab\n")
        known.append(f"{layout.host_address(i)} {_public(host_key)}\n")
    _atomic_write(paths.known_hosts, "".join(known))


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# -- the daemons ---------------------------------------------------------------------------------------------


def _namespace_script(paths: Paths, i: int) -> str:
    q = shlex.quote
    hosts, empty = q(str(paths.hosts)), q(str(paths.empty))
    return "\n".join(
        [
            "set -e",
            # This namespace only (the daemon's keeps its view): lift the hiding of <lab>/hosts to bind this
            # host's ssh directory over /etc/ssh, then hide <lab>/hosts again, and hotmig's own key too.
            f"umount {hosts}",
            f"mount --bind {q(str(paths.host(i).ssh))} /etc/ssh",
            f"mount --bind {empty} {hosts}",
            f"mount -o remount,bind,ro {hosts}",
            f"mount --bind {empty} {q(str(paths.ssh))}",
            f"exec {SSHD} -D -f /etc/ssh/sshd_config -E /etc/ssh/sshd.log",
        ]
    )


def sshd_pid(paths: Paths, i: int, recorded: int | None = None) -> int | None:
    for pid in (read_pid(paths.host(i).sshd_pid_file), recorded):
        if alive(pid, "sshd"):
            return pid
    return None


def _start(paths: Paths, i: int, daemon: int) -> int:
    hp = paths.host(i)
    with contextlib.suppress(FileNotFoundError):
        hp.sshd_pid_file.unlink()
    cmd = ["nsenter", f"--target={daemon}", "--mount", "--net", "--", "unshare", "--mount", "--propagation",
           "private", "--", "sh", "-c", _namespace_script(paths, i)]
    with open(hp.ssh / "sshd.out", "ab") as out:
        # nsenter (no PID namespace), unshare and sh all exec: the PID is sshd's own. Its own session, like
        # libvirtd: it outlives this process.
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
    return proc.pid


def _in_namespaces_of(pid: int, daemon: int) -> bool:
    """sshd's network namespace is the daemon's (its mount namespace is a child of the daemon's, by design)."""
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/proc/{daemon}/ns/net").st_ino
    except OSError:
        return False


def ensure(paths: Paths, st: LabState, n: int, log: Log) -> list[str]:
    """Every host's sshd running in its current namespaces and answering; returns the hosts it (re)started."""
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    ensure_client_leg()
    write_files(paths, n)
    started: dict[int, int] = {}
    for i in range(1, n + 1):
        rec = st.hosts.get(i)
        daemon = hosts.daemon_pid(paths.host(i), rec.pid if rec else None)
        if daemon is None or rec is None:
            raise LabError(f"{layout.host_name(i)}: no libvirtd to start sshd beside")
        pid = sshd_pid(paths, i, rec.sshd_pid if rec else None)
        if pid and rec and rec.sshd_for == daemon and _in_namespaces_of(pid, daemon):
            continue
        if pid:
            stop_host(paths, i, pid, log)
        rec.sshd_pid, rec.sshd_for = _start(paths, i, daemon), daemon
        started[i] = rec.sshd_pid
    for i, pid in started.items():
        try:
            _wait_ready(paths, i, pid)
        except LabError as first:
            # Seen rarely right after its libvirtd was killed and restarted (healing a crash test): start it once
            # more, and fail with both reasons if that does not help either.
            rec = st.hosts[i]
            log(f"{layout.host_name(i)}: sshd did not come up ({str(first).splitlines()[0]}); starting it again")
            rec.sshd_pid = pid = _start(paths, i, rec.sshd_for or 0)
            _wait_ready(paths, i, pid)
        log(f"{layout.host_name(i)}: sshd started (pid {pid}) at {layout.ssh_address(i)}")
    return [layout.host_name(i) for i in started]


def _wait_ready(paths: Paths, i: int, pid: int) -> None:
    deadline = time.monotonic() + READY_S
    address = (layout.host_address(i), layout.SSH_PORT)
    while True:
        if not alive(pid, "sshd"):
            d = paths.host(i).ssh
            raise LabError(f"{layout.host_name(i)}: sshd exited at start; see {d}/sshd.out and sshd.log:\n"
                           f"{_tail(d / 'sshd.out')}{_tail(d / 'sshd.log')}")
        with contextlib.suppress(OSError), socket.create_connection(address, timeout=1) as sock:
            if sock.recv(64).startswith(b"SSH-2.0-"):
                return
        if time.monotonic() > deadline:
            raise LabError(f"{layout.host_name(i)}: sshd does not answer at {address[0]}:{address[1]} within "
                           f"{READY_S:.0f} s; see {paths.host(i).ssh}/sshd.log")
        time.sleep(0.05)


def _tail(path: Path) -> str:
    try:
        return "".join(f"  {line}\n" for line in path.read_text(errors="replace").splitlines()[-6:])
    except OSError:
        return ""


def stop_host(paths: Paths, i: int, recorded: int | None, log: Log) -> None:
    """Stop host i's sshd and every session it forked (by PID: the sessions are its descendants)."""
    pid = sshd_pid(paths, i, recorded)
    if pid is None:
        return
    sessions = descendants(pid)
    stop([pid], "sshd")
    # Sessions outlive their listener; they are ours (its children), whatever they run now.
    for child in sessions:
        with contextlib.suppress(ProcessLookupError):
            if alive(child):
                os.kill(child, signal.SIGKILL)
    more = f", {len(sessions)} session process(es)" if sessions else ""
    log(f"{layout.host_name(i)}: stopped sshd (pid {pid}{more})")
