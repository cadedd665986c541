"""Names, addresses and paths of the lab: one place, so `up`, `down`, `status` and tests agree.

Everything derives from the lab directory (`/var/lib/hotmig-lab`, or `$HOTMIG_LAB_DIR`) and the host index
(1-based). Host i is network namespace `hotmig-lab<i>` with address 198.18.0.<10+i> (198.18.0.0/15 is the
benchmarking range: never routed anywhere, and nothing leaves the lab's namespaces anyway).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from .errors import LabError

DEFAULT_LAB_DIR = Path("/var/lib/hotmig-lab")
LAB_NETNS = "hotmig-lab"
BRIDGE = "hmbr0"
SUBNET = "198.18.0.0/24"
PREFIX_LEN = 24
LIBVIRTD_PORT = 16509
MIGRATION_PORTS = (49152, 49215)
# The daemon directories libvirtd (as root) insists on; each host bind-mounts its own copy over them.
DAEMON_DIRS = ("/etc/libvirt", "/run/libvirt", "/var/lib/libvirt", "/var/log/libvirt", "/var/cache/libvirt")
CLUSTER_A = "lab-a"  # hosts 1 and 2, sharing the `shared` datastore
CLUSTER_B = "lab-b"  # hosts 3..N
SHARED_HOSTS = (1, 2)
# A unix socket path must fit in sun_path (108 bytes with the NUL).
_MAX_SOCKET_PATH = 107


def lab_dir() -> Path:
    raw = os.environ.get("HOTMIG_LAB_DIR") or str(DEFAULT_LAB_DIR)
    path = Path(raw)
    if not path.is_absolute():
        raise LabError(f"HOTMIG_LAB_DIR must be an absolute path, not {raw!r}")
    return path


def host_name(i: int) -> str:
    return f"lab{i}"


def host_index(name: str) -> int:
    if not name.startswith("lab") or not name[3:].isdigit():
        raise LabError(f"not a lab host name: {name!r} (expected lab1, lab2, ...)")
    return int(name[3:])


def host_netns(i: int) -> str:
    return f"{LAB_NETNS}{i}"


def host_address(i: int) -> str:
    return f"198.18.0.{10 + i}"


def bridge_port(i: int) -> str:
    """The lab-side end of host i's veth, in the bridge: setting it down cuts host i off."""
    return f"hm{i}b"


HOST_IFACE = "eth0"  # the host-side end of the veth, inside the host's namespace

# The client's leg: a veth from the root namespace into the lab bridge, so hotmig (in the root namespace) reaches
# the hosts' sshd at their addresses, as it would reach real hosts. Only the lab's /24 is routed through it.
CLIENT_IFACE = "hmc0"  # in the root namespace
CLIENT_PORT = "hmcb"  # its peer, in the bridge
CLIENT_ADDRESS = "198.18.0.2"
SSH_PORT = 22
SSH_USER = "root"


def ssh_address(i: int) -> str:
    return f"{SSH_USER}@{host_address(i)}:{SSH_PORT}"


def host_uuid(i: int) -> str:
    # Deterministic, distinct per host: libvirt refuses a migration between daemons with the same host_uuid.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:hotmig:lab:host:{i}"))


def host_cluster(i: int) -> str:
    return CLUSTER_A if i in SHARED_HOSTS else CLUSTER_B


def migration_uri(i: int) -> str:
    return f"qemu+tcp://{host_address(i)}/system"


@dataclass(frozen=True)
class Paths:
    """Where the lab keeps things. `root` is the lab directory; all else lives below it."""

    root: Path

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory.toml"

    @property
    def ssh_inventory(self) -> Path:
        """The same lab reached over SSH only: libvirt through hotmig's tunnels (`hotmig --lab --ssh`)."""
        return self.root / "inventory-ssh.toml"

    @property
    def ssh(self) -> Path:
        """The client side of the lab's SSH: known_hosts (the hosts' keys) and hotmig's key. Hidden from sshd."""
        return self.root / "ssh"

    @property
    def known_hosts(self) -> Path:
        return self.ssh / "known_hosts"

    @property
    def client_key(self) -> Path:
        return self.ssh / "id_ed25519"

    @property
    def hosts(self) -> Path:
        return self.root / "hosts"

    @property
    def shared(self) -> Path:
        """The shared datastore: visible in hosts 1 and 2, hidden (an empty dir bound over it) elsewhere."""
        return self.root / "shared"

    @property
    def local(self) -> Path:
        """Mount point of the local datastore: inside host i it shows that host's own `hosts/lab<i>/local`."""
        return self.root / "local"

    @property
    def consoles(self) -> Path:
        """Guest serial logs: outside every bind mount, so source and target QEMU append to the same file."""
        return self.root / "consoles"

    @property
    def empty(self) -> Path:
        """An always-empty directory, bound over paths a host must not see."""
        return self.root / "empty"

    @property
    def cache(self) -> Path:
        """Kept across `lab down`: apt lists, the guest kernel, built images, libvirt capability caches."""
        return self.root / "cache"

    @property
    def image(self) -> Path:
        return self.cache / "image"

    @property
    def log(self) -> Path:
        return self.root / "lab.log"

    def host(self, i: int) -> HostPaths:
        return HostPaths(self, i)


@dataclass(frozen=True)
class HostPaths:
    lab: Paths
    i: int

    @property
    def root(self) -> Path:
        return self.lab.hosts / host_name(self.i)

    def daemon_dir(self, inside: str) -> Path:
        """The per-host directory bound over one of DAEMON_DIRS (/run/libvirt -> hosts/lab1/run/libvirt)."""
        if inside == "/var/cache/libvirt":
            # Kept across `down`: a fresh daemon spends 5-8 s probing QEMU's capabilities without it.
            return self.lab.cache / "libvirt" / host_name(self.i)
        return self.root / inside.lstrip("/")

    @property
    def etc(self) -> Path:
        return self.daemon_dir("/etc/libvirt")

    @property
    def run(self) -> Path:
        return self.daemon_dir("/run/libvirt")

    @property
    def log(self) -> Path:
        return self.daemon_dir("/var/log/libvirt")

    @property
    def caps_cache(self) -> Path:
        return self.daemon_dir("/var/cache/libvirt") / "qemu" / "capabilities"

    @property
    def local(self) -> Path:
        """This host's local datastore, as seen from the root namespace."""
        return self.root / "local"

    @property
    def socket(self) -> Path:
        return self.run / "libvirt-sock"

    @property
    def pid_file(self) -> Path:
        return self.run / "libvirtd.pid"

    @property
    def qemu_pid_dir(self) -> Path:
        return self.run / "qemu"

    @property
    def daemon_out(self) -> Path:
        return self.log / "daemon.out"

    @property
    def uri(self) -> str:
        return f"qemu:///system?socket={self.socket}"

    @property
    def ssh(self) -> Path:
        """This host's /etc/ssh (bound there in its sshd's mount namespace): config, host key, pid file, log."""
        return self.root / "ssh"

    @property
    def sshd_pid_file(self) -> Path:
        return self.ssh / "sshd.pid"


def check_socket_path(paths: Paths) -> None:
    longest = str(paths.host(999).socket)
    if len(longest) > _MAX_SOCKET_PATH:
        raise LabError(
            f"lab directory {paths.root} is too long: libvirt's socket path {longest} would exceed "
            f"{_MAX_SOCKET_PATH} bytes; set HOTMIG_LAB_DIR to a shorter path"
        )
