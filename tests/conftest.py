"""Shared fixtures: the real configs in ../shared and an unpacked kernel tree.

* ``shared_dir`` / ``configs_dir`` / ``fio_dir``: the read-only fixtures beside
  the repository (``../shared``); tests read them in place.
* ``kernel_tree_61`` / ``kernel_tree_612``: Debian's ``linux-source-6.1`` /
  ``linux-source-6.12`` unpacked once into a cache directory
  (``RCARKIT_TEST_CACHE``, default ``/var/tmp/rcarkit-cache``) and shared by
  every test and every run; skipped with the install command when the package
  is missing.
* ``default_stop_signals`` (a ``preexec_fn``) and the ``ctrl_c_raises`` fixture:
  a test that sends SIGINT/SIGTERM/SIGHUP sets the disposition it relies on,
  because pytest started from a background job (``nohup ... &``) inherits
  SIGINT and SIGHUP ignored, and so would every child. Such tests carry
  ``@pytest.mark.signals``; tests/test_signal_dispositions.py runs them all
  under those inherited dispositions.
"""

import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# pytest removes old numbered temp dirs with shutil.rmtree, which recurses once
# per level: a tree left by an interrupted run of the 1,500-level test in
# tests/test_hostile_node_input.py must not turn the next session's cleanup into
# a RecursionError (it did in CI).
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CONFIGS = SHARED / "configs"
LINUX_SOURCE_TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")
CACHE = Path(os.environ.get("RCARKIT_TEST_CACHE", "/var/tmp/rcarkit-cache"))
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")

# Every real config in ../shared/configs with the version its header states
# (read from SOURCES.md and the files themselves; the defconfig has no header).
SHARED_CONFIGS = {
    "rcar-gen3_bsp-v2.9.0_linux-4.4.0.config": "4.4.0",
    "rcar-gen3_bsp-v2.23.1_linux-4.9.0.config": "4.9.0",
    "rcar-gen3_bsp-v3.9.0.1_linux-4.14.35.config": "4.14.35",
    "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config": "4.14.75",
    "debian10_aarch64_4.19.249_khc.config": "4.19.249",
    "upstream-arm64-defconfig-expanded_4.20.0_khc.config": "4.20.0",
    "ubuntu20.04_aarch64_5.4.0-26_khc.config": "5.4.0-26-generic",
    "android15-gki_aarch64_6.6.102_khc.config": "6.6.102",
    "rpi-bcm2711_defconfig_fed50901.expanded-on-debian-6.12.117.config": "6.12.117",
    "upstream-arm_shmobile_defconfig_6.12.117.expanded.config": "6.12.117",
    "upstream-arm64-defconfig-expanded_6.17.3_khc.config": "6.17.3",
    "host_proc-config_6.18.44-fc-v595_x86_64.config.gz": "6.18.44",
}
SHARED_DEFCONFIGS = ["rpi-bcm2711_defconfig_fed50901.defconfig"]


def pytest_configure(config):
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def shared_dir():
    if not SHARED.is_dir():
        pytest.skip("../shared (the real fixtures) is not beside the repository")
    return SHARED


@pytest.fixture(scope="session")
def configs_dir(shared_dir):
    return shared_dir / "configs"


@pytest.fixture(scope="session")
def fio_dir(shared_dir):
    return shared_dir / "fio"


def unpack_kernel_tree(version="6.1"):
    """Unpack linux-source-VERSION once (under a lock); return its path or None."""
    tree = CACHE / ("linux-source-%s" % version)
    tarball = Path("/usr/src/linux-source-%s.tar.xz" % version)
    if (tree / "Makefile").is_file() and (tree / ".rcarkit-complete").exists():
        return tree
    if not tarball.is_file():
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (tree / ".rcarkit-complete").exists():
            return tree
        if tree.exists():
            shutil.rmtree(tree)
        subprocess.run(["tar", "-xf", str(tarball), "-C", str(CACHE)], check=True)
        (tree / ".rcarkit-complete").write_text("unpacked from %s\n" % tarball)
    return tree


@pytest.fixture(scope="session")
def kernel_tree_61():
    tree = unpack_kernel_tree()
    if tree is None:
        pytest.skip("Debian's linux-source-6.1 is not installed: apt-get install linux-source-6.1")
    return tree


@pytest.fixture(scope="session")
def kernel_tree_612():
    """Debian's linux-source-6.12 (the kernel the shared RPi defconfig was expanded on)."""
    tree = unpack_kernel_tree("6.12")
    if tree is None:
        pytest.skip("Debian's linux-source-6.12 is not installed: apt-get install linux-source-6.12")
    return tree


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def default_stop_signals():
    """``preexec_fn`` for a child the test stops with a signal: SIGINT, SIGTERM
    and SIGHUP back to their defaults (a Python child then turns SIGINT into
    KeyboardInterrupt), whatever pytest itself inherited."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)


@pytest.fixture
def ctrl_c_raises():
    """SIGINT raises KeyboardInterrupt in this process for the test (Python only
    installs that handler when it starts with SIGINT not ignored)."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def run_check_config_sh(script, config, tmp_path, uname_release=None):
    """Run a moby-style check-config.sh on ``config``; its stdout without colour.

    The script takes the kernel version from ``uname -r``, not from the config:
    with ``uname_release`` a ``uname`` shim on PATH reports that version instead.
    """
    env = dict(os.environ, NO_COLOR="1")
    if uname_release is not None:
        shim = tmp_path / "bin"
        shim.mkdir(exist_ok=True)
        fake = shim / "uname"
        fake.write_text('#!/bin/sh\nif [ "$1" = "-r" ]; then echo %s; else exec /bin/uname "$@"; fi\n'
                        % uname_release)
        fake.chmod(0o755)
        env["PATH"] = "%s:%s" % (shim, env["PATH"])
    proc = subprocess.run(["bash", str(script), str(config)], capture_output=True, text=True,
                          env=env, timeout=300)
    return ANSI_ESCAPE.sub("", proc.stdout)

