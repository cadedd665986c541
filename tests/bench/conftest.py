from __future__ import annotations

import pytest

from tests.conftest import BENCH_LINES


@pytest.fixture
def report():  # type: ignore[no-untyped-def]
    """Append a line to the benchmark table printed at the end of the run (pytest's terminal summary)."""
    return BENCH_LINES.append
