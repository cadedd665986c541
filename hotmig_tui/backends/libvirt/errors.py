"""Map libvirt's errors to the article's failure causes (seed VM-F1..VM-F6), keeping libvirt's own text."""

from __future__ import annotations

import libvirt

from hotmig_tui.core.run import FailureCause

NETWORK_HINTS = (
    "client socket is closed", "connection reset", "no route to host", "connection refused",
    "unable to connect to server", "connection timed out", "broken pipe", "network is unreachable",
    "error while loading state", "failed to connect", "keepalive",
    "end of file while reading data", "input/output error", "connection closed",
)
HOST_HINTS = ("domain is not running", "qemu unexpectedly closed", "process exited", "terminated")
CPU_HINTS = ("guest cpu", "host cpu", "cpu is incompatible", "does not provide required features", "cpu model")
DISK_HINTS = (
    "cannot access storage file", "no such file or directory", "storage pool not found",
    "no storage pool with matching target path", "could not open", "permission denied", "cannot open",
)
RESOURCE_HINTS = ("cannot allocate memory", "out of memory", "failed to allocate", "insufficient", "no space left")


def failure_cause(error: libvirt.libvirtError | str, *, host_down: bool = False) -> FailureCause | None:
    """The article's cause for a failed run; host_down says a host's connection dropped during the run."""
    code = error.get_error_code() if isinstance(error, libvirt.libvirtError) else None
    text = (error.get_error_message() if isinstance(error, libvirt.libvirtError) else error) or ""
    lower = text.lower()
    if code == libvirt.VIR_ERR_MIGRATE_UNSAFE:  # a writable disk not on storage libvirt knows to be shared
        return FailureCause.DISK_UNREACHABLE
    if code == libvirt.VIR_ERR_CPU_INCOMPATIBLE or any(h in lower for h in CPU_HINTS):
        return FailureCause.CPU_INCOMPATIBLE
    if any(h in lower for h in RESOURCE_HINTS):
        return FailureCause.RESOURCES
    if any(h in lower for h in DISK_HINTS):
        return FailureCause.DISK_UNREACHABLE
    if host_down:  # a host's connection dropped during the run: its failure explains the rest
        return FailureCause.HOST_FAILED
    if any(h in lower for h in NETWORK_HINTS):  # a broken stream ("error while loading state") is the network
        return FailureCause.NETWORK
    if any(h in lower for h in HOST_HINTS):
        return FailureCause.HOST_FAILED
    return None


def message(error: BaseException) -> str:
    if isinstance(error, libvirt.libvirtError):
        return error.get_error_message() or str(error)
    return str(error) or type(error).__name__
