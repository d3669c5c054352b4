"""Shell completion is typer's own: the script it installs, and what one TAB
answers (typer's protocol: _RCARKIT_COMPLETE, COMP_WORDS, COMP_CWORD), run as
bash would run it."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO


def _tab(words, cword):
    env = dict(os.environ, PYTHONPATH=str(REPO), _RCARKIT_COMPLETE="complete_bash",
               COMP_WORDS=words, COMP_CWORD=str(cword))
    proc = subprocess.run([sys.executable, "-m", "rcarkit"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_commands_options_and_values_complete():
    assert _tab("rcarkit che", 1) == ["check-kernel", "check-node"]
    assert "--proxy-mode" in _tab("rcarkit check-kernel --pro", 2)
    assert _tab("rcarkit check-kernel --format j", 3) == ["json"]
    # values come from the option sets in kconfig_profiles/
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    names = []
    for path in (REPO / "kconfig_profiles").glob("*.toml"):
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        if "kind" in data:                  # a profile, not the symbol history or sources
            names.append(data["name"])
    names.sort()
    assert _tab("rcarkit check-kernel --profile ", 3) == names
    assert "calico" in _tab("rcarkit check-kernel --cni c", 3)
    assert "ipvs" in _tab("rcarkit check-kernel --proxy-mode i", 3)


def _show_completion(command, env):
    """`COMMAND --show-completion` as a user types it in bash: typer ignores the
    shell name and detects the shell among the process's ancestors (shellingham),
    so the child must have a bash parent; `; exit` keeps bash from exec'ing it.
    (Run from a job without a shell ancestor, the script would be empty.)"""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not installed")
    return subprocess.run([bash, "--norc", "-c", command + " --show-completion; exit $?"],
                          capture_output=True, text=True, env=env, timeout=60).stdout


def test_help_offers_install_and_the_script_calls_rcarkit():
    proc = subprocess.run([sys.executable, "-m", "rcarkit", "--help"], capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert "--install-completion" in proc.stdout and "--show-completion" in proc.stdout
    script = _show_completion('"%s" -m rcarkit' % sys.executable,
                              dict(os.environ, PYTHONPATH=str(REPO)))
    assert "_RCARKIT_COMPLETE=complete_bash" in script and "complete " in script


def test_bash_runs_the_completion_script(tmp_path):
    """The generated bash function, sourced in a real bash, fills COMPREPLY."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not installed")
    shim = tmp_path / "rcarkit"
    shim.write_text("#!/bin/sh\nexec %s -m rcarkit \"$@\"\n" % sys.executable)
    shim.chmod(0o755)
    env = dict(os.environ, PYTHONPATH=str(REPO), PATH="%s:%s" % (tmp_path, os.environ["PATH"]))
    script = _show_completion("rcarkit", env)
    test = script + '\nCOMP_WORDS=(rcarkit check-kernel --runtime c); COMP_CWORD=3\n' \
        '_rcarkit_completion rcarkit\nprintf "%s\\n" "${COMPREPLY[@]}"\n'
    out = subprocess.run([bash, "--norc", "-c", test], capture_output=True, text=True,
                         env=env, timeout=60).stdout.split()
    assert "containerd" in out and "cri-o" in out
