"""SVG snapshots of the constraint marks and the migrate wizard (pytest-textual-snapshot; sync tests by its
design). Each waits for the checks worker first, so the marks are in the picture every time."""

from __future__ import annotations

from textual.pilot import Pilot

from hotmig_tui.tui.refs import Ref

from .conftest import demo_app
from .test_marks import wait_for_checks


def test_marked_tree_prod_b_100x30(snap_compare) -> None:  # type: ignore[no-untyped-def]
    # prod-b and cna4 open, the cursor on lic-server-01 (USB dongle: VM-C1.dev); cna6 in maintenance.
    assert snap_compare(demo_app(), terminal_size=(100, 30), run_before=wait_for_checks,
                        press=["down", "down", "enter", "down", "space", "down", "down", "down"])


def test_wizard_candidates_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def open_on_web_01(pilot: Pilot[object]) -> None:
        screen = await wait_for_checks(pilot)
        screen.tree.select_ref(Ref("vm", "web-01"))
        await pilot.pause()

    # m: the wizard on web-01; enter: VM live; the ranked hosts with their failing constraints inline.
    assert snap_compare(demo_app(), terminal_size=(80, 24), run_before=open_on_web_01, press=["m", "enter"])


def test_wizard_blocked_review_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def open_on_gpu(pilot: Pilot[object]) -> None:
        screen = await wait_for_checks(pilot)
        screen.tree.select_ref(Ref("vm", "gpu-render-01"))
        await pilot.pause()

    # The review of a GPU passthrough VM: the start button disabled, naming the rule that blocks it.
    assert snap_compare(demo_app(), terminal_size=(80, 24), run_before=open_on_gpu,
                        press=["m", "enter", "enter", "enter"])
