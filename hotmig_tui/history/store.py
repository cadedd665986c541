"""Every run and its samples in SQLite (XDG data dir, or HOTMIG_DATA_DIR, or an explicit path).

Samples arrive every 0.2-1 s per run: they are written in the caller's thread and committed in
batches, so the event loop never waits on a disk flush for each one.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotmig_tui.core.export import plain
from hotmig_tui.core.run import DiskProgress, MigrationPlan, Outcome, Phase, Sample
from hotmig_tui.paths import data_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    vm TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    target_host TEXT,
    target_datastore TEXT,
    backend TEXT NOT NULL,
    user TEXT NOT NULL,
    plan TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    phase TEXT NOT NULL,
    cause TEXT,
    error TEXT,
    vm_host TEXT,
    outcome TEXT
);
CREATE TABLE IF NOT EXISTS samples (run_id TEXT NOT NULL, t REAL NOT NULL, sample TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS samples_run ON samples (run_id, t);
CREATE TABLE IF NOT EXISTS log (run_id TEXT NOT NULL, t REAL NOT NULL, level TEXT NOT NULL, text TEXT NOT NULL);
"""
COMMIT_EVERY_S = 1.0


@dataclass(frozen=True)
class RunRecord:
    id: str
    vm: str
    kind: str
    source: str
    target_host: str | None
    target_datastore: str | None
    backend: str
    user: str
    started_at: float
    ended_at: float | None
    phase: str
    cause: str | None
    error: str | None
    vm_host: str | None
    outcome: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def default_path() -> Path:
    return data_dir() / "history.sqlite"


class History:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Several hotmig processes may share one history: WAL lets readers and one writer go together, and a
        # busy timeout waits for the other writer instead of failing.
        self._db = sqlite3.connect(self.path, timeout=10.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._last_commit = time.monotonic()

    def close(self) -> None:
        self._db.commit()
        self._db.close()

    def _maybe_commit(self, force: bool = False) -> None:
        if force or time.monotonic() - self._last_commit > COMMIT_EVERY_S:
            self._db.commit()
            self._last_commit = time.monotonic()

    def start_run(self, run_id: str, plan: MigrationPlan, backend: str, user: str) -> None:
        self._db.execute(
            "INSERT INTO runs (id, vm, kind, source, target_host, target_datastore, backend, user, plan, started_at,"
            " phase) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (run_id, plan.vm, plan.kind.value, plan.source, plan.target_host, plan.target_datastore, backend, user,
             json.dumps(plain(plan)), time.time(), Phase.QUEUED.value),
        )
        self._maybe_commit(force=True)

    def set_phase(self, run_id: str, phase: Phase) -> None:
        self._db.execute("UPDATE runs SET phase = ? WHERE id = ?", (phase.value, run_id))
        self._maybe_commit()

    def add_sample(self, run_id: str, sample: Sample) -> None:
        self._db.execute("INSERT INTO samples VALUES (?,?,?)", (run_id, sample.t, json.dumps(plain(sample))))
        self._maybe_commit()

    def add_log(self, run_id: str, t: float, level: str, text: str) -> None:
        self._db.execute("INSERT INTO log VALUES (?,?,?,?)", (run_id, t, level, text))
        self._maybe_commit()

    def finish_run(self, run_id: str, outcome: Outcome) -> None:
        self._db.execute(
            "UPDATE runs SET ended_at = ?, phase = ?, cause = ?, error = ?, vm_host = ?, outcome = ? WHERE id = ?",
            (time.time(), outcome.phase.value, outcome.cause.value if outcome.cause else None, outcome.error,
             outcome.vm_host, json.dumps(plain(outcome)), run_id),
        )
        self._maybe_commit(force=True)

    def runs(self, limit: int = 100) -> list[RunRecord]:
        rows = self._db.execute(
            "SELECT id, vm, kind, source, target_host, target_datastore, backend, user, started_at, ended_at, phase,"
            " cause, error, vm_host, outcome FROM runs ORDER BY started_at DESC LIMIT ?", (limit,)).fetchall()
        return [RunRecord(*row[:-1], json.loads(row[-1]) if row[-1] else None) for row in rows]

    def samples(self, run_id: str) -> list[Sample]:
        rows = self._db.execute("SELECT sample FROM samples WHERE run_id = ? ORDER BY t", (run_id,)).fetchall()
        return [sample_from_dict(json.loads(r[0])) for r in rows]

    def log(self, run_id: str) -> list[tuple[float, str, str]]:
        return self._db.execute("SELECT t, level, text FROM log WHERE run_id = ? ORDER BY t, rowid",
                                (run_id,)).fetchall()


def sample_from_dict(data: dict[str, Any]) -> Sample:
    disks = {k: DiskProgress(**v) for k, v in data.pop("disks", {}).items()}
    return Sample(**{**data, "phase": Phase(data["phase"]), "disks": disks})
