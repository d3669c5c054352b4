"""rcarkit.etcd.device on fake /proc and /sys trees and on this machine.

The fake trees copy the layout of the kernel's sysfs (Documentation/ABI:
/sys/dev/block/MAJ:MIN -> ../../devices/.../block/DISK[/PART], a partition
has a ``partition`` file, the disk has ``device`` -> its bus device with
``type`` for MMC cards (MMC / SD / SDIO, drivers/mmc/core/bus.c), ``model``
for SCSI/NVMe, ``queue/rotational``, ``loop/backing_file``) with the paths of
real boards (R-Car H3 eMMC on ee140000.mmc, Raspberry Pi SD on
fe340000.mmc, a USB stick behind xhci).
"""

import os
import subprocess

import pytest

from rcarkit.errors import RcarkitError
from rcarkit.etcd.device import describe_path, find_mount, read_mountinfo


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def _fake_disk(sys_root, devpath, disk, part, devno, *, dev_files=None,
               rotational="0", backing=None):
    """Create /sys/devices/<devpath>/block/<disk>/<part> and the dev/block link."""
    disk_dir = sys_root / "devices" / devpath / "block" / disk
    (disk_dir / "queue").mkdir(parents=True)
    _write(disk_dir / "queue" / "rotational", rotational)
    dev_dir = sys_root / "devices" / devpath
    for name, text in (dev_files or {}).items():
        _write(dev_dir / name, text)
    os.symlink(os.path.relpath(dev_dir, disk_dir), disk_dir / "device")
    if backing is not None:
        _write(disk_dir / "loop" / "backing_file", backing)
    target = disk_dir
    if part:
        target = disk_dir / part
        target.mkdir()
        _write(target / "partition", "1")
    (sys_root / "dev" / "block").mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(target, sys_root / "dev" / "block"),
               sys_root / "dev" / "block" / ("%d:%d" % devno))
    (sys_root / "class" / "block").mkdir(parents=True, exist_ok=True)
    link = sys_root / "class" / "block" / (part or disk)
    if not link.exists():
        os.symlink(os.path.relpath(target, sys_root / "class" / "block"), link)


def _mountinfo(proc_root, lines):
    _write(proc_root / "self" / "mountinfo", "\n".join(lines))


@pytest.fixture
def fake(tmp_path):
    sys_root = tmp_path / "sys"
    proc_root = tmp_path / "proc"
    data = tmp_path / "data"
    data.mkdir()
    return sys_root, proc_root, data


def _mnt(data, fstype, source, devno, opts="rw,relatime", sopts="rw"):
    return "30 1 %s / %s %s shared:1 - %s %s %s" % (devno, data, opts, fstype, source, sopts)


BASE = "1 0 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw"


def test_emmc_partition(fake):
    sys_root, proc_root, data = fake
    _fake_disk(sys_root, "platform/soc/ee140000.mmc/mmc_host/mmc0/mmc0:0001", "mmcblk0",
               "mmcblk0p2", (179, 2), dev_files={"type": "MMC", "name": "BGSD3R"})
    _mountinfo(proc_root, [BASE, _mnt(data, "ext4", "/dev/mmcblk0p2", "179:2",
                                      "rw,noatime", "rw,data=ordered")])
    d = describe_path(str(data), sys_root=str(sys_root), proc_root=str(proc_root))
    assert (d.kind, d.device, d.disk, d.model, d.fstype) == (
        "emmc", "/dev/mmcblk0p2", "mmcblk0", "BGSD3R", "ext4")
    assert "noatime" in d.mount_options and "data=ordered" in d.mount_options
    assert d.persistent and d.rotational is False
    assert d.mountpoint == str(data)


def test_sd_card(fake):
    sys_root, proc_root, data = fake
    _fake_disk(sys_root, "platform/emmc2bus/fe340000.mmc/mmc_host/mmc1/mmc1:aaaa", "mmcblk1",
               "mmcblk1p1", (179, 1), dev_files={"type": "SD", "name": "SC32G"})
    _mountinfo(proc_root, [BASE, _mnt(data, "ext4", "/dev/root", "179:1")])
    d = describe_path(str(data), sys_root=str(sys_root), proc_root=str(proc_root))
    assert d.kind == "sd" and d.device == "/dev/mmcblk1p1"


def test_nvme(fake):
    sys_root, proc_root, data = fake
    _fake_disk(sys_root, "pci0000:00/0000:00:01.0/0000:01:00.0/nvme/nvme0/nvme0n1", "nvme0n1",
               "nvme0n1p3", (259, 3), dev_files={"model": "Samsung SSD 980"})
    _mountinfo(proc_root, [BASE, _mnt(data, "xfs", "/dev/nvme0n1p3", "259:3")])
    d = describe_path(str(data), sys_root=str(sys_root), proc_root=str(proc_root))
    assert (d.kind, d.model, d.fstype) == ("nvme", "Samsung SSD 980", "xfs")


def test_usb_stick_whole_disk(fake):
    sys_root, proc_root, data = fake
    _fake_disk(sys_root, "platform/soc/ee0a0100.usb/usb2/2-1/2-1:1.0/host0/target0:0:0/0:0:0:0",
               "sda", None, (8, 0), dev_files={"model": "Ultra Fit"}, rotational="1")
    _mountinfo(proc_root, [BASE, _mnt(data, "ext4", "/dev/sda", "8:0")])
    d = describe_path(str(data), sys_root=str(sys_root), proc_root=str(proc_root))
    assert (d.kind, d.device, d.disk) == ("usb", "/dev/sda", "sda")


def test_sata_ssd_and_spinning_disk(fake):
    sys_root, proc_root, data = fake
    _fake_disk(sys_root, "pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0",
               "sda", "sda1", (8, 1), dev_files={"model": "WDC WD10EZEX"}, rotational="1")
    _fake_disk(sys_root, "pci0000:00/0000:00:17.0/ata2/host1/target1:0:0/1:0:0:0",
               "sdb", "sdb1", (8, 17), dev_files={"model": "CT500MX500"}, rotational="0")
    other = data / "ssd"
    other.mkdir()
    _mountinfo(proc_root, [BASE, _mnt(data, "ext4", "/dev/sda1", "8:1"),
                           _mnt(other, "ext4", "/dev/sdb1", "8:17")])
    hdd = describe_path(str(data), sys_root=str(sys_root), proc_root=str(proc_root))
    ssd = describe_path(str(other), sys_root=str(sys_root), proc_root=str(proc_root))
    assert (hdd.kind, hdd.rotational) == ("rotational", True)
    assert (ssd.kind, ssd.rotational, ssd.mountpoint) == ("sata", False, str(other))


def test_loop_with_backing_file_and_overmount(fake):
    sys_root, proc_root, data = fake
    _fake_disk(sys_root, "virtual", "loop3", None, (7, 3), backing="/var/tmp/disk.img")
    (sys_root / "devices" / "virtual" / "block" / "loop3" / "device").unlink()  # loops have none
    # two mounts on the same directory: the later one wins
    _mountinfo(proc_root, [BASE, _mnt(data, "tmpfs", "tmpfs", "0:50"),
                           _mnt(data, "ext4", "/dev/loop3", "7:3")])
    d = describe_path(str(data), sys_root=str(sys_root), proc_root=str(proc_root))
    assert (d.kind, d.backing_file, d.device) == ("loop", "/var/tmp/disk.img", "/dev/loop3")


def test_tmpfs_overlay_network_virtio(fake):
    sys_root, proc_root, data = fake
    dirs = {}
    for name in ("shm", "ovl", "nfs", "vd"):
        dirs[name] = data / name
        dirs[name].mkdir()
    _fake_disk(sys_root, "pci0000:00/0000:00:05.0/virtio2", "vdb", None, (254, 16))
    _mountinfo(proc_root, [
        BASE,
        _mnt(dirs["shm"], "tmpfs", "tmpfs", "0:40", sopts="rw,size=65536k"),
        _mnt(dirs["ovl"], "overlay", "overlay", "0:41",
             sopts="rw,lowerdir=/l,upperdir=/u,workdir=/w"),
        _mnt(dirs["nfs"], "nfs4", "server:/export", "0:42"),
        _mnt(dirs["vd"], "ext4", "/dev/vdb", "254:16"),
    ])
    kinds = {n: describe_path(str(p), sys_root=str(sys_root), proc_root=str(proc_root))
             for n, p in dirs.items()}
    assert kinds["shm"].kind == "tmpfs" and kinds["shm"].persistent is False
    assert kinds["shm"].device is None
    assert kinds["ovl"].kind == "overlay" and "upperdir=/u" in kinds["ovl"].mount_options
    assert kinds["nfs"].kind == "network"
    assert kinds["vd"].kind == "virtio"


def test_escaped_mountpoint(tmp_path):
    proc_root = tmp_path / "proc"
    _mountinfo(proc_root, [BASE, "31 1 0:60 / /mnt/my\\040disk rw - tmpfs tmpfs rw"])
    entries = read_mountinfo(str(proc_root))
    assert entries[1].mountpoint == "/mnt/my disk"
    assert find_mount("/mnt/my disk/etcd", entries).fstype == "tmpfs"
    assert find_mount("/mnt/my diskette", entries).mountpoint == "/"


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(RcarkitError) as e:
        describe_path(tmp_path / "nope")
    assert "nope" in str(e.value)


# --- this machine, checked against findmnt (util-linux) ---------------------------

@pytest.mark.parametrize("path", ["/", "/dev/shm", "/var/tmp"])
def test_this_machine_agrees_with_findmnt(path):
    if not os.path.exists(path):
        pytest.skip("%s does not exist here" % path)
    try:
        out = subprocess.run(["findmnt", "-n", "-o", "TARGET,FSTYPE", "-T", path],
                             stdout=subprocess.PIPE, check=True, timeout=10).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("findmnt (util-linux) not available")
    target, fstype = out.split()[:2]
    d = describe_path(path)
    assert (d.mountpoint, d.fstype) == (target, fstype)
    if fstype == "tmpfs":
        assert d.kind == "tmpfs" and not d.persistent


def test_psutil_fallback_without_mountinfo(tmp_path):
    """No readable mountinfo (empty proc_root): psutil.disk_partitions(all=True)."""
    psutil = pytest.importorskip("psutil")
    empty = tmp_path / "proc"
    empty.mkdir()
    d = describe_path("/dev/shm" if os.path.isdir("/dev/shm") else "/", proc_root=str(empty))
    by_mount = {p.mountpoint: p for p in psutil.disk_partitions(all=True)}
    assert d.mountpoint in by_mount
    assert d.fstype == by_mount[d.mountpoint].fstype
