"""The guided migration, keyboard only at 80x24 (Pilot): VM → kind → target → options → review → confirm;
errors block the confirm, warnings ask a second time, escape goes back, and a confirmed plan reaches the
engine and opens the monitor."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, Input, OptionList, Select

from hotmig_tui.core.run import MigrationKind, MigrationOptions, MigrationPlan, TimeoutAction
from hotmig_tui.core.units import MiB
from hotmig_tui.tui.app import HotmigApp
from hotmig_tui.tui.refs import Ref
from hotmig_tui.tui.screens.dialogs import Confirm
from hotmig_tui.tui.screens.inventory import InventoryScreen
from hotmig_tui.tui.screens.monitor import MonitorScreen
from hotmig_tui.tui.screens.wizard import MigrateWizard
from hotmig_tui.tui.wizard_plan import Step

from .conftest import demo_app
from .test_marks import plain, wait_for_checks


async def open_wizard_on(pilot: Pilot[object], vm: str) -> MigrateWizard:
    screen = await wait_for_checks(pilot)
    assert screen.tree.select_ref(Ref("vm", vm))
    await pilot.pause()
    await pilot.press("m")
    await pilot.pause()
    wizard = pilot.app.screen
    assert isinstance(wizard, MigrateWizard) and wizard.step is Step.KIND
    return wizard


async def step(pilot: Pilot[object], *keys: str) -> MigrateWizard:
    await pilot.press(*keys)
    await pilot.pause()
    wizard = pilot.app.screen
    assert isinstance(wizard, MigrateWizard | Confirm | MonitorScreen | InventoryScreen)
    return wizard  # type: ignore[return-value]


def option_texts(wizard: MigrateWizard, selector: str) -> list[str]:
    options = wizard.query_one(selector, OptionList)
    return [plain(options.get_option_at_index(i).prompt, 200) for i in range(options.option_count)]


def start_button(wizard: MigrateWizard) -> Button:
    return wizard.query_one("#start", Button)


async def test_walk_a_quiet_vm_to_a_running_migration() -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        wizard = await open_wizard_on(pilot, "web-01")
        kinds = option_texts(wizard, "#kind-list")
        assert kinds[0].startswith("VM live: 1 of 7 hosts possible")
        assert "storage: 1 of 9 datastores possible" in kinds[1] and "whole machine: 2 of 7" in kinds[2]

        wizard = await step(pilot, "enter")  # VM live
        assert wizard.step is Step.TARGET
        rows = option_texts(wizard, "#target-list")
        assert rows[0].startswith("▲ cna2") and "? VM-C4" in rows[0]  # the only possible host ranks first
        assert "✖" not in rows[0]
        assert any(r.startswith("✖ cna6") and "✖ VM-C2.3" in r for r in rows)
        assert any(r.startswith("✖ cna3") and "✖ VM-C2.1.mem" in r for r in rows)
        assert "possible after confirming 1 warning" in plain(wizard.query_one("#target-findings").content)

        wizard = await step(pilot, "enter")  # cna2
        assert wizard.step is Step.OPTIONS and wizard.draft.target_host == "cna2"
        assert wizard.query_one("#max-downtime", Input).has_focus
        assert "prediction: ✔ converges" in plain(wizard.query_one("#options-prediction").content)

        wizard = await step(pilot, "enter")  # defaults
        assert wizard.step is Step.REVIEW
        review = plain(wizard.query_one("#review").content)
        assert "cna1 → cna2" in review and "? VM-C4" in review and "converges in 3 iterations" in review
        for fact in ("iterations", "total time", "downtime", "bytes sent"):
            assert fact in review
        assert not start_button(wizard).disabled
        assert str(start_button(wizard).label).startswith("Start (1 warning to confirm)")

        assert not app.engine.runs  # nothing starts without the explicit confirm
        confirm = await step(pilot, "enter")  # the focus waits on Start
        assert isinstance(confirm, Confirm) and "VM-C4" in confirm.question
        assert not app.engine.runs

        monitor = await step(pilot, "y")
        assert isinstance(monitor, MonitorScreen)
        assert len(app.engine.runs) == 1
        handle = next(iter(app.engine.runs.values()))
        assert handle.plan == MigrationPlan("web-01", MigrationKind.VM, "cna1", "cna2")
        assert not any(isinstance(s, MigrateWizard) for s in app.screen_stack)


async def test_errors_disable_the_confirm_and_say_why() -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard_on(pilot, "gpu-render-01")
        assert "VM live: ✖ none of 7 hosts — VM-C1.dev rules out 7 hosts" in option_texts(
            app.screen, "#kind-list")[0]
        wizard = await step(pilot, "enter")
        assert all(r.startswith("✖") and "✖ VM-C1.dev" in r for r in option_texts(wizard, "#target-list"))
        wizard = await step(pilot, "enter", "enter")
        assert wizard.step is Step.REVIEW
        button = start_button(wizard)
        assert button.disabled and str(button.label) == "Blocked by VM-C1.dev"
        assert "1 error blocks this migration" in plain(wizard.query_one("#review-verdict").content)
        wizard = await step(pilot, "tab", "enter", "tab", "enter")
        assert wizard.step is Step.REVIEW and not app.engine.runs


async def test_warnings_need_a_second_confirm() -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard_on(pilot, "olap-01")  # dirties faster than its 1 Gbit/s network carries
        wizard = await step(pilot, "enter")
        rows = option_texts(wizard, "#target-list")
        assert rows[0].startswith("▲ cna4") and "▲ VM-T" in rows[0]
        wizard = await step(pilot, "enter")
        assert "does not converge" in plain(wizard.query_one("#options-prediction").content)
        wizard = await step(pilot, "enter")
        assert "▲ VM-T" in plain(wizard.query_one("#review").content)
        assert "2 warnings" in plain(wizard.query_one("#review-verdict").content)

        confirm = await step(pilot, "enter")
        assert isinstance(confirm, Confirm)
        assert "VM-T: olap-01 is predicted not to converge" in confirm.question and "VM-C4" in confirm.question
        wizard = await step(pilot, "n")  # no: back on the review, nothing started
        assert isinstance(wizard, MigrateWizard) and wizard.step is Step.REVIEW and not app.engine.runs

        confirm = await step(pilot, "enter")  # the focus is back on the start button
        assert isinstance(confirm, Confirm)
        await step(pilot, "y")
        assert [h.plan.vm for h in app.engine.runs.values()] == ["olap-01"]
        assert isinstance(app.screen, MonitorScreen)


async def test_escape_goes_back_a_step_then_cancels() -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard_on(pilot, "web-01")
        wizard = await step(pilot, "down", "enter")  # storage
        assert wizard.step is Step.TARGET and wizard.draft.kind is MigrationKind.STORAGE
        wizard = await step(pilot, "enter")
        assert wizard.step is Step.OPTIONS and wizard.query("#remove-source")  # storage may remove sources
        assert not wizard.query("#max-downtime") and not wizard.query("#postcopy")  # a mirror has no memory
        assert wizard.query_one("#bandwidth", Input).has_focus
        wizard = await step(pilot, "escape")
        assert wizard.step is Step.TARGET
        wizard = await step(pilot, "escape")
        assert wizard.step is Step.KIND
        assert wizard.query_one("#kind-list", OptionList).highlighted == 1  # the kind chosen before
        screen = await step(pilot, "escape")
        assert isinstance(screen, InventoryScreen) and not app.engine.runs


async def test_command_palette_starts_at_the_vm_step() -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_checks(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Migrate VM")
        await pilot.pause(0.3)
        wizard = await step(pilot, "enter")
        assert isinstance(wizard, MigrateWizard) and wizard.step is Step.VM
        rows = option_texts(wizard, "#vm-list")
        assert len(rows) == 36 and any(r.startswith("gpu-render-01") and r.rstrip().endswith("✖") for r in rows)
        await pilot.press("shift+tab")  # from the list up to the filter
        await pilot.press(*"olap")
        await pilot.pause()
        assert [r.split()[0] for r in option_texts(wizard, "#vm-list")] == ["olap-01"]
        wizard = await step(pilot, "enter", "enter")  # filter → list → olap-01
        assert wizard.step is Step.KIND and wizard.draft.vm == "olap-01"
        wizard = await step(pilot, "escape")
        assert wizard.step is Step.VM  # opened from the palette: escape goes back to the VM


async def test_options_are_checked_and_reach_the_plan() -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard_on(pilot, "olap-01")
        wizard = await step(pilot, "enter", "enter")
        assert wizard.step is Step.OPTIONS
        await pilot.press(*"500", "tab", *"-5")
        await pilot.pause()
        assert "bandwidth: must be a number above 0" in plain(wizard.query_one("#options-problem").content)
        wizard = await step(pilot, "enter")
        assert wizard.step is Step.OPTIONS  # a wrong field keeps the step
        await pilot.press("backspace", "backspace", *"100", "tab", *"600", "tab")
        assert wizard.query_one("#timeout-action", Select).has_focus
        await pilot.press("enter", "down", "down", "enter")  # at the timeout: switch to post-copy
        await pilot.pause()
        assert wizard.query_one("#timeout-action", Select).value is TimeoutAction.POSTCOPY
        assert "needs post-copy allowed" in plain(wizard.query_one("#options-problem").content)
        assert "once the options are right" in plain(wizard.query_one("#options-prediction").content)
        await pilot.press("tab", "space")  # auto-converge
        await pilot.press("tab", "space")  # post-copy
        await pilot.pause()
        assert wizard.query_one("#postcopy", Checkbox).value
        assert plain(wizard.query_one("#options-problem").content).strip() == ""
        prediction = plain(wizard.query_one("#options-prediction").content)
        assert "auto-converge would finish" in prediction and "not enabled" not in prediction
        wizard = await step(pilot, "tab", "enter")  # the Review button
        assert wizard.step is Step.REVIEW
        assert wizard.draft.options == MigrationOptions(
            max_downtime=0.5, bandwidth=100 * MiB, timeout=600, timeout_action=TimeoutAction.POSTCOPY,
            auto_converge=True, postcopy=True,
        )
        review = plain(wizard.query_one("#review").content)
        assert "max downtime 500 ms" in review and "timeout 10 min" in review and "then postcopy" in review
        wizard = await step(pilot, "escape")  # back keeps what was typed
        assert wizard.query_one("#bandwidth", Input).value == "100"


async def test_whole_machine_adds_a_datastore_step() -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard_on(pilot, "build-01")  # local disk: VM live impossible, whole machine fine
        wizard = await step(pilot, "down", "down", "enter")
        assert wizard.draft.kind is MigrationKind.WHOLE and wizard.step is Step.TARGET
        rows = option_texts(wizard, "#target-list")
        assert not any("VM-C3" in r for r in rows) and not rows[0].startswith("✖")
        wizard = await step(pilot, "enter")
        assert wizard.step is Step.DATASTORE
        host = wizard.draft.target_host
        datastores = [r.split()[1] for r in option_texts(wizard, "#target-list")]
        assert set(datastores) == {d.name for d in app.backend.snapshot().datastores_of(host)}
        assert datastores[0] == wizard.draft.target_datastore  # the candidate's own pick comes first
        wizard = await step(pilot, "enter", "enter")
        assert wizard.step is Step.REVIEW
        assert f"cna1 → {host}, disks vda (local-cna1) → {datastores[0]}" in plain(wizard.query_one("#review").content)
        assert "1 6 review" not in plain(wizard.query_one("#wizard-steps").content)
        assert "4 datastore" in plain(wizard.query_one("#wizard-steps").content)


async def test_storage_of_a_linked_clone_is_blocked() -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard_on(pilot, "clone-test-01")
        assert "storage: ✖ none of 9 datastores — ST-C2" in option_texts(app.screen, "#kind-list")[1]
        wizard = await step(pilot, "down", "enter", "enter", "enter")
        assert wizard.step is Step.REVIEW and str(start_button(wizard).label).startswith("Blocked by ST-C2")
        assert "linked clone" in plain(wizard.query_one("#review").content)


async def test_the_plan_is_checked_again_at_the_confirm() -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard_on(pilot, "web-01")
        wizard = await step(pilot, "enter", "enter", "enter")
        assert wizard.step is Step.REVIEW and not start_button(wizard).disabled
        await app.backend.set_maintenance("cna2", True)  # the target changes under the operator's eyes
        await pilot.pause()
        wizard = await step(pilot, "enter")
        assert isinstance(wizard, MigrateWizard) and wizard.step is Step.REVIEW
        assert str(start_button(wizard).label) == "Blocked by VM-C2.3"
        assert not app.engine.runs
        assert any("now blocked" in str(n.message) for n in app._notifications)


async def test_m_needs_a_vm_under_the_cursor(app: HotmigApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_checks(pilot)
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, InventoryScreen)
        assert any("select a VM first" in str(n.message) for n in app._notifications)


def test_options_form_rejects_what_is_not_a_positive_number() -> None:
    from hotmig_tui.tui.wizard_options import OptionsError, OptionsForm

    for text in ("nan", "inf", "-1", "0", "fast"):
        try:
            OptionsForm(bandwidth_mib_s=text).parse(MigrationOptions())
        except OptionsError as exc:
            assert "bandwidth" in str(exc)
        else:
            raise AssertionError(f"{text!r} accepted")
    assert OptionsForm(timeout_s=" 90 ").parse(MigrationOptions()).timeout == 90
    assert OptionsForm.of(MigrationOptions(max_downtime=0.25, bandwidth=64 * MiB)).max_downtime_ms == "250"


async def test_a_vm_already_migrating_is_blocked_by_cc_vm() -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_checks(pilot)
        app.start_migration(MigrationPlan("olap-01", MigrationKind.VM, "cna5", "cna4"), watch=False)
        await open_wizard_on(pilot, "olap-01")
        kinds = option_texts(app.screen, "#kind-list")
        assert all("none of" in k and "CC.vm" in k for k in kinds), kinds
