"""Hypothesis strategies and oracles shared by the property-based tests of the inventory file and the CLI.

- a tiny TOML writer (``to_toml``), so that tests can build inventories as dicts and write them out;
- the inventory schema as the README documents it (``SCHEMA``), and an oracle (``expected_problems``) that
  says which problems the loader must report for a parsed TOML document (unknown keys, wrong types, missing
  required keys, bad choices, values below their minimum);
- strategies: valid inventories with what they must load as, structure-aware mutations of the shipped
  inventories (examples/*.toml and the demo datacenter), text mutations, TOML-ish garbage;
- ``check_inventory_error``: the promise of DESIGN.md §10 for one InventoryError (file named on every line,
  each problem names a line or a key path, one line per problem);
- ``KNOWN_BUGS``: bugs these tests found that are still open. Each has a probe (its minimal example) and
  a strict xfail test; the fuzzers tolerate exactly that failure while the probe still reproduces it, and
  become strict by themselves once it is fixed.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st

from hotmig_tui.core.inventory_file import BACKENDS, InventoryError, InventoryFile, parse_inventory
from hotmig_tui.core.model import CACHE_MODES, POOL_TYPES, CpuMode, HostState, PassthroughKind, VmState

ROOT = Path(__file__).resolve().parents[1]
BASE_PATHS = {
    "inventory.toml": ROOT / "examples" / "inventory.toml",
    "training-scenario.toml": ROOT / "examples" / "training-scenario.toml",
    "demo.toml": ROOT / "hotmig_tui" / "backends" / "sim" / "demo.toml",
}

# ------------------------------------------------------------------------------------------------------------
# A tiny TOML writer
# ------------------------------------------------------------------------------------------------------------
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")


def toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else toml_string(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "isoformat"):  # date, time, datetime
        return value.isoformat()
    raise TypeError(f"cannot write {value!r} as TOML")


def _array_of_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def to_toml(doc: dict[str, Any]) -> str:
    """Plain keys first, then arrays of tables as [[a.b]] sections; any other table is written inline."""
    lines: list[str] = []

    def emit(table: dict[str, Any], path: list[str]) -> None:
        for key, value in table.items():
            if not _array_of_tables(value):
                lines.append(f"{toml_key(key)} = {toml_value(value)}")
        for key, value in table.items():
            if _array_of_tables(value):
                header = ".".join(toml_key(p) for p in [*path, key])
                for item in value:
                    lines.extend(["", f"[[{header}]]"])
                    emit(item, [*path, key])

    emit(doc, [])
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------------------
# The inventory schema (README.md, examples/) and an oracle for the problems the loader must report
# ------------------------------------------------------------------------------------------------------------
STR, BOOL, INT, MEASURE, STRINGS = "a string", "true or false", "an integer", "a size or a rate", "strings"
SCHEMA: dict[str, dict[str, Any]] = {
    "top": {"backend": STR, "seed": INT, "name": STR, "ssh": ("table", "ssh"), "cluster": ("tables", "cluster"),
            "datastore": ("tables", "datastore"), "vm": ("tables", "vm")},
    "ssh": {"known_hosts": STR, "identity": STR},
    "cluster": {"name": STR, "description": STR, "memory_overcommit": BOOL, "cpu_compat_mode": STR,
                "migration_network": STR, "migration_bandwidth": MEASURE, "host": ("tables", "host")},
    "host": {"name": STR, "uri": STR, "ssh": STR, "address": STR, "migration_uri": STR, "state": STR,
             "cpu_model": STR, "cpu_vendor": STR, "cpus": INT, "cpu_features": STRINGS, "memory": MEASURE,
             "memory_free": MEASURE},
    "datastore": {"name": STR, "type": STR, "hosts": STRINGS, "capacity": MEASURE, "free": MEASURE,
                  "shared": BOOL, "virtualised": BOOL, "pool": STR, "path": STR},
    "vm": {"name": STR, "host": STR, "state": STR, "vcpus": INT, "memory": MEASURE, "uuid": STR, "cpu_mode": STR,
           "cpu_model": STR, "passthrough": ("tables", "passthrough"), "disk": ("tables", "disk"),
           "dirty_rate": MEASURE, "working_set": MEASURE, "workload": STR, "persistent": BOOL},
    "passthrough": {"kind": STR, "address": STR, "description": STR},
    "disk": {"target": STR, "datastore": STR, "capacity": MEASURE, "allocation": MEASURE, "format": STR,
             "path": STR, "backing": STRINGS, "shareable": BOOL, "transient": BOOL, "cache": STR, "snapshots": INT},
}
CHOICES: dict[tuple[str, str], frozenset[str]] = {
    ("top", "backend"): frozenset(BACKENDS),
    ("host", "state"): frozenset(str(s) for s in HostState),
    ("datastore", "type"): frozenset(POOL_TYPES),
    ("vm", "state"): frozenset(str(s) for s in VmState),
    ("vm", "cpu_mode"): frozenset(str(m) for m in CpuMode),
    ("passthrough", "kind"): frozenset(str(k) for k in PassthroughKind),
    ("disk", "format"): frozenset({"raw", "qcow2"}),
    ("disk", "cache"): frozenset(CACHE_MODES),
}
MINIMUM = {("top", "seed"): 0, ("host", "cpus"): 1, ("vm", "vcpus"): 1, ("disk", "snapshots"): 0}
_REQUIRED = {
    "cluster": ("name",), "host": ("name", "uri"), "datastore": ("name", "type", "hosts"),
    "vm": ("name", "host", "vcpus", "memory"), "disk": ("target", "datastore", "capacity"),
    "passthrough": ("kind", "address"),
}
_NOT_EMPTY = {
    "cluster": ("name",), "host": ("name", "uri"), "datastore": ("name",), "vm": ("name", "host"),
    "disk": ("target", "datastore"), "passthrough": ("address",),
}
SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
              "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
RATE_UNITS = {**{k: Fraction(v) for k, v in SIZE_UNITS.items()},
              "bit": Fraction(1, 8), "kbit": Fraction(10**3, 8), "mbit": Fraction(10**6, 8), "gbit": Fraction(10**9, 8)}


def required(kind: str, sim: bool, table: dict[str, Any]) -> tuple[str, ...]:
    """A host's uri is required in a libvirt inventory unless it has `ssh` (then libvirt goes through an SSH
    tunnel to the default socket)."""
    keys = _REQUIRED.get(kind, ())
    tunnel = isinstance(table.get("ssh"), str)
    return tuple(k for k in keys if not (kind == "host" and k == "uri" and (sim or tunnel)))


def not_empty(kind: str, sim: bool) -> tuple[str, ...]:
    """Present but blank: an error (a libvirt host's uri too, even when `ssh` makes it optional)."""
    keys = _NOT_EMPTY.get(kind, ())
    return tuple(k for k in keys if not (kind == "host" and k == "uri" and sim))


def accepts(expected: Any, value: Any) -> bool:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if isinstance(expected, tuple):  # an array of tables, or one table
        return isinstance(value, list) if expected[0] == "tables" else isinstance(value, dict)
    return {
        STR: isinstance(value, str),
        BOOL: isinstance(value, bool),
        INT: is_int,
        MEASURE: is_int or isinstance(value, str),
        STRINGS: isinstance(value, list) and all(isinstance(v, str) for v in value),
    }[expected]


def is_sim(doc: dict[str, Any]) -> bool:
    return doc.get("backend") == "sim"


@dataclasses.dataclass(frozen=True)
class Node:
    """One table of an inventory document, with its kind and its key path as the loader names it."""

    kind: str
    path: str
    table: Any  # a dict, or whatever stands where a table should
    processed: bool  # False for VM tables of a libvirt inventory (the loader rejects the whole list)

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key


def walk(doc: dict[str, Any]) -> Iterator[Node]:
    """Every table in the loader's processing order: clusters and their hosts, datastores, VMs."""
    sim = is_sim(doc)
    yield Node("top", "", doc, True)
    if isinstance(doc.get("ssh"), dict):
        yield Node("ssh", "ssh", doc["ssh"], True)

    def items(table: Any, key: str) -> list[Any]:
        value = table.get(key) if isinstance(table, dict) else None
        return value if isinstance(value, list) else []

    for i, cluster in enumerate(items(doc, "cluster")):
        yield Node("cluster", f"cluster[{i}]", cluster, True)
        for j, host in enumerate(items(cluster, "host")):
            yield Node("host", f"cluster[{i}].host[{j}]", host, True)
    for i, ds in enumerate(items(doc, "datastore")):
        yield Node("datastore", f"datastore[{i}]", ds, True)
    for i, vm in enumerate(items(doc, "vm")):
        yield Node("vm", f"vm[{i}]", vm, sim)
        for key in ("passthrough", "disk"):
            for j, sub in enumerate(items(vm, key)):
                yield Node(key, f"vm[{i}].{key}[{j}]", sub, sim)


def printable(text: str) -> str:
    """Control and line-break characters escaped (what a fixed loader may show for a weird key)."""
    return "".join(ch if not breaks_lines(ch) else repr(ch)[1:-1] for ch in text)


def breaks_lines(text: str) -> bool:
    """Control characters (newline, escape, ...) and Unicode line/paragraph separators."""
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") and ch != "\t" for ch in text)


def key_renderings(parent: str, key: str) -> tuple[str, ...]:
    """How the loader may name parent.key: raw, or quoted/escaped when the key is not a bare TOML key."""
    shown = {key, printable(key), json.dumps(key), json.dumps(key, ensure_ascii=False), repr(key)}
    return tuple(f"{parent}.{s}" if parent else s for s in shown)


@dataclasses.dataclass(frozen=True)
class Expected:
    """A problem the loader must report: it starts with '<one of paths>: <message>'."""

    paths: tuple[str, ...]
    message: str

    def found_in(self, problems: list[str]) -> bool:
        return any(p.startswith(f"{path}: {self.message}") for p in problems for path in self.paths)

    def __str__(self) -> str:
        return f"{self.paths[0]}: {self.message}..."


def _parses_as_size(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 0
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", value) if isinstance(value, str) else None
    return bool(match) and (match.group(2).lower() or "b") in SIZE_UNITS and len(match.group(1)) < 200


def expected_problems(doc: dict[str, Any]) -> list[Expected]:
    """What the loader must report for this document: unknown keys, wrong types, missing required keys,
    empty names, values outside their choices or below their minimum, VMs in a libvirt inventory."""
    sim = is_sim(doc)
    found: list[Expected] = []
    if "cluster" not in doc:
        found.append(Expected(("cluster",), "missing"))
    if isinstance(doc.get("vm"), list) and doc["vm"] and not sim:
        found.append(Expected(("vm",), "VMs are listed only in simulated inventories"))
    for node in walk(doc):
        if not isinstance(node.table, dict):
            if node.processed or node.kind == "vm":  # the loader wraps every [[vm]] item, even in libvirt files
                found.append(Expected((node.path,), "expected a table"))
            continue
        if not node.processed:
            continue
        schema = SCHEMA[node.kind]
        for key, value in node.table.items():
            if key not in schema:
                found.append(Expected(key_renderings(node.path, key), "unknown key"))
            elif not accepts(schema[key], value):
                found.append(Expected((node.where(key),), "expected "))
            elif (node.kind, key) in CHOICES and value not in CHOICES[node.kind, key]:
                found.append(Expected((node.where(key),), f"{value!r} is not one of"))
            elif isinstance(value, int) and not -(2**63) <= value < 2**63:  # TOML integers are 64-bit
                below = (node.kind, key) in MINIMUM and value < MINIMUM[node.kind, key]
                if below or not bug_open("int64-overflow"):
                    found.append(Expected((node.where(key),), ""))  # "out of range", or "must be at least"
            elif (node.kind, key) in MINIMUM and value < MINIMUM[node.kind, key]:
                found.append(Expected((node.where(key),), "must be at least"))
            elif key in not_empty(node.kind, sim) and not value.strip():
                found.append(Expected((node.where(key),), "must not be empty"))
        for key in required(node.kind, sim, node.table):
            if key not in node.table:
                found.append(Expected((node.where(key),), "missing"))
        if node.kind == "host" and sim:
            if "memory" not in node.table:
                found.append(Expected((node.where("memory"),), "missing"))
            elif "cpus" not in node.table and _parses_as_size(node.table["memory"]):
                found.append(Expected((node.where("cpus"),), "missing"))
    return found


# ------------------------------------------------------------------------------------------------------------
# Checking one InventoryError against DESIGN.md §10
# ------------------------------------------------------------------------------------------------------------
SYNTAX = re.compile(r"line (\d+)(?:, column (\d+)| \(end of file\)): TOML syntax error: \S.*", re.DOTALL)
_MISSING_KEY = re.compile(r"\.[a-z_]+: ")
# str.splitlines() breaks lines where TOML (and editors counting '\n') do not.
SPLITLINES_ONLY = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def names_a_key_path(problem: str, data: dict[str, Any]) -> bool:
    """The problem starts with a key path into data ('cluster[1].host[0].uri: ...'); its last key may be
    a missing one."""

    def at(rest: str, node: Any) -> bool:
        if rest.startswith(": "):
            return True
        if _MISSING_KEY.match(rest):
            return True
        if isinstance(node, list):
            match = re.match(r"\[(\d+)\]", rest)
            return bool(match) and int(match[1]) < len(node) and at(rest[match.end():], node[int(match[1])])
        if isinstance(node, dict) and rest.startswith("."):
            return keys(rest[1:], node)
        return False

    def keys(rest: str, node: dict[str, Any]) -> bool:
        for key, value in node.items():
            for shown in key_renderings("", key):
                if rest.startswith(shown) and at(rest[len(shown):], value):
                    return True
        return bool(re.match(r"[a-z_]+: ", rest))

    return keys(problem, data)


def check_inventory_error(exc: BaseException, source: str, text: str) -> list[str]:
    """The loader's error promise: an InventoryError naming the file on every line, and for every problem
    the line (TOML syntax) or the key path. Returns the problems."""
    assert isinstance(exc, InventoryError), f"{type(exc).__name__}: {exc}"
    assert exc.source == source
    problems = exc.problems
    assert problems and all(isinstance(p, str) and p.strip() for p in problems), problems
    assert str(exc) == "\n".join(f"{source}: {p}" for p in problems)
    if any(breaks_lines(p) for p in problems):
        assert bug_open("raw-control-chars"), f"a problem breaks the line or holds control characters: {problems}"
    else:
        assert all(line.startswith(f"{source}: ") for line in str(exc).split("\n")), str(exc)
    syntax = [SYNTAX.fullmatch(p) for p in problems]
    if any(syntax):
        assert len(problems) == 1, problems  # a syntax error stops the loader: one problem
        match = syntax[0]
        assert match is not None
        line, lines = int(match[1]), text.split("\n")
        assert line >= 1
        if line > len(lines):
            assert bug_open("eof-line") and any(c in text for c in SPLITLINES_ONLY), (
                f"{problems[0]!r} names a line past the end of a {len(lines)}-line file")
        elif match[2] is not None:
            assert 1 <= int(match[2]) <= len(lines[line - 1]) + 1, problems[0]
        return problems
    data = tomllib.loads(text)  # not a syntax error: the text is TOML, and every problem is about a key
    for problem in problems:
        assert names_a_key_path(problem, data), f"names neither a line nor a key path: {problem!r}"
    return problems


def load(text: str, source: str) -> InventoryFile | InventoryError:
    """parse_inventory's outcome; any other exception propagates unless it is a known, still open bug."""
    try:
        return parse_inventory(text, source)
    except InventoryError as exc:
        return exc
    except Exception as exc:
        tolerate_known_crash(exc)
        raise


def tolerate_known_crash(exc: BaseException) -> None:
    """Reject (not fail) an example that hits a known crash while its probe still reproduces it."""
    for bug in KNOWN_BUGS.values():
        if bug.signature is not None and bug.signature(exc) and bug_open(bug.name):
            reject()


def check_accepted(loaded: InventoryFile, doc: dict[str, Any] | None) -> None:
    """An accepted file: no problem the oracle expects, and only finite numbers."""
    if doc is not None:
        missed = [str(e) for e in expected_problems(doc)]
        assert not missed, f"accepted although it should report {missed}"
    from hotmig_tui.core.export import inventory_to_dict

    leaves = list(_leaves(inventory_to_dict(loaded.inventory)))
    numbers = [v for v in leaves if isinstance(v, float)]
    if not all(math.isfinite(v) for v in numbers):
        assert bug_open("infinite-rate"), f"accepted a non-finite number: {numbers}"
    integers = [v for v in leaves if isinstance(v, int) and not isinstance(v, bool)]
    if not all(-(2**63) <= v < 2**63 for v in integers):  # TOML: integers are 64-bit; beyond, floats overflow
        assert bug_open("int64-overflow"), f"accepted an integer beyond 64 bits: {max(integers, key=abs)}"


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def check_outcome(text: str, source: str, doc: dict[str, Any] | None = None) -> InventoryFile | InventoryError:
    """Load text and check whichever way it went: a clear error, or a document without oracle problems
    (doc: the document text was written from; None to parse text as TOML when it is)."""
    outcome = load(text, source)
    if doc is None:
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            doc = None
    if isinstance(outcome, InventoryError):
        problems = check_inventory_error(outcome, source, text)
        if doc is not None:
            missed = [str(e) for e in expected_problems(doc) if not e.found_in(problems)]
            assert not missed, f"expected {missed} among {problems}"
    else:
        check_accepted(outcome, doc)
    return outcome


# ------------------------------------------------------------------------------------------------------------
# Known bugs (each has a strict xfail test; see the report). A probe returns True while the bug reproduces.
# ------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class KnownBug:
    name: str
    probe: Callable[[], bool]
    signature: Callable[[BaseException], bool] | None = None  # for crashes: is this exception that bug?
    trigger: Callable[[list[str]], bool] | None = None  # for command lines: does this one hit that bug?


def _raises(fn: Callable[[], Any], kind: type[BaseException]) -> bool:
    try:
        fn()
    except kind:
        return True
    except Exception:
        return False
    return False


BAD_NETWORK_WITH_ADDRESS = (
    '[[cluster]]\nname = "c"\nmigration_network = "10.0.0.0/33"\n'
    '[[cluster.host]]\nname = "h"\nuri = "test:///default"\naddress = "10.0.0.1"\n'
)
HUGE_SIZE = 'backend = "sim"\n[[cluster]]\nname = "c"\n[[cluster.host]]\nname = "h"\ncpus = 1\nmemory = "1' + (
    "0" * 400 + ' B"\n')
HUGE_RATE = 'backend = "sim"\n[[cluster]]\nname = "c"\nmigration_bandwidth = "1' + "0" * 400 + (
    ' B/s"\n[[cluster.host]]\nname = "h"\ncpus = 1\nmemory = 1\n')
HUGE_INT_MEMORY = 'backend = "sim"\n[[cluster]]\nname = "c"\n[[cluster.host]]\nname = "h"\ncpus = 1\nmemory = 1' + (
    "0" * 400 + "\n")
EMPTY_URI_WITH_SSH = '[[cluster]]\nname = "c"\n[[cluster.host]]\nname = "h"\nssh = "root@h"\nuri = ""\n'
NEWLINE_KEY = '[[cluster]]\nname = "c"\n"evil\\nkey" = 1\n[[cluster.host]]\nname = "h"\nuri = "u"\n'
EOF_AFTER_SEPARATORS = '# one\u2028two\u2028three\nx = ['


def _problems(text: str) -> list[str]:
    outcome = parse_inventory_quietly(text)
    return outcome.problems if isinstance(outcome, InventoryError) else []


def parse_inventory_quietly(text: str) -> InventoryFile | InventoryError | BaseException:
    try:
        return parse_inventory(text, "probe.toml")
    except Exception as exc:
        return exc


def _eof_line_wrong() -> bool:
    problems = _problems(EOF_AFTER_SEPARATORS)
    return bool(problems) and problems[0].startswith("line 4 ")


def _rate_infinite() -> bool:
    outcome = parse_inventory_quietly(HUGE_RATE)
    return isinstance(outcome, InventoryFile) and math.isinf(outcome.inventory.clusters[0].migration_bandwidth or 0)


KNOWN_BUGS = {
    bug.name: bug
    for bug in (
        KnownBug("bad-network-crash", lambda: _raises(lambda: parse_inventory(BAD_NETWORK_WITH_ADDRESS, "p"),
                                                      ValueError),
                 lambda e: isinstance(e, ValueError) and "does not appear to be an IPv4 or IPv6 network" in str(e)),
        KnownBug("size-overflow", lambda: _raises(lambda: parse_inventory(HUGE_SIZE, "p"), OverflowError),
                 lambda e: isinstance(e, OverflowError) and "cannot convert float infinity to integer" in str(e)),
        KnownBug("infinite-rate", _rate_infinite),
        KnownBug("raw-control-chars", lambda: any("\n" in p for p in _problems(NEWLINE_KEY))),
        KnownBug("eof-line", _eof_line_wrong),
        KnownBug("int64-overflow", lambda: isinstance(parse_inventory_quietly(HUGE_INT_MEMORY), InventoryFile)),
    )
}


@functools.cache
def bug_open(name: str) -> bool:
    return KNOWN_BUGS[name].probe()


# ------------------------------------------------------------------------------------------------------------
# Strategies: values, sizes, names
# ------------------------------------------------------------------------------------------------------------
SIZE_STRINGS = ["0", "1", "8 GiB", "8GiB", " 8 GiB ", "8 gib", "1.5 TiB", "3.1 GiB", "500 MB", "0.5 KB", "12 B",
                "-1 GiB", "1e3 GiB", "8 Gbit", "8 GiB/s", "eight", "", "  ", "8 GiB GiB", "1." + "5" * 30 + " MiB",
                "9" * 30 + " B", "1" + "0" * 400 + " B", "9" * 320 + " TiB"]
RATE_STRINGS = ["1 Gbit/s", "10 Gbit/s", "110 MiB/s", "40 MiB/s", "1 gbit/s", "5 B/s", "0 MiB/s", "1 Gbps",
                "1 Gbit", "/s", "x/s", "-1 MiB/s", "1 Tbit/s", "1" + "0" * 400 + " B/s"]
NETWORKS = ["10.0.0.0/24", "10.10.0.0/24", "192.0.2.0/24", "fd00::/64", "10.0.0.1/24", "10.0.0.0/33", "10.0.0",
            "not a network", "", "::/0", "0.0.0.0/0"]
ADDRESSES = ["10.0.0.1", "10.10.0.7", "192.0.2.9", "fd00::1", "::1", "10.0.0.256", "cna1", "", "1.2.3.4"]
SSH = ["root@cna1", "root@cna1:22", "cna1", "user@[fd00::1]:2222", "root@", "@cna1", "a b", "root@cna1:99999999"]

names = st.text(min_size=1, max_size=12).filter(lambda s: s.strip() != "")
simple_names = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
toml_scalars = st.one_of(
    st.text(max_size=16), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.dates(),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
# Values that are accepted by nothing of the given kind.
WRONG_FOR = {
    STR: st.one_of(st.booleans(), st.integers(), st.floats(allow_nan=False), st.lists(st.text(max_size=3), max_size=2),
                   st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.dates()),
    BOOL: st.one_of(st.integers(min_value=0, max_value=1), st.sampled_from(["true", "yes", "false", ""]),
                    st.floats(allow_nan=False), st.lists(st.booleans(), max_size=2)),
    INT: st.one_of(st.booleans(), st.floats(allow_nan=False), st.text(max_size=4), st.lists(st.integers(), max_size=2),
                   st.dates()),
    MEASURE: st.one_of(st.booleans(), st.floats(allow_nan=False), st.lists(st.integers(), max_size=2),
                       st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.dates()),
    STRINGS: st.one_of(st.text(max_size=5), st.integers(), st.booleans(),
                       st.lists(st.one_of(st.integers(), st.booleans(), st.floats(allow_nan=False)), min_size=1,
                                max_size=3).map(lambda xs: ["ok", *xs])),
    "tables": st.one_of(st.text(max_size=5), st.integers(), st.booleans(),
                        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)),
}


WRONG_FOR["table"] = st.one_of(st.text(max_size=5), st.integers(), st.booleans(), st.lists(st.integers(), max_size=2))


def wrong_value_for(expected: Any) -> st.SearchStrategy[Any]:
    return WRONG_FOR[expected[0] if isinstance(expected, tuple) else expected]


def interesting_strings(key: str) -> st.SearchStrategy[str]:
    """Strings for one key: realistic ones, edge cases, and arbitrary text."""
    pool = {"memory": SIZE_STRINGS, "memory_free": SIZE_STRINGS, "capacity": SIZE_STRINGS, "free": SIZE_STRINGS,
            "allocation": SIZE_STRINGS, "working_set": SIZE_STRINGS, "migration_bandwidth": RATE_STRINGS,
            "dirty_rate": RATE_STRINGS, "migration_network": NETWORKS, "address": ADDRESSES, "ssh": SSH}.get(key, [])
    return st.one_of(st.sampled_from([*pool, "", " ", "sim", "libvirt", "x"]), st.text(max_size=12))


# ------------------------------------------------------------------------------------------------------------
# Base documents and structure-aware mutations
# ------------------------------------------------------------------------------------------------------------
SAFE_SOCKET_DIR = "/nonexistent/hotmig-tests"


@functools.cache
def base_texts() -> dict[str, str]:
    return {name: path.read_text(encoding="utf-8") for name, path in BASE_PATHS.items()}


@functools.cache
def _base_doc_json(name: str, safe_uris: bool) -> str:
    doc = tomllib.loads(base_texts()[name])
    if safe_uris:  # hosts that cannot be contacted: a unix socket that does not exist
        for node in walk(doc):
            if node.kind == "host" and "uri" in node.table:
                node.table["uri"] = f"qemu+unix:///system?socket={SAFE_SOCKET_DIR}/{node.table.get('name', 'x')}"
                node.table.pop("ssh", None)  # `ssh` would open an SSH session (and tunnel libvirt through it)
    return json.dumps(doc)


def base_doc(name: str, safe_uris: bool = False) -> dict[str, Any]:
    """A fresh copy of a shipped inventory as a dict (TOML has no dates in these files: JSON copies it)."""
    return json.loads(_base_doc_json(name, safe_uris))


@dataclasses.dataclass
class Mutation:
    """A mutated document and what the loader must then say about it (None: only the oracle applies)."""

    base: str
    what: str
    doc: dict[str, Any]
    expect: Expected | None

    def __repr__(self) -> str:
        return f"Mutation({self.base}: {self.what}; expect {self.expect})"


def _nodes(doc: dict[str, Any]) -> list[Node]:
    return [n for n in walk(doc) if n.processed and isinstance(n.table, dict)]


@st.composite
def drop_required_key(draw: st.DrawFn, name: str, doc: dict[str, Any]) -> Mutation:
    sim = is_sim(doc)
    choices = [(n, k) for n in _nodes(doc) for k in required(n.kind, sim, n.table) if k in n.table]
    choices += [(n, k) for n in _nodes(doc) if n.kind == "host" and sim for k in ("memory", "cpus") if k in n.table]
    node, key = draw(st.sampled_from(choices))
    del node.table[key]
    return Mutation(name, f"drop {node.where(key)}", doc, Expected((node.where(key),), "missing"))


@st.composite
def change_type(draw: st.DrawFn, name: str, doc: dict[str, Any]) -> Mutation:
    choices = [(n, k) for n in _nodes(doc) for k in n.table if k in SCHEMA[n.kind]]
    node, key = draw(st.sampled_from(choices))
    value = draw(wrong_value_for(SCHEMA[node.kind][key]))
    node.table[key] = value
    return Mutation(name, f"{node.where(key)} = {value!r}", doc, Expected((node.where(key),), "expected "))


@st.composite
def insert_unknown_key(draw: st.DrawFn, name: str, doc: dict[str, Any]) -> Mutation:
    node = draw(st.sampled_from(_nodes(doc)))
    key = draw(st.one_of(
        st.sampled_from(["nmae", "uri ", "Name", "memroy", "hosts", "host", "cluster", "vm", "typ", "size",
                         "cpu", "migration-network", "a.b", "x: y", "\u00e9t\u00e9", "evil\nkey", "\x1b[31m"]),
        st.text(max_size=10),
    ).filter(lambda k: k not in SCHEMA[node.kind]))
    value = draw(toml_values)
    node.table[key] = value
    return Mutation(name, f"{node.where(key)!r} = {value!r}", doc, Expected(key_renderings(node.path, key),
                                                                             "unknown key"))


@st.composite
def duplicate_name(draw: st.DrawFn, name: str, doc: dict[str, Any]) -> Mutation:
    nodes = [n for n in _nodes(doc) if n.kind in ("cluster", "host", "datastore", "vm")]
    pairs = [(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1:] if a.kind == b.kind]
    disks = [n for n in _nodes(doc) if n.kind == "vm" and n.table.get("disk")]
    choice = draw(st.integers(0, 1 if disks else 0))
    if choice == 0:
        first, second = draw(st.sampled_from(pairs))
        second.table["name"] = first.table["name"]
        message = f"duplicate {first.kind} name {first.table['name']!r} (first at {first.path})"
        return Mutation(name, f"{second.path}.name = {first.path}.name", doc,
                        Expected((second.where("name"),), message))
    vm = draw(st.sampled_from(disks))
    disk = draw(st.sampled_from(vm.table["disk"]))
    vm.table["disk"].append(dict(disk))
    return Mutation(name, f"{vm.path}: copy disk {disk['target']!r}", doc,
                    Expected((vm.where("disk"),), f"disk target {disk['target']!r} is used twice"))


@st.composite
def break_reference(draw: st.DrawFn, name: str, doc: dict[str, Any]) -> Mutation:
    nodes = _nodes(doc)
    hosts = {n.table.get("name") for n in nodes if n.kind == "host"}
    datastores = {n.table.get("name") for n in nodes if n.kind == "datastore"}
    refs = [(f"{n.path}.hosts[{i}]", n.table["hosts"], i, hosts, "unknown host")
            for n in nodes if n.kind == "datastore" for i in range(len(n.table["hosts"]))]
    refs += [(n.where("host"), n.table, "host", hosts, "unknown host") for n in nodes if n.kind == "vm"]
    refs += [(n.where("datastore"), n.table, "datastore", datastores, "unknown datastore")
             for n in nodes if n.kind == "disk"]
    where, container, index, known, message = draw(st.sampled_from(refs))
    value = draw(st.one_of(simple_names, st.text(max_size=8)).filter(lambda v: v not in known))
    container[index] = value
    return Mutation(name, f"{where} = {value!r}", doc, Expected((where,), f"{message} {value!r}"))


BIG_INTS = [0, -1, 2**63 - 1, 2**63, -(2**63) - 1, 10**30, 10**400]


@st.composite
def set_value(draw: st.DrawFn, name: str, doc: dict[str, Any]) -> Mutation:
    """Another value of the right type (a string, a size, a number): only the general promise applies."""
    strings = [(n, k) for n in _nodes(doc) for k, v in n.table.items() if isinstance(v, str)]
    numbers = [(n, k) for n in _nodes(doc) for k in n.table if SCHEMA[n.kind].get(k) in (MEASURE, INT)]
    node, key = draw(st.sampled_from(numbers if numbers and draw(st.booleans()) else strings))
    kind = SCHEMA[node.kind].get(key)
    if kind == INT:
        value: Any = draw(st.sampled_from(BIG_INTS) | st.integers())
    elif kind == MEASURE:
        pool = RATE_STRINGS if key in ("migration_bandwidth", "dirty_rate") else SIZE_STRINGS
        value = draw(st.sampled_from(pool) | st.sampled_from(BIG_INTS))
    else:
        value = draw(interesting_strings(key))
    node.table[key] = value
    return Mutation(name, f"{node.where(key)} = {value!r}", doc, None)


MUTATIONS = (drop_required_key, change_type, insert_unknown_key, duplicate_name, break_reference, set_value)


@st.composite
def mutated_documents(draw: st.DrawFn, safe_uris: bool = False) -> Mutation:
    name = draw(st.sampled_from(sorted(BASE_PATHS)))
    doc = base_doc(name, safe_uris)
    mutation = draw(st.sampled_from(MUTATIONS))
    return draw(mutation(name, doc))


# TOML-ish fragments for text mutations: plausible keys and headers, values of every type, broken syntax.
KEYS = sorted({k for table in SCHEMA.values() for k in table} | {"nmae", "x"})
HEADERS = ["[[cluster]]", "[[cluster.host]]", "[[datastore]]", "[[vm]]", "[[vm.disk]]", "[[vm.passthrough]]",
           "[cluster]", "[vm.disk]", "[[cluster.host.x]]", "[a.b]", "[[", "]]", "[]"]
fragments = st.one_of(
    st.builds(lambda k, v: f"{toml_key(k)} = {toml_value(v)}", st.sampled_from(KEYS) | st.text(max_size=6),
              toml_values),
    st.builds(lambda k, v: f"{k} = {toml_string(v)}", st.sampled_from(KEYS),
              st.sampled_from(SIZE_STRINGS + RATE_STRINGS + NETWORKS + ADDRESSES + SSH)),
    st.sampled_from(HEADERS),
    st.sampled_from(['backend = "sim"', 'backend = "libvirt"', "x = ", "= 1", 'name = "unterminated', 'a = """',
                     "a = [1,", "a = {", "a = 1 2", "#\u2028comment\u2028", "\ufeff", "\r", "\x00", "\t",
                     'x = "\u2028\u2028"', 'x = """\u2028\u2028', "key = 0x", "1979-05-27 = 1", "a.b.c = 1",
                     "cluster = 1", "vm = []"]),
    st.text(max_size=20),
)


@st.composite
def text_mutations(draw: st.DrawFn, safe_uris: bool = False) -> tuple[str, str]:
    """(description, text): a shipped inventory cut at a random point, or with random TOML spliced in."""
    name = draw(st.sampled_from(sorted(BASE_PATHS)))
    text = to_toml(base_doc(name, safe_uris)) if safe_uris else base_texts()[name]
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(text)))
        return f"{name} truncated at {cut}", text[:cut]
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, draw(fragments))
    return f"{name} with fragments", "\n".join(lines)


tomlish_text = st.lists(st.one_of(fragments, st.sampled_from(["\n", " ", "=", '"', "[", "]", ".", ","])),
                        max_size=12).map("".join)


# ------------------------------------------------------------------------------------------------------------
# Valid inventories with what they must load as
# ------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Size:
    written: int | str
    bytes: int


@st.composite
def sizes(draw: st.DrawFn, max_bytes: int = 2**50) -> Size:
    if draw(st.booleans()):
        value = draw(st.integers(0, max_bytes))
        return Size(value, value)
    unit = draw(st.sampled_from(sorted(SIZE_UNITS)))
    factor = SIZE_UNITS[unit]
    whole = draw(st.integers(0, max(1, max_bytes // factor)))
    number = str(whole) if draw(st.booleans()) else f"{whole}.{draw(st.integers(0, 99)):02d}"
    shown = draw(st.sampled_from([unit, unit.upper(), {"kib": "KiB", "mib": "MiB", "gib": "GiB", "tib": "TiB"}.get(
        unit, unit.upper())]))
    space = draw(st.sampled_from(["", " ", "  "]))
    return Size(f"{number}{space}{shown}", round(Fraction(number) * factor))


@st.composite
def rates(draw: st.DrawFn) -> tuple[str, float]:
    unit = draw(st.sampled_from(sorted(RATE_UNITS)))
    number = draw(st.integers(1, 10**5))
    return f"{number} {unit}/s", float(number * RATE_UNITS[unit])


@dataclasses.dataclass
class ValidInventory:
    doc: dict[str, Any]
    backend: str
    clusters: list[str]
    hosts: list[tuple[str, str]]  # (name, cluster)
    host_memory: dict[str, tuple[int, int | None]]  # sim: (total, free)
    bandwidth: dict[str, float]
    datastores: list[tuple[str, tuple[str, ...], int | None, int | None]]  # name, hosts, capacity, free
    vms: list[tuple[str, str, int, int]]  # name, host, vcpus, memory
    disks: dict[str, list[tuple[str, str, int, int]]]  # vm -> (target, datastore, capacity, allocation)


@st.composite
def valid_inventories(draw: st.DrawFn) -> ValidInventory:
    sim = draw(st.booleans())
    doc: dict[str, Any] = {"backend": "sim" if sim else "libvirt"} if draw(st.booleans()) or sim else {}
    if draw(st.booleans()):
        doc["seed"] = draw(st.integers(0, 2**31))
    cluster_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    host_names = draw(st.lists(names, min_size=len(cluster_names), max_size=len(cluster_names) + 5, unique=True))
    result = ValidInventory(doc, "sim" if sim else "libvirt", cluster_names, [], {}, {}, [], [], {})
    doc["cluster"] = []
    for i, cname in enumerate(cluster_names):
        cluster: dict[str, Any] = {"name": cname}
        if draw(st.booleans()):
            cluster["migration_network"] = f"10.{i}.0.0/24"
        if draw(st.booleans()):
            cluster["migration_bandwidth"], result.bandwidth[cname] = draw(rates())
        if draw(st.booleans()):
            cluster["memory_overcommit"] = draw(st.booleans())
        mine = host_names[i::len(cluster_names)]
        cluster["host"] = []
        for j, hname in enumerate(mine):
            host: dict[str, Any] = {"name": hname}
            if not sim or draw(st.booleans()):
                host["uri"] = draw(st.text(min_size=1, max_size=30).filter(str.strip))
            if "migration_network" in cluster and draw(st.booleans()):
                host["address"] = f"10.{i}.0.{j + 1}"
            if draw(st.booleans()):
                host["ssh"] = draw(st.from_regex(r"([a-z]{1,5}@)?[a-z][a-z0-9.-]{0,10}(:[0-9]{1,5})?", fullmatch=True))
            if sim:
                total = draw(sizes())
                host["cpus"] = draw(st.integers(1, 512))
                host["memory"] = total.written
                free = draw(st.none() | sizes(max_bytes=total.bytes))
                if free is not None and free.bytes <= total.bytes:
                    host["memory_free"] = free.written
                result.host_memory[hname] = (total.bytes, free.bytes if "memory_free" in host else None)
                if draw(st.booleans()):
                    host["state"] = draw(st.sampled_from(sorted(CHOICES["host", "state"])))
            cluster["host"].append(host)
            result.hosts.append((hname, cname))
        doc["cluster"].append(cluster)
    all_hosts = [h for h, _ in result.hosts]
    ds_names = draw(st.lists(names, max_size=4, unique=True))
    if ds_names:
        doc["datastore"] = []
    for dname in ds_names:
        attached = draw(st.lists(st.sampled_from(all_hosts), min_size=1, max_size=3, unique=True))
        ds: dict[str, Any] = {"name": dname, "type": draw(st.sampled_from(sorted(POOL_TYPES))), "hosts": attached}
        if len(attached) == 1 and draw(st.booleans()):
            ds["shared"] = draw(st.booleans())
        capacity = free_bytes = None
        if sim and draw(st.booleans()):
            cap = draw(sizes())
            ds["capacity"], capacity = cap.written, cap.bytes
            free = draw(sizes(max_bytes=cap.bytes))
            if free.bytes <= cap.bytes:
                ds["free"], free_bytes = free.written, free.bytes
        doc["datastore"].append(ds)
        result.datastores.append((dname, tuple(attached), capacity, free_bytes))
    if sim:
        vm_names = draw(st.lists(names, max_size=5, unique=True))
        if vm_names:
            doc["vm"] = []
        for vname in vm_names:
            on = draw(st.sampled_from(all_hosts))
            memory, vcpus = draw(sizes(max_bytes=2**40)), draw(st.integers(1, 128))
            vm: dict[str, Any] = {"name": vname, "host": on, "vcpus": vcpus, "memory": memory.written}
            reachable = [d for d in result.datastores if on in d[1]]
            result.disks[vname] = []
            if reachable:
                targets = draw(st.lists(st.sampled_from(["vda", "vdb", "vdc", "sda", "hdb"]), max_size=3, unique=True))
                for target in targets:
                    where = draw(st.sampled_from(reachable))[0]
                    capacity = draw(sizes(max_bytes=2**44))
                    disk: dict[str, Any] = {"target": target, "datastore": where, "capacity": capacity.written}
                    allocation = draw(st.none() | sizes(max_bytes=capacity.bytes))
                    if allocation is not None and allocation.bytes <= capacity.bytes:
                        disk["allocation"] = allocation.written
                    vm.setdefault("disk", []).append(disk)
                    result.disks[vname].append((target, where, capacity.bytes, allocation.bytes
                                                if "allocation" in disk else capacity.bytes))
            if draw(st.booleans()):
                vm["passthrough"] = [{"kind": draw(st.sampled_from(sorted(CHOICES["passthrough", "kind"]))),
                                      "address": draw(names)}]
            doc["vm"].append(vm)
            result.vms.append((vname, on, vcpus, memory.bytes))
    return result
