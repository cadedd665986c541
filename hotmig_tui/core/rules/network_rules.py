"""Rules about the network between the two hosts: VM-C4 (they reach each other on the migration network, a
probe fact) and VM-T.2 (migration traffic rides the management network when a cluster has no migration
network)."""

from __future__ import annotations

from hotmig_tui.core.model import Cluster, Host
from hotmig_tui.core.rules import catalog
from hotmig_tui.core.rules.facts import Fact, probed
from hotmig_tui.core.rules.findings import Finding


def reachability(
    source: Host, target: Host, facts: tuple[Fact[bool] | None, ...], stale: bool
) -> Finding | None:
    """VM-C4 from the probes of this pair. facts: the fresh results, in either direction (None where there is
    none); stale: a result exists but is too old to trust. No probe of the pair at all: use unprobed()."""
    objects = (("host", source.name), ("host", target.name))
    known = [f for f in facts if f is not None]
    for fact in known:
        if not fact.value:
            return catalog.REACHABLE.failed(
                f"{source.name}{_address(source)} and {target.name}{_address(target)} do not reach each "
                f"other on the migration network ({probed(fact)})",
                objects,
                age_s=fact.age_s,
            )
    if known:
        return None
    why = "the last probe is too old to trust" if stale else "no probe has checked it"
    return catalog.REACHABLE.unknown(
        f"whether {source.name}{_address(source)} and {target.name}{_address(target)} reach each other on "
        f"the migration network is unknown: {why}",
        objects,
    )


def unprobed(source: Cluster, target: Cluster) -> Finding:
    """VM-C4 when no probe has looked at the pair: unknown, one finding per pair of clusters."""
    clusters = source.name if source.name == target.name else f"{source.name} and {target.name}"
    nets = dict.fromkeys(n for n in (source.migration_network, target.migration_network) if n)
    if not nets:
        network = "the management network (no migration network)"
    elif len(nets) == 1 and source.migration_network and target.migration_network:
        network = f"the migration network {next(iter(nets))}"
    else:
        network = f"the migration networks {' and '.join(nets)} (which must be routed to each other)"
    return catalog.REACHABLE.unknown(
        f"no probe has checked that hosts in {clusters} reach each other on {network}",
        (("cluster", source.name), ("cluster", target.name)),
    )


def management_network(source_cluster: Cluster | None, target_cluster: Cluster | None) -> Finding | None:
    without = [
        c.name for c in dict.fromkeys((source_cluster, target_cluster)) if c and not c.migration_network
    ]
    if not without:
        return None
    clusters = f"clusters {' and '.join(without)} have" if len(without) > 1 else f"cluster {without[0]} has"
    return catalog.MANAGEMENT_NETWORK.failed(
        f"{clusters} no migration network: migration traffic rides the management network",
        tuple(("cluster", name) for name in without),
    )


def _address(host: Host) -> str:
    """' (10.20.0.4)': the host's migration address when it differs from its name, else ''."""
    address = host.address or host.uri.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    return f" ({address})" if address and address != host.name else ""
