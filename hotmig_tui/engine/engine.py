"""The migration engine: queues runs by the concurrency cost model, drives each through its phases with
a backend, applies the convergence policy, accepts live changes, records history and the audit log.

It never touches the screens: watchers subscribe to its events.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

from hotmig_tui.backends.base import Backend, Broadcast
from hotmig_tui.core import policy
from hotmig_tui.core.export import plain
from hotmig_tui.core.model import HostState
from hotmig_tui.core.policy import PolicyConfig
from hotmig_tui.core.rules import CheckContext, check
from hotmig_tui.core.rules.causes import refusal_cause
from hotmig_tui.core.rules.costs import fits, full, load
from hotmig_tui.core.run import FailureCause, LogLine, MigrationPlan, Outcome, Phase, PhaseChange, Sample
from hotmig_tui.engine.events import EngineEvent, RunFinished, RunQueued, RunStarted, RunUpdated, StoreProblem
from hotmig_tui.engine.handle import RunHandle, RunState
from hotmig_tui.history.audit import AuditLog
from hotmig_tui.history.store import History


class Engine:
    def __init__(
        self,
        backend: Backend,
        history: History | None = None,
        audit: AuditLog | None = None,
        policy_config: PolicyConfig | None = None,
        context: Callable[[MigrationPlan], CheckContext] | None = None,
        checks: bool = True,
    ) -> None:
        """`context` gives the checks what only probes know (reachability, free memory now, predictions);
        `checks=False` lets the hypervisor itself refuse a bad plan (fault tests, nothing else)."""
        self.backend = backend
        self.history = history
        self.audit = audit
        self.policy_config = policy_config or PolicyConfig()
        self.context = context
        self.checks = checks
        self.runs: dict[str, RunHandle] = {}
        self._events: Broadcast[EngineEvent] = Broadcast(maxsize=10_000)
        self._slots_freed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._watching = False
        self._store_failed = False

    def events(self) -> AsyncIterator[EngineEvent]:
        return self._events.subscribe()

    @property
    def active(self) -> list[RunHandle]:
        return [h for h in self.runs.values() if h.state is not RunState.FINISHED]

    # --- submitting -------------------------------------------------------------------------------------
    def submit(self, plan: MigrationPlan) -> RunHandle:
        """Queue a run; it starts as soon as the hosts, datastores and networks it needs have budget."""
        if any(h.plan.vm == plan.vm for h in self.active):
            raise ValueError(f"{plan.vm} already has a migration queued or running")
        handle = RunHandle(plan)
        self.runs[handle.id] = handle
        self._store(self.history and self.history.start_run, handle.id, plan, self.backend.label,
                    self.audit.user if self.audit else "")
        self._audit("start", handle, plan=plain(plan))
        self._publish(RunQueued(handle))
        self._spawn(self._drive(handle))
        if not self._watching:
            self._watching = True
            self._spawn(self._watch_hosts())
        return handle

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self, handle: RunHandle) -> Outcome:
        while handle.outcome is None:
            async with self._slots_freed:
                await self._slots_freed.wait_for(lambda: handle.outcome is not None)
        return handle.outcome

    async def close(self, wait: float = 60.0) -> None:
        """Abort what still runs and wait (bounded) for those runs to end, so their end is recorded."""
        active = self.active
        for handle in active:
            await self.abort(handle)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(self.wait(h) for h in active)), wait)
        for task in list(self._tasks):
            task.cancel()
        for handle in self.active:  # still running after the wait: say so rather than leave it open
            self._finish(handle, Outcome(Phase.FAILED, None, error="hotmig stopped before the run ended: check "
                                         f"where {handle.plan.vm} runs ({handle.plan.source} or its target)"))
        if self.history:
            self.history.close()

    # --- live changes (from people; audited) ------------------------------------------------------------
    async def set_max_downtime(self, handle: RunHandle, seconds: float) -> None:
        self._audit("set_max_downtime", handle, seconds=seconds)
        await self._require_run(handle).set_max_downtime(seconds)

    async def set_bandwidth(self, handle: RunHandle, bytes_per_s: float | None) -> None:
        self._audit("set_bandwidth", handle, bytes_per_s=bytes_per_s)
        await self._require_run(handle).set_bandwidth(bytes_per_s)

    async def start_postcopy(self, handle: RunHandle) -> None:
        self._audit("start_postcopy", handle)
        await self._require_run(handle).start_postcopy()

    async def abort(self, handle: RunHandle) -> None:
        self._audit("abort", handle)
        if handle.state is RunState.QUEUED:
            handle.cancelled = True
            async with self._slots_freed:
                self._slots_freed.notify_all()
        elif handle.run is not None:
            await handle.run.abort()

    def _require_run(self, handle: RunHandle):  # type: ignore[no-untyped-def]
        if handle.run is None or handle.state is not RunState.RUNNING:
            raise RuntimeError(f"run {handle.id} is {handle.state.value}: nothing to tune")
        return handle.run

    # --- driving one run ------------------------------------------------------------------------------
    async def _drive(self, handle: RunHandle) -> None:
        try:
            if await self._admit(handle):
                await self._execute(handle)
            else:
                cause = FailureCause.HOST_FAILED if handle.maintenance else None
                why = "target entered maintenance mode while queued" if handle.maintenance else "cancelled while queued"
                self._finish(handle, Outcome(Phase.ABORTED, handle.plan.source, cause=cause, error=why))
        except Exception as exc:  # the engine must always record an end, and the real one when it can
            outcome = Outcome(Phase.FAILED, None, error=f"hotmig internal error: {exc!r}")
            if handle.run is not None:
                with contextlib.suppress(Exception):
                    outcome = await handle.run.result()
            self._finish(handle, outcome)
            raise

    async def _admit(self, handle: RunHandle) -> bool:
        plan = handle.plan

        def can_start() -> bool:
            running = [h.plan for h in self.active if h.state is RunState.RUNNING]
            return handle.cancelled or fits(load(running, self.backend.snapshot()), plan, self.backend.snapshot())

        if not can_start():
            running = [h.plan for h in self.active if h.state is RunState.RUNNING]
            busy = full(load(running, self.backend.snapshot()), plan, self.backend.snapshot())
            handle.queued_because = "waiting for " + ", ".join(f"{what} {name}" for what, name in busy)
            self._record(handle, LogLine(0.0, f"queued: {handle.queued_because}", "warning"))
            async with self._slots_freed:
                await self._slots_freed.wait_for(can_start)
        return not handle.cancelled

    async def _execute(self, handle: RunHandle) -> None:
        handle.state = RunState.RUNNING
        handle.queued_because = ""
        self._publish(RunStarted(handle))
        self._record(handle, PhaseChange(0.0, Phase.PREPARE, "configuration and devices to the target"))
        refusal = self._refusal(handle)
        if refusal is not None:
            self._finish(handle, refusal)
            return
        try:
            run = await self.backend.start(handle.plan)
        except Exception as exc:
            self._finish(handle, Outcome(Phase.FAILED, handle.plan.source, error=str(exc) or type(exc).__name__))
            return
        handle.run = run
        async for update in run.updates():
            self._record(handle, update)
            if isinstance(update, Sample):  # decide() honours options.policy; the timeout fires regardless
                await self._apply_policy(handle)
        outcome = await run.result()
        if handle.timed_out and outcome.phase is not Phase.DONE:
            outcome = dataclasses.replace(outcome, cause=FailureCause.TIMEOUT)
        elif handle.maintenance and outcome.phase is not Phase.DONE:
            outcome = dataclasses.replace(outcome, cause=FailureCause.HOST_FAILED,
                                          error=f"target entered maintenance mode; {outcome.error}")
        self._finish(handle, outcome)

    def _refusal(self, handle: RunHandle) -> Outcome | None:
        """Check again just before starting: the inventory may have changed while the run was queued."""
        if not self.checks:
            return None
        others = tuple(h.plan for h in self.active if h is not handle)
        context = self.context(handle.plan) if self.context else CheckContext()
        context = dataclasses.replace(context, in_flight=others)
        blocking = [f for f in check(handle.plan, self.backend.snapshot(), context) if f.blocks]
        if not blocking:
            return None
        for finding in blocking:
            self._record(handle, LogLine(0.0, f"{finding.rule}: {finding.message}", "error"))
        text = "refused before starting: " + "; ".join(f"{f.rule} {f.message}" for f in blocking)
        return Outcome(Phase.FAILED, handle.plan.source, cause=refusal_cause(blocking), error=text)

    async def _watch_hosts(self) -> None:
        """A host entering maintenance, or lost, while a run targets it ends that run (seed VM-F2)."""
        async for change in self.backend.changes():
            for name in change.hosts:
                host = change.inventory.host(name)
                if host is None or host.state is not HostState.MAINTENANCE:
                    continue
                for handle in self.active:
                    if handle.plan.target_host == name and handle.run is not None and not handle.maintenance:
                        handle.maintenance = True
                        t = handle.last.t if handle.last else 0.0
                        self._record(handle, LogLine(t, f"target {name} entered maintenance mode: aborting "
                                                        "(VM-F2)", "error"))
                        await handle.run.abort()
                    elif handle.plan.target_host == name and handle.state is RunState.QUEUED:
                        handle.maintenance = True
                        await self.abort(handle)

    async def _apply_policy(self, handle: RunHandle) -> None:
        actions = policy.decide(handle.samples, self.policy_config, handle.plan.options, handle.actions)
        for action in actions:
            handle.actions.append(action)
            t = handle.samples[-1].t
            self._record(handle, LogLine(t, action.reason, "policy"))
            try:
                await self._carry_out(handle, action)
            except Exception as exc:  # e.g. a backend that cannot do this step mid-run: say so, go on
                self._record(handle, LogLine(t, f"could not {type(action).__name__}: {exc}", "error"))
                if action.on_timeout and not isinstance(action, policy.Abort):
                    # The timeout's own action failed: the timeout still ends the run, the safe way.
                    self._record(handle, LogLine(t, "timeout: aborting instead; the VM stays on its source",
                                                 "policy"))
                    await self._fallback_abort(handle)
                continue
            if action.on_timeout:
                handle.timed_out = True

    async def _fallback_abort(self, handle: RunHandle) -> None:
        assert handle.run is not None
        try:
            await handle.run.abort()
            handle.timed_out = True
        except Exception as exc:
            self._record(handle, LogLine(handle.samples[-1].t, f"could not abort either: {exc}", "error"))

    async def _carry_out(self, handle: RunHandle, action: policy.Action) -> None:
        run = handle.run
        assert run is not None
        if isinstance(action, policy.SetMaxDowntime):
            await run.set_max_downtime(action.seconds)
        elif isinstance(action, policy.EnableAutoConverge):
            await run.enable_auto_converge()
        elif isinstance(action, policy.StartPostcopy):
            await run.start_postcopy()
        elif isinstance(action, policy.PauseToComplete):
            await run.pause_to_complete()
        elif isinstance(action, policy.Abort):
            await run.abort()
        self._audit(f"policy:{type(action).__name__}", handle, reason=action.reason)

    # --- bookkeeping ------------------------------------------------------------------------------------
    def _record(self, handle: RunHandle, update: Any) -> None:
        if isinstance(update, Sample):
            handle.samples.append(update)
            self._store(self.history and self.history.add_sample, handle.id, update)
        elif isinstance(update, PhaseChange):
            handle.phase = update.phase
            if not update.phase.final:
                handle.reached = update.phase
            self._store(self.history and self.history.set_phase, handle.id, update.phase)
        elif isinstance(update, LogLine):
            handle.log.append(update)
            self._store(self.history and self.history.add_log, handle.id, update.t, update.level, update.text)
        self._publish(RunUpdated(handle, update))

    def _finish(self, handle: RunHandle, outcome: Outcome) -> None:
        handle.outcome = outcome
        handle.phase = outcome.phase
        handle.state = RunState.FINISHED
        self._store(self.history and self.history.finish_run, handle.id, outcome)
        self._audit("finished", handle, phase=outcome.phase.value, cause=outcome.cause.value if outcome.cause
                    else None, vm_host=outcome.vm_host, error=outcome.error)
        self._publish(RunFinished(handle))
        self._spawn(self._notify_slots())

    async def _notify_slots(self) -> None:
        async with self._slots_freed:
            self._slots_freed.notify_all()

    def _publish(self, event: EngineEvent) -> None:
        self._events.publish(event)

    def _audit(self, action: str, handle: RunHandle, **details: Any) -> None:
        self._store(self.audit and self.audit.record, action, run=handle.id, vm=handle.plan.vm,
                    kind=handle.plan.kind.value, backend=self.backend.label, **details)

    def _store(self, write: Any, *args: Any, **kwargs: Any) -> None:
        """History and audit writes never end a run: a full disk or a locked database is said, not fatal."""
        if not write:
            return
        try:
            write(*args, **kwargs)
        except Exception as exc:
            if not self._store_failed:
                self._store_failed = True
                self._events.publish(StoreProblem(f"could not record the run: {exc}"))
