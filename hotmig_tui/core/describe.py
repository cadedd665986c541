"""Runs in words: one sample's facts and one outcome, as the CLI's progress lines and the monitor show them."""

from __future__ import annotations

from hotmig_tui.core.run import Outcome, Sample
from hotmig_tui.core.units import fmt_bytes, fmt_rate, fmt_seconds


def sample_facts(s: Sample) -> list[str]:
    """What a sample reported, in reading order; a value the backend did not report is left out."""
    parts = []
    if s.iteration is not None:
        parts.append(f"pass {s.iteration}")
    if s.memory_remaining is not None:
        parts.append(f"remaining {fmt_bytes(s.memory_remaining)}")
    if s.dirty_rate is not None:
        parts.append(f"dirty {fmt_rate(s.dirty_rate)}")
    if s.transfer_rate is not None:
        parts.append(f"sending {fmt_rate(s.transfer_rate)}")
    if s.expected_downtime is not None:
        limit = f" / {fmt_seconds(s.max_downtime)}" if s.max_downtime is not None else ""
        parts.append(f"expected downtime {fmt_seconds(s.expected_downtime)}{limit}")
    if s.bandwidth:
        parts.append(f"cap {fmt_rate(s.bandwidth)}")
    if s.throttle:
        parts.append(f"throttle {s.throttle:.0%}")
    for name, disk in s.disks.items():
        parts.append(f"{name} {disk.fraction:.0%} of {fmt_bytes(disk.total)}{' READY' if disk.ready else ''}")
    if s.postcopy:
        parts.append("POST-COPY")
    return parts


def outcome_summary(o: Outcome) -> str:
    """One line: how it ended, why, and where the VM runs now."""
    if o.ok:
        facts = [f"downtime {fmt_seconds(o.downtime)}" if o.downtime is not None else "downtime not reported",
                 f"total {fmt_seconds(o.total_time)}" if o.total_time is not None else "",
                 f"{o.iterations} iterations" if o.iterations is not None else "",
                 f"{fmt_bytes(o.bytes_sent)} sent" if o.bytes_sent else ""]
        return f"DONE: {o.vm_host} runs the VM; " + ", ".join(f for f in facts if f)
    cause = f" {o.cause.value} ({o.cause.text})" if o.cause else ""
    paused = " — the VM is PAUSED" if o.vm_paused else ""
    return f"{o.phase.value.upper()}:{cause}: {o.error} — the VM runs on {o.vm_host or 'an unknown host'}{paused}"
