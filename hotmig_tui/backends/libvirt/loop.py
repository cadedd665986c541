"""One dedicated thread runs an asyncio loop with libvirtaio, registered once per process.

libvirt's event implementation can be registered only once per process, and a second loop gets no
events (textual-notes.md). So every connection lives with this thread's loop, whatever loop the caller
runs (Textual's, pytest's, asyncio.run's). libvirt calls run in a thread pool, never on that loop: a call that
waits on a busy daemon (one whose peer the network lost) would otherwise stall every connection's keepalive, and
daemons would drop healthy connections (tried: a network cut then read as a host failure, 20 lab tests failed).
libvirtaio updates the loop's readers and timers from the calling thread; the 50 ms heartbeat keeps the loop
turning so such an update is picked up (without it, events were seen to be lost). See docs/decisions.md.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import libvirt
import libvirtaio

T = TypeVar("T")
HEARTBEAT_S = 0.05

_lock = threading.Lock()
_instance: LibvirtLoop | None = None


class LibvirtLoop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="libvirt-events", daemon=True)
        # Every blocking call: connections, facts, tuning, and each migration's migrate3 for its whole length.
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="libvirt-call")
        self._thread.start()
        self._ready.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._register())
        self._ready.set()
        self.loop.run_forever()

    async def _register(self) -> None:
        libvirtaio.virEventRegisterAsyncIOImpl(loop=self.loop)
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # errors surface as exceptions, not stderr
        self.loop.create_task(self._heartbeat())

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking libvirt call in the pool; await it from any event loop."""
        return await asyncio.wrap_future(self.pool.submit(fn, *args))

    # The long call (migrate3) is a call like the others; the name says at the call site that it blocks for long.
    call_long = call

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Fire and forget in the pool (closing a dead connection)."""
        self.pool.submit(fn, *args)


def libvirt_loop() -> LibvirtLoop:
    global _instance
    with _lock:
        if _instance is None:
            _instance = LibvirtLoop()
        return _instance
