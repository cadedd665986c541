"""What can go wrong with a host's SSH session, as messages that name the host and say why.

Every message is built here from plain facts (host, address, user, fingerprints, file names), never from key
material or passwords, and none wraps another library's text verbatim where that text could carry one.
They derive from ConnectionError so that callers outside the ssh layer (the libvirt connection's open) treat
them as "this host is unreachable, with this reason".
"""

from __future__ import annotations


class SshError(ConnectionError):
    def __init__(self, host: str, message: str) -> None:
        self.host = host
        self.reason = message
        super().__init__(f"{host}: {message}")


class SshUnreachable(SshError):
    """No SSH conversation: nothing answers, the TCP connection failed, or it timed out."""


class SshAuthFailed(SshError):
    """The host answered but refused every credential hotmig offered."""


class HostKeyRefused(SshError):
    """The host's key is not in any known_hosts file hotmig reads, or differs from the one recorded there."""

    def __init__(self, host: str, message: str, fingerprint: str | None, changed: bool) -> None:
        super().__init__(host, message)
        self.fingerprint = fingerprint
        self.changed = changed


class RemoteCommandFailed(SshError):
    """A command hotmig ran on the host failed, or did not finish in time."""


class ToolMissing(SshError):
    """The host lacks something a probe needs (a command, a setting of its sshd): the fact stays unknown."""
