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
from hotmig_tui.core.model import Datastore, Host, Vm
from hotmig_tui.core.run import FailureCause, LogLine, MigrationPlan, Outcome, Phase, PhaseChange, Update

if TYPE_CHECKING:
    from hotmig_tui.backends.libvirt.backend import LibvirtBackend

SOURCE_RECONNECT_WAIT_S = 60.0


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
        self.emit(LogLine(self.elapsed, _summary(outcome), "info" if outcome.ok else "error"))
        self._queue.put_nowait(None)
        self.backend.run_finished(self.plan.vm, {self.source.name} | ({self.target.name} if self.target else set()))
        self._outcome.set_result(outcome)

    async def execute(self) -> Outcome:
        raise NotImplementedError

    async def failed(self, exc: BaseException) -> Outcome:
        """Say why, find where the VM runs, resume it if a failure left it paused, clean the target."""
        text = message(exc)
        aborted = self.abort_requested and (
            not isinstance(exc, libvirt.libvirtError) or exc.get_error_code() == libvirt.VIR_ERR_OPERATION_ABORTED
            or "cancel" in text.lower() or "abort" in text.lower())
        cause: FailureCause | None = None
        if not aborted:
            cause = failure_cause(exc if isinstance(exc, libvirt.libvirtError) else text,
                                  host_down=bool(self.hosts_lost))
            if isinstance(exc, ConnectionError | RunError):
                cause = cause or (FailureCause.HOST_FAILED if isinstance(exc, ConnectionError) else None)
        if self.hosts_lost:
            text += "; " + "; ".join(f"{h}: {r}" for h, r in self.hosts_lost.items())
        await self._source_back()
        try:
            await self.clean_target()
        except Exception as cleanup_error:  # reported, never hidden: the user must know what is left
            self.log(f"could not clean the target: {message(cleanup_error)}", "error")
        host, paused = await self.locate_and_resume()
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

    async def locate_and_resume(self) -> tuple[str | None, bool]:
        """Where the VM runs now. A VM paused by a failed run is resumed; one paused by the policy's
        pause action stays paused only if it cannot be resumed (then the outcome says so)."""
        found: list[tuple[str, int]] = []
        for host in dict.fromkeys(h.name for h in (self.source, self.target) if h):
            conn = self.backend.connections.get(host)
            if conn is None or conn.conn is None:
                continue
            try:
                dom = await self.call(conn.conn.lookupByName, self.vm.name)
                state, _reason = await self.call(dom.state)
            except libvirt.libvirtError:
                continue
            if state in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED, libvirt.VIR_DOMAIN_PAUSED):
                if state == libvirt.VIR_DOMAIN_PAUSED:
                    try:
                        await self.call(dom.resume)
                        self.log(f"resumed {self.vm.name} on {host}: the failed run had left it paused", "warning")
                        state = libvirt.VIR_DOMAIN_RUNNING
                    except libvirt.libvirtError as exc:
                        self.log(f"{self.vm.name} is paused on {host} and could not be resumed: {message(exc)}",
                                 "error")
                found.append((host, state))
        running = [h for h, s in found if s != libvirt.VIR_DOMAIN_PAUSED]
        if len(found) > 1:
            self.log(f"{self.vm.name} is active on {', '.join(h for h, _ in found)}: check before anything else",
                     "error")
        if running:
            return running[0], False
        if found:
            return found[0][0], True
        self.log(f"cannot find {self.vm.name} running on {self.source.name} or "
                 f"{self.target.name if self.target else '-'}", "error")
        return None, False


def _summary(outcome: Outcome) -> str:
    if outcome.ok:
        return f"done: {outcome.vm_host} runs the VM"
    cause = f"{outcome.cause.value} ({outcome.cause.text}): " if outcome.cause else ""
    where = f"; the VM runs on {outcome.vm_host}" if outcome.vm_host else "; the VM's host is unknown"
    return f"{outcome.phase.value}: {cause}{outcome.error}{where}{' (paused)' if outcome.vm_paused else ''}"
