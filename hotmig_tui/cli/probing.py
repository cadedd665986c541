"""Probe what the checks cannot know from libvirt, when the hosts are reached over SSH (else: unknown)."""

from __future__ import annotations

import dataclasses

from hotmig_tui.backends.base import Backend
from hotmig_tui.core.model import Inventory
from hotmig_tui.core.planning import context_for_plan
from hotmig_tui.core.rules import CheckContext
from hotmig_tui.core.run import MigrationPlan

MAX_FACT_AGE_S = 120.0  # older probe results count as unknown (shown as stale)


async def probed_context(backend: Backend, inventory: Inventory, plan: MigrationPlan) -> CheckContext:
    context = context_for_plan(inventory, plan)
    if getattr(backend, "ssh", None) is None:
        return context
    from hotmig_tui.backends.ssh import Prober  # asyncssh only when hosts are reached over SSH

    prober = Prober.for_backend(backend)
    if prober is None:
        return context
    await prober.for_plan(plan)
    return dataclasses.replace(context, max_fact_age=MAX_FACT_AGE_S, **prober.facts.for_checks())
