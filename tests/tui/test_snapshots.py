"""SVG snapshots of the dashboard (pytest-textual-snapshot; sync tests by its design)."""

from __future__ import annotations

from .conftest import demo_app


def test_inventory_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(demo_app(), terminal_size=(80, 24))


def test_vm_details_expanded_host_120x36(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(demo_app(), terminal_size=(120, 36), press=["down", "enter", "down", "space", "down"])


def test_light_theme_datastores(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = demo_app(theme_name="hotmig-light")
    assert snap_compare(app, terminal_size=(100, 30), press=["down", "down", "down", "down", "enter", "down"])
