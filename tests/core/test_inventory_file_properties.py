"""Property-based tests of the inventory loader (DESIGN.md §10: bad input gets a clear error naming the file
and the line or key path).

Whatever the text, parse_inventory returns an InventoryFile or raises InventoryError, never anything else;
every problem names the file, and a line (TOML syntax) or a key path; a problem the schema oracle in
tests/strategies.py expects (unknown key, wrong type, missing key, ...) is always reported, so no file with
an unknown key or a wrong type is ever accepted; valid generated inventories load with the values they say.
Bugs found here are pinned by the targeted tests at the end of this file (see KNOWN_BUGS for how the fuzzers
treat one that reopens).
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hotmig_tui.backends.select import read_inventory_file
from hotmig_tui.core.inventory_file import InventoryError, InventoryFile, parse_inventory
from tests import strategies as s

SOURCE = "fuzz/dc.toml"
FAST = settings(max_examples=400, deadline=None)
THOROUGH = settings(max_examples=600, deadline=None)


# --- the test's own tools --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(s.BASE_PATHS))
def test_shipped_inventories_load_and_the_writer_round_trips_them(name: str) -> None:
    doc = s.base_doc(name)
    assert tomllib.loads(s.to_toml(doc)) == doc
    assert not s.expected_problems(doc)
    assert isinstance(parse_inventory(s.to_toml(doc), name), InventoryFile)
    assert isinstance(parse_inventory(s.base_texts()[name], name), InventoryFile)


@FAST
@given(s.toml_values.filter(lambda v: "nan" not in repr(v)), st.text(max_size=8))  # NaN != NaN
def test_the_toml_writer_round_trips_values(value: object, key: str) -> None:
    assert tomllib.loads(s.to_toml({key: value})) == {key: value}


# --- (a) arbitrary input ----------------------------------------------------------------------------------------
@THOROUGH
@given(st.text())
def test_any_text_gives_an_inventory_or_a_clear_error(text: str) -> None:
    s.check_outcome(text, SOURCE)


@THOROUGH
@given(s.tomlish_text)
@example('x = """\u2028\u2028')  # found by this test: an end-of-file error after line separators
@example('"evil\\nkey" = 1')  # found by this test: a raw newline in a problem
def test_toml_like_text_gives_an_inventory_or_a_clear_error(text: str) -> None:
    s.check_outcome(text, SOURCE)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("inventory-bytes")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=200), s.tomlish_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
                      st.builds(lambda t, junk: t.encode() + junk, s.tomlish_text, st.binary(min_size=1, max_size=4))))
def test_any_bytes_in_a_file_give_an_inventory_or_a_clear_error(fuzz_dir: Path, data: bytes) -> None:
    path = fuzz_dir / "dc.toml"
    path.write_bytes(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        with pytest.raises(InventoryError) as info:
            read_inventory_file(path)
        assert info.value.source == str(path)
        assert len(info.value.problems) == 1 and info.value.problems[0].startswith("not UTF-8 text: ")
        s.check_outcome(data.decode("utf-8", errors="replace"), SOURCE)  # the same bytes, decoded leniently
        return
    try:
        outcome: InventoryFile | InventoryError = read_inventory_file(path)
    except InventoryError as exc:
        outcome = exc
    except Exception as exc:
        s.tolerate_known_crash(exc)
        raise
    if isinstance(outcome, InventoryError):
        # The reader opens the file in text mode: '\r\n' and a lone '\r' become '\n' before parsing.
        s.check_inventory_error(outcome, str(path), text.replace("\r\n", "\n").replace("\r", "\n"))
    else:
        assert outcome.inventory.source == str(path)


# --- (b) structure-aware fuzzing of the shipped inventories -----------------------------------------------------
@THOROUGH
@given(s.mutated_documents())
def test_mutated_inventories_report_the_mutated_key(mutation: s.Mutation) -> None:
    text = s.to_toml(mutation.doc)
    outcome = s.check_outcome(text, SOURCE)
    if mutation.expect is None:
        return
    assert isinstance(outcome, InventoryError), f"accepted: {mutation}"
    assert mutation.expect.found_in(outcome.problems), f"{mutation}: got {outcome.problems}"


@THOROUGH
@given(s.text_mutations())
def test_cut_or_spliced_inventories_give_an_inventory_or_a_clear_error(mutated: tuple[str, str]) -> None:
    _, text = mutated
    s.check_outcome(text, SOURCE)


# --- (c) valid generated inventories round-trip -----------------------------------------------------------------
def close(actual: float | None, expected: float) -> bool:
    return actual is not None and math.isclose(actual, expected, rel_tol=1e-12, abs_tol=1)


@settings(max_examples=400, deadline=None)
@given(s.valid_inventories())
def test_valid_generated_inventories_load_with_their_values(valid: s.ValidInventory) -> None:
    text = s.to_toml(valid.doc)
    assert tomllib.loads(text) == valid.doc
    loaded = parse_inventory(text, SOURCE)
    inv = loaded.inventory
    assert loaded.backend == valid.backend
    assert loaded.seed == valid.doc.get("seed", 0)
    assert inv.source == SOURCE
    assert [c.name for c in inv.clusters] == valid.clusters
    for name, rate in valid.bandwidth.items():
        assert close(inv.cluster(name).migration_bandwidth, rate)
    assert [(h.name, h.cluster) for h in inv.hosts] == valid.hosts
    for name, (total, free) in valid.host_memory.items():
        host = inv.host(name)
        assert close(host.memory_total, total)
        assert host.memory_free is None if free is None else close(host.memory_free, free)
    assert [(d.name, d.hosts) for d in inv.datastores] == [(n, h) for n, h, _, _ in valid.datastores]
    for name, _, capacity, free in valid.datastores:
        ds = inv.datastore(name)
        assert (ds.capacity is None) is (capacity is None) and (capacity is None or close(ds.capacity, capacity))
        assert (ds.free is None) is (free is None) and (free is None or close(ds.free, free))
        assert ds.shared is valid_shared(valid, name)
    assert [(v.name, v.host, v.vcpus) for v in inv.vms] == [(n, h, c) for n, h, c, _ in valid.vms]
    for name, _, _, memory in valid.vms:
        vm = inv.vm(name)
        assert close(vm.memory, memory)
        expected = valid.disks[name]
        assert [(d.target, d.datastore) for d in vm.disks] == [(t, ds) for t, ds, _, _ in expected]
        for disk, (_, _, capacity, allocation) in zip(vm.disks, expected, strict=True):
            assert close(disk.capacity, capacity) and close(disk.allocation, allocation)
    # and what `hotmig inventory --json` would print is strict JSON with the same counts
    from hotmig_tui.core.export import inventory_to_dict

    exported = json.loads(json.dumps(inventory_to_dict(inv), allow_nan=False))
    assert [len(exported[k]) for k in ("clusters", "hosts", "datastores", "vms")] == [
        len(valid.clusters), len(valid.hosts), len(valid.datastores), len(valid.vms)]


def valid_shared(valid: s.ValidInventory, name: str) -> bool:
    table = next(d for d in valid.doc.get("datastore", []) if d["name"] == name)
    if "shared" in table:
        return table["shared"]
    from hotmig_tui.core.model import SHARED_POOL_TYPES

    return table["type"] in SHARED_POOL_TYPES or len(table["hosts"]) > 1


def assert_clear_error(text: str) -> list[str]:
    with pytest.raises(InventoryError) as info:
        parse_inventory(text, SOURCE)
    return s.check_inventory_error(info.value, SOURCE, text)


# --- bugs found by these tests and fixed since ------------------------------------------------------------
def test_blank_uri_is_an_error_even_with_ssh() -> None:
    """Found by the mutation fuzzer while `ssh` made `uri` optional (fixed since)."""
    problems = assert_clear_error(s.EMPTY_URI_WITH_SSH)
    assert "cluster[0].host[0].uri: must not be empty" in problems


# --- bugs found by these tests, still open (strict: they fail loudly once fixed, then drop the marker) ----------
def test_invalid_migration_network_with_a_host_address_is_a_clear_error() -> None:
    problems = assert_clear_error(s.BAD_NETWORK_WITH_ADDRESS)
    assert any(p.startswith("cluster[0].migration_network: not a network address") for p in problems)


def test_size_too_large_for_a_float_is_a_clear_error() -> None:
    problems = assert_clear_error(s.HUGE_SIZE)
    assert any(p.startswith("cluster[0].host[0].memory: ") for p in problems)


def test_rate_too_large_for_a_float_is_a_clear_error() -> None:
    problems = assert_clear_error(s.HUGE_RATE)
    assert any(p.startswith("cluster[0].migration_bandwidth: ") for p in problems)


@pytest.mark.parametrize("key", ["evil\\nkey", "\\u001b[2Jclear", "a\\rb", "x\\u2028y"])
def test_unknown_key_with_control_characters_stays_on_one_line(key: str) -> None:
    text = f'[[cluster]]\nname = "c"\n"{key}" = 1\n[[cluster.host]]\nname = "h"\nuri = "u"\n'
    problems = assert_clear_error(text)
    assert len(problems) == 1 and "unknown key" in problems[0]
    assert not s.breaks_lines(problems[0])


def test_attached_hosts_with_control_characters_stay_on_one_line() -> None:
    text = ('backend = "sim"\n[[cluster]]\nname = "c"\n[[cluster.host]]\nname = "a\\nb"\ncpus = 1\nmemory = 1\n'
            '[[cluster.host]]\nname = "h"\ncpus = 1\nmemory = 1\n[[datastore]]\nname = "d"\ntype = "dir"\n'
            'hosts = ["a\\nb"]\n[[vm]]\nname = "v"\nhost = "h"\nvcpus = 1\nmemory = 1\n'
            '[[vm.disk]]\ntarget = "vda"\ndatastore = "d"\ncapacity = 1\n')
    problems = assert_clear_error(text)
    assert any("is not reachable from host" in p for p in problems)
    assert not any(s.breaks_lines(p) for p in problems)


def test_end_of_file_error_names_the_last_line() -> None:
    problems = assert_clear_error(s.EOF_AFTER_SEPARATORS)
    assert problems[0].startswith("line 2 (end of file): TOML syntax error")


def test_integer_beyond_64_bits_is_a_clear_error() -> None:
    problems = assert_clear_error(s.HUGE_INT_MEMORY)
    assert any(p.startswith("cluster[0].host[0].memory: ") for p in problems)


def test_known_bug_probes_agree_with_the_xfail_tests() -> None:
    """The fuzzers tolerate a known bug only while its probe reproduces it; the probes must work."""
    for name in s.KNOWN_BUGS:
        assert isinstance(s.bug_open(name), bool)
