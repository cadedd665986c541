"""Every rule hotmig checks: its id (tied to the source article, `shared/seed/README.md`), the kinds of
migration it applies to, its severity, what it checks and the usual remedy. The README table mirrors this."""

from __future__ import annotations

from hotmig_tui.core.rules.findings import Rule, Severity
from hotmig_tui.core.run import MigrationKind

_VM = MigrationKind.VM
_ST = MigrationKind.STORAGE
_WM = MigrationKind.WHOLE
LIVE = frozenset({_VM, _WM})  # kinds that move the VM to another host
DISK = frozenset({_ST, _WM})  # kinds that move disks
ALL = frozenset(MigrationKind)
ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

PLAN = Rule(
    "PLAN",
    "",
    ALL,
    ERROR,
    "the plan names a VM, host and datastore that exist, with the targets its kind needs",
    "pick the VM and target again from the current inventory",
)
PLACEMENT = Rule(
    "VM-D",
    "VM-D",
    ALL,
    ERROR,
    "the plan's source is where the VM runs now, and the target host is another one",
    "choose another host (to move only disks, use a storage migration), or plan again",
)
RUNNING = Rule(
    "VM-C1.run",
    "VM-C1",
    LIVE,
    ERROR,
    "the VM is running (or paused): a stopped or crashed VM cannot be migrated live",
    "start the VM first, or move it while stopped (storage migration moves a stopped VM's disks)",
)
PASSTHROUGH = Rule(
    "VM-C1.dev",
    "VM-C1",
    LIVE,
    ERROR,
    "no GPU, PCI or USB device is passed through to the VM",
    "detach the passthrough devices (and re-attach them on the target), or shut the VM down and move it cold",
)
MEMORY = Rule(
    "VM-C2.1.mem",
    "VM-C2.1",
    LIVE,
    ERROR,
    "the target host's free memory holds the VM (with memory overcommit on: a warning if it fits only in "
    "total)",
    "choose a host with more free memory, or free memory on this one first",
)
CPUS = Rule(
    "VM-C2.1.cpu",
    "VM-C2.1",
    LIVE,
    ERROR,
    "the target host has at least as many CPUs as the VM has vCPUs",
    "choose a larger host, or give the VM fewer vCPUs",
)
HOST_UP = Rule(
    "VM-C2.2",
    "VM-C2.2",
    ALL,
    ERROR,
    "source and target hosts are connected, not disconnected or rebooting (storage: the VM's host)",
    "wait until the host is connected again, or choose another host",
)
MAINTENANCE = Rule(
    "VM-C2.3",
    "VM-C2.3",
    LIVE,
    ERROR,
    "the target host is not in maintenance mode",
    "take the host out of maintenance mode, or choose another host",
)
OVERCOMMIT = Rule(
    "VM-C2.4",
    "VM-C2.4",
    LIVE,
    ERROR,
    "across clusters, both clusters have the same memory-overcommit switch",
    "choose a host in a cluster with the same memory-overcommit setting, or align the two clusters' settings",
)
CPU_COMPAT = Rule(
    "VM-C2.5",
    "VM-C2.5",
    LIVE,
    ERROR,
    "CPU types match, or both clusters run IMC with the same baseline; host-passthrough needs the same host "
    "CPU; "
    "a custom CPU model must be the target's model or its IMC baseline",
    "choose a host with the same CPU model, or turn on IMC with one baseline in both clusters",
)
SHARED_STORAGE = Rule(
    "VM-C3",
    "VM-C3",
    LIVE,
    ERROR,
    "every disk is on shared storage the target host reaches (whole machine: only the disks it leaves in "
    "place)",
    "use a whole-machine migration (WM-N2), or move the disks to shared storage the target mounts first",
)
REACHABLE = Rule(
    "VM-C4",
    "VM-C4",
    LIVE,
    ERROR,
    "source and target hosts reach each other on the migration network (a probe fact)",
    "probe the pair; fix routing or firewall between the hosts' migration addresses",
)
CONVERGENCE = Rule(
    "VM-T",
    "VM-T",
    LIVE,
    WARNING,
    "the predictor expects pre-copy to converge (a verdict supplied by the predictor)",
    "migrate when the workload is quieter (VM-T1), use a dedicated migration network (VM-T2), "
    "or allow auto-converge or post-copy",
)
MANAGEMENT_NETWORK = Rule(
    "VM-T.2",
    "VM-T",
    LIVE,
    INFO,
    "the clusters have a dedicated migration network (otherwise migration traffic rides the management "
    "network)",
    "declare a migration_network for the cluster and give each host an address on it",
)
VIRTUALISED = Rule(
    "ST-C1",
    "ST-C1",
    DISK,
    ERROR,
    "the moved disks' source and target datastores hold image files, not raw volumes (LUNs)",
    "choose an image datastore (dir, fs, netfs, logical) as target; disks on raw LUNs cannot be moved live",
)
SHARED_OR_CLONE = Rule(
    "ST-C2",
    "ST-C2",
    DISK,
    ERROR,
    "no moved disk is shareable (multi-attach) or a linked clone",
    "detach the shared disk or leave it out; flatten a linked clone (virsh blockpull) before moving it",
)
TRANSIENT_OR_CACHED = Rule(
    "ST-C3",
    "ST-C3",
    DISK,
    ERROR,
    "live: no moved disk is non-persistent (<transient/>) or host-cached (cache writeback/unsafe, the "
    "ICache twin)",
    "make the disk persistent, or set cache='none' (or writethrough) and restart the VM, then move it",
)
DISTRIBUTED = Rule(
    "ST-C4",
    "ST-C4",
    DISK,
    ERROR,
    "live: neither the source nor the target datastore is distributed block storage (FusionStorage, rbd, "
    "sheepdog)",
    "leave disks on distributed block storage in place (the target reaches them), or move them while stopped",
)
COLD = Rule(
    "ST-C5",
    "ST-C5",
    frozenset({_ST}),
    ERROR,
    "stopped VM: to block storage, or from distributed block storage, "
    "no non-persistent disk and no disk with snapshots",
    "delete or merge the snapshots, make the disk persistent, or choose an image-file datastore as target",
)
DATASTORE_HOST = Rule(
    "ST-D.host",
    "ST-D",
    DISK,
    ERROR,
    "the target datastore is attached to the host the VM will run on (VM-F4)",
    "choose a datastore that host mounts, or attach the datastore to it",
)
DATASTORE_SPACE = Rule(
    "ST-D.space",
    "ST-D",
    DISK,
    ERROR,
    "the target datastore's free space holds the moved disks' allocation (a warning if not their full "
    "capacity)",
    "choose a datastore with more free space, or free space on it first",
)
DATASTORE_DIFFERS = Rule(
    "ST-D.differs",
    "ST-D",
    DISK,
    ERROR,
    "the target datastore is not the one a moved disk is already on",
    "choose another datastore, or leave that disk out of the move",
)
BUSY = Rule(
    "CC.vm",
    "",
    ALL,
    ERROR,
    "the VM has no other migration running or queued",
    "wait for the VM's running migration to end, or cancel it",
)
HOST_SLOTS = Rule(
    "CC.host",
    "",
    ALL,
    WARNING,
    "the hosts' migration budget (8; VM live costs 1, storage and whole machine 4) has room, else it queues",
    "start it anyway (it queues until a slot frees), or choose a less busy host",
)
DATASTORE_SLOTS = Rule(
    "CC.datastore",
    "",
    ALL,
    WARNING,
    "the datastores' budget (128; storage and whole machine cost 16, VM live 1) has room, else it queues",
    "start it anyway (it queues until a slot frees), or choose a less busy datastore",
)
NETWORK_SLOTS = Rule(
    "CC.network",
    "",
    LIVE,
    WARNING,
    "the hosts' migration network budget (4 below 10 Gbit/s, 8 from 10 Gbit/s; 1 per migration) has room",
    "start it anyway (it queues until a slot frees), or choose a host whose network is less busy",
)

RULES: tuple[Rule, ...] = (
    PLAN,
    PLACEMENT,
    RUNNING,
    PASSTHROUGH,
    MEMORY,
    CPUS,
    HOST_UP,
    MAINTENANCE,
    OVERCOMMIT,
    CPU_COMPAT,
    SHARED_STORAGE,
    REACHABLE,
    CONVERGENCE,
    MANAGEMENT_NETWORK,
    VIRTUALISED,
    SHARED_OR_CLONE,
    TRANSIENT_OR_CACHED,
    DISTRIBUTED,
    COLD,
    DATASTORE_HOST,
    DATASTORE_SPACE,
    DATASTORE_DIFFERS,
    BUSY,
    HOST_SLOTS,
    DATASTORE_SLOTS,
    NETWORK_SLOTS,
)
RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
# Findings are listed worst first, then in catalog order.
ORDER: dict[str, int] = {r.id: i for i, r in enumerate(RULES)}
