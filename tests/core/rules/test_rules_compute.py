"""VM-C2.1 (target memory and CPUs), VM-C2.2/2.3 (host states), VM-C2.4 (overcommit), VM-C2.5 (CPU)."""

from __future__ import annotations

from hotmig_tui.core.model import CpuMode, HostState
from hotmig_tui.core.rules import Severity, Status
from hotmig_tui.core.rules.compute_rules import (
    cpu_compatible,
    host_state,
    overcommit_match,
    target_cpus,
    target_memory,
)
from hotmig_tui.core.units import GiB, MiB
from tests.core.rules.helpers import cluster, host

HOST_MODEL, CUSTOM, PASSTHROUGH = CpuMode.HOST_MODEL, CpuMode.CUSTOM, CpuMode.HOST_PASSTHROUGH


# --- VM-C2.2 / VM-C2.3 -------------------------------------------------------------------------------------


def test_connected_hosts_pass() -> None:
    assert host_state(host(), "source") is None
    assert host_state(host(), "target") is None


def test_disconnected_or_rebooting_host_fails_vm_c2_2() -> None:
    down = host_state(host("cna2", state=HostState.DISCONNECTED, error="connection refused"), "target")
    assert down is not None and down.rule == "VM-C2.2" and down.blocks
    assert down.message == "target host cna2 is disconnected: connection refused"
    reboot = host_state(host("cna1", state=HostState.REBOOTING), "source")
    assert reboot is not None and reboot.rule == "VM-C2.2"
    assert reboot.message == "source host cna1 is rebooting"


def test_maintenance_blocks_a_target_but_not_a_source() -> None:
    finding = host_state(host("cna6", state=HostState.MAINTENANCE), "target")
    assert finding is not None and finding.rule == "VM-C2.3" and finding.blocks
    assert "cna6 is in maintenance mode" in finding.message
    assert host_state(host("cna6", state=HostState.MAINTENANCE), "source") is None  # evacuating it


# --- VM-C2.1 memory -----------------------------------------------------------------------------------------


def test_memory_that_fits_passes() -> None:
    assert target_memory(8 * GiB, host("cna2"), False, 210 * GiB, 0) is None


def test_memory_that_does_not_fit_is_an_error_without_overcommit() -> None:
    cna3 = host("cna3", memory_total=256 * GiB)
    finding = target_memory(8 * GiB, cna3, False, round(3.1 * GiB), 0)
    assert finding is not None
    assert (finding.rule, finding.article, finding.severity) == ("VM-C2.1.mem", "VM-C2.1", Severity.ERROR)
    assert finding.message == "target cna3 has 3.1 GiB free, the VM needs 8 GiB"


def test_with_overcommit_memory_that_fits_in_total_is_a_warning() -> None:
    cna5 = host("cna5", cluster="prod-b", memory_total=256 * GiB)
    finding = target_memory(128 * GiB, cna5, True, 88 * GiB, 0)
    assert finding is not None and finding.severity is Severity.WARNING and not finding.blocks
    assert "88 GiB free, the VM needs 128 GiB" in finding.message
    assert "overcommit is on in prod-b" in finding.message and "256 GiB" in finding.message


def test_with_overcommit_memory_larger_than_the_host_is_still_an_error() -> None:
    finding = target_memory(300 * GiB, host("cna5", memory_total=256 * GiB), True, 88 * GiB, 0)
    assert finding is not None and finding.blocks


def test_memory_promised_to_migrations_in_flight_is_not_free() -> None:
    finding = target_memory(8 * GiB, host("cna2"), False, 10 * GiB, 4 * GiB)
    assert finding is not None and finding.blocks
    assert "has 6 GiB free (4 GiB of its 10 GiB is promised to migrations in flight)" in finding.message


def test_unknown_free_memory_is_unknown_not_a_pass() -> None:
    finding = target_memory(8 * GiB, host("cna2", memory_free=None), False, None, 0)
    assert finding is not None
    assert finding.status is Status.UNKNOWN and finding.severity is Severity.WARNING and not finding.blocks
    assert "free memory of target cna2 is unknown" in finding.message


def test_memory_finding_carries_the_probe_age() -> None:
    finding = target_memory(8 * GiB, host("cna3"), False, 512 * MiB, 0, age_s=12.0)
    assert finding is not None and finding.age_s == 12.0


# --- VM-C2.1 CPUs -------------------------------------------------------------------------------------------


def test_target_cpus() -> None:
    assert target_cpus(16, host(cpu_count=24)) is None
    too_many = target_cpus(32, host("cna5", cpu_count=24))
    assert too_many is not None and too_many.rule == "VM-C2.1.cpu"
    assert too_many.message == "target cna5 has 24 CPUs, the VM has 32 vCPUs"
    unknown = target_cpus(4, host("cna5", cpu_count=None))
    assert unknown is not None and unknown.status is Status.UNKNOWN


# --- VM-C2.4 ------------------------------------------------------------------------------------------------


def test_overcommit_switch_must_match_across_clusters() -> None:
    off, on = cluster("prod-a"), cluster("prod-b", memory_overcommit=True)
    assert overcommit_match(off, off) is None
    assert overcommit_match(off, cluster("dev")) is None
    finding = overcommit_match(off, on)
    assert finding is not None and finding.rule == "VM-C2.4" and finding.blocks
    assert finding.message == "across clusters: prod-a has memory overcommit off, prod-b has it on"
    assert ("cluster", "prod-b") in finding.objects


# --- VM-C2.5 ------------------------------------------------------------------------------------------------


def test_same_cpu_model_passes() -> None:
    c = cluster()
    assert cpu_compatible(HOST_MODEL, None, host("a"), host("b"), c, c) is None


def test_different_cpu_models_without_imc_fail() -> None:
    dev = cluster("dev")
    src = host("dev1", "dev", cpu_model="Cascadelake-Server")
    dst = host("dev2", "dev", cpu_model="Icelake-Server")
    finding = cpu_compatible(HOST_MODEL, None, src, dst, dev, dev)
    assert finding is not None and finding.rule == "VM-C2.5" and finding.blocks
    assert "Cascadelake-Server" in finding.message and "target dev2 has Icelake-Server" in finding.message
    assert "IMC is off in dev" in finding.message


def test_different_vendors_fail_even_under_one_imc_baseline() -> None:
    imc = cluster("x", cpu_compat_mode="Haswell-noTSX")
    amd = host("dev1", "x", cpu_model="EPYC-Rome", cpu_vendor="AMD")
    finding = cpu_compatible(HOST_MODEL, None, amd, host("dev2", "x"), imc, imc)
    assert (
        finding is not None and "vendors differ" in finding.message and "EPYC-Rome (AMD)" in finding.message
    )


def test_same_imc_baseline_covers_different_models() -> None:
    imc = cluster("prod-b", cpu_compat_mode="Haswell-noTSX")
    src, dst = host("cna4", "prod-b"), host("cna5", "prod-b", cpu_model="Haswell-noTSX")
    assert cpu_compatible(HOST_MODEL, None, src, dst, imc, imc) is None


def test_different_imc_baselines_fail() -> None:
    a, b = cluster("a", cpu_compat_mode="Skylake-Server"), cluster("b", cpu_compat_mode="Haswell-noTSX")
    finding = cpu_compatible(HOST_MODEL, None, host("x", "a"), host("y", "b", cpu_model="Broadwell"), a, b)
    assert finding is not None and "a Skylake-Server, b Haswell-noTSX" in finding.message


def test_host_passthrough_needs_the_same_host_cpu_even_with_imc() -> None:
    imc = cluster("prod-b", cpu_compat_mode="Haswell-noTSX")
    src = host("cna4", "prod-b", cpu_model="Skylake-Server")
    assert cpu_compatible(PASSTHROUGH, None, src, host("cna7", "prod-b"), imc, imc) is None
    finding = cpu_compatible(
        PASSTHROUGH, None, src, host("cna5", "prod-b", cpu_model="Haswell-noTSX"), imc, imc
    )
    assert finding is not None and finding.rule == "VM-C2.5"
    assert "host-passthrough" in finding.message and "target cna5 has Haswell-noTSX" in finding.message
    assert "Skylake-Server CPU" in finding.remedy


def test_custom_model_must_be_the_targets_model_or_its_imc_baseline() -> None:
    plain, imc = cluster("prod-a"), cluster("prod-b", cpu_compat_mode="Haswell-noTSX")
    src = host("cna4", "prod-b")
    assert (
        cpu_compatible(
            CUSTOM, "Haswell-noTSX", src, host("cna5", "prod-b", cpu_model="Skylake-Server"), imc, imc
        )
        is None
    )
    assert (
        cpu_compatible(
            CUSTOM, "Haswell-noTSX", src, host("h", "prod-a", cpu_model="Haswell-noTSX"), imc, plain
        )
        is None
    )
    finding = cpu_compatible(
        CUSTOM, "Haswell-noTSX", src, host("cna1", "prod-a", cpu_model="Cascadelake-Server"), imc, plain
    )
    assert finding is not None
    assert "custom CPU model Haswell-noTSX is not offered by target cna1" in finding.message
    assert "IMC is off in prod-a" in finding.message


def test_unknown_cpu_facts_are_unknown() -> None:
    c = cluster()
    for mode, model in ((HOST_MODEL, None), (PASSTHROUGH, None), (CUSTOM, "Haswell-noTSX")):
        finding = cpu_compatible(mode, model, host("a"), host("b", cpu_model=None, cpu_vendor=None), c, c)
        assert finding is not None and finding.status is Status.UNKNOWN and not finding.blocks, mode
