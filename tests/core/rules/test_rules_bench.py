"""How long the checks take on a large synthetic datacenter: 200 hosts in 13 clusters, 10,000 VMs.

Prints the seconds; asserts only correctness (timings are not pass/fail here). Run:
    .venv/bin/python -m pytest tests/core/rules/test_rules_bench.py -s
or  .venv/bin/python tests/core/rules/test_rules_bench.py
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from hotmig_tui.core.model import (
    Cluster,
    CpuMode,
    Datastore,
    Disk,
    Host,
    HostState,
    Inventory,
    PassthroughDevice,
    PassthroughKind,
    Vm,
    VmState,
)
from hotmig_tui.core.rules import CheckContext, candidates, check, check_inventory, object_findings, plan_for
from hotmig_tui.core.run import MigrationKind
from hotmig_tui.core.units import GiB
from tests.conftest import BENCH_LINES

T = TypeVar("T")

CLUSTERS, HOSTS, VMS = 13, 200, 10_000
MODELS = ["Cascadelake-Server", "Skylake-Server", "Icelake-Server", "Haswell-noTSX", "Broadwell-noTSX"]


def synthetic_inventory(seed: int = 1) -> Inventory:
    rng = random.Random(seed)
    clusters = [
        Cluster(
            f"c{i:02d}",
            memory_overcommit=i % 3 == 0,
            cpu_compat_mode=None if i % 4 == 0 else ("Skylake-Server" if i < 7 else "Haswell-noTSX"),
            migration_network=None if i == 12 else f"10.{i}.0.0/16",
            migration_bandwidth=None if i == 12 else 10e9 / 8,
        )
        for i in range(CLUSTERS)
    ]
    hosts = []
    for n in range(HOSTS):
        c = n % CLUSTERS
        amd = c == 12
        hosts.append(
            Host(
                f"h{n:03d}",
                f"c{c:02d}",
                f"qemu+ssh://root@h{n:03d}/system",
                address=None if c == 12 else f"10.{c}.0.{n % 250 + 1}",
                state=HostState.MAINTENANCE
                if n % 50 == 7
                else HostState.DISCONNECTED
                if n % 70 == 9
                else HostState.CONNECTED,
                cpu_model="EPYC-Rome" if amd else MODELS[(c + n // CLUSTERS) % 2 + c % 3],
                cpu_vendor="AMD" if amd else "Intel",
                cpu_count=rng.choice([32, 48, 64]),
                memory_total=512 * GiB,
                memory_free=rng.randint(1, 300) * GiB,
            )
        )
    members = {c.name: [h.name for h in hosts if h.cluster == c.name] for c in clusters}
    datastores = [
        Datastore(
            f"nfs-{c.name}",
            "netfs",
            True,
            True,
            tuple(members[c.name]),
            100 * 2**40,
            rng.randint(1, 60) * 2**40,
        )
        for c in clusters
    ]
    datastores.append(
        Datastore(
            "fusion",
            "fusionstorage",
            True,
            False,
            tuple(h for c in clusters[:4] for h in members[c.name]),
            500 * 2**40,
            200 * 2**40,
        )
    )
    datastores += [
        Datastore(
            f"lun-{k}",
            "iscsi-direct",
            True,
            False,
            tuple(h for c in clusters[k::4] for h in members[c.name]),
            4 * 2**40,
            2**40,
        )
        for k in range(4)
    ]
    datastores += [
        Datastore(f"local-{h.name}", "dir", False, True, (h.name,), 4 * 2**40, 2 * 2**40) for h in hosts
    ]
    vms = []
    for n in range(VMS):
        host = hosts[n % HOSTS]
        cluster = clusters[int(host.cluster[1:])]
        roll = rng.random()
        where = (
            f"nfs-{cluster.name}"
            if roll < 0.8
            else f"local-{host.name}"
            if roll < 0.9
            else "fusion"
            if roll < 0.95 and int(cluster.name[1:]) < 4
            else f"nfs-{cluster.name}"
        )
        disks = [
            Disk("vda", f"/{where}/vm{n}-vda.qcow2", where, 100 * GiB, rng.randint(5, 100) * GiB, "qcow2")
        ]
        if rng.random() < 0.05:
            lun = f"lun-{int(cluster.name[1:]) % 4}"
            disks.append(Disk("vdb", f"/dev/{lun}/vm{n}", lun, 200 * GiB, 200 * GiB, "raw"))
        mode_roll = rng.random()
        mode = (
            CpuMode.HOST_MODEL
            if mode_roll < 0.85
            else CpuMode.CUSTOM
            if mode_roll < 0.95
            else CpuMode.HOST_PASSTHROUGH
        )
        vms.append(
            Vm(
                f"vm{n:05d}",
                host.name,
                VmState.STOPPED if rng.random() < 0.03 else VmState.RUNNING,
                rng.choice([1, 2, 4, 8, 16]),
                rng.choice([2, 4, 8, 16, 32, 64]) * GiB,
                cpu_mode=mode,
                cpu_model=(cluster.cpu_compat_mode or host.cpu_model) if mode is CpuMode.CUSTOM else None,
                passthrough=(PassthroughDevice(PassthroughKind.GPU, "0000:3b:00.0"),)
                if rng.random() < 0.01
                else (),
                disks=tuple(disks),
            )
        )
    return Inventory(tuple(clusters), tuple(hosts), tuple(datastores), tuple(vms), source="synthetic")


def _best_of(runs: int, work: Callable[[], T]) -> tuple[float, T]:
    """The fastest of a few runs (the machine is shared), and the last result."""
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result  # type: ignore[return-value]


def _report(line: str) -> None:
    print(line)
    BENCH_LINES.append(line)


def test_every_vm_against_every_host() -> None:
    inventory = synthetic_inventory()
    assert (len(inventory.hosts), len(inventory.vms)) == (HOSTS, VMS)
    print()
    # A fresh context each run: nothing cached from the run before (the index is per inventory and context).
    seconds, verdicts = _best_of(3, lambda: check_inventory(inventory, CheckContext()))
    _report(
        f"rules: check_inventory, {VMS} VMs x {HOSTS} hosts, all three kinds, index built: {seconds:.2f} s"
    )
    context = CheckContext()

    def all_candidates() -> dict[str, int]:
        # What the wizard asks for one VM, for every VM; only the count of good targets is kept.
        return {
            vm.name: sum(c.ok for c in candidates(vm.name, MigrationKind.VM, inventory, context))
            for vm in inventory.vms
        }

    seconds, good = _best_of(2, all_candidates)
    _report(
        f"rules: candidates(vm) for all {VMS} VMs, {VMS * (HOSTS - 1)} ranked targets with findings: "
        f"{seconds:.2f} s"
    )
    seconds, marks = _best_of(3, lambda: object_findings(inventory, context))
    _report(f"rules: object_findings after check_inventory: {seconds:.2f} s")

    assert len(verdicts) == VMS and marks
    # The fast verdict and the full candidate lists agree on every VM ...
    assert {name: v.kinds[MigrationKind.VM].targets for name, v in verdicts.items()} == good
    # ... and a sample of candidates agrees with check() for single plans.
    for vm in inventory.vms[::997]:
        for candidate in candidates(vm.name, MigrationKind.VM, inventory, context)[:3]:
            findings = check(plan_for(vm, candidate), inventory, context)
            assert sorted(f.rule for f in findings) == sorted(f.rule for f in candidate.findings)


if __name__ == "__main__":
    test_every_vm_against_every_host()
