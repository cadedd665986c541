"""`hotmig inventory`, `--help`, `--version`, and bad inventory files (exit code 2)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hotmig_tui.cli import main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hotmig_tui", *args], capture_output=True, text=True, timeout=60)


def test_inventory_json_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "--demo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"clusters", "hosts", "datastores", "vms"}
    host = next(h for h in data["hosts"] if h["name"] == "cna3")
    assert host["cluster"] == "prod-a" and host["memory_free"] == round(3.1 * 2**30)
    vm = next(v for v in data["vms"] if v["name"] == "clone-test-01")
    assert vm["host"] == "cna1" and vm["disks"][0]["datastore"] == "nfs-a"
    assert vm["disks"][0]["linked_clone"] is True and vm["memory"] == 2 * 2**30
    cluster = next(c for c in data["clusters"] if c["name"] == "prod-b")
    assert cluster["memory_overcommit"] is True and cluster["cpu_compat_mode"] == "Haswell-noTSX"


def test_inventory_json_scale(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "--scale", "20,300", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["hosts"]) == 20 and len(data["vms"]) == 300


def test_inventory_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "--demo"]) == 0
    out = capsys.readouterr().out
    assert "Hosts (8)" in out and "cna6" in out and "maintenance" in out and "VMs (36)" in out


def test_inventory_from_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = Path(__file__).resolve().parents[2] / "examples" / "training-scenario.toml"
    assert main(["inventory", "--inventory", str(scenario), "--json"]) == 0
    assert {v["name"] for v in json.loads(capsys.readouterr().out)["vms"]} == {"quiet", "busy"}


def test_bad_file_exit_2_names_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "dc.toml"
    bad.write_text('[[cluster]]\nname = "a"\n[[cluster.host]]\nname = "h"\n')
    result = run("inventory", "--inventory", str(bad), "--json")
    assert result.returncode == 2
    assert f"{bad}: cluster[0].host[0].uri: missing" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_missing_file_exit_2(tmp_path: Path) -> None:
    result = run("inventory", "--inventory", str(tmp_path / "nope.toml"))
    assert result.returncode == 2 and "nope.toml: cannot read: No such file or directory" in result.stderr


def test_bad_scale_exit_2() -> None:
    result = run("inventory", "--scale", "lots")
    assert result.returncode == 2 and "expected HOSTS,VMS" in result.stderr


def test_help_and_version() -> None:
    help_text = run("--help")
    assert help_text.returncode == 0 and "inventory" in help_text.stdout and "demo" in help_text.stdout
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("hotmig ")
