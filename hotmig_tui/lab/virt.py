"""libvirt-python, imported lazily (it is an optional extra), and connections to the lab's daemons."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from .errors import LabError


def libvirt() -> ModuleType:
    try:
        import libvirt as module
    except ImportError as exc:
        raise LabError(
            "libvirt-python is not installed in this Python: pip install 'hotmig[libvirt]' "
            "(it compiles against libvirt-dev and needs pkg-config and gcc)"
        ) from exc
    return module


_quiet_lock = threading.Lock()
_quiet_depth = 0


@contextlib.contextmanager
def quiet_errors() -> Iterator[None]:
    """Stop libvirt printing every failed call to stderr while we poll (the exceptions still reach us)."""
    global _quiet_depth
    lv = libvirt()
    with _quiet_lock:
        _quiet_depth += 1
        if _quiet_depth == 1:
            lv.registerErrorHandler(lambda _ctx, _err: None, None)
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                lv.registerErrorHandler(None, None)


def open_conn(uri: str, timeout: float = 20.0) -> Any:
    """Open `uri`, giving up after `timeout` seconds (a wedged daemon would otherwise block us forever)."""
    lv = libvirt()
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["conn"] = lv.open(uri)
        except lv.libvirtError as exc:
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="hotmig-lab-open")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise LabError(f"libvirt did not answer on {uri} within {timeout:.0f} s")
    if "error" in result:
        raise LabError(f"cannot connect to {uri}: {result['error']}")
    return result["conn"]


def wait_ready(uri: str, timeout: float, alive: Any = None) -> Any:
    """Connect and wait until the QEMU driver answers; `alive()` says whether the daemon still runs.

    A fresh daemon probes QEMU's capabilities on its first QEMU call (5-8 s, longer with several at once).
    """
    deadline = time.monotonic() + timeout
    last = ""
    with quiet_errors():
        while time.monotonic() < deadline:
            if alive is not None and not alive():
                raise LabError(f"the daemon behind {uri} exited while starting")
            try:
                conn = open_conn(uri, timeout=max(1.0, deadline - time.monotonic()))
                conn.getCapabilities()
                conn.listAllDomains()
                return conn
            except (LabError, libvirt().libvirtError) as exc:
                last = str(exc)
            time.sleep(0.2)
    raise LabError(f"libvirt on {uri} not ready after {timeout:.0f} s: {last}")


def close(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn.close()
