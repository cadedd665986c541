"""The migrate wizard's steps as widgets. Each shows one choice and posts ``Chosen`` with the answer; the
wizard screen owns the draft and moves between steps. Keyboard first: arrows and enter in lists, tab between
fields, enter to go on; escape (the screen's) goes back."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from hotmig_tui.core.model import Inventory, Vm
from hotmig_tui.core.rules import Candidate, Finding, KindVerdict, Severity
from hotmig_tui.core.run import MigrationKind
from hotmig_tui.core.units import fmt_bytes
from hotmig_tui.tui.findings_view import Palette, badges, findings_table, verdict_line
from hotmig_tui.tui.widgets.inventory_tree import MARK_SYMBOL
from hotmig_tui.tui.wizard_plan import DatastoreChoice

KIND_HELP = {
    MigrationKind.VM: "memory over the network; the disks stay on shared storage (VM-P)",
    MigrationKind.STORAGE: "the disks to another datastore; the VM stays on its host (ST-P)",
    MigrationKind.WHOLE: "VM and disks together, one pause; no shared storage needed (WM-P)",
}
VM_LIST_LIMIT = 200  # a filter narrows 10,000 VMs down; the list shows the first matches


class Chosen(Message):
    """A step's answer: a VM name, a kind, a target, options, or "start"."""

    def __init__(self, value: object) -> None:
        super().__init__()
        self.value = value


class ChoiceList(OptionList):
    """An option list whose enter answers the step."""

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(Chosen(event.option.id))


class VmStep(Vertical):
    """Which VM: type to filter, arrows to pick, enter to go on."""

    def __init__(self, inventory: Inventory, marks: dict[str, str], current: str | None, palette: Palette) -> None:
        super().__init__(id="step-vm")
        self.inventory = inventory
        self.marks = marks  # vm name -> its tree mark ("error", "warning", "unknown"), once computed
        self.current = current
        self.palette = palette

    def compose(self) -> ComposeResult:
        yield Static("Which VM? Type to filter; ↓ to the list, enter to choose.", classes="step-help")
        yield Input(placeholder="filter by name, host or workload", id="vm-filter", compact=True)
        yield ChoiceList(id="vm-list", compact=True)

    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#vm-list", ChoiceList).focus()

    @on(Input.Changed, "#vm-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#vm-filter")
    def _submitted(self) -> None:
        options = self.query_one("#vm-list", ChoiceList)
        if options.option_count:
            options.focus()

    def _fill(self, text: str) -> None:
        needle = text.strip().lower()
        matches = [vm for vm in self.inventory.vms if not needle or needle in _haystack(vm)]
        options = self.query_one("#vm-list", ChoiceList)
        options.clear_options()
        options.add_options(Option(self._row(vm), id=vm.name) for vm in matches[:VM_LIST_LIMIT])
        if len(matches) > VM_LIST_LIMIT:
            more = Text(f"… {len(matches) - VM_LIST_LIMIT} more: narrow the filter", style="dim")
            options.add_option(Option(more, disabled=True))
        names = [vm.name for vm in matches[:VM_LIST_LIMIT]]
        if names:
            options.highlighted = names.index(self.current) if self.current in names else 0

    def _row(self, vm: Vm) -> Text:
        mark = self.marks.get(vm.name)
        symbol = Text(MARK_SYMBOL[mark], style=self.palette.mark(mark)) if mark else Text("")
        return Text.assemble(f"{vm.name:<20} ", (f"{vm.host:<10} {vm.state.value:<8} ", "dim"), symbol)


def _haystack(vm: Vm) -> str:
    return f"{vm.name} {vm.host} {vm.workload or ''}".lower()


class KindStep(Vertical):
    """Which kind: VM live, storage, whole machine, each with its verdict for this VM."""

    def __init__(self, verdicts: list[KindVerdict], current: MigrationKind, palette: Palette) -> None:
        super().__init__(id="step-kind")
        self.verdicts = verdicts
        self.current = current
        self.palette = palette

    def compose(self) -> ComposeResult:
        yield Static("Which kind of migration? The counts are targets no rule rules out.", classes="step-help")
        yield ChoiceList(
            *(Option(Text.assemble(verdict_line(v, self.palette), "\n  ", (KIND_HELP[v.kind], "dim")),
                     id=v.kind.value) for v in self.verdicts),
            id="kind-list",
            compact=True,
        )

    def on_mount(self) -> None:
        options = self.query_one(ChoiceList)
        options.highlighted = [v.kind for v in self.verdicts].index(self.current)
        options.focus()


class RankedStep(Vertical):
    """A ranked list of targets (hosts or datastores), each with its failing constraints inline, and the
    highlighted one's findings in full below."""

    def __init__(self, help_text: str, rows: list[tuple[str, Text, list[Finding], str]], current: str | None,
                 palette: Palette, step_id: str) -> None:
        """rows: (answer, row text, findings worst first, one-line summary for the detail pane)."""
        super().__init__(id=step_id, classes="ranked")
        self.help_text = help_text
        self.rows = rows
        self.current = current
        self.palette = palette

    def compose(self) -> ComposeResult:
        yield Static(self.help_text, classes="step-help")
        yield ChoiceList(*(Option(text, id=answer) for answer, text, _, _ in self.rows), id="target-list",
                         compact=True)
        with VerticalScroll(id="target-detail"):
            yield Static(id="target-findings")

    def on_mount(self) -> None:
        options = self.query_one(ChoiceList)
        answers = [answer for answer, *_ in self.rows]
        if not self.rows:
            self.query_one("#target-findings", Static).update(Text("no target to choose from", style="italic"))
            return
        options.highlighted = answers.index(self.current) if self.current in answers else 0
        options.focus()

    @on(OptionList.OptionHighlighted)
    def _show(self, event: OptionList.OptionHighlighted) -> None:
        _, _, findings, summary = self.rows[event.option_index]
        body: RenderableType = findings_table(findings, self.palette) if findings else Text(
            "no findings: no rule stands in the way", style=self.palette.success)
        self.query_one("#target-findings", Static).update(Group(Text(summary, style="bold"), body))


def target_rows(candidates: list[Candidate], inventory: Inventory,
                palette: Palette) -> list[tuple[str, Text, list[Finding], str]]:
    """A candidate per row: status, target, where it is and the headroom left, then its findings inline."""
    names = [" + ".join(t for t in (c.target_host, c.target_datastore) if t) for c in candidates]
    wheres = [_where(c, inventory) for c in candidates]
    name_width = max(map(len, names), default=0)
    where_width = max(map(len, wheres), default=0)
    rows = []
    for c, name, where in zip(candidates, names, wheres, strict=True):
        findings = c.worst_first()
        head = Text.assemble(_status(c.errors, c.warnings, palette), f" {name:<{name_width}}  ",
                             (f"{where:<{where_width}}  ", "dim"))
        rows.append((_answer(c), head + badges(findings, palette), findings,
                     f"{name} ({where}): {_count(c.errors, c.warnings)}"))
    return rows


def datastore_rows(choices: list[DatastoreChoice], palette: Palette) -> list[tuple[str, Text, list[Finding], str]]:
    name_width = max((len(c.name) for c in choices), default=0)
    rows = []
    for c in choices:
        where = f"{fmt_bytes(c.free)} free" if c.free is not None else "free space unknown"
        head = Text.assemble(_status(c.errors, c.warnings, palette), f" {c.name:<{name_width}}  ",
                             (f"{where:<12}  ", "dim"))
        rows.append((c.name, head + badges(c.findings, palette), c.findings,
                     f"{c.name} ({where}): {_count(c.errors, c.warnings)}"))
    return rows


def _answer(c: Candidate) -> str:
    return f"{c.target_host or ''}|{c.target_datastore or ''}"


def _where(c: Candidate, inventory: Inventory) -> str:
    """The target's cluster (hosts) or type (datastores), and what is left once the VM is there."""
    if c.kind is MigrationKind.STORAGE:
        ds = inventory.datastore(c.target_datastore or "")
        return f"{ds.pool_type if ds else '?'} {_headroom(c.space_after, 'space')}"
    host = inventory.host(c.target_host or "")
    return f"{host.cluster if host else '?'} {_headroom(c.memory_after, 'memory')}"


def _headroom(after: int | None, what: str) -> str:
    if after is None:
        return f"free {what} unknown"
    if after < 0:
        return f"{fmt_bytes(-after)} short"
    return f"{fmt_bytes(after)} left"


def _status(errors: int, warnings: int, palette: Palette) -> Text:
    if errors:
        return Text("✖", style=palette.severity(Severity.ERROR))
    if warnings:
        return Text("▲", style=palette.warning)
    return Text("✔", style=palette.success)


def _count(errors: int, warnings: int) -> str:
    if errors:
        return f"{errors} error{'s block' if errors != 1 else ' blocks'} it"
    if warnings:
        return f"possible after confirming {warnings} warning{'s' if warnings != 1 else ''}"
    return "possible"


class ReviewStep(Vertical):
    """The plan, every finding, the prediction, and the button that starts it (disabled when an error
    blocks, saying which)."""

    def __init__(self, content: RenderableType, verdict: Text, start_label: str, blocked: bool) -> None:
        super().__init__(id="step-review")
        self.content = content
        self.verdict = verdict
        self.start_label = start_label
        self.blocked = blocked

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="review-scroll", can_focus=True):
            yield Static(self.content, id="review")
        yield Static(self.verdict, id="review-verdict")
        with Horizontal(classes="buttons"):
            yield Button(self.start_label, id="start", variant="primary", disabled=self.blocked, compact=True)
            yield Button("Back (esc)", id="back", compact=True)

    def on_mount(self) -> None:
        # Enter on the review starts (after the warnings' own confirmation, whose default is No); a blocked
        # plan leaves the focus on the findings, where the arrows scroll them.
        self.query_one("#review-scroll" if self.blocked else "#start").focus()

    @on(Button.Pressed, "#start")
    def _start(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(Chosen("start"))

