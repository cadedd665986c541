"""The guided migration (DESIGN.md §8): VM → kind → target (ranked, each with its failing constraints) →
options → review (every finding and the prediction) → confirm. Nothing starts without an explicit confirm:
errors disable the start button, warnings ask a second time. Escape goes back a step, or cancels.

The screen owns only the draft; facts are read from the backend's latest snapshot at every step, and the
plan is checked again the moment it is confirmed. It returns the confirmed plan; ``open_wizard`` hands it
to ``app.start_migration``, which submits it to the engine and opens the monitor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Footer, Static

from hotmig_tui.core.model import Inventory, Vm
from hotmig_tui.core.planning import prediction_for
from hotmig_tui.core.predict import Prediction
from hotmig_tui.core.run import MigrationKind, MigrationOptions, MigrationPlan
from hotmig_tui.tui.findings_view import KIND_LABEL, Palette
from hotmig_tui.tui.screens.dialogs import Confirm
from hotmig_tui.tui.wizard_options import OptionsStep
from hotmig_tui.tui.wizard_plan import (
    Draft,
    Step,
    kind_verdicts,
    ranked_datastores,
    ranked_targets,
    review,
)
from hotmig_tui.tui.wizard_review import review_content, start_button, verdict_text, warnings_question
from hotmig_tui.tui.wizard_steps import (
    Chosen,
    KindStep,
    RankedStep,
    ReviewStep,
    VmStep,
    datastore_rows,
    target_rows,
)

if TYPE_CHECKING:
    from hotmig_tui.tui.app import HotmigApp


def open_wizard(app: App[object], vm: str | None = None, highlight: str | None = None,
                marks: dict[str, str] | None = None) -> None:
    """Open the wizard (at the kind step when ``vm`` is given, else at the VM step with ``highlight``
    under the cursor); a confirmed plan is started and its monitor opened."""

    def confirmed(plan: MigrationPlan | None) -> None:
        if plan is None:
            return
        try:
            cast("HotmigApp", app).start_migration(plan)
        except ValueError as exc:  # the engine refuses a second run of one VM (CC.vm said so already)
            app.notify(str(exc), title="not started", severity="error", timeout=10)

    app.push_screen(MigrateWizard(vm, highlight, marks or {}), callback=confirmed)


class MigrateWizard(Screen[MigrationPlan | None]):
    BINDINGS = [Binding("escape", "back", "Back / cancel")]
    DEFAULT_CSS = """
    MigrateWizard #wizard-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    MigrateWizard #wizard-steps { height: 1; padding: 0 1; }
    MigrateWizard #wizard-body { height: 1fr; padding: 0 1; }
    MigrateWizard #wizard-body > Vertical { height: 1fr; }
    MigrateWizard .step-help { height: auto; color: $text-muted; }
    MigrateWizard #vm-filter { margin: 1 0; }
    MigrateWizard OptionList { height: 1fr; }
    MigrateWizard #target-detail { height: 1fr; border-top: solid $panel; }
    MigrateWizard #options-grid { grid-size: 2; grid-columns: 20 1fr; grid-rows: 1; grid-gutter: 0 1;
                                  height: auto; margin: 1 0; }
    MigrateWizard #options-problem, MigrateWizard #options-prediction { height: auto; }
    MigrateWizard #review-scroll { height: 1fr; }
    MigrateWizard #review-verdict { height: auto; margin-top: 1; }
    MigrateWizard .buttons { height: 1; margin-top: 1; }
    MigrateWizard .buttons Button { margin-right: 2; }
    """

    def __init__(self, vm: str | None = None, highlight: str | None = None,
                 marks: dict[str, str] | None = None) -> None:
        super().__init__()
        self.draft = Draft(vm=vm)
        self.step = Step.KIND if vm else Step.VM
        self.first = self.step  # escape here cancels the wizard
        self.highlight = highlight
        self.marks = marks or {}

    def compose(self) -> ComposeResult:
        yield Static(id="wizard-title")
        yield Static(id="wizard-steps")
        yield Vertical(id="wizard-body")
        yield Footer()

    async def on_mount(self) -> None:
        await self._show()

    # --- facts, read fresh at every step --------------------------------------------------------------
    @property
    def hotmig(self) -> HotmigApp:
        return cast("HotmigApp", self.app)

    @property
    def inventory(self) -> Inventory:
        return self.hotmig.backend.snapshot()

    def in_flight(self) -> tuple[MigrationPlan, ...]:
        return tuple(h.plan for h in self.hotmig.engine.active)

    @property
    def palette(self) -> Palette:
        return Palette.of(self.app.theme_variables)

    # --- showing a step -------------------------------------------------------------------------------
    async def _show(self) -> None:
        inventory = self.inventory
        vm = inventory.vm(self.draft.vm) if self.draft.vm else None
        if self.step is not Step.VM and vm is None:
            self.notify(f"VM {self.draft.vm} is no longer in the inventory", severity="warning")
            self.step = self.first = Step.VM
        self._update_title(vm)
        body = self.query_one("#wizard-body")
        await body.remove_children()
        await body.mount(self._build(inventory, vm))

    def _update_title(self, vm: Vm | None) -> None:
        title = f"Migrate {vm.name} (on {vm.host})" if vm else "Migrate a VM"
        if self.step > Step.KIND:
            title += f" · {KIND_LABEL[self.draft.kind]}"
        self.query_one("#wizard-title", Static).update(title)
        steps = Text()
        for i, step in enumerate(self.draft.steps()):
            if i:
                steps.append(" › ", style="dim")
            style = "reverse bold" if step is self.step else ("" if step < self.step else "dim")
            steps.append(f" {i + 1} {step.title} ", style=style)
        self.query_one("#wizard-steps", Static).update(steps)

    def _build(self, inventory: Inventory, vm: Vm | None) -> Widget:
        draft, palette = self.draft, self.palette
        if self.step is Step.VM or vm is None:
            return VmStep(inventory, self.marks, draft.vm or self.highlight, palette)
        if self.step is Step.KIND:
            return KindStep(kind_verdicts(inventory, vm, self.in_flight()), draft.kind, palette)
        if self.step is Step.TARGET:
            rows = target_rows(ranked_targets(inventory, vm, draft, self.in_flight()), inventory, palette)
            unit = "datastores" if draft.kind is MigrationKind.STORAGE else "hosts"
            help_text = (f"Target {unit} for the {KIND_LABEL[draft.kind]} migration, best first: ✔ possible, "
                         "▲ warnings to confirm, ✖ blocked, ? not checked. Enter chooses.")
            current = f"{draft.target_host or ''}|{draft.target_datastore or ''}"
            return RankedStep(help_text, rows, current, palette, "step-target")
        if self.step is Step.DATASTORE:
            rows = datastore_rows(ranked_datastores(inventory, vm, draft, self.in_flight()), palette)
            help_text = f"Which of {draft.target_host}'s datastores takes the disks? Best first; enter chooses."
            return RankedStep(help_text, rows, draft.target_datastore, palette, "step-datastore")
        if self.step is Step.OPTIONS:
            return OptionsStep(draft.options, draft.kind, self._predictor(inventory, vm), palette)
        plan = draft.plan(inventory)
        checked = review(inventory, plan, self.in_flight()) if plan else None
        assert checked is not None  # the VM exists: checked above
        label, blocked = start_button(checked)
        return ReviewStep(review_content(checked, inventory, palette), verdict_text(checked, palette), label, blocked)

    def _predictor(self, inventory: Inventory, vm: Vm) -> Callable[[MigrationOptions], Prediction]:
        """The options step predicts as the operator types (~1 ms a prediction)."""
        kind, destination = self.draft.kind, self.draft.target_host
        return lambda options: prediction_for(inventory, vm, kind, options, destination)

    # --- answers --------------------------------------------------------------------------------------
    @on(Chosen)
    async def _chosen(self, message: Chosen) -> None:
        message.stop()
        value = message.value
        draft = self.draft
        if self.step is Step.VM:
            self.draft = Draft(vm=str(value))
        elif self.step is Step.KIND:
            self.draft = draft.with_kind(MigrationKind(str(value)))
        elif self.step is Step.TARGET:
            host, datastore = str(value).split("|")
            self.draft = replace(draft, target_host=host or None, target_datastore=datastore or None)
        elif self.step is Step.DATASTORE:
            self.draft = replace(draft, target_datastore=str(value))
        elif self.step is Step.OPTIONS:
            assert isinstance(value, MigrationOptions)
            self.draft = replace(draft, options=value)
        elif self.step is Step.REVIEW and value == "start":
            await self._start()
            return
        steps = self.draft.steps()
        self.step = steps[steps.index(self.step) + 1]
        await self._show()

    async def action_back(self) -> None:
        if self.step is self.first:
            self.dismiss(None)
            return
        steps = self.draft.steps()
        self.step = steps[steps.index(self.step) - 1]
        await self._show()

    @on(Button.Pressed, "#back")
    async def _back_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        await self.action_back()

    # --- confirm --------------------------------------------------------------------------------------
    async def _start(self) -> None:
        """Check again with the facts of this moment; errors stop here, warnings ask a second time."""
        inventory = self.inventory
        plan = self.draft.plan(inventory)
        fresh = review(inventory, plan, self.in_flight()) if plan else None
        if fresh is None or fresh.blockers:
            self.notify("the facts changed: this migration is now blocked", severity="error", timeout=8)
            await self._show()
            return
        if not fresh.warnings:
            self.dismiss(fresh.plan)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(fresh.plan)

        self.app.push_screen(Confirm(warnings_question(fresh), yes="Start anyway"), callback=answered)
