"""Constraint rules for live migration (DESIGN.md §7): every constraint of the source article as a rule with
an id, the kinds it applies to, a severity and a remedy; the concurrency cost model; and the checks built on
them. Pure: no I/O, no Textual. See README.md in this directory for the table of rules."""

from hotmig_tui.core.rules.catalog import RULES, RULES_BY_ID
from hotmig_tui.core.rules.checker import Candidate, candidates, check, plan_for
from hotmig_tui.core.rules.costs import Resource, budget, costs, fits, full, load
from hotmig_tui.core.rules.facts import CheckContext, ConvergenceVerdict, Fact
from hotmig_tui.core.rules.findings import Finding, ObjectKey, Rule, Severity, Status
from hotmig_tui.core.rules.index import CheckIndex
from hotmig_tui.core.rules.verdicts import (
    Blocker,
    KindVerdict,
    ObjectMark,
    VmVerdict,
    check_inventory,
    object_findings,
)

__all__ = [
    "RULES",
    "RULES_BY_ID",
    "Blocker",
    "Candidate",
    "CheckContext",
    "CheckIndex",
    "ConvergenceVerdict",
    "Fact",
    "Finding",
    "KindVerdict",
    "ObjectKey",
    "ObjectMark",
    "Resource",
    "Rule",
    "Severity",
    "Status",
    "VmVerdict",
    "budget",
    "candidates",
    "check",
    "check_inventory",
    "costs",
    "fits",
    "full",
    "load",
    "object_findings",
    "plan_for",
]
