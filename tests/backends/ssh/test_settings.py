"""Where a session's settings come from: the inventory's [ssh] table, and the CLI's explicit first-contact flag."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from hotmig_tui.backends.ssh import SshSettings, settings
from hotmig_tui.cli.common import UsageError, add_source_options, source_from_args
from hotmig_tui.core.inventory_file import parse_inventory

INVENTORY = """
[ssh]
known_hosts = "known_hosts"
identity = "id_ed25519"
[[cluster]]
name = "c"
[[cluster.host]]
name = "cna1"
ssh = "root@10.0.0.1"
"""


def test_settings_follow_the_inventory_files_ssh_table(tmp_path: Path) -> None:
    path = tmp_path / "inventory.toml"
    path.write_text(INVENTORY)
    found = SshSettings.from_options(parse_inventory(INVENTORY, str(path)).ssh)
    assert found.known_hosts == (tmp_path / "known_hosts",) and found.identity == tmp_path / "id_ed25519"
    assert found.user_files and not found.accept_new_host_keys  # strict unless the user says otherwise


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_source_options(parser)
    return parser.parse_args(argv)


def test_accept_new_host_keys_flag_turns_on_first_contact_with_an_audit_log(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "_first_contact_audit", None)
    inventory = tmp_path / "inventory.toml"
    inventory.write_text(INVENTORY)
    source_from_args(parse("--inventory", str(inventory)))
    assert not SshSettings.from_options(None).accept_new_host_keys
    source_from_args(parse("--inventory", str(inventory), "--accept-new-host-keys"))
    chosen = SshSettings.from_options(None)
    assert chosen.accept_new_host_keys and chosen.audit is not None
    assert type(chosen.audit).__name__ == "AuditLog"


def test_ssh_flag_goes_with_lab() -> None:
    with pytest.raises(UsageError, match="--ssh goes with --lab"):
        source_from_args(parse("--demo", "--ssh"))
