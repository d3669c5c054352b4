#!/usr/bin/env python3
"""Benchmark: `rcarkit check-kernel` (every profile) vs moby's check-config.sh.

Both read the R-Car Gen3 BSP v3.21.0 (Linux 4.14.75) config from ../shared.
Prints the median wall time and peak RSS of each over N runs, measured in the
same run on the same machine, and the ratios. Targets (issue 2): at least 5x
faster than check-config.sh while checking every profile; under 150 ms wall and
under 40 MB peak RSS.

    python3 benchmarks/check_kernel.py [--runs 15] [--config PATH]

check-config.sh comes from Debian's docker.io package (see .ci/run); without it
only rcarkit's figures are printed.

rcarkit runs from bytecode, as an installed package does: the environment may
say PYTHONDONTWRITEBYTECODE (then every run would compile every module from
source), so the runs get a private PYTHONPYCACHEPREFIX in a temporary
directory, filled by the warm-up runs; nothing is written into the checkout.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO.parent / "shared" / "configs" / "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"
CACHE = Path(os.environ.get("RCARKIT_TEST_CACHE", "/var/tmp/rcarkit-cache"))
SCRIPTS = [Path("/usr/share/docker.io/contrib/check-config.sh"),
           CACHE / "docker.io/usr/share/docker.io/contrib/check-config.sh"]


def measure(argv, runs, env=None):
    """Median wall seconds and max peak RSS (MiB) of ``argv`` over ``runs`` runs."""
    walls, rss = [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - start)
        rss.append(usage.ru_maxrss / 1024.0)
        code = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8
        if code not in (0, 1):
            raise SystemExit("%s exited %s" % (" ".join(map(str, argv)), code))
    return statistics.median(walls), max(rss)


def rcarkit_argv(config):
    """The installed console script itself (not a pyenv shim in front of it)."""
    import sysconfig
    exe = Path(sysconfig.get_path("scripts")) / "rcarkit"
    base = [str(exe)] if exe.is_file() else [sys.executable, "-m", "rcarkit"]
    return base + ["check-kernel", "--all-profiles", str(config)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--config", default=str(CONFIG))
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    from rcarkit.kernel.profiles import load_catalog
    catalog = load_catalog()
    n_rules = sum(len(p.options) for p in catalog.profiles.values())

    import tempfile
    pycache = tempfile.mkdtemp(prefix="rcarkit-bench-pyc-")
    env = dict(os.environ, PYTHONPYCACHEPREFIX=pycache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    ours = rcarkit_argv(args.config)
    measure(ours, 2, env)  # warm the page cache and compile the .pyc files
    python_only = [sys.executable, "-c", "pass"]
    py_wall, py_rss = measure(python_only, args.runs, env)
    our_wall, our_rss = measure(ours, args.runs, env)
    print("config: %s" % args.config)
    print("rcarkit check-kernel --all-profiles: %d profiles, %d rules" % (len(catalog.profiles),
                                                                          n_rules))
    print("%-34s %10s %12s" % ("command", "median ms", "peak RSS MiB"))
    print("%-34s %10.1f %12.1f" % ("python3 -c pass (interpreter floor)", py_wall * 1e3, py_rss))
    print("%-34s %10.1f %12.1f" % ("rcarkit check-kernel (all)", our_wall * 1e3, our_rss))
    script = next((p for p in SCRIPTS if p.is_file()), None)
    if script is None:
        print("moby check-config.sh not found (apt-get download docker.io; see .ci/run)")
    else:
        their_wall, their_rss = measure(["bash", str(script), args.config], max(3, args.runs // 3))
        print("%-34s %10.1f %12.1f" % ("moby check-config.sh (docker only)", their_wall * 1e3,
                                        their_rss))
        print("speed-up vs check-config.sh: %.1fx (target >= 5x)" % (their_wall / our_wall))
    print("wall target < 150 ms: %s (%.0f ms, of which %.0f ms is the bare interpreter)"
          % ("met" if our_wall < 0.150 else "NOT met", our_wall * 1e3, py_wall * 1e3))
    print("RSS target < 40 MiB: %s (%.1f MiB)" % ("met" if our_rss < 40 else "NOT met", our_rss))
    import shutil
    shutil.rmtree(pycache, ignore_errors=True)


if __name__ == "__main__":
    main()
