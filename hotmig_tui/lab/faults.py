"""Network faults for tests: cut a host off the lab network, or cap its bandwidth.

Host i reaches the bridge through one veth pair: `hm<i>b` in the lab namespace (traffic towards host i leaves
through it) and `eth0` in the host's namespace (traffic from host i). Setting `hm<i>b` down cuts the host off;
a token-bucket filter on both ends caps it both ways. This kernel has no netem (no delay or loss): tbf it is.
`lab up` clears every fault it finds, so a test that fails half-way leaves no cap behind for the next one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from . import layout
from .proc import run


def _ends(host: str) -> list[tuple[str, str]]:
    i = layout.host_index(host)
    return [(layout.LAB_NETNS, layout.bridge_port(i)), (layout.host_netns(i), layout.HOST_IFACE)]


def cut(host: str) -> None:
    """Take `host` off the lab network (its daemon and guests keep running, unreachable)."""
    run(["ip", "-n", layout.LAB_NETNS, "link", "set", layout.bridge_port(layout.host_index(host)), "down"])


def restore(host: str) -> None:
    run(["ip", "-n", layout.LAB_NETNS, "link", "set", layout.bridge_port(layout.host_index(host)), "up"])


def cap(host: str, bytes_per_s: float) -> None:
    """Limit `host`'s link to `bytes_per_s` in each direction."""
    bits = int(bytes_per_s * 8)
    # tbf needs a bucket of at least one timer tick's worth of data, and room for a full-size packet.
    burst = max(32 * 1024, int(bytes_per_s / 50))
    for netns, dev in _ends(host):
        run(
            [
                "ip",
                "netns",
                "exec",
                netns,
                "tc",
                "qdisc",
                "replace",
                "dev",
                dev,
                "root",
                "tbf",
                "rate",
                f"{bits}bit",
                "burst",
                str(burst),
                "latency",
                "400ms",
            ]
        )


def uncap(host: str) -> None:
    for netns, dev in _ends(host):
        shown = run(["ip", "netns", "exec", netns, "tc", "qdisc", "show", "dev", dev, "root"], check=False)
        if " tbf " in f" {shown.stdout} ":
            run(["ip", "netns", "exec", netns, "tc", "qdisc", "del", "dev", dev, "root"], check=False)


def clear(host: str) -> None:
    """No cut, no cap: the link as `lab up` made it."""
    restore(host)
    uncap(host)


@contextlib.contextmanager
def link_cut(host: str) -> Iterator[None]:
    cut(host)
    try:
        yield
    finally:
        restore(host)


@contextlib.contextmanager
def capped(host: str, bytes_per_s: float) -> Iterator[None]:
    cap(host, bytes_per_s)
    try:
        yield
    finally:
        uncap(host)
