"""What every libvirt run shares: the update stream, phases, the log, locating the VM afterwards,
and the promise that it ends running on exactly one host, not paused unless the user chose that."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import libvirt

from hotmig_tui.backends.libvirt.errors import failure_cause, message
from hotmig_tui.backends.libvirt.events import DomainEvent
from hotmig_tui.core.describe import outcome_summary
from hotmig_tui.core.model import Datastore, Host, Vm
from hotmig_tui.core.run import FailureCause, LogLine, MigrationPlan, Outcome, Phase, PhaseChange, Update

if TYPE_CHECKING:
    from hotmig_tui.backends.libvirt.backend import LibvirtBackend

SOURCE_RECONNECT_WAIT_S = 60.0
POSTCOPY_PAUSES = {libvirt.VIR_DOMAIN_PAUSED_POSTCOPY, libvirt.VIR_DOMAIN_PAUSED_POSTCOPY_FAILED}


class RunError(Exception):
    """A run cannot do what was asked (bad plan, a tuning the kind does not support); clear message."""


class LibvirtRunBase:
    def __init__(self, backend: LibvirtBackend, plan: MigrationPlan) -> None:
        self.plan = plan
        self.backend = backend
        self.lv = backend._lv()
        inventory = backend.snapshot()
        vm = inventory.vm(plan.vm)
        if vm is None:
            raise RunError(f"no VM named {plan.vm!r}")
        self.vm: Vm = vm
        source = inventory.host(vm.host)
        assert source is not None
        self.source: Host = source
        self.target: Host | None = inventory.host(plan.target_host) if plan.target_host else None
        if plan.target_host and self.target is None:
            raise RunError(f"no host named {plan.target_host!r}")
        self.target_datastore: Datastore | None = (
            inventory.datastore(plan.target_datastore) if plan.target_datastore else None)
        if plan.target_datastore and self.target_datastore is None:
            raise RunError(f"no datastore named {plan.target_datastore!r}")
        self.phase = Phase.PREPARE
        self.max_downtime = plan.options.max_downtime
        self.bandwidth = plan.options.bandwidth
        self.postcopy_active = False
        self.abort_requested = False
        self.paused_by_policy = False
        self.hosts_lost: dict[str, str] = {}
        self._queue: asyncio.Queue[Update | None] = asyncio.Queue()
        self._outcome: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._t0 = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    # --- Run protocol -----------------------------------------------------------------------------------
    def begin(self) -> None:
        self._task = asyncio.ensure_future(self._main())

    async def updates(self) -> AsyncIterator[Update]:
        while (update := await self._queue.get()) is not None:
            yield update

    async def result(self) -> Outcome:
        return await asyncio.shield(self._outcome)

    # --- plumbing ---------------------------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    def emit(self, update: Update) -> None:
        self._queue.put_nowait(update)

    def log(self, text: str, level: str = "info") -> None:
        self.emit(LogLine(self.elapsed, text, level))

    def enter(self, phase: Phase, detail: str = "") -> None:
        if phase is not self.phase:
            self.phase = phase
            self.emit(PhaseChange(self.elapsed, phase, detail))

    async def call(self, fn: Any, *args: Any) -> Any:
        return await self.lv.call(fn, *args)

    def host_lost(self, host: str, reason: str) -> None:
        if host in (self.source.name, self.target.name if self.target else None):
            self.hosts_lost[host] = reason
            self.log(f"lost the connection to {host}: {reason}", "error")

    def on_event(self, event: DomainEvent) -> None:
        """Subclasses route the events they care about."""

    async def _main(self) -> None:
        outcome: Outcome
        try:
            outcome = await self.execute()
        except Exception as exc:  # every failure ends as an Outcome, with the VM located
            outcome = await self.failed(exc)
        self.enter(outcome.phase, outcome.error or "")
        self.emit(LogLine(self.elapsed, outcome_summary(outcome), "info" if outcome.ok else "error"))
        self._queue.put_nowait(None)
        self.backend.run_finished(self.plan.vm, {self.source.name} | ({self.target.name} if self.target else set()))
        self._outcome.set_result(outcome)

    async def execute(self) -> Outcome:
        raise NotImplementedError

    async def failed(self, exc: BaseException) -> Outcome:
        """Say why, find where the VM runs, resume it if a failure left it paused, clean the target."""
        text = message(exc)
        # Once an abort was asked for, the job's end is that abort, whatever words libvirt puts on it ("canceled
        # by client", or a "Channel error" when the cancel tore a capped stream down); its text is kept.
        aborted = self.abort_requested
        cause: FailureCause | None = None
        if not aborted:
            cause = failure_cause(exc if isinstance(exc, libvirt.libvirtError) else text,
                                  host_down=bool(self.hosts_lost))
            if isinstance(exc, ConnectionError | RunError):
                cause = cause or (FailureCause.HOST_FAILED if isinstance(exc, ConnectionError) else None)
        if self.hosts_lost:
            text += "; " + "; ".join(f"{h}: {r}" for h, r in self.hosts_lost.items())
        await self._source_back()
        host, paused = await self.locate_and_resume()
        if host == self.source.name and not paused:
            # Only now is it safe: the VM runs on its source, so nothing on the target is in use.
            try:
                await self.clean_target()
            except Exception as cleanup_error:  # reported, never hidden: the user must know what is left
                self.log(f"could not clean the target: {message(cleanup_error)}", "error")
        elif self.target is not None:
            self.log(f"the target was left as it is: the VM is not (only) running on {self.source.name}", "warning")
        return Outcome(phase=Phase.ABORTED if aborted else Phase.FAILED, vm_host=host, vm_paused=paused,
                       cause=cause, error=text, total_time=self.elapsed, postcopy=self.postcopy_active)

    async def _source_back(self) -> None:
        """A source daemon that restarted during the run is reconnecting: wait for it (bounded) before asking
        where the VM runs, rather than answering "unknown"."""
        conn = self.backend.connections.get(self.source.name)
        deadline = self.elapsed + SOURCE_RECONNECT_WAIT_S
        if conn is not None and not conn.up:
            self.log(f"waiting for {self.source.name} to come back to find the VM", "warning")
            conn.keep_trying()
        while conn is not None and not conn.up and self.elapsed < deadline:
            await asyncio.sleep(0.5)

    async def clean_target(self) -> None:
        """Remove what this run created on the target; subclasses know what that is."""

    async def _state(self, host: str) -> tuple[libvirt.virDomain, int, int] | None:
        """The VM's domain on that host with its state and reason; None: no such domain, or host unreachable."""
        conn = self.backend.connections.get(host)
        if conn is None or conn.conn is None:
            return None
        try:
            dom = await self.call(conn.conn.lookupByName, self.vm.name)
            state, reason = await self.call(dom.state)
        except libvirt.libvirtError:
            return None
        return dom, state, reason

    async def locate_and_resume(self) -> tuple[str | None, bool]:
        """Where the VM runs now. A copy paused by the failed run is resumed only when it is certainly the one
        copy: the source's (it holds the whole state unless post-copy began), or the target's when the source,
        reachable, no longer has the VM. A post-copy that failed is never resumed: its memory is split."""
        target = self.target.name if self.target and self.target.name != self.source.name else None
        source_state = await self._state(self.source.name)
        target_state = await self._state(target) if target else None
        running = [h for h, st in ((self.source.name, source_state), (target, target_state))
                   if h and st and st[1] in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED)]
        if len(running) > 1:
            self.log(f"{self.vm.name} RUNS ON BOTH {' and '.join(running)}: stop one by hand", "error")
        if running:
            return running[0], False
        source_up = self.source.name in self.backend.connections and self.backend.connections[self.source.name].up
        for host, st in ((self.source.name, source_state), (target, target_state)):
            if host is None or st is None or st[1] != libvirt.VIR_DOMAIN_PAUSED:
                continue
            dom, _, reason = st
            if reason in POSTCOPY_PAUSES:
                self.log(f"{self.vm.name} is paused on {host} after a failed post-copy: its memory is split "
                         "between the hosts; recover it with libvirt's post-copy recovery, do not resume", "error")
                return host, True
            if host == target and not (source_up and source_state is None):
                continue  # the source may still hold the VM: never wake a second copy
            try:
                await self.call(dom.resume)
            except libvirt.libvirtError as exc:
                self.log(f"{self.vm.name} is paused on {host} and could not be resumed: {message(exc)}", "error")
                return host, True
            self.log(f"resumed {self.vm.name} on {host}: the failed run had left it paused", "warning")
            return host, False
        self.log(f"cannot find {self.vm.name} running on {self.source.name}{' or ' + target if target else ''}",
                 "error")
        return None, False

