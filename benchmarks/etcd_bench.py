#!/usr/bin/env python3
"""Benchmark: rcarkit's adaptive fdatasync benchmark vs fio's etcd recipe.

On an ext4 loop device (file in /dev/shm, or --backing-dir, e.g. /var/tmp
to include the host disk), unthrottled and with a block I/O
write-IOPS throttle on the loop device (cgroup v1 blkio or v2 io.max; the
helpers come from tests/test_etcd_throttled.py), in the same run:

* rcarkit, adaptive, as the CLI runs it (``--load auto``: the saturated
  writer, then etcd's load only when it is cheap enough; stops once the p99
  interval is wholly on one side of 10 ms): which load, p99, its 95 %
  interval, samples and time to verdict;
* rcarkit, full 22 MiB (no adaptive stop): p99;
* fio's full etcd recipe (``--rw=write --ioengine=sync --fdatasync=1
  --size=22m --bs=2300``): p99 and wall time.

Prints them side by side with the ratios. Targets (issue 3): our p99 within
15 % of fio's; time to verdict at most 1/5 of fio's full run on the
throttled device. Needs root (loop device, cgroup); takes ~2-4 minutes.

    sudo python3 benchmarks/etcd_bench.py [--iops 200] [--backing-dir DIR] [--skip-full]
"""

import argparse
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iops", type=int, default=200, help="write IOPS limit (default 200)")
    parser.add_argument("--backing-dir", default=None,
                        help="where the loop device's file lives (default /dev/shm when it "
                        "has room, else /var/tmp: RAM keeps the host disk's load out)")
    parser.add_argument("--etcd-seconds", type=float, default=20.0,
                        help="also run etcd (/usr/bin/etcd) this long on each device and "
                        "print its WAL fsync p99 bucket (0 = skip)")
    parser.add_argument("--skip-full", action="store_true",
                        help="skip rcarkit's non-adaptive full 22 MiB run")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "tests"))
    from test_etcd_throttled import (EtcdServer, IopsThrottle, LoopExt4, Unavailable,
                                     _backing_dir, histogram_quantile_bucket,
                                     parse_wal_fsync_histogram, run_bench, run_fio)
    from rcarkit.etcd.fio import fio_sync_stats

    if shutil.which("fio") is None:
        raise SystemExit("fio is not installed (apt install fio)")
    rows = []
    etcd_rows = []

    def etcd_p99_bucket(mountpoint, throttle, seconds):
        import os
        import time
        data_dir = os.path.join(mountpoint, "etcd-data")
        with EtcdServer(data_dir, throttle=throttle) as server:
            end = time.time() + seconds
            n = 0
            while time.time() < end:
                server.put("/bench/k%06d" % n, "v" * 100)
                n += 1
            buckets, count = parse_wal_fsync_histogram(server.metrics())
        shutil.rmtree(data_dir, ignore_errors=True)
        return histogram_quantile_bucket(buckets, 0.99), count, n

    try:
        backing = args.backing_dir or _backing_dir()
        print("loop device backed by a file in %s" % backing)
        with LoopExt4(base=backing) as lo:
            for label, iops in (("unthrottled", None), ("%d wiops" % args.iops, args.iops)):
                throttle = IopsThrottle(lo.majmin, iops).__enter__() if iops else None
                try:
                    # adaptive runs before and after fio: the median of 3 damps
                    # drift in the machine's load during the long fio run
                    ads = [run_bench(lo.mountpoint, throttle=throttle, max_time=60,
                                     load="auto")
                           for _ in range(2)]
                    full = None
                    if not args.skip_full:
                        full = run_bench(lo.mountpoint, throttle=throttle, max_time=600,
                                         adaptive=False)
                    fio_res, fio_time = run_fio(lo.mountpoint, throttle=throttle)
                    fio = fio_sync_stats(fio_res)
                    ads.append(run_bench(lo.mountpoint, throttle=throttle, max_time=60,
                                         load="auto"))
                    ads.sort(key=lambda d: d["stats"]["p99_ms"])
                    ad = ads[1]
                    ad["p99_range_ms"] = (ads[0]["stats"]["p99_ms"], ads[2]["stats"]["p99_ms"])
                    ad["elapsed_median_s"] = sorted(d["elapsed_s"] for d in ads)[1]
                    ad["wall_median_s"] = sorted(d["wall_s"] for d in ads)[1]
                    if args.etcd_seconds > 0:
                        etcd_rows.append((label, ad) + etcd_p99_bucket(
                            lo.mountpoint, throttle, args.etcd_seconds))
                finally:
                    if throttle:
                        throttle.close()
                rows.append((label, ad, full, fio, fio_time))
    except Unavailable as e:
        raise SystemExit("cannot build the test device: %s" % e)

    print("fdatasync p99 on ext4/loop, block 2300 B (ms; 95 % interval in brackets)")
    print()
    print("rcarkit adaptive: median of 3 runs (2 before fio, 1 after), its 95 % interval,")
    print("its sample count, and the lowest..highest p99 of the 3 runs.")
    print()
    head = "%-12s %-28s %-15s %-8s %-8s %-8s" % (
        "device", "rcarkit adaptive", "3-run range", "rc.full", "fio", "ours/fio")
    print(head)
    print("-" * len(head))
    for label, ad, full, fio, fio_time in rows:
        s = ad["stats"]
        ci = "[%.2f, %.2f]" % tuple(x if x is not None else float("nan") for x in s["p99_ci_ms"])
        fullp = "%.2f" % full["stats"]["p99_ms"] if full else "-"
        print("%-12s %-28s %-15s %-8s %-8.2f %-8.2f" % (
            label, "%.2f %s n=%d" % (s["p99_ms"], ci, s["count"]),
            "%.2f..%.2f" % ad["p99_range_ms"], fullp,
            fio.p99 * 1000, s["p99_ms"] / (fio.p99 * 1000)))
    print()
    head = "%-13s %-10s %-10s %-10s %-10s %-10s %-9s %-9s" % (
        "device", "load", "stopped", "ours (s)", "wall (s)", "fio (s)", "ours/fio", "wall/fio")
    print(head)
    print("-" * len(head))
    for label, ad, full, fio, fio_time in rows:
        print("%-13s %-10s %-10s %-10.2f %-10.2f %-10.2f %-9.3f %-9.3f" % (
            label, ad["load"], ad["stopped_because"], ad["elapsed_median_s"], ad["wall_median_s"],
            fio_time, ad["elapsed_median_s"] / fio_time, ad["wall_median_s"] / fio_time))
    if etcd_rows:
        from rcarkit.etcd.stats import ETCD_WAL_FSYNC_BUCKETS
        bounds = list(ETCD_WAL_FSYNC_BUCKETS) + [float("inf")]
        print()
        head = "%-13s %-16s %-16s %-22s %-8s" % ("device", "our p99 (ms)", "-> etcd bucket",
                                                "etcd p99 bucket", "puts")
        print(head)
        print("-" * len(head))
        for label, ad, bucket, count, puts in etcd_rows:
            ours = ad["stats"]["p99_ms"] / 1000.0
            our_bucket = next(b for b in bounds if ours <= b)
            print("%-13s %-16.2f le=%-13g le=%-8g (%d fsyncs) %-8d" % (
                label, ours * 1000, our_bucket, bucket, count or 0, puts))
    print()
    print("targets: p99 within 15 % of fio (ours/fio in 0.85..1.15); time to verdict at most")
    print("1/5 of fio's full run on the throttled device (ours/fio <= 0.2).")
    print("ours (s): median sampling time reported by the library (time to verdict); wall (s):")
    print("our whole subprocess (Python start-up, checks, preallocation, clean-up);")
    print("fio (s): fio's wall time including its file layout.")


if __name__ == "__main__":
    main()
