"""etcd-bench --load etcd lands in the same or an adjacent histogram bucket as
a real etcd's own ``wal_fsync`` and ``backend_commit`` p99s (issue 9, "Done
when": every level).

The reference is Debian's etcd (etcd-server) on the same device under a put
load at the same rate (tests/etcd_reference.py), alternating four 10 s
windows of etcd's puts and of etcd-bench so drifting load reaches both.
Levels: ext4 loop devices throttled to 30, 100 and 300 write IOPS (at 30 the
backend commits compete with the WAL, where a saturated single writer
under-reads; at 300 etcd's rate leaves headroom, where it over-reads),
unthrottled, and constant-latency devices adding 2, 5, 10 and 20 ms per
flush (tests/fuse_latency.py: the 2-20 ms range where the verdict changes).
On a machine shared with other jobs the unthrottled level's p99 is CPU
scheduling (it missed by two buckets once on 2026-12-01 with about six other
jobs running); CI runs the tests one at a time.

Slow: about 100 s per level (40 s of etcd, 40 s of etcd-bench, set-up),
~13 minutes in all (benchmarks/etcd_calibration.py prints the same rows as a
table). A level more than one bucket apart is measured once more and must
agree then: on 2026-12-02 the 100-IOPS level missed in one of two CI runs on
a quiet machine and passed in the other. Nothing to cache: etcd comes from
apt, the devices are rebuilt per level. Skips without root, loop devices, a
blkio/io controller, /dev/fuse + fusepy, or etcd.
"""

import shutil

import pytest

from etcd_reference import Unavailable, calibrate, fmt_bucket, fmt_ms

pytestmark = pytest.mark.slow

LEVELS = [("iops", 30), ("iops", 100), ("iops", 300), ("unthrottled", None),
          ("latency", 2.0), ("latency", 5.0), ("latency", 10.0), ("latency", 20.0)]


@pytest.mark.parametrize("level", LEVELS, ids=lambda lv: "%s-%s" % lv)
def test_both_p99s_in_etcds_bucket_or_adjacent(level):
    if shutil.which("etcd") is None:
        pytest.skip("etcd not installed (apt install etcd-server)")
    misses = []
    for _attempt in range(2):   # a miss is measured once more; the second must agree
        try:
            row = calibrate(level, rate=10.0, seconds=40.0)
        except Unavailable as e:
            pytest.skip("device unavailable: %s" % e)
        assert row["put_failures"] == 0, row
        # etcd synced its WAL for (nearly) every put and committed its backend
        assert row["etcd_wal_syncs"] >= 0.5 * row["puts_sent"], row
        assert row["etcd_backend_commits"] >= 50, row
        what = ("%s: etcd WAL p99 %s, etcd-bench %s; etcd backend p99 %s, etcd-bench %s"
                % (row["level"], fmt_bucket(row["etcd_wal_p99_bucket_s"]),
                   fmt_ms(row["bench_wal_p99_s"]),
                   fmt_bucket(row["etcd_backend_p99_bucket_s"]),
                   fmt_ms(row["bench_backend_p99_s"])))
        if abs(row["wal_step"]) <= 1 and abs(row["backend_step"]) <= 1:
            return
        misses.append(what)
    pytest.fail("two attempts, both more than one bucket apart: " + " | ".join(misses))
