"""VM-C1 (running, no passthrough), VM-D (another host), VM-T (predicted convergence)."""

from __future__ import annotations

from dataclasses import replace

from hotmig_tui.core.model import PassthroughDevice, PassthroughKind, Vm, VmState
from hotmig_tui.core.rules import Severity, Status
from hotmig_tui.core.rules.vm_rules import convergence, passthrough, placement, running
from hotmig_tui.core.units import GiB
from tests.core.rules.helpers import Verdict

WEB = Vm("web-01", "cna1", VmState.RUNNING, 2, 4 * GiB)


def test_running_vm_passes_and_paused_counts_as_running() -> None:
    assert running(WEB) is None
    assert running(replace(WEB, state=VmState.PAUSED)) is None


def test_stopped_or_crashed_vm_fails_vm_c1() -> None:
    for state in (VmState.STOPPED, VmState.CRASHED):
        finding = running(replace(WEB, state=state))
        assert finding is not None
        assert (finding.rule, finding.article, finding.severity, finding.status) == (
            "VM-C1.run",
            "VM-C1",
            Severity.ERROR,
            Status.FAILED,
        )
        assert f"web-01 is {state.value}" in finding.message
        assert finding.blocks


def test_passthrough_devices_are_named() -> None:
    assert passthrough(WEB) is None
    gpu = PassthroughDevice(PassthroughKind.GPU, "0000:3b:00.0", "NVIDIA Tesla T4")
    usb = PassthroughDevice(PassthroughKind.USB, "bus 1 device 4")
    finding = passthrough(replace(WEB, passthrough=(gpu, usb)))
    assert finding is not None and finding.rule == "VM-C1.dev" and finding.article == "VM-C1"
    assert "GPU 0000:3b:00.0 (NVIDIA Tesla T4)" in finding.message
    assert "USB bus 1 device 4" in finding.message
    assert "detach" in finding.remedy


def test_placement_needs_another_host_and_a_current_source() -> None:
    assert placement(WEB, "cna1", "cna2") == []
    same = placement(WEB, "cna1", "cna1")
    assert [f.rule for f in same] == ["VM-D"] and "already runs on cna1" in same[0].message
    stale = placement(WEB, "cna3", "cna2")
    assert [f.rule for f in stale] == ["VM-D"] and "now runs on cna1" in stale[0].message


def test_convergence_is_unknown_without_a_prediction() -> None:
    finding = convergence(WEB, None)
    assert finding is not None
    assert (finding.rule, finding.status, finding.severity) == ("VM-T", Status.UNKNOWN, Severity.INFO)
    assert not finding.blocks


def test_convergence_passes_when_predicted_to_converge() -> None:
    assert convergence(WEB, Verdict(True, "converges in 4 iterations")) is None


def test_non_convergence_is_a_warning_with_the_articles_remedies() -> None:
    finding = convergence(WEB, Verdict(False, "dirties 320 MiB/s over a 119 MiB/s link"))
    assert finding is not None
    assert (finding.rule, finding.status, finding.severity) == ("VM-T", Status.FAILED, Severity.WARNING)
    assert "320 MiB/s" in finding.message and "web-01" in finding.message
    assert "quieter" in finding.remedy and "migration network" in finding.remedy
    assert "post-copy" in finding.remedy


def test_an_unsure_prediction_is_unknown() -> None:
    finding = convergence(WEB, Verdict(None, "link speed unknown"))
    assert finding is not None and finding.status is Status.UNKNOWN
    assert "link speed unknown" in finding.message
