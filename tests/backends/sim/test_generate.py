import pytest

from hotmig_tui.backends.sim import generate
from hotmig_tui.core.model import HostState


def test_deterministic_from_seed() -> None:
    assert generate(40, 500, seed=3) == generate(40, 500, seed=3)
    assert generate(40, 500, seed=3) != generate(40, 500, seed=4)


def test_sizes_and_references() -> None:
    inv = generate(200, 10_000, seed=1)
    assert len(inv.hosts) == 200 and len(inv.vms) == 10_000
    assert len(inv.clusters) == 13
    hosts = {h.name for h in inv.hosts}
    datastores = {d.name: d for d in inv.datastores}
    for vm in inv.vms:
        assert vm.host in hosts
        for disk in vm.disks:
            assert vm.host in datastores[disk.datastore].hosts
    assert {h.state for h in inv.hosts} >= {HostState.CONNECTED}
    assert any(vm.passthrough for vm in inv.vms) and any(d.linked_clone for vm in inv.vms for d in vm.disks)


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="at least one host"):
        generate(0, 10)
