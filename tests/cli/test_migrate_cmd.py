"""`hotmig migrate` on the simulated datacenter, as scripts use it: JSON lines, the result, the exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def migrate(tmp_path: Path, *args: str, yes: bool = True) -> tuple[int, list[dict[str, Any]], str]:
    # Each run gets its own data dir: history and audit files stay out of the user's, and runs never share one.
    data = tmp_path / "data"
    env = {**os.environ, "XDG_DATA_HOME": str(data), "HOTMIG_DATA_DIR": str(data / "hotmig"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    argv = [sys.executable, "-m", "hotmig_tui", "migrate", "--demo", *args, "--json"] + (["--yes"] if yes else [])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return done.returncode, lines, done.stderr


def test_vm_live_migration_prints_json_lines_and_a_result(tmp_path: Path) -> None:
    code, lines, _ = migrate(tmp_path, "web-01", "--to", "cna2", "--kind", "vm", "--speed", "200")
    assert code == 0
    assert {line["type"] for line in lines} == {"phase", "log", "sample", "result"}
    result = lines[-1]
    assert result["type"] == "result" and result["outcome"] == "done" and result["ok"] is True
    assert result["cause"] is None and result["vm_host"] == "cna2"
    assert 0 < result["downtime"] < 0.3 and result["total_time"] > 1 and result["iterations"] >= 2
    assert result["bytes"] >= 3 * 2**30
    phases = [line["phase"] for line in lines if line["type"] == "phase"]
    assert phases == ["prepare", "precopy", "switchover", "resumed", "cleanup", "done"]
    samples = [line for line in lines if line["type"] == "sample"]
    assert samples[0]["iteration"] == 1 and samples[0]["dirty_rate"] == 0
    assert (tmp_path / "data" / "hotmig" / "history.sqlite").exists()
    assert (tmp_path / "data" / "hotmig" / "audit.log").exists()


def test_timeout_abort_exits_1_with_the_cause(tmp_path: Path) -> None:
    code, lines, _ = migrate(tmp_path, "olap-01", "--to", "cna4", "--timeout", "300", "--speed", "5000")
    result = lines[-1]
    assert code == 1 and result["outcome"] == "aborted" and result["cause"] == "VM-F6"
    assert result["vm_host"] == "cna5" and result["ok"] is False


def test_refused_by_a_check_exits_1(tmp_path: Path) -> None:
    code, lines, _stderr = migrate(tmp_path, "gpu-render-01", "--to", "cna1", "--speed", "200")
    assert code == 1 and lines[-1]["outcome"] == "refused"
    assert any(f["rule"].startswith("VM-C1") for f in lines[-1]["findings"])
    assert not any(line["type"] == "sample" for line in lines)


def test_bad_usage_exits_2(tmp_path: Path) -> None:
    code, lines, stderr = migrate(tmp_path, "no-such-vm", "--to", "cna2")
    assert code == 2 and lines == [] and "no VM named 'no-such-vm'" in stderr
    code, _, stderr = migrate(tmp_path, "web-01", "--kind", "storage")
    assert code == 2 and "--datastore" in stderr


def test_without_yes_and_no_terminal_it_refuses_to_start(tmp_path: Path) -> None:
    code, lines, stderr = migrate(tmp_path, "web-01", "--to", "cna2", yes=False)
    assert code == 2 and "--yes" in stderr
    assert not any(line["type"] in ("sample", "phase") for line in lines)
