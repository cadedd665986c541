"""The header line: where the facts come from and the totals of the datacenter."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from hotmig_tui.core.model import HostState, Inventory


def totals_text(inventory: Inventory, source: str, backend: str, migrations: int = 0) -> Text:
    hosts = inventory.hosts
    down = sum(h.state is HostState.DISCONNECTED for h in hosts)
    maintenance = sum(h.state is HostState.MAINTENANCE for h in hosts)
    running = sum(vm.running for vm in inventory.vms)
    host_note = ", ".join(
        part for part in (f"{maintenance} maint." if maintenance else "", f"{down} down" if down else "") if part
    )
    text = Text.assemble(
        ("hotmig ", "bold"),
        (f"[{backend.upper()}] ", "reverse bold" if backend == "sim" else "bold"),
        (source, "italic"),
        "  ",
        f"{len(inventory.clusters)} clusters · {len(hosts)} hosts",
        (f" ({host_note})" if host_note else ""),
        f" · {len(inventory.datastores)} datastores · {len(inventory.vms)} VMs ({running} running)",
        f" · {migrations} migrating" if migrations else "",
    )
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


class TotalsBar(Static):
    DEFAULT_CSS = """
    TotalsBar { dock: top; height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """
