"""Shared test set-up: every test sees an empty user config dir and its own data dir."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))


BENCH_LINES: list[str] = []
# Tables printed at the end of the run, in the CI log: section title -> lines.
REPORTS: dict[str, list[str]] = {}


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if BENCH_LINES:
        terminalreporter.section("benchmarks (numbers, not pass/fail; baseline measured in the same run)")
        for line in BENCH_LINES:
            terminalreporter.write_line(line)
    for title, lines in REPORTS.items():
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
