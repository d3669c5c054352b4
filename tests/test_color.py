"""Colour: statuses and verdicts on a terminal only. Run through a real pty
(the way a person sees it), never with NO_COLOR, --no-color, TERM=dumb, JSON
or a pipe; and the colour codes never move the columns."""

import json
import os
import pty
import re
import subprocess
import sys

import pytest

from conftest import CONFIGS, REPO

RCAR_414 = "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"
RPI_612 = "rpi-bcm2711_defconfig_fed50901.expanded-on-debian-6.12.117.config"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="80", TERM="xterm")
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


def on_tty(args, **env):
    """stdout of rcarkit on a pseudo-terminal (CRLF turned back into LF)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "rcarkit"] + args, stdout=slave,
                            stderr=subprocess.PIPE, cwd=str(CONFIGS), env=_env(**env))
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:          # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    proc.wait(timeout=120)
    return proc.returncode, b"".join(chunks).decode().replace("\r\n", "\n")


def piped(args, **env):
    proc = subprocess.run([sys.executable, "-m", "rcarkit"] + args, capture_output=True,
                          text=True, cwd=str(CONFIGS), env=_env(**env), timeout=120)
    return proc.returncode, proc.stdout


@pytest.mark.parametrize("args", [["check-kernel", RCAR_414],
                                  ["check-kernel", RCAR_414, RPI_612, "--cni", "calico"]],
                         ids=["one-config", "matrix"])
def test_terminal_gets_colour_that_moves_nothing(shared_dir, args):
    code, tty = on_tty(args)
    piped_code, plain = piped(args)
    assert code == piped_code == 1
    assert "\x1b[" not in plain
    assert ANSI.sub("", tty) == plain
    coloured = [line for line in tty.splitlines() if "\x1b[" in line]
    assert any("\x1b[1;31mMISSING\x1b[0m" in line for line in coloured)
    assert any("\x1b[32mok\x1b[0m" in line for line in coloured)
    assert any("\x1b[1;31mNOT READY" in line for line in coloured)          # the verdict
    # only status cells and verdicts: an option name or a reason is never coloured
    for line in coloured:
        for painted in re.findall(r"\x1b\[[0-9;]*m([^\x1b]*)\x1b\[0m", line):
            assert re.match(r"(MISSING|WRONG|missing|wrong|ok|obsolete|n/a-ver|READY|"
                            r"NOT READY)", painted), painted


@pytest.mark.parametrize("how", ["NO_COLOR", "--no-color", "TERM=dumb", "json", "markdown"])
def test_no_colour_when_asked_or_not_a_table(shared_dir, how):
    args, env = ["check-kernel", RCAR_414], {}
    if how == "NO_COLOR":
        env["NO_COLOR"] = "1"
    elif how == "TERM=dumb":
        env["TERM"] = "dumb"
    elif how == "--no-color":
        args.append("--no-color")
    else:
        args += ["--format", how]
    code, out = on_tty(args, **env)
    assert code == 1 and "\x1b[" not in out
    if how == "json":
        assert json.loads(out)["exit_code"] == 1


def test_an_empty_no_color_does_not_disable_colour(shared_dir):
    """no-color.org: NO_COLOR counts when present and not empty."""
    code, out = on_tty(["check-kernel", RCAR_414], NO_COLOR="")
    assert "\x1b[" in out
