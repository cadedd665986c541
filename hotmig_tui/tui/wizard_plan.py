"""The migrate wizard's model, free of widgets: the draft the steps fill in, and what the rules and the
predictor say about it at each step (kind verdicts, ranked targets, the review's findings and prediction)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum

from hotmig_tui.core.model import Inventory, Vm
from hotmig_tui.core.planning import plan_context, prediction_for
from hotmig_tui.core.predict import Prediction
from hotmig_tui.core.rules import (
    Candidate,
    CheckContext,
    CheckIndex,
    Finding,
    KindVerdict,
    Severity,
    candidates,
    check,
)
from hotmig_tui.core.rules.verdicts import verdict
from hotmig_tui.core.run import MigrationKind, MigrationOptions, MigrationPlan


class Step(IntEnum):
    VM = 0
    KIND = 1
    TARGET = 2
    DATASTORE = 3  # whole machine only: which of the chosen host's datastores takes the disks
    OPTIONS = 4
    REVIEW = 5

    @property
    def title(self) -> str:
        return STEP_TITLES[self]


STEP_TITLES = {
    Step.VM: "VM",
    Step.KIND: "kind",
    Step.TARGET: "target",
    Step.DATASTORE: "datastore",
    Step.OPTIONS: "options",
    Step.REVIEW: "review",
}


@dataclass(frozen=True)
class Draft:
    """What the operator has chosen so far; each step fills in one part."""

    vm: str | None = None
    kind: MigrationKind = MigrationKind.VM
    target_host: str | None = None
    target_datastore: str | None = None
    options: MigrationOptions = field(default_factory=MigrationOptions)

    def steps(self) -> list[Step]:
        """The steps this draft goes through (the datastore step only for a whole-machine migration)."""
        return [s for s in Step if s is not Step.DATASTORE or self.kind is MigrationKind.WHOLE]

    def with_kind(self, kind: MigrationKind) -> Draft:
        same = kind is self.kind
        return replace(self, kind=kind, target_host=self.target_host if same else None,
                       target_datastore=self.target_datastore if same else None)

    def plan(self, inventory: Inventory) -> MigrationPlan | None:
        vm = inventory.vm(self.vm) if self.vm else None
        if vm is None:
            return None
        host = None if self.kind is MigrationKind.STORAGE else self.target_host
        datastore = None if self.kind is MigrationKind.VM else self.target_datastore
        return MigrationPlan(vm.name, self.kind, vm.host, host, datastore, options=self.options)


def kind_verdicts(inventory: Inventory, vm: Vm, in_flight: tuple[MigrationPlan, ...]) -> list[KindVerdict]:
    """One verdict per kind for one VM (check_inventory would judge every VM of the inventory)."""
    index = CheckIndex.of(inventory, CheckContext(in_flight=in_flight))
    return list(verdict(index, vm).kinds.values())


def ranked_targets(
    inventory: Inventory, vm: Vm, draft: Draft, in_flight: tuple[MigrationPlan, ...]
) -> list[Candidate]:
    context = plan_context(inventory, vm, draft.kind, draft.options, None, in_flight)
    return candidates(vm, draft.kind, inventory, context)


@dataclass(frozen=True)
class DatastoreChoice:
    name: str
    findings: list[Finding]
    errors: int
    warnings: int
    free: int | None


def ranked_datastores(
    inventory: Inventory, vm: Vm, draft: Draft, in_flight: tuple[MigrationPlan, ...]
) -> list[DatastoreChoice]:
    """Every datastore the chosen host mounts, judged as the whole machine's target, best first."""
    host = draft.target_host or vm.host
    context = plan_context(inventory, vm, draft.kind, draft.options, host, in_flight)
    choices = []
    for ds in inventory.datastores_of(host):
        plan = MigrationPlan(vm.name, draft.kind, vm.host, host, ds.name, options=draft.options)
        findings = check(plan, inventory, context)
        errors = sum(f.blocks for f in findings)
        warnings = sum(f.severity is Severity.WARNING for f in findings)
        choices.append(DatastoreChoice(ds.name, findings, errors, warnings, ds.free))
    return sorted(choices, key=lambda c: (c.errors, c.warnings, -(c.free or 0)))


@dataclass(frozen=True)
class Review:
    plan: MigrationPlan
    findings: list[Finding]  # worst first
    prediction: Prediction

    @property
    def blockers(self) -> list[Finding]:
        return [f for f in self.findings if f.blocks]

    @property
    def warnings(self) -> list[Finding]:
        """What the operator must confirm: failed warnings and unchecked error rules (both warnings)."""
        return [f for f in self.findings if f.severity is Severity.WARNING]


def review(inventory: Inventory, plan: MigrationPlan, in_flight: tuple[MigrationPlan, ...]) -> Review | None:
    vm = inventory.vm(plan.vm)
    if vm is None:
        return None
    prediction = prediction_for(inventory, vm, plan.kind, plan.options, plan.destination, plan.disks)
    context = plan_context(inventory, vm, plan.kind, plan.options, plan.destination, in_flight, prediction)
    return Review(plan, check(plan, inventory, context), prediction)
