"""The lab's hosts: network namespaces joined by a bridge, one libvirtd per host in its own mount namespace.

Host i runs `ip netns exec hotmig-lab<i> unshare --mount --propagation private -- sh -c 'mount --bind ...;
exec libvirtd'`: libvirtd as root always uses /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt
and /var/cache/libvirt, so each host binds its own copies over them; it also binds its local datastore over
`<lab>/local`, hides `<lab>/shared` unless it is in the shared cluster, and hides `<lab>/hosts` (the other
hosts' private directories) so that nothing in it can reach another host's disks by their real path. QEMU
processes are children of the daemon and inherit both namespaces: migration traffic really crosses the veths.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from . import layout
from .errors import LabError
from .install import LIBVIRTD
from .layout import HostPaths, Paths
from .proc import alive, read_pid, run, stop

Log = Callable[[str], None]


# -- network -------------------------------------------------------------------------------------------------


def netns_list() -> list[str]:
    out = run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _link_exists(netns: str, name: str) -> bool:
    return run(["ip", "-n", netns, "link", "show", "dev", name], check=False).returncode == 0


def ensure_lab_network() -> None:
    if layout.LAB_NETNS not in netns_list():
        run(["ip", "netns", "add", layout.LAB_NETNS])
    run(["ip", "-n", layout.LAB_NETNS, "link", "set", "lo", "up"])
    if not _link_exists(layout.LAB_NETNS, layout.BRIDGE):
        # No STP: ports forward at once instead of after the 15 s forward delay.
        run(["ip", "-n", layout.LAB_NETNS, "link", "add", layout.BRIDGE, "type", "bridge", "stp_state", "0"])
    run(["ip", "-n", layout.LAB_NETNS, "link", "set", layout.BRIDGE, "up"])


def ensure_host_network(i: int) -> None:
    ns, port = layout.host_netns(i), layout.bridge_port(i)
    if ns not in netns_list():
        run(["ip", "netns", "add", ns])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
    if not _link_exists(layout.LAB_NETNS, port):
        if _link_exists(ns, layout.HOST_IFACE):  # half of a pair cannot outlive the other, but be sure
            run(["ip", "-n", ns, "link", "del", layout.HOST_IFACE])
        # Both ends are created directly in their namespaces, so their names never clash with the root's.
        run(
            [
                "ip",
                "link",
                "add",
                port,
                "netns",
                layout.LAB_NETNS,
                "type",
                "veth",
                "peer",
                "name",
                layout.HOST_IFACE,
                "netns",
                ns,
            ]
        )
    run(["ip", "-n", layout.LAB_NETNS, "link", "set", port, "master", layout.BRIDGE, "up"])
    run(
        [
            "ip",
            "-n",
            ns,
            "addr",
            "replace",
            f"{layout.host_address(i)}/{layout.PREFIX_LEN}",
            "dev",
            layout.HOST_IFACE,
        ]
    )
    run(["ip", "-n", ns, "link", "set", layout.HOST_IFACE, "up"])


def remove_network(indices: list[int]) -> list[str]:
    """Delete the lab's namespaces (deleting one destroys its veths and bridge); return the ones deleted."""
    present = set(netns_list())
    wanted = [layout.host_netns(i) for i in indices] + [layout.LAB_NETNS]
    # Also namespaces of hosts a crashed `up` created but never recorded.
    wanted += [
        ns for ns in present if ns.startswith(layout.LAB_NETNS) and ns[len(layout.LAB_NETNS) :].isdigit()
    ]
    deleted = []
    for ns in dict.fromkeys(wanted):
        if ns in present:
            run(["ip", "netns", "del", ns], check=False)
            deleted.append(ns)
    return deleted


# -- daemon configuration ------------------------------------------------------------------------------------


def libvirtd_conf(i: int) -> str:
    return "\n".join(
        [
            "# written by `hotmig lab up`",
            f'host_uuid = "{layout.host_uuid(i)}"',
            "listen_tls = 0",
            "listen_tcp = 1",
            f'listen_addr = "{layout.host_address(i)}"',
            f'tcp_port = "{layout.LIBVIRTD_PORT}"',
            'auth_tcp = "none"',
            'auth_unix_rw = "none"',
            'auth_unix_ro = "none"',
            'unix_sock_rw_perms = "0770"',
            'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"',
            # A dead peer is noticed within ~6 s (a cut link fails the migration call instead of hanging).
            "keepalive_interval = 2",
            "keepalive_count = 3",
            "",
        ]
    )


def qemu_conf(i: int) -> str:
    address = layout.host_address(i)
    low, high = layout.MIGRATION_PORTS
    return "\n".join(
        [
            "# written by `hotmig lab up`",
            'user = "root"',
            'group = "root"',
            "dynamic_ownership = 0",
            "remember_owner = 0",
            'security_driver = "none"',
            # No cgroups or per-VM mount namespaces: no systemd here, and the host is already a namespace.
            "cgroup_controllers = [ ]",
            "namespaces = [ ]",
            # Guest stdio to files, without virtlogd.
            'stdio_handler = "file"',
            # Incoming migrations listen on, and peers are told to use, this host's lab address (never
            # loopback: a loopback value stops the QEMU driver from loading).
            f'migration_address = "{address}"',
            f'migration_host = "{address}"',
            f"migration_port_min = {low}",
            f"migration_port_max = {high}",
            "",
        ]
    )


def prepare_host_dirs(paths: Paths, i: int) -> None:
    hp = paths.host(i)
    for inside in layout.DAEMON_DIRS:
        hp.daemon_dir(inside).mkdir(parents=True, exist_ok=True)
        # The mount points must exist in the root namespace before a namespace can bind over them.
        Path(inside).mkdir(parents=True, exist_ok=True)
    hp.local.mkdir(parents=True, exist_ok=True)
    (hp.root / "noshared").mkdir(parents=True, exist_ok=True)
    (hp.etc / "libvirtd.conf").write_text(libvirtd_conf(i))
    (hp.etc / "qemu.conf").write_text(qemu_conf(i))
    for path in (paths.shared, paths.local, paths.consoles, paths.empty):
        path.mkdir(parents=True, exist_ok=True)


def _namespace_script(paths: Paths, i: int) -> str:
    hp = paths.host(i)
    q = shlex.quote
    binds = [(hp.daemon_dir(inside), inside) for inside in layout.DAEMON_DIRS]
    binds.append((hp.local, str(paths.local)))
    if i not in layout.SHARED_HOSTS:
        binds.append((hp.root / "noshared", str(paths.shared)))
    lines = ["set -e"]
    lines += [f"mount --bind {q(str(src))} {q(str(dst))}" for src, dst in binds]
    # Last, once everything this host needs from there is bound: hide every host's private directory.
    lines.append(f"mount --bind {q(str(paths.empty))} {q(str(paths.hosts))}")
    lines.append(f"mount -o remount,bind,ro {q(str(paths.hosts))}")
    # Pinned to CPU 0 while it starts (see unpin()).
    lines.append(
        f"exec taskset -c 0 {LIBVIRTD} --listen -f /etc/libvirt/libvirtd.conf"
        " --pid-file /run/libvirt/libvirtd.pid"
    )
    return "\n".join(lines)


# -- daemon lifecycle ----------------------------------------------------------------------------------------


def daemon_pid(hp: HostPaths, recorded: int | None = None) -> int | None:
    """The running libvirtd of this host, from its pid file (or the PID we recorded), or None."""
    for pid in (read_pid(hp.pid_file), recorded):
        if alive(pid, "libvirtd"):
            return pid
    return None


def start_daemon(paths: Paths, i: int) -> int:
    hp = paths.host(i)
    with contextlib.suppress(FileNotFoundError):
        hp.pid_file.unlink()
    with contextlib.suppress(FileNotFoundError):
        hp.socket.unlink()
    cmd = [
        "ip",
        "netns",
        "exec",
        layout.host_netns(i),
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        _namespace_script(paths, i),
    ]
    with open(hp.daemon_out, "ab") as out:
        out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {shlex.join(cmd)}\n".encode())
        out.flush()
        # Its own session: it outlives this process (the lab stays up between test runs) and our signals.
        # ip netns exec, unshare and sh all exec, so this PID is libvirtd's own.
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    return proc.pid


def unpin(pid: int) -> None:
    """Let a started daemon (every thread of it) run on every CPU again.

    libvirtd starts pinned to CPU 0 because it reads the host's CPUID once at start and discards its cached
    QEMU capabilities (a 5-8 s probe per QEMU binary) when that differs from the cache's: leaf 0x1f holds the
    x2APIC ID of the CPU the read ran on, so an unpinned daemon misses its cache half the time. Once it has
    started, the pin must go, or every QEMU it forks would inherit it and all guests would share one core.
    """
    every = set(range(os.cpu_count() or 1))
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(task.name), every)


def daemon_failure(paths: Paths, i: int) -> str:
    hp = paths.host(i)
    parts = []
    for log in (hp.daemon_out, hp.log / "libvirtd.log"):
        with contextlib.suppress(OSError):
            tail = log.read_text(errors="replace").strip().splitlines()[-8:]
            parts.append(f"{log}:\n  " + "\n  ".join(tail))
    return "\n".join(parts)


def seed_capabilities(paths: Paths, i: int, source: int) -> None:
    """Copy host `source`'s cached QEMU capabilities to host i, sparing i's daemon the 5-8 s probe.

    The cache is valid for every daemon here: same QEMU and libvirt binaries, same kernel and CPU.
    """
    src, dst = paths.host(source).caps_cache, paths.host(i).caps_cache
    if not src.is_dir() or (dst.is_dir() and any(dst.glob("*.xml"))):
        return
    dst.mkdir(parents=True, exist_ok=True)
    for xml in src.glob("*.xml"):
        shutil.copy2(xml, dst / xml.name)


def has_capabilities(paths: Paths, i: int) -> bool:
    cache = paths.host(i).caps_cache
    return cache.is_dir() and any(cache.glob("*.xml"))


def qemu_pids(hp: HostPaths) -> list[int]:
    if not hp.qemu_pid_dir.is_dir():
        return []
    return [pid for f in sorted(hp.qemu_pid_dir.glob("*.pid")) if (pid := read_pid(f))]


def stop_host(paths: Paths, i: int, recorded: int | None, log: Log) -> None:
    """Stop host i's daemon and then its QEMU processes, by the PIDs in their own pid files only."""
    hp = paths.host(i)
    pids = [p for p in (read_pid(hp.pid_file), recorded) if p]
    stopped = stop(list(dict.fromkeys(pids)), "libvirtd")
    if stopped:
        log(f"{layout.host_name(i)}: stopped libvirtd (pid {', '.join(map(str, stopped))})")
    guests = stop(qemu_pids(hp), "qemu-system")
    if guests:
        log(f"{layout.host_name(i)}: stopped {len(guests)} QEMU process(es)")
    for pid in stopped + guests:
        if alive(pid):
            raise LabError(f"{layout.host_name(i)}: process {pid} survived SIGKILL")
