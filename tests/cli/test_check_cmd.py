"""`hotmig check`: every deliberate violator of the demo datacenter caught by the right rule, through the
JSON output scripts read, and the exit codes (0 no error, 1 any error, 2 bad usage)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from hotmig_tui.cli import main


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["check", "--demo", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def rules(findings: list[dict[str, Any]], severity: str | None = None) -> set[str]:
    return {f["rule"] for f in findings if severity is None or f["severity"] == severity}


def failed_errors(findings: list[dict[str, Any]]) -> set[str]:
    return {f["rule"] for f in findings if f["severity"] == "error" and f["status"] == "failed"}


# --- one target: {"ok": bool, "findings": [...]} ------------------------------------------------------------

TARGETED = [
    # (arguments, the rule that must fail as an error)
    (["gpu-render-01", "--to", "cna1"], "VM-C1.dev"),
    (["lic-server-01", "--to", "cna5"], "VM-C1.dev"),
    (["archive-01", "--to", "cna1"], "VM-C1.run"),
    (["erp-app-01", "--to", "cna6"], "VM-C2.3"),
    (["build-01", "--to", "cna2"], "VM-C3"),
    (["db-01", "--to", "cna3"], "VM-C2.1.mem"),
    (["web-01", "--to", "cna4"], "VM-C2.4"),
    (["dev-ws-01", "--to", "dev2"], "VM-C2.5"),
    (["hpc-01", "--to", "cna5"], "VM-C2.5"),
    (["dev-pinned-01", "--to", "dev2"], "VM-C2.5"),
    (["clone-test-01", "--kind", "storage", "--datastore", "local-cna1"], "ST-C2"),
    (["cluster-fs-a", "--kind", "storage", "--datastore", "local-cna4"], "ST-C2"),
    (["kiosk-01", "--kind", "storage", "--datastore", "fusion-1"], "ST-C3"),
    (["cache-01", "--kind", "storage", "--datastore", "local-cna2"], "ST-C3"),
    (["mail-01", "--kind", "storage", "--datastore", "nfs-a"], "ST-C4"),
    (["web-01", "--kind", "storage", "--datastore", "fusion-1"], "ST-C4"),
    (["erp-db-01", "--kind", "storage", "--datastore", "local-cna4"], "ST-C1"),
    (["erp-app-01", "--kind", "storage", "--datastore", "san-lun7"], "ST-C1"),
    (["archive-01", "--kind", "storage", "--datastore", "san-lun7"], "ST-C5"),
    (["web-01", "--kind", "storage", "--datastore", "nfs-b"], "ST-D.host"),
    (["web-01", "--kind", "storage", "--datastore", "nfs-a"], "ST-D.differs"),
    (["build-01", "--to", "cna4", "--kind", "whole", "--datastore", "nfs-b"], "VM-C2.4"),
]


@pytest.mark.parametrize(("args", "rule"), TARGETED, ids=[f"{a[0]}-{r}" for a, r in TARGETED])
def test_violator_caught_by_its_rule(capsys: pytest.CaptureFixture[str], args: list[str], rule: str) -> None:
    code, data = check(capsys, *args)
    assert rule in failed_errors(data["findings"]), data
    assert data["ok"] is False and code == 1
    finding = next(f for f in data["findings"] if f["rule"] == rule)
    assert finding["message"] and finding["remedy"] and finding["article"]


def test_finding_fields(capsys: pytest.CaptureFixture[str]) -> None:
    _, data = check(capsys, "lic-server-01", "--to", "cna5")
    finding = next(f for f in data["findings"] if f["rule"] == "VM-C1.dev")
    assert set(finding) >= {"rule", "article", "severity", "status", "message", "remedy", "objects"}
    assert finding["article"] == "VM-C1" and finding["severity"] == "error" and finding["status"] == "failed"
    assert "USB" in finding["message"] and "lic-server-01" in finding["message"]
    assert ["vm", "lic-server-01"] in finding["objects"]


def test_quiet_vm_passes_with_only_unchecked_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = check(capsys, "web-01", "--to", "cna2")
    assert code == 0 and data["ok"] is True
    assert not failed_errors(data["findings"])
    # Reachability was never probed: reported as unknown (a warning to confirm), never as a pass.
    probe = next(f for f in data["findings"] if f["rule"] == "VM-C4")
    assert probe["status"] == "unknown" and probe["severity"] == "warning"


def test_busy_vm_warns_it_will_not_converge(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = check(capsys, "olap-01", "--to", "cna4")
    assert code == 0 and data["ok"] is True  # a warning lets it start after a confirm
    vmt = next(f for f in data["findings"] if f["rule"] == "VM-T")
    assert vmt["severity"] == "warning" and vmt["status"] == "failed" and "not to converge" in vmt["message"]
    assert "quieter" in vmt["remedy"] and "migration network" in vmt["remedy"]


def test_no_migration_network_is_information(capsys: pytest.CaptureFixture[str]) -> None:
    _, data = check(capsys, "dev-db-01", "--to", "dev1")
    assert "VM-T.2" in rules(data["findings"], "info")


def test_whole_machine_needs_no_shared_storage(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = check(capsys, "build-01", "--to", "cna2", "--kind", "whole", "--datastore", "local-cna2")
    assert code == 0 and data["ok"] is True
    assert "VM-C3" not in rules(data["findings"])


def test_leaving_the_shared_disk_out_passes_st_c2(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = check(capsys, "cluster-fs-a", "--kind", "storage", "--datastore", "local-cna4", "--disk", "vda")
    assert "ST-C2" not in rules(data["findings"])
    assert code == 0 and data["ok"] is True


# --- every candidate: {"ok": bool, "candidates": [{..., "findings": [...]}]} ---------------------------------

EVERYWHERE = [
    # (VM, kind, the rule that rules out every candidate)
    ("gpu-render-01", "vm", "VM-C1.dev"),
    ("gpu-render-01", "whole", "VM-C1.dev"),
    ("lic-server-01", "vm", "VM-C1.dev"),
    ("archive-01", "vm", "VM-C1.run"),
    ("build-01", "vm", "VM-C3"),
    ("clone-test-01", "storage", "ST-C2"),
    ("cluster-fs-a", "storage", "ST-C2"),
    ("kiosk-01", "storage", "ST-C3"),
    ("cache-01", "storage", "ST-C3"),
    ("mail-01", "storage", "ST-C4"),
    ("erp-db-01", "storage", "ST-C1"),
]


@pytest.mark.parametrize(("vm", "kind", "rule"), EVERYWHERE, ids=[f"{v}-{k}-{r}" for v, k, r in EVERYWHERE])
def test_violator_blocked_on_every_candidate(capsys: pytest.CaptureFixture[str], vm: str, kind: str,
                                             rule: str) -> None:
    code, data = check(capsys, vm, "--kind", kind)
    assert code == 1 and data["ok"] is False
    assert data["candidates"]
    for candidate in data["candidates"]:
        assert candidate["ok"] is False and candidate["errors"] >= 1
        assert rule in failed_errors(candidate["findings"]), candidate


def test_candidates_shape_and_ranking(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = check(capsys, "web-01", "--kind", "vm")
    assert code == 0 and data["ok"] is True
    hosts = [c["target_host"] for c in data["candidates"]]
    assert "cna1" not in hosts and len(hosts) == 7  # every other host, the source left out
    assert hosts[0] == "cna2" and data["candidates"][0]["ok"] is True  # the only possible one ranks first
    assert all(c["target_datastore"] is None for c in data["candidates"])
    for c in data["candidates"]:
        assert set(c) >= {"target_host", "target_datastore", "ok", "errors", "warnings", "findings"}
        assert c["errors"] == len(failed_errors(c["findings"]))
    by_host = {c["target_host"]: c for c in data["candidates"]}
    assert "VM-C2.3" in failed_errors(by_host["cna6"]["findings"])
    assert "VM-C2.1.mem" in failed_errors(by_host["cna3"]["findings"])


def test_build_01_blocked_live_but_not_whole(capsys: pytest.CaptureFixture[str]) -> None:
    code, live = check(capsys, "build-01", "--kind", "vm")
    assert code == 1 and all("VM-C3" in failed_errors(c["findings"]) for c in live["candidates"])
    code, whole = check(capsys, "build-01", "--kind", "whole")
    assert code == 0 and whole["ok"] is True
    assert not any("VM-C3" in rules(c["findings"]) for c in whole["candidates"])
    assert all(c["target_datastore"] for c in whole["candidates"])  # whole machine: a host with a datastore


def test_olap_01_warned_on_its_best_candidate(capsys: pytest.CaptureFixture[str]) -> None:
    _, data = check(capsys, "olap-01", "--kind", "vm")
    best = data["candidates"][0]
    assert best["ok"] is True and "VM-T" in rules(best["findings"], "warning")


def test_storage_candidates_name_datastores(capsys: pytest.CaptureFixture[str]) -> None:
    _, data = check(capsys, "web-01", "--kind", "storage")
    assert {c["target_datastore"] for c in data["candidates"]} >= {"nfs-a", "nfs-b", "fusion-1", "san-lun7"}
    assert all(c["target_host"] is None for c in data["candidates"])
    by_ds = {c["target_datastore"]: c for c in data["candidates"]}
    assert "ST-C4" in failed_errors(by_ds["fusion-1"]["findings"])
    assert "ST-C1" in failed_errors(by_ds["san-lun7"]["findings"])


# --- text output and exit codes ------------------------------------------------------------------------------

def test_text_output_names_rules_and_remedies(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--demo", "gpu-render-01", "--to", "cna1"]) == 1
    out = capsys.readouterr().out
    assert "blocked" in out and "✖ VM-C1.dev" in out and "remedy:" in out and "(unknown)" in out


@pytest.mark.parametrize(
    "args",
    [
        ["no-such-vm", "--to", "cna2"],
        ["no-such-vm"],
        ["web-01", "--to", "no-such-host"],
        ["web-01", "--kind", "whole", "--to", "cna2"],  # whole needs --datastore
        ["web-01", "--to", "cna2", "--datastore", "nfs-a"],  # VM live leaves the disks where they are
        ["web-01", "--kind", "storage", "--to", "cna2", "--datastore", "nfs-b"],  # storage keeps the host
        ["web-01", "--kind", "storage", "--datastore", "nfs-a", "--disk", "vdz"],
    ],
)
def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    assert main(["check", "--demo", "--json", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "hotmig: error:" in captured.err


def test_unknown_kind_is_an_argparse_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check", "--demo", "web-01", "--kind", "sideways"])
    assert exc.value.code == 2


def test_exit_codes_through_the_entry_point() -> None:
    def run(*args: str) -> int:
        command = [sys.executable, "-m", "hotmig_tui", "check", "--demo", "--json", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60).returncode

    assert run("web-01", "--to", "cna2") == 0
    assert run("gpu-render-01", "--to", "cna1") == 1
    assert run("web-01", "--to", "nowhere") == 2
