"""Is each disk path of a VM visible from a host (the target)? `[ -e PATH ]` in the host's shell, all paths at once.

On shared storage the target sees the very path the source uses; on a local datastore it does not. Needs only a
POSIX shell. It checks the path, not the file's identity: a same-named file left on the target's own disk would
look visible (the detail shows size and modification time, to compare with the source's).
"""

from __future__ import annotations

import shlex
import time

from hotmig_tui.backends.ssh.errors import SshError
from hotmig_tui.backends.ssh.facts import Probed
from hotmig_tui.backends.ssh.session import HostSession

# Per path: "y <size> <mtime>" when it exists, "n" when not. stat is coreutils'; without it, "y ? ?".
SCRIPT = 'for p do if [ -e "$p" ]; then echo "y $(stat -L -c "%s %Y" -- "$p" 2>/dev/null || echo "? ?")"; ' \
         'else echo n; fi; done'


async def disk_visibility(session: HostSession, paths: list[str]) -> dict[str, Probed[bool]]:
    started = time.monotonic()
    command = f"sh -c {shlex.quote(SCRIPT)} sh " + " ".join(shlex.quote(p) for p in paths)

    def each(value: bool | None, detail: str) -> Probed[bool]:
        return Probed(value, time.monotonic(), detail, time.monotonic() - started)

    try:
        done = await session.run(command, "the disk visibility probe")
    except SshError as exc:
        return {p: each(None, f"cannot look on {session.name}: {exc.reason}") for p in paths}
    lines = str(done.stdout or "").splitlines()
    if done.exit_status != 0 or len(lines) != len(paths):
        why = str(done.stderr or "").strip().splitlines()[-1:] or [f"exit {done.exit_status}"]
        return {p: each(None, f"the disk visibility probe failed on {session.name}: {why[0]}") for p in paths}
    results = {}
    for path, line in zip(paths, lines, strict=True):
        if line.startswith("y"):
            _, size, mtime = [*line.split(), "?", "?"][:3]
            results[path] = each(True, f"{path} is visible on {session.name} ({_size(size)}, modified "
                                       f"{_when(mtime)})")
        else:
            results[path] = each(False, f"{path} does not exist on {session.name}")
    return results


def _size(text: str) -> str:
    return f"{int(text):,} bytes" if text.isdigit() else "size unknown"


def _when(text: str) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(text))) if text.isdigit() else "at an unknown time"
