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
In a fresh directory ``rcarkit-etcd-bench-XXXXXXXX`` created with
``tempfile.mkdtemp`` under PATH we create one file, preallocate
``min(SegmentSizeBytes, max_bytes)`` bytes with ``os.posix_fallocate`` (same
``fallocate`` mode 0; ``ftruncate`` fallback), sync it and the directory once
(etcd syncs the new segment and its directory before use; not counted), then
repeatedly write ``block_size`` bytes (default 2300, the block size of etcd's
fio guidance: ``fio --rw=write --ioengine=sync --fdatasync=1 --size=22m
--bs=2300``) at the end of what was written and call ``os.fdatasync``, timing
each sync alone with ``time.perf_counter_ns`` (monotonic, ns resolution).

Sampling stops (``stopped_because``) when the statistics have ``decided`` every
threshold (:class:`rcarkit.etcd.stats.AdaptiveStop`), at ``max-time`` or at
``max-bytes``; the fio engine runs its fixed ``size``.

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

Safety
======
* Writes only inside the temporary directory it created (the WAL-like file;
  fio's data file and its output for the fio engine) and removes that
  directory on success, error, Ctrl-C (KeyboardInterrupt), SIGTERM and SIGHUP
  (a handler that raises ``SystemExit(128 + signal)`` is installed for the run
  when called from the main thread, unless the signal is ignored, and the
  previous handler restored afterwards).
* Refuses, with one :class:`rcarkit.errors.RcarkitError` line, a PATH that
  does not exist, is not a directory, is on a read-only filesystem
  (``statvfs`` ``ST_RDONLY``), is not writable (``os.access``) or lacks free
  space for the preallocation plus a margin (``shutil.disk_usage``).
* Bounded by ``max_time`` (default 60 s) and ``max_bytes`` (default 22 MiB).

Long because the three ways of loading the disk (our saturated writer, fio,
etcd's two writers from :mod:`rcarkit.etcd.load`) share one set of checks,
one temporary directory and one result type here.
"""

import errno
import math
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence

from rcarkit.errors import RcarkitError
from rcarkit.etcd.stats import AdaptiveStop, FsyncStats, ci_ranks, threshold_label
from rcarkit.etcd.device import StorageDevice, describe_path

__all__ = [
    "PathMeasurement",
    "measure_path",
    "measure_paths",
    "check_target",
    "space_needed",
    "bench_tempdir",
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
    stopped_because: str  # "decided" | "max-time" | "max-bytes" | "size"
    thresholds_decided: Dict[str, bool]
    preallocated_bytes: int = 0
    engine_version: Optional[str] = None  # e.g. "fio-3.33"
    notes: List[str] = field(default_factory=list)
    samples: List[float] = field(default_factory=list, repr=False)  # seconds; not in to_dict
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


def check_target(path, needed_bytes: int) -> None:
    """Refuse a PATH we must not or cannot write into (one-line RcarkitError)."""
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
    free = shutil.disk_usage(p).free
    need = needed_bytes + FREE_SPACE_MARGIN
    if free < need:
        raise RcarkitError(
            "only %s free, the benchmark needs %s" % (_mib(free), _mib(need)),
            path=p, hint="free space or lower --max-bytes")


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """During the block, SIGTERM (and SIGHUP: the serial console or ssh session
    went away) raise SystemExit(128 + signal) so finally-blocks run. A signal
    the caller ignores (``nohup``) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _handler(signum, frame):
        raise SystemExit(128 + signum)

    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, _handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextmanager
def bench_tempdir(path, needed_bytes: int) -> Iterator[str]:
    """Check PATH, create our temp dir in it, remove it whatever happens."""
    check_target(path, needed_bytes)
    with _sigterm_raises():
        try:
            tmp = tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=str(path))
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


def _run_rcarkit(tmpdir: str, block_size: int, max_time: float, max_bytes: int,
                 stop: Optional[AdaptiveStop], progress: Optional[ProgressCallback]):
    prealloc = min(WAL_SEGMENT_BYTES, max_bytes)
    limit_reason = "max-bytes" if prealloc == max_bytes else "size"
    filename = os.path.join(tmpdir, "0000000000000000-0000000000000000.wal")
    fd = os.open(filename, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    samples: List[float] = []
    written = 0
    notes = []
    try:
        method = _preallocate(fd, prealloc)
        if method != "fallocate":
            notes.append("fallocate not supported here; used ftruncate like etcd")
        os.fdatasync(fd)
        _fsync_dir(tmpdir)
        block = os.urandom(block_size)
        perf = time.perf_counter_ns
        start = perf()
        deadline = start + int(max_time * 1e9)
        next_progress = start
        reason = limit_reason
        while True:
            if written + block_size > prealloc:
                reason = limit_reason
                break
            view = memoryview(block)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            t0 = perf()
            os.fdatasync(fd)
            t1 = perf()
            samples.append((t1 - t0) / 1e9)
            written += block_size
            if stop is not None and stop.due(len(samples)) and stop.check(samples):
                reason = "decided"
                break
            if t1 >= deadline:
                reason = "max-time"
                break
            if progress is not None and t1 >= next_progress:
                next_progress = t1 + int(PROGRESS_INTERVAL * 1e9)
                frac = max((t1 - start) / (max_time * 1e9), written / float(prealloc))
                progress(min(frac, 1.0), "%d syncs, %.1f s" % (len(samples), (t1 - start) / 1e9))
        elapsed = (perf() - start) / 1e9
    finally:
        os.close(fd)
    return samples, written, elapsed, reason, prealloc, notes


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
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=tmpdir)
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


def space_needed(engine: str, max_bytes: int, load: str = "saturated") -> int:
    """Bytes the run writes under PATH: fio lays out its whole ``--size``, our
    engine preallocates at most one WAL segment; ``load="etcd"`` a whole WAL
    segment plus the backend file (rcarkit.etcd.load.space_needed_etcd)."""
    if load == "etcd":
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


def measure_path(path, block_size: int = DEFAULT_BLOCK_SIZE, max_time: float = DEFAULT_MAX_TIME,
                 max_bytes: int = DEFAULT_MAX_BYTES, engine: str = "rcarkit",
                 thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                 progress: Optional[ProgressCallback] = None, adaptive: bool = True,
                 sys_root: str = "/sys", proc_root: str = "/proc",
                 load: str = "saturated", write_rate: Optional[float] = None,
                 backend_thresholds: Sequence[float] = (0.025,)) -> PathMeasurement:
    """Benchmark fdatasync under ``path`` (see the module docstring).

    ``progress(fraction, text)`` is called about every 0.1 s while sampling
    (rcarkit engine) and with 1.0 at the end. ``adaptive=False`` disables the
    stopping rule (runs to ``max_bytes`` / ``max_time`` like fio).

    ``load="etcd"`` (rcarkit engine only) runs etcd's two writers together
    (:mod:`rcarkit.etcd.load`): WAL syncs paced at ``write_rate`` requests/s
    (None: saturated) and backend commits; sampling stops when both p99s are
    decided against ``thresholds`` and ``backend_thresholds``.
    """
    engine = _resolve_engine(engine)
    if load not in ("saturated", "etcd"):
        raise RcarkitError("unknown load %r" % (load,), hint="use etcd or saturated")
    if load == "etcd" and block_size > max_bytes:
        raise RcarkitError("one block (--block-size %d) is larger than --max-bytes (%d)"
                           % (block_size, max_bytes),
                           hint="lower --block-size or raise --max-bytes")
    if load == "etcd":
        if engine != "rcarkit":
            raise RcarkitError("--load etcd needs --engine rcarkit (fio runs one writer)")
        return _measure_etcd_load(path, block_size, max_time, max_bytes, thresholds,
                                  backend_thresholds, write_rate, progress, adaptive,
                                  sys_root, proc_root)
    if block_size < 1:
        raise RcarkitError("block size must be at least 1 byte, got %d" % block_size)
    if max_bytes < block_size:
        raise RcarkitError("one block (--block-size %d) is larger than --max-bytes (%d)"
                           % (block_size, max_bytes),
                           hint="lower --block-size or raise --max-bytes")
    if not max_time > 0:
        raise RcarkitError("--max-time must be positive, got %r" % (max_time,))
    thresholds = tuple(float(t) for t in thresholds)
    prealloc = min(WAL_SEGMENT_BYTES, max_bytes)
    if engine == "rcarkit" and block_size > prealloc:
        # every write must fit the preallocated segment, else nothing is timed
        raise RcarkitError("one block (--block-size %d) is larger than the %d-byte WAL "
                           "segment etcd preallocates" % (block_size, prealloc),
                           hint="lower --block-size (etcd's fio guidance: 2300)")
    needed = space_needed(engine, max_bytes)
    check_target(path, needed)
    device = describe_path(path, sys_root=sys_root, proc_root=proc_root)
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
                notes=list(result.notes))
        else:
            stop = AdaptiveStop(thresholds=thresholds) if adaptive else None
            try:
                samples, written, elapsed, reason, prealloc, notes = _run_rcarkit(
                    tmpdir, block_size, max_time, max_bytes, stop, progress)
            except OSError as e:
                raise RcarkitError("I/O error while benchmarking: %s" % (e.strerror or e),
                                   path=str(path))
            stats = FsyncStats.from_samples(samples, engine="rcarkit")
            final = (stop or AdaptiveStop(thresholds=thresholds)).final(samples)
            m = PathMeasurement(
                path=str(path), device=device, stats=stats, block_size=block_size,
                bytes_written=written, elapsed=elapsed, stopped_because=reason,
                thresholds_decided=final, preallocated_bytes=prealloc, notes=notes,
                samples=samples)
    if progress is not None:
        progress(1.0, "done")
    return m


def _measure_etcd_load(path, block_size, max_time, max_bytes, thresholds, backend_thresholds,
                       write_rate, progress, adaptive, sys_root, proc_root) -> PathMeasurement:
    from rcarkit.etcd.load import EtcdLoadConfig, run_etcd_load, space_needed_etcd  # lazy

    if write_rate is not None and not write_rate > 0:
        raise RcarkitError("--write-rate must be positive (0 on the command line: saturated)")
    if block_size < 1 or not max_time > 0:
        raise RcarkitError("block size and --max-time must be positive")
    config = EtcdLoadConfig(write_rate=write_rate, entry_bytes=block_size)
    needed = space_needed_etcd(config)
    check_target(path, needed)
    device = describe_path(path, sys_root=sys_root, proc_root=proc_root)
    thresholds = tuple(float(t) for t in thresholds)
    backend_thresholds = tuple(float(t) for t in backend_thresholds)
    wal_stop = AdaptiveStop(thresholds=thresholds)
    be_stop = AdaptiveStop(thresholds=backend_thresholds)
    state = {"wal": False, "backend": False}

    def stop_check(wal, backend, elapsed):
        if wal_stop.due(len(wal)):
            state["wal"] = wal_stop.check(list(wal))
        if be_stop.due(len(backend)):
            state["backend"] = be_stop.check(list(backend))
        return state["wal"] and state["backend"]

    with bench_tempdir(path, needed) as tmpdir:
        try:
            run = run_etcd_load(tmpdir, config, max_time=max_time, max_bytes=max_bytes,
                                stop_check=stop_check if adaptive else None,
                                progress=progress)
        except OSError as e:
            raise RcarkitError("I/O error while benchmarking: %s" % (e.strerror or e),
                               path=str(path))
    stats = FsyncStats.from_samples(run.wal_samples, engine="rcarkit")
    backend_stats = FsyncStats.from_samples(run.backend_samples, engine="rcarkit")
    if progress is not None:
        progress(1.0, "done")
    return PathMeasurement(
        path=str(path), device=device, stats=stats, block_size=block_size,
        bytes_written=run.wal_bytes, elapsed=run.elapsed, stopped_because=run.stopped_because,
        thresholds_decided=wal_stop.final(run.wal_samples),
        preallocated_bytes=config.wal_segment_bytes, notes=list(run.notes),
        samples=run.wal_samples, load="etcd", write_rate=write_rate,
        backend_stats=backend_stats,
        backend_thresholds_decided=be_stop.final(run.backend_samples),
        load_details={"requests": run.requests, "wal_syncs": len(run.wal_samples),
                      "backend_commits": run.commits, "backend_pages": run.backend_pages,
                      "backend_file_bytes": run.backend_file_bytes,
                      "model": config.to_dict()},
        backend_samples=run.backend_samples)


def measure_paths(paths: Sequence, **kwargs) -> List[PathMeasurement]:
    """``measure_path`` for each PATH, in order (same keyword arguments)."""
    return [measure_path(p, **kwargs) for p in paths]
