#!/usr/bin/env python3
"""Benchmark: does etcd-bench give the same answer twice? (issue 9, "Done when")

For each device, quiet and with other work running, ten runs of the
library's default measurement (``measure_path``: saturated WAL-like writer,
--min-time 10 s, batch-means p99 interval) and the recommendation for that
one PATH (``advice.recommend``). Prints per device and condition:

* verdict agreement: how many of the runs gave the most common verdict
  (target: at least 9 of 10);
* heartbeat spread: the distinct recommended heartbeats and how many
  ladder steps (advice.HEARTBEAT_LADDER_MS) they span (target: at most 1);
* p99 median and range, time to verdict (median);
* fio's full 22 MiB run of etcd's recipe on the same device and condition,
  interleaved with ours (``--fio-every 5``: before run 1, after runs 5 and
  10, so a machine whose load drifts loads both alike), the median and
  range of its p99s, and our median p99 / fio's median (target on the
  unthrottled loop device: within 25 % or 1 ms), our median time / fio's
  (target <= 1/5 on a throttled device).

Devices: tmpfs (/dev/shm), a directory on the host disk (/var/tmp, whatever
it is), and ext4 on a loop device (file in /dev/shm) unthrottled and with a
cgroup write-IOPS throttle (v2 io.max wiops, v1 blkio) of 30, 100, 300 and
1000: the helpers of tests/test_etcd_throttled.py. Load: one CPU-bound
process per core plus one writer doing 1 MiB buffered writes with an fsync
every 8 MiB into the same filesystem (unthrottled), for the whole run.

Needs root and fio. Takes 30-50 minutes with the defaults.

    sudo python3 benchmarks/etcd_stability.py [--repeats 10] [--devices tmpfs,disk,loop,1000,300,100,30]
        [--conditions quiet,loaded] [--max-time 60] [--skip-fio-below 100]
        [--fio-every 5] [--json OUT]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

RUN_SCRIPT = r"""
import json, sys
from rcarkit.etcd.bench import measure_path
from rcarkit.etcd.advice import recommend
kw = json.loads(sys.argv[2])
m = measure_path(sys.argv[1], **kw)
rec = recommend([m])
s = m.stats
print(json.dumps({"verdict": rec.verdict, "heartbeat": rec.heartbeat_ms,
                  "election": rec.election_timeout_ms, "status": rec.assessments[0].status,
                  "p99_ms": s.p99 * 1e3, "p99_ci_ms": [x * 1e3 for x in s.p99_ci],
                  "count": s.count, "elapsed": m.elapsed, "stopped": m.stopped_because,
                  "vif": s.p99_vif, "slow": s.slow_count}))
"""

LOAD_WRITER = r"""
import os, sys, time
path = os.path.join(sys.argv[1], "load.bin")
buf = os.urandom(1 << 20)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
n = 0
try:
    while True:
        os.write(fd, buf)
        n += 1
        if n % 8 == 0:
            os.fsync(fd)
        if n >= 128:
            os.lseek(fd, 0, 0)
            n = 0
finally:
    os.close(fd)
"""


class Load:
    """One busy loop per core plus a buffered writer into ``directory``."""

    def __init__(self, directory):
        self.directory = directory
        self.procs = []
        self.workdir = None

    def __enter__(self):
        self.workdir = tempfile.mkdtemp(prefix="rcarkit-load-", dir=self.directory)
        for _ in range(os.cpu_count() or 1):
            self.procs.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        self.procs.append(subprocess.Popen([sys.executable, "-c", LOAD_WRITER, self.workdir]))
        time.sleep(1.0)
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def one_run(path, throttle, max_time):
    from rcarkit.etcd.bench import DEFAULT_MAX_TIME   # REPO is on sys.path (main)
    r = subprocess.run([sys.executable, "-c", RUN_SCRIPT, str(path),
                        json.dumps({"max_time": max_time})],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(REPO),
                       env=dict(os.environ, PYTHONPATH=str(REPO)),
                       timeout=(max_time or DEFAULT_MAX_TIME) + 120,
                       preexec_fn=throttle.preexec if throttle else None)
    if r.returncode != 0:
        raise SystemExit("run failed: %s" % r.stderr.decode()[-2000:])
    return json.loads(r.stdout.decode())


def ladder_steps(heartbeats):
    from rcarkit.etcd.advice import HEARTBEAT_LADDER_MS
    idx = [HEARTBEAT_LADDER_MS.index(h) if h in HEARTBEAT_LADDER_MS else -1 for h in heartbeats]
    return max(idx) - min(idx)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--devices", default="tmpfs,disk,loop,1000,300,100,30")
    parser.add_argument("--conditions", default="quiet,loaded")
    parser.add_argument("--max-time", type=float, default=None,
                        help="--max-time of each run (default: etcd-bench's own, 60 s)")
    parser.add_argument("--skip-fio-below", type=int, default=100,
                        help="no fio full run below this many IOPS (30 IOPS: 334 s)")
    parser.add_argument("--fio-every", type=int, default=5,
                        help="a fio full run before the first of ours and after every N "
                        "(default 5; 0: once, after ours)")
    parser.add_argument("--json", default=None, help="also write every run here")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "tests"))
    from test_etcd_throttled import IopsThrottle, LoopExt4, Unavailable, run_fio
    from rcarkit.etcd.fio import fio_sync_stats

    if shutil.which("fio") is None:
        raise SystemExit("fio is not installed (apt install fio)")
    devices = args.devices.split(",")
    conditions = args.conditions.split(",")
    results = []
    loop = None

    def report(row):
        runs = row["runs"]
        verdicts = Counter(r["verdict"] for r in runs)
        top, agree = verdicts.most_common(1)[0]
        hbs = sorted(set(r["heartbeat"] for r in runs))
        p99s = sorted(r["p99_ms"] for r in runs)
        times = sorted(r["elapsed"] for r in runs)
        med = p99s[len(p99s) // 2]
        fio = row.get("fio")
        line = ("%-8s %-7s %2d/%-2d %-22s hb %-14s steps %d  p99 %8.3f [%7.3f..%7.3f] ms  "
                "t %5.1f s  stop %s" % (
                    row["device"], row["condition"], agree, len(runs), top,
                    "/".join(str(h) for h in hbs), ladder_steps(hbs), med, p99s[0], p99s[-1],
                    times[len(times) // 2],
                    ",".join("%s:%d" % kv for kv in Counter(r["stopped"] for r in runs).items())))
        if fio:
            line += ("  fio p99 %.2f [%.2f..%.2f] ms (%d runs) in %.1f s: ours/fio p99 %.2f, "
                     "time %.3f" % (
                         fio["p99_ms"], fio["p99_range_ms"][0], fio["p99_range_ms"][1],
                         fio["runs"], fio["time"],
                         med / fio["p99_ms"] if fio["p99_ms"] else float("nan"),
                         times[len(times) // 2] / fio["time"]))
        print(line, flush=True)

    try:
        for dev in devices:
            throttle = None
            if dev == "tmpfs":
                path = tempfile.mkdtemp(prefix="rcarkit-stab-", dir="/dev/shm")
            elif dev == "disk":
                path = tempfile.mkdtemp(prefix="rcarkit-stab-", dir="/var/tmp")
            else:
                if loop is None:
                    base = "/dev/shm" if shutil.disk_usage("/dev/shm").free > 2 << 30 \
                        else "/var/tmp"
                    loop = LoopExt4(size_mb=512, base=base).__enter__()
                path = loop.mountpoint
                if dev != "loop":
                    throttle = IopsThrottle(loop.majmin, int(dev)).__enter__()
            try:
                for cond in conditions:
                    load = Load(path) if cond == "loaded" else None
                    if load:
                        load.__enter__()
                    try:
                        row = {"device": dev, "condition": cond, "runs": [], "fios": []}
                        with_fio = (dev in ("tmpfs", "disk", "loop")
                                    or int(dev) >= args.skip_fio_below)

                        def fio_once():
                            res, secs = run_fio(path, throttle=throttle)
                            row["fios"].append({"p99_ms": fio_sync_stats(res).p99 * 1e3,
                                                "time": secs})

                        for i in range(args.repeats):
                            if with_fio and args.fio_every > 0 and i % args.fio_every == 0:
                                fio_once()
                            row["runs"].append(one_run(path, throttle, args.max_time))
                        if with_fio:
                            fio_once()
                        if row["fios"]:
                            p = sorted(f["p99_ms"] for f in row["fios"])
                            t = sorted(f["time"] for f in row["fios"])
                            row["fio"] = {"p99_ms": p[len(p) // 2], "time": t[len(t) // 2],
                                          "p99_range_ms": [p[0], p[-1]], "runs": len(p)}
                    finally:
                        if load:
                            load.__exit__(None, None, None)
                    results.append(row)
                    report(row)
            finally:
                if throttle:
                    throttle.close()
                if dev in ("tmpfs", "disk"):
                    shutil.rmtree(path, ignore_errors=True)
    except Unavailable as e:
        raise SystemExit("cannot build the test device: %s" % e)
    finally:
        if loop is not None:
            loop.close()
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
    print()
    print("columns: device, condition, runs agreeing with the most common verdict, that "
          "verdict, the distinct heartbeats (ms) and the ladder steps they span, median p99 "
          "[lowest..highest], median time to verdict, stop reasons; fio: its full 22 MiB runs "
          "interleaved with ours, median [range], our median p99 / fio's median, our median "
          "time / fio's.")


if __name__ == "__main__":
    main()
