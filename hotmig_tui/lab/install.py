"""Installing what the lab needs on Debian/Ubuntu: packages, QEMU >= 9 (bookworm-backports on Debian 12), the
guest kernel, and the `libvirt-qemu` user libvirtd insists on.

Every step checks first and does nothing when its result is already there, so a warm `lab up` costs a few
dpkg queries. Mirror URIs are never written here: the backports source is derived at run time from the
system's own apt sources.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import LabError
from .layout import Paths
from .proc import run

Log = Callable[[str], None]

# Only the monolithic libvirtd is needed (no libvirt-daemon-system: it pulls systemd units and a default
# network, and its configs would be bound over anyway). qemu-utils gives qemu-img for volume creation;
# gcc + libc6-dev build the guest's static program; busybox-static is the guest's userland; bindfs serves the
# shared datastore (see sharedfs.py); openssh-server gives each host its sshd (see sshd.py: started by hand in the
# host's namespaces, never as a system service).
PACKAGES = (
    "libvirt-daemon",
    "libvirt-daemon-driver-qemu",
    "libvirt-clients",
    "qemu-system-x86",
    "qemu-utils",
    "busybox-static",
    "bindfs",
    "openssh-server",
    "iproute2",
    "gcc",
    "libc6-dev",
)
QEMU_PACKAGES = ("qemu-system-x86", "qemu-utils")
QEMU = "/usr/bin/qemu-system-x86_64"
LIBVIRTD = "/usr/sbin/libvirtd"
# QEMU before 9.0 corrupts guest memory in multi-pass TCG live migration (fixed upstream by "physmem: Fix
# migration dirty bitmap coherency with TCG memory access"): libvirt reports success, the guest dies later.
MIN_QEMU = (9, 0)
_APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}


@dataclass(frozen=True)
class Kernel:
    version: str
    vmlinuz: Path
    modules: Path  # the directory holding lib/modules/<version>/...


def check_platform() -> dict[str, str]:
    """Raise LabError unless this is Linux on x86_64, as root, on Debian or Ubuntu; return os-release."""
    problems = []
    if platform.system() != "Linux":
        raise LabError(f"the lab needs Linux (network and mount namespaces); this is {platform.system()}")
    if os.geteuid() != 0:
        problems.append(
            "root (it creates network/mount namespaces and runs libvirtd as root): run it with sudo"
        )
    if platform.machine() != "x86_64":
        problems.append(
            f"an x86_64 machine (the guest kernel and QEMU target are x86_64; this is {platform.machine()})"
        )
    osr = os_release()
    family = {osr.get("ID", "")} | set(osr.get("ID_LIKE", "").split())
    if not family & {"debian", "ubuntu"}:
        problems.append(f"Debian or Ubuntu with apt (this is {osr.get('PRETTY_NAME', 'an unknown system')})")
    elif not shutil.which("apt-get") or not shutil.which("dpkg-query"):
        problems.append("apt-get and dpkg-query on PATH")
    if problems:
        raise LabError("the lab needs " + "; ".join(problems))
    return osr


def os_release() -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return values
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    return values


def ensure(paths: Paths, log: Log) -> Kernel:
    """Install whatever is missing; return the guest kernel to boot."""
    osr = check_platform()
    apt = _Apt(log)
    missing = missing_packages(PACKAGES)
    old_qemu = qemu_version() < MIN_QEMU
    if old_qemu:
        apt.update()
        # Straight from backports when the distribution's own QEMU is too old (Debian 12's 7.2).
        old_qemu = _version(_candidate("qemu-system-x86")) < MIN_QEMU
        if old_qemu:
            missing = [name for name in missing if name not in QEMU_PACKAGES]
    if missing:
        log(f"installing {' '.join(missing)}")
        apt.update()
        apt.install(missing)
    if old_qemu:
        _install_backports_qemu(paths, osr, apt, log)
    ensure_users(log)
    return ensure_kernel(paths, apt, log)


def missing_packages(names: tuple[str, ...]) -> list[str]:
    proc = run(["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n", *names], check=False)
    installed = {
        parts[0]
        for parts in (line.split() for line in proc.stdout.splitlines())
        if parts[1:] == ["installed"]
    }
    return [name for name in names if name not in installed]


def qemu_version() -> tuple[int, int]:
    if not Path(QEMU).exists():
        return (0, 0)
    out = run([QEMU, "--version"], check=False).stdout
    match = re.search(r"version (\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _candidate(package: str) -> str:
    """The version apt would install from the system's own sources ("" when none)."""
    out = run(["apt-cache", "policy", package], check=False, env=_env()).stdout
    match = re.search(r"Candidate:\s*(\S+)", out)
    return match.group(1) if match and match.group(1) != "(none)" else ""


def _version(debian_version: str) -> tuple[int, int]:
    """(major, minor) of a Debian version such as 1:7.2+dfsg-7 (epoch dropped)."""
    match = re.match(r"(?:\d+:)?(\d+)\.(\d+)", debian_version)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


class _Apt:
    """apt-get with `update` run at most once per `lab up`, and only when something has to be fetched."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.updated = False

    def update(self) -> None:
        if not self.updated:
            self.log("apt-get update")
            run(["apt-get", "update"], env=_env())
            self.updated = True

    def install(self, names: list[str], *extra: str) -> None:
        run(["apt-get", "install", "-y", "--no-install-recommends", *extra, *names], env=_env(), timeout=1200)


def _env() -> dict[str, str]:
    return {**os.environ, **_APT_ENV}


def _install_backports_qemu(paths: Paths, osr: dict[str, str], apt: _Apt, log: Log) -> None:
    found = _candidate("qemu-system-x86") or "none"
    codename = osr.get("VERSION_CODENAME", "")
    need = ".".join(map(str, MIN_QEMU))
    if osr.get("ID") != "debian" or not codename:
        raise LabError(
            f"the lab needs QEMU >= {need} (this system offers {found}: older QEMU corrupts guest memory in "
            "live migration under TCG); install a newer qemu-system-x86 and run `lab up` again"
        )
    suite = f"{codename}-backports"
    log(f"the distribution's QEMU ({found}) is too old (needs >= {need}): installing it from {suite}")
    # A private apt configuration: the system's own sources plus a backports stanza, with its own lists,
    # so /etc/apt is never edited and the system's later upgrades are unaffected.
    apt_dir = paths.cache / "apt"
    parts = apt_dir / "sources.d"
    lists = apt_dir / "lists"
    shutil.rmtree(parts, ignore_errors=True)
    (lists / "partial").mkdir(parents=True, exist_ok=True)
    parts.mkdir(parents=True)
    _write_backports_sources(parts, codename, suite)
    opts = [
        "-o",
        "Dir::Etc::sourcelist=/dev/null",
        "-o",
        f"Dir::Etc::sourceparts={parts}",
        "-o",
        f"Dir::State::Lists={lists}",
    ]
    run(["apt-get", *opts, "update"], env=_env())
    run(
        ["apt-get", *opts, "install", "-y", "--no-install-recommends", "-t", suite, *QEMU_PACKAGES],
        env=_env(),
        timeout=1200,
    )
    if qemu_version() < MIN_QEMU:
        raise LabError(f"installed QEMU from {suite} but it is still {found}; the lab needs >= {need}")
    log(f"QEMU {'.'.join(map(str, qemu_version()))} installed from {suite}")


def _write_backports_sources(parts: Path, codename: str, suite: str) -> None:
    """Copy the distribution's apt sources and add `suite` with the same URIs, components and keys."""
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    if deb822.exists():
        text = deb822.read_text()
        stanzas = [s for s in re.split(r"\n\s*\n", text) if s.strip()]
        extra = []
        for stanza in stanzas:
            fields = _deb822_fields(stanza)
            if "deb" in fields.get("Types", "").split() and codename in fields.get("Suites", "").split():
                components = fields.get("Components", "main")
                lines = [f"Types: deb\nURIs: {fields['URIs']}\nSuites: {suite}\nComponents: {components}"]
                if "Signed-By" in fields:
                    lines.append(f"Signed-By: {fields['Signed-By']}")
                extra.append("\n".join(lines))
        if not extra:
            raise LabError(f"no stanza for suite {codename!r} in {deb822}: cannot derive {suite} from it")
        (parts / "debian.sources").write_text(text.rstrip() + "\n")
        (parts / "backports.sources").write_text("\n\n".join(extra) + "\n")
        return
    one_line = Path("/etc/apt/sources.list")
    lines = one_line.read_text().splitlines() if one_line.exists() else []
    pattern = re.compile(r"^deb\s+(\[[^\]]*\]\s+)?(\S+)\s+" + re.escape(codename) + r"\s+(.+)$")
    extra = [
        f"deb {m.group(1) or ''}{m.group(2)} {suite} {m.group(3)}"
        for m in (pattern.match(line.strip()) for line in lines)
        if m
    ]
    if not extra:
        raise LabError(f"found no apt source for suite {codename!r} (looked at {deb822} and {one_line})")
    (parts / "system.list").write_text("\n".join(lines) + "\n")
    (parts / "backports.list").write_text("\n".join(extra) + "\n")


def _deb822_fields(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = ""
    for line in stanza.splitlines():
        if line.startswith("#"):
            continue
        if line[:1].isspace() and key:
            fields[key] += "\n" + line
            continue
        key, sep, value = line.partition(":")
        if sep:
            key = key.strip()
            fields[key] = value.strip()
    return fields


def ensure_users(log: Log) -> None:
    """libvirtd refuses to start (`Failed to parse user/group 'libvirt-qemu'`) unless the user and group its
    build defaults to exist, even when qemu.conf says root; libvirt-daemon-system would create them but is not
    installed."""
    for group in ("kvm", "libvirt-qemu"):
        if run(["getent", "group", group], check=False).returncode != 0:
            log(f"creating system group {group}")
            run(["groupadd", "--system", group])
    if run(["getent", "passwd", "libvirt-qemu"], check=False).returncode != 0:
        log("creating system user libvirt-qemu")
        run(
            [
                "useradd",
                "--system",
                "--gid",
                "libvirt-qemu",
                "--groups",
                "kvm",
                "--no-create-home",
                "--home-dir",
                "/var/lib/libvirt",
                "--shell",
                "/usr/sbin/nologin",
                "libvirt-qemu",
            ]
        )


# -- the guest kernel ----------------------------------------------------------------------------------------

_KERNEL_MEMBERS = re.compile(
    r"^\./(boot/vmlinuz-[^/]+"
    r"|(usr/)?lib/modules/[^/]+/(modules\.builtin|kernel/drivers/(virtio/[^/]+|block/virtio_blk)\.ko(\.xz|\.gz)?))$"
)


def ensure_kernel(paths: Paths, apt: _Apt, log: Log) -> Kernel:
    """The distribution's generic kernel, unpacked into the cache (no maintainer scripts run, nothing
    installed): its vmlinuz and the virtio modules the initramfs loads."""
    root = paths.cache / "kernel"
    cached = _cached_kernel(root)
    if cached:
        return cached
    apt.update()
    meta = "linux-image-amd64" if os_release().get("ID") == "debian" else "linux-image-virtual"
    out = run(["apt-cache", "depends", meta], env=_env()).stdout
    match = re.search(r"Depends:\s*(linux-image-\S+)", out)
    if not match:
        raise LabError(
            f"cannot tell which kernel package {meta} depends on (apt-cache depends said: {out.strip()})"
        )
    package = match.group(1)
    download = root / "download"
    shutil.rmtree(download, ignore_errors=True)
    download.mkdir(parents=True)
    log(f"downloading guest kernel {package}")
    # apt-get download writes to the working directory.
    proc = subprocess.run(
        ["apt-get", "download", package], cwd=download, env=_env(), capture_output=True, text=True
    )
    debs = sorted(download.glob("*.deb"))
    if proc.returncode != 0 or not debs:
        raise LabError(f"apt-get download {package} failed: {proc.stderr.strip()[-2000:]}")
    staging = root / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(debs[0])], stdout=subprocess.PIPE) as dpkg:
        assert dpkg.stdout is not None
        with tarfile.open(fileobj=dpkg.stdout, mode="r|") as tar:
            for member in tar:
                if _KERNEL_MEMBERS.match(member.name) and (member.isfile() or member.isdir()):
                    tar.extract(member, staging, filter="data")
    if dpkg.returncode != 0:
        raise LabError(f"dpkg-deb could not unpack {debs[0]}")
    kernel = _kernel_in(staging)
    if not kernel:
        raise LabError(f"{debs[0].name} holds no boot/vmlinuz-*")
    final = root / kernel.version
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    shutil.rmtree(download, ignore_errors=True)
    log(f"guest kernel {kernel.version} unpacked")
    return _cached_kernel(root)  # type: ignore[return-value]


def _cached_kernel(root: Path) -> Kernel | None:
    found = [k for d in root.glob("*") if d.name not in ("download", "staging") and (k := _kernel_in(d))]
    return max(found, key=lambda k: k.version) if found else None


def _kernel_in(base: Path) -> Kernel | None:
    for vmlinuz in sorted(base.glob("boot/vmlinuz-*")):
        version = vmlinuz.name.removeprefix("vmlinuz-")
        for modules in (base / "lib" / "modules" / version, base / "usr" / "lib" / "modules" / version):
            if modules.is_dir():
                return Kernel(version, vmlinuz, modules)
    return None
