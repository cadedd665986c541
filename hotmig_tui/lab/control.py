"""`up`, `status` and `down`: putting the lab's pieces together, idempotently."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any

from . import console, faults, guestimage, guests, hosts, install, inventory, layout, sharedfs, sshd, state, storage
from .errors import LabError
from .info import GuestStatus, HostStatus, LabGuest, LabHost, LabInfo, LabStatus
from .layout import Paths
from .proc import alive, read_pid
from .virt import close, libvirt, open_conn, quiet_errors, wait_ready

Log = Callable[[str], None]
MIN_HOSTS = 3
DAEMON_READY_S = 120.0  # a cold probe takes 5-8 s alone, far longer when the machine is busy
BOOT_S = 240.0  # TCG boots of several guests at once on two cores
HEARTBEAT_FRESH_S = 5.0


@contextlib.contextmanager
def _locked(paths: Paths) -> Iterator[None]:
    """One `up`/`down` at a time (e.g. several test processes starting at once)."""
    paths.root.mkdir(parents=True, exist_ok=True)
    with open(paths.root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def up(n_hosts: int = 3, log: Log = print) -> LabInfo:
    if n_hosts < MIN_HOSTS:
        raise LabError(
            f"the lab needs at least {MIN_HOSTS} hosts (two sharing a datastore, one outside), not {n_hosts}"
        )
    started_at = time.monotonic()
    paths = Paths(layout.lab_dir())
    layout.check_socket_path(paths)
    install.check_platform()
    libvirt()  # fail early, with the fix, when libvirt-python is missing
    with _locked(paths):
        kernel = install.ensure(paths, log)
        image = guestimage.ensure(paths.image, kernel, log)
        st = state.load(paths.state) or state.LabState(created_at=time.time())
        running = max(st.hosts, default=0)
        if running > n_hosts:
            # Never tear hosts down behind a caller's back (guests may have moved there): keep the larger lab.
            log(f"the lab has {running} hosts, more than the {n_hosts} asked for: keeping them all")
            n_hosts = running
        started: list[str] = []
        conns: dict[int, Any] = {}
        try:
            _hosts_up(paths, st, n_hosts, conns, started, log)
            for i, conn in conns.items():
                storage.ensure_pools(conn, paths, i)
            sshd.ensure(paths, st, n_hosts, log)
            st.image = image.key
            state.save(paths.state, st)
            started += _guests_up(paths, conns, n_hosts, image, log)
            inventory.write(paths, n_hosts)
        finally:
            for conn in conns.values():
                close(conn)
        seconds = time.monotonic() - started_at
        log(
            f"lab up in {seconds:.1f} s ({'started ' + ', '.join(started) if started else 'all reused'}); "
            f"inventory: {paths.inventory}"
        )
        return _info(paths, st, n_hosts, tuple(started), seconds)


def _hosts_up(
    paths: Paths, st: state.LabState, n: int, conns: dict[int, Any], started: list[str], log: Log
) -> None:
    hosts.ensure_lab_network()
    for i in range(1, n + 1):
        hosts.prepare_host_dirs(paths, i)
    # Host namespaces copy the mounts there are when they are made: a shared datastore mounted anew is
    # invisible to daemons already running, so those of its hosts must start again.
    remounted = sharedfs.ensure(paths)
    if remounted:
        log(f"shared datastore mounted at {paths.shared}")
    todo = []
    for i in range(1, n + 1):
        hp = paths.host(i)
        rec = st.hosts.get(i)
        pid = hosts.daemon_pid(hp, rec.pid if rec else None)
        hosts.ensure_host_network(i)  # (also brings a cut link back up)
        faults.uncap(layout.host_name(i))
        if pid and remounted and i in layout.SHARED_HOSTS:
            log(
                f"{layout.host_name(i)}: restarting libvirtd (and its guests) to see the new shared datastore"
            )
        elif pid and _in_netns(pid, layout.host_netns(i)):
            try:
                conns[i] = wait_ready(hp.uri, 30.0, alive=lambda p=pid: alive(p, "libvirtd"))
                continue
            except LabError as exc:
                log(f"{layout.host_name(i)}: libvirtd {pid} is not healthy ({exc}); restarting it")
        if pid:
            hosts.stop_host(paths, i, pid, log)
        todo.append(i)
    if not todo:
        return
    # A fresh daemon spends 5-8 s probing QEMU's capabilities (much longer with several probing at once on two
    # cores); probe once, then hand the result to the others.
    seeded = [i for i in range(1, n + 1) if hosts.has_capabilities(paths, i)]
    if not seeded:
        first = todo.pop(0)
        _start(paths, st, first, conns, log)
        started.append(layout.host_name(first))
        seeded = [first]
    for i in todo:
        hosts.seed_capabilities(paths, i, seeded[0])
    pids = {i: _launch(paths, st, i, log) for i in todo}
    for i in todo:
        conns[i] = _wait_daemon(paths, i, pids[i])
        started.append(layout.host_name(i))
    state.save(paths.state, st)


def _launch(paths: Paths, st: state.LabState, i: int, log: Log) -> int:
    pid = hosts.start_daemon(paths, i)
    log(
        f"{layout.host_name(i)}: libvirtd started (pid {pid}) at {layout.host_address(i)} "
        f"in {layout.host_netns(i)}"
    )
    st.hosts[i] = state.HostRecord(
        index=i,
        name=layout.host_name(i),
        netns=layout.host_netns(i),
        address=layout.host_address(i),
        uuid=layout.host_uuid(i),
        uri=paths.host(i).uri,
        pid=pid,
        started_at=time.time(),
    )
    # Recorded at once: a failure later in `up` must still leave `down` the PID to stop.
    state.save(paths.state, st)
    return pid


def _start(paths: Paths, st: state.LabState, i: int, conns: dict[int, Any], log: Log) -> None:
    conns[i] = _wait_daemon(paths, i, _launch(paths, st, i, log))


def _wait_daemon(paths: Paths, i: int, pid: int) -> Any:
    try:
        conn = wait_ready(paths.host(i).uri, DAEMON_READY_S, alive=lambda: alive(pid, "libvirtd"))
    except LabError as exc:
        raise LabError(f"{layout.host_name(i)}: {exc}\n{hosts.daemon_failure(paths, i)}") from exc
    hosts.unpin(pid)
    return conn


def _in_netns(pid: int, netns: str) -> bool:
    """The daemon still lives in the namespace of that name (not in one deleted and re-created since)."""
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{netns}").st_ino
    except OSError:
        return False


def _guests_up(
    paths: Paths, conns: dict[int, Any], n: int, image: guestimage.GuestImage, log: Log
) -> list[str]:
    cache = guests.disk_cache_mode(paths.shared)
    specs = guests.specs(n)
    lv = libvirt()
    for g in specs:
        found = guests.find(conns, g.name)
        if found and found[1].state()[0] == lv.VIR_DOMAIN_PAUSED:
            log(f"{g.name}: paused on {layout.host_name(found[0])}, resuming it")
            found[1].resume()
    # Running ones must still be alive: a fresh heartbeat, and one that says memory and disk are intact.
    marks = {g.name: console.offset(g.name, paths.root) for g in specs}
    for g in specs:
        found = guests.find(conns, g.name)
        if found:
            try:
                hb = console.wait_heartbeat(
                    g.name, marks[g.name], timeout=HEARTBEAT_FRESH_S + 3, lab=paths.root
                )
            except TimeoutError:
                hb = None
            if hb is None or not hb.ok:
                log(
                    f"{g.name}: running on {layout.host_name(found[0])} but "
                    f"{'silent' if hb is None else hb.line}; restarting it"
                )
                with quiet_errors(), contextlib.suppress(lv.libvirtError):
                    found[1].destroy()
    started = []
    for g in specs:
        if guests.ensure(conns, g, image, paths, cache, log):
            started.append(g.name)
    if any(g.pool == storage.SHARED_POOL for g in specs if g.name in started):
        for i in layout.SHARED_HOSTS:
            if i in conns:
                storage.refresh(conns[i], storage.SHARED_POOL)
    if started:
        log(f"waiting for {', '.join(started)} to boot")
        _wait_booted(paths, conns, started)
    return started


def _wait_booted(paths: Paths, conns: dict[int, Any], names: list[str]) -> None:
    """Until every guest in `names` printed a heartbeat; fail at once on trouble or a guest that stopped."""
    deadline = time.monotonic() + BOOT_S
    waiting = set(names)
    while waiting:
        for name in sorted(waiting):
            report = console.scan(name, 0, paths.root)
            if report.trouble:
                raise LabError(f"guest {name} failed to boot: {report.trouble[0]}")
            if report.heartbeats:
                if not report.heartbeats[0].ok:
                    raise LabError(f"guest {name} booted but reports trouble: {report.heartbeats[0].line}")
                waiting.discard(name)
            elif guests.find(conns, name) is None:
                raise LabError(
                    f"guest {name} stopped while booting; console: {console.tail(name, lab=paths.root)!r}"
                )
        if waiting and time.monotonic() > deadline:
            raise LabError(
                f"guests {', '.join(sorted(waiting))} did not boot within {BOOT_S:.0f} s; see "
                f"{paths.consoles} and {paths.hosts}/lab*/var/log/libvirt/qemu/"
            )
        time.sleep(0.3)


def _info(paths: Paths, st: state.LabState, n: int, started: tuple[str, ...], seconds: float) -> LabInfo:
    host_list = tuple(
        LabHost(
            index=i,
            name=layout.host_name(i),
            cluster=layout.host_cluster(i),
            address=layout.host_address(i),
            uri=paths.host(i).uri,
            migration_uri=layout.migration_uri(i),
            uuid=layout.host_uuid(i),
            netns=layout.host_netns(i),
            bridge_port=layout.bridge_port(i),
            socket=paths.host(i).socket,
            pid=hosts.daemon_pid(paths.host(i), st.hosts[i].pid if i in st.hosts else None),
        )
        for i in range(1, n + 1)
    )
    guest_list = tuple(
        LabGuest(
            name=g.name,
            home=layout.host_name(g.host),
            datastore=g.datastore(),
            pool=g.pool,
            disk=str((paths.shared if g.pool == storage.SHARED_POOL else paths.local) / g.volume),
            console=guests.console_path(paths, g.name),
            memory=g.memory,
            dirty_rate=g.mem_rate,
            working_set=g.mem_ws,
            disk_rate=g.disk_rate,
            purpose=g.purpose,
        )
        for g in guests.specs(n)
    )
    return LabInfo(paths.root, paths.inventory, host_list, guest_list, started, seconds)


# -- status --------------------------------------------------------------------------------------------------


def status() -> LabStatus:
    paths = Paths(layout.lab_dir())
    st = state.load(paths.state)
    if st is None:
        leftovers = _leftovers(paths)
        return LabStatus(paths.root, False, (), (), tuple(leftovers))
    n = max(st.hosts, default=0)
    host_list = []
    guest_list = []
    problems = []
    conns: dict[int, Any] = {}
    try:
        with quiet_errors():
            for i in range(1, n + 1):
                hp = paths.host(i)
                rec = st.hosts.get(i)
                pid = hosts.daemon_pid(hp, rec.pid if rec else None)
                error = None
                if pid:
                    try:
                        conns[i] = open_conn(hp.uri, timeout=10)
                        conns[i].listAllDomains()
                    except (LabError, libvirt().libvirtError) as exc:
                        error = str(exc)
                        conns.pop(i, None)
                else:
                    error = "libvirtd is not running"
                if error:
                    problems.append(f"{layout.host_name(i)}: {error}")
                if pid and not sshd.sshd_pid(paths, i, rec.sshd_pid if rec else None):
                    problems.append(f"{layout.host_name(i)}: sshd is not running (hotmig --lab --ssh cannot reach it)")
                host_list.append(
                    HostStatus(
                        layout.host_name(i),
                        layout.host_address(i),
                        hp.uri,
                        pid,
                        pid is not None,
                        i in conns,
                        error,
                    )
                )
            for g in guests.specs(n):
                gs = _guest_status(paths, conns, g.name)
                if not gs.healthy:
                    problems.append(f"guest {g.name}: {gs.state}, {gs.heartbeat or 'no heartbeat'}")
                guest_list.append(gs)
    finally:
        for conn in conns.values():
            close(conn)
    if not sharedfs.healthy(paths):
        problems.append(f"the shared datastore is not mounted at {paths.shared}")
    return LabStatus(paths.root, not problems, tuple(host_list), tuple(guest_list), tuple(problems))


_STATES = {
    0: "nostate",
    1: "running",
    2: "blocked",
    3: "paused",
    4: "shutdown",
    5: "shutoff",
    6: "crashed",
    7: "pmsuspended",
}


def _guest_status(paths: Paths, conns: dict[int, Any], name: str) -> GuestStatus:
    found = guests.find(conns, name)
    report = console.scan(name, max(0, console.offset(name, paths.root) - 2048), paths.root)
    last = report.last
    try:
        fresh = time.time() - guests.console_path(paths, name).stat().st_mtime < HEARTBEAT_FRESH_S
    except OSError:
        fresh = False
    if not found:
        return GuestStatus(name, None, "absent", last.line if last else None, False)
    i, dom = found
    state_name = _STATES.get(dom.state()[0], "unknown")
    healthy = state_name == "running" and fresh and last is not None and last.ok
    return GuestStatus(name, layout.host_name(i), state_name, last.line if last else None, healthy)


def _leftovers(paths: Paths) -> list[str]:
    found = [f"network namespace {ns} exists" for ns in hosts.netns_list() if ns.startswith(layout.LAB_NETNS)]
    if paths.hosts.is_dir():
        for d in sorted(paths.hosts.iterdir()):
            pid = read_pid(d / "run" / "libvirt" / "libvirtd.pid")
            if alive(pid, "libvirtd"):
                found.append(f"{d.name}: libvirtd {pid} runs without a state file")
    if found:
        found.append("run `hotmig lab down` to clean up")
    return found


# -- down ----------------------------------------------------------------------------------------------------


def down(log: Log = print) -> None:
    """Stop what `up` started, by the PIDs in the lab's own pid files, and remove the namespaces and the lab's
    runtime files (the cache — packages' lists, kernel, guest image, capability caches — stays)."""
    paths = Paths(layout.lab_dir())
    if os.geteuid() != 0:
        raise LabError("`lab down` needs root (it stops root's daemons and deletes network namespaces)")
    if not paths.root.exists() and not any(ns.startswith(layout.LAB_NETNS) for ns in hosts.netns_list()):
        log(f"lab at {paths.root}: nothing to do")
        return
    with _locked(paths):
        try:
            st = state.load(paths.state)
        except LabError as exc:
            log(f"{exc}; stopping what the pid files name")
            st = None
        indices = set(st.hosts) if st else set()
        if paths.hosts.is_dir():
            indices |= {int(d.name[3:]) for d in paths.hosts.iterdir() if re.fullmatch(r"lab\d+", d.name)}
        for i in sorted(indices):
            rec = st.hosts.get(i) if st else None
            sshd.stop_host(paths, i, rec.sshd_pid if rec else None, log)
            hosts.stop_host(paths, i, rec.pid if rec else None, log)
        if sshd.remove_client_leg():
            log(f"deleted the client's leg {layout.CLIENT_IFACE}")
        sharedfs.unmount(paths)
        deleted = hosts.remove_network(sorted(indices))
        if deleted:
            log(f"deleted network namespaces: {', '.join(deleted)}")
        for path in (paths.hosts, paths.shared, paths.local, paths.consoles, paths.empty, paths.root / "run",
                     paths.ssh):
            shutil.rmtree(path, ignore_errors=True)
        for path in (paths.state, paths.inventory, paths.ssh_inventory):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        if st and st.image:
            guestimage.remove_stale(paths.image, keep={st.image})
        log(f"lab at {paths.root}: down")
