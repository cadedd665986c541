"""How hotmig opens SSH sessions: which known_hosts files and keys, the timeouts and bounds.

Defaults follow OpenSSH: ~/.ssh/config, the agent, ~/.ssh/id_*, ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts.
hotmig adds its own known_hosts file (the one `--accept-new-host-keys` appends to) and, when the inventory names
them in its `[ssh]` table, another known_hosts file and an identity. Host key checking cannot be switched off:
there is no setting for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hotmig_tui.core.inventory_file import SshOptions
from hotmig_tui.paths import config_dir

BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


class Audit(Protocol):
    """Where accepted host keys are recorded (hotmig's audit log; the backends layer cannot import it)."""

    def record(self, action: str, **details: Any) -> None: ...


# Set once per process by the CLI's explicit --accept-new-host-keys (see allow_first_contact()).
_first_contact_audit: Audit | None = None


def own_known_hosts() -> Path:
    """hotmig's own known_hosts file: read with the others, and the only one hotmig ever writes to."""
    return config_dir() / "known_hosts"


@dataclass(frozen=True)
class SshSettings:
    known_hosts: tuple[Path, ...] = ()  # more known_hosts files to trust (the inventory's)
    identity: Path | None = None  # a client key to offer (the inventory's); the agent is still asked
    own_known_hosts: Path = field(default_factory=own_known_hosts)
    user_files: bool = True  # ~/.ssh/config, ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts, ~/.ssh/id_*, the agent
    # First contact only: an unknown host's key is appended to own_known_hosts and audit-logged. A key that
    # differs from a recorded one is refused whatever this says.
    accept_new_host_keys: bool = False
    audit: Audit | None = field(default=None, compare=False)  # required with accept_new_host_keys
    connect_timeout_s: float = 10.0  # TCP connect + key exchange + authentication
    keepalive_interval_s: float = 5.0  # a silent host is declared lost after interval x count
    keepalive_count: int = 3
    max_opening: int = 8  # sessions being opened at once, across all hosts
    channels_per_host: int = 4  # commands at once on one host (OpenSSH's MaxSessions defaults to 10)
    command_timeout_s: float = 15.0
    backoff_s: tuple[float, ...] = BACKOFF_S  # waits between reconnection attempts; the last one repeats

    def __post_init__(self) -> None:
        if self.accept_new_host_keys and self.audit is None:
            raise ValueError("accepting new host keys needs an audit log to record each acceptance in")

    @classmethod
    def from_options(cls, options: SshOptions | None, **overrides: object) -> SshSettings:
        known = (Path(options.known_hosts).expanduser(),) if options and options.known_hosts else ()
        identity = Path(options.identity).expanduser() if options and options.identity else None
        if _first_contact_audit is not None and "accept_new_host_keys" not in overrides:
            overrides.update(accept_new_host_keys=True, audit=_first_contact_audit)
        return cls(known_hosts=known, identity=identity, **overrides)  # type: ignore[arg-type]


def allow_first_contact(audit: Audit) -> None:
    """The user passed --accept-new-host-keys: for the rest of this process an unknown host's key is accepted,
    appended to hotmig's own known_hosts and recorded in `audit`. Changed keys stay refused."""
    global _first_contact_audit
    _first_contact_audit = audit
