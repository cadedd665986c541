"""asyncssh host sessions: one SSH connection per host, libvirt tunnelled through it, and probes run on the hosts.

    pool = SessionPool.for_inventory(inventory, SshSettings.from_options(loaded.ssh), ssh_loop())
    tunnels = LibvirtTunnels(pool)            # the libvirt backend does this for hosts that opt in
    prober = Prober(pool, backend.snapshot, busy=...)

Host keys are always verified against known_hosts (see hostkeys.py); nothing here prints or logs key material.
Never imports Textual.
"""

from __future__ import annotations

from hotmig_tui.backends.ssh.address import SshAddress
from hotmig_tui.backends.ssh.errors import (
    HostKeyRefused,
    RemoteCommandFailed,
    SshAuthFailed,
    SshError,
    SshUnreachable,
    ToolMissing,
)
from hotmig_tui.backends.ssh.facts import HostLoad, Probed, ProbeFacts
from hotmig_tui.backends.ssh.loop import SshLoop, ssh_loop
from hotmig_tui.backends.ssh.pool import SessionPool
from hotmig_tui.backends.ssh.prober import Prober
from hotmig_tui.backends.ssh.session import HostSession
from hotmig_tui.backends.ssh.settings import SshSettings, allow_first_contact, own_known_hosts
from hotmig_tui.backends.ssh.tunnel import LibvirtTunnels, tunnelled

__all__ = [
    "HostKeyRefused",
    "HostLoad",
    "HostSession",
    "LibvirtTunnels",
    "ProbeFacts",
    "Probed",
    "Prober",
    "RemoteCommandFailed",
    "SessionPool",
    "SshAddress",
    "SshAuthFailed",
    "SshError",
    "SshLoop",
    "SshSettings",
    "SshUnreachable",
    "ToolMissing",
    "allow_first_contact",
    "own_known_hosts",
    "ssh_loop",
    "tunnelled",
]
