"""Parse ``fio --output-format=json`` (our own parser, no fio library).

``parse_fio_json(text, source)`` returns a :class:`FioResult`;
``fio_sync_stats(result)`` turns its fdatasync latencies into an
:class:`rcarkit.etcd.stats.FsyncStats` (engine ``"fio"``).

The parts of fio's JSON we read
===============================
::

    {"fio version": "fio-3.33",
     "jobs": [{"jobname": "etcd", "error": 0, "job_runtime": 4150 (ms),
               "write": {"io_bytes": ..., "total_ios": ...,
                         "clat_ns": {"min", "max", "mean", "stddev", "N",
                                     "percentile": {"99.000000": ns, ...}},
                         "lat_ns": {...}},
               "sync":  {"total_ios": 0,
                         "lat_ns": {"min", "max", "mean", "stddev", "N",
                                    "percentile": {"99.000000": ns, ...}}}}]}

* ``sync`` holds the fsync/fdatasync latencies (``--fdatasync=1``); it only
  exists in fio >= 3.5. Older fio 3.x wrote ``sync`` -> ``lat`` in
  microseconds; fio 2.x has no sync section (we say so).
* Units: keys ending in ``_ns`` are nanoseconds (fio >= 3.0); the older
  ``clat`` / ``lat`` keys are microseconds. Everything is returned in
  seconds.
* A percentile ``p`` in fio is the value of the first latency bin at which
  the cumulative count reaches ``p/100 * N`` (fio ``stat.c``
  ``calc_clat_percentiles``), i.e. the order statistic of rank
  ``ceil(p/100 * N)``, reported as the bin's representative value (fio's
  bins have a relative width of about 1/64 = 1.6 %).
* With ``--output-format=json+`` each latency block also has ``bins``
  (``{"value": count}``, every sample's bin): we then take the confidence
  interval's exact order statistics and the histogram from them.
* fio 3.33 may leave the fdatasync after the last write untimed: a run of
  1024 writes can report N = 1023 sync samples.
* ``jobs`` is an array; we read every job and report the first one with
  fdatasync samples (a note says when there were several).
* fio may print notes on stdout before the JSON document; text before the
  first line starting with ``{`` is skipped and kept in ``notes``.

Malformed input (not JSON, no ``jobs``, a job with an error, no sync
latencies) raises :class:`rcarkit.errors.RcarkitError` naming the source and,
for JSON syntax errors, the line.
"""

import json
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from rcarkit.errors import RcarkitError
from rcarkit.etcd.stats import HISTOGRAM_BOUNDS, FsyncStats, ci_ranks

__all__ = ["FioLatency", "FioJob", "FioResult", "parse_fio_json", "load_fio_json",
           "fio_sync_stats", "percentile_rank"]

NAN = float("nan")


@dataclass
class FioLatency:
    """One latency block of fio's JSON, converted to seconds."""

    count: int
    min: float
    max: float
    mean: float
    stddev: float
    percentiles: Dict[float, float]  # percent (99.0) -> seconds
    unit: str  # "ns" or "us": what the JSON used
    bins: Dict[float, int] = field(default_factory=dict)  # json+ only: seconds -> count

    def order_statistic(self, rank: int) -> float:
        """Value of 1-indexed ``rank`` from the json+ bins (nan without bins)."""
        total = 0
        for value, count in self.bins.items():
            total += count
            if total >= rank:
                return value
        return NAN

    def percentile(self, pct: float) -> float:
        """Value at ``pct`` percent (e.g. 99.9); nan when fio did not report it."""
        for k, v in self.percentiles.items():
            if abs(k - pct) < 1e-6:
                return v
        return NAN


@dataclass
class FioJob:
    name: str
    error: int
    runtime_s: Optional[float]
    bytes_written: int
    sync: Optional[FioLatency]
    write_clat: Optional[FioLatency]
    write_lat: Optional[FioLatency]


@dataclass
class FioResult:
    version: Optional[str]
    jobs: List[FioJob]
    source: str
    notes: List[str] = field(default_factory=list)

    @property
    def job(self) -> FioJob:
        """The job reported on: the first one with fdatasync samples."""
        for j in self.jobs:
            if j.sync is not None and j.sync.count > 0:
                return j
        return self.jobs[0]

    @property
    def sync(self) -> Optional[FioLatency]:
        return self.job.sync

    @property
    def bytes_written(self) -> int:
        return self.job.bytes_written


def _latency(section: dict, keys, where: str, source: str) -> Optional[FioLatency]:
    """Read the first present key of ``keys`` (("lat_ns", "ns"), ("lat", "us"))."""
    for key, unit in keys:
        block = section.get(key)
        if block is None:
            continue
        if not isinstance(block, dict):
            raise RcarkitError("%s.%s is not an object" % (where, key), path=source)
        scale = 1e-9 if unit == "ns" else 1e-6
        try:
            count = int(block.get("N", 0))
            pct = {}
            for k, v in (block.get("percentile") or {}).items():
                pct[float(k)] = float(v) * scale
            bins = {}
            for k, v in (block.get("bins") or {}).items():
                bins[float(k) * scale] = int(v)
            return FioLatency(
                count=count,
                min=float(block.get("min", NAN)) * scale,
                max=float(block.get("max", NAN)) * scale,
                mean=float(block.get("mean", NAN)) * scale,
                stddev=float(block.get("stddev", NAN)) * scale,
                percentiles=dict(sorted(pct.items())),
                unit=unit,
                bins=dict(sorted(bins.items())),
            )
        except (TypeError, ValueError, AttributeError) as e:
            raise RcarkitError("%s.%s has a non-numeric value (%s)" % (where, key, e),
                               path=source)
    return None


def parse_fio_json(text: str, source: str = "fio output") -> FioResult:
    """Parse fio's JSON output (see the module docstring)."""
    notes = []
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("{"):
                skipped = [ln for ln in lines[:i] if ln.strip()]
                notes.extend("fio: " + ln.strip() for ln in skipped)
                text = "\n".join(lines[i:])
                break
        else:
            first = stripped.splitlines()[0][:60] if stripped else "(empty)"
            raise RcarkitError("not fio JSON output: no JSON object found (starts with %r)" % first,
                               path=source, hint="run fio with --output-format=json")
    try:
        data = json.loads(text)
    except ValueError as e:
        line = getattr(e, "lineno", None)
        msg = getattr(e, "msg", str(e))
        raise RcarkitError("malformed fio JSON: %s" % msg, path=source, line=line,
                           hint="was the fio run cut short?")
    if not isinstance(data, dict):
        raise RcarkitError("fio JSON must be an object, got %s" % type(data).__name__, path=source)
    jobs_raw = data.get("jobs")
    if not isinstance(jobs_raw, list):
        raise RcarkitError("no 'jobs' array: not fio --output-format=json output", path=source)
    if not jobs_raw:
        raise RcarkitError("fio JSON has an empty 'jobs' array", path=source)
    jobs = []
    for i, jr in enumerate(jobs_raw):
        where = "jobs[%d]" % i
        if not isinstance(jr, dict):
            raise RcarkitError("%s is not an object" % where, path=source)
        name = str(jr.get("jobname", "job%d" % i))
        error = int(jr.get("error", 0) or 0)
        if error:
            raise RcarkitError("fio job %r failed with error %d" % (name, error), path=source)
        write = jr.get("write") or {}
        sync = jr.get("sync")
        sync_lat = None
        if isinstance(sync, dict):
            sync_lat = _latency(sync, (("lat_ns", "ns"), ("lat", "us")), where + ".sync", source)
        runtime = jr.get("job_runtime")
        if runtime is None:
            runtime = write.get("runtime")
        jobs.append(FioJob(
            name=name, error=error,
            runtime_s=(float(runtime) / 1000.0 if runtime is not None else None),
            bytes_written=int(write.get("io_bytes", 0) or 0),
            sync=sync_lat,
            write_clat=_latency(write, (("clat_ns", "ns"), ("clat", "us")), where + ".write", source),
            write_lat=_latency(write, (("lat_ns", "ns"), ("lat", "us")), where + ".write", source),
        ))
    if len(jobs) > 1:
        notes.append("%d jobs in the fio output; reporting the first with fdatasync samples"
                     % len(jobs))
    version = data.get("fio version")
    return FioResult(version=str(version) if version is not None else None, jobs=jobs,
                     source=source, notes=notes)


def load_fio_json(path) -> FioResult:
    """Read and parse a file of fio JSON output."""
    try:
        with open(str(path), encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        raise RcarkitError("cannot read: %s" % e.strerror, path=str(path))
    return parse_fio_json(text, source=str(path))


def percentile_rank(pct: float, count: int) -> int:
    """1-indexed order statistic fio reports for percentile ``pct`` of ``count``."""
    return max(1, int(math.ceil(pct / 100.0 * count - 1e-7)))


def _ci_from_percentiles(lat: FioLatency, q: float, confidence: float):
    """Conservative CI from the reported percentiles.

    The exact interval is ``(X(l), X(u))`` (:func:`rcarkit.etcd.stats.ci_ranks`).
    A reported percentile of rank ``r <= l`` is a valid (possibly wider) lower
    bound, one of rank ``r >= u`` a valid upper bound; we take the tightest.
    ``rcarkit.etcd.bench`` asks fio for the exact ranks.
    """
    n = lat.count
    lo_rank, hi_rank = ci_ranks(n, q, confidence)
    if lat.bins and sum(lat.bins.values()) == n:
        # json+: the whole (binned) sample is there, take the exact ranks.
        return (lat.order_statistic(lo_rank) if lo_rank is not None else NAN,
                lat.order_statistic(hi_rank) if hi_rank is not None else NAN)
    low = high = NAN
    best_lo = best_hi = None
    for pct, value in lat.percentiles.items():
        r = percentile_rank(pct, n)
        if lo_rank is not None and r <= lo_rank and (best_lo is None or r > best_lo):
            best_lo, low = r, value
        if hi_rank is not None and r >= hi_rank and (best_hi is None or r < best_hi):
            best_hi, high = r, value
    if hi_rank is not None and best_hi is None:
        high = lat.max  # X(n) >= X(u)
    return low, high


def _histogram_from_bins(bins: Dict[float, int]):
    """Regroup json+ bins into our log buckets (empty without bins)."""
    if not bins:
        return []
    import bisect

    bounds = list(HISTOGRAM_BOUNDS) + [math.inf]
    counts = [0] * len(bounds)
    for value, count in bins.items():
        counts[bisect.bisect_left(bounds, value)] += count
    nonzero = [i for i, c in enumerate(counts) if c]
    return [(bounds[i], counts[i]) for i in range(nonzero[0], nonzero[-1] + 1)]


def fio_sync_stats(result: FioResult, confidence: float = 0.95) -> FsyncStats:
    """fdatasync latencies of ``result`` as FsyncStats (engine "fio")."""
    lat = result.sync
    if lat is None or lat.count == 0:
        raise RcarkitError("no fdatasync latencies in the fio output ('sync' section)",
                           path=result.source,
                           hint="run fio >= 3.5 with --fdatasync=1")

    def within(value):
        # fio reports a bin's representative value, up to ~1.6 % off the
        # sample: keep every order statistic within the exact [min, max].
        if math.isnan(value):
            return value
        if not math.isnan(lat.max):
            value = min(value, lat.max)
        if not math.isnan(lat.min):
            value = max(value, lat.min)
        return value

    p99_ci = _ci_from_percentiles(lat, 0.99, confidence)
    p999_ci = _ci_from_percentiles(lat, 0.999, confidence)
    return FsyncStats(
        count=lat.count,
        p50=within(lat.percentile(50.0)),
        p90=within(lat.percentile(90.0)),
        p99=within(lat.percentile(99.0)),
        p999=within(lat.percentile(99.9)),
        max=lat.max,
        mean=lat.mean,
        p99_ci=(within(p99_ci[0]), within(p99_ci[1])),
        p999_ci=(within(p999_ci[0]), within(p999_ci[1])),
        histogram=_histogram_from_bins(lat.bins),
        engine="fio",
        min=lat.min,
        confidence=confidence,
    )
