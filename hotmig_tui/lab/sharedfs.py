"""The shared datastore's filesystem: a FUSE pass-through (bindfs) of `hosts/shared-store` at `<lab>/shared`.

Why not a plain directory: before a live migration without storage copy, libvirt checks that every writable
disk sits on a filesystem it knows to be shared (NFS, GFS2, OCFS2, CephFS, CIFS, ... or FUSE mounts of type
`fuse.glusterfs`/`fuse.quobyte`) and otherwise refuses with "Migration without shared storage is unsafe".
This machine's kernel has none of those filesystems but FUSE, so the lab mounts the store with bindfs under
the FUSE subtype `glusterfs`: libvirt then treats the datastore as the shared storage it stands for, and plain
`VIR_MIGRATE_LIVE` works between hosts 1 and 2 as it would on a real site. Every host namespace is created
after this mount and inherits it; hosts outside cluster lab-a bind an empty directory over it.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

from .errors import LabError
from .layout import Paths
from .proc import alive, read_pid, run, stop

BINDFS = "/usr/bin/bindfs"
FS_TYPE = "fuse.glusterfs"


def store(paths: Paths) -> Path:
    """Where the shared datastore's files really live (hidden from the hosts, like the rest of `hosts/`)."""
    return paths.hosts / "shared-store"


def pid_file(paths: Paths) -> Path:
    return paths.root / "run" / "sharedfs.pid"


def mount_type(path: Path) -> str | None:
    """The filesystem type mounted exactly at `path` in our mount namespace, or None."""
    target = str(path)
    with open("/proc/self/mounts") as mounts:
        found = None
        for line in mounts:
            fields = line.split()
            # /proc/mounts escapes spaces as \040; our paths have none.
            if len(fields) >= 3 and fields[1] == target:
                found = fields[2]  # the last one mounted there is the visible one
    return found


def healthy(paths: Paths) -> bool:
    return mount_type(paths.shared) == FS_TYPE and alive(read_pid(pid_file(paths)), "bindfs")


def ensure(paths: Paths) -> bool:
    """Mount the shared datastore unless it is mounted and served; True when it was (re)mounted now."""
    if healthy(paths):
        return False
    unmount(paths)
    if not Path("/dev/fuse").exists():
        raise LabError("the lab's shared datastore needs FUSE (/dev/fuse is missing: modprobe fuse)")
    if not Path(BINDFS).exists():
        raise LabError(f"{BINDFS} is missing: install bindfs")
    store(paths).mkdir(parents=True, exist_ok=True)
    paths.shared.mkdir(parents=True, exist_ok=True)
    pid_file(paths).parent.mkdir(parents=True, exist_ok=True)
    log = paths.root / "run" / "sharedfs.log"
    with open(log, "ab") as out:
        # -f: stays in the foreground, so the PID we record is the one serving the mount.
        proc = subprocess.Popen(
            [BINDFS, "-f", "-o", "subtype=glusterfs", str(store(paths)), str(paths.shared)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file(paths).write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + 15
    while mount_type(paths.shared) != FS_TYPE:
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-1000:]
            stop([proc.pid], "bindfs")
            raise LabError(f"could not mount the shared datastore at {paths.shared} with bindfs: {tail}")
        time.sleep(0.05)
    return True


def unmount(paths: Paths) -> None:
    """Unmount (which ends bindfs), then make sure the recorded bindfs is gone."""
    for _ in range(5):
        if mount_type(paths.shared) != FS_TYPE:
            break
        if run(["umount", str(paths.shared)], check=False).returncode != 0:
            # Busy (a process still has a file open) or its server died: detach it lazily.
            run(["umount", "-l", str(paths.shared)], check=False)
    pid = read_pid(pid_file(paths))
    if pid:
        stop([pid], "bindfs", timeout=5)
    with contextlib.suppress(FileNotFoundError):
        pid_file(paths).unlink()
