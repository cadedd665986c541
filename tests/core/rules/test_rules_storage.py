"""VM-C3 (shared storage the target reaches), ST-C1..ST-C5, ST-D (the target datastore)."""

from __future__ import annotations

from hotmig_tui.core.rules import Fact, Severity, Status
from hotmig_tui.core.rules.storage_rules import (
    datastore_host,
    datastore_space,
    shared_storage,
    source_disk,
    target_datastore,
)
from hotmig_tui.core.units import GiB
from tests.core.rules.helpers import datastore, disk, host

TiB = 1024 * GiB

NFS = datastore("nfs-a", "netfs", ("cna1", "cna2", "cna3"))
LOCAL = datastore("local-cna1", "dir", ("cna1",))
FUSION = datastore("fusion-1", "fusionstorage", ("cna1", "cna2"))
LUN = datastore("san-lun7", "iscsi-direct", ("cna4", "cna5"), virtualised=False)
LVM = datastore("local-cna4", "logical", ("cna4",))
CNA2, CNA4 = host("cna2"), host("cna4")


def _rules(findings: list) -> list[str]:  # type: ignore[type-arg]
    return [f.rule for f in findings]


# --- VM-C3 --------------------------------------------------------------------------------------------------


def test_disk_on_shared_storage_the_target_mounts_passes() -> None:
    assert shared_storage(disk(on="nfs-a"), NFS, CNA2, None) is None


def test_disk_on_local_storage_fails() -> None:
    finding = shared_storage(disk(on="local-cna1"), LOCAL, CNA2, None)
    assert finding is not None and finding.rule == "VM-C3" and finding.blocks
    assert finding.message == "disk vda is on local-cna1, local storage of cna1: no other host reaches it"
    assert "whole-machine" in finding.remedy


def test_disk_on_shared_storage_the_target_does_not_mount_fails() -> None:
    finding = shared_storage(disk(on="nfs-a"), NFS, CNA4, None)
    assert (
        finding is not None
        and "nfs-a, which the target does not mount (only cna1, cna2, cna3 do)" in finding.message
    )


def test_a_probe_that_cannot_see_the_disk_fails_even_on_shared_storage() -> None:
    finding = shared_storage(disk(on="nfs-a"), NFS, CNA2, Fact(False, 5.0, "stat: No such file"))
    assert finding is not None and finding.blocks and "target cna2 cannot see disk vda" in finding.message
    assert finding.age_s == 5.0


def test_disk_outside_any_datastore_is_unknown_unless_probed() -> None:
    loose = disk(on=None)
    finding = shared_storage(loose, None, CNA2, None)
    assert finding is not None and finding.status is Status.UNKNOWN
    assert shared_storage(loose, None, CNA2, Fact(True, 1.0)) is None


# --- ST-C1..ST-C5 on the source side ------------------------------------------------------------------------


def test_plain_disk_on_an_image_datastore_passes() -> None:
    assert source_disk(disk(on="nfs-a"), NFS, live=True) == []


def test_st_c1_disk_on_a_raw_lun() -> None:
    (finding,) = source_disk(disk("vdb", on="san-lun7"), LUN, live=True)
    assert finding.rule == "ST-C1" and "vdb is on san-lun7 (iscsi-direct)" in finding.message


def test_st_c2_shareable_and_linked_clone() -> None:
    assert _rules(source_disk(disk(on="nfs-a", shareable=True), NFS, live=True)) == ["ST-C2"]
    (clone,) = source_disk(disk(on="nfs-a", backing_chain=("/golden.qcow2",)), NFS, live=True)
    assert clone.rule == "ST-C2" and "linked clone (backing file /golden.qcow2)" in clone.message


def test_st_c3_transient_and_host_cached_only_when_live() -> None:
    transient, cached = disk(on="nfs-a", transient=True), disk(on="nfs-a", cache_mode="writeback")
    assert _rules(source_disk(transient, NFS, live=True)) == ["ST-C3"]
    (finding,) = source_disk(cached, NFS, live=True)
    assert finding.rule == "ST-C3" and "cache=writeback" in finding.message
    assert source_disk(transient, NFS, live=False) == []
    assert source_disk(cached, NFS, live=False) == []


def test_st_c4_distributed_block_source_when_live() -> None:
    (finding,) = source_disk(disk(on="fusion-1"), FUSION, live=True)
    assert finding.rule == "ST-C4" and "fusion-1, distributed block storage" in finding.message
    assert source_disk(disk(on="fusion-1"), FUSION, live=False) == []


def test_st_c5_cold_from_distributed_block_with_snapshots_or_transient() -> None:
    (finding,) = source_disk(disk(on="fusion-1", snapshots=3), FUSION, live=False)
    assert finding.rule == "ST-C5" and "has 3 snapshots" in finding.message
    assert _rules(source_disk(disk(on="fusion-1", transient=True), FUSION, live=False)) == ["ST-C5"]


# --- the target datastore -----------------------------------------------------------------------------------


def test_a_suitable_target_passes() -> None:
    assert target_datastore((disk(on="local-cna1"),), NFS, live=True) == []


def test_st_c1_raw_lun_target() -> None:
    (finding,) = target_datastore((disk(on="nfs-b"),), LUN, live=True)
    assert finding.rule == "ST-C1" and "target datastore san-lun7 (iscsi-direct)" in finding.message


def test_st_c4_distributed_target_when_live() -> None:
    (finding,) = target_datastore((disk(on="nfs-a"),), FUSION, live=True)
    assert finding.rule == "ST-C4" and "target datastore fusion-1" in finding.message


def test_st_c5_cold_to_block_storage() -> None:
    snapshotted = disk(on="nfs-b", snapshots=1)
    (finding,) = target_datastore((snapshotted,), LVM, live=False)
    assert (
        finding.rule == "ST-C5" and "has 1 snapshot;" in finding.message and "local-cna4" in finding.message
    )
    assert target_datastore((snapshotted,), NFS, live=False) == []
    assert target_datastore((disk(on="nfs-b"),), LVM, live=False) == []


def test_target_must_differ_from_where_the_disk_is() -> None:
    (finding,) = target_datastore((disk(on="nfs-a"),), NFS, live=True)
    assert finding.rule == "ST-D.differs" and finding.message == "disk vda is already on nfs-a"


def test_target_datastore_must_be_attached_to_the_host_the_vm_runs_on() -> None:
    assert datastore_host(NFS, CNA2) is None
    finding = datastore_host(NFS, CNA4)
    assert finding is not None and finding.rule == "ST-D.host"
    assert "nfs-a is not attached to cna4" in finding.message and "cna1, cna2, cna3" in finding.message


def test_space_fits() -> None:
    assert datastore_space(10 * GiB, 40 * GiB, datastore(free=TiB), 0) is None


def test_space_for_the_allocation_is_an_error() -> None:
    finding = datastore_space(140 * GiB, 200 * GiB, datastore("local-dev1", free=100 * GiB), 0)
    assert finding is not None and finding.blocks
    assert finding.message == "target datastore local-dev1 has 100 GiB free, the disks need 140 GiB"


def test_space_for_the_allocation_but_not_the_capacity_is_a_warning() -> None:
    finding = datastore_space(140 * GiB, 200 * GiB, datastore("d", free=150 * GiB), 0)
    assert finding is not None and finding.severity is Severity.WARNING
    assert "may grow to 200 GiB" in finding.message


def test_space_promised_to_copies_in_flight_counts() -> None:
    finding = datastore_space(10 * GiB, 10 * GiB, datastore("d", free=15 * GiB), 10 * GiB)
    assert finding is not None and finding.blocks and "promised to copies in flight" in finding.message


def test_unknown_free_space_is_unknown() -> None:
    finding = datastore_space(10 * GiB, 10 * GiB, datastore("d", free=None), 0)
    assert finding is not None and finding.status is Status.UNKNOWN
