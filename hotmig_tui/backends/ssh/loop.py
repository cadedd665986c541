"""A dedicated thread with its own asyncio loop for SSH I/O, one per process.

libvirt's tunnelled connections, SSH keepalives and sshd's ClientAlive checks must be answered whatever the
caller's loop is doing (a Textual redraw, a test that blocks for seconds): when the tunnels lived on the caller's
loop, a 10 s stall there cut every host's libvirt connection. So sessions, tunnels and probes run here, and
callers on any loop await them through SessionPool.call().
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_instance: SshLoop | None = None


class SshLoop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="hotmig-ssh", daemon=True)
        self._thread.start()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the SSH loop and await its result from the caller's loop (cancelling it cancels both)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))


def ssh_loop() -> SshLoop:
    global _instance
    with _lock:
        if _instance is None:
            _instance = SshLoop()
        return _instance
