"""Which failure cause of the article (seed VM-F) a blocking constraint stands for, when a run is refused."""

from __future__ import annotations

from hotmig_tui.core.rules.findings import Finding
from hotmig_tui.core.run import FailureCause

# By the article id a rule implements: the constraint whose breach would have made the run fail that way.
CAUSE_BY_ARTICLE: dict[str, FailureCause] = {
    "VM-C2.1": FailureCause.RESOURCES,
    "VM-C2.2": FailureCause.HOST_FAILED,
    "VM-C2.3": FailureCause.HOST_FAILED,
    "VM-C2.5": FailureCause.CPU_INCOMPATIBLE,
    "VM-C3": FailureCause.DISK_UNREACHABLE,
    "VM-C4": FailureCause.NETWORK,
}


def refusal_cause(findings: list[Finding]) -> FailureCause | None:
    """The cause of the first blocking finding that maps to one (findings come worst first)."""
    for finding in findings:
        if finding.blocks and (cause := CAUSE_BY_ARTICLE.get(finding.article)):
            return cause
    return None
