"""check-kernel NOT READY: the verdict counts options (not rows), and the output
ends with the exact commands that write the fix, quoted so they run as printed.

The commands are read back from the output the way a shell reads them
(backslash-newlines joined, shlex.split) and run; what they write is held to
check-kernel's own JSON rows, counted here independently."""

import json
import os
import shlex
import shutil
import subprocess
import sys

from conftest import CONFIGS, REPO
from rcarkit.cli.common import shell_command
from rcarkit.report import Finding, Group, Report

RCAR_414 = "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"


def _run(args, cwd, program=None):
    program = program or [sys.executable, "-m", "rcarkit"]
    return subprocess.run(program + args, cwd=str(cwd), capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONPATH=str(REPO)))


def _commands_after_verdict(stdout):
    """The shell commands printed after the VERDICT line, parsed like a shell."""
    tail = stdout.split("\nVERDICT: ", 1)[1].split("\n", 1)[1]
    joined = tail.replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines()
            if line.startswith("  ") and line.strip()]


def test_the_same_option_in_several_profiles_counts_once():
    groups = [Group(g, g, [Finding(g, "VXLAN", "y/m", None, "missing", True, "r"),
                           Finding(g, "NF_NAT", "y", "m", "wrong-value", True, "r"),
                           Finding(g, "IP_SET", "y/m", None, "missing", False, "r")])
              for g in ("core", "flannel", "calico")]
    verdict = Report("check-kernel", {}, groups).verdict()
    assert verdict.startswith("NOT READY: 1 required missing, 1 wrong value "), verdict
    assert verdict.endswith("; 1 optional"), verdict


def test_verdict_counts_distinct_options_on_a_real_config(shared_dir, tmp_path):
    proc = _run(["check-kernel", str(CONFIGS / RCAR_414), "--format", "json"], tmp_path)
    doc = json.loads(proc.stdout)
    rows = [o for o in doc["options"] if o["required"] and o["status"] == "missing"]
    names = {o["option"] for o in rows}
    assert len(rows) > len(names)          # the case this fixes: 13 rows, 10 options
    assert doc["verdict"].startswith("NOT READY: %d required missing" % len(names))


def test_not_ready_ends_with_commands_that_write_the_fix(shared_dir, tmp_path):
    # a path a shell would split or expand, to show the quoting
    config = tmp_path / "board $(x) it's.config"
    shutil.copy(str(CONFIGS / RCAR_414), str(config))
    args = ["check-kernel", str(config), "--proxy-mode", "ipvs", "--cni", "calico"]
    proc = _run(args, tmp_path)
    assert proc.returncode == 1, proc.stderr
    fragment_cmd, layer_cmd = _commands_after_verdict(proc.stdout)
    program = [sys.executable, "-m", "rcarkit"]
    # run as `python -m rcarkit`: the printed program is that interpreter
    assert fragment_cmd[:3] in (program, ["python3", "-m", "rcarkit"])
    assert fragment_cmd[3] == "check-kernel" and fragment_cmd[4] == str(config)
    assert fragment_cmd[5:] == ["--cni", "calico", "--proxy-mode", "ipvs",
                                "--emit-fragment", "k8s.cfg"]
    assert layer_cmd[3:] == ["yocto-layer", str(config), "--cni", "calico",
                             "--proxy-mode", "ipvs"]
    assert proc.stdout.rstrip("\n").splitlines()[-1].startswith("      --cni")  # ends with it
    # 80 columns, but for a lone word longer than that (the path, quoted)
    assert all(len(line) <= 80 or len(shlex.split(line.rstrip(" \\"))) == 1
               for line in proc.stdout.splitlines())

    # run them as printed: the fragment sets every failing option's symbol
    ran = _run(fragment_cmd[3:], tmp_path, program)
    assert ran.returncode == 1, ran.stderr
    doc = json.loads(_run(args + ["--format", "json"], tmp_path).stdout)
    failing = {o["option"]: o["symbols"] for o in doc["options"]
               if o["status"] in ("missing", "wrong-value") and o["required"]}
    fragment = (tmp_path / "k8s.cfg").read_text()
    for option, symbols in failing.items():
        assert any("CONFIG_%s=" % s in fragment for s in symbols), option
    ran = _run(layer_cmd[3:], tmp_path, program)
    assert ran.returncode in (0, 1), ran.stderr
    # one append per Renesas BSP collection, each under dynamic-layers/ (issue 11)
    layer = tmp_path / "yocto_layer" / "meta-rcarkit-k8s"
    appends = sorted(p.relative_to(layer).parts[1]
                     for p in layer.glob("dynamic-layers/*/recipes-kernel/linux/"
                                         "linux-renesas_%.bbappend"))
    assert "rcar-gen3" in appends, appends


def test_ready_and_json_and_emit_print_no_next_step(shared_dir, tmp_path):
    config = str(CONFIGS / RCAR_414)
    doc = _run(["check-kernel", config, "--format", "json"], tmp_path)
    json.loads(doc.stdout)                          # nothing after the JSON
    emitted = _run(["check-kernel", config, "--emit-fragment", "x.cfg"], tmp_path)
    assert emitted.returncode == 1 and "Next:" not in emitted.stdout
    ready = _run(["check-kernel", config, "--profile", "containerd"], tmp_path)
    if ready.returncode == 0:
        assert ready.stdout.rstrip("\n").splitlines()[-1].startswith("VERDICT: READY")


def test_shell_command_wraps_between_units_and_pastes_back():
    units = ["rcarkit", "check-kernel", "/a/very/long/path/" + "x" * 50 + ".config",
             ["--cni", "calico"], ["--proxy-mode", "ipvs"], ["--profiles-dir", "my dir"]]
    lines = shell_command(units, width=60)
    assert all(len(line) <= 60 or " " not in line.strip(" \\") for line in lines)
    assert any("--cni calico" in line for line in lines)  # an option stays with its value
    flat = [w for u in units for w in ([u] if isinstance(u, str) else u)]
    assert shlex.split("\n".join(lines).replace("\\\n", " ")) == flat
