"""One dedicated thread runs an asyncio loop with libvirtaio, registered once per process.

libvirt's event implementation can be registered only once per process, and a second loop gets no
events (textual-notes.md). So every connection lives with this thread's loop, whatever loop the caller
runs (Textual's, pytest's, asyncio.run's). libvirtaio changes that loop's readers and timers from whichever
thread makes a libvirt call, and asyncio is not thread-safe: short calls therefore run on the loop's own
thread (`call`), and only calls that block for a whole migration run in a pool thread (`call_long`), with a
50 ms heartbeat that keeps the loop turning meanwhile (without it, events were seen to be lost).
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
        # Calls that block for a whole migration (migrate3, migrateToURI3), one thread each.
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="libvirt-long")
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
        """Run a short libvirt call on the libvirt loop's thread; await it from any event loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_run(fn, *args), self.loop))

    async def call_long(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a call that blocks for a whole migration in a pool thread."""
        return await asyncio.wrap_future(self.pool.submit(fn, *args))

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Fire and forget, on the libvirt loop's thread (closing a dead connection)."""
        self.loop.call_soon_threadsafe(fn, *args)


async def _run(fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)


def libvirt_loop() -> LibvirtLoop:
    global _instance
    with _lock:
        if _instance is None:
            _instance = LibvirtLoop()
        return _instance
