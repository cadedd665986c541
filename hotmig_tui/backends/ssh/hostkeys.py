"""Host key verification: which known_hosts files are trusted, and what to say (or do) about a key that is not.

asyncssh does the matching, strictly, against every trusted file at once. When the server's key is not among the
keys recorded for the host, asyncssh asks HostKeyCheck.decide(): it remembers the key (for a message that names
its fingerprint) and says no, unless this is a first contact (no key at all recorded for the host) and the user
explicitly passed --accept-new-host-keys. An accepted key is written to hotmig's own known_hosts file and to the
audit log only once the connection is up, i.e. after the server proved it holds the matching private key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from hotmig_tui.backends.ssh.address import SshAddress
from hotmig_tui.backends.ssh.errors import HostKeyRefused
from hotmig_tui.backends.ssh.settings import SshSettings

SYSTEM_KNOWN_HOSTS = Path("/etc/ssh/ssh_known_hosts")
USER_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


@dataclass(frozen=True)
class TrustedKeys:
    """The known_hosts files in force for one connection, read once."""

    files: tuple[tuple[Path, str], ...]  # (path, its text)

    @classmethod
    def read(cls, settings: SshSettings, config_known_hosts: list[str] | None) -> TrustedKeys:
        """config_known_hosts: the UserKnownHostsFile/GlobalKnownHostsFile ~/.ssh/config names for this host
        ([] when it names none; None when it says `none`, which hotmig reads as "no user file" — it never turns
        checking off)."""
        paths: list[Path] = []
        if settings.user_files:
            named = [Path(p).expanduser() for p in config_known_hosts or []]
            paths += named or [USER_KNOWN_HOSTS.expanduser()]
            paths.append(SYSTEM_KNOWN_HOSTS)
        paths += [settings.own_known_hosts, *settings.known_hosts]
        files = []
        for path in dict.fromkeys(paths):
            try:
                files.append((path, path.read_text(encoding="utf-8", errors="replace")))
            except OSError:
                continue  # absent or unreadable: nothing trusted from it
        return cls(tuple(files))

    def for_asyncssh(self) -> asyncssh.SSHKnownHosts:
        # An object, never '' or None: asyncssh would then fall back to ~/.ssh/known_hosts or skip checking.
        return asyncssh.import_known_hosts("\n".join(text for _, text in self.files))

    def recorded(self, host: str, addr: str, port: int | None) -> list[tuple[str, Path]]:
        """(fingerprint, file) of every key recorded for this host, in any file."""
        found = []
        for path, text in self.files:
            try:
                keys = asyncssh.match_known_hosts(asyncssh.import_known_hosts(text), host, addr, port)[0]
            except (ValueError, asyncssh.KeyImportError):
                continue
            found += [(k.get_fingerprint(), path) for k in keys]
        return list(dict.fromkeys(found))  # an entry matching both the name and the address counts once


class HostKeyCheck:
    """One connection attempt's decision on a host key that no known_hosts file vouches for."""

    def __init__(self, name: str, address: SshAddress, settings: SshSettings, trusted: TrustedKeys) -> None:
        self.name = name
        self.address = address
        self.settings = settings
        self.trusted = trusted
        self.presented: asyncssh.SSHKey | None = None
        self.recorded: list[tuple[str, Path]] = []
        self.accepted: asyncssh.SSHKey | None = None

    def decide(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.presented = key
        self.recorded = self.trusted.recorded(host, addr, None if port == 22 else port)
        if self.recorded:
            return False  # a different key is recorded: CHANGED, never accepted
        if self.settings.accept_new_host_keys:
            self.accepted = key
            return True
        return False

    def refusal(self, reason: str) -> HostKeyRefused:
        where = f"{self.name} ({self.address.known_hosts_name})"
        key = self.presented
        if key is None:  # asyncssh refused on its own (a revoked key or a bad certificate)
            return HostKeyRefused(self.name, f"host key of {where} refused: {reason}", None, False)
        shown = f"{key.get_algorithm()} {key.get_fingerprint()}"
        if self.recorded:
            had = "; ".join(f"{fp} in {path}" for fp, path in self.recorded)
            return HostKeyRefused(
                self.name,
                f"HOST KEY CHANGED for {where}: it presented {shown}, but known_hosts records {had}. Refusing "
                "to connect: someone may be intercepting the connection, or the host was reinstalled. If the "
                f"change is expected, remove the old entry (ssh-keygen -R '{self.address.known_hosts_name}' "
                "-f FILE) and verify the new key; --accept-new-host-keys never accepts a changed key",
                key.get_fingerprint(),
                True,
            )
        return HostKeyRefused(
            self.name,
            f"unknown host key for {where}: it presented {shown}, which no known_hosts file hotmig reads "
            f"records. Check the fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and add "
            f"the key to {self.settings.own_known_hosts}, or accept it once with --accept-new-host-keys",
            key.get_fingerprint(),
            False,
        )

    def commit(self) -> None:
        """The connection is up with a first-contact key: record it, so later connections check against it."""
        key, self.accepted = self.accepted, None
        if key is None:
            return
        path = self.settings.own_known_hosts
        path.parent.mkdir(parents=True, exist_ok=True)
        algorithm, blob = key.export_public_key("openssh").decode().split()[:2]  # without the key's comment
        entry = f"{self.address.known_hosts_name} {algorithm} {blob}\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(entry)
        assert self.settings.audit is not None  # SshSettings refuses accept_new_host_keys without one
        self.settings.audit.record(
            "ssh-host-key-accepted",
            host=self.name,
            address=self.address.known_hosts_name,
            fingerprint=key.get_fingerprint(),
            algorithm=key.get_algorithm(),
            known_hosts=str(path),
            reason="first contact, --accept-new-host-keys",
        )
