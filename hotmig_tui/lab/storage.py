"""Datastores: libvirt dir pools on the hosts, and the guests' disk volumes in them.

`local` exists on every host with the same target path, `<lab>/local`, which each host's mount namespace maps
to its own `hosts/lab<i>/local` (as every real host has its own /var/lib/libvirt/images). `shared` is the
same directory, `<lab>/shared`, on hosts 1 and 2 only: the datastore of cluster lab-a.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from . import layout
from .layout import Paths

LOCAL_POOL = "local"
SHARED_POOL = "shared"


@dataclass(frozen=True)
class Datastore:
    name: str  # hotmig's datastore name
    pool: str  # the libvirt pool's name on its hosts
    path: str  # the pool's target path, as every one of its hosts sees it
    shared: bool
    hosts: tuple[int, ...]


def datastores(paths: Paths, n_hosts: int) -> list[Datastore]:
    shared = Datastore(
        SHARED_POOL,
        SHARED_POOL,
        str(paths.shared),
        True,
        tuple(i for i in layout.SHARED_HOSTS if i <= n_hosts),
    )
    local = [
        Datastore(f"{layout.host_name(i)}-local", LOCAL_POOL, str(paths.local), False, (i,))
        for i in range(1, n_hosts + 1)
    ]
    return [shared, *local]


def pools_for(paths: Paths, i: int) -> dict[str, str]:
    """Pool name -> target path that host i defines."""
    pools = {LOCAL_POOL: str(paths.local)}
    if i in layout.SHARED_HOSTS:
        pools[SHARED_POOL] = str(paths.shared)
    return pools


def pool_xml(name: str, path: str) -> str:
    return f"<pool type='dir'><name>{escape(name)}</name><target><path>{escape(path)}</path></target></pool>"


def ensure_pools(conn: Any, paths: Paths, i: int) -> None:
    """Define, autostart and start host i's pools; leave existing active ones alone, then refresh them."""
    existing = {pool.name(): pool for pool in conn.listAllStoragePools()}
    for name, path in pools_for(paths, i).items():
        pool = existing.get(name) or conn.storagePoolDefineXML(pool_xml(name, path), 0)
        pool.setAutostart(1)
        if not pool.isActive():
            pool.create(0)
        pool.refresh(0)


def volume_xml(name: str, capacity: int) -> str:
    return (
        f"<volume><name>{escape(name)}</name><capacity unit='bytes'>{capacity}</capacity>"
        "<target><format type='qcow2'/></target></volume>"
    )


def ensure_volume(conn: Any, pool_name: str, name: str, capacity: int) -> str:
    """Create a qcow2 volume (by the host's libvirt, so in that host's view of the path) unless it exists;
    return its path as the host sees it."""
    pool = conn.storagePoolLookupByName(pool_name)
    pool.refresh(0)
    if name in pool.listVolumes():
        return pool.storageVolLookupByName(name).path()
    return pool.createXML(volume_xml(name, capacity), 0).path()


def refresh(conn: Any, pool_name: str) -> None:
    for pool in conn.listAllStoragePools():
        if pool.name() == pool_name and pool.isActive():
            pool.refresh(0)
