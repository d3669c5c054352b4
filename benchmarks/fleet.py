#!/usr/bin/env python3
"""Benchmark: ansible/fleet.yml on up to 50 simulated boards, time against forks.

Every board is a fixture root served by its own ``sshd`` on 127.0.0.1
(tests/fleet_fixtures.py: openssh-server, a generated host and client key),
so each task really goes over SSH; three boards form the control-plane group
(round trips measured among them). For each (boards, forks) pair the whole
playbook runs and its wall time is printed, with the time per board and the
ratio to the run with the fewest boards at the same forks:

    python3 benchmarks/fleet.py [--boards 10,50] [--forks 5,10,25,50]

The expectation from Ansible's model (the linear strategy runs each task on
``forks`` hosts at a time): time ~ tasks x ceil(boards / forks) x task time,
so at fixed forks the time grows with boards, and more forks shorten it until
the controller's CPUs are the limit (every fork is a Python process on the
controller; here the boards run on the same 2 cores too). Not run by the
tests: the README records its figures.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

import fleet_fixtures  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", default="10,50")
    parser.add_argument("--forks", default="5,10,25,50")
    parser.add_argument("--cache", default=os.environ.get("RCARKIT_TEST_CACHE",
                                                          "/var/tmp/rcarkit-cache"))
    args = parser.parse_args(argv)
    boards = sorted(int(x) for x in args.boards.split(","))
    forks = [int(x) for x in args.forks.split(",")]
    base = Path(tempfile.mkdtemp(prefix="rcarkit-fleet-bench-"))
    try:
        roots = fleet_fixtures.make_roots(base / "roots", max(boards), dup_uuid=(1, 2),
                                          drop_option=(3, "VXLAN"))
        house = fleet_fixtures.build_wheelhouse(args.cache)
        fleet = fleet_fixtures.SshFleet(base / "ssh", roots).start()
        results = {}
        try:
            for n in boards:
                sub = fleet_fixtures.SshFleet(base / "ssh", roots[:n])
                sub.ports, sub.key = fleet.ports[:n], fleet.key
                inventory = sub.inventory(base / ("inventory-%d.ini" % n))
                for f in forks:
                    out = base / ("run-%d-%d" % (n, f)) / "collected"
                    out.parent.mkdir(parents=True)
                    board_cpu = fleet.board_cpu_seconds()
                    proc, seconds = fleet_fixtures.run_playbook(inventory, out, house, forks=f,
                                                                timeout=3600, control_persist=2)
                    time.sleep(4)   # the ssh masters close; sshd reaps the sessions
                    board_cpu = fleet.board_cpu_seconds() - board_cpu
                    ok = proc.returncode == 0 and len(list(out.iterdir())) == n
                    results[(n, f)] = seconds
                    print("boards %3d  forks %3d  %7.1f s  %5.2f s/board  CPU/board: controller "
                          "%.2f s, board %.2f s%s" % (n, f, seconds, seconds / n, proc.cpu / n,
                                                      board_cpu / n, "" if ok else "  FAILED"),
                          flush=True)
                    if not ok:
                        print(proc.stdout[-2000:], proc.stderr[-2000:])
        finally:
            fleet.stop()
        print()
        print("load average while measuring: %.1f %.1f %.1f (%d CPUs)"
              % (os.getloadavg() + (os.cpu_count(),)))
        print("time at each forks relative to the %d-board run (boards ratio %.1f):"
              % (boards[0], boards[-1] / float(boards[0])))
        for f in forks:
            ratio = results[(boards[-1], f)] / results[(boards[0], f)]
            print("  forks %3d: %d boards %.1f s, %d boards %.1f s, ratio %.2f"
                  % (f, boards[0], results[(boards[0], f)], boards[-1],
                     results[(boards[-1], f)], ratio))
        n = boards[-1]
        print("%d boards, speed-up of forks against forks %d: %s" % (n, forks[0], ", ".join(
            "%d: %.2fx" % (f, results[(n, forks[0])] / results[(n, f)]) for f in forks)))
    finally:
        shutil.rmtree(str(base), ignore_errors=True)


if __name__ == "__main__":
    main()
