"""Calibration of etcd-bench --load etcd against a real etcd (shared by
tests/test_etcd_calibration.py and benchmarks/etcd_calibration.py).

For one storage level (an ext4 loop device with a cgroup write-IOPS throttle,
unthrottled, or a constant-latency device from tests/fuse_latency.py):

1. Debian's etcd (``/usr/bin/etcd``, a single member, in a session of its
   own like a service) runs with its ``--data-dir`` on the device (in the
   throttle's cgroup) and receives puts at ``rate`` per second on a fixed
   schedule (open loop: a dispatcher hands each put to a pool of 16 client
   threads, so a slow put does not delay the next one) through etcd's
   HTTP/JSON gateway ``/v3/kv/put``. ``/metrics`` is read before and after
   each window of puts; the differences of the
   ``etcd_disk_wal_fsync_duration_seconds`` and
   ``etcd_disk_backend_commit_duration_seconds`` histograms are what the
   load produced (bootstrap syncs excluded).
2. Between etcd's windows, with etcd idle (a single member with no
   proposals writes nothing), etcd-bench's ``measure_path(load="etcd",
   write_rate=rate, adaptive=False)`` runs on the same device in the same
   cgroup for a window of the same length. ``seconds`` is split into
   ``rounds`` such pairs (default 4 x 10 s), so both see the same drift of
   a shared machine's load: one 40 s run after the other let a burst of
   other work land in one of them only (2026-12-01/02: the same level read
   etcd 2-3 buckets above or below etcd-bench from one run to the next).
3. etcd's windows are summed into one histogram per metric and its p99
   bucket is the first whose cumulative count reaches 99 % of the total
   (what Prometheus' ``histogram_quantile`` interpolates within);
   etcd-bench's samples are pooled and their p99 placed in etcd's buckets
   (upper bounds 1 ms ... 8.192 s, doubling, then +Inf); ``step`` is
   etcd-bench's bucket index minus etcd's.
"""

import math
import os
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from test_etcd_throttled import (REPO, EtcdServer, IopsThrottle, LoopExt4,  # noqa: F401
                                 Unavailable, _backing_dir)

# etcd-bench's etcd load for one window; prints its raw samples (seconds)
BENCH_WINDOW = r"""
import json, sys
from rcarkit.etcd.bench import measure_path
m = measure_path(sys.argv[1], load="etcd", write_rate=float(sys.argv[2]),
                 max_time=float(sys.argv[3]), adaptive=False)
print(json.dumps({"wal": list(m.samples), "backend": list(m.backend_samples)}))
"""


def bench_window(path, rate, seconds, throttle=None):
    """etcd-bench --load etcd for ``seconds`` in a subprocess (in the
    throttle's cgroup): {"wal": [...], "backend": [...]} in seconds."""
    import json
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-c", BENCH_WINDOW, str(path), repr(rate),
                        repr(seconds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       cwd=str(REPO), env=dict(os.environ, PYTHONPATH=str(REPO)),
                       timeout=seconds + 300,
                       preexec_fn=throttle.preexec if throttle else None)
    if r.returncode != 0:
        raise AssertionError("etcd-bench failed: %s" % r.stderr.decode()[-2000:])
    return json.loads(r.stdout.decode())

WAL_METRIC = "etcd_disk_wal_fsync_duration_seconds"
BACKEND_METRIC = "etcd_disk_backend_commit_duration_seconds"
VALUE = "v" * 300  # a small Kubernetes object's worth of bytes


def parse_histogram(metrics_text, name):
    """{le: cumulative count} of histogram ``name`` in Prometheus text format."""
    out = {}
    pattern = re.compile(r'%s_bucket\{le="([^"]+)"\} (\S+)' % re.escape(name))
    for line in metrics_text.splitlines():
        m = pattern.match(line)
        if m:
            le = math.inf if m.group(1) == "+Inf" else float(m.group(1))
            out[le] = float(m.group(2))
    return out


def histogram_delta(before, after):
    return sorted((le, after[le] - before.get(le, 0.0)) for le in after)


def p99_bucket(buckets):
    """Upper bound of the bucket holding the p99 ([(le, cumulative)] sorted)."""
    total = buckets[-1][1]
    if total <= 0:
        return None
    for le, cum in buckets:
        if cum >= 0.99 * total:
            return le
    return math.inf


def bucket_of(seconds, bounds):
    """Upper bound of etcd's bucket that holds ``seconds``."""
    for b in bounds:
        if seconds <= b:
            return b
    return math.inf


def paced_puts(server, rate, seconds):
    """Puts at ``rate``/s for ``seconds`` (open loop); (sent, failed)."""
    failures = []
    lock = threading.Lock()

    def put(i):
        try:
            server.put("/registry/rcarkit/k%06d" % (i % 500), VALUE)
        except Exception as e:  # noqa: BLE001  counted, reported by the caller
            with lock:
                failures.append(repr(e))

    start = time.monotonic()
    sent = 0
    with ThreadPoolExecutor(max_workers=16) as pool:
        while True:
            due = start + sent / rate
            now = time.monotonic()
            if due - start >= seconds:
                break
            if due > now:
                time.sleep(due - now)
            pool.submit(put, sent)
            sent += 1
    return sent, failures


@contextmanager
def storage_level(level, base=None):
    """("iops", N) | ("unthrottled", None) | ("latency", D_ms) ->
    (mountpoint, throttle or None); raises Unavailable."""
    kind, value = level
    if kind == "latency":
        from fuse_latency import ConstantLatencyExt4, Unavailable as FuseUnavailable
        try:
            with ConstantLatencyExt4(value, size_mb=512, base=base) as dev:
                yield dev.mountpoint, None
        except FuseUnavailable as e:
            raise Unavailable(str(e))
        return
    with LoopExt4(size_mb=512, base=base or _backing_dir()) as lo:
        if kind == "iops":
            with IopsThrottle(lo.majmin, value) as throttle:
                yield lo.mountpoint, throttle
        else:
            yield lo.mountpoint, None


def level_name(level):
    kind, value = level
    return {"iops": "%d write IOPS" % value if kind == "iops" else "",
            "unthrottled": "unthrottled loop",
            "latency": "%g ms per flush" % value if kind == "latency" else ""}[kind]


def calibrate(level, rate=10.0, seconds=40.0, base=None, rounds=4):
    """Run etcd and etcd-bench on one level, alternating ``rounds`` windows of
    ``seconds / rounds`` each; a dict row (see the module doc)."""
    from rcarkit.etcd.stats import ETCD_WAL_FSYNC_BUCKETS, percentile

    bounds = list(ETCD_WAL_FSYNC_BUCKETS) + [math.inf]
    window = seconds / rounds
    wal_counts, backend_counts = {}, {}
    ours = {"wal": [], "backend": []}
    sent, failures = 0, []
    with storage_level(level, base=base) as (mountpoint, throttle):
        data_dir = os.path.join(mountpoint, "etcd-data")
        with EtcdServer(data_dir, throttle=throttle) as server:
            time.sleep(1.0)
            for _ in range(rounds):
                before = server.metrics()
                n, failed = paced_puts(server, rate, window)
                time.sleep(0.5)  # the last puts' commits land in this window
                after = server.metrics()
                sent += n
                failures += failed
                for name, acc in ((WAL_METRIC, wal_counts), (BACKEND_METRIC, backend_counts)):
                    for le, c in histogram_delta(parse_histogram(before, name),
                                                 parse_histogram(after, name)):
                        acc[le] = acc.get(le, 0.0) + c
                got = bench_window(mountpoint, rate, window, throttle=throttle)
                ours["wal"] += got["wal"]
                ours["backend"] += got["backend"]
        shutil.rmtree(data_dir, ignore_errors=True)
    wal = sorted(wal_counts.items())
    backend = sorted(backend_counts.items())
    # etcd's two histograms use the bounds we mirror (1 ms .. 8.192 s, doubling)
    for hist in (wal, backend):
        finite = [le for le, _ in hist if not math.isinf(le)]
        assert len(finite) == len(ETCD_WAL_FSYNC_BUCKETS) and all(
            abs(a - b) < 1e-12 for a, b in zip(finite, ETCD_WAL_FSYNC_BUCKETS)), finite
    our_wal = percentile(sorted(ours["wal"]), 0.99)
    our_backend = percentile(sorted(ours["backend"]), 0.99)
    etcd_wal, etcd_backend = p99_bucket(wal), p99_bucket(backend)
    row = {
        "level": level_name(level), "rate": rate, "seconds": seconds, "rounds": rounds,
        "puts_sent": sent, "put_failures": len(failures),
        "etcd_wal_syncs": wal[-1][1], "etcd_backend_commits": backend[-1][1],
        "etcd_wal_p99_bucket_s": etcd_wal, "etcd_backend_p99_bucket_s": etcd_backend,
        "bench_wal_p99_s": our_wal, "bench_backend_p99_s": our_backend,
        "bench_wal_syncs": len(ours["wal"]),
        "bench_backend_commits": len(ours["backend"]),
    }
    row["wal_step"] = (bounds.index(bucket_of(our_wal, bounds)) - bounds.index(etcd_wal)
                       if etcd_wal is not None else None)
    row["backend_step"] = (bounds.index(bucket_of(our_backend, bounds))
                           - bounds.index(etcd_backend) if etcd_backend is not None else None)
    return row


def fmt_bucket(le):
    if le is None:
        return "-"
    if math.isinf(le):
        return "> 8.192 s"
    return "<= %g ms" % round(le * 1000.0, 3)


def fmt_ms(seconds):
    return "%.1f ms" % (seconds * 1000.0) if seconds < 0.1 else "%.0f ms" % (seconds * 1000.0)
