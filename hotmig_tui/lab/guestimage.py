"""The lab guest's boot image: the distribution kernel plus a tiny initramfs (busybox, /init, hmguest, virtio
modules), built once and cached under a key of everything that goes into it.

The initramfs is written here as cpio "newc" directly (device node and all), so building needs no root
tricks, no cpio binary, and gives byte-identical output for identical inputs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import lzma
import shutil
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import LabError
from .install import Kernel
from .proc import run

Log = Callable[[str], None]

BUSYBOX = Path("/bin/busybox")
# Enough for /dev/vda: the PCI transport and the block driver (their dependencies come from the modules).
ROOT_MODULES = ("virtio_pci", "virtio_blk")
_FORMAT = 1  # bump when the image layout changes, to invalidate caches


@dataclass(frozen=True)
class GuestImage:
    kernel: Path
    initrd: Path
    key: str


def guest_source(name: str) -> bytes:
    return resources.files(__package__).joinpath("guest", name).read_bytes()


def ensure(cache: Path, kernel: Kernel, log: Log) -> GuestImage:
    """Return the cached image for these inputs, building it first when needed."""
    busybox = BUSYBOX.read_bytes() if BUSYBOX.exists() else b""
    if not busybox or _elf_interpreter(busybox):
        raise LabError(f"{BUSYBOX} is missing or not statically linked: install busybox-static")
    modules = _load_order(kernel)
    digest = hashlib.sha256(f"format={_FORMAT} kernel={kernel.version}".encode())
    for blob in (guest_source("hmguest.c"), guest_source("init.sh"), busybox, kernel.vmlinuz.read_bytes()):
        digest.update(hashlib.sha256(blob).digest())
    for path in modules:
        digest.update(path.name.encode() + hashlib.sha256(path.read_bytes()).digest())
    key = digest.hexdigest()[:16]
    out = cache / key
    image = GuestImage(out / "vmlinuz", out / "initramfs.img", key)
    if image.kernel.exists() and image.initrd.exists():
        return image
    log(f"building guest image {key} (kernel {kernel.version})")
    with tempfile.TemporaryDirectory(prefix="hmguest-") as tmp:
        binary = Path(tmp) / "hmguest"
        source = Path(tmp) / "hmguest.c"
        source.write_bytes(guest_source("hmguest.c"))
        if not shutil.which("gcc"):
            raise LabError("gcc is needed to build the guest program: install gcc and libc6-dev")
        run(["gcc", "-static", "-O2", "-Wall", "-o", str(binary), str(source)])
        initrd = _initramfs(guest_source("init.sh"), busybox, binary.read_bytes(), modules)
    staging = cache / f".{key}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copyfile(kernel.vmlinuz, staging / "vmlinuz")
    (staging / "initramfs.img").write_bytes(initrd)
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    log(f"guest image built: initramfs {len(initrd) / 1e6:.1f} MB")
    return image


def _load_order(kernel: Kernel) -> list[Path]:
    """The .ko files to insmod, dependencies first; modules built into the kernel are skipped."""
    files = {_module_name(p): p for p in kernel.modules.rglob("*.ko*")}
    builtin_file = kernel.modules / "modules.builtin"
    builtin = {
        _module_name(Path(line.strip()))
        for line in (builtin_file.read_text().splitlines() if builtin_file.exists() else [])
    }
    order: list[Path] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name in builtin:
            return
        seen.add(name)
        path = files.get(name)
        if path is None:
            raise LabError(f"kernel {kernel.version} has no module {name} (looked in {kernel.modules})")
        for dep in _depends(_module_bytes(path)):
            visit(dep)
        order.append(path)

    for name in ROOT_MODULES:
        visit(name)
    return order


def _module_name(path: Path) -> str:
    return path.name.split(".ko")[0].replace("-", "_")


def _module_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(data)
    if path.name.endswith(".gz"):
        return gzip.decompress(data)
    return data


def _depends(ko: bytes) -> list[str]:
    # .modinfo holds NUL-separated key=value strings; `depends=` lists the modules this one needs.
    at = ko.find(b"\0depends=")
    if at < 0:
        return []
    value = ko[at + len(b"\0depends=") : ko.index(b"\0", at + 1)]
    return [name.replace("-", "_") for name in value.decode().split(",") if name]


def _elf_interpreter(binary: bytes) -> bool:
    """True when an ELF64 binary asks for a dynamic loader (has PT_INTERP)."""
    if binary[:4] != b"\x7fELF" or binary[4] != 2:
        return True
    (phoff,) = struct.unpack_from("<Q", binary, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", binary, 0x36)
    return any(struct.unpack_from("<I", binary, phoff + i * phentsize)[0] == 3 for i in range(phnum))


def _initramfs(init: bytes, busybox: bytes, hmguest: bytes, modules: list[Path]) -> bytes:
    cpio = _Cpio()
    for directory in ("bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules"):
        cpio.add(directory, 0o040755)
    # The kernel opens /dev/console for init before anything is mounted: without this node init has no stdio.
    cpio.add("dev/console", 0o020600, rdev=(5, 1))
    cpio.add("init", 0o100755, init)
    cpio.add("bin/busybox", 0o100755, busybox)
    cpio.add("bin/sh", 0o120777, b"busybox")
    cpio.add("bin/hmguest", 0o100755, hmguest)
    names = []
    for path in modules:
        name = _module_name(path) + ".ko"
        cpio.add(f"lib/modules/{name}", 0o100644, _module_bytes(path))
        names.append(name)
    cpio.add("lib/modules/load-order", 0o100644, ("\n".join(names) + "\n").encode())
    return gzip.compress(cpio.finish(), compresslevel=6, mtime=0)


class _Cpio:
    """A minimal writer of the "newc" cpio format the kernel unpacks into its initial rootfs."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.ino = 1

    def add(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        fields = [
            self.ino,
            mode,
            0,
            0,
            2 if mode & 0o040000 else 1,
            0,
            len(data),
            0,
            0,
            rdev[0],
            rdev[1],
            len(name) + 1,
            0,
        ]
        self.ino += 1
        self.buf.write(b"070701" + b"".join(b"%08X" % f for f in fields))
        self.buf.write(name.encode() + b"\0")
        self._pad()
        self.buf.write(data)
        self._pad()

    def _pad(self) -> None:
        self.buf.write(b"\0" * (-self.buf.tell() % 4))

    def finish(self) -> bytes:
        self.add("TRAILER!!!", 0)
        return self.buf.getvalue()


def remove_stale(cache: Path, keep: set[str]) -> None:
    """Drop cached images no longer used (their keys are not in `keep`)."""
    if not cache.is_dir():
        return
    for entry in cache.iterdir():
        if entry.is_dir() and entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)
