"""Pick the libvirt run for a plan's kind."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotmig_tui.backends.libvirt.memory_migration import MemoryMigration
from hotmig_tui.backends.libvirt.runbase import LibvirtRunBase
from hotmig_tui.backends.libvirt.storage_migration import StorageMigration
from hotmig_tui.core.run import MigrationKind, MigrationPlan

if TYPE_CHECKING:
    from hotmig_tui.backends.libvirt.backend import LibvirtBackend


def make_run(backend: LibvirtBackend, plan: MigrationPlan) -> LibvirtRunBase:
    if plan.kind is MigrationKind.STORAGE:
        return StorageMigration(backend, plan)
    return MemoryMigration(backend, plan)
