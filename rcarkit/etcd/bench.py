"""Measure a directory's fdatasync latency the way etcd's WAL uses the disk.

``measure_path(path)`` returns a :class:`PathMeasurement`: the storage device
(:mod:`rcarkit.etcd.device`), the latency statistics
(:class:`rcarkit.etcd.stats.FsyncStats`) and why sampling stopped.

What etcd does (etcd-io/etcd, server/storage/wal/wal.go)
=========================================================
* ``SegmentSizeBytes int64 = 64 * 1000 * 1000`` is "the preallocated size of
  each wal segment file". ``Create`` and the file pipeline
  (``file_pipeline.go``) call ``fileutil.Preallocate(f, SegmentSizeBytes,
  true)``; on Linux that is ``fallocate(fd, mode=0, 0, size)`` (it extends
  the file size; client/pkg/fileutil/preallocate_unix.go ``preallocExtend``),
  falling back to ``ftruncate`` where fallocate is not supported.
* Every ``Save`` that must be durable appends the encoded records
  sequentially and calls ``w.sync()``: ``fileutil.Fdatasync(w.tail().File)``
  timed with ``time.Since(start)`` and observed in the
  ``etcd_disk_wal_fsync_duration_seconds`` histogram (``metrics.go``).

What we do
==========
In a fresh directory ``rcarkit-etcd-bench-PID-XXXXXXXX`` (PID: ours) created
with ``tempfile.mkdtemp`` under PATH we create one file, preallocate
``min(SegmentSizeBytes, max_bytes)`` bytes with ``os.posix_fallocate`` (same
``fallocate`` mode 0; ``ftruncate`` fallback), sync it and the directory once
(etcd syncs the new segment and its directory before use; not counted), then
repeatedly write ``block_size`` bytes (default 2300, the block size of etcd's
fio guidance: ``fio --rw=write --ioengine=sync --fdatasync=1 --size=22m
--bs=2300``) at the end of what was written and call ``os.fdatasync``, timing
each sync alone with ``time.perf_counter_ns`` (monotonic, ns resolution).

When a segment is full we cut a new one like etcd (the next file,
preallocated and synced before use, untimed: etcd's file pipeline
``file_pipeline.go`` prepares it in the background) and delete the old one,
so a fast device can be sampled for the whole minimum time without filling
the disk.

The stopping rule
=================
:func:`sample_until` runs any writer callable (one write + sync per call,
returning the timed latency) until the rule says stop and returns the
:class:`SamplingRun` (samples in time order, FsyncStats with batch-means
intervals, the stop reason). ``rcarkit.etcd.load`` uses it for its writers.
Sampling stops (``stopped_because``, :data:`STOP_REASONS`):

``decided``
    at least ``min_time`` seconds (default ``DEFAULT_MIN_TIME`` = 10 s: two
    ext4 journal commit intervals, ``commit=`` "Ext4 can be told to sync all
    its data and metadata every 'nrsec' seconds. The default value is 5
    seconds.", Documentation/admin-guide/ext4.rst) have passed, the p99 has an
    upper bound and its batch-means interval lies on one side of every
    threshold (:class:`rcarkit.etcd.stats.AdaptiveStop`);
``max-time``
    ``max_time`` reached first (default 60 s; with ``full`` 3600 s);
``max-bytes``
    ``max_bytes`` written: ``full=True`` (``--full``) runs fio's whole
    recipe, 22 MiB, with no adaptive stop; a ``max_bytes`` given explicitly
    caps the adaptive run too;
``max-samples``
    ``MAX_SAMPLES`` syncs (memory bound; tmpfs does ~100 000 a second);
``size``
    the fio engine ran its fixed ``--size``;
``no-space``
    nothing was written: the filesystem has less free space than etcd needs
    to start (:data:`ETCD_MIN_FREE_BYTES`), so the PATH is unusable for etcd
    whatever its latency (:mod:`rcarkit.etcd.advice`).

The fio engine
==============
``engine="fio"`` runs etcd's fio recipe in the same kind of temporary
directory::

    fio --name=etcd --rw=write --ioengine=sync --fdatasync=1 --size=22m
        --bs=2300 --directory=TMP --runtime=MAX_TIME --output-format=json+
        --percentile_list=...

bounded by fio's own ``--runtime`` (without ``--time_based``, fio stops at
``--size`` or the runtime, whichever comes first) and a subprocess timeout.
``json+`` is plain JSON plus every latency bin, so the fio result carries
exact confidence intervals and a histogram too
(:func:`rcarkit.etcd.fio.fio_sync_stats`); the percentile list adds the
intervals' order statistics for readers of the raw output. fio is killed if
we are interrupted. ``engine="auto"`` picks fio when ``fio`` is on PATH, else
ours (fio always runs its whole size: minutes on a slow eMMC).

Measured against fio on this project's test device (ext4 on a loop device
with a 200 write-IOPS cgroup throttle; benchmarks/etcd_bench.py): same p99
within a few percent, time to verdict about 1/10 to 1/20 of fio's run.

Its own session
===============
The writers (saturated, or etcd's two from :mod:`rcarkit.etcd.load`) run in
a forked child that calls ``setsid()`` and sends its samples back through a
pipe (:func:`run_in_own_session`). fio does the same: its job process calls
``setsid()`` first thing (fio backend.c ``thread_main``: ``if
(!o->use_thread) { setsid(); ...``), and etcd runs as a service or in a
container, in a session of its own too. It matters wherever the kernel's
session autogroups are on (``/proc/sys/kernel/sched_autogroup_enabled`` = 1,
the default of most distribution kernels: "the Completely Fair Scheduler ...
groups tasks by session", Documentation/admin-guide/sysctl/kernel.rst): CPU
time is shared between sessions first, so a writer left in the session of
the shell that also runs a build waits behind it for every wake-up after a
sync. Measured on an unthrottled ext4 loop device with two busy loops and a
buffered writer in the caller's session, a C program doing exactly fio's
syscalls (fallocate, 2300-byte write, fdatasync) read p99 22-44 ms in that
session, 9 ms after ``setsid()``, fio 4-13 ms (2026-12-02, shared 2-core
VM). ``RCARKIT_SAME_SESSION=1`` keeps the writers in the calling process.

Safety
======
* Writes only inside the temporary directory it created (the WAL-like file;
  fio's data file and its output for the fio engine) and removes that
  directory on success, error, Ctrl-C (KeyboardInterrupt), SIGTERM and SIGHUP
  (a handler that raises ``SystemExit(128 + signal)`` is installed for the run
  when called from the main thread, unless the signal is ignored, and the
  previous handler restored afterwards).
* SIGKILL (or a power cut) leaves the directory behind: the next run's
  :func:`remove_stale_tempdirs` removes every ``rcarkit-etcd-bench-PID-*``
  directory under PATH whose process PID is gone (the CLI says so on
  stderr); one of a live process is left alone.
* fio (``--engine fio``) runs in its own session with
  ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: it dies with us, even on SIGKILL,
  and is terminated on every other way out.
* Refuses, with one :class:`rcarkit.errors.RcarkitError` line, a PATH that
  does not exist, is not a directory, is on a read-only filesystem
  (``statvfs`` ``ST_RDONLY``), is not writable (``os.access``) or lacks free
  space for the preallocation plus a margin (``shutil.disk_usage``).
* Checks free space BEFORE writing: below :data:`ETCD_MIN_FREE_BYTES` it
  writes nothing and reports ``no-space``.
* Bounded by ``max_time`` (default 60 s); holds at most one WAL segment
  (64 MB) on disk at a time.

Long because the three ways of loading the disk (our saturated writer with
its reusable sampling loop, fio, etcd's two writers from
:mod:`rcarkit.etcd.load`) share one set of checks (temp dir, signals, free
space), one temporary directory and one result type here.
"""

import array
import errno
import math
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from rcarkit.errors import RcarkitError
from rcarkit.files import signals_raise
from rcarkit.etcd.stats import AdaptiveStop, FsyncStats, ci_ranks, threshold_label
from rcarkit.etcd.device import StorageDevice, describe_path

__all__ = [
    "PathMeasurement",
    "SamplingRun",
    "WalWriter",
    "sample_until",
    "run_in_own_session",
    "etcd_space_shortfall",
    "STOP_REASONS",
    "ETCD_MIN_FREE_BYTES",
    "DEFAULT_MIN_TIME",
    "DEFAULT_FULL_MAX_TIME",
    "measure_path",
    "measure_paths",
    "check_target",
    "space_needed",
    "bench_tempdir",
    "remove_stale_tempdirs",
    "fio_command",
    "WAL_SEGMENT_BYTES",
    "DEFAULT_BLOCK_SIZE",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_TIME",
    "DEFAULT_THRESHOLDS",
    "TEMP_PREFIX",
    "ENGINES",
]

# etcd server/storage/wal/wal.go: SegmentSizeBytes int64 = 64 * 1000 * 1000
WAL_SEGMENT_BYTES = 64 * 1000 * 1000
DEFAULT_BLOCK_SIZE = 2300  # etcd's fio guidance: --bs=2300
DEFAULT_MAX_BYTES = 22 * 1024 * 1024  # etcd's fio guidance: --size=22m
DEFAULT_MAX_TIME = 60.0
# Documentation/admin-guide/ext4.rst, commit=nrsec: "The default value is 5
# seconds." Two intervals, so at least one journal commit falls in the sample.
EXT4_COMMIT_INTERVAL_S = 5.0
DEFAULT_MIN_TIME = 2 * EXT4_COMMIT_INTERVAL_S
DEFAULT_FULL_MAX_TIME = 3600.0  # --full: fio's 22 MiB at 3 IOPS takes ~56 min
MAX_SAMPLES = 2_000_000  # 16 MB of doubles
# What etcd needs free to start: its first WAL segment, the next one that the
# file pipeline preallocates at once (server/storage/wal/file_pipeline.go:
# run() calls alloc() -> fileutil.Preallocate(f, SegmentSizeBytes) before the
# first cut), and one growth step of its bbolt backend (bbolt db.go
# DefaultAllocSize = 16 * 1024 * 1024; the file grows in such steps).
BBOLT_ALLOC_SIZE = 16 * 1024 * 1024
ETCD_MIN_FREE_BYTES = 2 * WAL_SEGMENT_BYTES + BBOLT_ALLOC_SIZE
STOP_REASONS = {
    "decided": "minimum time passed and the p99 interval is on one side of 10 ms",
    "max-time": "--max-time reached before the p99 interval was decided",
    "max-bytes": "the whole fio recipe (--size) was written",
    "max-samples": "sample limit reached",
    "size": "fio ran its whole --size",
    "no-space": "not measured: less free space than etcd needs to start",
}
# A slow disk's heartbeat comes from the p99's 95 % upper bound: sample until
# that bound is at most 1.5 x the p99 (one step of advice.HEARTBEAT_LADDER_MS)
# or max-time, so repeats recommend the same or the next step (issue 9: one
# run with p99 24 ms and upper bound 252 ms asked for 750 ms, nine others 150).
UPPER_TO_P99_MAX = 1.5
# etcd hardware guide / fio guidance: p99 of WAL fdatasync below 10 ms.
DEFAULT_THRESHOLDS = (0.010,)
TEMP_PREFIX = "rcarkit-etcd-bench-"
FREE_SPACE_MARGIN = 16 * 1024 * 1024
ENGINES = ("rcarkit", "fio", "auto")
PROGRESS_INTERVAL = 0.1  # seconds between progress callbacks

ProgressCallback = Callable[[float, str], None]


@dataclass
class PathMeasurement:
    """One PATH measured: device, statistics, and why sampling stopped."""

    path: str
    device: StorageDevice
    stats: FsyncStats
    block_size: int
    bytes_written: int
    elapsed: float  # seconds from the first write to the last sync (time to verdict)
    stopped_because: str  # a key of STOP_REASONS
    thresholds_decided: Dict[str, bool]
    preallocated_bytes: int = 0
    free_bytes: Optional[int] = None  # free space before we wrote anything
    min_time: float = 0.0
    engine_version: Optional[str] = None  # e.g. "fio-3.33"
    notes: List[str] = field(default_factory=list)
    samples: Sequence[float] = field(default_factory=list, repr=False)  # seconds, time order; not in to_dict
    # --load etcd (rcarkit.etcd.load): the WAL writer paced at write_rate (None:
    # saturated) with bbolt-style backend commits alongside; ``stats`` are then
    # the WAL syncs under that load and ``backend_stats`` the commits.
    load: str = "saturated"
    write_rate: Optional[float] = None
    backend_stats: Optional[FsyncStats] = None
    backend_thresholds_decided: Dict[str, bool] = field(default_factory=dict)
    load_details: Dict[str, object] = field(default_factory=dict)
    backend_samples: List[float] = field(default_factory=list, repr=False)

    @property
    def engine(self) -> str:
        return self.stats.engine

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "engine": self.stats.engine,
            "engine_version": self.engine_version,
            "device": self.device.to_dict(),
            "stats": self.stats.to_dict(),
            "block_size": self.block_size,
            "bytes_written": self.bytes_written,
            "preallocated_bytes": self.preallocated_bytes,
            "elapsed_s": round(self.elapsed, 6),
            "stopped_because": self.stopped_because,
            "stop_detail": STOP_REASONS.get(self.stopped_because, ""),
            "min_time_s": self.min_time,
            "free_bytes": self.free_bytes,
            "etcd_min_free_bytes": ETCD_MIN_FREE_BYTES,
            "thresholds_decided": dict(self.thresholds_decided),
            "notes": list(self.notes),
            "load": self.load,
            "write_rate": self.write_rate,
            "backend_stats": self.backend_stats.to_dict() if self.backend_stats else None,
            "backend_thresholds_decided": dict(self.backend_thresholds_decided),
            "load_details": dict(self.load_details),
        }


def _mib(n: float) -> str:
    return "%.1f MiB" % (n / (1024.0 * 1024.0))


def check_target(path, needed_bytes: int, check_space: bool = True) -> None:
    """Refuse a PATH we must not or cannot write into (one-line RcarkitError);
    with ``check_space`` also one without room for ``needed_bytes`` + a margin."""
    p = str(path)
    try:
        st_mode = os.stat(p).st_mode
    except FileNotFoundError:
        raise RcarkitError("no such directory", path=p,
                           hint="create it or name an existing directory")
    except PermissionError:
        raise RcarkitError("permission denied", path=p,
                           hint="run as the user that runs etcd (or root)")
    except OSError as e:
        raise RcarkitError("cannot access: %s" % e.strerror, path=p)
    if not stat.S_ISDIR(st_mode):
        raise RcarkitError("not a directory", path=p,
                           hint="name the directory etcd would use, e.g. /var/lib/etcd")
    try:
        st = os.statvfs(p)
    except OSError as e:
        raise RcarkitError("cannot stat filesystem: %s" % e.strerror, path=p)
    if st.f_flag & os.ST_RDONLY:
        raise RcarkitError("filesystem is mounted read-only", path=p,
                           hint="remount it read-write or choose another directory")
    if not os.access(p, os.W_OK | os.X_OK):
        raise RcarkitError("directory is not writable by this user", path=p,
                           hint="run as the user that runs etcd (or root)")
    if check_space:
        _check_space(p, needed_bytes)


def _check_space(p: str, needed_bytes: int) -> None:
    free = shutil.disk_usage(p).free
    need = needed_bytes + FREE_SPACE_MARGIN
    if free < need:
        raise RcarkitError(
            "only %s free, the benchmark needs %s" % (_mib(free), _mib(need)),
            path=p, hint="free space or lower --max-bytes")


_STALE_RE = re.compile(re.escape(TEMP_PREFIX) + r"([1-9][0-9]{0,9})-[A-Za-z0-9_]+")


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, ValueError):
        return False  # alive (another user's), or not a pid we can ask about
    return False


def remove_stale_tempdirs(path) -> List[Tuple[str, int]]:
    """Remove ``rcarkit-etcd-bench-PID-*`` directories under ``path`` left by
    a run that was killed (SIGKILL, power cut): PID no longer exists. Only real
    directories (not symlinks) owned by us are removed. Returns ``[(dir, pid)]``."""
    removed = []
    try:
        names = os.listdir(str(path))
    except OSError:
        return removed
    for name in sorted(names):
        m = _STALE_RE.fullmatch(name)
        if not m:
            continue
        pid = int(m.group(1))
        full = os.path.join(str(path), name)
        try:
            st = os.lstat(full)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            continue
        if pid == os.getpid() or not _process_gone(pid):
            continue
        shutil.rmtree(full, ignore_errors=True)
        if not os.path.lexists(full):
            removed.append((full, pid))
    return removed


@contextmanager
def bench_tempdir(path, needed_bytes: int) -> Iterator[str]:
    """Check PATH, create our temp dir in it, remove it whatever happens
    (stale ones of killed runs first: :func:`remove_stale_tempdirs`)."""
    remove_stale_tempdirs(path)
    check_target(path, needed_bytes)
    with signals_raise():
        try:
            tmp = tempfile.mkdtemp(prefix="%s%d-" % (TEMP_PREFIX, os.getpid()), dir=str(path))
        except OSError as e:
            raise RcarkitError("cannot create a temporary directory: %s" % e.strerror,
                               path=str(path))
        try:
            yield tmp
        finally:
            _remove_uninterrupted(tmp)


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def _remove_uninterrupted(tmp: str) -> None:
    """Remove our temp dir with Ctrl-C, SIGTERM and SIGHUP held back, so a
    second Ctrl-C during the cleanup cannot leave it behind; a held signal is
    delivered (and acts) once the directory is gone."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        shutil.rmtree(tmp, ignore_errors=True)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _preallocate(fd: int, size: int) -> str:
    """etcd's fileutil.Preallocate(f, size, extendFile=true); returns the method."""
    try:
        os.posix_fallocate(fd, 0, size)
        return "fallocate"
    except OSError as e:
        # etcd preallocExtend falls back to preallocExtendTrunc (extend the size
        # without allocating blocks) only for ENOTSUP and EINTR; any other
        # error (ENOSPC, EIO, ...) is an error.
        if e.errno not in (errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINTR):
            raise
        os.ftruncate(fd, size)
        return "ftruncate"


def _fsync_dir(path: str) -> None:
    try:
        dfd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def etcd_space_shortfall(path) -> Optional[int]:
    """Free bytes under ``path`` when below :data:`ETCD_MIN_FREE_BYTES`, else None."""
    free = shutil.disk_usage(str(path)).free
    return free if free < ETCD_MIN_FREE_BYTES else None


class WalWriter:
    """etcd's WAL pattern in ``tmpdir``: preallocated segments, ``block_size``
    appends, each followed by a timed ``fdatasync`` (see the module doc).

    ``step()`` writes one block and returns the sync's latency in seconds, or
    None once ``limit_bytes`` are written. Segments are cut like etcd's
    (the next one preallocated and synced, untimed; the old one deleted).
    """

    def __init__(self, tmpdir: str, block_size: int = DEFAULT_BLOCK_SIZE,
                 segment_bytes: int = WAL_SEGMENT_BYTES, limit_bytes: Optional[int] = None):
        if block_size > segment_bytes:
            raise RcarkitError("one block (%d bytes) is larger than the %d-byte WAL segment"
                               % (block_size, segment_bytes))
        self.tmpdir = tmpdir
        self.block_size = block_size
        self.segment_bytes = segment_bytes
        self.limit_bytes = limit_bytes
        self.written = 0
        self.segments = 0
        self.notes: List[str] = []
        self._fd = None
        self._path = None
        self._in_segment = 0
        self._block = os.urandom(block_size)

    def _cut(self) -> None:
        old_fd, old_path = self._fd, self._path
        name = "%016x-%016x.wal" % (self.segments, self.written // self.block_size)
        path = os.path.join(self.tmpdir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            if old_fd is not None:  # delete first: at most one segment on disk
                os.close(old_fd)
                os.unlink(old_path)
                self._fd = None
            method = _preallocate(fd, self.segment_bytes)
            if method != "fallocate" and not self.notes:
                self.notes.append("fallocate not supported here; used ftruncate like etcd")
            os.fdatasync(fd)
            _fsync_dir(self.tmpdir)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._path = fd, path
        self._in_segment = 0
        self.segments += 1

    def step(self) -> Optional[float]:
        if self.limit_bytes is not None and self.written + self.block_size > self.limit_bytes:
            return None
        if self._fd is None or self._in_segment + self.block_size > self.segment_bytes:
            self._cut()
        fd = self._fd
        view = memoryview(self._block)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        t0 = time.perf_counter_ns()
        os.fdatasync(fd)
        t1 = time.perf_counter_ns()
        self.written += self.block_size
        self._in_segment += self.block_size
        return (t1 - t0) / 1e9

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass
class SamplingRun:
    """What :func:`sample_until` returns."""

    samples: "array.array"     # seconds, time order
    stats: FsyncStats          # batch-means intervals
    stopped_because: str       # a key of STOP_REASONS
    elapsed: float             # seconds from the first call to the last
    decided: Dict[str, bool]


def sample_until(step: Callable[[], Optional[float]], rule: Optional[AdaptiveStop],
                 max_time: float, progress: Optional[ProgressCallback] = None,
                 engine: str = "rcarkit", max_samples: int = MAX_SAMPLES,
                 thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                 limit_reason: str = "max-bytes") -> SamplingRun:
    """Call ``step()`` (one timed write + sync, latency in seconds; None = the
    writer is done: ``limit_reason``) until ``rule`` says stop (``decided``;
    ``rule=None``: never), ``max_time`` seconds passed or ``max_samples``."""
    samples = array.array("d")
    perf = time.perf_counter_ns
    start = perf()
    deadline = start + int(max_time * 1e9)
    next_progress = start
    expected = (rule.min_time if rule is not None and rule.min_time > 0 else max_time) * 1e9
    reason = "max-time"
    while True:
        latency = step()
        now = perf()
        if latency is None:
            reason = limit_reason
            break
        samples.append(latency)
        n = len(samples)
        if rule is not None and rule.due(n, (now - start) / 1e9) \
                and rule.check(samples, (now - start) / 1e9):
            reason = "decided"
            break
        if now >= deadline:
            reason = "max-time"
            break
        if n >= max_samples:
            reason = "max-samples"
            break
        if progress is not None and now >= next_progress:
            next_progress = now + int(PROGRESS_INTERVAL * 1e9)
            progress(min((now - start) / expected, 0.99),
                     "%d syncs, %.1f s" % (n, (now - start) / 1e9))
    elapsed = (perf() - start) / 1e9
    stats = FsyncStats.from_samples(samples, engine=engine, ordered=True)
    final = (rule or AdaptiveStop(thresholds=thresholds)).final(samples)
    return SamplingRun(samples=samples, stats=stats, stopped_because=reason,
                       elapsed=elapsed, decided=final)


# --- the sampler runs in its own session, like fio's job process ------------------

def _send(wfd: int, message) -> None:
    import pickle
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(len(data).to_bytes(8, "little") + data)
    while view:
        view = view[os.write(wfd, view):]


def _read_exact(rfd: int, n: int) -> Optional[bytes]:
    chunks = []
    while n > 0:
        b = os.read(rfd, min(n, 1 << 20))
        if not b:
            return None
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def run_in_own_session(work: Callable[[ProgressCallback], object],
                       progress: Optional[ProgressCallback] = None):
    """``work(progress)`` in a forked child that calls ``setsid()``; its
    return value (pickled through a pipe). See "Its own session" in the
    module doc. OSError in the child is raised here as OSError, a RcarkitError
    as the same message, path and hint; anything else as RcarkitError.
    Ctrl-C, SIGTERM or an exception here (e.g. from ``progress``) SIGKILLs
    the child and waits for it before going on, so the caller's clean-up
    never races a writer. Without ``os.fork`` (or with
    ``RCARKIT_SAME_SESSION=1``) ``work`` runs here."""
    import pickle
    if not hasattr(os, "fork") or os.environ.get("RCARKIT_SAME_SESSION") == "1":
        return work(progress or (lambda f, t: None))
    rfd, wfd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(rfd)
            try:
                os.setsid()
            except OSError:
                pass

            def child_progress(fraction, text):
                if os.getppid() != parent:  # the parent died: stop writing
                    raise SystemExit(1)
                _send(wfd, ("progress", fraction, text))

            try:
                result = work(child_progress)
                _send(wfd, ("result", result))
            except OSError as e:
                _send(wfd, ("oserror", e.errno, e.strerror or str(e)))
            except RcarkitError as e:  # its fields, so the hint reaches the user
                _send(wfd, ("rcarkit", e.message, e.path, e.line, e.hint))
            except BaseException as e:  # reported to the parent, which re-raises
                _send(wfd, ("error", "%s: %s" % (type(e).__name__, e)))
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(wfd)
    done = False
    try:
        while True:
            head = _read_exact(rfd, 8)
            if head is None:
                raise RcarkitError("the benchmark process ended without a result")
            body = _read_exact(rfd, int.from_bytes(head, "little"))
            if body is None:
                raise RcarkitError("the benchmark process ended without a result")
            message = pickle.loads(body)
            kind = message[0]
            if kind == "progress":
                if progress is not None:
                    progress(message[1], message[2])
                continue
            done = True
            if kind == "result":
                return message[1]
            if kind == "oserror":
                raise OSError(message[1], message[2])
            if kind == "rcarkit":
                raise RcarkitError(message[1], path=message[2], line=message[3],
                                   hint=message[4])
            raise RcarkitError("the benchmark failed: %s" % message[1])
    finally:
        os.close(rfd)
        if not done:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # blocking wait with stop signals held, so the caller removes the
        # temp dir only after the writer is gone
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def fio_command(tmpdir: str, block_size: int, max_bytes: int, max_time: float,
                percentile_list: Sequence[float] = ()) -> List[str]:
    """etcd's fio recipe, confined to ``tmpdir`` and bounded by ``max_time``."""
    # fio runs with cwd=tmpdir, so the directory must be absolute; fio splits
    # directory= at ':' (several directories) unless it is escaped as '\\:'.
    directory = os.path.abspath(tmpdir).replace(":", "\\:")
    cmd = [
        "fio", "--name=etcd", "--rw=write", "--ioengine=sync", "--fdatasync=1",
        "--size=%d" % max_bytes, "--bs=%d" % block_size,
        "--directory=%s" % directory,
        "--runtime=%d" % max(1, int(math.ceil(max_time))),
        "--output-format=json+",
    ]
    if percentile_list:
        cmd.append("--percentile_list=" + ":".join("%.6f" % p for p in percentile_list))
    return cmd


def fio_percentile_list(expected_count: int) -> List[float]:
    """p50/p90/p99/p99.9 plus the order statistics of their 95 % CIs (fio allows 20)."""
    plist = {50.0, 90.0, 99.0, 99.9}
    for q in (0.99, 0.999):
        for rank in ci_ranks(expected_count, q, 0.95):
            if rank is not None:
                # fio reports rank ceil(p/100 * N): ask for (rank - 0.5) / N so
                # rounding of p to 6 decimals cannot move it to rank + 1.
                plist.add(round(100.0 * (rank - 0.5) / expected_count, 6))
    return sorted(plist)[:20]


def _run_fio(tmpdir: str, block_size: int, max_time: float, max_bytes: int,
             progress: Optional[ProgressCallback] = None):
    from rcarkit.etcd.fio import parse_fio_json, fio_sync_stats  # lazy

    expected = max_bytes // block_size
    cmd = fio_command(tmpdir, block_size, max_bytes, max_time, fio_percentile_list(expected))
    limit = max_time + 60.0  # fio's runtime excludes laying out the file
    out_path = os.path.join(tmpdir, "fio-output.json")
    err_path = os.path.join(tmpdir, "fio-stderr.txt")
    start = time.perf_counter()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=tmpdir,
                                    start_new_session=True,
                                    preexec_fn=_die_with_parent(os.getpid()))
        except FileNotFoundError:
            raise RcarkitError("fio is not installed",
                               hint="apt install fio, or use --engine rcarkit")
        try:
            while True:
                try:
                    proc.wait(timeout=PROGRESS_INTERVAL * 2)
                    break
                except subprocess.TimeoutExpired:
                    pass
                spent = time.perf_counter() - start
                if spent > limit:
                    raise RcarkitError("fio did not finish within %.0f s" % limit,
                                       hint="lower --max-bytes or use --engine rcarkit")
                if progress is not None:
                    progress(min(spent / max_time, 1.0), "fio, %.1f s" % spent)
        finally:
            # never leave fio writing into a directory we are about to remove
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    elapsed = time.perf_counter() - start
    with open(out_path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if proc.returncode != 0:
        with open(err_path, encoding="utf-8", errors="replace") as f:
            lines = f.read().strip().splitlines()
        raise RcarkitError("fio failed (exit %d): %s"
                           % (proc.returncode, lines[-1] if lines else "no message"))
    result = parse_fio_json(text, source="fio output")
    stats = fio_sync_stats(result)
    return result, stats, elapsed


def _die_with_parent(parent: int):
    """``preexec_fn``: the child gets SIGKILL when we die (Linux
    ``prctl(PR_SET_PDEATHSIG)``), and exits at once if we are already gone."""
    try:  # looked up before the fork: the child only makes the call
        import ctypes
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        prctl = None

    def setup():
        if prctl is not None:
            prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        if os.getppid() != parent:  # we died between fork and prctl
            os._exit(1)
    return setup


def space_needed(engine: str, max_bytes: int, load: str = "saturated") -> int:
    """Bytes the run writes under PATH: fio lays out its whole ``--size``, our
    engine preallocates at most one WAL segment; ``load="etcd"`` a whole WAL
    segment plus the backend file (rcarkit.etcd.load.space_needed_etcd),
    ``load="auto"`` what either needs."""
    if load in ("etcd", "auto"):
        from rcarkit.etcd.load import space_needed_etcd
        return space_needed_etcd()
    if _resolve_engine(engine) == "fio":
        return max_bytes
    return min(WAL_SEGMENT_BYTES, max_bytes)


def _resolve_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise RcarkitError("unknown engine %r" % engine, hint="use one of: " + ", ".join(ENGINES))
    if engine == "auto":
        return "fio" if shutil.which("fio") else "rcarkit"
    return engine


def _no_space(path, device, block_size, thresholds, free, min_time, engine="rcarkit"):
    return PathMeasurement(
        path=str(path), device=device,
        stats=FsyncStats.from_samples([], engine=engine), block_size=block_size,
        bytes_written=0, elapsed=0.0, stopped_because="no-space",
        thresholds_decided={threshold_label(t): False for t in thresholds},
        free_bytes=free, min_time=min_time,
        notes=["%s free; etcd needs %s to start (two 64 MB WAL segments and a "
               "16 MiB backend growth step)" % (_mib(free), _mib(ETCD_MIN_FREE_BYTES))])


def measure_path(path, block_size: int = DEFAULT_BLOCK_SIZE, max_time: Optional[float] = None,
                 max_bytes: Optional[int] = None, engine: str = "rcarkit",
                 thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                 progress: Optional[ProgressCallback] = None, adaptive: bool = True,
                 min_time: float = DEFAULT_MIN_TIME, full: bool = False,
                 sys_root: str = "/sys", proc_root: str = "/proc",
                 load: str = "saturated", write_rate: Optional[float] = None,
                 backend_thresholds: Sequence[float] = (0.025,)) -> PathMeasurement:
    """Benchmark fdatasync under ``path`` (see the module docstring).

    ``progress(fraction, text)`` is called about every 0.1 s while sampling
    (rcarkit engine) and with 1.0 at the end. ``full=True`` runs fio's whole
    recipe (``max_bytes``, default 22 MiB; ``max_time`` default 3600 s) with no
    adaptive stop; ``adaptive=False`` likewise with ``max_time`` default 60 s.
    Adaptive runs last at least ``min_time`` seconds and at most ``max_time``
    (default 60 s); ``max_bytes`` caps them only when given.

    ``load="etcd"`` (rcarkit engine only) runs etcd's two writers together
    (:mod:`rcarkit.etcd.load`): WAL syncs paced at ``write_rate`` requests/s
    (None: saturated) and backend commits; sampling stops when both p99s are
    decided against ``thresholds`` and ``backend_thresholds``.
    """
    engine = _resolve_engine(engine)
    if full:
        adaptive = False
        load = "saturated"
    if max_time is None:
        max_time = DEFAULT_FULL_MAX_TIME if full else DEFAULT_MAX_TIME
    if max_bytes is None and (not adaptive or engine == "fio"):
        max_bytes = DEFAULT_MAX_BYTES
    if load not in ("saturated", "etcd", "auto"):
        raise RcarkitError("unknown load %r" % (load,), hint="use auto, etcd or saturated")
    if load == "auto":
        if engine != "rcarkit" or not adaptive:
            load = "saturated"
        else:
            return _measure_auto(path, block_size, max_time, max_bytes, thresholds, progress,
                                 min_time, sys_root, proc_root, write_rate,
                                 backend_thresholds)
    if load == "etcd":
        etcd_bytes = max_bytes if max_bytes is not None else DEFAULT_MAX_BYTES
        if block_size > etcd_bytes:
            raise RcarkitError("one block (--block-size %d) is larger than the %d bytes "
                               "--load etcd writes%s" % (block_size, etcd_bytes,
                                                        "" if max_bytes else " by default"),
                               hint="lower --block-size or raise --max-bytes")
        if engine != "rcarkit":
            raise RcarkitError("--load etcd needs --engine rcarkit (fio runs one writer)")
        return _measure_etcd_load(path, block_size, max_time, etcd_bytes,
                                  thresholds, backend_thresholds, write_rate, progress,
                                  adaptive, sys_root, proc_root, min_time=min_time)
    if block_size < 1:
        raise RcarkitError("block size must be at least 1 byte, got %d" % block_size)
    if max_bytes is not None and max_bytes < block_size:
        raise RcarkitError("one block (--block-size %d) is larger than --max-bytes (%d)"
                           % (block_size, max_bytes),
                           hint="lower --block-size or raise --max-bytes")
    if not max_time > 0:
        raise RcarkitError("--max-time must be positive, got %r" % (max_time,))
    if not min_time >= 0:
        raise RcarkitError("--min-time must not be negative, got %r" % (min_time,))
    thresholds = tuple(float(t) for t in thresholds)
    prealloc = min(WAL_SEGMENT_BYTES, max_bytes) if max_bytes is not None else WAL_SEGMENT_BYTES
    if engine == "rcarkit" and block_size > prealloc:
        # every write must fit the preallocated segment, else nothing is timed
        raise RcarkitError("one block (--block-size %d) is larger than the %d-byte WAL "
                           "segment etcd preallocates" % (block_size, prealloc),
                           hint="lower --block-size (etcd's fio guidance: 2300)")
    needed = space_needed(engine, max_bytes if max_bytes is not None else WAL_SEGMENT_BYTES)
    check_target(path, needed, check_space=False)
    device = describe_path(path, sys_root=sys_root, proc_root=proc_root)
    free = shutil.disk_usage(str(path)).free
    if free < ETCD_MIN_FREE_BYTES:
        # etcd cannot even start here: do not write, report (advice: unusable)
        if progress is not None:
            progress(1.0, "no space")
        return _no_space(path, device, block_size, thresholds, free,
                         min_time if adaptive else 0.0, engine)
    with bench_tempdir(path, needed) as tmpdir:
        if engine == "fio":
            result, stats, elapsed = _run_fio(tmpdir, block_size, max_time, max_bytes, progress)
            decided = {}
            for t in thresholds:
                lo, hi = stats.p99_ci
                decided[threshold_label(t)] = ((not math.isnan(hi) and hi < t)
                                               or (not math.isnan(lo) and lo > t))
            reason = "size" if result.bytes_written >= max_bytes - block_size else "max-time"
            m = PathMeasurement(
                path=str(path), device=device, stats=stats, block_size=block_size,
                bytes_written=result.bytes_written, elapsed=elapsed,
                stopped_because=reason, thresholds_decided=decided,
                preallocated_bytes=max_bytes, engine_version=result.version,
                notes=list(result.notes), free_bytes=free)
        else:
            rule = AdaptiveStop(thresholds=thresholds, min_time=min_time,
                                max_upper_ratio=UPPER_TO_P99_MAX) if adaptive else None

            def work(report):
                writer = WalWriter(tmpdir, block_size, prealloc, limit_bytes=max_bytes)
                try:
                    run = sample_until(writer.step, rule, max_time, progress=report,
                                       thresholds=thresholds)
                finally:
                    writer.close()
                return run, writer.written, writer.notes

            try:
                run, written, writer_notes = run_in_own_session(work, progress)
            except OSError as e:
                raise RcarkitError("I/O error while benchmarking: %s" % (e.strerror or e),
                                   path=str(path))
            m = PathMeasurement(
                path=str(path), device=device, stats=run.stats, block_size=block_size,
                bytes_written=written, elapsed=run.elapsed,
                stopped_because=run.stopped_because, thresholds_decided=run.decided,
                preallocated_bytes=prealloc, notes=writer_notes,
                samples=run.samples, free_bytes=free,
                min_time=min_time if adaptive else 0.0)
    if progress is not None:
        progress(1.0, "done")
    return m


def _measure_etcd_load(path, block_size, max_time, max_bytes, thresholds, backend_thresholds,
                       write_rate, progress, adaptive, sys_root, proc_root,
                       min_time: float = DEFAULT_MIN_TIME) -> PathMeasurement:
    from rcarkit.etcd.load import EtcdLoadConfig, run_etcd_load, space_needed_etcd  # lazy

    if write_rate is not None and not write_rate > 0:
        raise RcarkitError("--write-rate must be positive (0 on the command line: saturated)")
    if block_size < 1 or not max_time > 0:
        raise RcarkitError("block size and --max-time must be positive")
    config = EtcdLoadConfig(write_rate=write_rate, entry_bytes=block_size)
    needed = space_needed_etcd(config)
    check_target(path, needed, check_space=False)
    device = describe_path(path, sys_root=sys_root, proc_root=proc_root)
    thresholds = tuple(float(t) for t in thresholds)
    backend_thresholds = tuple(float(t) for t in backend_thresholds)
    free = shutil.disk_usage(str(path)).free
    if free < ETCD_MIN_FREE_BYTES:
        return _no_space(path, device, block_size, thresholds, free, min_time)
    check_target(path, needed)
    wal_stop = AdaptiveStop(thresholds=thresholds, min_time=min_time)
    be_stop = AdaptiveStop(thresholds=backend_thresholds, min_time=min_time)
    state = {"wal": False, "backend": False}

    def stop_check(wal, backend, elapsed):
        if wal_stop.due(len(wal), elapsed):
            state["wal"] = wal_stop.check(list(wal), elapsed)
        if be_stop.due(len(backend), elapsed):
            state["backend"] = be_stop.check(list(backend), elapsed)
        return state["wal"] and state["backend"]

    with bench_tempdir(path, needed) as tmpdir:
        def work(report):
            run = run_etcd_load(tmpdir, config, max_time=max_time, max_bytes=max_bytes,
                                stop_check=stop_check if adaptive else None,
                                progress=report)
            return run, wal_stop.final(run.wal_samples), be_stop.final(run.backend_samples)

        try:
            run, wal_final, be_final = run_in_own_session(work, progress)
        except OSError as e:
            raise RcarkitError("I/O error while benchmarking: %s" % (e.strerror or e),
                               path=str(path))
    stats = FsyncStats.from_samples(run.wal_samples, engine="rcarkit", ordered=True)
    backend_stats = FsyncStats.from_samples(run.backend_samples, engine="rcarkit", ordered=True)
    if progress is not None:
        progress(1.0, "done")
    return PathMeasurement(
        path=str(path), device=device, stats=stats, block_size=block_size,
        bytes_written=run.wal_bytes, elapsed=run.elapsed, stopped_because=run.stopped_because,
        thresholds_decided=wal_final,
        preallocated_bytes=config.wal_segment_bytes, notes=list(run.notes),
        free_bytes=free, min_time=min_time if adaptive else 0.0,
        samples=run.wal_samples, load="etcd", write_rate=write_rate,
        backend_stats=backend_stats,
        backend_thresholds_decided=be_final,
        load_details={"requests": run.requests, "wal_syncs": len(run.wal_samples),
                      "backend_commits": run.commits, "backend_pages": run.backend_pages,
                      "backend_file_bytes": run.backend_file_bytes,
                      "model": config.to_dict()},
        backend_samples=run.backend_samples)


def _measure_auto(path, block_size, max_time, max_bytes, thresholds, progress, min_time,
                  sys_root, proc_root, write_rate, backend_thresholds) -> PathMeasurement:
    """``--load auto``: the saturated writer (the probe), then etcd's load when
    :func:`rcarkit.etcd.load.auto_choice` finds it cheap enough; the verdict
    rests on the last measurement, and ``load_details["auto"]`` says why."""
    from rcarkit.etcd.load import auto_choice  # lazy

    kw = dict(block_size=block_size, max_time=max_time, max_bytes=max_bytes,
              thresholds=thresholds, min_time=min_time, sys_root=sys_root,
              proc_root=proc_root)
    probe = measure_path(path, progress=progress, load="saturated", **kw)
    if probe.stopped_because == "no-space":
        return probe
    choice = auto_choice(probe.elapsed, probe.bytes_written, write_rate, max_time)
    if choice["load"] != "etcd":
        probe.load_details["auto"] = choice
        probe.notes.insert(
            0, "--load auto: etcd's load needs about %.0f s (its backend commits come at most "
            "10 a second), more than a fifth of fio's recipe here (about %.0f s): the "
            "verdict rests on the saturated writer; --load etcd measures etcd's load"
            % (choice["etcd_load_s"], choice["fio_projected_s"]))
        return probe
    m = measure_path(path, progress=progress, load="etcd", write_rate=write_rate,
                     backend_thresholds=backend_thresholds, **kw)
    choice["probe_p99_s"] = probe.stats.p99
    m.load_details["auto"] = choice
    m.elapsed += probe.elapsed  # time to verdict: the probe and the etcd load
    m.notes.insert(0, "--load auto: fio's recipe would take about %.0f s here, so etcd's load "
                   "(about %.0f s) ran after a %.1f s saturated probe (p99 %.2f ms)"
                   % (choice["fio_projected_s"], choice["etcd_load_s"], probe.elapsed,
                      probe.stats.p99 * 1000.0))
    return m


def measure_paths(paths: Sequence, **kwargs) -> List[PathMeasurement]:
    """``measure_path`` for each PATH, in order (same keyword arguments)."""
    return [measure_path(p, **kwargs) for p in paths]
