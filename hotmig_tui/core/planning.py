"""What the rules and the predictor need to judge one planned migration (the CLI and the dashboard alike).

The predictor's verdict feeds the VM-T rule; probe facts (reachability, disk visibility) come from the ssh
layer when it is configured, and without them those rules say "unknown". Migrations running or queued hold
concurrency budget, memory and space (CC.* rules).
"""

from __future__ import annotations

from hotmig_tui.core.model import Inventory, Vm
from hotmig_tui.core.predict import LinkFacts, Prediction, predict
from hotmig_tui.core.rules import CheckContext
from hotmig_tui.core.run import MigrationKind, MigrationOptions, MigrationPlan


def prediction_for(
    inventory: Inventory,
    vm: Vm,
    kind: MigrationKind,
    options: MigrationOptions | None = None,
    destination: str | None = None,
    disks: tuple[str, ...] = (),
) -> Prediction:
    """The predictor's answer, over the link of the destination's cluster (the source's while no target is
    chosen: inside a cluster they are the same network)."""
    link = LinkFacts.of(inventory.cluster_of(destination or vm.host))
    return predict(vm, kind, link, options, disks=disks)


def plan_context(
    inventory: Inventory,
    vm: Vm,
    kind: MigrationKind,
    options: MigrationOptions | None = None,
    destination: str | None = None,
    in_flight: tuple[MigrationPlan, ...] = (),
    prediction: Prediction | None = None,
) -> CheckContext:
    """``prediction``: one already made for this plan (else it is made here)."""
    predictions = {}
    if kind is not MigrationKind.STORAGE:  # VM-T is about memory pre-copy
        predictions[vm.name] = prediction or prediction_for(inventory, vm, kind, options, destination)
    return CheckContext(predictions=predictions, in_flight=in_flight)


def context_for_plan(inventory: Inventory, plan: MigrationPlan,
                     in_flight: tuple[MigrationPlan, ...] = ()) -> CheckContext:
    vm = inventory.vm(plan.vm)
    if vm is None:
        return CheckContext(in_flight=in_flight)  # check() reports the unknown VM itself
    return plan_context(inventory, vm, plan.kind, plan.options, plan.destination, in_flight)
