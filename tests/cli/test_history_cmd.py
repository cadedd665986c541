"""`hotmig history`: what `hotmig migrate` recorded, as a table and as JSON."""

import json
import os
import subprocess
import sys
from pathlib import Path


def hotmig(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOTMIG_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "hotmig_tui", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_history_lists_what_ran(tmp_path: Path) -> None:
    assert hotmig("history", "--json", data=tmp_path).stdout.strip() == '{"runs":[]}'
    quiet = hotmig("migrate", "--demo", "web-01", "--to", "cna2", "--speed", "500", "--yes", data=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert hotmig("migrate", "--demo", "olap-01", "--to", "cna4", "--speed", "2000", "--timeout", "300", "--yes",
                  data=tmp_path).returncode == 1
    runs = json.loads(hotmig("history", "--json", data=tmp_path).stdout)["runs"]
    assert [(r["vm"], r["phase"], r["cause"], r["vm_host"]) for r in runs] == [
        ("olap-01", "aborted", "VM-F6", "cna5"), ("web-01", "done", None, "cna2")]
    assert runs[1]["outcome"]["downtime"] > 0 and runs[0]["backend"] == "sim"
    table = hotmig("history", data=tmp_path).stdout
    assert "Migrations (2)" in table and "VM-F6" in table and "web-01" in table
    audit = (tmp_path / "audit.log").read_text().splitlines()
    assert [json.loads(line)["action"] for line in audit].count("start") == 2
