#!/usr/bin/env python3
"""Experiment: do rcarkit's recommended etcd timeouts help on a slow disk?

As root, on this machine only (127.0.0.1):

1. Builds one ext4 loop device per etcd member (backing files in /dev/shm
   when it has room, else /var/tmp, or --backing-dir) and one cgroup v1
   blkio (or v2 io) cgroup per device that limits write IOPS on it (--iops,
   default 3). The helpers (LoopExt4, IopsThrottle) come from
   tests/test_etcd_throttled.py.
2. Measures member 1's device with ``rcarkit.etcd.bench.measure_path`` (in
   that device's cgroup, the CLI's defaults: adaptive stop, max 60 s) and
   asks ``rcarkit.etcd.advice.recommend`` for --heartbeat-interval and
   --election-timeout.
3. For each configuration (etcd's defaults 100/1000 ms, then rcarkit's
   values; --repeat alternates them again; --extra adds others), starts a
   fresh 3-member etcd cluster (Debian's /usr/bin/etcd, ``--logger zap``) on
   127.0.0.1 with free ports, data directories on the loop devices. Once it
   is healthy, the LEADER (default, --throttle leader) or every member
   (--throttle all) is moved into its device's IOPS cgroup: a slow leader
   whose WAL fsync delays its heartbeats to followers that tick on time.
   (With every member equally slow no leader change was seen, even at 3-5
   IOPS with >1 s fsyncs: a member's raft loop stops ticking while it
   syncs.) Then keys are written at a steady rate (--rate puts/s, default
   10, --value-size 1024 B, round robin over the members, through the v3
   HTTP gateway /v3/kv/put) for --seconds (40), and counted:

   * leader changes during the load: the increase of
     ``etcd_server_leader_changes_seen_total`` (largest over the members),
     and the leader at the end;
   * warnings in the members' logs written during the load: "failed to send
     out heartbeat on time", "slow fdatasync", "took too long" (apply),
     "is starting a new election", "became leader at term"; plus
     ``etcd_server_heartbeat_send_failures_total`` and
     ``etcd_server_proposals_failed_total``;
   * puts: ok, failed with an etcd error (e.g. "etcdserver: request timed
     out"), client timeouts (--put-timeout), not finished in time;
   * put latency p50/p99/max, measured from the put's SCHEDULED time (so a
     stall that holds up later puts counts for them too), successful puts;
   * the p99 bucket of etcd's own WAL fsync histogram on the throttled member.

Prints the configurations side by side. Note: the "heartbeat on time"
warning fires when a heartbeat is 2 intervals late, so a longer interval
lowers that count by definition; leader changes and failed/slow puts are
the outcomes that matter. The cost of long timeouts (slower failover when a
member really dies: up to one election timeout without a leader) is not
measured here.

Everything is bounded in time; etcd processes, mounts, loop devices and
cgroups are removed in finally blocks, on Ctrl-C and on SIGTERM.

    sudo python3 benchmarks/etcd_timeouts.py [--iops 3] [--throttle leader|all]
        [--seconds 40] [--rate 10] [--repeat 1] [--extra HB/EL ...]

Takes about 3 min with the defaults (60 s measurement + ~55 s per run);
--repeat 2 about 4.5 min. Ctrl-C stops it within ~15 s (in-flight puts).
"""

import argparse
import base64
import json
import math
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ETCD = shutil.which("etcd") or "/usr/bin/etcd"

MEASURE_SCRIPT = r"""
import json, sys
from rcarkit.etcd.bench import measure_path
from rcarkit.etcd.advice import recommend
m = measure_path(sys.argv[1], max_time=float(sys.argv[2]))
r = recommend([m])
print(json.dumps({"measurement": m.to_dict(), "recommendation": r.to_dict()}))
"""

LOG_PATTERNS = (
    ("heartbeat_late", "failed to send out heartbeat on time"),
    ("slow_fdatasync", "slow fdatasync"),
    ("took_too_long", "took too long"),
    ("became_leader", "became leader at term"),
    ("election_started", "is starting a new election"),
)


class Interrupted(Exception):
    """SIGTERM / SIGHUP: unwind through the finally blocks."""


def _on_signal(signum, frame):
    raise Interrupted("signal %d" % signum)


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(math.ceil(q * len(sorted_values))) - 1))
    return sorted_values[k]


def http_get(url, timeout=5.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def metric_values(text, name):
    """{labels: value} of one metric family in Prometheus text."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name):
            m = re.match(re.escape(name) + r"(\{[^}]*\})? (\S+)$", line)
            if m:
                out[m.group(1) or ""] = float(m.group(2))
    return out


def scalar(text, name):
    vals = metric_values(text, name)
    return vals.get("", float("nan"))


def wal_buckets(text):
    out = []
    for labels, v in metric_values(text, "etcd_disk_wal_fsync_duration_seconds_bucket").items():
        le = re.search(r'le="([^"]+)"', labels).group(1)
        out.append((math.inf if le == "+Inf" else float(le), v))
    return sorted(out)


def bucket_p99(before, after):
    """Upper bound of the bucket holding the p99 of the fsyncs between two scrapes."""
    b = dict(before)
    delta = [(le, cum - b.get(le, 0.0)) for le, cum in after]
    if not delta or delta[-1][1] <= 0:
        return float("nan"), 0
    total = delta[-1][1]
    for le, cum in delta:
        if cum >= 0.99 * total:
            return le, int(total)
    return math.inf, int(total)


class Member:
    def __init__(self, name, data_dir, log_path, client_port, peer_port, throttle):
        self.name = name
        self.data_dir = data_dir
        self.log_path = log_path
        self.client_url = "http://127.0.0.1:%d" % client_port
        self.peer_url = "http://127.0.0.1:%d" % peer_port
        self.throttle = throttle
        self.proc = None
        self._log = None

    def start(self, cluster, token, heartbeat_ms, election_ms):
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [ETCD, "--name", self.name, "--data-dir", self.data_dir,
             "--listen-client-urls", self.client_url,
             "--advertise-client-urls", self.client_url,
             "--listen-peer-urls", self.peer_url,
             "--initial-advertise-peer-urls", self.peer_url,
             "--initial-cluster", cluster, "--initial-cluster-state", "new",
             "--initial-cluster-token", token,
             "--heartbeat-interval", str(heartbeat_ms),
             "--election-timeout", str(election_ms),
             "--logger", "zap", "--log-outputs", "stderr"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)  # our finally stops it, not the terminal's Ctrl-C

    def join_throttle(self):
        """Move the running etcd (all its threads) into its device's IOPS cgroup."""
        with open(os.path.join(self.throttle.path, "cgroup.procs"), "w") as f:
            f.write(str(self.proc.pid))

    def healthy(self):
        try:
            return '"health":"true"' in http_get(self.client_url + "/health", timeout=2)
        except (OSError, ValueError):
            return False

    def metrics(self):
        return http_get(self.client_url + "/metrics", timeout=10)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


def free_ports(n):
    import socket
    socks, ports = [], []
    try:
        for _ in range(n):  # held open together: n distinct ports
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def b64(s):
    return base64.b64encode(s.encode()).decode()


def run_load(members, seconds, rate, workers, put_timeout, value_size, tag):
    """Steady-rate puts, round robin over members; list of per-put results."""
    jobs = queue.Queue()
    results = []
    lock = threading.Lock()
    value = b64("v" * value_size)

    def worker():
        while True:
            job = jobs.get()
            if job is None:
                return
            seq, scheduled = job
            m = members[seq % len(members)]
            body = json.dumps({"key": b64("/bench/%s/%07d" % (tag, seq)),
                               "value": value}).encode()
            req = urllib.request.Request(m.client_url + "/v3/kv/put", data=body,
                                         headers={"Content-Type": "application/json"})
            outcome, detail = "ok", ""
            try:
                with urllib.request.urlopen(req, timeout=put_timeout) as r:
                    text = r.read().decode()
                if '"error"' in text or '"header"' not in text:
                    outcome, detail = "error", text[:120]
            except urllib.error.HTTPError as e:
                try:
                    detail = e.read().decode()[:160]
                except OSError:
                    detail = str(e)
                outcome = "error"
            except (OSError, ValueError) as e:  # socket.timeout is an OSError
                timed_out = "timed out" in str(e) or isinstance(e, TimeoutError)
                outcome, detail = ("timeout" if timed_out else "error"), str(e)[:120]
            done = time.monotonic()
            with lock:
                results.append((seq, outcome, done - scheduled, detail))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    n = int(seconds * rate)
    completed = False
    try:
        for seq in range(n):
            at = t0 + seq / float(rate)
            delay = at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            jobs.put((seq, at))
        completed = True
    finally:
        if not completed:  # interrupted: drop what was not started yet
            try:
                while True:
                    jobs.get_nowait()
            except queue.Empty:
                pass
        # queued puts still run (a backlog after a stall is part of the
        # figures); bounded: what is not done by the deadline is "not finished"
        for _ in threads:
            jobs.put(None)
        deadline = time.monotonic() + put_timeout + 5
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
    with lock:
        return list(results), n


def count_log(path, offset):
    counts = {k: 0 for k, _ in LOG_PATTERNS}
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            for line in f:
                s = line.decode("utf-8", "replace")
                for key, pat in LOG_PATTERNS:
                    if pat in s:
                        counts[key] += 1
    except OSError:
        pass
    return counts


def run_config(label, heartbeat_ms, election_ms, loops, throttles, workdir, args, run_no):
    """One fresh 3-member cluster with these timeouts, under load; a result dict."""
    names = ["m%d" % (i + 1) for i in range(len(loops))]
    ports = free_ports(2 * len(loops))
    members = []
    for i, name in enumerate(names):
        data_dir = os.path.join(loops[i].mountpoint, "etcd-%s-%d" % (name, run_no))
        log_path = os.path.join(workdir, "run%d-%s.log" % (run_no, name))
        members.append(Member(name, data_dir, log_path, ports[2 * i], ports[2 * i + 1],
                              throttles[i]))
    cluster = ",".join("%s=%s" % (m.name, m.peer_url) for m in members)
    token = "rcarkit-bench-%d-%d" % (os.getpid(), run_no)
    res = {"label": label, "heartbeat_ms": heartbeat_ms, "election_ms": election_ms}
    try:
        for m in members:
            m.start(cluster, token, heartbeat_ms, election_ms)
        t_start = time.monotonic()
        deadline = t_start + max(60.0, 6 * election_ms / 1000.0)
        while time.monotonic() < deadline:
            for m in members:
                if m.proc.poll() is not None:
                    raise RuntimeError("etcd %s exited early (code %s); log %s"
                                       % (m.name, m.proc.returncode, m.log_path))
            if all(m.healthy() for m in members):
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("cluster not healthy within %.0f s" % (deadline - t_start))
        res["startup_s"] = time.monotonic() - t_start
        time.sleep(1.0)  # let the first heartbeats settle
        leader = None
        for _ in range(50):
            for m in members:
                try:
                    if scalar(m.metrics(), "etcd_server_is_leader") == 1.0:
                        leader = m
                except OSError:
                    pass
            if leader is not None:
                break
            time.sleep(0.2)
        if leader is None:
            raise RuntimeError("no leader found after start-up")
        slow = members if args.throttle == "all" else [leader]
        for m in slow:
            m.join_throttle()
        res["throttled"] = ",".join(m.name for m in slow)
        time.sleep(1.0)
        before = [m.metrics() for m in members]
        offsets = [os.path.getsize(m.log_path) for m in members]
        t_load = time.monotonic()
        puts, planned = run_load(members, args.seconds, args.rate, args.workers,
                                 args.put_timeout, args.value_size, "%d" % run_no)
        res["load_s"] = time.monotonic() - t_load
        after = []
        for m in members:
            try:
                after.append(m.metrics())
            except OSError:
                after.append("")
        logs = [count_log(m.log_path, off) for m, off in zip(members, offsets)]
    finally:
        for m in members:
            m.stop()
        if not args.keep_data:
            for m in members:
                shutil.rmtree(m.data_dir, ignore_errors=True)

    def delta(name):
        out = []
        for b, a in zip(before, after):
            out.append(scalar(a, name) - scalar(b, name) if a else float("nan"))
        return out

    res["leader_changes"] = delta("etcd_server_leader_changes_seen_total")
    res["hb_send_failures"] = delta("etcd_server_heartbeat_send_failures_total")
    res["proposals_failed"] = delta("etcd_server_proposals_failed_total")
    leaders = [m.name for m, a in zip(members, after) if a and
               scalar(a, "etcd_server_is_leader") == 1.0]
    res["leader_end"] = ",".join(leaders) or "?"
    # WAL fsync p99 bucket on the (first) throttled member, the one that was led
    li = names.index(res["throttled"].split(",")[0])
    res["wal_p99_le"], res["wal_fsyncs"] = bucket_p99(wal_buckets(before[li]),
                                                      wal_buckets(after[li]))
    res["log"] = {k: sum(c[k] for c in logs) for k, _ in LOG_PATTERNS}
    res["planned"] = planned
    res["sent"] = len(puts)
    ok = sorted(lat for _, o, lat, _ in puts if o == "ok")
    res["ok"] = len(ok)
    res["errors"] = sum(1 for p in puts if p[1] == "error")
    res["timeouts"] = sum(1 for p in puts if p[1] == "timeout")
    res["not_sent"] = planned - len(puts)
    details = {}
    for _, o, _, d in puts:
        if o != "ok":
            key = re.sub(r"\d+", "N", d)[:80]
            details[key] = details.get(key, 0) + 1
    res["failure_kinds"] = details
    res["lat_p50_ms"] = percentile(ok, 0.50) * 1000
    res["lat_p99_ms"] = percentile(ok, 0.99) * 1000
    res["lat_max_ms"] = (ok[-1] * 1000) if ok else float("nan")
    res["lat_over_1s"] = sum(1 for x in ok if x > 1.0)
    return res


def measure(mountpoint, throttle, max_time):
    """measure_path + recommend in a child placed in the throttle's cgroup.

    Not subprocess.run: on Ctrl-C it waits only 0.25 s for the killed child,
    and a child stuck in a throttled fdatasync would still hold the loop
    device while we unmount it. Here the child is killed and reaped first.
    """
    proc = subprocess.Popen([sys.executable, "-c", MEASURE_SCRIPT, mountpoint, str(max_time)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(REPO),
                            env=dict(os.environ, PYTHONPATH=str(REPO)),
                            preexec_fn=throttle.preexec if throttle else None)
    try:
        out, err = proc.communicate(timeout=max_time + 120)
    except BaseException:
        proc.kill()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        raise
    if proc.returncode != 0:
        raise RuntimeError("measure_path failed: %s" % err.decode()[-2000:])
    return json.loads(out.decode())


def fmt(v, spec="%.0f"):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return spec % v


def print_table(results):
    rows = [
        ("heartbeat / election (ms)", lambda r: "%d / %d" % (r["heartbeat_ms"], r["election_ms"])),
        ("cluster start-up (s)", lambda r: fmt(r["startup_s"], "%.1f")),
        ("load phase (s)", lambda r: fmt(r["load_s"], "%.1f")),
        ("leader changes (max/member)", lambda r: fmt(max(r["leader_changes"]))),
        ("  per member", lambda r: "/".join(fmt(x) for x in r["leader_changes"])),
        ("throttled member(s)", lambda r: r.get("throttled", "?")),
        ("leader at end", lambda r: r["leader_end"]),
        ("log: heartbeat not on time", lambda r: str(r["log"]["heartbeat_late"])),
        ("log: slow fdatasync (>1s)", lambda r: str(r["log"]["slow_fdatasync"])),
        ("log: took too long", lambda r: str(r["log"]["took_too_long"])),
        ("log: elections started", lambda r: str(r["log"]["election_started"])),
        ("log: became leader", lambda r: str(r["log"]["became_leader"])),
        ("heartbeat send failures", lambda r: fmt(sum(r["hb_send_failures"]))),
        ("proposals failed (metric)", lambda r: fmt(sum(r["proposals_failed"]))),
        ("puts planned", lambda r: str(r["planned"])),
        ("puts ok", lambda r: str(r["ok"])),
        ("puts failed (etcd error)", lambda r: str(r["errors"])),
        ("puts client timeout", lambda r: str(r["timeouts"])),
        ("puts not finished in time", lambda r: str(r["not_sent"])),
        ("put latency p50 (ms)", lambda r: fmt(r["lat_p50_ms"], "%.1f")),
        ("put latency p99 (ms)", lambda r: fmt(r["lat_p99_ms"], "%.1f")),
        ("put latency max (ms)", lambda r: fmt(r["lat_max_ms"], "%.1f")),
        ("puts slower than 1 s", lambda r: str(r["lat_over_1s"])),
        ("WAL fsync p99 bucket, throttled", lambda r: "le %s s" % fmt(r["wal_p99_le"], "%g")),
        ("WAL fsyncs, throttled member", lambda r: str(r["wal_fsyncs"])),
    ]
    w0 = max(len(n) for n, _ in rows) + 2
    cols = [r["label"] for r in results]
    w = max(14, max(len(c) for c in cols) + 2)
    print("%-*s" % (w0, "") + "".join("%-*s" % (w, c) for c in cols))
    print("-" * (w0 + w * len(cols)))
    for name, f in rows:
        print("%-*s" % (w0, name) + "".join("%-*s" % (w, f(r)) for r in results))
    for r in results:
        if r["failure_kinds"]:
            print()
            print("failed puts, %s:" % r["label"])
            for k, n in sorted(r["failure_kinds"].items(), key=lambda kv: -kv[1])[:6]:
                print("  %5d  %s" % (n, k))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iops", type=int, default=3,
                        help="write IOPS limit per throttled member (default 3: the harshest "
                        "limit whose measured fsync tail still gets raised timeouts, not "
                        "the 'unusable' verdict; 50-150 showed no leader change)")
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--throttle", choices=("all", "leader"), default="leader",
                        help="after start-up, put only the leader (default) or every member "
                        "in its device's IOPS cgroup")
    parser.add_argument("--seconds", type=float, default=40.0, help="load phase per run")
    parser.add_argument("--rate", type=float, default=10.0, help="puts per second")
    parser.add_argument("--workers", type=int, default=32, help="client threads")
    parser.add_argument("--put-timeout", type=float, default=10.0)
    parser.add_argument("--value-size", type=int, default=1024)
    parser.add_argument("--measure-time", type=float, default=60.0,
                        help="measure_path max_time (the CLI's default is 60)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the defaults/recommended pair this many times, alternating")
    parser.add_argument("--extra", action="append", default=[], metavar="HB/EL",
                        help="also run these timeouts (ms), e.g. 300/3000")
    parser.add_argument("--backing-dir", default=None)
    parser.add_argument("--loop-mb", type=int, default=320)
    parser.add_argument("--keep-data", action="store_true",
                        help="keep logs in /var/tmp (data dirs still vanish with the devices)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (loop devices, mounts, cgroups)")
    if not os.path.exists(ETCD):
        raise SystemExit("etcd not installed (apt install etcd-server)")
    extras = []
    for e in args.extra:
        m = re.match(r"^(\d+)/(\d+)$", e)
        if not m:
            raise SystemExit("--extra wants HB/EL in ms, e.g. 300/3000, not %r" % e)
        extras.append((int(m.group(1)), int(m.group(2))))

    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "tests"))
    from test_etcd_throttled import IopsThrottle, LoopExt4, Unavailable, _backing_dir

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    t_all = time.monotonic()
    backing = args.backing_dir or _backing_dir()
    workdir = tempfile.mkdtemp(prefix="rcarkit-etcd-timeouts-", dir="/var/tmp")
    results = []
    try:
        with ExitStack() as stack:
            loops, throttles = [], []
            try:
                for i in range(args.members):
                    loops.append(stack.enter_context(LoopExt4(size_mb=args.loop_mb,
                                                              base=backing)))
                for i, lo in enumerate(loops):
                    throttles.append(stack.enter_context(IopsThrottle(lo.majmin, args.iops)))
            except Unavailable as e:
                raise SystemExit("cannot build the test devices: %s" % e)
            print("devices: %d x ext4 on loop (%s), backing files in %s; write IOPS limit %d "
                  "(cgroup v%s, one cgroup per member device) applied after start-up to %s"
                  % (len(loops), ", ".join(lo.device for lo in loops), backing, args.iops,
                     throttles[0].version,
                     "every member" if args.throttle == "all" else "the leader only"))
            print("etcd: %s" % subprocess.run([ETCD, "--version"], stdout=subprocess.PIPE,
                                              universal_newlines=True).stdout.split("\n")[0])
            t0 = time.monotonic()
            adv = measure(loops[0].mountpoint, throttles[0], args.measure_time)
            meas_s = time.monotonic() - t0
            st = adv["measurement"]["stats"]
            rec = adv["recommendation"]
            print("measure_path on member 1's device: p99 %.2f ms [%s], p99.9 %s ms, max %s ms, "
                  "n=%d, stopped: %s, %.1f s"
                  % (st["p99_ms"], ", ".join(fmt(x, "%.2f") for x in st["p99_ci_ms"]),
                     fmt(st["p999_ms"], "%.1f"), fmt(st["max_ms"], "%.1f"), st["count"],
                     adv["measurement"]["stopped_because"], meas_s))
            print("recommend(): verdict %s, heartbeat %d ms, election timeout %d ms"
                  % (rec["verdict"], rec["heartbeat_interval_ms"], rec["election_timeout_ms"]))
            for p in rec["paths"]:
                print("  tail used: %s ms (%s)" % (fmt(p["tail_ms"], "%.1f"), p["tail_source"]))
            configs = []
            for _ in range(args.repeat):
                configs.append(("defaults", 100, 1000))
                configs.append(("rcarkit", rec["heartbeat_interval_ms"],
                                rec["election_timeout_ms"]))
            for hb, el in extras:
                configs.append(("%d/%d" % (hb, el), hb, el))
            print("load: %.0f puts/s of %d-byte values for %.0f s per run, %d client threads, "
                  "put timeout %.0f s, round robin over %d members"
                  % (args.rate, args.value_size, args.seconds, args.workers, args.put_timeout,
                     args.members))
            print()
            for n, (label, hb, el) in enumerate(configs, 1):
                if args.repeat > 1 and label in ("defaults", "rcarkit"):
                    label = "%s #%d" % (label, (n + 1) // 2)
                t0 = time.monotonic()
                print("run %d/%d: %s (%d/%d ms) ..." % (n, len(configs), label, hb, el),
                      flush=True)
                r = run_config(label, hb, el, loops, throttles, workdir, args, n)
                r["run_s"] = time.monotonic() - t0
                results.append(r)
                print("  done in %.0f s: leader changes %s, puts ok %d/%d, p99 %.0f ms"
                      % (r["run_s"], "/".join(fmt(x) for x in r["leader_changes"]), r["ok"],
                         r["planned"], r["lat_p99_ms"]), flush=True)
    except KeyboardInterrupt:
        print("\ninterrupted; cleaned up", file=sys.stderr)
        if not results:
            raise SystemExit(130)
    except Interrupted as e:
        print("\n%s; cleaned up" % e, file=sys.stderr)
        if not results:
            raise SystemExit(143)
    finally:
        if args.keep_data:
            print("logs kept in %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print_table(results)
    print()
    print("leader changes: increase of etcd_server_leader_changes_seen_total during the load")
    print("(each member counts the changes it saw). Latency from each put's scheduled time,")
    print("successful puts only. 'heartbeat not on time' fires at 2 heartbeat intervals late,")
    print("so a longer interval lowers it by definition. Total time %.0f s."
          % (time.monotonic() - t_all))


if __name__ == "__main__":
    main()
