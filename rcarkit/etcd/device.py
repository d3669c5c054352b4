"""What a PATH sits on: filesystem, mount options, block device and its kind.

``describe_path(path)`` returns a :class:`StorageDevice`. How it finds out:

1. The mount: the entry of ``/proc/self/mountinfo`` whose mount point is the
   longest prefix of the resolved path (the last such entry wins, as a later
   mount shadows an earlier one on the same directory). It gives the
   filesystem type, the mount options (per-mount and superblock options, e.g.
   ``noatime``, ``data=ordered``, ``commit=5``), the source and the device
   number ``MAJ:MIN``. Where mountinfo cannot be read (not Linux, no /proc),
   ``psutil.disk_partitions(all=True)`` is used instead.
2. The block device: ``/sys/dev/block/MAJ:MIN`` (or ``/sys/class/block/NAME``
   for the source's name when the number is a virtual one, e.g. btrfs), a
   partition's parent being the whole disk. Device-mapper and md devices are
   followed down through ``slaves/`` to the first physical disk.
3. The kind (``kind``):

   =============  ==========================================================
   emmc / sd      ``mmcblkN`` with ``device/type`` "MMC" or "SD"
   nvme           ``nvme*``
   usb            a disk whose sysfs device path goes through a USB bus
   sata           other SCSI disks (``sd*``), not rotational
   rotational     a SCSI/SATA disk with ``queue/rotational`` = 1
   virtio         ``vd*`` or a sysfs path through virtio (and virtiofs)
   loop           ``loopN``; ``backing_file`` names the file behind it
   tmpfs          tmpfs / ramfs (``persistent`` is False)
   overlay        overlayfs (container root filesystems)
   network        nfs, cifs, ceph, 9p, sshfs, glusterfs ...
   unknown        anything else (ubifs on raw NAND, zram, ...)
   =============  ==========================================================

``sys_root`` and ``proc_root`` let tests describe fixture trees instead of the
running machine.
"""

import os
from dataclasses import asdict, dataclass, field
from typing import List, Optional, Tuple

from rcarkit.errors import RcarkitError

__all__ = ["StorageDevice", "MountEntry", "describe_path", "read_mountinfo", "find_mount"]

RAM_FILESYSTEMS = {"tmpfs", "ramfs"}
NETWORK_FILESYSTEMS = {
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "9p", "glusterfs",
    "fuse.sshfs", "fuse.glusterfs", "lustre", "afs",
}


@dataclass
class StorageDevice:
    """The storage behind a path (see the module docstring for ``kind``)."""

    path: str
    mountpoint: str
    fstype: str
    mount_options: List[str]
    device: Optional[str]  # e.g. /dev/mmcblk0p2; None for tmpfs / overlay / network
    kind: str
    rotational: Optional[bool]
    model: Optional[str]
    persistent: bool
    disk: Optional[str] = None  # whole-disk name, e.g. "mmcblk0"
    backing_file: Optional[str] = None  # loop devices
    source: Optional[str] = None  # mount source as in mountinfo
    notes: List[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        """One line for a table: ``ext4 on /dev/mmcblk0p2 (emmc, SEM32G)``."""
        what = self.device or self.source or "-"
        extra = [self.kind]
        if self.model:
            extra.append(self.model)
        if self.backing_file:
            extra.append("file " + self.backing_file)
        return "%s on %s (%s)" % (self.fstype, what, ", ".join(extra))


@dataclass
class MountEntry:
    mountpoint: str
    fstype: str
    source: str
    options: List[str]
    devno: Optional[Tuple[int, int]]


def _unescape(field_text: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal ``\\ooo``."""
    out = []
    i = 0
    while i < len(field_text):
        c = field_text[i]
        if c == "\\" and i + 3 < len(field_text) + 0 and field_text[i + 1:i + 4].isdigit():
            out.append(chr(int(field_text[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(c)
            i += 1
    return "".join(out)


def read_mountinfo(proc_root: str = "/proc") -> Optional[List[MountEntry]]:
    """Parse ``PROC/self/mountinfo``; None when it cannot be read."""
    path = os.path.join(proc_root, "self", "mountinfo")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    entries = []
    for line in lines:
        parts = line.split()
        try:
            sep = parts.index("-", 6)
        except ValueError:
            continue
        if len(parts) < sep + 3:
            continue
        try:
            major, minor = parts[2].split(":")
            devno = (int(major), int(minor))
        except ValueError:
            devno = None
        opts = parts[5].split(",")
        for o in parts[sep + 3].split(",") if len(parts) > sep + 3 else []:
            if o not in opts:
                opts.append(o)
        entries.append(MountEntry(
            mountpoint=_unescape(parts[4]), fstype=parts[sep + 1],
            source=_unescape(parts[sep + 2]), options=opts, devno=devno))
    return entries


def _psutil_mounts() -> List[MountEntry]:
    import psutil  # lazy: check-kernel must not pay for it

    entries = []
    for p in psutil.disk_partitions(all=True):
        entries.append(MountEntry(mountpoint=p.mountpoint, fstype=p.fstype,
                                  source=p.device, options=p.opts.split(","),
                                  devno=None))
    return entries


def _is_under(path: str, mountpoint: str) -> bool:
    if mountpoint == "/":
        return path.startswith("/")
    return path == mountpoint or path.startswith(mountpoint.rstrip("/") + "/")


def find_mount(path: str, entries: List[MountEntry]) -> Optional[MountEntry]:
    """The mount holding ``path``: longest mount point prefix, last one wins."""
    best = None
    for e in entries:
        if _is_under(path, e.mountpoint):
            if best is None or len(e.mountpoint) >= len(best.mountpoint):
                best = e
    return best


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


def _sys_block_dir(sys_root: str, mount: MountEntry) -> Optional[str]:
    """Resolved sysfs directory of the mount's block device (maybe a partition)."""
    if mount.devno is not None and mount.devno[0] != 0:
        p = os.path.join(sys_root, "dev", "block", "%d:%d" % mount.devno)
        if os.path.exists(p):
            return os.path.realpath(p)
    if mount.source.startswith("/dev/"):
        name = os.path.basename(os.path.realpath(mount.source)
                                if sys_root == "/sys" else mount.source)
        p = os.path.join(sys_root, "class", "block", name)
        if os.path.exists(p):
            return os.path.realpath(p)
    return None


def _disk_dir(block_dir: str) -> str:
    """A partition's parent disk directory; a disk is its own."""
    if os.path.exists(os.path.join(block_dir, "partition")):
        return os.path.dirname(block_dir)
    return block_dir


def _follow_slaves(sys_root: str, disk_dir: str, depth: int = 0) -> str:
    """dm-*/md*: descend into the first slave until a real disk."""
    slaves = os.path.join(disk_dir, "slaves")
    if depth > 8 or not os.path.isdir(slaves):
        return disk_dir
    names = sorted(os.listdir(slaves))
    if not names:
        return disk_dir
    target = os.path.realpath(os.path.join(slaves, names[0]))
    return _follow_slaves(sys_root, _disk_dir(target), depth + 1)


def _classify_disk(disk_dir: str) -> Tuple[str, Optional[bool], Optional[str], Optional[str], List[str]]:
    """(kind, rotational, model, backing_file, notes) for a whole-disk sysfs dir."""
    name = os.path.basename(disk_dir)
    notes = []
    rot_text = _read(os.path.join(disk_dir, "queue", "rotational"))
    rotational = None if rot_text is None else rot_text == "1"
    device_link = os.path.join(disk_dir, "device")
    model = (_read(os.path.join(device_link, "model"))
             or _read(os.path.join(device_link, "name")) or None)
    backing = None
    real = os.path.realpath(disk_dir)
    if name.startswith("mmcblk"):
        card_type = _read(os.path.join(device_link, "type"))
        if card_type == "MMC":
            kind = "emmc"
        elif card_type == "SD":
            kind = "sd"
        else:
            kind = "unknown"
            notes.append("mmc device type %r" % (card_type,))
    elif name.startswith("nvme"):
        kind = "nvme"
    elif name.startswith("loop"):
        kind = "loop"
        backing = _read(os.path.join(disk_dir, "loop", "backing_file")) or None
    elif "/usb" in real:
        kind = "usb"
    elif name.startswith("vd") or "/virtio" in real:
        kind = "virtio"
    elif name.startswith(("sd", "hd")):
        kind = "rotational" if rotational else "sata"
    elif name.startswith(("zram", "ram")):
        kind = "unknown"
        notes.append("RAM-backed block device")
    else:
        kind = "unknown"
    return kind, rotational, model, backing, notes


def describe_path(path, sys_root: str = "/sys", proc_root: str = "/proc") -> StorageDevice:
    """Describe the storage behind ``path`` (which must exist)."""
    path = str(path)
    if not os.path.exists(path):
        raise RcarkitError("no such file or directory", path=path)
    real = os.path.realpath(path)
    entries = read_mountinfo(proc_root)
    if entries is None:
        entries = _psutil_mounts()
    mount = find_mount(real, entries)
    if mount is None:
        return StorageDevice(path=path, mountpoint="", fstype="unknown",
                             mount_options=[], device=None, kind="unknown",
                             rotational=None, model=None, persistent=True,
                             notes=["no mount found for this path"])
    fstype = mount.fstype
    base = dict(path=path, mountpoint=mount.mountpoint, fstype=fstype,
                mount_options=mount.options, source=mount.source)
    if fstype in RAM_FILESYSTEMS:
        return StorageDevice(device=None, kind="tmpfs", rotational=False, model=None,
                             persistent=False, **base)
    if fstype == "overlay":
        return StorageDevice(device=None, kind="overlay", rotational=None, model=None,
                             persistent=True, **base)
    if fstype in NETWORK_FILESYSTEMS or fstype.startswith("nfs"):
        return StorageDevice(device=None, kind="network", rotational=None, model=None,
                             persistent=True, **base)
    if fstype == "virtiofs":
        return StorageDevice(device=None, kind="virtio", rotational=None, model=None,
                             persistent=True, **base)
    block_dir = _sys_block_dir(sys_root, mount)
    if block_dir is None:
        device = mount.source if mount.source.startswith("/dev/") else None
        return StorageDevice(device=device, kind="unknown", rotational=None, model=None,
                             persistent=True,
                             notes=["block device not found in %s" % sys_root], **base)
    device = "/dev/" + os.path.basename(block_dir)
    disk_dir = _follow_slaves(sys_root, _disk_dir(block_dir))
    kind, rotational, model, backing, notes = _classify_disk(disk_dir)
    return StorageDevice(device=device, kind=kind, rotational=rotational, model=model,
                         persistent=True, disk=os.path.basename(disk_dir),
                         backing_file=backing, notes=notes, **base)
