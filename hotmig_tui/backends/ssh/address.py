"""An inventory host's SSH address, `[user@]host[:port]` (IPv6 in brackets when a port follows)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SshAddress:
    host: str
    user: str | None = None  # None: ~/.ssh/config's User, else the local user name
    port: int | None = None  # None: ~/.ssh/config's Port, else 22

    @classmethod
    def parse(cls, text: str) -> SshAddress:
        user, _, rest = text.rpartition("@")
        host, port = rest, None
        if rest.startswith("["):  # [v6]:port or [v6]
            host, _, tail = rest[1:].partition("]")
            port = tail[1:] if tail.startswith(":") else None
        elif rest.count(":") == 1:  # host:port (a bare IPv6 address has more colons and no port)
            host, port = rest.split(":")
        if not host:
            raise ValueError(f"no host in SSH address {text.split('@')[-1]!r}")
        if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(f"bad port {port!r} in SSH address {host}")
        return cls(host=host, user=user or None, port=int(port) if port else None)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        return f"{user}{host}:{self.port}" if self.port else f"{user}{host}"

    @property
    def known_hosts_name(self) -> str:
        """How OpenSSH writes this host in known_hosts: `host`, or `[host]:port` off port 22."""
        return f"[{self.host}]:{self.port}" if self.port and self.port != 22 else self.host
