"""The inventory screen driven by keyboard, as an operator would (Pilot)."""

from __future__ import annotations

import io

from rich.console import Console

from hotmig_tui.tui.app import HotmigApp
from hotmig_tui.tui.refs import Ref
from hotmig_tui.tui.screens.inventory import InventoryScreen

from .conftest import demo_app, scale_app


def details_text(app: HotmigApp) -> str:
    static = app.screen.query_one("#details")
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(static.content)
    return console.export_text()


async def test_navigate_tree_and_open_details() -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, InventoryScreen)
        tree = screen.tree
        assert tree.cursor_node.data == Ref("group", "Clusters")
        await pilot.press("down")  # prod-a
        assert tree.cursor_node.data == Ref("cluster", "prod-a")
        assert "memory overcommit" in details_text(app)
        await pilot.press("enter", "down")  # expand prod-a, go to cna1
        assert tree.cursor_node.data == Ref("host", "cna1")
        assert "Cascadelake-Server" in details_text(app)
        await pilot.press("space", "down")  # expand cna1, first VM
        assert tree.cursor_node.data == Ref("vm", "web-01")
        text = details_text(app)
        assert "VM web-01" in text and "12 MiB/s (expected)" in text and "nfs-a" in text


async def test_vm_details_show_every_constraint_fact() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.screen.tree.select_ref(Ref("vm", "clone-test-01"))
        await pilot.pause()
        text = details_text(app)
        assert "linked clone" in text and "golden" not in text.split("Disks")[0]
        assert app.screen.tree.select_ref(Ref("vm", "gpu-render-01"))
        await pilot.pause()
        assert "GPU 0000:3b:00.0 (NVIDIA Tesla T4)" in details_text(app)
        assert app.screen.tree.select_ref(Ref("datastore", "fusion-1"))
        await pilot.pause()
        assert "fusionstorage (distributed block)" in details_text(app)


async def test_switch_theme_at_run_time() -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.theme == "hotmig-dark"
        await pilot.press("t")
        assert app.theme in {"hotmig-light", "hotmig-256"} and app.theme != "hotmig-dark"
        seen = {app.theme}
        await pilot.press("t", "t")
        seen.add(app.theme)
        assert app.theme == "hotmig-dark" or len(seen) == 2
        assert set(app.hotmig_themes) == {"hotmig-dark", "hotmig-light", "hotmig-256"}


async def test_theme_from_the_command_line_and_a_user_theme(tmp_path, monkeypatch) -> None:
    themes = tmp_path / "config" / "hotmig" / "themes"
    themes.mkdir(parents=True)
    (themes / "mine.toml").write_text('name = "mine"\nprimary = "#ff8800"\ndark = true\n')
    (themes / "broken.toml").write_text('name = "broken"\nprimary = "not-a-colour"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    app = demo_app(theme_name="mine")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "mine"
        assert any("broken.toml" in str(n.message) and "not a colour" in str(n.message)
                   for n in app._notifications)


async def test_quit_with_q() -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
    assert app.return_code == 0


async def test_large_inventory_stays_lazy() -> None:
    app = scale_app(200, 10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.screen.tree
        loaded = sum(1 for _ in _walk(tree.root))
        assert loaded < 40  # 13 clusters + groups, not 10,000 VMs
        await pilot.press("down", "enter", "down", "enter", "down")
        assert tree.cursor_node.data.kind == "vm"


async def test_maintenance_change_reaches_the_tree() -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.screen.tree
        assert tree.select_ref(Ref("host", "cna2"))
        await app.backend.set_maintenance("cna2", True)
        await pilot.pause()
        await pilot.pause()
        assert tree.inventory.host("cna2").state.value == "maintenance"
        assert "maintenance" in details_text(app)
        assert tree.cursor_node.data == Ref("host", "cna2")


def _walk(node):  # type: ignore[no-untyped-def]
    for child in node.children:
        yield child
        yield from _walk(child)


async def test_keys_typed_ahead_land_on_the_new_children() -> None:
    """enter then down at once (an SSH session delivers them together): down must go into the opened node.
    The actions run back to back, with no message processed in between, as a burst of keys would."""
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.screen.tree
        await pilot.pause()
        tree.action_cursor_down()  # prod-a
        tree.action_select_cursor()  # open it
        tree.action_cursor_down()  # its first host, not prod-b
        tree.action_toggle_node()  # open cna1
        tree.action_cursor_down()  # its first VM
        assert tree.cursor_node.data == Ref("vm", "web-01")
