"""Domain, capabilities and pool XML as libvirt writes them -> the facts the checks need."""

import pytest

pytest.importorskip("libvirt", reason="libvirt-python missing (needs libvirt-dev): pip install -e '.[libvirt]'")

from hotmig_tui.backends.libvirt.xmlparse import parse_capabilities, parse_domain, parse_pool
from hotmig_tui.core.model import CpuMode, PassthroughKind

DOMAIN = """
<domain type='qemu'>
  <name>busy</name>
  <uuid>0c2b8cc6-3d7e-4a4f-9f51-8d1d9a1fd001</uuid>
  <metadata><hotmig:workload xmlns:hotmig="urn:hotmig:workload:1" dirty_rate="33554432" working_set="67108864"/>
  </metadata>
  <memory unit='KiB'>262144</memory>
  <vcpu placement='static'>1</vcpu>
  <cpu mode='custom' match='exact'><model fallback='forbid'>Haswell-noTSX</model></cpu>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='writeback'/>
      <source file='/var/lib/hotmig-lab/shared/busy.qcow2'/>
      <backingStore type='file'><format type='qcow2'/><source file='/golden.qcow2'/><backingStore/></backingStore>
      <target dev='vda' bus='virtio'/>
      <shareable/>
    </disk>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <source protocol='rbd' name='pool/img'/>
      <target dev='vdb' bus='virtio'/>
      <transient/>
    </disk>
    <disk type='file' device='cdrom'><source file='/iso/x.iso'/><target dev='sda' bus='sata'/></disk>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x3b' slot='0x00' function='0x0'/></source>
    </hostdev>
    <hostdev mode='subsystem' type='usb'><source><vendor id='0x0529'/><product id='0x0001'/></source></hostdev>
  </devices>
</domain>
"""


def test_domain_facts() -> None:
    d = parse_domain(DOMAIN)
    assert (d.name, d.vcpus, d.memory) == ("busy", 1, 256 * 2**20)
    assert d.cpu_mode is CpuMode.CUSTOM and d.cpu_model == "Haswell-noTSX"
    assert d.dirty_rate == 32 * 2**20 and d.working_set == 64 * 2**20
    vda, vdb = d.disks  # the cdrom is not storage that moves
    assert vda.backing_chain == ("/golden.qcow2",) and vda.shareable and vda.cache_mode == "writeback"
    assert vda.format == "qcow2" and vda.path.endswith("busy.qcow2")
    assert vdb.source_type == "network" and vdb.path == "rbd:pool/img" and vdb.transient
    assert [(p.kind, p.address) for p in d.passthrough] == [
        (PassthroughKind.PCI, "0000:3b:00.0"), (PassthroughKind.USB, "0x0529:0x0001")]
    assert d.pci_addresses == ("0000:3b:00.0",)


def test_capabilities() -> None:
    caps = parse_capabilities("""<capabilities><host><uuid>00000000-0000-0000-0000-000000000011</uuid>
      <cpu><arch>x86_64</arch><model>Skylake-Client-IBRS</model><vendor>Intel</vendor>
      <feature name='ss'/><feature name='vmx'/></cpu></host></capabilities>""")
    assert caps.uuid.endswith("11") and caps.cpu_model == "Skylake-Client-IBRS" and caps.cpu_vendor == "Intel"
    assert caps.cpu_features == {"ss", "vmx"}


def test_pool() -> None:
    pool = parse_pool("<pool type='dir'><name>local</name><target><path>/var/lib/x</path></target></pool>")
    assert (pool.name, pool.pool_type, pool.target_path) == ("local", "dir", "/var/lib/x")
