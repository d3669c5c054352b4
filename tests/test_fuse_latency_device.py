"""The constant-latency test device (tests/fuse_latency.py) adds D ms per flush.

An ext4 fdatasync on it must take at least D (one flush of the loop device
reaches the FUSE server's fsync, which sleeps D) and grow with D. ~5 s; skips
without root, /dev/fuse, fusepy/libfuse2 or loop devices.
"""

import os
import statistics
import time

import pytest

from fuse_latency import ConstantLatencyExt4, Unavailable


def _fdatasync_ms(directory, n=20):
    fd = os.open(os.path.join(directory, "wal"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.posix_fallocate(fd, 0, 1 << 20)
        os.fsync(fd)
        out = []
        for _ in range(n):
            os.write(fd, b"x" * 2300)
            t0 = time.perf_counter()
            os.fdatasync(fd)
            out.append((time.perf_counter() - t0) * 1000.0)
        return out
    finally:
        os.close(fd)


def test_flush_latency_is_added_per_fdatasync():
    medians = {}
    for delay in (2, 20):
        try:
            with ConstantLatencyExt4(delay, size_mb=64) as dev:
                medians[delay] = statistics.median(_fdatasync_ms(dev.mountpoint))
        except Unavailable as e:
            pytest.skip("constant-latency device unavailable: %s" % e)
    assert medians[2] >= 2.0 and medians[20] >= 20.0, medians
    # the added latency, not the machine, dominates: 18 ms more delay per flush
    # shows up as at least 18 ms more per fdatasync
    assert medians[20] - medians[2] >= 18.0, medians
