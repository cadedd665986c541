"""Real hosts through libvirt-python (install the `libvirt` extra)."""

from hotmig_tui.backends.libvirt.backend import LibvirtBackend

__all__ = ["LibvirtBackend"]
