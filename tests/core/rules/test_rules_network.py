"""VM-C4 (the hosts reach each other on the migration network: a probe fact) and VM-T.2."""

from __future__ import annotations

from hotmig_tui.core.rules import Fact, Severity, Status
from hotmig_tui.core.rules.network_rules import management_network, reachability, unprobed
from tests.core.rules.helpers import cluster, host

CNA1 = host("cna1", "prod-a", address="10.10.0.1")
CNA4 = host("cna4", "prod-b", address="10.20.0.4")


def test_a_successful_probe_passes() -> None:
    assert reachability(CNA1, CNA4, (Fact(True, 3.0), None), stale=False) is None


def test_a_failed_probe_in_either_direction_fails_with_its_age_and_detail() -> None:
    lost = Fact(False, 42.0, "ping 10.20.0.4: 100% loss")
    finding = reachability(CNA1, CNA4, (Fact(True, 3.0), lost), stale=False)
    assert finding is not None and finding.rule == "VM-C4" and finding.blocks
    assert "cna1 (10.10.0.1) and cna4 (10.20.0.4) do not reach each other" in finding.message
    assert "probed 42.0 s ago: ping 10.20.0.4: 100% loss" in finding.message
    assert finding.age_s == 42.0


def test_a_stale_probe_is_unknown() -> None:
    finding = reachability(CNA1, CNA4, (None, None), stale=True)
    assert finding is not None and finding.status is Status.UNKNOWN and not finding.blocks
    assert "too old" in finding.message


def test_no_probe_is_unknown_a_warning_naming_the_networks() -> None:
    a = cluster("prod-a", migration_network="10.10.0.0/24")
    b = cluster("prod-b", migration_network="10.20.0.0/24")
    finding = unprobed(a, b)
    assert (finding.rule, finding.status, finding.severity) == ("VM-C4", Status.UNKNOWN, Severity.WARNING)
    assert "prod-a and prod-b" in finding.message
    assert "10.10.0.0/24 and 10.20.0.0/24" in finding.message and "routed" in finding.message
    same = unprobed(a, a)
    assert "hosts in prod-a reach each other on the migration network 10.10.0.0/24" in same.message
    dev = cluster("dev")
    assert "management network" in unprobed(dev, dev).message


def test_management_network_note() -> None:
    assert management_network(cluster("a", migration_network="10.0.0.0/24"), None) is None
    finding = management_network(cluster("dev"), cluster("a", migration_network="10.0.0.0/24"))
    assert finding is not None
    assert (finding.rule, finding.article, finding.severity) == ("VM-T.2", "VM-T", Severity.INFO)
    assert finding.message.startswith("cluster dev has no migration network")
