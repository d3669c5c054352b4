"""``python -m rcarkit`` and the ``rcarkit`` console script.

Ctrl-C before the CLI is even imported (the first 0.1 s) exits 130 with one
line, never a traceback: the handler is installed before the CLI (typer,
click) is imported, then handed back to the CLI's own handling
(KeyboardInterrupt -> cleanup, exit 130); one that lands while the CLI builds
its click command, before that handling, gets the same line and exit.
"""

import signal
import sys


def _interrupted(signum, frame):
    sys.stderr.write("rcarkit: interrupted\n")
    sys.stderr.flush()
    import os
    os._exit(130)


def run():
    previous = signal.signal(signal.SIGINT, _interrupted)
    from rcarkit.cli.app import main
    signal.signal(signal.SIGINT, previous)
    try:
        main()
    except KeyboardInterrupt:   # before main() reached its own handling (building
        _interrupted(signal.SIGINT, None)   # the click command takes ~50 ms)


if __name__ == "__main__":
    run()
