"""What a rule is and what it reports: severities, statuses, findings.

A rule reports only problems: a finding has status *failed* (the facts break the constraint) or *unknown*
(the fact it needs was never probed, or the probe is stale). A rule that passes reports nothing, and an
unknown is never shown as a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from hotmig_tui.core.run import MigrationKind

# ("vm" | "host" | "datastore" | "cluster", name): an object a finding names, for marking tree nodes.
ObjectKey = tuple[str, str]


class Severity(IntEnum):
    """Ordered: a larger value is worse. Errors block; warnings need the user's confirmation (as vCenter's
    check results do); info is shown and asks nothing."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    @property
    def label(self) -> str:
        return self.name.lower()


class Status(StrEnum):
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str  # "VM-C1.dev"
    article: str  # the article's constraint it implements ("VM-C1"), or "" beyond the article
    severity: Severity
    status: Status
    message: str
    remedy: str
    objects: tuple[ObjectKey, ...] = ()
    age_s: float | None = None  # age of the probe fact behind it, when there is one

    @property
    def blocks(self) -> bool:
        return self.severity is Severity.ERROR and self.status is Status.FAILED


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    article: str
    kinds: frozenset[MigrationKind]
    severity: Severity
    checks: str  # what it checks, one line (README table, help screens)
    remedy: str

    def failed(
        self,
        message: str,
        objects: tuple[ObjectKey, ...] = (),
        *,
        remedy: str | None = None,
        severity: Severity | None = None,
        age_s: float | None = None,
    ) -> Finding:
        return Finding(
            self.id,
            self.article,
            self.severity if severity is None else severity,
            Status.FAILED,
            message,
            remedy or self.remedy,
            objects,
            age_s,
        )

    def unknown(
        self,
        message: str,
        objects: tuple[ObjectKey, ...] = (),
        *,
        remedy: str | None = None,
        age_s: float | None = None,
    ) -> Finding:
        # An unchecked error-rule is a risk the user must accept (warning); an unchecked warning-rule is
        # only worth knowing about (info). Neither blocks.
        severity = Severity.WARNING if self.severity is Severity.ERROR else Severity.INFO
        return Finding(
            self.id, self.article, severity, Status.UNKNOWN, message, remedy or self.remedy, objects, age_s
        )
