"""``rcarkit etcd-bench``: measure storage the way etcd's WAL uses it, recommend.

The command parses its options, calls the library (:mod:`rcarkit.etcd.bench`,
:mod:`rcarkit.etcd.peer`, :mod:`rcarkit.etcd.advice`, :mod:`rcarkit.etcd.emit`,
all imported inside the command so other commands never pay for them) and
renders the result: an 80-column table (per PATH: device, sample count,
p50/p90/p99 with its 95 % interval/p99.9/max and a compact histogram; then the
verdict, the settings and the cited why lines) or ``--format json``.

A progress bar is drawn on stderr only when both stdout and stderr are
terminals and the format is not json.

Exit codes: 0 measured and the storage fits etcd with its defaults; 1
measured and something should change (the verdict says what); 2 bad input,
usage or I/O error (one line on stderr).
"""

import math
import os
import sys
import textwrap
from pathlib import Path
from typing import List, Optional

import typer

from rcarkit.cli.common import check_choice, emit, fail, user_errors
from rcarkit.render import json_safe

HELP = (
    "Measure fdatasync latency the way etcd's WAL uses the disk (preallocated file, "
    "2300-byte writes each followed by fdatasync) under each PATH, and recommend where "
    "etcd's data should live: local disk with defaults, local disk with raised "
    "timeouts, tmpfs (single control plane) or an external etcd (--peer). PATH defaults "
    "to /var/lib/etcd if it exists, else the current directory. --emit DIR writes a "
    "kubeadm config (one --config file) and, for tmpfs, systemd units. "
    "Exit codes: 0 storage fits etcd with defaults; 1 measured, changes recommended; "
    "2 bad input, usage or I/O error (one line on stderr).")

DEFAULT_DATA_DIR = "/var/lib/etcd"
WIDTH = 80


def register(app):
    """Add ``etcd-bench`` to the rcarkit app."""
    app.command("etcd-bench", help=HELP,
                short_help="Is the disk fast enough for etcd? Settings to use.")(etcd_bench_cmd)


def etcd_bench_cmd(
    paths: Optional[List[Path]] = typer.Argument(
        None, help="Directories to measure (default /var/lib/etcd, else .).",
        show_default=False, metavar="[PATH]..."),
    block_size: int = typer.Option(2300, "--block-size", help="Bytes per write (etcd's fio "
                                   "guidance: 2300)."),
    engine: str = typer.Option("rcarkit", "--engine", help="rcarkit, fio or auto (fio when "
                               "installed)."),
    min_time: float = typer.Option(10.0, "--min-time", help="Seconds per PATH at least "
                                   "(default two ext4 journal commit intervals of 5 s)."),
    max_time: Optional[float] = typer.Option(None, "--max-time", help="Seconds per PATH at "
                                             "most (default 60; 3600 with --full).",
                                             show_default=False),
    max_bytes: Optional[int] = typer.Option(None, "--max-bytes", help="Bytes per PATH at "
                                            "most (default: none; 22 MiB with --full or "
                                            "--engine fio, fio's --size=22m).",
                                            show_default=False),
    full: bool = typer.Option(False, "--full", help="Run fio's whole etcd recipe (22 MiB of "
                              "2300-byte writes + fdatasync), no early stop."),
    k3s: bool = typer.Option(False, "--k3s", help="Also time SQLite commits with k3s's kine "
                             "settings on each PATH: does a single-server k3s fit?"),
    peer: Optional[str] = typer.Option(None, "--peer", help="HOST:PORT of a candidate etcd "
                                       "host: measure TCP round trips to it."),
    control_planes: int = typer.Option(1, "--control-planes", help="Number of control-plane "
                                       "nodes (tmpfs only with 1)."),
    emit_dir: Optional[Path] = typer.Option(None, "--emit", help="Write kubeadm config and "
                                            "units to this directory."),
    kubeadm_api: str = typer.Option("v1beta4", "--kubeadm-api", help="v1beta4 (kubeadm >= "
                                    "1.31) or v1beta3."),
    force: bool = typer.Option(False, "--force", help="Overwrite emitted files changed by "
                               "hand."),
    load: str = typer.Option("auto", "--load", help="etcd: etcd's WAL writer at --write-rate "
                             "plus its backend commits, both p99s judged; saturated: one "
                             "writer back to back (fio's recipe); auto: saturated first, then "
                             "etcd when its ~53 s fit in a fifth of fio's recipe on that disk."),
    write_rate: float = typer.Option(10.0, "--write-rate", help="Writes/s etcd receives with "
                                     "--load etcd (a few-node control plane: ~1.5 idle; 0 = "
                                     "saturated)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
):
    check_choice(fmt, ("table", "json"), "--format")
    check_choice(engine, ("rcarkit", "fio", "auto"), "--engine")
    check_choice(load, ("auto", "etcd", "saturated"), "--load")
    if not (write_rate >= 0) or math.isinf(write_rate):
        fail("--write-rate must be a number of writes per second >= 0, not %r" % write_rate)
    if load == "etcd" and engine == "fio":
        fail("--load etcd runs rcarkit's own writers; use it with --engine rcarkit")
    check_choice(kubeadm_api, ("v1beta4", "v1beta3"), "--kubeadm-api")
    if control_planes < 1:
        fail("--control-planes must be at least 1, not %d" % control_planes)
    if block_size < 1:
        fail("--block-size must be at least 1 byte, not %d" % block_size)
    if max_time is not None and (not (max_time > 0) or math.isinf(max_time)):
        fail("--max-time must be a positive number of seconds, not %r" % max_time)
    if not (min_time >= 0) or math.isinf(min_time):
        fail("--min-time must be zero or a positive number of seconds, not %r" % min_time)
    if max_bytes is not None and max_bytes < block_size:
        fail("--max-bytes (%d) must be at least one block (--block-size %d)"
             % (max_bytes, block_size))
    with user_errors():
        try:
            _run(paths, block_size, engine, max_time, max_bytes, peer, control_planes,
                 emit_dir, kubeadm_api, force, fmt, load, write_rate,
                 min_time=min_time, full=full, k3s=k3s)
        except OSError as exc:
            where = (" %s" % exc.filename) if getattr(exc, "filename", None) else ""
            fail("I/O error%s: %s" % (where, exc.strerror or exc))


def _run(paths, block_size, engine, max_time, max_bytes, peer, control_planes,
         emit_dir, kubeadm_api, force, fmt, load="saturated", write_rate=10.0,
         min_time=10.0, full=False, k3s=False):
    from rcarkit.etcd import advice as etcd_advice
    from rcarkit.etcd import bench as etcd_bench
    from rcarkit.etcd.peer import measure_peer, parse_peer

    if peer is not None:
        parse_peer(peer)  # bad HOST:PORT fails before minutes of measuring
    if emit_dir is not None:
        from rcarkit.etcd.emit import check_emit_dir
        check_emit_dir(emit_dir, force=force)  # a file, or hand edits: refuse before measuring
    targets = [str(p) for p in paths] if paths else [
        DEFAULT_DATA_DIR if os.path.isdir(DEFAULT_DATA_DIR) else os.getcwd()]
    from rcarkit.etcd.load import resolve_load, etcd_load_seconds
    rate = write_rate if write_rate > 0 else None
    if full:
        load = "saturated"  # fio's recipe is one writer
    effective_max_time = max_time if max_time is not None else (
        etcd_bench.DEFAULT_FULL_MAX_TIME if full else etcd_bench.DEFAULT_MAX_TIME)
    load = resolve_load(load, etcd_bench._resolve_engine(engine), rate, effective_max_time,
                        etcd_load_seconds(rate))
    space = max_bytes if max_bytes is not None else (
        etcd_bench.DEFAULT_MAX_BYTES if full or engine != "rcarkit" else etcd_bench.WAL_SEGMENT_BYTES)
    for target in targets:  # a run killed with SIGKILL left its directory: say so
        for stale, pid in etcd_bench.remove_stale_tempdirs(target):
            typer.echo("removed %s: left by rcarkit process %d, which is gone"
                       % (stale, pid), err=True)
    for target in targets:  # refuse bad PATHs before measuring any
        # below etcd's own minimum the PATH is reported unusable, not refused
        etcd_bench.check_target(target, etcd_bench.space_needed(engine, space, load),
                                check_space=os.path.isdir(target) and
                                etcd_bench.etcd_space_shortfall(target) is None)

    progress = ProgressBar() if fmt != "json" and _is_tty(sys.stdout) and _is_tty(sys.stderr) \
        else None
    measurements = []
    kine_measurements = []
    try:
        peer_measurement = None
        if peer is not None:  # first: an unreachable peer fails in seconds, not after the disks
            callback = progress.for_item(0, 1, "peer " + peer) if progress else None
            peer_measurement = measure_peer(peer, progress=callback)
        for i, target in enumerate(targets):
            callback = progress.for_item(i, len(targets), target) if progress else None
            measurements.append(etcd_bench.measure_path(
                target, block_size=block_size, max_time=max_time, max_bytes=max_bytes,
                engine=engine, thresholds=etcd_advice.THRESHOLDS, progress=callback,
                min_time=min_time, full=full, load=load, write_rate=rate,
                backend_thresholds=(etcd_advice.BACKEND_COMMIT_P99_MAX_S,)))
            if k3s and measurements[-1].stopped_because != "no-space":
                from rcarkit.etcd.kine import measure_kine
                callback = progress.for_item(i, len(targets), target + " (SQLite)") \
                    if progress else None
                kine_measurements.append(measure_kine(
                    target, value_bytes=block_size, min_time=min_time,
                    max_time=effective_max_time, progress=callback))
    finally:
        if progress:
            progress.clear()

    rec = etcd_advice.recommend(measurements,
                                peer=peer_measurement.stats if peer_measurement else None,
                                control_planes=control_planes, peer_address=peer,
                                kine=kine_measurements)
    written: List[str] = []
    emit_error = None
    if emit_dir is not None:
        from rcarkit.errors import RcarkitError
        from rcarkit.etcd.emit import write_emit_dir
        try:
            written = write_emit_dir(rec, emit_dir, api=kubeadm_api, force=force)
        except RcarkitError as exc:  # still show the measurement, then fail
            emit_error = exc
    removed = [p for p in written if not os.path.exists(p)]  # stale files of an earlier run
    written = [p for p in written if p not in removed]
    if fmt == "json":
        import json
        doc = {"schema_version": 1, "command": "etcd-bench",
               "measurements": [m.to_dict() for m in measurements],
               "peer": peer_measurement.to_dict() if peer_measurement else None,
               "recommendation": rec.to_dict(),
               "k3s": [k.to_dict() for k in kine_measurements] if k3s else None,
               "emitted": {"directory": str(emit_dir) if emit_dir else None,
                           "kubeadm_api": kubeadm_api if emit_dir else None,
                           "written": written,
                           "removed": removed,
                           "error": str(emit_error) if emit_error else None}}
        emit(json.dumps(json_safe(doc), indent=2, allow_nan=False) + "\n")
    else:
        emit(render_table(measurements, peer_measurement, rec, kine_measurements))
    if emit_error is not None:
        fail(str(emit_error), emit_error.exit_code)
    for path in written:
        if path.endswith(".new"):
            typer.echo("%s was changed by hand: kept it, wrote %s beside it (merge the "
                       "new values by hand, or pass --force to replace it)"
                       % (path[:-len(".new")], path), err=True)
        else:
            typer.echo("wrote %s" % path, err=True)
    for path in removed:
        typer.echo("removed %s (not needed any more)" % path, err=True)
    if emit_dir is not None and not written and not removed:
        typer.echo("%s: up to date" % emit_dir, err=True)
    raise typer.Exit(rec.exit_code)



def _is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class ProgressBar:
    """One self-overwriting line on stderr: ``[1/2] /var/lib/etcd [#####....] 45% ...``."""

    def __init__(self, stream=None, width: int = WIDTH - 1):
        self.stream = stream or sys.stderr
        self.width = width
        self.shown = False

    def for_item(self, index: int, total: int, label: str):
        def callback(fraction: float, text: str = ""):
            self.draw(index, total, label, fraction, text)
        return callback

    def draw(self, index, total, label, fraction, text=""):
        fraction = min(1.0, max(0.0, float(fraction)))
        bar_len = 20
        filled = int(round(fraction * bar_len))
        tail = "[%s%s] %3d%% %s" % ("#" * filled, "." * (bar_len - filled),
                                     int(fraction * 100), text)
        counter = "[%d/%d] " % (index + 1, total)
        room = self.width - len(counter) - 1 - (bar_len + 7)  # keep bar and percentage
        if len(label) > room:  # a long PATH: keep its end, the distinctive part
            label = "..." + label[-max(room - 3, 1):]
        line = ("%s%s %s" % (counter, label, tail))[:self.width]
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()
        self.shown = True

    def clear(self):
        if self.shown:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.shown = False


# --- table rendering ------------------------------------------------------------------

def _fmt_s(seconds) -> str:
    """Latency in the most readable unit: ``850us``, ``8.12ms``, ``1.20s``."""
    if seconds is None or (isinstance(seconds, float) and (math.isnan(seconds))):
        return "?"
    if math.isinf(seconds):
        return "inf"
    if seconds < 0.00001:  # tmpfs: 0.3us, not "0us"
        return "%.1fus" % (seconds * 1e6)
    if seconds < 0.001:
        return "%.0fus" % (seconds * 1e6)
    if seconds < 1.0:
        ms = seconds * 1000.0
        return ("%.2fms" if ms < 10 else "%.1fms" if ms < 100 else "%.0fms") % ms
    return "%.2fs" % seconds


def _bound_label(bound: float) -> str:
    if math.isinf(bound):
        return "> 8.2s"
    if bound < 0.001:
        return "<=%gus" % round(bound * 1e6, 1)
    if bound < 1.0:
        return "<=%gms" % round(bound * 1e3, 3)
    return "<=%gs" % round(bound, 3)


def render_histogram(histogram, indent: str = "    ", max_rows: int = 10,
                     bar_width: int = 40) -> List[str]:
    """Compact text histogram: at most ``max_rows`` rows (adjacent buckets merged)."""
    rows = [(b, c) for b, c in histogram]
    if not rows:
        return []
    while len(rows) > max_rows:
        merged = []
        for i in range(0, len(rows), 2):
            pair = rows[i:i + 2]
            merged.append((pair[-1][0], sum(c for _, c in pair)))
        rows = merged
    total = sum(c for _, c in rows) or 1
    peak = max(c for _, c in rows) or 1
    out = []
    for bound, count in rows:
        n = int(math.ceil(count * bar_width / float(peak))) if count else 0
        out.append("%s%-9s %-*s %7d %5.1f%%" % (indent, _bound_label(bound), bar_width,
                                                "#" * n, count, 100.0 * count / total))
    return out


def _stats_lines(stats, unit_label: str) -> List[str]:
    lo, hi = stats.p99_ci
    ci = "[%s-%s]" % (_fmt_s(lo), _fmt_s(hi))
    return [
        "  %-9s p50 %s  p90 %s  p99 %s %s" % (unit_label, _fmt_s(stats.p50), _fmt_s(stats.p90),
                                              _fmt_s(stats.p99), ci),
        "  %-9s p99.9 %s  max %s  (95%% CI of p99 in brackets)"
        % ("", _fmt_s(stats.p999), _fmt_s(stats.max)),
    ]


def _stop_detail(reason: str) -> str:
    from rcarkit.etcd.bench import STOP_REASONS
    return STOP_REASONS.get(reason, reason)


def _wrap(text: str, first: str, rest: str) -> List[str]:
    return textwrap.wrap(text, width=WIDTH - 1, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False) or [first.rstrip()]


def render_table(measurements, peer_measurement, rec, kine_measurements=()) -> str:
    lines: List[str] = []
    for m in measurements:
        d = m.device
        lines.append("PATH %s" % m.path)
        dev = d.summary() if hasattr(d, "summary") else "%s (%s)" % (d.fstype, d.kind)
        opts = ",".join(d.mount_options[:6]) if d.mount_options else ""
        lines += _wrap(dev + ("  [%s]" % opts if opts else ""), "  device    ", " " * 12)
        backend = getattr(m, "backend_stats", None)
        if backend is not None:
            rate = "saturated" if m.write_rate is None else "%g writes/s" % m.write_rate
            lines += _wrap("etcd load at %s: %d WAL fdatasyncs (%d x %d B entries) and %d "
                           "backend commits, %.1f s, stopped: %s (%s)"
                           % (rate, m.stats.count, m.load_details.get("requests", 0),
                              m.block_size, backend.count, m.elapsed, m.stopped_because,
                              _stop_detail(m.stopped_because)),
                           "  samples   ", " " * 12)
        else:
            lines += _wrap("%d x %d B fdatasync, %s engine%s, %.1f s, stopped: %s (%s)"
                           % (m.stats.count, m.block_size, m.stats.engine,
                              (" " + m.engine_version) if getattr(m, "engine_version", None)
                              else "", m.elapsed, m.stopped_because,
                              _stop_detail(m.stopped_because)),
                           "  samples   ", " " * 12)
        for n in m.notes:
            if n.startswith("--load auto:"):  # which measurement and why (bench._measure_auto)
                lines += _wrap(n, "  load      ", " " * 12)
        if m.stats.count == 0:
            lines += [_wrap(n, "  note      ", " " * 12)[0] for n in m.notes[:1]]
            lines.append("")
            continue
        lines += _stats_lines(m.stats, "fsync" if backend is None else "WAL")
        extra = "  %-9s interval: %s" % ("", m.stats.ci_method)
        vif = getattr(m.stats, "p99_vif", float("nan"))
        if vif is not None and not math.isnan(vif):
            extra += ", variance inflation %.1f" % vif
        if getattr(m.stats, "slow_count", None):
            extra += ", %d syncs >= 1 s" % m.stats.slow_count
        lines.append(extra)
        if backend is not None:
            lines += _stats_lines(backend, "commit")
        hist = render_histogram(m.stats.histogram)
        if hist:
            lines.append("  histogram")
            lines += hist
        lines.append("")
    if peer_measurement is not None:
        p = peer_measurement
        lines.append("PEER %s (%s)" % (p.address, p.resolved))
        lines.append("  samples   %d TCP connects, %d failed, %.1f s"
                     % (p.stats.count, p.failures, p.elapsed))
        lines += _stats_lines(p.stats, "rtt")
        lines.append("")
    for k in kine_measurements:
        lines.append("K3S %s (SQLite with kine's settings)" % k.path)
        lines += _wrap("%d commits of %d B values, %.1f s, stopped: %s"
                       % (k.commits, k.value_bytes, k.elapsed, k.stopped_because),
                       "  samples   ", " " * 12)
        lines += _stats_lines(k.stats, "commit")
        lines.append("")
    lines.append("VERDICT   %s  (exit %d)" % (rec.verdict, rec.exit_code))
    if rec.path:
        lines += _wrap("%s  (etcd data dir %s)" % (rec.path, rec.data_dir or rec.path),
                       "  path      ", " " * 12)
    if rec.external_endpoints:
        lines += _wrap(", ".join(rec.external_endpoints), "  external  ", " " * 12)
    lines.append("  etcd      --heartbeat-interval=%d --election-timeout=%d"
                 % (rec.heartbeat_ms, rec.election_timeout_ms))
    lines += _wrap(" ".join("%s=%s" % kv for kv in rec.kubeadm_timeouts.items()),
                   "  kubeadm   ", " " * 12)
    if rec.snapshot_dir:
        lines.append("  snapshots %s" % rec.snapshot_dir)
    lines.append("WHY")
    for w in rec.why:
        lines += _wrap(w, "  - ", "    ")
    refs = rec.references
    if refs:
        lines.append("REFERENCES")
        for tag, url in refs.items():
            lines += _wrap("[%s] %s" % (tag, url), "  ", "      ")
    return "\n".join(lines) + "\n"
