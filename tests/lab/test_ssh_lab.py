"""hotmig over SSH only, on the real lab: each host's sshd, libvirt through hotmig's asyncssh tunnels, probes.

The SSH inventory (`<lab>/inventory-ssh.toml`) names each host by its ssh address alone: no libvirt URI, no
migration_uri. Everything hotmig does here goes through one SSH connection per host: the dashboard's inventory,
a VM live migration and its way back (client-driven migrate3 over both tunnels; QEMU's own stream goes host to
host on the lab network), the probes the checks need, and the link measurement. The CI log gets a table of the
numbers measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from hotmig_tui.backends.ssh import HostKeyRefused, Prober, SessionPool, SshSettings, ssh_loop
from hotmig_tui.core.inventory_file import parse_inventory
from hotmig_tui.core.model import Inventory
from hotmig_tui.core.rules import CheckContext
from hotmig_tui.core.run import MigrationKind, MigrationOptions, MigrationPlan, Outcome, Phase
from hotmig_tui.engine import Engine
from hotmig_tui.history.store import History
from hotmig_tui.lab import console, faults
from hotmig_tui.lab.layout import Paths
from tests.conftest import REPORTS

from .helpers import domain_state, lab_backend

pytestmark = pytest.mark.lab
MiB = 2**20
NUMBERS = REPORTS.setdefault("SSH mode on the lab (asyncssh sessions, tunnels, probes)", [])


def ssh_inventory(lab) -> Inventory:  # type: ignore[no-untyped-def]
    return ssh_inventory_file(lab).inventory


def ssh_inventory_file(lab):  # type: ignore[no-untyped-def]
    path = Paths(lab.lab_dir).ssh_inventory
    return parse_inventory(path.read_text(), str(path))


def lab_settings(lab) -> SshSettings:  # type: ignore[no-untyped-def]
    return SshSettings.from_options(ssh_inventory_file(lab).ssh)


@contextlib.asynccontextmanager
async def ssh_backend(lab, tmp_path: Path, settings: SshSettings | None = None,  # type: ignore[no-untyped-def]
                      must_connect: bool = True) -> AsyncIterator:
    from hotmig_tui.backends.libvirt import LibvirtBackend
    from hotmig_tui.backends.maintenance import MaintenanceStore

    backend = LibvirtBackend(ssh_inventory(lab), MaintenanceStore(tmp_path / "maintenance.json"),
                             ssh=settings or lab_settings(lab))
    started = time.monotonic()
    await backend.connect()
    backend.connect_seconds = time.monotonic() - started  # type: ignore[attr-defined]
    try:
        if must_connect:
            down = {h.name: h.error for h in backend.snapshot().hosts if h.state.value != "connected"}
            assert not down, f"lab hosts not connected over SSH: {down}"
        yield backend
    finally:
        await backend.close()


@contextlib.asynccontextmanager
async def lab_sessions(lab) -> AsyncIterator[SessionPool]:  # type: ignore[no-untyped-def]
    inventory = ssh_inventory(lab)
    pool = SessionPool.for_inventory(inventory, lab_settings(lab), ssh_loop())
    try:
        yield pool
    finally:
        await pool.close()


def note(line: str) -> None:
    print(f"\n  {line}")
    NUMBERS.append(line)


async def test_the_dashboard_inventory_through_tunnels_only(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async with ssh_backend(lab, tmp_path) as backend:
        inventory = backend.snapshot()
        # Every libvirt connection is a private local socket served by hotmig's SSH tunnel, none the lab's own.
        for name, conn in backend.connections.items():
            uri = await backend.lv.call(conn.conn.getURI)
            assert uri.startswith("qemu+unix:///system?socket=") and "hotmig-ssh-" in uri, (name, uri)
            assert str(lab.lab_dir) not in uri
        assert all(h.uri == "ssh+unix:///run/libvirt/libvirt-sock" for h in inventory.hosts)
        sessions = backend.ssh.sessions
        note(f"connect (SSH session + tunnel + libvirt, {len(sessions)} hosts at once): "
             f"{backend.connect_seconds:.2f} s to a full inventory; SSH sessions alone "
             + ", ".join(f"{n} {s.connect_seconds:.3f} s" for n, s in sorted(sessions.items())))
    # The same dashboard as through the lab's local sockets: hosts, their facts, VMs where they run, datastores.
    async with lab_backend(lab) as local:
        direct = local.snapshot()
    assert [h.name for h in inventory.hosts] == [h.name for h in direct.hosts]
    for over_ssh, here in zip(inventory.hosts, direct.hosts, strict=True):
        assert (over_ssh.state, over_ssh.memory_total, over_ssh.cpu_count, over_ssh.cpu_model, over_ssh.uuid) == \
            (here.state, here.memory_total, here.cpu_count, here.cpu_model, here.uuid)
    def placed(inv: Inventory) -> dict:  # allocation left out: the guests keep writing
        return {v.name: (v.host, v.state, [(d.target, d.path, d.datastore, d.capacity) for d in v.disks])
                for v in inv.vms}

    assert placed(inventory) == placed(direct)
    assert {g.name for g in lab.guests} <= {v.name for v in inventory.vms}
    assert [(d.name, d.hosts, d.shared) for d in inventory.datastores] == \
        [(d.name, d.hosts, d.shared) for d in direct.datastores]


async def migrate(backend, plan: MigrationPlan, tmp_path: Path, prober: Prober | None = None) -> Outcome:  # type: ignore[no-untyped-def]
    context = (lambda _plan: CheckContext(**prober.facts.for_checks(), max_fact_age=300)) if prober else None
    engine = Engine(backend, History(tmp_path / "history.sqlite"), context=context)
    handle = engine.submit(plan)
    outcome = await asyncio.wait_for(engine.wait(handle), 600)
    await engine.close()
    note(f"VM live {plan.vm} {plan.source}->{plan.target_host} over SSH tunnels: {outcome.phase.value} in "
         f"{outcome.total_time or 0:.1f} s, downtime {outcome.downtime}, iterations {outcome.iterations}")
    for line in handle.log:
        print(f"    {line.t:6.1f}s {line.level:<7} {line.text}")
    return outcome


async def test_vm_live_migration_through_tunnels_and_back(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    guest = "moderate"
    async with ssh_backend(lab, tmp_path) as backend:
        home = backend.snapshot().vm(guest).host
        other = "lab2" if home == "lab1" else "lab1"
        assert all(h.migration_uri is None for h in backend.snapshot().hosts)  # client-driven: migrate3
        prober = Prober.for_backend(backend)
        assert prober is not None
        plan = MigrationPlan(guest, MigrationKind.VM, home, other,
                             options=MigrationOptions(bandwidth=32 * MiB, policy=False))
        await prober.for_plan(plan)  # the checks then see real reachability, disk visibility, free memory
        facts = prober.facts.for_checks()
        assert facts["reachable"][(home, other)].value is True
        assert all(f.value for (host, _), f in facts["disk_visible"].items() if host == other)
        since = console.offset(guest)
        outcome = await migrate(backend, plan, tmp_path, prober)
        assert outcome.phase is Phase.DONE, outcome.error
        assert outcome.vm_host == other and not outcome.vm_paused
        assert await domain_state(backend, home, guest) is None
        assert await domain_state(backend, other, guest) == "running"
        report = console.wait_healthy(guest, since, heartbeats=3, full_sweep=True, timeout=90)
        assert report.ok, report.summary()
        back = await migrate(backend, MigrationPlan(guest, MigrationKind.VM, other, home), tmp_path)
        assert back.ok, back.error
        assert await domain_state(backend, home, guest) == "running"


async def wait_until(predicate, timeout: float) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, "timed out"
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def test_a_host_cut_off_comes_back_through_a_new_tunnel(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async with ssh_backend(lab, tmp_path) as backend:
        def state() -> str:
            return backend.snapshot().host("lab3").state.value

        first = backend.ssh.sessions["lab3"]
        with faults.link_cut("lab3"):  # lab3: no other test migrates there
            lost = await wait_until(lambda: state() == "disconnected", 60)
            error = backend.snapshot().host("lab3").error
        back = await wait_until(lambda: state() == "connected", 90)
        assert backend.snapshot().vm("local3").host == "lab3"
        note(f"lab3's link cut: disconnected after {lost:.1f} s ({error}); link restored: connected again after "
             f"{back:.1f} s through a new SSH session ({len(first.attempts)} SSH attempts in all)")


async def test_reachability_probe_sees_a_cut_link_with_its_cause(lab) -> None:  # type: ignore[no-untyped-def]
    async with lab_sessions(lab) as pool:
        prober = Prober(pool, lambda: ssh_inventory(lab))
        first = await prober.reachability("lab1", "lab2")
        assert first.value is True, first.detail
        up = await prober.reachability("lab1", "lab2")
        assert up.value is True, up.detail
        note(f"reachability lab1->lab2: {up.detail} ({first.seconds * 1000:.0f} ms with the session's opening, "
             f"{up.seconds * 1000:.0f} ms on an open session)")
        with faults.link_cut("lab2"):
            down = await prober.reachability("lab1", "lab2")
        assert down.value is False, down.detail
        assert down.detail.startswith("lab1 -> lab2 (198.18.0.12:22): ")
        assert any(cause in down.detail for cause in ("No route to host", "no answer within")), down.detail
        note(f"reachability with lab2's link cut: {down.detail} ({down.seconds:.1f} s)")
        # The last probe is what the checks see; after the link is back, a new probe says so.
        assert prober.facts.for_checks()["reachable"][("lab1", "lab2")].value is False
        again = await prober.reachability("lab1", "lab2")
        assert again.value is True, again.detail


async def test_shared_storage_probe_tells_shared_from_local(lab) -> None:  # type: ignore[no-untyped-def]
    shared_disk, local_disk = lab.guest("idle").disk, lab.guest("local1").disk
    async with lab_sessions(lab) as pool:
        prober = Prober(pool, lambda: ssh_inventory(lab))
        started = time.monotonic()
        on_lab2 = await prober.disk_visibility("lab2", [shared_disk, local_disk])
        on_lab3 = await prober.disk_visibility("lab3", [shared_disk])
        on_lab1 = await prober.disk_visibility("lab1", [local_disk])
        assert on_lab2[shared_disk].value is True, on_lab2[shared_disk].detail  # lab-a shares the datastore
        assert on_lab2[local_disk].value is False  # lab1's local disk is lab1's alone
        assert on_lab3[shared_disk].value is False  # lab3 is outside lab-a: no shared datastore there
        assert on_lab1[local_disk].value is True
        note(f"disk visibility: {on_lab2[shared_disk].detail}; {on_lab3[shared_disk].detail}; "
             f"{on_lab2[local_disk].detail} (3 probes, {time.monotonic() - started:.2f} s with the sessions' "
             "opening)")
        context = CheckContext(**prober.facts.for_checks())
        assert context.disk_visible[("lab3", shared_disk)].value is False


async def test_host_load_and_link_measurement(lab) -> None:  # type: ignore[no-untyped-def]
    async with lab_sessions(lab) as pool:
        await pool.open_all()
        prober = Prober(pool, lambda: ssh_inventory(lab))
        load = await prober.host_load("lab2")
        assert load.value is not None and load.value.memory_available > 0 and load.value.cpu_flags
        note(f"host load probe: {load.detail}; CPU {load.value.cpu_model}, {len(load.value.cpu_flags)} flags "
             f"({load.seconds * 1000:.0f} ms)")
        free = await prober.measure_link("lab1", "lab2", max_bytes=512 * MiB, max_seconds=2.0)
        assert free.value is not None and free.value > 20 * MiB, free.detail
        note(f"link lab1->lab2, uncapped: {free.detail} (probe {free.seconds:.1f} s)")
        with faults.capped("lab2", 8 * MiB):
            capped = await prober.measure_link("lab1", "lab2", max_bytes=64 * MiB, max_seconds=3.0)
        assert capped.value is not None and 6 * MiB < capped.value < 10 * MiB, capped.detail
        note(f"link lab1->lab2 capped to 8 MiB/s (tbf): {capped.detail}")
        measured = prober.facts.measured_bandwidth("lab1", "lab2")
        assert measured is not None and measured.value == capped.value  # -> LinkFacts.measured_bandwidth


async def test_a_changed_host_key_is_refused_naming_host_and_fingerprint(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    paths = Paths(lab.lab_dir)
    real = asyncssh.import_known_hosts(paths.known_hosts.read_text())
    presented = asyncssh.match_known_hosts(real, "198.18.0.11", "198.18.0.11", None)[0][0]
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    known = tmp_path / "known_hosts"  # the lab's file, with lab1's key replaced (the lab's own stays intact)
    lines = paths.known_hosts.read_text().splitlines()
    known.write_text("\n".join(
        f"198.18.0.11 {impostor.export_public_key().decode().split()[0]} "
        f"{impostor.export_public_key().decode().split()[1]}" if line.startswith("198.18.0.11 ") else line
        for line in lines) + "\n")
    settings = SshSettings(known_hosts=(known,), identity=paths.client_key, user_files=False,
                           own_known_hosts=tmp_path / "own_known_hosts")
    async with ssh_backend(lab, tmp_path, settings, must_connect=False) as backend:
        lab1 = backend.snapshot().host("lab1")
        assert lab1.state.value == "disconnected"
        assert backend.snapshot().host("lab2").state.value == "connected"
        assert "HOST KEY CHANGED for lab1 (198.18.0.11)" in (lab1.error or "")
        assert presented.get_fingerprint() in lab1.error and impostor.get_fingerprint() in lab1.error
        with pytest.raises(HostKeyRefused) as caught:
            await backend.ssh.call(backend.ssh.session("lab1").connection())
        note(f"changed host key: {caught.value}")
    assert not (tmp_path / "own_known_hosts").exists()  # nothing was written anywhere


def test_lab_writes_its_ssh_files(lab) -> None:  # type: ignore[no-untyped-def]
    paths = Paths(lab.lab_dir)
    assert paths.ssh.stat().st_mode & 0o777 == 0o700
    assert paths.client_key.stat().st_mode & 0o777 == 0o600
    entries = paths.known_hosts.read_text().splitlines()
    assert [e.split()[0] for e in entries] == [h.address for h in lab.hosts]
    text = paths.ssh_inventory.read_text()
    assert "uri =" not in text and "migration_uri" not in text


def test_check_uses_the_probes_over_ssh(lab, capsys) -> None:  # type: ignore[no-untyped-def]
    """`hotmig check --lab --ssh`: the probes answer what libvirt cannot, so VM-C4 is no longer unknown."""
    import json

    from hotmig_tui.cli import main

    assert main(["check", "--lab", "--ssh", "moderate", "--to", "lab2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] and not [f for f in result["findings"] if f["rule"] == "VM-C4"], result
    assert main(["check", "--lab", "--ssh", "idle", "--to", "lab3", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert any(f["rule"] == "VM-C3" and f["status"] == "failed" for f in result["findings"]), result
