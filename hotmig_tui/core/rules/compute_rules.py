"""Rules about the hosts' compute side: VM-C2.1 (CPU and memory on the target), VM-C2.2/VM-C2.3 (host
states), VM-C2.4 (memory-overcommit switch across clusters), VM-C2.5 (CPU compatibility, IMC).

Messages say "the VM" rather than its name so that one finding serves every VM with the same facts (the
checker caches them per memory size, per CPU mode and source CPU, per pair of clusters)."""

from __future__ import annotations

from hotmig_tui.core.model import Cluster, CpuMode, Host, HostState
from hotmig_tui.core.rules import catalog
from hotmig_tui.core.rules.findings import Finding, Severity
from hotmig_tui.core.units import fmt_bytes


def host_state(host: Host, role: str) -> Finding | None:
    """role: "source" or "target". A source in maintenance may still be evacuated; a target may not."""
    objects = (("host", host.name),)
    if host.state is HostState.DISCONNECTED:
        why = f": {host.error}" if host.error else ""
        return catalog.HOST_UP.failed(f"{role} host {host.name} is disconnected{why}", objects)
    if host.state is HostState.REBOOTING:
        return catalog.HOST_UP.failed(f"{role} host {host.name} is rebooting", objects)
    if host.state is HostState.MAINTENANCE and role == "target":
        return catalog.MAINTENANCE.failed(f"target host {host.name} is in maintenance mode", objects)
    return None


def target_memory(
    need: int, target: Host, overcommit: bool, free: int | None, incoming: int, age_s: float | None = None
) -> Finding | None:
    """free: the target's free memory (a fresh probe, else the snapshot), None when unknown; incoming: memory
    promised to migrations in flight to the same host."""
    objects = (("host", target.name),)
    if free is None:
        return catalog.MEMORY.unknown(
            f"free memory of target {target.name} is unknown; the VM needs {fmt_bytes(need)}",
            objects,
            remedy="probe the host's free memory (it is read when the host connects)",
        )
    available = free - incoming
    if need <= available:
        return None
    promised = (
        f" ({fmt_bytes(incoming)} of its {fmt_bytes(free)} is promised to migrations in flight)"
        if incoming
        else ""
    )
    message = (
        f"target {target.name} has {fmt_bytes(available)} free{promised}, the VM needs {fmt_bytes(need)}"
    )
    total = target.memory_total
    if overcommit and (total is None or need <= total):
        fits = (
            f"it fits in the host's {fmt_bytes(total)}"
            if total is not None
            else "the host's total is unknown"
        )
        return catalog.MEMORY.failed(
            f"{message}; memory overcommit is on in {target.cluster} and {fits}",
            objects,
            severity=Severity.WARNING,
            remedy="confirm to overcommit the host's memory, or choose a host with more free memory",
            age_s=age_s,
        )
    return catalog.MEMORY.failed(message, objects, age_s=age_s)


def target_cpus(vcpus: int, target: Host) -> Finding | None:
    objects = (("host", target.name),)
    if target.cpu_count is None:
        return catalog.CPUS.unknown(
            f"the CPU count of target {target.name} is unknown; the VM has {vcpus} vCPUs", objects
        )
    if vcpus <= target.cpu_count:
        return None
    return catalog.CPUS.failed(
        f"target {target.name} has {target.cpu_count} CPUs, the VM has {vcpus} vCPUs", objects
    )


def overcommit_match(source: Cluster, target: Cluster) -> Finding | None:
    if source.name == target.name or source.memory_overcommit == target.memory_overcommit:
        return None
    return catalog.OVERCOMMIT.failed(
        f"across clusters: {source.name} has memory overcommit {_on(source.memory_overcommit)}, "
        f"{target.name} has it {_on(target.memory_overcommit)}",
        (("cluster", source.name), ("cluster", target.name)),
    )


# QEMU's generic x86 models: every x86 host can give them to a guest, whatever its own CPU.
GENERIC_CPU_MODELS = frozenset({"qemu64", "qemu32", "kvm64", "kvm32"})


def cpu_compatible(
    mode: CpuMode | None,
    model: str | None,
    source: Host,
    target: Host,
    source_cluster: Cluster | None,
    target_cluster: Cluster | None,
) -> Finding | None:
    """VM-C2.5. Messages describe the source by its CPU, not its name, so one finding serves every host of a
    cluster with the same CPU."""
    objects = (("host", target.name),)
    src_base = source_cluster.cpu_compat_mode if source_cluster else None
    dst_base = target_cluster.cpu_compat_mode if target_cluster else None
    if mode is CpuMode.HOST_PASSTHROUGH:
        return _same_host_cpu(source, target, objects)
    if mode is CpuMode.CUSTOM and model:
        if model in (target.cpu_model, dst_base) or model in target.guest_cpu_models:
            return None
        if not target.guest_cpu_models and model in GENERIC_CPU_MODELS:
            return None
        if target.guest_cpu_models:
            return catalog.CPU_COMPAT.failed(
                f"the VM's custom CPU model {model} is not among the {len(target.guest_cpu_models)} models "
                f"target {target.name} can give guests",
                objects,
                remedy=f"choose a host whose hypervisor offers {model}, or give the VM a model every host offers",
            )
        if target.cpu_model is None:
            return catalog.CPU_COMPAT.unknown(
                f"the CPU model of target {target.name} is unknown; the VM needs {model}", objects
            )
        return catalog.CPU_COMPAT.failed(
            f"the VM's custom CPU model {model} is not offered by target {target.name}: it has "
            f"{target.cpu_model} and IMC is {dst_base or 'off'} in {target.cluster}",
            objects,
            remedy=f"choose a host with CPU model {model} or in a cluster with IMC baseline {model}",
        )
    if source.cpu_vendor and target.cpu_vendor and source.cpu_vendor != target.cpu_vendor:
        return catalog.CPU_COMPAT.failed(
            f"CPU vendors differ: {_cpus(source, target)}; no CPU compatibility mode spans vendors",
            objects,
            remedy=f"choose a host with {_a(source.cpu_vendor)} {source.cpu_vendor} CPU",
        )
    if src_base and src_base == dst_base:
        return None
    if source.cpu_model is None or target.cpu_model is None:
        which = "source host" if source.cpu_model is None else f"target {target.name}"
        return catalog.CPU_COMPAT.unknown(f"the CPU model of the {which} is unknown", objects)
    if source.cpu_model == target.cpu_model:
        return None
    if not src_base and not dst_base:
        clusters = " and ".join(dict.fromkeys((source.cluster, target.cluster)))
        return catalog.CPU_COMPAT.failed(
            f"CPU types differ: {_cpus(source, target)}, and IMC is off in {clusters}", objects
        )
    return catalog.CPU_COMPAT.failed(
        f"CPU types differ: {_cpus(source, target)}, and the clusters' IMC baselines differ: "
        f"{source.cluster} {src_base or 'off'}, {target.cluster} {dst_base or 'off'}",
        objects,
    )


def _same_host_cpu(source: Host, target: Host, objects: tuple[tuple[str, str], ...]) -> Finding | None:
    if source.cpu_model is None or target.cpu_model is None:
        which = "source host" if source.cpu_model is None else f"target {target.name}"
        return catalog.CPU_COMPAT.unknown(
            f"the VM uses host-passthrough and the CPU model of the {which} is unknown", objects
        )
    vendors_differ = bool(source.cpu_vendor and target.cpu_vendor and source.cpu_vendor != target.cpu_vendor)
    if source.cpu_model == target.cpu_model and not vendors_differ:
        return None
    return catalog.CPU_COMPAT.failed(
        f"the VM uses host-passthrough: {_cpus(source, target)}; IMC does not cover host-passthrough",
        objects,
        remedy=f"choose a host with {_a(source.cpu_model)} {source.cpu_model} CPU, "
        "or give the VM host-model or a custom model",
    )


def _cpus(source: Host, target: Host) -> str:
    """'the source has EPYC-Rome (AMD), target dev2 has Cascadelake-Server (Intel)'"""
    return f"the source has {_cpu(source)}, target {target.name} has {_cpu(target)}"


def _cpu(host: Host) -> str:
    return (host.cpu_model or "an unknown CPU") + (f" ({host.cpu_vendor})" if host.cpu_vendor else "")


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def _a(word: str | None) -> str:
    return "an" if word and word[0].lower() in "aeiou" else "a"
