"""Plain, JSON-ready dictionaries of model objects: sizes in bytes, rates in bytes/s, enums as strings."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from hotmig_tui.core.model import Inventory


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith("_")}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    return value


def inventory_to_dict(inventory: Inventory) -> dict[str, list[dict[str, Any]]]:
    def with_derived(obj: Any, **derived: Any) -> dict[str, Any]:
        return {**plain(obj), **derived}

    return {
        "clusters": [plain(c) for c in inventory.clusters],
        "hosts": [plain(h) for h in inventory.hosts],
        "datastores": [
            with_derived(ds, distributed_block=ds.distributed_block, block=ds.block) for ds in inventory.datastores
        ],
        "vms": [
            with_derived(
                vm,
                disks=[
                    with_derived(d, linked_clone=d.linked_clone, host_cached=d.host_cached) for d in vm.disks
                ],
            )
            for vm in inventory.vms
        ],
    }
