"""Where etcd's data should live, and with which timeouts: the recommendation.

``recommend(measurements, peer=None, control_planes=1)`` turns the fdatasync
measurements of one or more candidate PATHs (:class:`rcarkit.etcd.bench.PathMeasurement`)
and, optionally, the TCP round-trip times to a candidate etcd host
(``--peer``, :mod:`rcarkit.etcd.peer`) into a :class:`Recommendation`: a
verdict, the etcd ``--heartbeat-interval`` / ``--election-timeout`` to use, the
kubeadm v1beta4 ``timeouts`` scaled to the board, and "why" lines that each
cite the document their threshold comes from.

Every threshold below is a named constant with the document that states it.
Short tags in brackets (``[etcd-faq]``) name the documents; :data:`REFERENCES`
maps each tag to its address, and the command prints that list under the why
lines.

Verdicts
========
``local-defaults`` (exit code 0)
    The best persistent PATH has the upper end of the 95 % confidence interval
    of its p99 fdatasync latency *below* 10 ms (``FSYNC_P99_MAX_S``), and no
    measured peer round-trip asks for a longer heartbeat. etcd's defaults
    (100 ms heartbeat, 1000 ms election timeout) fit.

``local-raised-timeouts`` (exit code 1)
    The best persistent PATH misses the 10 ms p99 target (or its interval
    straddles it, so the target cannot be confirmed), but its p99.9 stays
    below the 1 s at which etcd itself logs "slow fdatasync"
    (``FSYNC_UNUSABLE_S``). etcd can run there with longer timeouts; the
    derivation is in :func:`derive_timeouts`.

``tmpfs`` (exit code 1)
    No persistent PATH is acceptable, the cluster has ONE control plane and no
    ``--peer`` was measured: keep etcd's data directory on tmpfs (RAM). All
    etcd data is lost at every power cut or reboot; the emitted files
    (:mod:`rcarkit.etcd.emit`) mitigate that with a periodic
    ``etcdctl snapshot save`` to the persistent disk. Refused with two or more
    control planes: a simultaneous power loss would wipe every member at once.

``external-etcd`` (exit code 1)
    No persistent PATH is acceptable and a candidate etcd host was measured
    with ``--peer HOST:PORT`` (or tmpfs is refused because there are several
    control planes): run etcd elsewhere and point kubeadm at it with
    ``etcd.external``. The measured round-trip times are folded into the
    timeouts. A host so far away that its round trip needs more than etcd's
    maximum timeouts is not recommended with one control plane (tmpfs is);
    with several it is, with the clamped maximum and a warning.

Choosing among several PATHs
============================
Only persistent PATHs (not tmpfs/ramfs) are candidates for etcd's data. They
are ranked by status (fits, undecided, slow, unusable) and then by the upper
bound of their p99 interval (the point estimate when the bound is unknown); the
first one is the recommendation. A tmpfs PATH shows how fast RAM is, it is
never chosen while a persistent PATH is acceptable.

Round-trip times
================
With ``--peer`` the round trip used is the upper bound of the 95 % interval
of its p99 (the largest round trip when the sample is too small for a bound).
The heartbeat is at least ``HEARTBEAT_RTT_FACTOR`` (1.5) times it (etcd's
tuning guide: heartbeat "around 0.5-1.5x the round-trip time"; the upper end,
for the variance a short measurement misses), and the election timeout at
least ``ELECTION_RTT_FACTOR`` (10) times it ("at least 10 times the
round-trip time").

kubeadm timeouts
================
kubeadm's v1beta4 defaults (4m, 4m, 1m, 2m, 5m, 5m) assume etcd's 1000 ms
election timeout. The ones that wait on etcd are multiplied by
``election timeout / 1000 ms`` (between 1 and ``KUBEADM_TIMEOUT_SCALE_MAX``),
see :func:`kubeadm_timeouts_for`.

Long because every verdict rule sits next to the threshold it rests on and
the document that sets it; splitting the rules from their citations would
hide why a verdict was given.
"""

import math
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from rcarkit.errors import EXIT_FINDINGS, EXIT_OK, RcarkitError

__all__ = [
    "Recommendation", "PathAssessment", "recommend", "assess", "derive_timeouts",
    "kubeadm_timeouts_for", "go_duration", "REFERENCES", "THRESHOLDS",
    "LOCAL_DEFAULTS", "LOCAL_RAISED", "TMPFS", "EXTERNAL",
]

LOCAL_DEFAULTS = "local-defaults"
LOCAL_RAISED = "local-raised-timeouts"
TMPFS = "tmpfs"
EXTERNAL = "external-etcd"
VERDICTS = (LOCAL_DEFAULTS, LOCAL_RAISED, TMPFS, EXTERNAL)

# The documents the thresholds come from; why lines cite them by tag.
REFERENCES = {
    "etcd-faq": "https://etcd.io/docs/v3.5/faq/ (Performance: \"failed to send out "
                "heartbeat on time\", \"apply entries took too long\")",
    "etcd-hardware": "https://etcd.io/docs/v3.5/op-guide/hardware/#disks",
    "etcd-tuning": "https://etcd.io/docs/v3.5/tuning/#time-parameters",
    "etcd-fio": "https://www.ibm.com/cloud/blog/using-fio-to-tell-whether-your-storage-"
                "is-fast-enough-for-etcd (linked from the etcd FAQ and hardware guide)",
    "etcd-config": "etcd server/embed/config.go Config.Validate() "
                   "(maxElectionMs = 50000; election >= 5 x heartbeat)",
    "etcd-wal": "etcd server/storage/wal/wal.go (warnSyncDuration = time.Second: "
                "\"slow fdatasync\" warning; SegmentSizeBytes = 64 * 1000 * 1000) and "
                "file_pipeline.go (the next segment is preallocated ahead)",
    "etcd-recovery": "https://etcd.io/docs/v3.5/op-guide/recovery/#snapshotting-the-keyspace",
    "kubeadm-v1beta4": "https://kubernetes.io/docs/reference/config-api/"
                       "kubeadm-config.v1beta4/ (type Timeouts)",
    "kubeadm-ha-etcd": "https://kubernetes.io/docs/setup/production-environment/tools/"
                       "kubeadm/high-availability/#external-etcd-nodes",
    "kine-sqlite": "k3s-io/kine pkg/drivers/sqlite/sqlite.go (default DSN "
                   "?_journal=WAL&cache=shared&_busy_timeout=30000&_txlock=immediate) and "
                   "mattn/go-sqlite3 sqlite3.go (synchronous NORMAL by default)",
    "k3s-datastore": "https://docs.k3s.io/datastore (SQLite is the default datastore of "
                     "a single server; embedded etcd for several)",
    "k3s-1850": "https://github.com/k3s-io/k3s/issues/1850 (k3s crash-looping on a slow "
                "SD card)",
}

# --- disk: fdatasync latency -------------------------------------------------
# etcd FAQ, "failed to send out heartbeat on time": "monitor
# wal_fsync_duration_seconds (p99 duration should be less than 10ms) to confirm
# the disk is reasonably fast"; etcd's fio guidance (IBM blog linked from the
# FAQ and the hardware guide): "check if the 99th percentile of fdatasync
# durations is less than 10ms. If that is the case, then your storage is fast
# enough." Strictly less: exactly 10 ms does not fit.
FSYNC_P99_MAX_S = 0.010

# etcd FAQ, "apply entries took too long": "monitor backend_commit_duration_seconds
# (p99 duration should be less than 25ms)". We measure WAL-style fdatasync, not
# bbolt commits (several writes and syncs each); a PATH whose plain fdatasync
# p99 is wholly above 25 ms cannot meet the backend target either, which the
# why lines say. It does not change the verdict (the WAL rules decide).
BACKEND_COMMIT_P99_MAX_S = 0.025

# etcd server/storage/wal/wal.go: "warnSyncDuration is the amount of time
# allotted to an fsync before logging a warning" = time.Second. A disk whose
# p99.9 fdatasync reaches the time etcd itself calls a "slow fdatasync" is not
# rescued by longer timeouts: it is unusable for etcd.
FSYNC_UNUSABLE_S = 1.0

# How many such syncs make the disk unusable when the count is known (our
# engine): a repeat, not a one-off. At 3 write IOPS etcd logged "slow
# fdatasync" constantly while the p99.9 stayed at 600 ms, so the p99.9 alone
# misses it; one 1-s sync in 3,880 on a virtual disk under an fsync storm
# (one run in ten) would otherwise send etcd to tmpfs on a single sample,
# which issue 9 item 2 forbids for the timeouts. A single one is reported in
# the why lines. Either rule also fires when the p99.9 itself is >= 1 s
# (with fewer than 1,000 samples that is the largest one). fio reports no
# count: its exact max decides.
SLOW_SYNCS_UNUSABLE = 2

# The heartbeat's statistic is the upper end of the p99's interval, but never
# above the measured p99.9 once there are enough samples for the p99.9 not to
# be the largest one (1,000): the p99 cannot exceed the p99.9, and a batch
# holding one stall can push a batch-means bound past it (issue 9 item 2:
# not the maximum).
P999_TAIL_MIN_COUNT = 1000

# The thresholds the benchmark's adaptive stop should decide (p99 CI on one
# side): only the one the verdict depends on, so sampling stops as early as it can.
THRESHOLDS = (FSYNC_P99_MAX_S,)

# --- etcd time parameters ----------------------------------------------------
# etcd tuning guide: "By default, etcd uses a 100ms heartbeat interval." and
# "By default, etcd uses a 1000ms election timeout."
DEFAULT_HEARTBEAT_MS = 100
DEFAULT_ELECTION_MS = 1000

# etcd FAQ: "Before the leader sends heartbeats attached with metadata, it may
# need to persist the metadata to disk" and "if the leader skips two heartbeat
# intervals, etcd will warn it failed to send a heartbeat on time". A heartbeat
# delayed by one WAL sync of length d is late by d; it is "skipped" once d
# exceeds one interval. So the interval must exceed the slow syncs. The
# statistic is the upper end of the 95 % batch-means interval of the p99
# (rcarkit.etcd.stats): a high quantile with its uncertainty, stable from run
# to run, unlike the largest sample (one stall made repeats on the same disk
# differ 8.9x). Factor 2: the benchmark runs on an otherwise idle disk, and
# etcd's fio guidance warns that in a real cluster "other writes ... will
# increase" the fsync latency; 2x leaves that headroom and keeps a late
# heartbeat well inside the two-interval warning.
HEARTBEAT_FSYNC_FACTOR = 2.0
# Derived heartbeats are rounded UP to the next step of this ladder (roughly
# 1-1.5-2-3-5-7.5 per decade, like preferred-number series), so two runs whose
# p99 bounds differ by a few percent recommend the same value, and any two
# differ by at most a step or two. etcd's limit (5000 ms) is the last step.
HEARTBEAT_LADDER_MS = (100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000)

# etcd tuning guide: "The value of heartbeat interval is recommended to be
# around the maximum of average round-trip time (RTT) between members, normally
# around 0.5-1.5x the round-trip time."
HEARTBEAT_RTT_FACTOR = 1.5

# etcd tuning guide: "Election timeouts must be at least 10 times the
# round-trip time so it can account for variance in the network"; "the election
# timeout should be an order of magnitude bigger than broadcast time". We apply
# the same 10x to the heartbeat, which already covers round trip and disk.
ELECTION_HEARTBEAT_FACTOR = 10
ELECTION_RTT_FACTOR = 10

# etcd tuning guide: "The upper limit of election timeout is 50000ms (50s)";
# etcd's config validation rejects more ("--election-timeout[...] is too long").
MAX_ELECTION_MS = 50000
# etcd tuning guide: "So 5s is a safe upper limit of global round-trip time";
# with the 10x rule this is the heartbeat that reaches the 50 s limit.
MAX_HEARTBEAT_MS = MAX_ELECTION_MS // ELECTION_HEARTBEAT_FACTOR
# etcd server/embed/config.go: "--election-timeout[...] should be at least as
# 5 times as --heartbeat-interval[...]" (startup fails otherwise).
MIN_ELECTION_HEARTBEAT_RATIO = 5
# Round-trip derived election timeouts are rounded up to this step.
HEARTBEAT_STEP_MS = 10

# --- kubeadm ------------------------------------------------------------------
# kubeadm Configuration (v1beta4), type Timeouts (fields of InitConfiguration,
# JoinConfiguration, ResetConfiguration, UpgradeConfiguration), defaults as
# documented there: controlPlaneComponentHealthCheck "Default: 4m",
# kubeletHealthCheck "Default: 4m", kubernetesAPICall "Default: 1m",
# etcdAPICall "Default: 2m", tlsBootstrap "Default: 5m", discovery "Default: 5m".
KUBEADM_DEFAULT_TIMEOUTS_S = {
    "controlPlaneComponentHealthCheck": 240,
    "kubeletHealthCheck": 240,
    "kubernetesAPICall": 60,
    "etcdAPICall": 120,
    "tlsBootstrap": 300,
    "discovery": 300,
}
# The timeouts that wait on etcd (directly, or through the API server that
# stores everything in etcd) and are scaled with the election timeout: a
# leader election stalls every etcd request for up to one election timeout,
# and kubeadm's defaults were chosen for etcd's default 1000 ms.
KUBEADM_SCALED_TIMEOUTS = ("controlPlaneComponentHealthCheck", "kubernetesAPICall",
                           "etcdAPICall", "tlsBootstrap", "discovery")
# Cap of the scale factor: beyond 5x (20 min for the control-plane health
# check) a failed init/join only takes longer to report.
KUBEADM_TIMEOUT_SCALE_MAX = 5.0

# kubeadm's default etcd data directory (v1beta4 LocalEtcd.dataDir:
# "Defaults to \"/var/lib/etcd\"").
DEFAULT_ETCD_DATA_DIR = "/var/lib/etcd"
# Where the tmpfs verdict's snapshots go: on the persistent root filesystem,
# never under the tmpfs data directory.
DEFAULT_SNAPSHOT_DIR = "/var/lib/etcd-snapshots"
# etcd's client port (the endpoint kubeadm's etcd.external.endpoints needs);
# 2380 is the peer port.
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380

KIND_NAMES = {
    "emmc": "eMMC", "sd": "an SD card", "nvme": "NVMe", "sata": "a SATA/SCSI SSD",
    "usb": "USB storage", "virtio": "a virtio disk", "loop": "a loop device",
    "rotational": "a spinning disk", "tmpfs": "tmpfs (RAM)", "overlay": "overlayfs",
    "network": "a network filesystem", "unknown": "unknown storage",
}

# Assessment statuses, best first.
FITS = "fits"
UNDECIDED = "undecided"
SLOW = "slow"
UNUSABLE = "unusable"
_STATUS_RANK = {FITS: 0, UNDECIDED: 1, SLOW: 2, UNUSABLE: 3}


def _finite(value) -> bool:
    return value is not None and not math.isnan(value) and not math.isinf(value)


def _ms_text(seconds) -> str:
    if not _finite(seconds):
        return "?"
    ms = seconds * 1000.0
    if ms < 0.01:
        return "%.1f us" % (ms * 1000.0)
    if ms < 1:
        return "%.0f us" % (ms * 1000.0)
    if ms >= 100:
        return "%.0f ms" % ms
    if ms >= 10:
        return "%.1f ms" % ms
    return "%.2f ms" % ms


def _ci_text(ci) -> str:
    low, high = ci
    return "[%s, %s]" % (_ms_text(low), _ms_text(high))


def go_duration(seconds: float) -> str:
    """Go ``time.Duration.String()`` form of whole seconds: 240 -> ``4m0s``."""
    total = int(round(seconds))
    if total <= 0:
        return "0s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return "%dh%dm%ds" % (hours, minutes, secs)
    if minutes:
        return "%dm%ds" % (minutes, secs)
    return "%ds" % secs


def ladder_up(ms: float) -> int:
    """The smallest step of :data:`HEARTBEAT_LADDER_MS` >= ``ms`` (the last
    step when ``ms`` is above all of them)."""
    for step in HEARTBEAT_LADDER_MS:
        if ms <= step + 1e-9:
            return step
    return HEARTBEAT_LADDER_MS[-1] * 2  # beyond etcd's limit: derive_timeouts clamps


def _round_up(value: float, step: int) -> int:
    return int(math.ceil(value / step - 1e-9) * step)


@dataclass
class PathAssessment:
    """How one measured PATH compares with etcd's thresholds."""

    path: str
    kind: str
    device: Optional[str]
    persistent: bool
    status: str            # fits | undecided | slow | unusable
    p99: float
    p99_ci: tuple
    tail: float            # the statistic the heartbeat is derived from (seconds)
    tail_source: str       # "p99 95% upper bound (batch means)" | ... | "max"
    count: int
    p999: float = float("nan")  # p99.9 point estimate
    slow_count: Optional[int] = None  # syncs >= 1 s ("slow fdatasync" in etcd's log)
    max: float = float("nan")
    free_bytes: Optional[int] = None
    unusable_because: Optional[str] = None  # "space" | "slow-syncs" | "latency"

    @property
    def p99_bound(self) -> float:
        """Upper end of the p99 interval, else the point estimate (for ranking)."""
        high = self.p99_ci[1]
        return high if _finite(high) else (self.p99 if _finite(self.p99) else math.inf)

    def to_dict(self) -> dict:
        def ms(v):
            return round(v * 1000.0, 6) if _finite(v) else None
        return {"path": self.path, "kind": self.kind, "device": self.device,
                "persistent": self.persistent, "status": self.status,
                "p99_ms": ms(self.p99), "p99_ci_ms": [ms(self.p99_ci[0]), ms(self.p99_ci[1])],
                "p999_ms": ms(self.p999),
                "tail_ms": ms(self.tail), "tail_source": self.tail_source,
                "count": self.count, "slow_syncs_1s": self.slow_count,
                "max_ms": ms(self.max), "free_bytes": self.free_bytes,
                "unusable_because": self.unusable_because}


def assess(measurement) -> PathAssessment:
    """Classify one PathMeasurement against the thresholds (see module doc).

    * ``fits``: p99 CI upper bound < ``FSYNC_P99_MAX_S``.
    * ``unusable``: the filesystem has less free space than etcd needs to
      start (``ETCD_MIN_FREE_BYTES``: two preallocated 64 MB WAL segments and
      a bbolt growth step), whatever its latency; or at least one sync took
      ``FSYNC_UNUSABLE_S`` (1 s) or more: etcd logs "slow fdatasync" for each;
      with our engine's exact count, at least ``SLOW_SYNCS_UNUSABLE`` (2) of
      them or a p99.9 of 1 s or more (a single one is reported, not counted);
      with fio's (only the max is exact) its max.

    The heartbeat is derived from ``tail``: the upper end of the 95 %
    interval of the p99 (batch means for our engine), capped at the measured
    p99.9 from ``P999_TAIL_MIN_COUNT`` samples on, else the largest
    sample (too few samples for a bound).
    * ``slow``: the p99 CI lower bound is >= 10 ms (the p99 is not "less than
      10ms" with 97.5 % confidence).
    * ``undecided``: otherwise: the interval straddles 10 ms (or an upper
      bound of exactly 10 ms), or it has no upper bound yet (too few samples).
    """
    from rcarkit.etcd.bench import ETCD_MIN_FREE_BYTES  # lazy: advice stays light

    stats = measurement.stats
    device = measurement.device
    free = getattr(measurement, "free_bytes", None)
    no_space = getattr(measurement, "stopped_because", None) == "no-space" or \
        (free is not None and free < ETCD_MIN_FREE_BYTES)
    if stats.count <= 0 and not no_space:
        raise RcarkitError("no fdatasync samples were taken", path=measurement.path,
                           hint="give --max-time more time")
    low, high = stats.p99_ci
    method = getattr(stats, "ci_method", "order statistics")
    if _finite(high) and stats.count >= P999_TAIL_MIN_COUNT and _finite(stats.p999) \
            and stats.p999 < high:
        # the p99 is below the p99.9: a bound above the measured p99.9 says only
        # that one batch held a stall (seen: 1,160 ms from one 1 s sync in
        # 18,562, asking for a 3 s heartbeat where its repeats asked for 100)
        tail, source = stats.p999, ("p99.9, below the upper end of the 95%% interval of "
                                    "p99 (%s) that one stall widened" % method)
    elif _finite(high):
        tail, source = high, "upper end of the 95%% interval of p99 (%s)" % method
    elif _finite(stats.max):
        tail, source = stats.max, "max (too few samples for a p99 upper bound)"
    else:
        tail, source = stats.p99, "p99"
    p999 = stats.p999 if _finite(stats.p999) else stats.max
    slow_count = getattr(stats, "slow_count", None)
    if slow_count is not None:
        slow_syncs = slow_count >= SLOW_SYNCS_UNUSABLE or (
            slow_count > 0 and _finite(p999) and p999 >= FSYNC_UNUSABLE_S)
    else:                              # fio: only the max is exact
        slow_count = int(_finite(stats.max) and stats.max >= FSYNC_UNUSABLE_S)
        slow_syncs = bool(slow_count)
    backend = getattr(measurement, "backend_stats", None)  # --load etcd only
    backend_fits, backend_slow = True, False
    if backend is not None and backend.count > 0:
        b_low, b_high = backend.p99_ci
        backend_fits = _finite(b_high) and b_high < BACKEND_COMMIT_P99_MAX_S
        backend_slow = _finite(b_low) and b_low >= BACKEND_COMMIT_P99_MAX_S
    why_unusable = None
    if no_space:
        status, why_unusable = UNUSABLE, "space"
    elif slow_syncs:
        status, why_unusable = UNUSABLE, "slow-syncs"
    elif _finite(low) and low >= FSYNC_UNUSABLE_S:
        status, why_unusable = UNUSABLE, "latency"
    elif _finite(high) and high < FSYNC_P99_MAX_S and backend_fits:
        status = FITS
    elif (_finite(low) and low >= FSYNC_P99_MAX_S) or backend_slow:
        status = SLOW
    else:
        status = UNDECIDED
    return PathAssessment(path=measurement.path, kind=getattr(device, "kind", "unknown"),
                          device=getattr(device, "device", None),
                          persistent=bool(getattr(device, "persistent", True)),
                          status=status, p99=stats.p99, p99_ci=tuple(stats.p99_ci),
                          tail=tail, tail_source=source, count=stats.count, p999=p999,
                          slow_count=slow_count, max=stats.max, free_bytes=free,
                          unusable_because=why_unusable)


def _rtt_bound(peer):
    """``(seconds, source)``: the round trip the timeouts must cover, the p99 CI
    upper bound, else the largest round trip, else the p99."""
    high = peer.p99_ci[1] if peer.p99_ci else float("nan")
    if _finite(high):
        return high, "p99 CI upper"
    if _finite(peer.max):
        return peer.max, "max"
    return peer.p99, "p99"


def derive_timeouts(fsync_tail: Optional[float] = None, rtt: Optional[float] = None,
                    raised: bool = False):
    """``(heartbeat_ms, election_ms, clamped)`` from a fsync statistic and a round trip.

    Formula (seconds in, milliseconds out)::

        heartbeat = max(100,
                        HEARTBEAT_FSYNC_FACTOR * fsync_tail,   # 2 x p99 upper bound
                        HEARTBEAT_RTT_FACTOR * rtt)            # 1.5 x p99 round trip
        heartbeat = round UP on HEARTBEAT_LADDER_MS (100, 150, 200, 300, 500, ...)
        raised:     heartbeat >= 150 (the disk misses etcd's 10 ms target: the
                    verdict is local-raised-timeouts, so the timeouts ARE raised)
        election  = max(1000, 10 x heartbeat, 10 x rtt), at most 50000 ms

    * a heartbeat may wait for a WAL sync before it is sent (etcd FAQ), so the
      interval must exceed the slow syncs, with a factor 2 for load the idle
      benchmark did not see;
    * the heartbeat should be around the round trip, 0.5-1.5x (etcd tuning);
    * the election timeout is at least 10x the round trip, an order of
      magnitude above the heartbeat (etcd tuning); etcd itself requires >= 5x
      and at most 50000 ms (etcd config validation).

    ``clamped`` is True when a limit cut the derived value (the disk or the
    link is too slow even for etcd's maximum timeouts).
    """
    candidates = [float(DEFAULT_HEARTBEAT_MS)]
    if _finite(fsync_tail):
        candidates.append(HEARTBEAT_FSYNC_FACTOR * fsync_tail * 1000.0)
    if _finite(rtt):
        candidates.append(HEARTBEAT_RTT_FACTOR * rtt * 1000.0)
    if raised:
        candidates.append(HEARTBEAT_LADDER_MS[1])
    heartbeat = ladder_up(max(candidates))
    clamped = False
    if heartbeat > MAX_HEARTBEAT_MS:
        heartbeat, clamped = MAX_HEARTBEAT_MS, True
    election = max(DEFAULT_ELECTION_MS, ELECTION_HEARTBEAT_FACTOR * heartbeat)
    if _finite(rtt):
        election = max(election, _round_up(ELECTION_RTT_FACTOR * rtt * 1000.0, HEARTBEAT_STEP_MS))
    if election > MAX_ELECTION_MS:
        election, clamped = MAX_ELECTION_MS, True
    if election < MIN_ELECTION_HEARTBEAT_RATIO * heartbeat:  # cannot happen with the 10x rule
        election = MIN_ELECTION_HEARTBEAT_RATIO * heartbeat
    return heartbeat, election, clamped


def kubeadm_timeouts_for(election_ms: int) -> Dict[str, str]:
    """kubeadm v1beta4 ``timeouts`` scaled by election timeout / 1000 ms (1x .. 5x).

    The timeouts that wait on etcd (``KUBEADM_SCALED_TIMEOUTS``) grow with the
    election timeout, since a leader election stalls etcd requests for up to
    one election timeout; ``kubeletHealthCheck`` does not depend on etcd and
    keeps its default. Values are Go durations (``"4m0s"``).
    """
    scale = min(KUBEADM_TIMEOUT_SCALE_MAX, max(1.0, election_ms / float(DEFAULT_ELECTION_MS)))
    out = {}
    for name, seconds in KUBEADM_DEFAULT_TIMEOUTS_S.items():
        factor = scale if name in KUBEADM_SCALED_TIMEOUTS else 1.0
        out[name] = go_duration(_round_up(seconds * factor, 10))
    return out


@dataclass
class Recommendation:
    """The verdict and everything needed to apply it (see the module doc)."""

    verdict: str
    path: Optional[str]
    heartbeat_ms: int
    election_timeout_ms: int
    kubeadm_timeouts: Dict[str, str]
    why: List[str]
    exit_code: int
    data_dir: Optional[str] = None          # etcd.local.dataDir to emit
    control_planes: int = 1
    assessments: List[PathAssessment] = field(default_factory=list)
    peer: Optional[dict] = None             # {"address", "rtt_p99_ms", ...}
    external_endpoints: List[str] = field(default_factory=list)
    snapshot_dir: Optional[str] = None      # tmpfs: where snapshots go
    clamped: bool = False
    k3s: Optional[dict] = None              # --k3s: SQLite (kine) commits on the PATH

    @property
    def references(self) -> Dict[str, str]:
        """The documents the why lines cite, by tag."""
        used = {}
        for line in self.why:
            for tag, url in REFERENCES.items():
                if "[%s]" % tag in line:
                    used[tag] = url
        return used

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "path": self.path,
            "data_dir": self.data_dir,
            "heartbeat_interval_ms": self.heartbeat_ms,
            "election_timeout_ms": self.election_timeout_ms,
            "kubeadm_timeouts": dict(self.kubeadm_timeouts),
            "control_planes": self.control_planes,
            "external_endpoints": list(self.external_endpoints),
            "snapshot_dir": self.snapshot_dir,
            "peer": self.peer,
            "clamped": self.clamped,
            "why": list(self.why),
            "references": self.references,
            "paths": [a.to_dict() for a in self.assessments],
            "exit_code": self.exit_code,
            "k3s": self.k3s,
        }


def _data_dir_for(path: str) -> str:
    """etcd.local.dataDir for a chosen PATH: the PATH itself when its name says
    etcd (``/var/lib/etcd``), else an ``etcd`` directory inside it."""
    path = os.path.abspath(path)
    if "etcd" in os.path.basename(path.rstrip("/")):
        return path
    return os.path.join(path, "etcd")


def _where(a: PathAssessment) -> str:
    kind = KIND_NAMES.get(a.kind, a.kind)
    if a.device:
        return "%s (%s, %s)" % (a.path, kind, a.device)
    return "%s (%s)" % (a.path, kind)


def _describe(a: PathAssessment) -> str:
    return ("%s: p99 fdatasync %s, 95%% CI %s, %d samples"
            % (_where(a), _ms_text(a.p99), _ci_text(a.p99_ci), a.count))


def _status_line(a: PathAssessment) -> str:
    line = _status_text(a)
    if a.status != UNUSABLE and a.slow_count:
        line += (" One fdatasync of %d took 1 s or more (max %s; etcd logs \"slow "
                 "fdatasync\" for it [etcd-wal]): a one-off is not counted against the "
                 "disk, a repeat is; run again to see whether it recurs."
                 % (a.count, _ms_text(a.max)))
    return line


def _status_text(a: PathAssessment) -> str:
    if a.status == FITS:
        return ("%s -> under the 10 ms etcd asks for: \"p99 duration should be less than "
                "10ms\" [etcd-faq] [etcd-fio]." % _describe(a))
    if a.status == UNDECIDED:
        return ("%s -> the interval contains 10 ms, so the 10 ms target \"p99 duration "
                "should be less than 10ms\" [etcd-faq] cannot be confirmed; treated as "
                "not met (run longer with --max-time to decide)." % _describe(a))
    if a.status == SLOW:
        return ("%s -> above 10 ms: etcd's target \"p99 duration should be less than "
                "10ms\" [etcd-faq] [etcd-fio] is missed; \"etcd is very sensitive to "
                "disk write latency\" [etcd-hardware]." % _describe(a))
    if a.unusable_because == "space":
        from rcarkit.etcd.bench import ETCD_MIN_FREE_BYTES
        free = ("%.1f MiB" % (a.free_bytes / 1048576.0)) if a.free_bytes is not None else "?"
        return ("%s: only %s free -> unusable whatever its latency: etcd preallocates "
                "its 64 MB WAL segment and the next one at start (SegmentSizeBytes, "
                "[etcd-wal]) and grows its backend in 16 MiB steps; it needs %.0f MiB "
                "(\"no space left on device\" otherwise). Not measured."
                % (_where(a), free, ETCD_MIN_FREE_BYTES / 1048576.0))
    if a.unusable_because == "slow-syncs":
        return ("%s -> %d fdatasync(s) took 1 s or more (max %s): etcd logs \"slow "
                "fdatasync\" for each [etcd-wal]; longer timeouts cannot make this disk "
                "usable." % (_describe(a), a.slow_count or 0, _ms_text(a.max)))
    return ("%s -> the p99 is above the 1 s at which etcd logs \"slow fdatasync\" "
            "[etcd-wal]; longer timeouts cannot make this disk usable." % _describe(a))


def _kind_lines(a: PathAssessment) -> List[str]:
    lines = []
    if a.status == FITS:
        return lines
    low = a.p99_ci[0]
    if _finite(low) and low > BACKEND_COMMIT_P99_MAX_S:
        lines.append("%s: even the lower end of the p99 interval (%s) is above 25 ms, so "
                     "etcd's database commits (several writes and syncs each) will also "
                     "miss \"backend_commit_duration_seconds (p99 duration should be less "
                     "than 25ms)\" [etcd-faq]." % (a.path, _ms_text(low)))
    if a.kind in ("emmc", "sd"):
        lines.append("%s is %s: flash cards without a write cache have high and "
                     "erratic fdatasync latency; etcd's hardware guide: \"When possible, "
                     "back etcd's storage with a SSD\" [etcd-hardware]."
                     % (a.path, KIND_NAMES[a.kind]))
    elif a.kind == "rotational":
        lines.append("%s is a spinning disk: \"If using spinning disk, get the fastest "
                     "disks possible (15,000 RPM)\" [etcd-hardware]." % a.path)
    elif a.kind == "network":
        lines.append("%s is a network filesystem: every fdatasync crosses the network; "
                     "\"Fast disks are the most critical factor for etcd deployment "
                     "performance and stability\" [etcd-hardware]." % a.path)
    elif a.kind == "usb":
        lines.append("%s is USB storage: USB flash sticks are often as slow as SD cards; "
                     "a USB SSD usually is not [etcd-hardware]." % a.path)
    return lines


def _timeouts_line(heartbeat: int, election: int, clamped: bool) -> str:
    text = ("etcd --heartbeat-interval=%d --election-timeout=%d (ms): heartbeat \"around "
            "round-trip time\" and election timeout \"at least 10 times the round-trip "
            "time\" [etcd-tuning]; etcd requires election >= 5 x heartbeat and at most "
            "50000 ms [etcd-config]." % (heartbeat, election))
    if clamped:
        text += (" The derived values hit etcd's limits (heartbeat 5000 ms, election "
                 "50000 ms, \"The upper limit of election timeout is 50000ms\" "
                 "[etcd-tuning]) and were cut: expect leader loss under load.")
    return text


def _kubeadm_line(timeouts: Dict[str, str]) -> str:
    return ("kubeadm timeouts (InitConfiguration/JoinConfiguration.timeouts) scaled with "
            "the election timeout: etcdAPICall=%s (default 2m), "
            "controlPlaneComponentHealthCheck=%s (default 4m), kubernetesAPICall=%s "
            "(default 1m), tlsBootstrap=%s, discovery=%s (default 5m) [kubeadm-v1beta4]."
            % (timeouts["etcdAPICall"], timeouts["controlPlaneComponentHealthCheck"],
               timeouts["kubernetesAPICall"], timeouts["tlsBootstrap"],
               timeouts["discovery"]))


def _peer_summary(peer, address: Optional[str]) -> dict:
    def ms(v):
        return round(v * 1000.0, 6) if _finite(v) else None
    return {"address": address, "count": peer.count, "rtt_p50_ms": ms(peer.p50),
            "rtt_p99_ms": ms(peer.p99), "rtt_p99_ci_ms": [ms(peer.p99_ci[0]), ms(peer.p99_ci[1])],
            "rtt_max_ms": ms(peer.max), "engine": getattr(peer, "engine", "tcp-rtt")}


def _external_endpoint(address: Optional[str]) -> List[str]:
    if not address:
        return ["https://ETCD_HOST:%d" % ETCD_CLIENT_PORT]
    host, _, port = address.rpartition(":")
    if not host:
        host, port = address, str(ETCD_CLIENT_PORT)
    if port == str(ETCD_PEER_PORT):
        port = str(ETCD_CLIENT_PORT)
    return ["https://%s:%s" % (host, port)]


def _k3s_summary(kine, best):
    """``(info dict or None, lines(verdict) -> why lines)`` for ``--k3s``."""
    if not kine:
        return None, lambda verdict: []
    from rcarkit.etcd.kine import KINE_COMMIT_P99_MAX_S, kine_fits
    chosen = None
    if best is not None:
        chosen = next((k for k in kine if k.path == best.path), None)
    chosen = chosen or kine[0]
    st = chosen.stats
    fits = kine_fits(st)
    info = {"path": chosen.path, "datastore": "sqlite (kine)", "fits": fits,
            "commit_p99_ms": round(st.p99 * 1000.0, 6) if _finite(st.p99) else None,
            "commit_p99_ci_ms": [round(v * 1000.0, 6) if _finite(v) else None
                                 for v in st.p99_ci],
            "commit_max_ms": round(st.max * 1000.0, 6) if _finite(st.max) else None,
            "limit_p99_ms": KINE_COMMIT_P99_MAX_S * 1000.0, "commits": st.count}
    measured = ("%s: SQLite commits with kine's settings (WAL, synchronous=NORMAL, "
                "busy_timeout 30000 [kine-sqlite]): p99 %s, 95%% CI %s, max %s, %d commits"
                % (chosen.path, _ms_text(st.p99), _ci_text(st.p99_ci), _ms_text(st.max),
                   st.count))

    def lines(verdict):
        if fits is True:
            if verdict == LOCAL_DEFAULTS:
                tail = ("etcd fits here too; k3s with SQLite (its default for a single "
                        "server) fits as well.")
            else:
                tail = ("etcd's limits are missed here, but SQLite's commits fit (p99 "
                        "below %g ms, the limit etcd sets for its own database commits "
                        "[etcd-faq]): a SINGLE-SERVER k3s with its default SQLite "
                        "datastore can keep its data on this PATH (k3s needs etcd only "
                        "for several servers) [k3s-datastore]." % (KINE_COMMIT_P99_MAX_S * 1000))
        elif fits is False:
            tail = ("SQLite's commits miss %g ms too (or took 1 s or more): k3s with "
                    "SQLite would struggle here as well, as on slow SD cards [k3s-1850]."
                    % (KINE_COMMIT_P99_MAX_S * 1000))
        else:
            tail = ("the interval contains %g ms: whether SQLite fits cannot be "
                    "confirmed (run longer with --max-time)." % (KINE_COMMIT_P99_MAX_S * 1000))
        return ["k3s: %s -> %s" % (measured, tail)]
    return info, lines


def recommend(measurements: Sequence, peer=None, control_planes: int = 1,
              peer_address: Optional[str] = None, kine: Sequence = ()) -> Recommendation:
    """Choose a verdict for ``measurements`` (PathMeasurement list) and ``peer``
    (FsyncStats of TCP round trips, seconds, or None); see the module doc.

    ``peer_address`` (``HOST:PORT``) only labels the peer and gives the
    external endpoint. ``kine``: :class:`rcarkit.etcd.kine.KineMeasurement` of
    the same PATHs (``--k3s``): a why line and ``Recommendation.k3s`` say
    whether a single-server k3s with its SQLite datastore fits. Raises RcarkitError for ``control_planes < 1`` or when
    there is nothing to judge.
    """
    if control_planes < 1:
        raise RcarkitError("--control-planes must be at least 1, not %d" % control_planes)
    if not measurements and peer is None:
        raise RcarkitError("nothing was measured", hint="give a PATH or --peer")
    assessments = [assess(m) for m in measurements]
    rtt, rtt_source = _rtt_bound(peer) if peer is not None and peer.count > 0 else (None, None)
    peer_info = _peer_summary(peer, peer_address) if peer is not None else None
    why: List[str] = [_status_line(a) for a in assessments]
    from rcarkit.etcd.load import load_summary  # which measurement the verdict rests on
    for line in dict.fromkeys(load_summary(m) for m in measurements):
        why.append(line)
    for a in assessments:
        why.extend(_kind_lines(a))
    if peer is not None and peer.count > 0:
        why.append("TCP connect round trip to %s: p50 %s, p99 %s, %s %s, %d probes; "
                   "the heartbeat should be \"around 0.5-1.5x the round-trip time\" "
                   "[etcd-tuning]." % (peer_address or "the peer", _ms_text(peer.p50),
                                        _ms_text(peer.p99), rtt_source, _ms_text(rtt),
                                        peer.count))

    persistent = sorted((a for a in assessments if a.persistent),
                        key=lambda a: (_STATUS_RANK[a.status], a.p99_bound))
    best = persistent[0] if persistent else None
    if len(persistent) > 1 and best is not None:
        others = ", ".join("%s (%s)" % (a.path, a.status) for a in persistent[1:])
        why.append("Best persistent candidate: %s, ranked by status then p99 upper bound "
                   "before %s." % (best.path, others))

    k3s_info, k3s_lines = _k3s_summary(kine, best)

    def finish(verdict, path, heartbeat, election, clamped, data_dir=None,
               endpoints=(), snapshot_dir=None, extra=()):
        timeouts = kubeadm_timeouts_for(election)
        lines = list(why) + list(extra)
        if k3s_info is not None:
            k3s_info["etcd_verdict"] = verdict
            lines += k3s_lines(verdict)
        lines.append(_timeouts_line(heartbeat, election, clamped))
        lines.append(_kubeadm_line(timeouts))
        return Recommendation(
            verdict=verdict, path=path, heartbeat_ms=heartbeat, election_timeout_ms=election,
            kubeadm_timeouts=timeouts, why=lines,
            exit_code=EXIT_OK if verdict == LOCAL_DEFAULTS else EXIT_FINDINGS,
            data_dir=data_dir, control_planes=control_planes, assessments=assessments,
            peer=peer_info, external_endpoints=list(endpoints), snapshot_dir=snapshot_dir,
            clamped=clamped, k3s=k3s_info)

    if best is not None and best.status != UNUSABLE:
        if control_planes > 1 and rtt is None:
            why.append("With %d control planes the heartbeat must also cover the round trip "
                       "between etcd members (\"around 0.5-1.5x the round-trip time\" "
                       "[etcd-tuning]); measure it with --peer OTHER_CONTROL_PLANE:2380."
                       % control_planes)
        tail = best.tail if best.status != FITS else None
        heartbeat, election, clamped = derive_timeouts(tail, rtt, raised=best.status != FITS)
        data_dir = _data_dir_for(best.path)
        if best.status == FITS and heartbeat == DEFAULT_HEARTBEAT_MS \
                and election == DEFAULT_ELECTION_MS:
            return finish(LOCAL_DEFAULTS, best.path, heartbeat, election, clamped,
                          data_dir=data_dir,
                          extra=["Verdict local-defaults: keep etcd on %s with etcd's "
                                 "default timeouts (\"By default, etcd uses a 100ms "
                                 "heartbeat interval\", \"a 1000ms election timeout\" "
                                 "[etcd-tuning])." % data_dir])
        extra = []
        if best.status == FITS:
            extra.append("Verdict local-raised-timeouts: the disk fits, but the measured "
                         "round trip asks for a longer heartbeat than the 100 ms default "
                         "[etcd-tuning].")
        else:
            extra.append("Verdict local-raised-timeouts: keep etcd on %s and cover its "
                         "slow syncs with longer timeouts. Heartbeat >= %.0fx the %s, "
                         "%s, and at least one step above the 100 ms default since the "
                         "disk misses etcd's 10 ms target; rounded up on the ladder %s ms "
                         "so repeated runs agree: \"Before the leader sends heartbeats "
                         "attached with metadata, it may need to persist the metadata to "
                         "disk\" [etcd-faq]."
                         % (data_dir, HEARTBEAT_FSYNC_FACTOR, best.tail_source,
                            _ms_text(best.tail),
                            "/".join(str(x) for x in HEARTBEAT_LADDER_MS)))
        return finish(LOCAL_RAISED, best.path, heartbeat, election, clamped,
                      data_dir=data_dir, extra=extra)

    # Nothing persistent is acceptable.
    if best is None:
        why.append("No persistent PATH was measured (tmpfs does not survive a reboot).")
    else:
        why.append("No persistent PATH is acceptable for etcd, even with raised timeouts.")

    far_peer = None
    if rtt is not None:
        heartbeat, election, clamped = derive_timeouts(None, rtt)
        if clamped and control_planes == 1:
            far_peer = ("The measured host is too far away for etcd: its round trip asks for "
                        "more than etcd's maximum timeouts (\"The upper limit of election "
                        "timeout is 50000ms\" [etcd-tuning]).")
    if rtt is not None and far_peer is None:
        endpoints = _external_endpoint(peer_address)
        return finish(EXTERNAL, None, heartbeat, election, clamped, endpoints=endpoints,
                      extra=["Verdict external-etcd: run etcd on the measured host and "
                             "point kubeadm at %s with etcd.external (endpoints, caFile, "
                             "certFile, keyFile) [kubeadm-ha-etcd]. Timeouts below are for "
                             "the external etcd members and fold in the measured round "
                             "trip; benchmark that host's disk with rcarkit etcd-bench "
                             "too." % ", ".join(endpoints)])

    if control_planes == 1:
        tmpfs_paths = [a for a in assessments if a.kind == "tmpfs" or not a.persistent]
        extra = [far_peer] if far_peer else []
        if tmpfs_paths:
            extra.append("RAM measured at %s: p99 %s." % (tmpfs_paths[0].path,
                                                          _ms_text(tmpfs_paths[0].p99)))
        extra.append("Verdict tmpfs (single control plane only): mount tmpfs on %s. "
                     "PERSISTENCE LOSS: every reboot or power cut erases all cluster state "
                     "held in etcd. Mitigation: a timer runs \"etcdctl snapshot save\" "
                     "[etcd-recovery] into %s on the persistent disk; restore the latest "
                     "snapshot after a reboot." % (DEFAULT_ETCD_DATA_DIR, DEFAULT_SNAPSHOT_DIR))
        return finish(TMPFS, DEFAULT_ETCD_DATA_DIR, DEFAULT_HEARTBEAT_MS, DEFAULT_ELECTION_MS,
                      False, data_dir=DEFAULT_ETCD_DATA_DIR, snapshot_dir=DEFAULT_SNAPSHOT_DIR,
                      extra=extra)

    endpoints = _external_endpoint(None)
    return finish(EXTERNAL, None, DEFAULT_HEARTBEAT_MS, DEFAULT_ELECTION_MS, False,
                  endpoints=endpoints,
                  extra=["tmpfs refused: with %d control planes a simultaneous power loss "
                         "would erase every etcd member at once, and a member restarting "
                         "empty cannot rejoin with its old identity [etcd-recovery]."
                         % control_planes,
                         "Verdict external-etcd: run etcd on a host with fast storage "
                         "[kubeadm-ha-etcd]; measure it with --peer HOST:PORT to fold the "
                         "round trip into the timeouts (etcd defaults shown meanwhile)."])
