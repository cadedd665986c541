"""Constraint marks in the inventory tree and findings in the details pane (Pilot), computed by a thread
worker whenever the inventory changes."""

from __future__ import annotations

import io
import threading

from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.pilot import Pilot

from hotmig_tui.core.rules import Finding, ObjectMark, Severity, Status
from hotmig_tui.tui.app import HotmigApp
from hotmig_tui.tui.checks import InventoryChecks, mark_kind
from hotmig_tui.tui.findings_view import Palette, findings_table
from hotmig_tui.tui.refs import Ref
from hotmig_tui.tui.screens.inventory import InventoryScreen

from .conftest import demo_app, scale_app


async def wait_for_checks(pilot: Pilot[object], timeout: float = 20.0) -> InventoryScreen:
    """Until the inventory screen shows the checks of its current inventory (the worker has posted them)."""
    screen = next(s for s in pilot.app.screen_stack if isinstance(s, InventoryScreen))
    for _ in range(int(timeout / 0.01)):
        if screen.checks is not None and screen.checks.inventory is screen.inventory:
            await pilot.pause()
            return screen
        await pilot.pause(0.01)
    raise AssertionError("the constraint checks never arrived")


def plain(renderable: object, width: int = 100) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def details_text(app: HotmigApp) -> str:
    return plain(app.screen.query_one("#details").content)


def label(screen: InventoryScreen, ref: Ref) -> Text:
    """The node's label as the tree paints it (the cursor is moved onto it first)."""
    assert screen.tree.select_ref(ref), ref
    node = screen.tree.cursor_node
    assert node is not None and node.data == ref
    return screen.tree.render_label(node, Style(), Style())


def symbol_colour(text: Text, symbol: str) -> str | None:
    at = text.plain.rindex(symbol)
    for span in text.spans:
        if span.start <= at < span.end:
            style = Style.parse(span.style) if isinstance(span.style, str) else span.style
            return style.color.triplet.hex if style.color and style.color.triplet else None
    return None


MARKED = {
    Ref("vm", "gpu-render-01"): "error",  # GPU passthrough (VM-C1.dev)
    Ref("vm", "lic-server-01"): "error",  # USB dongle (VM-C1.dev)
    Ref("vm", "archive-01"): "error",  # stopped (VM-C1.run)
    Ref("vm", "hpc-01"): "error",  # host-passthrough CPU (VM-C2.5)
    Ref("vm", "dev-ws-01"): "error",  # AMD among Intel, local disk
    Ref("vm", "build-01"): "warning",  # local disk: only a whole-machine migration moves it (VM-C3)
    Ref("vm", "dns-01"): "warning",
    Ref("vm", "proxy-01"): "warning",
    Ref("host", "cna6"): "error",  # maintenance mode (VM-C2.3)
    Ref("datastore", "fusion-1"): "error",  # distributed block storage (ST-C4)
    Ref("datastore", "san-lun7"): "error",  # raw LUN (ST-C1)
}
UNMARKED = [Ref("vm", "web-01"), Ref("vm", "olap-01"), Ref("vm", "erp-db-01"), Ref("host", "cna1"),
            Ref("datastore", "nfs-a"), Ref("cluster", "prod-a")]
SYMBOL = {"error": "✖", "warning": "▲", "unknown": "?"}


async def test_violators_are_marked_with_symbol_and_theme_colour() -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_checks(pilot)
        colours = {"error": app.theme_variables["error"].lower(), "warning": app.theme_variables["warning"].lower()}
        for ref, mark in MARKED.items():
            assert screen.tree.marks.get(ref) == mark, ref
            text = label(screen, ref)
            assert text.plain.rstrip().split("  ")[0].endswith(f" {SYMBOL[mark]}"), text.plain
            assert symbol_colour(text, SYMBOL[mark]) == colours[mark], ref
        for ref in UNMARKED:
            assert ref not in screen.tree.marks
            assert not any(s in label(screen, ref).plain.split("·")[0] for s in SYMBOL.values()), ref


async def test_collapsed_nodes_count_the_marks_they_hold() -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_checks(pilot)
        assert label(screen, Ref("cluster", "prod-b")).plain.endswith("· 3✖ 1▲")  # cna6, lic, hpc; proxy
        assert label(screen, Ref("cluster", "dev")).plain.endswith("· 5✖ 2▲")
        assert label(screen, Ref("host", "cna4")).plain.endswith("· 2✖ 1▲")
        assert "·" not in label(screen, Ref("host", "cna5")).plain  # nothing marked on it


async def test_details_list_findings_with_ids_severities_and_remedies() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_for_checks(pilot)
        screen.tree.select_ref(Ref("vm", "gpu-render-01"))
        await pilot.pause()
        text = details_text(app)
        assert "✖ VM-C1.dev" in text and "error, failed: gpu-render-01 has passthrough devices" in text
        assert "remedy: detach the passthrough devices" in text
        assert "VM live: ✖ none of 7 hosts — VM-C1.dev rules out 7 hosts" in text
        assert "storage: 1 of 9 datastores possible" in text
        assert "whole machine: ✖ none of 7 hosts" in text
        assert "VM live prediction: ✔ converges" in text

        screen.tree.select_ref(Ref("host", "cna6"))
        await pilot.pause()
        text = details_text(app)
        assert "✖ VM-C2.3" in text and "maintenance mode" in text and "remedy: take the host out" in text

        screen.tree.select_ref(Ref("datastore", "fusion-1"))
        await pilot.pause()
        assert "✖ ST-C4" in details_text(app) and "distributed block" in details_text(app)

        screen.tree.select_ref(Ref("vm", "web-01"))
        await pilot.pause()
        text = details_text(app)
        assert "VM live: 1 of 7 hosts possible" in text and "whole machine: 2 of 7 hosts possible" in text
        assert "no rule rules out every live-migration target" in text and "✖" not in text

        screen.tree.select_ref(Ref("cluster", "prod-b"))
        await pilot.pause()
        assert "marked: ✖ 1 host, ✖ 2 VMs, ▲ 1 VM" in details_text(app)


async def test_details_give_the_predictors_verdict_and_never_guess() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_for_checks(pilot)
        screen.tree.select_ref(Ref("vm", "olap-01"))
        await pilot.pause()
        text = details_text(app)
        assert "VM live prediction: ▲ does not converge" in text and "auto-converge would finish" in text
        screen.tree.select_ref(Ref("vm", "dev-ws-01"))  # the dev cluster declares no link speed
        await pilot.pause()
        text = details_text(app)
        assert "VM live prediction: ? unknown" in text and "link speed unknown" in text
        assert "converges" not in text.split("VM live prediction")[1].split("\n")[0].replace("unknown", "")
        screen.tree.select_ref(Ref("vm", "archive-01"))
        await pilot.pause()
        assert "VM live prediction: none (the VM is stopped)" in details_text(app)


def test_unknown_is_shown_as_unknown_never_as_passed() -> None:
    unchecked = Finding("VM-C4", "VM-C4", Severity.WARNING, Status.UNKNOWN, "no probe has checked cna1 ↔ cna2",
                        "probe the pair")
    text = plain(findings_table([unchecked], Palette()))
    assert "? VM-C4" in text and "warning, not checked: no probe has checked" in text and "remedy:" in text
    assert mark_kind(ObjectMark(Severity.WARNING, (unchecked,))) == "unknown"
    failed = Finding("VM-C2.3", "VM-C2.3", Severity.ERROR, Status.FAILED, "maintenance", "leave it")
    assert mark_kind(ObjectMark(Severity.ERROR, (unchecked, failed))) == "error"


async def test_an_unknown_mark_draws_a_question_mark() -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_checks(pilot)
        screen.tree.set_marks({Ref("host", "cna1"): "unknown"})
        await pilot.pause()
        assert label(screen, Ref("host", "cna1")).plain.split("  ")[0].endswith(" ?")


async def test_checks_run_in_a_thread_worker(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hotmig_tui.tui.screens import inventory

    threads: list[str] = []
    original = inventory.compute_checks

    def recording(inv):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return original(inv)

    monkeypatch.setattr(inventory, "compute_checks", recording)
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_checks(pilot)
        assert threads and threading.main_thread().name not in threads


async def test_marks_follow_inventory_changes() -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_checks(pilot)
        assert Ref("host", "cna2") not in screen.tree.marks and Ref("vm", "web-01") not in screen.tree.marks
        await app.backend.set_maintenance("cna2", True)
        await pilot.pause()
        await wait_for_checks(pilot)
        assert screen.tree.marks[Ref("host", "cna2")] == "error"
        # cna2 was web-01's only live target: now only a whole-machine migration moves it
        assert screen.tree.marks[Ref("vm", "web-01")] == "warning"
        screen.tree.select_ref(Ref("vm", "web-01"))
        await pilot.pause()
        text = details_text(app)
        assert "VM live: ✖ none of 7 hosts" in text and "✖ VM-C2.3" in text and "cna2 is in maintenance" in text


async def test_a_failing_check_is_reported_not_shown_as_passed(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hotmig_tui.tui import checks

    def broken(*_args):  # type: ignore[no-untyped-def]
        raise RuntimeError("rule exploded")

    monkeypatch.setattr(checks, "object_findings", broken)
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_checks(pilot)
        assert screen.checks is not None and "rule exploded" in screen.checks.error
        screen.tree.select_ref(Ref("vm", "web-01"))
        await pilot.pause()
        assert "the checks failed: RuntimeError: rule exploded" in details_text(app)
        assert any("rule exploded" in str(n.message) for n in app._notifications)


async def test_large_inventory_gets_its_marks_without_loading_the_tree() -> None:
    app = scale_app(200, 10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_checks(pilot, timeout=60)
        checks = screen.checks
        assert isinstance(checks, InventoryChecks) and len(checks.verdicts) == 10_000
        assert checks.marks  # a generated datacenter has its share of unmovable VMs
        assert sum(1 for _ in _walk(screen.tree.root)) < 40  # still lazy
        await pilot.press("down", "enter", "down", "enter", "down")
        assert screen.tree.cursor_node.data.kind == "vm"
        assert "Constraints" in details_text(app) and "checking…" not in details_text(app)


def _walk(node):  # type: ignore[no-untyped-def]
    for child in node.children:
        yield child
        yield from _walk(child)


def test_details_say_when_results_are_from_the_previous_snapshot() -> None:
    import dataclasses

    from hotmig_tui.backends.sim import demo_inventory_file
    from hotmig_tui.tui.checks import compute_checks
    from hotmig_tui.tui.details import render_details

    old = demo_inventory_file().inventory
    new = dataclasses.replace(old)
    assert "checking…" in plain(render_details(new, Ref("vm", "gpu-render-01"), None))
    text = plain(render_details(new, Ref("vm", "gpu-render-01"), compute_checks(old)))
    assert "Constraints (rechecking; below: as of the previous snapshot)" in text and "✖ VM-C1.dev" in text
    current = plain(render_details(old, Ref("vm", "gpu-render-01"), compute_checks(old)))
    assert "rechecking" not in current and "✖ VM-C1.dev" in current
