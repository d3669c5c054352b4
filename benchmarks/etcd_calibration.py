#!/usr/bin/env python3
"""Benchmark: etcd-bench --load etcd against a real etcd's own histograms.

For each storage level (ext4 loop devices at 30, 100 and 300 write IOPS
and unthrottled; constant-latency devices adding 2, 5, 10 and 20 ms per
flush, tests/fuse_latency.py), runs Debian's etcd under a paced put load and
and etcd-bench's etcd load model at the same rate, alternating windows
(``--rounds`` 4 x 10 s each; tests/etcd_reference.py explains both), and
prints one row per level:
etcd's WAL fsync p99 bucket, etcd-bench's WAL p99, etcd's backend commit p99
bucket, etcd-bench's backend p99, and the bucket steps (0 = same bucket,
+-1 = adjacent). Needs root; about 100 s per level (~14 min for all).

    sudo python3 benchmarks/etcd_calibration.py [--seconds 40] [--rate 10]
        [--levels iops:30,iops:100,iops:300,unthrottled,latency:2,...] [--json]
"""

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_LEVELS = ("iops:30,iops:100,iops:300,unthrottled,"
                  "latency:2,latency:5,latency:10,latency:20")


def parse_levels(text):
    levels = []
    for word in text.split(","):
        kind, _, value = word.strip().partition(":")
        if kind == "unthrottled":
            levels.append(("unthrottled", None))
        elif kind == "iops":
            levels.append(("iops", int(value)))
        elif kind == "latency":
            levels.append(("latency", float(value)))
        else:
            raise SystemExit("unknown level %r (iops:N, unthrottled, latency:MS)" % word)
    return levels


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0,
                        help="put load and etcd-bench time per level (default 40)")
    parser.add_argument("--rate", type=float, default=10.0,
                        help="puts/s, and etcd-bench --write-rate (default 10)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="alternating etcd / etcd-bench windows per level (default 4)")
    parser.add_argument("--levels", default=DEFAULT_LEVELS)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "tests"))
    from etcd_reference import Unavailable, calibrate, fmt_bucket, fmt_ms

    rows = []
    for level in parse_levels(args.levels):
        t0 = time.time()
        try:
            row = calibrate(level, rate=args.rate, seconds=args.seconds, rounds=args.rounds)
        except Unavailable as e:
            print("%s: skipped (%s)" % (level, e), file=sys.stderr)
            continue
        row["wall_s"] = round(time.time() - t0, 1)
        rows.append(row)
        print("%-18s etcd WAL %-10s bench %-9s (step %+d) | etcd backend %-10s bench %-9s "
              "(step %+d)  [%d puts, %.0f s]"
              % (row["level"], fmt_bucket(row["etcd_wal_p99_bucket_s"]),
                 fmt_ms(row["bench_wal_p99_s"]), row["wal_step"],
                 fmt_bucket(row["etcd_backend_p99_bucket_s"]), fmt_ms(row["bench_backend_p99_s"]),
                 row["backend_step"], row["puts_sent"], row["wall_s"]), flush=True)
    print()
    print("| level | etcd WAL p99 bucket | etcd-bench WAL p99 | etcd backend p99 bucket "
          "| etcd-bench backend p99 |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %s | %s | %s |" % (
            r["level"], fmt_bucket(r["etcd_wal_p99_bucket_s"]), fmt_ms(r["bench_wal_p99_s"]),
            fmt_bucket(r["etcd_backend_p99_bucket_s"]), fmt_ms(r["bench_backend_p99_s"])))
    agree = sum(1 for r in rows if abs(r["wal_step"]) <= 1 and abs(r["backend_step"]) <= 1)
    print("\nsame or adjacent bucket for both p99s: %d of %d levels (%s, %g puts/s, %g s)"
          % (agree, len(rows), time.strftime("%Y-%m-%d"), args.rate, args.seconds))
    if args.json:
        print(json.dumps(rows, indent=2, default=str))


if __name__ == "__main__":
    main()
