import pytest

pytest.importorskip("libvirt", reason="libvirt-python missing (needs libvirt-dev): pip install -e '.[libvirt]'")

from hotmig_tui.backends.libvirt.errors import failure_cause
from hotmig_tui.core.run import FailureCause


@pytest.mark.parametrize(("text", "cause"), [
    ("internal error: client socket is closed", FailureCause.NETWORK),
    ("internal error: qemu unexpectedly closed the monitor: error while loading state section id 2(ram)",
     FailureCause.NETWORK),
    ("internal error: qemu unexpectedly closed the monitor: process exited", FailureCause.HOST_FAILED),
    ("operation failed: guest CPU doesn't match specification: missing features: avx512f",
     FailureCause.CPU_INCOMPATIBLE),
    ("Cannot access storage file '/var/lib/hotmig-lab/shared/idle.qcow2': No such file or directory",
     FailureCause.DISK_UNREACHABLE),
    ("internal error: process exited while connecting to monitor: cannot allocate memory", FailureCause.RESOURCES),
])
def test_messages_map_to_the_article(text: str, cause: FailureCause) -> None:
    assert failure_cause(text) is cause


def test_a_lost_host_is_vm_f2() -> None:
    assert failure_cause("internal error: client socket is closed", host_down=True) is FailureCause.HOST_FAILED
    assert failure_cause("something nobody planned for") is None
