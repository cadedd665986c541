"""The built-in demo datacenter holds what the foundation issue promises the dashboard can show."""

from hotmig_tui.backends.sim import demo_inventory_file
from hotmig_tui.core.model import HostState, PassthroughKind, VmState


def test_shape() -> None:
    inv = demo_inventory_file().inventory
    assert len(inv.clusters) >= 2 and len(inv.hosts) >= 6 and len(inv.datastores) >= 4 and len(inv.vms) >= 30
    assert len({h.cpu_model for h in inv.hosts}) >= 2
    assert len({c.memory_overcommit for c in inv.clusters}) == 2
    assert any(c.cpu_compat_mode for c in inv.clusters)
    assert len({(vm.vcpus, vm.memory) for vm in inv.vms}) >= 8  # varied sizes
    assert len({vm.workload for vm in inv.vms}) >= 15  # varied workloads


def test_storage_kinds() -> None:
    inv = demo_inventory_file().inventory
    for cluster in inv.clusters:
        hosts = {h.name for h in inv.hosts_in(cluster.name)}
        if cluster.name != "dev":  # dev has local disks only, on purpose
            assert any(ds.shared and ds.pool_type == "netfs" and hosts <= set(ds.hosts) for ds in inv.datastores)
    assert any(ds.distributed_block for ds in inv.datastores)
    assert any(not ds.shared for ds in inv.datastores)


def test_deliberate_violators() -> None:
    inv = demo_inventory_file().inventory
    vms = inv.vms
    assert any(d.kind is PassthroughKind.GPU for vm in vms for d in vm.passthrough)
    assert any(d.kind is PassthroughKind.USB for vm in vms for d in vm.passthrough)
    assert any(d.linked_clone for vm in vms for d in vm.disks)
    assert any(d.shareable for vm in vms for d in vm.disks)
    assert any(d.transient for vm in vms for d in vm.disks)
    assert any(vm.state is VmState.STOPPED for vm in vms)
    assert any(h.state is HostState.MAINTENANCE for h in inv.hosts)
    local = {ds.name for ds in inv.datastores if not ds.shared}
    assert any(vm.running and any(d.datastore in local for d in vm.disks) for vm in vms)


def test_a_vm_dirties_faster_than_its_migration_network() -> None:
    inv = demo_inventory_file().inventory
    too_fast = [
        vm.name for vm in inv.vms
        if vm.dirty_rate and (bw := inv.cluster_of(vm.host).migration_bandwidth) and vm.dirty_rate > bw
    ]
    assert "olap-01" in too_fast
