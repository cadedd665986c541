"""The inventory file (TOML): clusters and their hosts, datastore declarations, and, for simulated
datacenters, the hosts' facts and the VMs.

Pure: takes the file's text and its name, returns an Inventory or raises InventoryError listing every
problem with the file and line (TOML syntax) or the key path (``cluster[1].host[0].uri: missing``).
The format is documented in README.md and examples/.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hotmig_tui.core.model import (
    CACHE_MODES,
    POOL_TYPES,
    SHARED_POOL_TYPES,
    VIRTUALISED_POOL_TYPES,
    Cluster,
    CpuMode,
    Datastore,
    Disk,
    Host,
    HostState,
    Inventory,
    PassthroughDevice,
    PassthroughKind,
    Vm,
    VmState,
)
from hotmig_tui.core.text import one_line
from hotmig_tui.core.units import parse_rate, parse_size

BACKENDS = ("libvirt", "sim")
# A host with `ssh` and no `uri`: libvirt through hotmig's own SSH tunnel to this socket on the host.
SSH_TUNNEL_SCHEME = "ssh+unix"
DEFAULT_TUNNEL_URI = f"{SSH_TUNNEL_SCHEME}:///run/libvirt/libvirt-sock"
_SSH_ADDRESS = re.compile(r"^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9._:\[\]-]+?(?::[0-9]{1,5})?$")


class InventoryError(Exception):
    """A bad inventory file; str() gives one 'file: where: what' line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        problems = [one_line(p) for p in problems]
        self.problems = problems
        super().__init__("\n".join(f"{one_line(source)}: {p}" for p in problems))


@dataclass(frozen=True)
class SshOptions:
    """The `[ssh]` table: files hotmig's SSH sessions use besides the user's own (paths made absolute)."""

    known_hosts: str | None = None  # trusted too, besides ~/.ssh/known_hosts and hotmig's own
    identity: str | None = None  # a client key offered besides the agent's


@dataclass(frozen=True)
class InventoryFile:
    backend: str  # "libvirt": facts come from the hosts; "sim": the file holds them
    inventory: Inventory
    seed: int = 0
    ssh: SshOptions | None = None


def parse_inventory(text: str, source: str) -> InventoryFile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(source, [_syntax_problem(exc, text)]) from None
    problems: list[str] = []
    result = _Parser(problems).parse(data, source)
    if problems:
        raise InventoryError(source, problems)
    assert result is not None
    return result


def _syntax_problem(exc: tomllib.TOMLDecodeError, text: str) -> str:
    # tomllib puts the position at the end of its message: "(at line 3, column 7)" or "(at end of document)".
    message = str(exc)
    match = re.search(r"\(at line (\d+), column (\d+)\)$", message)
    if match:
        return f"line {match.group(1)}, column {match.group(2)}: TOML syntax error: {message[: match.start()].strip()}"
    match = re.search(r"\(at end of document\)$", message)
    if match:
        last = text.rstrip("\n").count("\n") + 1  # TOML counts '\n' only; splitlines() also breaks at U+2028...
        return f"line {last} (end of file): TOML syntax error: {message[: match.start()].strip()}"
    return f"TOML syntax error: {message}"


def _describe(value: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "table"}
    return f"{kind.get(type(value), type(value).__name__)} {value!r}"[:80]


class _Table:
    """Reads one TOML table, checking each key's type; reports unknown keys when closed."""

    def __init__(self, data: Any, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        self.ok = isinstance(data, dict)
        self.data: dict[str, Any] = data if self.ok else {}
        self.seen: set[str] = set()
        if not self.ok:
            problems.append(f"{path}: expected a table, got {_describe(data)}")

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str) -> None:
        self.problems.append(f"{self.where(key)}: {message}")

    def _raw(self, key: str, required: bool) -> Any:
        self.seen.add(key)
        if key not in self.data:
            if required:
                self.error(key, "missing")
            return None
        return self.data[key]

    def _typed(self, key: str, required: bool, check: Callable[[Any], bool], expected: str) -> Any:
        value = self._raw(key, required)
        if value is None:
            return None
        if not check(value):
            self.error(key, f"expected {expected}, got {_describe(value)}")
            return None
        if _is_int(value) and not -(2**63) <= value < 2**63:
            self.error(key, f"out of range: TOML integers are 64-bit, got {_describe(value)}")
            return None
        return value

    def str(self, key: str, required: bool = False, default: str | None = None) -> str | None:
        value = self._typed(key, required, lambda v: isinstance(v, str), "a string")
        if value is not None and required and not value.strip():
            self.error(key, "must not be empty")
        return default if value is None else value

    def bool(self, key: str, default: bool | None = None) -> bool | None:
        value = self._typed(key, False, lambda v: isinstance(v, bool), "true or false")
        return default if value is None else value

    def int(self, key: str, required: bool = False, default: int | None = None, minimum: int = 0) -> int | None:
        value = self._typed(key, required, _is_int, "an integer")
        if value is not None and value < minimum:
            self.error(key, f"must be at least {minimum}, got {value}")
            return default
        return default if value is None else value

    def choice(self, key: str, choices: Any, default: Any = None) -> Any:
        value = self.str(key)
        if value is None:
            return default
        allowed = sorted(str(c) for c in choices)
        if value not in allowed:
            self.error(key, f"{value!r} is not one of {', '.join(allowed)}")
            return default
        return value

    def size(self, key: str, required: bool = False) -> int | None:
        return self._measure(key, required, parse_size, "a size such as 8589934592 or '8 GiB'")

    def rate(self, key: str, required: bool = False) -> float | None:
        return self._measure(key, required, parse_rate, "a rate such as '40 MiB/s' or '1 Gbit/s'")

    def _measure(self, key: str, required: bool, parse: Callable[[str], Any], expected: str) -> Any:
        value = self._typed(key, required, lambda v: _is_int(v) or isinstance(v, str), expected)
        if isinstance(value, str):
            try:
                value = parse(value)
            except ValueError as exc:
                self.error(key, str(exc))
                return None
        if value is not None and value < 0:
            self.error(key, f"must not be negative, got {value}")
            return None
        if value is not None and value >= 2**63:
            self.error(key, f"too large: at most {2**63 - 1} (8 EiB), got {_describe(value)}")
            return None
        return value

    def strings(self, key: str, required: bool = False) -> list[str] | None:
        return self._typed(
            key,
            required,
            lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v),
            "an array of strings",
        )

    def tables(self, key: str) -> list[_Table]:
        value = self._typed(key, False, lambda v: isinstance(v, list), "an array of tables ([[" + key + "]])")
        return [_Table(item, f"{self.where(key)}[{i}]", self.problems) for i, item in enumerate(value or [])]

    def close(self) -> None:
        for key in self.data.keys() - self.seen:
            hint = difflib.get_close_matches(key, self.seen, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            self.problems.append(f"{self.where(key)}: unknown key{suggestion}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Parser:
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self.first_seen: dict[tuple[str, str], str] = {}

    def unique(self, kind: str, name: str | None, table: _Table) -> None:
        if name is None:
            return
        first = self.first_seen.setdefault((kind, name), table.path)
        if first != table.path:
            table.error("name", f"duplicate {kind} name {name!r} (first at {first})")

    def parse(self, data: dict[str, Any], source: str) -> InventoryFile | None:
        top = _Table(data, "", self.problems)
        backend = top.choice("backend", BACKENDS, default="libvirt")
        seed = top.int("seed", default=0)
        top.str("name")
        sim = backend == "sim"
        ssh = self.ssh_options(top, source)
        clusters: list[Cluster] = []
        hosts: list[Host] = []
        for ct in top.tables("cluster"):
            cluster = self.cluster(ct)
            for ht in ct.tables("host"):
                host = self.host(ht, cluster, sim)
                if host:
                    hosts.append(host)
            ct.close()
            if cluster:
                clusters.append(cluster)
        if not clusters and "cluster" not in top.data:
            top.error("cluster", "missing: declare at least one [[cluster]] with its [[cluster.host]] entries")
        host_names = {h.name for h in hosts}
        datastores = [ds for t in top.tables("datastore") if (ds := self.datastore(t, host_names, sim))]
        vm_tables = top.tables("vm")
        if vm_tables and not sim:
            top.error("vm", 'VMs are listed only in simulated inventories (backend = "sim"); libvirt reports them')
        by_name = {ds.name: ds for ds in datastores}
        hosts_by_name = {h.name: h for h in hosts}
        vms = [vm for t in vm_tables if sim and (vm := self.vm(t, hosts_by_name, by_name))]
        top.close()
        if self.problems:
            return None
        inventory = Inventory(tuple(clusters), tuple(hosts), tuple(datastores), tuple(vms), source=source)
        return InventoryFile(backend=backend or "libvirt", inventory=inventory, seed=seed or 0, ssh=ssh)

    def ssh_options(self, top: _Table, source: str) -> SshOptions | None:
        if "ssh" not in top.data:
            return None
        t = _Table(top.data["ssh"], "ssh", self.problems)
        top.seen.add("ssh")
        base = os.path.dirname(source)  # relative paths are relative to the inventory file; ~ stays for later
        paths = {k: v if not v or v.startswith("~") else os.path.join(base, v)
                 for k in ("known_hosts", "identity") for v in [t.str(k)]}
        t.close()
        return SshOptions(**paths)

    def cluster(self, t: _Table) -> Cluster | None:
        name = t.str("name", required=True)
        self.unique("cluster", name, t)
        network = t.str("migration_network")
        if network is not None:
            try:
                network = str(ipaddress.ip_network(network, strict=False))
            except ValueError as exc:
                t.error("migration_network", f"not a network address: {exc}")
                network = None
        compat = t.str("cpu_compat_mode")
        cluster = Cluster(
            name=name or "",
            memory_overcommit=bool(t.bool("memory_overcommit", default=False)),
            cpu_compat_mode=None if compat in (None, "", "off") else compat,
            migration_network=network,
            migration_bandwidth=t.rate("migration_bandwidth"),
            description=t.str("description", default="") or "",
        )
        return cluster if name else None

    def host(self, t: _Table, cluster: Cluster | None, sim: bool) -> Host | None:
        name = t.str("name", required=True)
        self.unique("host", name, t)
        ssh = t.str("ssh")
        uri = t.str("uri", required=not sim and ssh is None)  # with `ssh` it may be left out, never blank
        if uri is not None and not uri.strip() and not sim and ssh is not None:
            t.error("uri", "must not be empty")
        if ssh is not None and not _SSH_ADDRESS.match(ssh):
            # Never echo what precedes an '@': a "user:password@" must not end up in an error message.
            t.error("ssh", f"expected user@host[:port], got {ssh.rpartition('@')[2]!r}"
                    f"{' (after a user part, not shown)' if '@' in ssh else ''}")
        if uri is None and ssh is not None and not sim:
            uri = DEFAULT_TUNNEL_URI
        elif uri is not None and uri.startswith(f"{SSH_TUNNEL_SCHEME}:") and ssh is None:
            t.error("uri", f"{SSH_TUNNEL_SCHEME}: goes through the host's SSH session: set `ssh` too")
        address = t.str("address")
        if address is not None:
            self.check_address(t, address, cluster)
        facts = dict(
            state=HostState(t.choice("state", HostState, default=HostState.CONNECTED)),
            cpu_model=t.str("cpu_model"),
            cpu_vendor=t.str("cpu_vendor"),
            cpu_count=t.int("cpus", minimum=1),
            cpu_features=frozenset(t.strings("cpu_features") or ()),
            memory_total=t.size("memory"),
            memory_free=t.size("memory_free"),
        )
        if not sim:
            for key in ("state", "cpu_model", "cpu_vendor", "cpus", "cpu_features", "memory", "memory_free"):
                if key in t.data:
                    t.error(key, 'only simulated inventories (backend = "sim") declare host facts')
            facts = {}
        elif facts["memory_total"] is None or facts["cpu_count"] is None:
            t.error("memory" if facts["memory_total"] is None else "cpus", "missing (a simulated host needs it)")
        elif facts["memory_free"] is not None and facts["memory_free"] > facts["memory_total"]:
            t.error("memory_free", "is larger than memory")
        host = Host(
            name=name or "",
            cluster=cluster.name if cluster else "",
            uri=uri or f"sim:///{name}",
            ssh=ssh,
            address=address,
            migration_uri=t.str("migration_uri"),
            **facts,  # type: ignore[arg-type]
        )
        t.close()
        return host if name else None

    def check_address(self, t: _Table, address: str, cluster: Cluster | None) -> None:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            t.error("address", f"not an IP address: {address!r}")
            return
        if cluster and cluster.migration_network and ip not in ipaddress.ip_network(cluster.migration_network):
            t.error("address", f"{address} is outside cluster {cluster.name!r}'s migration_network "
                    f"{cluster.migration_network}")

    def datastore(self, t: _Table, host_names: set[str], sim: bool) -> Datastore | None:
        name = t.str("name", required=True)
        self.unique("datastore", name, t)
        pool_type = t.choice("type", POOL_TYPES)
        if pool_type is None and "type" not in t.data:
            t.error("type", f"missing (one of {', '.join(sorted(POOL_TYPES))})")
        hosts = t.strings("hosts", required=True) or []
        for i, host in enumerate(hosts):
            if host not in host_names:
                t.problems.append(f"{t.where('hosts')}[{i}]: unknown host {host!r}")
        capacity, free = t.size("capacity"), t.size("free")
        if not sim:
            for key in ("capacity", "free"):
                if key in t.data:
                    t.error(key, "libvirt reports it; declare it only in simulated inventories")
        if capacity is not None and free is not None and free > capacity:
            t.error("free", "is larger than capacity")
        shared = t.bool("shared", default=pool_type in SHARED_POOL_TYPES or len(hosts) > 1)
        if shared is False and len(hosts) > 1:
            t.error("shared", f"false, but {len(hosts)} hosts are listed: list the one host that has it")
        ds = Datastore(
            name=name or "",
            pool_type=pool_type or "dir",
            shared=bool(shared),
            virtualised=bool(t.bool("virtualised", default=pool_type in VIRTUALISED_POOL_TYPES)),
            hosts=tuple(hosts),
            capacity=capacity,
            free=free,
            pool=t.str("pool", default=name),
            path=t.str("path"),
        )
        t.close()
        return ds if name and pool_type else None

    def vm(self, t: _Table, hosts: dict[str, Host], datastores: dict[str, Datastore]) -> Vm | None:
        name = t.str("name", required=True)
        self.unique("vm", name, t)
        host = t.str("host", required=True)
        if host is not None and host not in hosts:
            t.error("host", f"unknown host {host!r}")
        cpu_mode = t.choice("cpu_mode", CpuMode)
        passthrough = [self.device(d) for d in t.tables("passthrough")]
        disks = [self.disk(d, name or "", host, datastores) for d in t.tables("disk")]
        targets = [d.target for d in disks if d]
        for dup in {x for x in targets if targets.count(x) > 1}:
            t.error("disk", f"disk target {dup!r} is used twice")
        vm = Vm(
            name=name or "",
            host=host or "",
            state=VmState(t.choice("state", VmState, default=VmState.RUNNING)),
            vcpus=t.int("vcpus", required=True, minimum=1) or 1,
            memory=t.size("memory", required=True) or 0,
            uuid=t.str("uuid"),
            cpu_mode=CpuMode(cpu_mode) if cpu_mode else None,
            cpu_model=t.str("cpu_model"),
            passthrough=tuple(p for p in passthrough if p),
            disks=tuple(d for d in disks if d),
            dirty_rate=t.rate("dirty_rate"),
            working_set=t.size("working_set"),
            workload=t.str("workload", default="") or "",
            persistent=bool(t.bool("persistent", default=True)),
        )
        t.close()
        return vm if name and host in hosts else None

    def device(self, t: _Table) -> PassthroughDevice | None:
        kind = t.choice("kind", PassthroughKind)
        if kind is None and "kind" not in t.data:
            t.error("kind", f"missing (one of {', '.join(k.value for k in PassthroughKind)})")
        address = t.str("address", required=True)
        device = PassthroughDevice(PassthroughKind(kind or "pci"), address or "", t.str("description") or "")
        t.close()
        return device if kind and address else None

    def disk(
        self, t: _Table, vm: str, host: str | None, datastores: dict[str, Datastore]
    ) -> Disk | None:
        target = t.str("target", required=True)
        ds_name = t.str("datastore", required=True)
        ds = datastores.get(ds_name or "")
        if ds_name is not None and ds is None:
            t.error("datastore", f"unknown datastore {ds_name!r}")
        elif ds is not None and host and host not in ds.hosts:
            t.error("datastore", f"datastore {ds_name!r} is not reachable from host {host!r} "
                    f"(it is attached to {', '.join(ds.hosts)})")
        capacity = t.size("capacity", required=True)
        allocation = t.size("allocation")
        if capacity is not None and allocation is not None and allocation > capacity:
            t.error("allocation", "is larger than capacity")
        fmt = t.choice("format", ("raw", "qcow2"), default="qcow2")
        path = t.str("path") or f"{(ds.path if ds and ds.path else '/' + (ds_name or ''))}/{vm}-{target}.{fmt}"
        disk = Disk(
            target=target or "",
            path=path,
            datastore=ds_name,
            capacity=capacity or 0,
            allocation=capacity if allocation is None else allocation,  # type: ignore[arg-type]
            format=fmt,
            backing_chain=tuple(t.strings("backing") or ()),
            shareable=bool(t.bool("shareable", default=False)),
            transient=bool(t.bool("transient", default=False)),
            cache_mode=t.choice("cache", CACHE_MODES, default="default"),
            snapshots=t.int("snapshots", default=0) or 0,
        )
        t.close()
        return disk if target and ds else None
