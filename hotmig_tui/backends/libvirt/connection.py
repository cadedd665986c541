"""One libvirt connection per host: keepalive, a close callback, events, reconnection with backoff.

Callbacks arrive on the libvirt loop thread; they are handed to the owner's loop with
call_soon_threadsafe, so the backend's state is only ever touched from one thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import libvirt

from hotmig_tui.backends.libvirt import events
from hotmig_tui.backends.libvirt.events import DomainEvent
from hotmig_tui.backends.libvirt.loop import LibvirtLoop

log = logging.getLogger(__name__)

KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3
BACKOFF_S = (1, 2, 4, 8, 15, 30)
CLOSE_REASONS = {
    libvirt.VIR_CONNECT_CLOSE_REASON_ERROR: "connection error",
    libvirt.VIR_CONNECT_CLOSE_REASON_EOF: "the daemon closed the connection",
    libvirt.VIR_CONNECT_CLOSE_REASON_KEEPALIVE: "keepalive timeout: the host stopped answering",
    libvirt.VIR_CONNECT_CLOSE_REASON_CLIENT: "closed by hotmig",
}


def open_connection(uri: str) -> libvirt.virConnect:
    """Blocking; raises libvirt.libvirtError with libvirt's own reason."""
    conn = libvirt.open(uri)
    try:
        conn.setKeepAlive(KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:  # in-process drivers (test:///) need none
            raise
    return conn


class HostConnection:
    def __init__(
        self,
        name: str,
        uri: str,
        lv: LibvirtLoop,
        home: asyncio.AbstractEventLoop,
        on_up: Callable[[HostConnection], None],
        on_down: Callable[[HostConnection, str], None],
        on_event: Callable[[DomainEvent], None],
        resolve_uri: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        self.name = name
        self.uri = uri
        # Hosts reached through hotmig's SSH tunnel: gives the local URI to open, (re)opening the tunnel first.
        self._resolve_uri = resolve_uri
        self.lv = lv
        self.home = home
        self._on_up = on_up
        self._on_down = on_down
        self._on_event = on_event
        self.conn: libvirt.virConnect | None = None
        self.error: str | None = None
        self._callback_ids: list[int] = []
        self._reconnect: asyncio.Task[None] | None = None
        self._closing = False
        self.abandoned = False

    @property
    def up(self) -> bool:
        return self.conn is not None

    async def open(self) -> bool:
        """One attempt; on failure remembers libvirt's reason and returns False."""
        try:
            uri = await self._resolve_uri() if self._resolve_uri else self.uri
        except ConnectionError as exc:  # the SSH session or its tunnel (the message names the cause)
            self.error = getattr(exc, "reason", None) or str(exc)
            return False
        self.abandoned = False
        try:
            conn = await self.lv.call(self._open_and_register, uri)
        except libvirt.libvirtError as exc:
            self.error = exc.get_error_message() or str(exc)
            return False
        if conn is None:
            return False
        self.conn = conn
        self.error = None
        self._on_up(self)
        return True

    def _open_and_register(self, uri: str) -> libvirt.virConnect | None:
        """On the libvirt thread: open, watch events; a caller that gave up waiting gets nothing left open."""
        conn = open_connection(uri)
        try:
            self._register(conn)
        except libvirt.libvirtError as exc:
            self.error = f"connected, but cannot watch its events: {exc.get_error_message()}"
            self._unregister_and_close(conn)
            return None
        if self.abandoned:  # the first-contact timeout passed while libvirt was still answering
            self._unregister_and_close(conn)
            return None
        return conn

    def abandon(self) -> None:
        """Called when the caller stopped waiting for open(): a late connection is closed, not kept."""
        self.abandoned = True

    def _register(self, conn: libvirt.virConnect) -> None:
        conn.registerCloseCallback(self._closed, None)
        register = conn.domainEventRegisterAny
        self._callback_ids = [
            register(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._lifecycle, None),
            register(None, libvirt.VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION, self._iteration, None),
            register(None, libvirt.VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, self._job_completed, None),
            register(None, libvirt.VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2, self._block_job, None),
        ]

    # --- callbacks (libvirt loop thread) ----------------------------------------------------------------
    def _emit(self, event: DomainEvent) -> None:
        self.home.call_soon_threadsafe(self._on_event, event)

    def _lifecycle(self, _conn, dom, event, detail, _opaque) -> None:  # type: ignore[no-untyped-def]
        self._emit(events.lifecycle(self.name, dom.name(), event, detail))

    def _iteration(self, _conn, dom, iteration, _opaque) -> None:  # type: ignore[no-untyped-def]
        self._emit(DomainEvent(self.name, dom.name(), events.ITERATION, iteration=iteration))

    def _job_completed(self, _conn, dom, params, _opaque) -> None:  # type: ignore[no-untyped-def]
        self._emit(DomainEvent(self.name, dom.name(), events.JOB_COMPLETED, stats=dict(params)))

    def _block_job(self, _conn, dom, disk, _type, status, _opaque) -> None:  # type: ignore[no-untyped-def]
        self._emit(events.block_job(self.name, dom.name(), disk, status))

    def _closed(self, _conn, reason, _opaque) -> None:  # type: ignore[no-untyped-def]
        self.home.call_soon_threadsafe(self._lost, CLOSE_REASONS.get(reason, f"closed (reason {reason})"))

    # --- state (home loop) ------------------------------------------------------------------------------
    def _lost(self, reason: str) -> None:
        if self.conn is None:
            return
        dead, self.conn = self.conn, None
        self.error = reason
        # Its callbacks hold references: deregister them (with this connection's ids, not a later one's).
        self.lv.submit(self._unregister_and_close, dead, list(self._callback_ids))
        self._on_down(self, reason)
        if not self._closing:
            self.keep_trying()

    def lost(self, reason: str) -> None:
        """A call failed in a way that means the connection is gone (the callback may come later)."""
        self._lost(reason)

    def keep_trying(self) -> None:
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = self.home.create_task(self._reconnect_with_backoff())

    async def _reconnect_with_backoff(self) -> None:
        attempt = 0
        while not self._closing and self.conn is None:
            await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
            attempt += 1
            if await self.open():
                return
            self._on_down(self, self.error or "unreachable")

    async def close(self) -> None:
        self._closing = True
        if self._reconnect:
            self._reconnect.cancel()
        if self.conn is not None:
            conn, self.conn = self.conn, None
            await self.lv.call(self._unregister_and_close, conn)

    def _unregister_and_close(self, conn: libvirt.virConnect, ids: list[int] | None = None) -> None:
        for callback_id in self._callback_ids if ids is None else ids:
            with contextlib.suppress(libvirt.libvirtError):
                conn.domainEventDeregisterAny(callback_id)
        with contextlib.suppress(libvirt.libvirtError):
            conn.unregisterCloseCallback()
        _close_quietly(conn)


def _close_quietly(conn: libvirt.virConnect) -> None:
    with contextlib.suppress(libvirt.libvirtError):
        conn.close()
