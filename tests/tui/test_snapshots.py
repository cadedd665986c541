"""SVG snapshots of the dashboard (pytest-textual-snapshot; sync tests by its design).

Each waits for the constraint checks (computed in a worker after the first frame) before the capture, so the
tree's marks are always in the picture.
"""

from __future__ import annotations

from .conftest import demo_app
from .test_marks import wait_for_checks


def test_inventory_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(demo_app(), terminal_size=(80, 24), run_before=wait_for_checks)


def test_vm_details_expanded_host_120x36(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(demo_app(), terminal_size=(120, 36), run_before=wait_for_checks,
                        press=["down", "enter", "down", "space", "down"])


def test_light_theme_datastores(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = demo_app(theme_name="hotmig-light")
    assert snap_compare(app, terminal_size=(100, 30), run_before=wait_for_checks,
                        press=["down", "down", "down", "down", "enter", "down"])
