"""Latency statistics for fdatasync samples: percentiles, honest intervals.

All latencies are in SECONDS (float). ``FsyncStats.to_dict()`` turns them into
milliseconds with a ``_ms`` key suffix for JSON.

Percentile definition
=====================
``percentile(sorted_samples, q)`` is the linear interpolation between the two
closest order statistics (Hyndman & Fan type 7, the default of R, NumPy and
``statistics.quantiles(..., method="inclusive")``)::

    h = (n - 1) * q
    x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])

with ``x`` 0-indexed and sorted ascending. For q = 0 it is the minimum, for q = 1
the maximum.

Confidence intervals
====================
``quantile_ci(sorted_samples, q, confidence)`` is the classical
distribution-free interval from order statistics (see e.g. David & Nagaraja,
"Order Statistics", section 7.1; Conover, "Practical Nonparametric
Statistics", section 3.2). The number ``B`` of samples below the true quantile
is Binomial(n, q) whatever the latency distribution, so the 1-indexed order
statistics ``X(l)`` and ``X(u)`` bracket the true quantile with probability
``P(l <= B <= u - 1)``. ``l`` is the largest rank with ``P(B <= l - 1) <=
alpha/2`` and ``u`` the smallest with ``P(B >= u) <= alpha/2``; so the coverage
is at least ``confidence``. When the sample is too small for a bound to exist
(e.g. ``u > n``: fewer than 368 samples for the upper bound of p99 at 95 %), that
bound is ``nan`` (``None`` in JSON): the data cannot rule it out.

Histogram
=========
Log buckets with upper bounds ``0.001 * 2**k`` seconds (k = -10 .. 13, i.e.
~1 us .. 8.192 s). They include exactly the bucket bounds of etcd's own
``etcd_disk_wal_fsync_duration_seconds`` histogram
(``prometheus.ExponentialBuckets(0.001, 2, 14)``: 1 ms .. 8.192 s), so our
histogram and etcd's ``/metrics`` can be compared bucket by bucket. Samples
above 8.192 s go into a final bucket with upper bound ``inf``. Only the range
from the first to the last non-empty bucket is kept.

Dependent samples: batch means
==============================
Successive fdatasync latencies are not independent: ext4 commits its journal
every 5 s (``commit=`` default, Documentation/admin-guide/ext4.rst), dirty
writeback and flash garbage collection come in bursts, a throttled device
answers in bursts then waits. The order-statistic interval above assumes
independence and is then too narrow. For samples in time order
(``FsyncStats.from_samples(..., ordered=True)``, what our engine records)
:func:`quantile_ci_dependent` uses the method of batch means (Law & Kelton,
"Simulation Modeling and Analysis", 5th ed., section 9.5.3; for quantiles of
dependent sequences, Heidelberger & Lewis, "Quantile estimation in dependent
sequences", Operations Research 32(1), 1984): the series is cut into
``DEFAULT_BATCHES`` (20; Schmeiser 1982: 10 to 30 batches) consecutive,
time-ordered batches of equal size; in each batch the fraction of samples
above the point estimate x_q is computed (the quantile's Bahadur
representation: x_q's error is that fraction's error divided by the density).
The variance of those batch fractions estimates the variance of the overall
fraction including every autocorrelation between samples, which the
binomial variance ``q (1 - q) / n`` ignores; their ratio is the variance
inflation factor (``vif``, 1 for independent samples, (1 + phi) / (1 - phi)
for the mean of an AR(1) series). The interval is then
``[X(n (q - h)), X(n (q + h))]`` with ``h = t(k-1) * sd(batch fractions) /
sqrt(k)`` (Student t with k - 1 degrees of freedom). When the batches show no
more spread than independence would (``vif <= 1``) the exact distribution-free
interval is used, so the dependent interval is never the narrower one.

Adaptive stopping
=================
``AdaptiveStop`` decides when sampling can end: once ``min_time`` seconds
have passed (the CLI's ``--min-time``, default two ext4 journal commit
intervals, 10 s, so at least one of the periodic slow events is inside the
sample), at least ``min_samples`` are in, the p99 interval at the reported
confidence has an upper bound (the heartbeat is derived from it) and, for
every threshold ``t``, the p99 interval at ``decision_confidence`` lies wholly
below ``t`` (upper bound < t) or wholly above it (lower bound > t). Intervals
are the batch-means ones. It looks at the data at geometrically spaced sample
counts (each look at least ``look_growth`` times the previous one) so the
number of looks stays small; the interval used for the decision is at
``decision_confidence`` (default 0.99, stricter than the 95 % interval
reported) because every look is another chance to be wrong. In a simulation
with independent samples and the true p99 exactly on the threshold (the worst
case; any decision is then an error) 6 % of runs decided before 10 029
samples with 99 % looks, 27 % with 95 % looks.

Long because each estimator (percentile, exact and batch-means intervals,
t quantiles, the stopping rule) sits next to the reference it follows.
"""

import bisect
import math
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

__all__ = [
    "FsyncStats",
    "AdaptiveStop",
    "percentile",
    "quantile_ci",
    "ci_ranks",
    "log_histogram",
    "HISTOGRAM_BOUNDS",
    "ETCD_WAL_FSYNC_BUCKETS",
    "min_samples_for_upper_bound",
    "quantile_ci_dependent",
    "batch_means_vif",
    "t_quantile",
    "DEFAULT_BATCHES",
    "SLOW_SYNC_S",
]

NAN = float("nan")

# Batches for the batch-means interval (Schmeiser 1982: 10 to 30 batches).
DEFAULT_BATCHES = 20
# etcd server/storage/wal/wal.go: warnSyncDuration = time.Second ("slow
# fdatasync" warning); FsyncStats counts the samples at or above it.
SLOW_SYNC_S = 1.0

# Upper bounds of our log buckets, seconds: 0.001 * 2**k, k = -10 .. 13.
HISTOGRAM_BOUNDS = tuple(0.001 * 2.0 ** k for k in range(-10, 14))
# etcd server/storage/wal/metrics.go: walFsyncSec uses
# prometheus.ExponentialBuckets(0.001, 2, 14) -> 0.001 .. 8.192 s.
ETCD_WAL_FSYNC_BUCKETS = tuple(0.001 * 2.0 ** k for k in range(14))


def percentile(sorted_samples: Sequence[float], q: float) -> float:
    """Type-7 percentile (linear interpolation) of ascending ``sorted_samples``.

    ``q`` is a fraction in [0, 1]. Returns ``nan`` for an empty sequence.
    """
    n = len(sorted_samples)
    if not 0.0 <= q <= 1.0:
        raise ValueError("quantile must be within [0, 1], got %r" % (q,))
    if n == 0:
        return NAN
    h = (n - 1) * q
    lo = int(math.floor(h))
    hi = min(lo + 1, n - 1)
    frac = h - lo
    return sorted_samples[lo] + frac * (sorted_samples[hi] - sorted_samples[lo])


def _binomial_pmf_window(n: int, q: float) -> Tuple[int, List[float]]:
    """pmf of Binomial(n, q) over the window where it is not negligible.

    Returns ``(k0, pmf)`` with ``pmf[i] = P(B = k0 + i)``. Outside the window
    (mean +- 40 standard deviations, at least +- 60) the mass is below 1e-300.
    """
    mean = n * q
    sd = math.sqrt(n * q * (1.0 - q))
    half = max(60.0, 40.0 * sd)
    k0 = max(0, int(math.floor(mean - half)))
    k1 = min(n, int(math.ceil(mean + half)))
    lq = math.log(q)
    l1q = math.log1p(-q)
    base = math.lgamma(n + 1)
    pmf = []
    for k in range(k0, k1 + 1):
        lp = base - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * lq + (n - k) * l1q
        pmf.append(math.exp(lp) if lp > -745.0 else 0.0)
    return k0, pmf


def ci_ranks(n: int, q: float, confidence: float = 0.95) -> Tuple[Optional[int], Optional[int]]:
    """1-indexed order-statistic ranks ``(l, u)`` of the distribution-free CI.

    ``None`` for a bound that does not exist with ``n`` samples.
    """
    if n <= 0:
        return None, None
    if not 0.0 < q < 1.0:
        raise ValueError("quantile must be within (0, 1), got %r" % (q,))
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be within (0, 1), got %r" % (confidence,))
    half_alpha = (1.0 - confidence) / 2.0
    k0, pmf = _binomial_pmf_window(n, q)
    # Lower rank l: largest l >= 1 with P(B <= l - 1) <= alpha/2.
    lower = None
    cdf = 0.0  # P(B <= k0 - 1): negligible by construction
    for i, p in enumerate(pmf):
        k = k0 + i
        cdf += p  # P(B <= k)
        if cdf <= half_alpha:
            lower = k + 1  # P(B <= (k + 1) - 1) <= alpha/2
        else:
            break
    if lower is None and k0 > 0:
        lower = k0  # P(B <= k0 - 1) ~ 0
    # Upper rank u: smallest u <= n with P(B >= u) <= alpha/2.
    upper = None
    sf = 0.0  # P(B >= k1 + 1): negligible
    for i in range(len(pmf) - 1, -1, -1):
        k = k0 + i
        if sf <= half_alpha and k + 1 <= n:
            upper = k + 1  # P(B >= k + 1) = sf <= alpha/2
        sf += pmf[i]  # now P(B >= k)
        if sf > half_alpha:
            break
    if upper is None and k0 + len(pmf) - 1 < n:
        upper = k0 + len(pmf)
    if lower is not None and lower < 1:
        lower = None
    return lower, upper


def quantile_ci(sorted_samples: Sequence[float], q: float,
                confidence: float = 0.95) -> Tuple[float, float]:
    """Distribution-free CI ``(low, high)`` for the ``q`` quantile; nan = unbounded."""
    lo_rank, hi_rank = ci_ranks(len(sorted_samples), q, confidence)
    low = sorted_samples[lo_rank - 1] if lo_rank is not None else NAN
    high = sorted_samples[hi_rank - 1] if hi_rank is not None else NAN
    return low, high


def min_samples_for_upper_bound(q: float, confidence: float = 0.95) -> int:
    """Smallest n for which the ``q`` quantile's CI has an upper bound.

    The upper bound exists once ``P(B >= n) = q**n <= alpha/2``; for p99 at
    95 % that is 368 samples, at 99 % 528.
    """
    half_alpha = (1.0 - confidence) / 2.0
    return int(math.ceil(math.log(half_alpha) / math.log(q)))


def t_quantile(p: float, df: int) -> float:
    """Quantile ``p`` of Student's t with ``df`` degrees of freedom.

    Cornish-Fisher expansion around the normal quantile (Abramowitz & Stegun
    26.7.5); within 0.1 % of the exact value for df >= 10 and p <= 0.995.
    """
    from statistics import NormalDist

    if df < 1:
        raise ValueError("degrees of freedom must be >= 1, got %r" % (df,))
    z = NormalDist().inv_cdf(p)
    g1 = (z ** 3 + z) / 4.0
    g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96.0
    g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384.0
    g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160.0
    v = float(df)
    return z + g1 / v + g2 / v ** 2 + g3 / v ** 3 + g4 / v ** 4


def _batch_means(series: Sequence[float], batches: int) -> List[float]:
    size = len(series) // batches
    start = len(series) - size * batches  # drop the oldest remainder (warm-up)
    return [math.fsum(series[start + i * size:start + (i + 1) * size]) / size
            for i in range(batches)]


def batch_means_vif(series: Sequence[float], batches: int = DEFAULT_BATCHES) -> float:
    """Variance inflation of the mean of ``series`` (time order) by batch means.

    ``k * var(batch means) / var(series)`` with ``k`` equal batches: about 1 for
    independent values, ``(1 + phi) / (1 - phi)`` for an AR(1) series with
    coefficient phi (Law & Kelton 9.5.3). ``nan`` with fewer than 2 values per
    batch or a constant series.
    """
    n = len(series)
    if batches < 2 or n < 2 * batches:
        return NAN
    means = _batch_means(series, batches)
    used = series[n - (n // batches) * batches:]
    mean = math.fsum(used) / len(used)
    var = math.fsum((x - mean) ** 2 for x in used) / (len(used) - 1)
    if var <= 0:
        return NAN
    bmean = math.fsum(means) / batches
    bvar = math.fsum((m - bmean) ** 2 for m in means) / (batches - 1)
    return bvar * (n // batches) / var


def quantile_ci_dependent(samples: Sequence[float], q: float, confidence: float = 0.95,
                          batches: int = DEFAULT_BATCHES,
                          sorted_samples: Optional[Sequence[float]] = None):
    """CI ``(low, high, vif)`` for the ``q`` quantile of TIME-ORDERED ``samples``.

    Batch means of the exceedance indicator (module doc). ``vif`` is the
    variance inflation of the exceedance fraction (nan when there are too few
    samples for batches); with ``vif <= 1`` (or nan) the exact
    distribution-free interval of :func:`quantile_ci` is returned.
    """
    data = sorted_samples if sorted_samples is not None else sorted(samples)
    n = len(data)
    exact = quantile_ci(data, q, confidence)
    if n < 2 * batches or batches < 2:
        return exact[0], exact[1], NAN
    x = percentile(data, q)
    size = n // batches
    start = n - size * batches
    fractions = []
    for i in range(batches):
        chunk = samples[start + i * size:start + (i + 1) * size]
        fractions.append(sum(1 for s in chunk if s > x) / float(size))
    fmean = math.fsum(fractions) / batches
    fvar = math.fsum((f - fmean) ** 2 for f in fractions) / (batches - 1)
    se_iid = math.sqrt(q * (1.0 - q) / n)
    se = math.sqrt(fvar / batches)
    vif = (se / se_iid) ** 2 if se_iid > 0 else NAN
    if not vif > 1.0:
        return exact[0], exact[1], vif
    h = t_quantile(1.0 - (1.0 - confidence) / 2.0, batches - 1) * se
    lo_rank = int(math.floor(n * (q - h)))
    hi_rank = int(math.ceil(n * (q + h))) + 1
    low = data[lo_rank - 1] if lo_rank >= 1 else NAN
    high = data[hi_rank - 1] if hi_rank <= n else NAN
    # never narrower than the exact interval for independent samples
    if not math.isnan(low) and not math.isnan(exact[0]):
        low = min(low, exact[0])
    if not math.isnan(high):
        high = max(high, exact[1]) if not math.isnan(exact[1]) else NAN
    return low, high, vif


def log_histogram(samples: Iterable[float]) -> List[Tuple[float, int]]:
    """Counts per log bucket: ``[(upper_bound_seconds, count), ...]``.

    A sample equal to a bound counts in that bound's bucket (``le`` semantics,
    like Prometheus). Leading and trailing empty buckets are dropped.
    """
    bounds = list(HISTOGRAM_BOUNDS) + [math.inf]
    counts = [0] * len(bounds)
    for s in samples:
        counts[bisect.bisect_left(bounds, s)] += 1
    nonzero = [i for i, c in enumerate(counts) if c]
    if not nonzero:
        return []
    return [(bounds[i], counts[i]) for i in range(nonzero[0], nonzero[-1] + 1)]


def _ms(value: float) -> Optional[float]:
    if value is None or math.isnan(value):
        return None
    if math.isinf(value):
        return None
    return round(value * 1000.0, 6)


@dataclass
class FsyncStats:
    """Summary of latency samples (seconds). Build it with :meth:`from_samples`."""

    count: int
    p50: float
    p90: float
    p99: float
    p999: float
    max: float
    mean: float
    p99_ci: Tuple[float, float]
    p999_ci: Tuple[float, float]
    histogram: List[Tuple[float, int]]
    engine: str = "rcarkit"
    min: float = NAN
    confidence: float = 0.95
    # "batch means" (time-ordered samples, valid when they are dependent) or
    # "order statistics" (assumes independent samples: fio's histogram)
    ci_method: str = "order statistics"
    p99_vif: float = NAN          # variance inflation found by batch means
    slow_count: Optional[int] = None  # samples >= SLOW_SYNC_S (None: unknown)

    @classmethod
    def from_samples(cls, samples: Iterable[float], engine: str = "rcarkit",
                     confidence: float = 0.95, ordered: bool = False,
                     batches: int = DEFAULT_BATCHES) -> "FsyncStats":
        """Summary of ``samples``. ``ordered=True``: they are in time order, and
        the intervals are the batch-means ones (valid for dependent samples)."""
        series = [float(s) for s in samples]
        data = sorted(series)
        n = len(data)
        if n == 0:
            return cls(count=0, p50=NAN, p90=NAN, p99=NAN, p999=NAN, max=NAN,
                       mean=NAN, p99_ci=(NAN, NAN), p999_ci=(NAN, NAN),
                       histogram=[], engine=engine, min=NAN, confidence=confidence,
                       slow_count=0)
        if ordered:
            lo, hi, vif = quantile_ci_dependent(series, 0.99, confidence, batches, data)
            lo9, hi9, _ = quantile_ci_dependent(series, 0.999, confidence, batches, data)
            p99_ci, p999_ci, method = (lo, hi), (lo9, hi9), "batch means"
        else:
            p99_ci = quantile_ci(data, 0.99, confidence)
            p999_ci = quantile_ci(data, 0.999, confidence)
            vif, method = NAN, "order statistics"
        slow = n - bisect.bisect_left(data, SLOW_SYNC_S)
        return cls(
            count=n,
            p50=percentile(data, 0.50),
            p90=percentile(data, 0.90),
            p99=percentile(data, 0.99),
            p999=percentile(data, 0.999),
            max=data[-1],
            mean=math.fsum(data) / n,
            p99_ci=p99_ci,
            p999_ci=p999_ci,
            histogram=log_histogram(data),
            engine=engine,
            min=data[0],
            confidence=confidence,
            ci_method=method,
            p99_vif=vif,
            slow_count=slow,
        )

    def to_dict(self) -> dict:
        return {
            "engine": self.engine,
            "count": self.count,
            "min_ms": _ms(self.min),
            "mean_ms": _ms(self.mean),
            "p50_ms": _ms(self.p50),
            "p90_ms": _ms(self.p90),
            "p99_ms": _ms(self.p99),
            "p999_ms": _ms(self.p999),
            "max_ms": _ms(self.max),
            "confidence": self.confidence,
            "p99_ci_ms": [_ms(self.p99_ci[0]), _ms(self.p99_ci[1])],
            "p999_ci_ms": [_ms(self.p999_ci[0]), _ms(self.p999_ci[1])],
            "ci_method": self.ci_method,
            "p99_vif": (None if self.p99_vif is None or math.isnan(self.p99_vif)
                        else round(self.p99_vif, 3)),
            "slow_syncs_1s": self.slow_count,
            "histogram": [
                {"le_ms": (_ms(b) if not math.isinf(b) else "+Inf"), "count": c}
                for b, c in self.histogram
            ],
        }


def ci_side(ci: Tuple[float, float], threshold: float) -> Optional[str]:
    """``"below"`` / ``"above"`` when the interval lies wholly on one side, else None."""
    low, high = ci
    if not math.isnan(high) and high < threshold:
        return "below"
    if not math.isnan(low) and low > threshold:
        return "above"
    return None


@dataclass
class AdaptiveStop:
    """Stopping rule (see module doc): ``min_time`` passed, p99 upper bound
    known, p99 batch-means interval on one side of every threshold.

    Feed it the growing, time-ordered sample list with :meth:`check`; it returns
    True when sampling may stop. :attr:`decided` maps threshold labels ("10ms")
    to whether that threshold is decided at the last look.
    """

    thresholds: Sequence[float] = (0.010,)
    quantile: float = 0.99
    decision_confidence: float = 0.99
    min_samples: int = 0  # 0: min_samples_for_upper_bound(quantile, decision_confidence)
    look_growth: float = 1.1
    min_time: float = 0.0  # seconds of sampling before the first look
    confidence: float = 0.95  # the reported interval, which must have an upper bound
    batches: int = DEFAULT_BATCHES
    # > 0: when the p99 lies above a threshold (a slow disk, whose timeouts
    # are derived from the interval's upper end), also wait until that upper
    # end is at most this multiple of the p99, so repeats round it to the
    # same or the next step (advice.HEARTBEAT_LADDER_MS rises by 1.33-1.67x)
    max_upper_ratio: float = 0.0
    decided: Dict[str, bool] = field(default_factory=dict)
    _next_look: int = 0

    def __post_init__(self):
        if self.min_samples <= 0:
            self.min_samples = max(
                400, min_samples_for_upper_bound(self.quantile, self.decision_confidence))
        self._next_look = self.min_samples
        self.decided = {threshold_label(t): False for t in self.thresholds}

    def due(self, n: int, elapsed: Optional[float] = None) -> bool:
        """True when ``n`` samples after ``elapsed`` seconds warrant a look
        (cheap; call every sample)."""
        if elapsed is not None and elapsed < self.min_time:
            return False
        return n >= self._next_look

    def _decide(self, samples: Sequence[float]) -> bool:
        data = sorted(samples)
        lo, hi, _ = quantile_ci_dependent(samples, self.quantile, self.decision_confidence,
                                          self.batches, data)
        all_decided = True
        for t in self.thresholds:
            side = ci_side((lo, hi), t)
            self.decided[threshold_label(t)] = side is not None
            all_decided = all_decided and side is not None
        if all_decided and self.confidence != self.decision_confidence:
            _, upper, _ = quantile_ci_dependent(samples, self.quantile, self.confidence,
                                                self.batches, data)
            all_decided = not math.isnan(upper)
            if all_decided and self.max_upper_ratio > 0 and self.thresholds \
                    and lo > min(self.thresholds):
                all_decided = upper <= self.max_upper_ratio * percentile(data, self.quantile)
        return all_decided

    def check(self, samples: Sequence[float], elapsed: Optional[float] = None) -> bool:
        """Look at the data (only when :meth:`due`); True = stop now."""
        n = len(samples)
        if n < self._next_look or (elapsed is not None and elapsed < self.min_time):
            return False
        self._next_look = max(n + 1, int(math.ceil(n * self.look_growth)))
        return self._decide(samples)

    def final(self, samples: Sequence[float]) -> Dict[str, bool]:
        """Decision state on the final data (for the report)."""
        if not samples:
            return {threshold_label(t): False for t in self.thresholds}
        data = sorted(samples)
        lo, hi, _ = quantile_ci_dependent(samples, self.quantile, self.decision_confidence,
                                          self.batches, data)
        return {threshold_label(t): ci_side((lo, hi), t) is not None for t in self.thresholds}


def threshold_label(seconds: float) -> str:
    """``0.010`` -> ``"10ms"``, ``0.0025`` -> ``"2.5ms"``."""
    ms = seconds * 1000.0
    text = ("%.3f" % ms).rstrip("0").rstrip(".")
    return text + "ms"
