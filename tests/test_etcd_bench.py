"""rcarkit.etcd.bench: what it writes, where, and that it always cleans up.

Independent checks: the system calls it makes are read with strace (the
WAL pattern: fallocate mode 0, then write(2300) + fdatasync pairs, nothing
written outside the temp dir), the file's allocation with os.stat, fio's own
sample count for the fio engine, real signals (SIGTERM to a subprocess),
a real read-only mount and a real unprivileged user.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import default_stop_signals
from rcarkit.errors import RcarkitError
from rcarkit.etcd.bench import (
    DEFAULT_MAX_BYTES,
    ETCD_MIN_FREE_BYTES,
    TEMP_PREFIX,
    WAL_SEGMENT_BYTES,
    fio_percentile_list,
    measure_path,
)

REPO = Path(__file__).resolve().parents[1]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _leftovers(path):
    return [p for p in os.listdir(path) if p.startswith(TEMP_PREFIX)]


def test_fixed_size_run_counts_and_cleans_up(tmp_path):
    before = sorted(os.listdir(tmp_path))
    m = measure_path(tmp_path, block_size=2300, max_bytes=2300 * 100, max_time=30,
                     adaptive=False)
    assert m.stats.count == 100
    assert m.bytes_written == 230000
    assert m.stopped_because == "max-bytes"
    assert m.preallocated_bytes == 2300 * 100
    assert sorted(os.listdir(tmp_path)) == before
    d = m.to_dict()
    assert d["stats"]["count"] == 100 and d["device"]["path"] == str(tmp_path)
    assert "samples" not in d


def test_preallocation_and_only_our_dir_while_running(tmp_path):
    seen = {}

    def progress(frac, text):
        if "entries" not in seen:
            seen["entries"] = os.listdir(tmp_path)
            sub = tmp_path / seen["entries"][0]
            files = os.listdir(sub)
            st = os.stat(sub / files[0])
            seen["size"] = st.st_size
            seen["allocated"] = st.st_blocks * 512

    max_bytes = 2 * 1024 * 1024
    # max_time long enough that the progress callback fires during the run
    measure_path(tmp_path, max_bytes=max_bytes, max_time=60, adaptive=False, progress=progress)
    assert len(seen["entries"]) == 1 and seen["entries"][0].startswith(TEMP_PREFIX)
    assert seen["size"] == max_bytes  # fallocate mode 0 extends the size, like etcd
    assert seen["allocated"] >= max_bytes
    assert _leftovers(tmp_path) == []


def test_prealloc_is_capped_at_etcd_segment_size():
    assert WAL_SEGMENT_BYTES == 64 * 1000 * 1000
    assert min(WAL_SEGMENT_BYTES, DEFAULT_MAX_BYTES) == 22 * 1024 * 1024


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")
def test_syscall_pattern_is_etcds_wal(tmp_path):
    script = textwrap.dedent("""
        import sys
        from rcarkit.etcd.bench import measure_path
        measure_path(sys.argv[1], max_bytes=2300 * 50, max_time=30, adaptive=False)
    """)
    log = tmp_path / "strace.log"
    work = tmp_path / "work"
    work.mkdir()
    subprocess.run(["strace", "-f", "-e", "trace=openat,write,pwrite64,fdatasync,fallocate,fsync",
                    "-o", str(log), sys.executable, "-c", script, str(work)],
                   check=True, cwd=str(REPO), timeout=120,
                   env=dict(os.environ, PYTHONPATH=str(REPO)))
    text = log.read_text()
    m = re.search(r'openat\(AT_FDCWD, "([^"]*%s[^"]*\.wal)", [^)]*O_CREAT[^)]*\)\s+= (\d+)'
                  % re.escape(TEMP_PREFIX), text)
    assert m, "WAL file not opened"
    path, fd = m.group(1), m.group(2)
    assert path.startswith(str(work) + "/" + TEMP_PREFIX)
    # every file opened for writing is inside our temp dir
    for wpath in re.findall(r'openat\(AT_FDCWD, "([^"]+)", [^)]*O_(?:WRONLY|RDWR)', text):
        assert wpath.startswith(str(work) + "/" + TEMP_PREFIX), wpath
    assert re.search(r"fallocate\(%s, 0, 0, 115000\)\s+= 0" % fd, text)
    calls = re.findall(r"(write|fdatasync)\(%s(?:, [^\n]*)?\)\s+= (\d+)" % fd, text)
    writes = [c for c in calls if c[0] == "write"]
    syncs = [c for c in calls if c[0] == "fdatasync"]
    assert len(writes) == 50 and all(int(n) == 2300 for _, n in writes)
    # one untimed sync after preallocation, then write/fdatasync pairs
    assert len(syncs) == 51
    assert [c[0] for c in calls[1:]] == ["write", "fdatasync"] * 50


def test_fio_engine_uses_fio_counts(tmp_path):
    if shutil.which("fio") is None:
        pytest.skip("fio not installed (apt install fio)")
    # 2355200 = 1024 * 2300 = 575 * 4096: fio does not round it
    m = measure_path(tmp_path, engine="fio", max_bytes=2355200, max_time=60)
    assert m.stats.engine == "fio" and m.engine_version.startswith("fio-")
    assert m.bytes_written == 2355200
    # fio 3.33 does not time the fdatasync after the very last write
    assert m.stats.count in (1023, 1024)
    assert m.stopped_because == "size"
    assert m.stats.p99_ci[0] <= m.stats.p99 <= m.stats.p99_ci[1]
    assert _leftovers(tmp_path) == []


def test_fio_percentile_list_within_fio_limit():
    plist = fio_percentile_list(10029)
    assert len(plist) <= 20 and {50.0, 90.0, 99.0, 99.9} <= set(plist)


# --- refusing bad targets ----------------------------------------------------------

def test_refuses_missing_and_non_directory(tmp_path):
    with pytest.raises(RcarkitError) as e:
        measure_path(tmp_path / "missing")
    assert "no such directory" in str(e.value)
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(RcarkitError) as e:
        measure_path(f)
    assert "not a directory" in str(e.value) and str(f) in str(e.value)


def test_refuses_bad_arguments(tmp_path):
    with pytest.raises(RcarkitError):
        measure_path(tmp_path, engine="dd")
    with pytest.raises(RcarkitError):
        measure_path(tmp_path, block_size=4096, max_bytes=100)
    with pytest.raises(RcarkitError):
        measure_path(tmp_path, max_time=0)


@pytest.fixture
def small_tmpfs(tmp_path):
    if not IS_ROOT:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)],
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        pytest.skip("cannot mount tmpfs: %s" % r.stderr.decode().strip())
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)])


def test_refuses_read_only_filesystem(small_tmpfs):
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    with pytest.raises(RcarkitError) as e:
        measure_path(small_tmpfs, max_bytes=100000)
    assert "read-only" in str(e.value)


def test_no_room_for_etcd_is_reported_without_writing(small_tmpfs):
    # etcd needs two preallocated 64 MB WAL segments (wal.go SegmentSizeBytes,
    # file_pipeline.go) before it can start: a 4 MiB filesystem is not
    # measured at all, and nothing is written there.
    m = measure_path(small_tmpfs)
    assert m.stopped_because == "no-space" and m.stats.count == 0
    assert m.free_bytes <= 4 * 1024 * 1024 < ETCD_MIN_FREE_BYTES
    assert os.listdir(small_tmpfs) == []


@pytest.mark.skipif(not IS_ROOT, reason="needs root to run a check as another user")
def test_refuses_unwritable_directory_for_unprivileged_user():
    import tempfile

    base = tempfile.mkdtemp(prefix="rcarkit-test-", dir="/var/tmp")
    os.chmod(base, 0o755)
    target = os.path.join(base, "etcd")
    os.mkdir(target, 0o755)
    try:
        _check_as_nobody(target)
    finally:
        shutil.rmtree(base)


def _check_as_nobody(target):
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    code = ("from rcarkit.etcd.bench import check_target\n"
            "from rcarkit.errors import RcarkitError\n"
            "try:\n    check_target(%r, 1000)\nexcept RcarkitError as e:\n    print(e)\n"
            % str(target))
    r = subprocess.run([py, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                       user=65534, timeout=60)
    if r.returncode != 0:
        pytest.skip("cannot run python as nobody: %s" % r.stderr.decode()[-200:])
    assert "not writable" in r.stdout.decode()


# --- cleanup on errors and interruptions ----------------------------------------------

def test_cleanup_on_io_error(tmp_path, monkeypatch):
    real = os.fdatasync
    calls = {"n": 0}

    def failing(fd):
        calls["n"] += 1
        if calls["n"] > 20:
            raise OSError(5, "Input/output error")
        return real(fd)

    monkeypatch.setattr(os, "fdatasync", failing)
    with pytest.raises(RcarkitError) as e:
        measure_path(tmp_path, max_bytes=2300 * 100, adaptive=False)
    assert "Input/output error" in str(e.value)
    assert _leftovers(tmp_path) == []


def test_cleanup_on_keyboard_interrupt(tmp_path):
    def progress(frac, text):
        raise KeyboardInterrupt

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        measure_path(tmp_path, max_bytes=2 * 1024 * 1024, adaptive=False, progress=progress)
    assert _leftovers(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is before


def test_sigterm_handler_restored_after_run(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    measure_path(tmp_path, max_bytes=2300 * 10, adaptive=False)
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.signals
@pytest.mark.parametrize("engine,signum", [
    ("rcarkit", signal.SIGTERM), ("fio", signal.SIGTERM),
    # SIGHUP: the serial console or ssh session went away mid-run; the temp
    # dir holds a preallocated WAL segment (up to 64 MB on the eMMC)
    ("rcarkit", signal.SIGHUP)])
def test_cleanup_on_real_stop_signal(tmp_path, engine, signum):
    if engine == "fio" and shutil.which("fio") is None:
        pytest.skip("fio not installed (apt install fio)")
    script = textwrap.dedent("""
        import sys
        from rcarkit.etcd.bench import measure_path
        def progress(frac, text):
            print("running", flush=True)
        measure_path(sys.argv[1], max_bytes=20 * 1024 * 1024, max_time=60,
                     adaptive=False, progress=progress, engine=sys.argv[2])
        print("finished", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path), engine],
                            cwd=str(REPO),
                            stdout=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=str(REPO)),
                            preexec_fn=default_stop_signals)
    try:
        line = proc.stdout.readline().decode()
        assert line.strip() == "running"
        assert len(_leftovers(tmp_path)) == 1  # the run is under way
        proc.send_signal(signum)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 128 + signum
    assert "finished" not in proc.stdout.read().decode()
    assert _leftovers(tmp_path) == []
    if engine == "fio":  # no fio left behind writing into the removed directory
        ps = subprocess.run(["pgrep", "-f", "--", "--directory=%s/" % tmp_path],
                            stdout=subprocess.PIPE)
        assert ps.stdout.decode().strip() == ""


def test_error_in_own_session_keeps_its_hint():
    """A RcarkitError raised in the forked writer reaches the user whole
    (message, path, hint), not as "the benchmark failed: ..."."""
    from rcarkit.etcd.bench import run_in_own_session

    def work(progress):
        raise RcarkitError("no room", path="/x", hint="free 64 MiB")

    with pytest.raises(RcarkitError) as err:
        run_in_own_session(work)
    assert str(err.value) == "/x: no room (free 64 MiB)"
    assert err.value.hint == "free 64 MiB"

    def crash(progress):
        raise ValueError("boom")

    with pytest.raises(RcarkitError, match="the benchmark failed: ValueError: boom"):
        run_in_own_session(crash)
