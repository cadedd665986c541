"""Rules about the VM itself, whatever the target: VM-C1 (running, no passthrough devices), VM-D (it moves to
another host), VM-T (predicted convergence)."""

from __future__ import annotations

from hotmig_tui.core.model import Vm
from hotmig_tui.core.rules import catalog
from hotmig_tui.core.rules.facts import ConvergenceVerdict
from hotmig_tui.core.rules.findings import Finding


def running(vm: Vm) -> Finding | None:
    if vm.running:
        return None
    return catalog.RUNNING.failed(
        f"{vm.name} is {vm.state.value}: only a running VM can be migrated live", (("vm", vm.name),)
    )


def passthrough(vm: Vm) -> Finding | None:
    if not vm.passthrough:
        return None
    devices = ", ".join(
        f"{d.kind.value.upper()} {d.address}" + (f" ({d.description})" if d.description else "")
        for d in vm.passthrough
    )
    return catalog.PASSTHROUGH.failed(
        f"{vm.name} has passthrough devices attached: {devices}", (("vm", vm.name),)
    )


def placement(vm: Vm, planned_source: str, target_host: str) -> list[Finding]:
    findings = []
    if planned_source != vm.host:
        findings.append(
            catalog.PLACEMENT.failed(
                f"the plan moves {vm.name} from {planned_source}, but it now runs on {vm.host}",
                (("vm", vm.name), ("host", vm.host)),
                remedy="plan the migration again from the VM's current host",
            )
        )
    if target_host == vm.host:
        findings.append(
            catalog.PLACEMENT.failed(
                f"{vm.name} already runs on {target_host}", (("vm", vm.name), ("host", target_host))
            )
        )
    return findings


def convergence(vm: Vm, verdict: ConvergenceVerdict | None) -> Finding | None:
    if verdict is None:
        return catalog.CONVERGENCE.unknown(
            f"no prediction for {vm.name} yet: whether pre-copy converges is unknown",
            (("vm", vm.name),),
            remedy="run the prediction (it measures the VM's dirty rate first)",
        )
    if verdict.converges is None:
        return catalog.CONVERGENCE.unknown(
            f"the prediction for {vm.name} cannot tell whether pre-copy converges: {verdict.reason}",
            (("vm", vm.name),),
        )
    if verdict.converges:
        return None
    return catalog.CONVERGENCE.failed(
        f"{vm.name} is predicted not to converge: {verdict.reason}", (("vm", vm.name),)
    )
