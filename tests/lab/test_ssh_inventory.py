"""The lab's SSH inventory and sshd configuration, as files: no lab needed."""

from __future__ import annotations

from pathlib import Path

from hotmig_tui.backends.ssh import tunnelled
from hotmig_tui.core.inventory_file import parse_inventory
from hotmig_tui.lab import inventory, sshd
from hotmig_tui.lab.layout import Paths


def test_ssh_inventory_names_hosts_by_ssh_address_only(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    parsed = parse_inventory(inventory.render_ssh(paths, 4), str(paths.ssh_inventory))
    hosts = parsed.inventory.hosts
    assert [h.ssh for h in hosts] == [f"root@198.18.0.{10 + i}:22" for i in range(1, 5)]
    assert all(tunnelled(h) and h.migration_uri is None for h in hosts)  # client-driven over both tunnels
    assert [h.address for h in hosts] == [f"198.18.0.{10 + i}" for i in range(1, 5)]
    assert parsed.ssh is not None
    assert parsed.ssh.known_hosts == str(tmp_path / "ssh" / "known_hosts")
    assert parsed.ssh.identity == str(tmp_path / "ssh" / "id_ed25519")
    plain = parse_inventory(inventory.render(paths, 4), "inventory.toml").inventory
    assert [(d.name, d.hosts, d.shared, d.path) for d in parsed.inventory.datastores] == \
        [(d.name, d.hosts, d.shared, d.path) for d in plain.datastores]


def test_sshd_listens_on_the_host_address_with_keys_only() -> None:
    config = sshd.sshd_config(2).splitlines()
    assert "ListenAddress 198.18.0.12:22" in config
    assert "PasswordAuthentication no" in config and "KbdInteractiveAuthentication no" in config
    assert "AllowStreamLocalForwarding yes" in config and "AllowTcpForwarding yes" in config


def test_lab_writes_keys_and_known_hosts(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    sshd.write_files(paths, 3)
    assert paths.client_key.stat().st_mode & 0o777 == 0o600
    assert paths.ssh.stat().st_mode & 0o777 == 0o700
    known = paths.known_hosts.read_text().splitlines()
    assert [line.split()[:2] for line in known] == [[f"198.18.0.{10 + i}", "ssh-ed25519"] for i in (1, 2, 3)]
    host_key = (paths.host(2).ssh / "ssh_host_ed25519_key").read_bytes()
    sshd.write_files(paths, 3)  # again: the same keys, nothing regenerated
    assert (paths.host(2).ssh / "ssh_host_ed25519_key").read_bytes() == host_key
    assert paths.known_hosts.read_text().splitlines() == known
    assert "PRIVATE KEY" in paths.client_key.read_text()
    authorized = (paths.host(1).ssh / "authorized_keys").read_text()
    assert authorized.startswith("ssh-ed25519 ") and authorized.endswith(" hotmig-lab\n")
