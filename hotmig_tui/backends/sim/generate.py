"""Generated datacenters for scale tests and demos (`--scale HOSTS,VMS`), deterministic from a seed.

Clusters of up to 16 hosts, each with a shared NFS datastore and a local one per host; one distributed
block store per four clusters. A small share of objects break a constraint, in the proportions an
operator would meet them, so that checks and highlights are exercised at scale too.
"""

from __future__ import annotations

import random

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
from hotmig_tui.core.units import GiB, MiB

HOSTS_PER_CLUSTER = 16
CPU_GENERATIONS = ("Skylake-Server", "Cascadelake-Server", "Icelake-Server", "EPYC-Rome", "EPYC-Milan")
# (vcpus, memory GiB, disk GiB, dirty MiB/s, working set MiB, workload)
VM_SHAPES = (
    (1, 1, 20, 1, 60, "idle service"),
    (2, 4, 40, 10, 300, "web frontend"),
    (4, 8, 60, 30, 900, "application server"),
    (8, 16, 100, 60, 3000, "cache"),
    (16, 64, 200, 150, 12000, "database"),
)


def generate(hosts: int, vms: int, seed: int = 1) -> Inventory:
    if hosts < 1 or vms < 0:
        raise ValueError("--scale needs at least one host and no negative VM count")
    rng = random.Random(seed)
    clusters: list[Cluster] = []
    host_list: list[Host] = []
    datastores: list[Datastore] = []
    for c in range((hosts + HOSTS_PER_CLUSTER - 1) // HOSTS_PER_CLUSTER):
        name = f"cl{c + 1:02d}"
        members = [f"{name}-h{i + 1:02d}" for i in range(min(HOSTS_PER_CLUSTER, hosts - c * HOSTS_PER_CLUSTER))]
        imc = rng.random() < 0.5
        clusters.append(
            Cluster(
                name=name,
                memory_overcommit=rng.random() < 0.3,
                cpu_compat_mode="Skylake-Server" if imc else None,
                migration_network=f"10.{c // 250}.{c % 250}.0/24",
                migration_bandwidth=rng.choice((1e9, 10e9, 25e9)) / 8,
            )
        )
        models = rng.sample(CPU_GENERATIONS, 2) if imc else [rng.choice(CPU_GENERATIONS)]
        for i, host in enumerate(members):
            memory = rng.choice((256, 384, 512, 768)) * GiB
            host_list.append(
                Host(
                    name=host,
                    cluster=name,
                    uri=f"sim:///{host}",
                    address=f"10.{c // 250}.{c % 250}.{i + 1}",
                    state=HostState.MAINTENANCE if rng.random() < 0.02 else HostState.CONNECTED,
                    cpu_model=models[i % len(models)],
                    cpu_vendor="AMD" if models[i % len(models)].startswith("EPYC") else "Intel",
                    cpu_count=rng.choice((32, 48, 64, 96)),
                    memory_total=memory,
                    memory_free=int(memory * rng.uniform(0.05, 0.6)),
                )
            )
            datastores.append(_local(host, rng))
        datastores.append(
            Datastore(f"{name}-nfs", "netfs", True, True, tuple(members), 40 * 2**40, 15 * 2**40,
                      path=f"/var/lib/libvirt/{name}-nfs")
        )
    for start in range(0, len(clusters), 4):
        group = [h.name for h in host_list if h.cluster in {c.name for c in clusters[start : start + 4]}]
        datastores.append(Datastore(f"fusion-{start // 4 + 1}", "fusionstorage", True, False, tuple(group),
                                    200 * 2**40, 90 * 2**40))
    running = [h for h in host_list if h.state is HostState.CONNECTED] or host_list
    shared = {h: ds for ds in datastores if ds.pool_type == "netfs" for h in ds.hosts}
    vm_list = [_vm(n, rng.choice(running), shared, rng) for n in range(vms)]
    return Inventory(tuple(clusters), tuple(host_list), tuple(datastores), tuple(vm_list),
                     source=f"<generated --scale {hosts},{vms} seed {seed}>")


def _local(host: str, rng: random.Random) -> Datastore:
    capacity = rng.choice((2, 4, 8)) * 2**40
    return Datastore(f"{host}-local", "dir", False, True, (host,), capacity, int(capacity * rng.uniform(0.2, 0.9)),
                     pool="default", path="/var/lib/libvirt/images")


def _vm(n: int, host: Host, shared: dict[str, Datastore], rng: random.Random) -> Vm:
    vcpus, mem_gib, disk_gib, dirty, wss, workload = rng.choice(VM_SHAPES)
    name = f"vm{n + 1:05d}"
    roll = rng.random()
    local = roll < 0.05
    datastore = f"{host.name}-local" if local else shared[host.name].name
    directory = "/var/lib/libvirt/images" if local else shared[host.name].path
    disk = Disk(
        target="vda",
        path=f"{directory}/{name}.qcow2",
        datastore=datastore,
        capacity=disk_gib * GiB,
        allocation=int(disk_gib * GiB * rng.uniform(0.1, 0.9)),
        format="qcow2",
        backing_chain=(f"{directory}/golden.qcow2",) if 0.05 <= roll < 0.08 else (),
        transient=0.08 <= roll < 0.09,
        cache_mode="writeback" if 0.09 <= roll < 0.10 else "none",
    )
    passthrough: tuple[PassthroughDevice, ...] = ()
    if 0.10 <= roll < 0.12:
        passthrough = (PassthroughDevice(PassthroughKind.GPU, f"0000:{rng.randint(16, 250):02x}:00.0"),)
    elif 0.12 <= roll < 0.13:
        passthrough = (PassthroughDevice(PassthroughKind.USB, f"bus 1 device {rng.randint(2, 9)}"),)
    stopped = 0.13 <= roll < 0.18
    return Vm(
        name=name,
        host=host.name,
        state=VmState.STOPPED if stopped else VmState.RUNNING,
        vcpus=vcpus,
        memory=mem_gib * GiB,
        cpu_mode=CpuMode.HOST_PASSTHROUGH if 0.18 <= roll < 0.20 else CpuMode.HOST_MODEL,
        passthrough=passthrough,
        disks=(disk,),
        dirty_rate=None if stopped else dirty * MiB * rng.uniform(0.5, 1.5),
        working_set=None if stopped else wss * MiB,
        workload=workload,
    )
