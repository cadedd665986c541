"""Real hosts through libvirt: the Backend protocol over one connection per host.

All state is touched on the caller's ("home") loop; libvirt calls run in the libvirt thread's pool;
events come back through HostConnection. A host whose connection drops is shown disconnected with
libvirt's reason, keeps its last known VMs, and reconnects by itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import libvirt

from hotmig_tui.backends.base import Broadcast, Change, DirtyRateMeasurement, Run
from hotmig_tui.backends.libvirt.assemble import build_inventory, host_from_reading
from hotmig_tui.backends.libvirt.connection import HostConnection
from hotmig_tui.backends.libvirt.events import DomainEvent
from hotmig_tui.backends.libvirt.facts import HostReading, read_host
from hotmig_tui.backends.libvirt.loop import LibvirtLoop, libvirt_loop
from hotmig_tui.backends.maintenance import MaintenanceStore
from hotmig_tui.core.model import HostState, Inventory
from hotmig_tui.core.run import MigrationPlan

if TYPE_CHECKING:
    from hotmig_tui.backends.ssh import LibvirtTunnels, SessionPool, SshSettings

CONNECT_TIMEOUT_S = 45.0  # a fresh libvirtd probes QEMU's capabilities on the first call: 5-16 s seen
CONNECT_CONCURRENCY = 8
REFRESH_DEBOUNCE_S = 0.3
PERIODIC_REFRESH_S = 30.0
RECENT_EVENTS = 1000


class LibvirtBackend:
    label = "libvirt"

    def __init__(self, declared: Inventory, maintenance: MaintenanceStore | None = None,
                 ssh: SshSettings | None = None) -> None:
        self.declared = declared
        self._ssh_settings = ssh  # None: from the inventory file's [ssh] table
        self.ssh: SessionPool | None = None  # hosts' SSH sessions (tunnels and probes), when any host has `ssh`
        self._tunnels: LibvirtTunnels | None = None
        self._maintenance_store = maintenance or MaintenanceStore()
        self._maintenance = self._maintenance_store.load() & {h.name for h in declared.hosts}
        self._hosts = {h.name: self._with_state(h, HostState.DISCONNECTED) for h in declared.hosts}
        self._readings: dict[str, HostReading] = {}
        self.connections: dict[str, HostConnection] = {}
        self._inventory = self._build()
        self._changes: Broadcast[Change] = Broadcast()
        self._runs: dict[str, object] = {}  # vm name -> LibvirtRun (typed loosely to avoid an import cycle)
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.lv: LibvirtLoop | None = None
        self.home: asyncio.AbstractEventLoop | None = None
        # The latest domain events as libvirt sent them (what a run's phases were derived from).
        self.recent_events: deque[DomainEvent] = deque(maxlen=RECENT_EVENTS)

    # --- Backend protocol -------------------------------------------------------------------------------
    async def connect(self) -> None:
        self.home = asyncio.get_running_loop()
        self.lv = libvirt_loop()
        limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
        if any(h.ssh for h in self.declared.hosts):
            from hotmig_tui.backends.ssh import LibvirtTunnels, SessionPool, SshSettings, ssh_loop  # only if used

            settings = self._ssh_settings or SshSettings.from_options(None)
            self.ssh = SessionPool.for_inventory(self.declared, settings, ssh_loop())
            self._tunnels = LibvirtTunnels(self.ssh)
        for host in self.declared.hosts:
            self.connections[host.name] = HostConnection(
                host.name, host.uri, self.lv, self.home, self._up, self._down, self._event,
                self._tunnels.resolver(host) if self._tunnels else None)

        async def first_contact(conn: HostConnection) -> None:
            async with limit:
                try:
                    ok = await asyncio.wait_for(conn.open(), CONNECT_TIMEOUT_S)
                except TimeoutError:
                    conn.abandon()
                    ok, conn.error = False, f"no answer within {CONNECT_TIMEOUT_S:.0f} s"
            if not ok:
                self._down(conn, conn.error or "unreachable")
                conn.keep_trying()

        await asyncio.gather(*(first_contact(c) for c in self.connections.values()))
        await asyncio.gather(*(self.refresh(name) for name, c in self.connections.items() if c.up))
        self._spawn(self._periodic_refresh())

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for handle in self._pending.values():
            handle.cancel()
        await asyncio.gather(*(c.close() for c in self.connections.values()), return_exceptions=True)
        if self._tunnels is not None:
            await self._tunnels.close()
        if self.ssh is not None:
            await self.ssh.close()
        self._changes.close()

    def snapshot(self) -> Inventory:
        return self._inventory

    def changes(self) -> AsyncIterator[Change]:
        return self._changes.subscribe()

    async def set_maintenance(self, host: str, on: bool) -> None:
        if host not in self._hosts:
            raise KeyError(f"no host named {host!r}")
        (self._maintenance.add if on else self._maintenance.discard)(host)
        self._maintenance_store.save(self._maintenance)
        up = self.connections.get(host)
        state = HostState.CONNECTED if up and up.up else HostState.DISCONNECTED
        self._hosts[host] = self._with_state(self._hosts[host], state)
        self._publish({host}, f"host {host} {'enters' if on else 'leaves'} maintenance mode")

    async def measure_dirty_rate(self, vm: str, seconds: float) -> DirtyRateMeasurement:
        from hotmig_tui.backends.libvirt.dirtyrate import measure

        if vm in self._runs:
            raise RuntimeError(f"{vm} is migrating: a dirty-rate measurement now would disturb it and read wrong")
        found = self._inventory.vm(vm)
        if found is None:
            raise KeyError(f"no VM named {vm!r}")
        conn = self.connection(found.host)
        rate = await measure(self._lv(), conn, vm, seconds)
        await self.refresh(found.host)
        return DirtyRateMeasurement(vm, rate, seconds, "libvirt page sampling")

    async def start(self, plan: MigrationPlan) -> Run:
        from hotmig_tui.backends.libvirt.migration import make_run

        if plan.vm in self._runs:
            raise RuntimeError(f"{plan.vm} is already migrating")
        run = make_run(self, plan)
        self._runs[plan.vm] = run
        run.begin()
        return run

    # --- used by runs -----------------------------------------------------------------------------------
    def connection(self, host: str) -> HostConnection:
        conn = self.connections.get(host)
        if conn is None or conn.conn is None:
            reason = conn.error if conn else "not in the inventory"
            raise ConnectionError(f"host {host} is not connected: {reason}")
        return conn

    def run_finished(self, vm: str, hosts: set[str]) -> None:
        self._runs.pop(vm, None)
        for host in hosts:
            self.schedule_refresh(host)

    def _lv(self) -> LibvirtLoop:
        assert self.lv is not None, "connect() first"
        return self.lv

    # --- connection callbacks (home loop) ---------------------------------------------------------------
    def _up(self, conn: HostConnection) -> None:
        self._hosts[conn.name] = self._with_state(self._hosts[conn.name], HostState.CONNECTED)
        self.schedule_refresh(conn.name)

    def _down(self, conn: HostConnection, reason: str) -> None:
        host = dataclasses.replace(self._with_state(self._hosts[conn.name], HostState.DISCONNECTED), error=reason)
        if host == self._hosts[conn.name]:
            return
        self._hosts[conn.name] = host
        for run in list(self._runs.values()):
            run.host_lost(conn.name, reason)  # type: ignore[attr-defined]
        self._publish({conn.name}, f"host {conn.name} disconnected: {reason}")

    def _event(self, event: DomainEvent) -> None:
        self.recent_events.append(event)
        run = self._runs.get(event.vm)
        if run is not None:
            run.on_event(event)  # type: ignore[attr-defined]
        self.schedule_refresh(event.host)

    # --- refreshing -------------------------------------------------------------------------------------
    def schedule_refresh(self, host: str, delay: float = REFRESH_DEBOUNCE_S) -> None:
        """Coalesce bursts of events into one bulk read of the host."""
        if self.home is None or host in self._pending:
            return
        self._pending[host] = self.home.call_later(delay, lambda: self._spawn(self._refresh_pending(host)))

    async def _refresh_pending(self, host: str) -> None:
        self._pending.pop(host, None)
        await self.refresh(host)

    async def refresh(self, host: str) -> None:
        conn = self.connections.get(host)
        if conn is None or conn.conn is None:
            return
        try:
            reading = await self._lv().call(read_host, conn.conn)
        except libvirt.libvirtError as exc:
            if exc.get_error_domain() == libvirt.VIR_FROM_RPC or not conn.conn.isAlive():
                conn.lost(exc.get_error_message() or str(exc))
            return
        self._readings[host] = reading
        self._hosts[host] = host_from_reading(self._hosts[host], reading, self._state_for(host, True))
        self._publish({host})

    async def _periodic_refresh(self) -> None:
        while True:
            await asyncio.sleep(PERIODIC_REFRESH_S)
            for name, conn in self.connections.items():
                if conn.up:
                    self.schedule_refresh(name)

    def _spawn(self, coro) -> None:  # type: ignore[no-untyped-def]
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- state -------------------------------------------------------------------------------------------
    def _state_for(self, host: str, connected: bool) -> HostState:
        if not connected:
            return HostState.DISCONNECTED
        return HostState.MAINTENANCE if host in self._maintenance else HostState.CONNECTED

    def _with_state(self, host, state: HostState):  # type: ignore[no-untyped-def]
        connected = state is not HostState.DISCONNECTED
        return dataclasses.replace(host, state=self._state_for(host.name, connected),
                                   error=None if connected else host.error)

    def _build(self) -> Inventory:
        return build_inventory(self.declared, self._hosts, self._readings)

    def _publish(self, hosts: set[str], text: str = "") -> None:
        old = self._inventory
        new = self._build()
        if new == old and not text:
            return  # a refresh that found nothing new: no screen needs to redraw or recheck
        self._inventory = new
        vms = {v.name for v in new.vms if v.host in hosts} | {v.name for v in old.vms if v.host in hosts}
        changed_vms = frozenset(n for n in vms if old.vm(n) != new.vm(n))
        self._changes.publish(Change(new, hosts=frozenset(hosts), vms=changed_vms, text=text))
