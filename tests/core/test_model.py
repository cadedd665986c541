from hotmig_tui.core.model import Cluster, Datastore, Disk, Host, Inventory, Vm, VmState


def _inventory() -> Inventory:
    return Inventory(
        clusters=(Cluster("c1"),),
        hosts=(Host("h1", "c1", "qemu:///system"), Host("h2", "c1", "qemu:///system")),
        datastores=(Datastore("nfs", "netfs", True, True, ("h1", "h2")), Datastore("loc", "dir", False, True, ("h1",))),
        vms=(
            Vm("a", "h1", VmState.RUNNING, 1, 2**30,
               disks=(Disk("vda", "/x/a.qcow2", "nfs", 10, 5), Disk("vdb", "/x/b.qcow2", "nfs", 10, 5))),
            Vm("b", "h2", VmState.STOPPED, 1, 2**30,
               disks=(Disk("vda", "/y/b", "loc", 10, 10, cache_mode="writeback"),)),
        ),
    )


def test_lookups_and_groupings() -> None:
    inv = _inventory()
    assert inv.host("h1").cluster == "c1"
    assert inv.vm("zz") is None
    assert [h.name for h in inv.hosts_in("c1")] == ["h1", "h2"]
    assert [v.name for v in inv.vms_on("h2")] == ["b"]
    assert [v.name for v in inv.vms_using("nfs")] == ["a"]  # counted once even with two disks there
    assert [d.name for d in inv.datastores_of("h2")] == ["nfs"]
    assert inv.cluster_of("h2").name == "c1"


def test_derived_facts() -> None:
    inv = _inventory()
    assert inv.vm("a").running and not inv.vm("b").running
    assert inv.vm("b").host_cached and not inv.vm("a").host_cached
    linked = Disk("vda", "/p", "nfs", 1, 1, backing_chain=("/golden.qcow2",))
    assert linked.linked_clone and not inv.vm("a").disks[0].linked_clone
    fusion = Datastore("f", "fusionstorage", True, False, ("h1",), capacity=10, free=4)
    assert fusion.distributed_block and fusion.block and fusion.used == 6
    assert not inv.datastore("nfs").block
