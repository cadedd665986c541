"""The lab's inventory file, in hotmig's inventory format (TOML), so `hotmig --inventory` (or `--lab`) sees
the lab's clusters, hosts and datastores like any real site's."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from . import layout, storage
from .layout import Paths


def _s(value: str) -> str:
    # A JSON string literal is a valid TOML basic string for everything we write.
    return json.dumps(value)


def render(paths: Paths, n_hosts: int) -> str:
    return _render(paths, n_hosts, ["# written by `hotmig lab up`", 'backend = "libvirt"', ""], _local_host)


def render_ssh(paths: Paths, n_hosts: int) -> str:
    """The same lab as hotmig sees real hosts over SSH: each host only by its `ssh` address (libvirt through
    hotmig's own tunnel to the host's /run/libvirt/libvirt-sock), host keys checked against the lab's
    known_hosts, hotmig's lab key as identity. No migration_uri: hotmig drives each migration over both tunnels
    (client-driven migrate3) while QEMU's stream goes host to host on the migration network."""
    head = [
        "# written by `hotmig lab up`: the lab over SSH only (`hotmig --lab --ssh`)",
        'backend = "libvirt"',
        "",
        "[ssh]",
        f"known_hosts = {_s(str(paths.known_hosts))}   # the lab hosts' keys, checked on every connection",
        f"identity = {_s(str(paths.client_key))}",
        "",
    ]
    return _render(paths, n_hosts, head, _ssh_host)


def _local_host(paths: Paths, i: int) -> list[str]:
    return [
        f"uri = {_s(paths.host(i).uri)}",
        f"address = {_s(layout.host_address(i))}"
        "                           # this host's address on the migration network",
        f"migration_uri = {_s(layout.migration_uri(i))}"
        "   # how a peer daemon reaches it (peer-to-peer migration)",
    ]


def _ssh_host(paths: Paths, i: int) -> list[str]:
    return [
        f"ssh = {_s(layout.ssh_address(i))}   # no uri: libvirt through hotmig's SSH tunnel",
        f"address = {_s(layout.host_address(i))}   # this host's address on the migration network",
    ]


def _render(paths: Paths, n_hosts: int, lines: list[str], host_keys: Callable[[Paths, int], list[str]]) -> str:
    clusters: dict[str, list[int]] = {}
    for i in range(1, n_hosts + 1):
        clusters.setdefault(layout.host_cluster(i), []).append(i)
    for name, members in clusters.items():
        lines += [
            "[[cluster]]",
            f"name = {_s(name)}",
            "memory_overcommit = false",
            f"migration_network = {_s(layout.SUBNET)}",
            "",
        ]
        for i in members:
            lines += ["[[cluster.host]]", f"name = {_s(layout.host_name(i))}", *host_keys(paths, i), ""]
    for ds in storage.datastores(paths, n_hosts):
        lines += ["[[datastore]]", f"name = {_s(ds.name)}"]
        if ds.pool != ds.name:
            lines.append(f"pool = {_s(ds.pool)}")
        hosts = ", ".join(_s(layout.host_name(i)) for i in ds.hosts)
        lines += [
            'type = "dir"',
            f"shared = {'true' if ds.shared else 'false'}",
            f"hosts = [{hosts}]",
            f"path = {_s(ds.path)}",
            "",
        ]
    return "\n".join(lines)


def write(paths: Paths, n_hosts: int) -> Path:
    for target, text in ((paths.inventory, render(paths, n_hosts)), (paths.ssh_inventory, render_ssh(paths, n_hosts))):
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, target)
    return paths.inventory
