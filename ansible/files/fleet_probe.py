#!/usr/bin/env python3
"""rcarkit fleet probe: TCP connect round trips from this board to its peers.

    fleet_probe.py [--samples N] [--timeout S] NAME=HOST:PORT ...

Prints one JSON document on stdout: ``{"rtt": [{"peer", "address",
"samples_ms", "failures"}, ...]}``. Standard library only (it runs on the
board before rcarkit is there); a TCP connect (SYN, SYN-ACK) is one round
trip, the same measure as ``rcarkit etcd-bench --peer``.
"""

import json
import socket
import sys
import time


def connect_ms(host, port, timeout):
    start = time.perf_counter()
    with socket.create_connection((host, port), timeout=timeout):
        return (time.perf_counter() - start) * 1000.0


def main(argv):
    samples, timeout, targets = 20, 2.0, []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--samples":
            samples = int(args.pop(0))
        elif arg == "--timeout":
            timeout = float(args.pop(0))
        else:
            name, _, address = arg.partition("=")
            host, _, port = address.rpartition(":")
            targets.append((name, host.strip("[]"), int(port)))
    out = []
    for name, host, port in targets:
        got, failures = [], 0
        for _ in range(samples):
            try:
                got.append(round(connect_ms(host, port, timeout), 4))
            except OSError:
                failures += 1
                if failures >= 3 and not got:
                    break
        out.append({"peer": name, "address": "%s:%d" % (host, port), "samples_ms": got,
                    "failures": failures})
    json.dump({"rtt": out}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
