"""``python -m rcarkit`` and the ``rcarkit`` console script.

Ctrl-C before the CLI is even imported (the first 0.1 s) exits 130 with one
line, never a traceback: the handler is installed before the CLI (typer,
click) is imported, then handed back to the CLI's own handling
(KeyboardInterrupt -> cleanup, exit 130); one that lands while the CLI builds
its click command, before that handling, gets the same line and exit.
"""

import _signal   # built in and already set up: `import signal` builds enums (~5 ms),
import sys       # long enough for a Ctrl-C to land in it with a traceback


def _interrupted(signum, frame):
    sys.stderr.write("rcarkit: interrupted\n")
    sys.stderr.flush()
    import os
    os._exit(130)


def run():
    previous = _signal.signal(_signal.SIGINT, _interrupted)
    from rcarkit.cli.app import main
    _signal.signal(_signal.SIGINT, previous)
    try:
        main()
    except KeyboardInterrupt:   # before main() reached its own handling (building
        _interrupted(_signal.SIGINT, None)   # the click command takes ~50 ms)


if __name__ == "__main__":
    run()
