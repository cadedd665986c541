"""The wizard's options step: max downtime, bandwidth, timeout and its action, auto-converge, post-copy,
removing the source images; with the predictor's verdict for the options as typed, so the operator sees
before the review whether they make it converge."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from hotmig_tui.core.predict import Prediction
from hotmig_tui.core.rules import Severity
from hotmig_tui.core.run import MigrationKind, MigrationOptions, TimeoutAction
from hotmig_tui.core.units import MiB
from hotmig_tui.tui.findings_view import Palette, prediction_summary
from hotmig_tui.tui.wizard_steps import Chosen

ACTION_HELP = {
    TimeoutAction.ABORT: "abort (the VM stays on its source)",
    TimeoutAction.PAUSE: "pause the guest to complete",
    TimeoutAction.POSTCOPY: "switch to post-copy",
}


class OptionsError(ValueError):
    """A field the operator must correct; the message names it."""


@dataclass(frozen=True)
class OptionsForm:
    """The fields as typed."""

    max_downtime_ms: str = ""
    bandwidth_mib_s: str = ""
    timeout_s: str = ""
    timeout_action: TimeoutAction = TimeoutAction.ABORT
    auto_converge: bool = False
    postcopy: bool = False
    remove_source: bool = False

    @classmethod
    def of(cls, options: MigrationOptions) -> OptionsForm:
        return cls(
            _text(options.max_downtime * 1000 if options.max_downtime is not None else None),
            _text(options.bandwidth / MiB if options.bandwidth is not None else None),
            _text(options.timeout),
            options.timeout_action,
            options.auto_converge,
            options.postcopy,
            options.remove_source,
        )

    def parse(self, base: MigrationOptions) -> MigrationOptions:
        """The options, or OptionsError naming the field; the same rules as `hotmig migrate`'s flags."""
        max_downtime = _positive(self.max_downtime_ms, "max downtime")
        bandwidth = _positive(self.bandwidth_mib_s, "bandwidth")
        timeout = _positive(self.timeout_s, "timeout")
        if self.timeout_action is not TimeoutAction.ABORT and timeout is None:
            raise OptionsError(f"the timeout action '{self.timeout_action.value}' needs a timeout")
        if self.timeout_action is TimeoutAction.POSTCOPY and not self.postcopy:
            raise OptionsError("switching to post-copy at the timeout needs post-copy allowed from the start")
        return replace(
            base,
            max_downtime=max_downtime / 1000 if max_downtime is not None else None,
            bandwidth=bandwidth * MiB if bandwidth is not None else None,
            timeout=timeout,
            timeout_action=self.timeout_action,
            auto_converge=self.auto_converge,
            postcopy=self.postcopy,
            remove_source=self.remove_source,
        )


def _text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _positive(text: str, field: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise OptionsError(f"{field}: expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:  # float() takes "nan" and "inf" too
        raise OptionsError(f"{field}: must be a number above 0, got {text!r}")
    return value


class OptionsStep(Vertical):
    def __init__(self, options: MigrationOptions, kind: MigrationKind,
                 predict: Callable[[MigrationOptions], Prediction], palette: Palette) -> None:
        super().__init__(id="step-options")
        self.options = options
        self.kind = kind
        self.predict = predict
        self.palette = palette

    def compose(self) -> ComposeResult:
        form = OptionsForm.of(self.options)
        memory = self.kind is not MigrationKind.STORAGE  # a disk mirror has no memory rounds to tune
        actions = list(TimeoutAction) if memory else [TimeoutAction.ABORT]
        yield Static("Options: empty fields keep the hypervisor's defaults. Tab between fields, enter to review.",
                     classes="step-help")
        with Grid(id="options-grid"):
            if memory:
                yield Label("max downtime (ms)")
                yield Input(form.max_downtime_ms, placeholder="300 (QEMU's default)", id="max-downtime",
                            compact=True)
            yield Label("bandwidth (MiB/s)")
            yield Input(form.bandwidth_mib_s, placeholder="unlimited", id="bandwidth", compact=True)
            yield Label("timeout (s)")
            yield Input(form.timeout_s, placeholder="none", id="timeout", compact=True)
            yield Label("at the timeout")
            yield Select([(ACTION_HELP[a], a) for a in actions],
                         value=form.timeout_action if form.timeout_action in actions else TimeoutAction.ABORT,
                         allow_blank=False, id="timeout-action", compact=True)
            if memory:
                yield Label("auto-converge")
                yield Checkbox("allow throttling the vCPUs", form.auto_converge, id="auto-converge", compact=True)
                yield Label("post-copy")
                yield Checkbox("allow switching to post-copy", form.postcopy, id="postcopy", compact=True)
            if self.kind is not MigrationKind.VM:
                yield Label("source images")
                yield Checkbox("remove them after the switch", form.remove_source, id="remove-source",
                               compact=True)
        yield Static(id="options-problem")
        yield Static(id="options-prediction")
        with Horizontal(classes="buttons"):
            yield Button("Review", id="next", variant="primary", compact=True)
            yield Button("Back (esc)", id="back", compact=True)

    def on_mount(self) -> None:
        self.query(Input).first().focus()
        self._update()

    def form(self) -> OptionsForm:
        """The fields as typed; those this kind does not show keep their defaults."""
        return OptionsForm(
            self._field("#max-downtime", Input, ""),
            self._field("#bandwidth", Input, ""),
            self._field("#timeout", Input, ""),
            self._field("#timeout-action", Select, TimeoutAction.ABORT),
            self._field("#auto-converge", Checkbox, False),
            self._field("#postcopy", Checkbox, False),
            self._field("#remove-source", Checkbox, False),
        )

    def _field(self, selector: str, kind: type[Input | Select[TimeoutAction] | Checkbox], default: Any) -> Any:
        found = self.query(selector)
        return found.first(kind).value if found else default

    @on(Input.Changed)
    @on(Checkbox.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self._update()

    def _update(self) -> MigrationOptions | None:
        """Check the fields and predict with them; None while a field is wrong."""
        problem = self.query_one("#options-problem", Static)
        predicted = self.query_one("#options-prediction", Static)
        try:
            options = self.form().parse(self.options)
        except OptionsError as exc:
            problem.update(Text(f"✖ {exc}", style=self.palette.severity(Severity.ERROR)))
            predicted.update(Text("prediction: once the options are right", style="dim"))  # never a stale one
            return None
        problem.update("")
        prediction = self.predict(options)
        predicted.update(Text.assemble(("prediction: ", "bold"), prediction_summary(prediction, self.palette)))
        return options

    @on(Input.Submitted)
    @on(Button.Pressed, "#next")
    def _next(self, event: Input.Submitted | Button.Pressed) -> None:
        event.stop()
        options = self._update()
        if options is not None:
            self.post_message(Chosen(options))
