"""What a signal leaves behind (issue 10 item 6): real signals sent to real
``rcarkit`` child processes at the moment a temporary file exists.

* SIGTERM/SIGHUP while ``yocto-layer`` or ``check-node --emit`` writes a
  ``.NAME.XXXXXXXX`` temporary file: the child's ``os.fsync`` is slowed down
  (wrapped with a sleep, nothing else changed) so the signal lands while the
  file exists; afterwards no temporary file is left and the exit is 128+N.
* SIGTERM/SIGHUP while verify-fragment's Kconfig parse runs a compiler: a
  ``gcc`` wrapper first on PATH makes its temporary ``cc*.s`` file (as gcc
  does, in ``$TMPDIR``) and waits; afterwards ``$TMPDIR`` is empty.
* SIGKILL of etcd-bench: its ``rcarkit-etcd-bench-PID-*`` directory stays
  (nothing can run on SIGKILL); the next run removes it and says so.
* ``--engine fio``: fio dies with its parent on SIGKILL and on SIGTERM.
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, default_stop_signals

pytestmark = pytest.mark.signals

CFG = "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"
SIGNALS = [signal.SIGTERM, signal.SIGHUP]

# rcarkit's real entry point with os.fsync taking 0.5 s longer: the window in
# which the temporary file exists becomes wide enough to hit every time
_SLOW_FSYNC = r"""
import os, sys, time
_real = os.fsync
def _slow(fd):
    time.sleep(0.5)
    return _real(fd)
os.fsync = _slow
sys.argv[0] = 'rcarkit'
from rcarkit.cli.app import main
main()
"""


def _spawn(args, code=None, env=None, cwd=None):
    argv = [sys.executable, "-c", code] if code else [sys.executable, "-m", "rcarkit"]
    return subprocess.Popen(argv + [str(a) for a in args], cwd=str(cwd or REPO),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=dict(os.environ, **(env or {})),
                            preexec_fn=default_stop_signals)


def _wait_for(predicate, proc, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = predicate()
        if found:
            return found
        if proc.poll() is not None:
            pytest.fail("the child ended before the moment came: %r"
                        % proc.stderr.read().decode()[-500:])
        time.sleep(0.01)
    proc.kill()
    pytest.fail("the moment never came")


def _temps(directory):
    """Our atomic-write temporary files: ``.NAME.XXXXXXXX`` (8 hex digits)."""
    import re
    out = []
    for dirpath, _, files in os.walk(str(directory)):
        out += [os.path.join(dirpath, f) for f in files
                if re.fullmatch(r"\..+\.[0-9a-f]{8}", f)]
    return out


def _stop_during_write(proc, out, signum):
    _wait_for(lambda: _temps(out), proc)
    proc.send_signal(signum)
    err = proc.communicate(timeout=60)[1].decode()
    assert "Traceback" not in err, err
    assert proc.returncode == 128 + signum, (proc.returncode, err)
    assert _temps(out) == []


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_signal_during_yocto_layer_leaves_no_temp_file(tmp_path, configs_dir, signum):
    out = tmp_path / "meta-k8s"
    proc = _spawn(["yocto-layer", configs_dir / CFG, "-o", out], code=_SLOW_FSYNC)
    _stop_during_write(proc, out, signum)


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_signal_during_check_node_emit_leaves_no_temp_file(tmp_path, signum):
    root = tmp_path / "root"
    (root / "proc/sys/kernel").mkdir(parents=True)
    (root / "proc/sys/kernel/osrelease").write_text("6.1.0\n")
    out = tmp_path / "fixes"
    proc = _spawn(["check-node", "--root", root, "--emit", out], code=_SLOW_FSYNC)
    _stop_during_write(proc, out, signum)


# -- verify-fragment's scratch directory ----------------------------------------

_FAKE_GCC = """#!/bin/sh
# gcc as Kconfig's $(cc-option) meets it: a compile (-c) makes a temporary
# file in $TMPDIR first (gcc's cc*.s) and, here, takes its time (until the
# file is gone, at most 30 s)
case " $* " in
*" -c "*) t=$(mktemp "${TMPDIR:-/tmp}/ccXXXXXX.s"); trap 'rm -f "$t"' EXIT
          for i in $(seq 300); do [ -e "$t" ] || break; sleep 0.1; done ;;
*) exec %s "$@" ;;
esac
"""


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_signal_during_verify_fragment_leaves_tmpdir_empty(tmp_path, configs_dir,
                                                           kernel_tree_61, signum):
    real = shutil.which("gcc")
    if real is None:
        pytest.skip("gcc is needed: apt-get install gcc")
    from rcarkit.kernel.tree import CROSS_PREFIX
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in {"gcc"} | {p + "gcc" for p in CROSS_PREFIX.values() if p}:
        (bindir / name).write_text(_FAKE_GCC % (shutil.which(name) or real))
        (bindir / name).chmod(0o755)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    frag = tmp_path / "frag.cfg"
    frag.write_text("CONFIG_OVERLAY_FS=y\n")
    proc = _spawn(["verify-fragment", frag, "--kernel-src", kernel_tree_61, "--arch", "x86",
                   "--base", configs_dir / CFG],
                  env={"TMPDIR": str(tmpdir),
                       "PATH": "%s:%s" % (bindir, os.environ.get("PATH", ""))})

    def compiling():
        return [os.path.join(d, f) for d, _, files in os.walk(str(tmpdir)) for f in files
                if f.startswith("cc") and f.endswith(".s")]
    _wait_for(compiling, proc, timeout=120)
    proc.send_signal(signum)
    err = proc.communicate(timeout=60)[1].decode()
    assert "Traceback" not in err, err
    assert proc.returncode == 128 + signum, (proc.returncode, err)
    assert os.listdir(str(tmpdir)) == []


# -- etcd-bench: SIGKILL, stale directories, fio ----------------------------------

def _bench_dirs(data):
    return sorted(p for p in os.listdir(str(data)) if p.startswith("rcarkit-etcd-bench-"))


def _pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_sigkill_leaves_a_dir_the_next_run_removes(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    proc = _spawn(["etcd-bench", data, "--max-time", "60", "--min-time", "60",
                   "--format", "json"])
    names = _wait_for(lambda: _bench_dirs(data), proc)
    assert names == ["rcarkit-etcd-bench-%d-%s" % (proc.pid, names[0].rsplit("-", 1)[1])]
    proc.kill()
    proc.communicate(timeout=30)
    assert _bench_dirs(data) == names           # SIGKILL: nothing could clean up
    live = data / ("rcarkit-etcd-bench-%d-keepme" % os.getpid())
    live.mkdir()                                # a live process's directory stays
    nxt = subprocess.run([sys.executable, "-m", "rcarkit", "etcd-bench", str(data),
                          "--max-time", "1", "--format", "json"], cwd=str(REPO),
                         capture_output=True, text=True, timeout=120)
    assert nxt.returncode in (0, 1), nxt.stderr
    assert _bench_dirs(data) == [live.name]
    assert "removed %s" % (data / names[0]) in nxt.stderr
    assert "process %d" % proc.pid in nxt.stderr


def _fio_child(parent):
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/comm" % entry) as fh:
                comm = fh.read().strip()
        except OSError:
            continue
        if int(fields[1]) == parent and comm.startswith("fio"):
            return int(entry)
    return None


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM],
                         ids=lambda s: signal.Signals(s).name)
def test_fio_dies_with_its_parent(tmp_path, signum):
    if shutil.which("fio") is None:
        pytest.skip("fio is needed: apt-get install fio")
    data = tmp_path / "data"
    data.mkdir()
    proc = _spawn(["etcd-bench", data, "--engine", "fio", "--full", "--max-time", "120",
                   "--format", "json"])
    fio = _wait_for(lambda: _fio_child(proc.pid), proc)
    proc.send_signal(signum)
    proc.communicate(timeout=60)
    end = time.monotonic() + 15
    while _pid_alive(fio) and time.monotonic() < end:
        time.sleep(0.05)
    alive = _pid_alive(fio)
    if alive:
        os.kill(fio, signal.SIGKILL)
    assert not alive, "fio %d outlived its parent (%s)" % (fio, signal.Signals(signum).name)
    if signum != signal.SIGKILL:
        assert _bench_dirs(data) == []
