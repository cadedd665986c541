"""The SSH sessions of an inventory: one per host that names an `ssh` address, opened concurrently within a
bound (never more than settings.max_opening key exchanges at once), each with its own timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

from hotmig_tui.backends.ssh.address import SshAddress
from hotmig_tui.backends.ssh.errors import SshError
from hotmig_tui.backends.ssh.loop import SshLoop
from hotmig_tui.backends.ssh.session import HostSession
from hotmig_tui.backends.ssh.settings import SshSettings
from hotmig_tui.core.model import Inventory

T = TypeVar("T")


class SessionPool:
    """`loop`: the SSH thread's loop (ssh_loop()) the sessions live on; None: the loop of whoever uses them.
    Everything that touches a session from outside goes through call()."""

    def __init__(self, settings: SshSettings, loop: SshLoop | None = None) -> None:
        self.settings = settings
        self.loop = loop
        self._opening = asyncio.Semaphore(settings.max_opening)
        self._sessions: dict[str, HostSession] = {}

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` on the sessions' loop."""
        return await (self.loop.run(coro) if self.loop is not None else coro)

    @classmethod
    def for_inventory(cls, inventory: Inventory, settings: SshSettings, loop: SshLoop | None = None) -> SessionPool:
        pool = cls(settings, loop)
        for host in inventory.hosts:
            if host.ssh:
                pool.add(host.name, host.ssh)
        return pool

    def add(self, name: str, address: str | SshAddress) -> HostSession:
        if isinstance(address, str):
            address = SshAddress.parse(address)
        session = self._sessions[name] = HostSession(name, address, self.settings, self._opening)
        return session

    def __contains__(self, name: object) -> bool:
        return name in self._sessions

    def session(self, name: str) -> HostSession:
        try:
            return self._sessions[name]
        except KeyError:
            raise KeyError(f"host {name} has no SSH address in the inventory (`ssh = \"user@host:port\"`)") from None

    @property
    def sessions(self) -> dict[str, HostSession]:
        return dict(self._sessions)

    async def open_all(self, names: Iterable[str] | None = None) -> dict[str, SshError | None]:
        """Open these hosts' sessions (all by default) concurrently; host -> None when up, else its error."""
        chosen = list(self._sessions) if names is None else list(names)

        async def one(name: str) -> SshError | None:
            try:
                await self._sessions[name].connection()
            except SshError as exc:
                return exc
            return None

        async def every() -> list[SshError | None]:
            return await asyncio.gather(*(one(n) for n in chosen))

        return dict(zip(chosen, await self.call(every()), strict=True))

    async def close(self) -> None:
        async def every() -> None:
            await asyncio.gather(*(s.close() for s in self._sessions.values()), return_exceptions=True)

        await self.call(every())
