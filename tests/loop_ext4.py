"""ext4 on a loop device, the test devices' common part: attach an image file,
make the filesystem (no lazy init: background inode-table zeroing would skew
latencies), mount it, and undo all of that. Used by tests/test_etcd_throttled.py
(``LoopExt4``: a plain file) and tests/fuse_latency.py (``ConstantLatencyExt4``:
a file served through FUSE).

Both functions work on an object with ``device``, ``mountpoint``, ``majmin`` and
``dir`` attributes, set as each step succeeds so that a failure half-way can be
undone by :func:`unmount`.
"""

import os
import subprocess


def _run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def mount(dev, image, unavailable):
    """losetup + mkfs.ext4 + mount ``image`` under ``dev.dir/mnt``; raise
    ``unavailable(reason)`` when a step fails."""
    r = _run(["losetup", "-f", "--show", image])
    if r.returncode != 0:
        raise unavailable("losetup on %s failed: %s" % (image, r.stderr.decode().strip()))
    dev.device = r.stdout.decode().strip()
    r = _run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0",
              dev.device])
    if r.returncode != 0:
        raise unavailable("mkfs.ext4 failed: %s" % r.stderr.decode().strip())
    mountpoint = os.path.join(dev.dir, "mnt")
    os.mkdir(mountpoint)
    r = _run(["mount", "-t", "ext4", dev.device, mountpoint])
    if r.returncode != 0:
        raise unavailable("mount failed: %s" % r.stderr.decode().strip())
    dev.mountpoint = mountpoint
    rdev = os.stat(dev.device).st_rdev
    dev.majmin = "%d:%d" % (os.major(rdev), os.minor(rdev))


def unmount(dev):
    """Unmount (lazily when busy) and detach; safe after a partial :func:`mount`."""
    if dev.mountpoint and os.path.ismount(dev.mountpoint):
        if _run(["umount", dev.mountpoint]).returncode != 0:
            _run(["umount", "-l", dev.mountpoint])
    dev.mountpoint = None
    if dev.device:
        _run(["losetup", "-d", dev.device])
        dev.device = None
