"""Every deliberate violator of the demo datacenter (backends/sim/demo.toml) is caught by the right rule."""

from __future__ import annotations

import pytest

from hotmig_tui.core.model import Inventory
from hotmig_tui.core.rules import CheckContext, Finding, Severity, check_inventory
from hotmig_tui.core.run import MigrationKind
from tests.core.rules.helpers import STORAGE, VM, WHOLE, Verdict, findings_for, one

# (VM, kind, target host, target datastore) -> the rule that must fail, and text its message must hold
VIOLATORS: list[tuple[str, MigrationKind, str | None, str | None, str, str]] = [
    ("gpu-render-01", VM, "cna1", None, "VM-C1.dev", "GPU 0000:3b:00.0 (NVIDIA Tesla T4)"),
    ("lic-server-01", VM, "cna5", None, "VM-C1.dev", "USB bus 1 device 4 (SafeNet HASP dongle)"),
    ("archive-01", VM, "cna1", None, "VM-C1.run", "archive-01 is stopped"),
    ("clone-test-01", STORAGE, None, "local-cna1", "ST-C2", "linked clone"),
    ("cluster-fs-a", STORAGE, None, "local-cna4", "ST-C2", "vdb is shareable"),
    ("kiosk-01", STORAGE, None, "nfs-a", "ST-C3", "non-persistent"),
    ("kiosk-01", STORAGE, None, "fusion-1", "ST-C3", "non-persistent"),
    ("cache-01", STORAGE, None, "local-cna2", "ST-C3", "cache=writeback"),
    ("olap-01", VM, "cna6", None, "VM-C2.3", "target host cna6 is in maintenance mode"),
    ("build-01", VM, "cna2", None, "VM-C3", "local-cna1, local storage of cna1"),
    ("db-01", VM, "cna3", None, "VM-C2.1.mem", "target cna3 has 3.1 GiB free, the VM needs 64 GiB"),
    ("web-01", VM, "cna4", None, "VM-C2.4", "prod-a has memory overcommit off, prod-b has it on"),
    ("dev-ws-01", VM, "dev2", None, "VM-C2.5", "EPYC-Rome (AMD), target dev2 has Cascadelake-Server (Intel)"),
    ("hpc-01", VM, "cna5", None, "VM-C2.5", "host-passthrough"),
    ("mail-01", STORAGE, None, "nfs-a", "ST-C4", "fusion-1, distributed block storage"),
    ("web-01", STORAGE, None, "fusion-1", "ST-C4", "target datastore fusion-1 is distributed block storage"),
    ("erp-db-01", STORAGE, None, "local-cna4", "ST-C1", "vdb is on san-lun7 (iscsi-direct)"),
    ("erp-app-01", STORAGE, None, "san-lun7", "ST-C1", "target datastore san-lun7 (iscsi-direct)"),
]


@pytest.mark.parametrize(("vm", "kind", "host", "datastore", "rule", "text"), VIOLATORS)
def test_violator_is_caught(
    demo: Inventory,
    vm: str,
    kind: MigrationKind,
    host: str | None,
    datastore: str | None,
    rule: str,
    text: str,
) -> None:
    finding: Finding = one(findings_for(demo, vm, kind, host, datastore), rule)
    assert finding.blocks
    assert text in finding.message
    assert finding.article and rule.startswith(finding.article)  # e.g. VM-C1.dev implements VM-C1


def test_build_01_can_move_whole_but_not_live(demo: Inventory) -> None:
    assert "VM-C3" in {f.rule for f in findings_for(demo, "build-01", VM, "cna2")}
    whole = findings_for(demo, "build-01", WHOLE, "cna2", "local-cna2")
    assert "VM-C3" not in {f.rule for f in whole}
    assert not [f for f in whole if f.blocks]


def test_olap_01_warns_when_predicted_not_to_converge(demo: Inventory) -> None:
    reason = "dirties 320 MiB/s, faster than the 1 Gbit/s migration network carries"
    context = CheckContext(predictions={"olap-01": Verdict(False, reason)})
    finding = one(findings_for(demo, "olap-01", VM, "cna4", context=context), "VM-T")
    assert finding.severity is Severity.WARNING and not finding.blocks and reason in finding.message
    assert one(findings_for(demo, "olap-01", VM, "cna4"), "VM-T").severity is Severity.INFO  # no prediction


def test_the_vms_that_cannot_live_migrate_anywhere(demo: Inventory) -> None:
    stuck = {name for name, v in check_inventory(demo).items() if not v.kinds[VM].movable}
    assert {"gpu-render-01", "lic-server-01", "archive-01", "build-01", "hpc-01", "dev-ws-01"} <= stuck
    assert not {"web-01", "db-01", "olap-01", "erp-app-01"} & stuck
