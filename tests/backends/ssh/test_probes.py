"""Probes through a host session, against the in-process server (which runs commands with the local /bin/sh)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from hotmig_tui.backends.ssh import HostLoad, Prober, SessionPool
from hotmig_tui.backends.ssh.facts import Probed, ProbeFacts
from hotmig_tui.backends.ssh.probes import disks, hostload, linkspeed, reach
from hotmig_tui.core.model import Cluster, Datastore, Disk, Host, Inventory, Vm, VmState
from hotmig_tui.core.rules.facts import CheckContext
from hotmig_tui.core.run import MigrationKind, MigrationPlan

from .conftest import Keys, settings_for


def pool_for(sshd, keys: Keys, tmp_path: Path, *names: str) -> SessionPool:  # type: ignore[no-untyped-def]
    pool = SessionPool(settings_for(tmp_path, keys, sshd.known_hosts_line()))
    for name in names or ("cna1",):
        pool.add(name, sshd.address)
    return pool


async def listening_port() -> tuple[asyncio.AbstractServer, int]:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def closed_port() -> int:
    server, port = await listening_port()
    server.close()
    await server.wait_closed()
    return port


async def test_reachability_through_the_source_sshd(sshd, keys: Keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pool = pool_for(sshd, keys, tmp_path)
    server, port = await listening_port()
    up = await reach.reachability(pool.session("cna1"), "cna2", "127.0.0.1", port)
    assert up.value is True and "TCP connection made" in up.detail and up.detail.startswith("cna1 -> cna2")
    refused = await reach.reachability(pool.session("cna1"), "cna2", "127.0.0.1", await closed_port())
    assert refused.value is True and "answered (Connection refused" in refused.detail
    server.close()
    await pool.close()


async def test_unreachable_carries_sshds_reason(sshd_factory, keys: Keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sshd = await sshd_factory(connect_error="No route to host")
    pool = pool_for(sshd, keys, tmp_path)
    down = await reach.reachability(pool.session("cna1"), "cna2", "10.99.0.2", 22)
    assert down.value is False and down.detail == "cna1 -> cna2 (10.99.0.2:22): No route to host"
    await pool.close()


async def test_reachability_falls_back_to_bash_without_tcp_forwarding(sshd_factory, keys: Keys,  # type: ignore[no-untyped-def]
                                                                      tmp_path: Path) -> None:
    sshd = await sshd_factory(forwarding=False)
    pool = pool_for(sshd, keys, tmp_path)
    server, port = await listening_port()
    up = await reach.reachability(pool.session("cna1"), "cna2", "127.0.0.1", port)
    assert up.value is True and "bash /dev/tcp" in up.detail
    refused = await reach.reachability(pool.session("cna1"), "cna2", "127.0.0.1", await closed_port())
    assert refused.value is True and "Connection refused" in refused.detail
    server.close()
    await pool.close()


async def test_disk_visibility_tells_present_from_absent(sshd, keys: Keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pool = pool_for(sshd, keys, tmp_path)
    disk = tmp_path / "vm one's disk.qcow2"  # quoting matters
    disk.write_bytes(b"x" * 4096)
    missing = str(tmp_path / "nowhere.qcow2")
    found = await disks.disk_visibility(pool.session("cna1"), [str(disk), missing])
    assert found[str(disk)].value is True and "4,096 bytes" in found[str(disk)].detail
    assert found[missing].value is False and found[missing].detail == f"{missing} does not exist on cna1"
    await pool.close()


async def test_host_load_reads_proc(sshd, keys: Keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pool = pool_for(sshd, keys, tmp_path)
    load = await hostload.host_load(pool.session("cna1"))
    assert load.value is not None
    assert 0 < load.value.memory_available <= load.value.memory_total
    assert load.value.cpus == os.cpu_count() and load.value.cpu_flags
    await pool.close()


def test_host_load_parser() -> None:
    sep = hostload.SEPARATOR
    text = (f"MemTotal:  16384 kB\nMemFree:  1024 kB\nMemAvailable:  8192 kB\n{sep}\n0.50 0.40 0.30 1/100 42\n"
            f"{sep}\n8\n{sep}\nprocessor\t: 0\nmodel name\t: Test CPU @ 2GHz\nflags\t\t: fpu sse2 avx2\n\n")
    assert hostload.parse(text) == HostLoad(16384 * 1024, 8192 * 1024, (0.5, 0.4, 0.3), 8, "Test CPU @ 2GHz",
                                            frozenset({"fpu", "sse2", "avx2"}))
    with pytest.raises(ValueError):
        hostload.parse("garbage")


async def test_link_measurement_is_bounded_and_uses_the_migration_ports(sshd, keys: Keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pool = pool_for(sshd, keys, tmp_path, "cna1", "cna2")
    measured = await linkspeed.measure_link(pool.session("cna1"), pool.session("cna2"), "127.0.0.1",
                                            max_bytes=32 * 2**20, max_seconds=1.0)
    assert measured.value is not None and measured.value > 1e6, measured.detail
    assert "32 MiB" in measured.detail or " in 0." in measured.detail  # stopped by bytes or by time
    port = int(measured.detail.rsplit("port ", 1)[1].rstrip(")"))
    assert linkspeed.PORTS[0] <= port <= linkspeed.PORTS[1]
    assert measured.seconds < 1.0 + 5
    await pool.close()


async def test_link_measurement_without_python_is_unknown(sshd, keys: Keys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(linkspeed, "PYTHON", "python3-that-is-not-installed")
    pool = pool_for(sshd, keys, tmp_path, "cna1", "cna2")
    measured = await linkspeed.measure_link(pool.session("cna1"), pool.session("cna2"), "127.0.0.1")
    assert measured.value is None and "cna2 has no python3" in measured.detail
    await pool.close()


# --- the prober and its facts ------------------------------------------------------------------------------


def inventory(tmp_path: Path, address: str = "127.0.0.1") -> Inventory:
    disk = Disk("vda", str(tmp_path / "vm1.qcow2"), "shared", 1 << 20, 1 << 20)
    return Inventory(
        clusters=(Cluster("c"),),
        hosts=(Host("cna1", "c", "qemu:///system", ssh="x", address=address),
               Host("cna2", "c", "qemu:///system", ssh="x", address=address),
               Host("nossh", "c", "qemu:///system")),
        datastores=(Datastore("shared", "dir", True, True, ("cna1", "cna2")),),
        vms=(Vm("vm1", "cna1", VmState.RUNNING, 1, 1 << 28, disks=(disk,)),),
    )


async def test_prober_fills_the_check_context_for_a_plan(sshd, keys: Keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "vm1.qcow2").write_bytes(b"")
    pool = pool_for(sshd, keys, tmp_path, "cna1", "cna2")
    inv = inventory(tmp_path)
    prober = Prober(pool, lambda: inv)
    await prober.for_plan(MigrationPlan("vm1", MigrationKind.VM, "cna1", "cna2"))
    facts = prober.facts.for_checks()
    context = CheckContext(**facts, max_fact_age=60)
    reachable = context.fresh(context.reachable.get(("cna1", "cna2")))
    assert reachable is not None and reachable.value is True and reachable.age_s < 5
    visible = context.disk_visible[("cna2", str(tmp_path / "vm1.qcow2"))]
    assert visible.value is True
    assert context.memory_free["cna2"].value > 0
    await pool.close()


async def test_prober_leaves_migrating_hosts_alone_unless_asked(sshd, keys: Keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pool = pool_for(sshd, keys, tmp_path, "cna1", "cna2")
    inv = inventory(tmp_path)
    migrating = {"cna2"}
    prober = Prober(pool, lambda: inv, busy=lambda host: host in migrating)
    skipped = await prober.host_load("cna2")
    assert skipped.value is None and "cna2 is migrating" in skipped.detail
    assert sshd.stats.connections == 0  # not even a connection was opened for it
    forced = await prober.host_load("cna2", force=True)
    assert forced.value is not None
    again = await prober.host_load("cna2")  # unknown now, but the forced result stays as the known fact
    assert again.value is None and "cna2" in prober.facts.for_checks()["memory_free"]
    assert prober.facts.why_unknown("host_load", "cna2") == again.detail
    nossh = await prober.reachability("nossh", "cna1")
    assert nossh.value is None and "nossh has no SSH address" in nossh.detail
    await pool.close()


def test_facts_age_and_go_stale() -> None:
    now = [100.0]
    facts = ProbeFacts(clock=lambda: now[0])
    facts.store("reachable", ("a", "b"), Probed(True, 90.0, "ok"))
    facts.store("reachable", ("a", "b"), Probed(None, 99.0, "session down"))  # does not erase the known one
    now[0] = 200.0
    context = CheckContext(**facts.for_checks(), max_fact_age=60)
    fact = context.reachable[("a", "b")]
    assert fact.age_s == 110.0 and context.stale(fact)
    assert facts.why_unknown("reachable", ("a", "b")) == "session down"
    facts.store("bandwidth", ("a", "b"), Probed(50e6, 190.0, "50 MB/s"))
    measured = facts.measured_bandwidth("b", "a")  # either direction
    assert measured is not None and measured.value == 50e6 and measured.age_s == 10.0
