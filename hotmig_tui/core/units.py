"""Sizes and rates: parse what people write in inventory files, format what they read on screen."""

from __future__ import annotations

import math
import re

_SIZE_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_BIT_UNITS = {"bit": 1 / 8, "kbit": 10**3 / 8, "mbit": 10**6 / 8, "gbit": 10**9 / 8}
_NUMBER_UNIT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")

MiB = 2**20
GiB = 2**30


def parse_size(text: str) -> int:
    """'8 GiB' -> 8589934592. Raises ValueError naming the accepted units."""
    number, unit = _split(text)
    factor = _SIZE_UNITS.get(unit.lower() or "b")
    if factor is None:
        raise ValueError(f"unknown size unit {unit!r} in {text!r} (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)")
    size = number * factor
    if not math.isfinite(size):
        raise ValueError(f"{text!r} is too large")
    return round(size)


def parse_rate(text: str) -> float:
    """'40 MiB/s' or '1 Gbit/s' -> bytes per second."""
    stripped = text.strip()
    if not stripped.lower().endswith("/s"):
        raise ValueError(f"a rate needs '/s', as in '40 MiB/s' or '1 Gbit/s': got {text!r}")
    number, unit = _split(stripped[:-2])
    key = unit.lower() or "b"
    factor = _SIZE_UNITS.get(key) or _BIT_UNITS.get(key)
    if factor is None:
        raise ValueError(f"unknown rate unit {unit!r} in {text!r} (use MiB/s, GiB/s, MB/s, Mbit/s, Gbit/s)")
    rate = number * factor
    if not math.isfinite(rate):
        raise ValueError(f"{text!r} is too large")
    return rate


def _split(text: str) -> tuple[float, str]:
    match = _NUMBER_UNIT.match(text)
    if not match:
        raise ValueError(f"expected a number and a unit, as in '8 GiB': got {text!r}")
    return float(match.group(1)), match.group(2)


def fmt_bytes(value: float | None) -> str:
    """Binary units, three significant figures: 3.1 GiB, 512 MiB."""
    if value is None:
        return "?"
    for unit, factor in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(value) >= factor:
            return f"{_sig(value / factor)} {unit}"
    return f"{int(value)} B"


def fmt_rate(value: float | None) -> str:
    return "?" if value is None else f"{fmt_bytes(value)}/s"


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "?"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _sig(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.3g}"
