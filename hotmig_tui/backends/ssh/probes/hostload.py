"""Free memory and load right now, and the CPU's model and flags: read from the host's /proc in one command.

Needs a Linux host with a POSIX shell, cat, nproc and sed (coreutils): any hypervisor has them.
"""

from __future__ import annotations

import time

from hotmig_tui.backends.ssh.errors import SshError
from hotmig_tui.backends.ssh.facts import HostLoad, Probed
from hotmig_tui.backends.ssh.session import HostSession

SEPARATOR = "@@hotmig@@"
# The first processor's block of /proc/cpuinfo is enough: every CPU of a host is the same model.
COMMAND = (f"cat /proc/meminfo; echo {SEPARATOR}; cat /proc/loadavg; echo {SEPARATOR}; nproc; "
           f"echo {SEPARATOR}; sed '/^$/q' /proc/cpuinfo")


async def host_load(session: HostSession) -> Probed[HostLoad]:
    started = time.monotonic()
    try:
        done = await session.run(COMMAND, "the host load probe")
    except SshError as exc:
        return Probed(None, time.monotonic(), f"cannot read {session.name}'s load: {exc.reason}")
    seconds = time.monotonic() - started
    try:
        load = parse(str(done.stdout or ""))
    except ValueError as exc:
        return Probed(None, time.monotonic(), f"{session.name}: unreadable /proc: {exc}", seconds)
    detail = (f"{session.name}: {load.memory_available / 2**30:.1f} GiB of {load.memory_total / 2**30:.1f} GiB "
              f"available, load {load.load[0]:.2f} on {load.cpus} CPUs")
    return Probed(load, time.monotonic(), detail, seconds)


def parse(text: str) -> HostLoad:
    parts = text.split(SEPARATOR + "\n")
    if len(parts) != 4:
        raise ValueError("expected /proc/meminfo, /proc/loadavg, nproc and /proc/cpuinfo")
    meminfo, loadavg, nproc, cpuinfo = parts
    memory = {}
    for line in meminfo.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            memory[key] = int(fields[0]) * (1024 if fields[1:2] == ["kB"] else 1)
    if "MemTotal" not in memory:
        raise ValueError("no MemTotal in /proc/meminfo")
    # MemAvailable (Linux >= 3.14) counts reclaimable cache as free; MemFree alone would undercount badly.
    available = memory.get("MemAvailable", memory.get("MemFree", 0))
    loads = loadavg.split()[:3]
    cpu = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        cpu.setdefault(key.strip(), value.strip())
    return HostLoad(
        memory_total=memory["MemTotal"],
        memory_available=available,
        load=(float(loads[0]), float(loads[1]), float(loads[2])),
        cpus=int(nproc.strip()),
        cpu_model=cpu.get("model name", ""),
        cpu_flags=frozenset(cpu.get("flags", "").split()),
    )
