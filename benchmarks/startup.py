#!/usr/bin/env python3
"""Benchmark: how long `rcarkit` takes to start, against the bare interpreter.

Every TAB of shell completion runs rcarkit, and on a board over a serial
console `--help` and `check-kernel` should answer at once. Prints the median
wall time of N runs of each, in the same run on the same machine, and the
ratio to `python3 -c pass` (the interpreter alone):

    python3 benchmarks/startup.py [--runs 21]

* ``--help``                     the top-level help
* ``check-kernel``               /proc/config.gz (or /boot/config-$(uname -r))
* ``complete check-kernel --``   what one TAB runs (typer's completion protocol)
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def median_walls(cases, runs):
    """Median wall seconds of each ``(argv, env)``, the runs interleaved so a
    busy moment of the shared machine hits every case alike."""
    walls = [[] for _ in cases]
    for _ in range(runs):
        for i, (argv, env) in enumerate(cases):
            start = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            walls[i].append(time.perf_counter() - start)
    return [statistics.median(w) for w in walls]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--compare", metavar="TREE",
                        help="another checkout (e.g. `git worktree add /tmp/before HEAD~1`) "
                             "measured alongside, as the 'before' column")
    args = parser.parse_args()
    trees = [("this tree", REPO)] + ([("before", Path(args.compare))] if args.compare else [])
    rcarkit = [sys.executable, "-m", "rcarkit"]
    commands = [("rcarkit --help", ["--help"], {}),
                ("rcarkit check-kernel", ["check-kernel"], {}),
                ("one TAB: complete 'check-kernel --'", [],
                 {"_RCARKIT_COMPLETE": "complete_bash", "COMP_WORDS": "rcarkit check-kernel --",
                  "COMP_CWORD": "2"})]
    cases = [([sys.executable, "-c", "pass"], dict(os.environ))]
    for _, tree in trees:
        for _, argv, extra in commands:
            cases.append((rcarkit + argv, dict(os.environ, PYTHONPATH=str(tree), **extra)))
    walls = median_walls(cases, args.runs)
    ref = walls[0]
    print("python3 -c pass (reference): %.1f ms; medians of %d interleaved runs"
          % (ref * 1000, args.runs))
    print("%-38s" % "command" + "".join("%20s" % name for name, _ in trees))
    for i, (name, _, _) in enumerate(commands):
        cells = []
        for t in range(len(trees)):
            wall = walls[1 + t * len(commands) + i]
            cells.append("%8.1f ms %6.2fx" % (wall * 1000, wall / ref))
        print("%-38s" % name + "".join("%20s" % c for c in cells))


if __name__ == "__main__":
    main()
