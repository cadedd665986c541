import pytest

from hotmig_tui.core.units import fmt_bytes, fmt_rate, fmt_seconds, parse_rate, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8 GiB", 8 * 2**30), ("512MiB", 512 * 2**20), ("1.5 TB", 1_500_000_000_000), ("4096", 4096),
     ("3.1 GiB", 3328599654)],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1 Gbit/s", 125_000_000), ("40 MiB/s", 40 * 2**20), ("10 Gbit/s", 1_250_000_000), ("200 mbit/s", 25_000_000)],
)
def test_parse_rate(text: str, expected: float) -> None:
    assert parse_rate(text) == pytest.approx(expected)


@pytest.mark.parametrize("bad", ["8 GB/s", "eight GiB", "8 parsecs", ""])
def test_parse_size_rejects_with_a_reason(bad: str) -> None:
    with pytest.raises(ValueError, match=r"expected|unknown"):
        parse_size(bad)


def test_parse_rate_needs_per_second() -> None:
    with pytest.raises(ValueError, match=r"/s"):
        parse_rate("40 MiB")


def test_formatting() -> None:
    assert fmt_bytes(3.1 * 2**30) == "3.1 GiB"
    assert fmt_bytes(141 * 2**30) == "141 GiB"
    assert fmt_bytes(None) == "?"
    assert fmt_rate(125_000_000) == "119 MiB/s"
    assert fmt_seconds(0.137) == "137 ms"
    assert fmt_seconds(4.12) == "4.1 s"
    assert fmt_seconds(800) == "13 min 20 s"
