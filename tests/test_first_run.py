"""A new user's first run: the README's set-up commands and install.sh.

The commands themselves run end to end, on a fresh clone with only Debian's
python3 on PATH, in ``tools/readme_first_run.sh`` (called by a full
``bash .ci/run``); these are the cheap checks of what that script relies on.
"""

import importlib.util
import re
import shutil
import subprocess
import sys

from conftest import REPO

_spec = importlib.util.spec_from_file_location("readme_commands",
                                               str(REPO / "tools" / "readme_commands.py"))
readme_commands = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(readme_commands)


def test_readme_has_the_two_set_up_commands_first():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    commands = readme_commands.setup_commands(text)
    assert len(commands) == 2, commands
    install, tests = commands
    assert install.startswith("sh install.sh && ") and "rcarkit check-kernel" in install
    assert tests == "bash .ci/run"
    # the block is the first thing after the title and its lines fit 80 columns
    block = text[text.index("```sh"):text.index("```", text.index("```sh") + 5)]
    assert text.index("```sh") < text.index("\n## ")
    assert max(len(line) for line in block.splitlines()) <= 80


def test_ci_runs_the_readmes_test_command_in_the_venv():
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    lines = [ln for ln in script.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert lines[-1] == 'python3 -m pytest "$@"'
    assert "python3 -m pytest" in (REPO / "README.md").read_text(encoding="utf-8")
    # the venv is active before the test command, so python3 is the venv's
    assert script.index(". .venv/bin/activate") < script.index('python3 -m pytest "$@"')
    for line in lines:
        if line.startswith("apt-get") and " download" not in line:
            assert "-o DPkg::Lock::Timeout=600" in line, line


def test_readme_commands_cli_refuses_a_missing_number():
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "readme_commands.py"), "3"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "readme_commands.py"), "2"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == "bash .ci/run\n"


def test_readme_commands_strips_only_the_trailing_comment():
    text = "# t\n\n```sh\na --x 'b'   # 1. one\n\nbash .ci/run  # 2. two\n```\n```sh\nc\n```\n"
    assert readme_commands.setup_commands(text) == ["a --x 'b'", "bash .ci/run"]


def test_install_sh_without_python_is_one_line_exit_2(tmp_path):
    sh = shutil.which("sh")
    proc = subprocess.run([sh, str(REPO / "install.sh")], capture_output=True, text=True,
                          env={"PATH": str(tmp_path), "RCARKIT_VENV": str(tmp_path / "v")})
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "python3 not found" in proc.stderr
    assert not (tmp_path / "v").exists()


def test_install_sh_refuses_an_old_python(tmp_path):
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\ncase \"$1\" in -V) echo 'Python 3.7.3';; *) exit 1;; esac\n")
    fake.chmod(0o755)
    proc = subprocess.run([shutil.which("sh"), str(REPO / "install.sh")], capture_output=True,
                          text=True, env={"PATH": "%s:/usr/bin:/bin" % tmp_path,
                                          "RCARKIT_VENV": str(tmp_path / "v")})
    assert proc.returncode == 2
    assert re.fullmatch(r"install.sh: error: rcarkit needs Python 3.9 or later; "
                        r"python3 is Python 3.7.3\n", proc.stderr), proc.stderr
    assert not (tmp_path / "v").exists()


def test_venv_is_ignored_by_git():
    assert ".venv/" in (REPO / ".gitignore").read_text().splitlines()
    if shutil.which("git") and (REPO / ".git").exists():
        proc = subprocess.run(["git", "check-ignore", "-q", ".venv/bin/python"], cwd=str(REPO))
        assert proc.returncode == 0
