"""The rule catalog: ids tied to the article, the README table in step, findings only for their kinds."""

from __future__ import annotations

import re
from importlib.resources import files

from hotmig_tui.core.model import Inventory
from hotmig_tui.core.rules import RULES, RULES_BY_ID, CheckContext, Fact, candidates
from hotmig_tui.core.run import MigrationKind, MigrationPlan
from tests.core.rules.helpers import Verdict

ARTICLE_IDS = {
    "VM-C1",
    "VM-C2.1",
    "VM-C2.2",
    "VM-C2.3",
    "VM-C2.4",
    "VM-C2.5",
    "VM-C3",
    "VM-C4",
    "VM-T",
    "VM-D",
}
ARTICLE_IDS |= {"ST-C1", "ST-C2", "ST-C3", "ST-C4", "ST-C5", "ST-D"}


def test_ids_are_unique_and_every_article_constraint_has_a_rule() -> None:
    assert len(RULES_BY_ID) == len(RULES)
    assert {r.article for r in RULES if r.article} == ARTICLE_IDS
    for rule in RULES:
        assert rule.kinds and rule.checks and rule.remedy, rule.id
        assert not rule.article or rule.id.startswith(rule.article), rule.id


def test_readme_table_lists_every_rule_with_its_severity() -> None:
    readme = (files("hotmig_tui.core.rules") / "README.md").read_text()
    rows = dict(re.findall(r"^\| `([^`]+)` \| [^|]+ \| [^|]+ \| (\w+) \|", readme, re.MULTILINE))
    assert rows == {r.id: r.severity.label for r in RULES}


def test_findings_only_come_from_rules_for_that_kind(demo: Inventory) -> None:
    context = CheckContext(
        reachable={("cna1", "cna2"): Fact(False, 1.0)},
        predictions={"olap-01": Verdict(False, "too busy")},
        in_flight=(MigrationPlan("web-02", MigrationKind.VM, "cna1", "cna2"),),
    )
    for vm in demo.vms:
        for kind in MigrationKind:
            for candidate in candidates(vm.name, kind, demo, context):
                for finding in candidate.findings:
                    assert kind in RULES_BY_ID[finding.rule].kinds, (finding.rule, kind)
