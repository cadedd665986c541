"""The inventory file loader: good files load, every bad file gets the promised message."""

from pathlib import Path

import pytest

from hotmig_tui.core.inventory_file import InventoryError, parse_inventory
from hotmig_tui.core.model import HostState, VmState

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
backend = "libvirt"
[[cluster]]
name = "prod"
migration_network = "10.0.0.0/24"
migration_bandwidth = "10 Gbit/s"
cpu_compat_mode = "Haswell-noTSX"
[[cluster.host]]
name = "cna1"
uri = "qemu+ssh://root@cna1/system"
ssh = "root@cna1:22"
address = "10.0.0.1"
[[cluster.host]]
name = "cna2"
uri = "qemu+ssh://root@cna2/system"
[[datastore]]
name = "nfs"
type = "netfs"
hosts = ["cna1", "cna2"]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(InventoryError) as info:
        parse_inventory(text, "dc.toml")
    assert str(info.value).startswith("dc.toml: ")
    return info.value.problems


def test_good_file() -> None:
    loaded = parse_inventory(GOOD, "dc.toml")
    inv = loaded.inventory
    assert loaded.backend == "libvirt"
    assert inv.cluster("prod").cpu_compat_mode == "Haswell-noTSX"
    assert inv.cluster("prod").migration_bandwidth == 1.25e9
    assert inv.host("cna1").ssh == "root@cna1:22"
    assert inv.host("cna2").state is HostState.DISCONNECTED  # libvirt tells; until then it is not connected
    ds = inv.datastore("nfs")
    assert ds.shared and ds.virtualised and ds.pool == "nfs"


def test_syntax_error_names_the_line() -> None:
    assert problems('[[cluster]]\nname = "a"\nbad = = 1\n') == [
        "line 3, column 7: TOML syntax error: Invalid value"
    ]


def test_syntax_error_at_end_of_file() -> None:
    assert problems('[[cluster]]\nname = "a"\nx = [')[0].startswith("line 3 (end of file): TOML syntax error")


def test_missing_uri_names_the_key_path() -> None:
    text = GOOD.replace('uri = "qemu+ssh://root@cna2/system"\n', "")
    assert problems(text) == ["cluster[0].host[1].uri: missing"]


def test_second_cluster_path() -> None:
    text = GOOD + '[[cluster]]\nname = "b"\n[[cluster.host]]\nname = "x"\n'
    assert problems(text) == ["cluster[1].host[0].uri: missing"]


def test_unknown_key_suggests_the_right_one() -> None:
    text = GOOD.replace("migration_network", "migraton_network")
    assert problems(text) == ["cluster[0].migraton_network: unknown key (did you mean 'migration_network'?)"]


def test_wrong_type() -> None:
    text = GOOD.replace('cpu_compat_mode = "Haswell-noTSX"', "memory_overcommit = 1")
    assert problems(text) == ["cluster[0].memory_overcommit: expected true or false, got integer 1"]


def test_wrong_size_unit() -> None:
    text = GOOD.replace('"10 Gbit/s"', '"10 Gbps"')
    assert problems(text)[0].startswith("cluster[0].migration_bandwidth: a rate needs '/s'")


def test_duplicate_names() -> None:
    text = GOOD.replace('name = "cna2"', 'name = "cna1"')
    assert problems(text) == [
        "cluster[0].host[1].name: duplicate host name 'cna1' (first at cluster[0].host[0])",
        "datastore[0].hosts[1]: unknown host 'cna2'",
    ]


def test_unknown_host_in_datastore() -> None:
    text = GOOD.replace('hosts = ["cna1", "cna2"]', 'hosts = ["cna1", "cna9"]')
    assert problems(text) == ["datastore[0].hosts[1]: unknown host 'cna9'"]


def test_address_outside_migration_network() -> None:
    text = GOOD.replace('address = "10.0.0.1"', 'address = "10.9.0.1"')
    assert problems(text) == [
        "cluster[0].host[0].address: 10.9.0.1 is outside cluster 'prod''s migration_network 10.0.0.0/24"
    ]


def test_every_problem_is_reported_at_once() -> None:
    text = GOOD.replace('type = "netfs"', 'type = "nfs"').replace('name = "cna2"', "name = 2")
    found = problems(text)
    assert any(p.startswith("datastore[0].type: 'nfs' is not one of") for p in found)
    assert "cluster[0].host[1].name: expected a string, got integer 2" in found


def test_vms_only_in_simulated_inventories() -> None:
    text = GOOD + '[[vm]]\nname = "a"\nhost = "cna1"\nvcpus = 1\nmemory = "1 GiB"\n'
    assert problems(text) == [
        'vm: VMs are listed only in simulated inventories (backend = "sim"); libvirt reports them'
    ]


SIM = """
backend = "sim"
[[cluster]]
name = "c"
[[cluster.host]]
name = "h1"
cpus = 8
memory = "64 GiB"
memory_free = "20 GiB"
[[cluster.host]]
name = "h2"
cpus = 8
memory = "64 GiB"
[[datastore]]
name = "loc"
type = "dir"
hosts = ["h1"]
path = "/images"
[[vm]]
name = "a"
host = "h1"
vcpus = 2
memory = "4 GiB"
dirty_rate = "20 MiB/s"
passthrough = [{ kind = "usb", address = "bus 1 device 2" }]
[[vm.disk]]
target = "vda"
datastore = "loc"
capacity = "10 GiB"
"""


def test_simulated_inventory() -> None:
    inv = parse_inventory(SIM, "s.toml").inventory
    vm = inv.vm("a")
    assert vm.state is VmState.RUNNING and vm.dirty_rate == 20 * 2**20
    assert vm.disks[0].path == "/images/a-vda.qcow2" and vm.disks[0].allocation == 10 * 2**30
    assert inv.host("h1").state is HostState.CONNECTED and inv.host("h1").uri == "sim:///h1"


def test_vm_disk_must_be_reachable_from_its_host() -> None:
    text = SIM.replace('host = "h1"\nvcpus', 'host = "h2"\nvcpus')
    assert problems(text) == [
        "vm[0].disk[0].datastore: datastore 'loc' is not reachable from host 'h2' (it is attached to h1)"
    ]


def test_simulated_host_needs_its_facts() -> None:
    text = SIM.replace('cpus = 8\nmemory = "64 GiB"\n\n', "cpus = 8\n\n", 1).replace(
        'name = "h2"\ncpus = 8\nmemory = "64 GiB"', 'name = "h2"\ncpus = 8')
    assert problems(text) == ["cluster[0].host[1].memory: missing (a simulated host needs it)"]


def test_free_memory_above_total() -> None:
    text = SIM.replace('memory_free = "20 GiB"', 'memory_free = "80 GiB"')
    assert problems(text) == ["cluster[0].host[0].memory_free: is larger than memory"]


def test_no_clusters() -> None:
    assert problems('backend = "sim"\n') == [
        "cluster: missing: declare at least one [[cluster]] with its [[cluster.host]] entries"
    ]


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.toml")), ids=lambda p: p.name)
def test_examples_load(path: Path) -> None:
    parse_inventory(path.read_text(), str(path))


SSH_HOSTS = """
[ssh]
known_hosts = "keys/known_hosts"
identity = "~/.ssh/hotmig_ed25519"
[[cluster]]
name = "c"
[[cluster.host]]
name = "tunnelled"
ssh = "root@10.0.0.1:22"
"""


def test_a_host_with_ssh_and_no_uri_goes_through_hotmigs_tunnel() -> None:
    parsed = parse_inventory(SSH_HOSTS, "/etc/hotmig/inventory.toml")
    host = parsed.inventory.host("tunnelled")
    assert host is not None and host.uri == "ssh+unix:///run/libvirt/libvirt-sock"
    # Paths in [ssh] are relative to the file; ~ is left for the SSH layer to expand.
    assert parsed.ssh is not None
    assert parsed.ssh.known_hosts == "/etc/hotmig/keys/known_hosts"
    assert parsed.ssh.identity == "~/.ssh/hotmig_ed25519"
    assert parse_inventory(GOOD, "dc.toml").ssh is None


def test_ssh_tunnel_uri_needs_an_ssh_address() -> None:
    text = '[[cluster]]\nname = "c"\n[[cluster.host]]\nname = "h"\nuri = "ssh+unix:///run/libvirt/virtqemud-sock"\n'
    assert problems(text) == ["cluster[0].host[0].uri: ssh+unix: goes through the host's SSH session: set `ssh` too"]


def test_bad_ssh_address_never_echoes_a_password() -> None:
    text = '[[cluster]]\nname = "c"\n[[cluster.host]]\nname = "h"\nssh = "root:hunter2@cna1:22"\n'
    found = problems(text)
    assert found == ["cluster[0].host[0].ssh: expected user@host[:port], got 'cna1:22' (after a user part, not shown)"]
    assert "hunter2" not in "".join(found)


def test_unknown_key_in_the_ssh_table() -> None:
    assert problems(SSH_HOSTS.replace("identity =", "identiy =")) == [
        "ssh.identiy: unknown key (did you mean 'identity'?)"]


def test_blank_uri_with_ssh_is_an_error() -> None:
    text = '[[cluster]]\nname = "c"\n[[cluster.host]]\nname = "h"\nssh = "root@cna1"\nuri = ""\n'
    assert problems(text) == ["cluster[0].host[0].uri: must not be empty"]
