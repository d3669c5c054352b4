"""Helpers for the hostile-input tests (issue 10): run the real CLI in a child
and measure its peak memory through the child's own /proc/self/status VmHWM."""

import os
import subprocess
import sys

from conftest import REPO

#: Peak resident memory every run must stay under (issue 10, "Done when").
RSS_LIMIT_KB = 200 * 1024

# The child runs rcarkit's real entry point and, on every exit path that
# reaches the interpreter's shutdown (sys.exit, an exception), writes its
# VmHWM to the file named in RCARKIT_TEST_VMHWM. An OOM kill writes nothing,
# and the test then fails on the missing figure.
_CHILD = r"""
import atexit, os, sys
def _hwm():
    with open('/proc/self/status') as fh:
        for line in fh:
            if line.startswith('VmHWM:'):
                with open(os.environ['RCARKIT_TEST_VMHWM'], 'w') as out:
                    out.write(line.split()[1])
atexit.register(_hwm)
sys.argv[0] = 'rcarkit'
from rcarkit.cli.app import main
main()
"""


class Measured:
    def __init__(self, proc, hwm_kb):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.hwm_kb = hwm_kb


def run_measured(tmp_path, *args, stdin=None, timeout=120, env=None):
    """Run ``rcarkit ARGS`` in a child; return its exit code, output and VmHWM (KiB)."""
    hwm_file = os.path.join(str(tmp_path), ".vmhwm")
    if os.path.exists(hwm_file):
        os.unlink(hwm_file)
    child_env = dict(os.environ, RCARKIT_TEST_VMHWM=hwm_file, **(env or {}))
    proc = subprocess.run([sys.executable, "-c", _CHILD] + [str(a) for a in args],
                          cwd=str(REPO), capture_output=True, text=True, timeout=timeout,
                          stdin=stdin if stdin is not None else subprocess.DEVNULL,
                          env=child_env)
    hwm = None
    if os.path.exists(hwm_file):
        with open(hwm_file) as fh:
            hwm = int(fh.read().strip())
    return Measured(proc, hwm)


def assert_one_line_error(result, code=2):
    """Exit ``code``, exactly one ``rcarkit: error:`` line on stderr, no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rcarkit: error: "), result.stderr
