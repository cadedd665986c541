"""The console reader, on made-up logs: no lab needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotmig_tui.lab import console

HB = "HOTMIG HB seq={seq} up_ms={seq}000 MEM OK gen=2 sweeps={ms} DISK OK gen=1 sweeps={ds}\r\n"


def _write(lab: Path, text: str) -> None:
    (lab / "consoles").mkdir(exist_ok=True)
    with open(lab / "consoles" / "g.log", "a") as f:
        f.write(text)


def test_parses_heartbeats_ok_and_bad() -> None:
    hb = console.parse_heartbeat("HOTMIG HB seq=7 up_ms=7012 MEM OK gen=3 sweeps=1 DISK OK gen=2 sweeps=0")
    assert hb and hb.ok and hb.seq == 7 and hb.mem_gen == 3 and hb.disk and hb.disk_gen == 2
    bad = console.parse_heartbeat(
        "HOTMIG HB seq=8 up_ms=8012 MEM BAD page=42 sweeps=1 DISK BAD block=9 sweeps=3"
    )
    assert bad and not bad.ok and bad.mem_bad_page == 42 and bad.disk_bad_block == 9 and bad.disk_sweeps == 3
    none = console.parse_heartbeat("HOTMIG HB seq=1 up_ms=1000 MEM OK gen=1 sweeps=0 DISK NONE")
    assert none and none.ok and not none.disk
    assert console.parse_heartbeat("HOTMIG BOOT guest=x") is None


def test_report_since_an_offset_ignores_partial_lines(tmp_path: Path) -> None:
    _write(tmp_path, "HOTMIG BOOT guest=g mem_ws=1\r\n" + HB.format(seq=1, ms=0, ds=0))
    mark = console.offset("g", tmp_path)
    _write(tmp_path, HB.format(seq=2, ms=0, ds=0) + HB.format(seq=3, ms=1, ds=0) + "HOTMIG HB seq=4 up_")
    report = console.scan("g", mark, tmp_path)
    assert [h.seq for h in report.heartbeats] == [2, 3] and report.ok and report.boots == 0
    assert not report.swept()
    _write(tmp_path, "ms=4000 MEM OK gen=2 sweeps=2 DISK OK gen=1 sweeps=2\r\n")
    report = console.scan("g", mark, tmp_path)
    assert [h.seq for h in report.heartbeats] == [2, 3, 4] and report.swept()
    assert console.wait_heartbeat("g", mark, timeout=1, lab=tmp_path).seq == 2


def test_trouble_and_reboots_make_a_report_not_ok(tmp_path: Path) -> None:
    _write(tmp_path, HB.format(seq=1, ms=0, ds=0))
    mark = console.offset("g", tmp_path)
    _write(
        tmp_path,
        "HOTMIG MEM BAD page=5 want_gen=2 got_gen=1 word=3 errno=0\n"
        "HOTMIG HB seq=2 up_ms=2000 MEM BAD page=5 sweeps=0 DISK OK gen=1 sweeps=0\n",
    )
    report = console.wait_healthy("g", mark, heartbeats=5, timeout=5, lab=tmp_path)
    assert not report.ok and report.trouble and "trouble" in report.summary()
    mark = console.offset("g", tmp_path)
    _write(tmp_path, "HOTMIG BOOT guest=g\n" + HB.format(seq=1, ms=0, ds=0))
    assert console.scan("g", mark, tmp_path).boots == 1 and not console.scan("g", mark, tmp_path).ok


def test_waiting_for_a_silent_guest_times_out(tmp_path: Path) -> None:
    _write(tmp_path, HB.format(seq=1, ms=0, ds=0))
    with pytest.raises(TimeoutError, match="no heartbeat"):
        console.wait_heartbeat("g", timeout=0.3, lab=tmp_path)
    with pytest.raises(TimeoutError):
        console.wait_healthy("g", console.offset("g", tmp_path), timeout=0.3, lab=tmp_path)
