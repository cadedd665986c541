"""The session's lab: brought up once (reusing one that already runs), shared by every lab test module.

Outside CI the lab tests skip, saying why, where the lab cannot run (not Linux, not root, no libvirt-python).
In CI (CI=true) they never skip: a lab that cannot start fails the run loudly.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Iterator

import pytest

from hotmig_tui import lab as lab_api


def _why_not() -> str | None:
    if platform.system() != "Linux":
        return f"the lab needs Linux (this is {platform.system()})"
    if os.geteuid() != 0:
        return "the lab needs root (network/mount namespaces, libvirtd as root)"
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return "libvirt-python is not installed (pip install 'hotmig[libvirt]')"
    return None


def _say(config: pytest.Config, line: str) -> None:
    """Print past pytest's output capture, so the CI log shows the lab's progress and set-up time."""
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(line, flush=True)


# Package scope: the guests stop when the lab tests end, so later tests and benchmarks run on a quiet machine.
@pytest.fixture(scope="package")
def lab(pytestconfig: pytest.Config) -> Iterator[lab_api.LabInfo]:
    reason = _why_not()
    in_ci = os.environ.get("CI") == "true"
    if reason and not in_ci:
        _say(pytestconfig, f"\nlab tests skipped: {reason}")
        pytest.skip(reason)
    before = lab_api.status()
    was_up = any(h.running for h in before.hosts)
    started = time.monotonic()
    info = lab_api.up(log=lambda line: _say(pytestconfig, f"[lab] {line}"))
    _say(
        pytestconfig,
        f"\n[lab] set-up time: {time.monotonic() - started:.1f} s "
        f"({'reused a running lab' if was_up else 'started ' + ', '.join(info.started)})",
    )
    yield info
    # Stop what this session started; a lab that ran before it (`hotmig lab up`) is left running, and so is
    # this one with HOTMIG_LAB_KEEP=1 (for quick reruns while developing).
    if not was_up and os.environ.get("HOTMIG_LAB_KEEP") != "1":
        lab_api.down(log=lambda line: _say(pytestconfig, f"[lab] {line}"))
