#!/usr/bin/env python3
"""A constant-latency block device for tests: ext4 on a loop device whose
backing file is served by a one-file FUSE filesystem that sleeps D ms on
every fsync.

Why: a cgroup IOPS throttle makes every level look alike (bursts, then a wait
for the next throttle window); eMMC and SD cards instead add latency to each
cache flush. device-mapper's ``delay`` target is not available here, FUSE is.

How the flush reaches us: ext4's fdatasync ends with a cache flush
(REQ_PREFLUSH, and FUA on the journal commit block, which the loop driver
emulates with a flush because it does not advertise FUA); the loop driver
turns every flush into ``vfs_fsync`` on its backing file (drivers/block/loop.c
``lo_req_flush``), which FUSE sends to this process as ``FUSE_FSYNC``. This
process is single-threaded (``nothreads=True``), so a flush also holds up
the reads and writes queued behind it, as a device whose flush is in
progress does. Reads and writes themselves are passed through to a file in
RAM (/dev/shm) without added delay.

Run as a program (the fixture below does that)::

    python3 tests/fuse_latency.py MOUNTPOINT BACKING_FILE DELAY_MS

serves ``MOUNTPOINT/disk.img`` = BACKING_FILE until unmounted
(``fusermount -u MOUNTPOINT``). ``ConstantLatencyExt4(delay_ms)`` builds
the whole stack (FUSE, loop device, mkfs.ext4, mount) and undoes it on exit;
it raises ``Unavailable`` without root, /dev/fuse, fusepy (PyPI; needs
Debian's libfuse2 and fuse for fusermount) or loop devices.
"""

import errno
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

import loop_ext4

IMAGE_NAME = "disk.img"


class Unavailable(Exception):
    """The machine lacks what the device needs (reason in the message)."""


def serve(mountpoint, backing, delay_s):
    from fuse import FUSE, FuseOSError, Operations  # fusepy

    fd = os.open(backing, os.O_RDWR)
    counts = {"fsync": 0}

    class OneFile(Operations):
        def _check(self, path):
            if path != "/" + IMAGE_NAME:
                raise FuseOSError(errno.ENOENT)

        def getattr(self, path, fh=None):
            now = time.time()
            if path == "/":
                return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2, "st_size": 0,
                        "st_atime": now, "st_mtime": now, "st_ctime": now}
            self._check(path)
            st = os.fstat(fd)
            return {"st_mode": stat.S_IFREG | 0o600, "st_nlink": 1, "st_size": st.st_size,
                    "st_atime": st.st_atime, "st_mtime": st.st_mtime,
                    "st_ctime": st.st_ctime, "st_blocks": st.st_blocks}

        def readdir(self, path, fh):
            return [".", "..", IMAGE_NAME]

        def open(self, path, flags):
            self._check(path)
            return 0

        def read(self, path, size, offset, fh):
            return os.pread(fd, size, offset)

        def write(self, path, data, offset, fh):
            return os.pwrite(fd, data, offset)

        def truncate(self, path, length, fh=None):
            self._check(path)
            os.ftruncate(fd, length)

        def fsync(self, path, datasync, fh):
            counts["fsync"] += 1
            time.sleep(delay_s)
            return 0

        def flush(self, path, fh):
            return 0

        def release(self, path, fh):
            return 0

        def statfs(self, path):
            st = os.statvfs(backing)
            return {k: getattr(st, k) for k in ("f_bsize", "f_frsize", "f_blocks", "f_bfree",
                                                 "f_bavail", "f_files", "f_ffree", "f_namemax")}

    FUSE(OneFile(), mountpoint, foreground=True, nothreads=True)


def _run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _ram_dir():
    try:
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize > 1024 * 1024 * 1024:
            return "/dev/shm"
    except OSError:
        pass
    return "/var/tmp"


class ConstantLatencyExt4:
    """ext4 on loop on FUSE adding ``delay_ms`` to every flush; mounted at
    ``.mountpoint``; ``.device`` the loop device, ``.majmin`` its numbers."""

    def __init__(self, delay_ms, size_mb=256, base=None):
        self.delay_ms = float(delay_ms)
        self.size_mb = size_mb
        self.base = base or _ram_dir()
        self.dir = self.fuse_mnt = self.proc = self.device = self.mountpoint = None
        self.majmin = None

    def __enter__(self):
        if os.geteuid() != 0:
            raise Unavailable("needs root (FUSE mount, losetup, mount)")
        if not os.path.exists("/dev/fuse"):
            raise Unavailable("/dev/fuse missing (modprobe fuse)")
        try:
            import fuse  # noqa: F401  (fusepy; loads libfuse.so.2)
        except (ImportError, OSError, EnvironmentError) as e:
            raise Unavailable("fusepy/libfuse2 not usable: %s (pip install fusepy; "
                              "apt install libfuse2 fuse)" % e)
        for tool in ("losetup", "mkfs.ext4", "mount", "umount", "fusermount"):
            if shutil.which(tool) is None:
                raise Unavailable("%s not installed" % tool)
        self.dir = tempfile.mkdtemp(prefix="rcarkit-fuse-", dir=self.base)
        try:
            backing = os.path.join(self.dir, "backing.img")
            with open(backing, "wb") as f:
                f.truncate(self.size_mb * 1024 * 1024)
            self.fuse_mnt = os.path.join(self.dir, "fuse")
            os.mkdir(self.fuse_mnt)
            self.log = open(os.path.join(self.dir, "fuse.log"), "wb")
            self.proc = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), self.fuse_mnt, backing,
                 str(self.delay_ms)], stdout=self.log, stderr=subprocess.STDOUT,
                # its own session: the "device" does not share the CPU autogroup of
                # whatever runs the test (sched_autogroup_enabled)
                start_new_session=True)
            image = os.path.join(self.fuse_mnt, IMAGE_NAME)
            deadline = time.time() + 20
            while not os.path.exists(image):
                if self.proc.poll() is not None or time.time() > deadline:
                    self.log.flush()
                    with open(os.path.join(self.dir, "fuse.log")) as f:
                        tail = f.read().strip().splitlines()[-1:] or ["no output"]
                    raise Unavailable("FUSE server did not start: %s" % tail[0])
                time.sleep(0.05)
            loop_ext4.mount(self, image, Unavailable)
        except BaseException:
            self.close()
            raise
        return self

    def close(self):
        loop_ext4.unmount(self)
        if self.fuse_mnt:
            for _ in range(50):  # the loop device lets go of the file asynchronously
                if _run(["fusermount", "-u", self.fuse_mnt]).returncode == 0 \
                        or not os.path.ismount(self.fuse_mnt):
                    break
                time.sleep(0.1)
            else:
                _run(["fusermount", "-u", "-z", self.fuse_mnt])
            self.fuse_mnt = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __exit__(self, *exc):
        self.close()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: fuse_latency.py MOUNTPOINT BACKING_FILE DELAY_MS")
    serve(sys.argv[1], sys.argv[2], float(sys.argv[3]) / 1000.0)
