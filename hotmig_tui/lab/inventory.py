"""The lab's inventory file, in hotmig's inventory format (TOML), so `hotmig --inventory` (or `--lab`) sees
the lab's clusters, hosts and datastores like any real site's."""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import layout, storage
from .layout import Paths


def _s(value: str) -> str:
    # A JSON string literal is a valid TOML basic string for everything we write.
    return json.dumps(value)


def render(paths: Paths, n_hosts: int) -> str:
    lines = ["# written by `hotmig lab up`", 'backend = "libvirt"', ""]
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
            lines += [
                "[[cluster.host]]",
                f"name = {_s(layout.host_name(i))}",
                f"uri = {_s(paths.host(i).uri)}",
                f"address = {_s(layout.host_address(i))}"
                "                           # this host's address on the migration network",
                f"migration_uri = {_s(layout.migration_uri(i))}"
                "   # how a peer daemon reaches it (peer-to-peer migration)",
                "",
            ]
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
    target = paths.inventory
    tmp = target.with_suffix(".tmp")
    tmp.write_text(render(paths, n_hosts))
    os.replace(tmp, target)
    return target
