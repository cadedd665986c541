"""Units of libvirt's job statistics: the Sample and the final record."""

import pytest

pytest.importorskip("libvirt", reason="libvirt-python missing (needs libvirt-dev): pip install -e '.[libvirt]'")

from hotmig_tui.backends.libvirt.samples import outcome_from_completed, sample_from_job_stats
from hotmig_tui.core.run import Phase

RUNNING = {"type": 2, "time_elapsed": 4100, "memory_total": 268435456, "memory_processed": 300000000,
           "memory_remaining": 20000000, "memory_dirty_rate": 5120, "memory_iteration": 4,
           "memory_bps": 41943040, "downtime": 480, "data_remaining": 20000000}


def test_running_sample_units() -> None:
    s = sample_from_job_stats(RUNNING, 4.1, Phase.PRECOPY, max_downtime=0.3, bandwidth=None, postcopy=False)
    assert s.dirty_rate == 5120 * 4096  # pages/s x page size
    assert s.expected_downtime == 0.48  # the running estimate, in seconds
    assert s.iteration == 4 and s.memory_remaining == 20000000 and s.transfer_rate == 41943040
    assert s.max_downtime == 0.3 and s.throttle is None and not s.disks


def test_whole_machine_disk_progress() -> None:
    stats = {**RUNNING, "disk_total": 100, "disk_processed": 40, "disk_bps": 7}
    s = sample_from_job_stats(stats, 1.0, Phase.MIRROR, max_downtime=0.3, bandwidth=None, postcopy=False,
                              disk_label="vda")
    assert s.disks["vda"].fraction == 0.4 and not s.disks["vda"].ready and s.transfer_rate == 7


def test_completed_record() -> None:
    completed = {"type": 3, "time_elapsed": 4153, "downtime": 20, "downtime_net": 18, "setup_time": 12,
                 "memory_iteration": 7, "data_processed": 412345678, "memory_processed": 412345678}
    o = outcome_from_completed(completed, "lab2", postcopy=False)
    assert o.ok and o.vm_host == "lab2" and o.downtime == 0.02 and o.total_time == 4.153
    assert o.iterations == 7 and o.bytes_sent == 412345678 and o.stats["downtime"] == 20
