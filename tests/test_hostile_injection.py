"""Injection into generated files (issue 10 item 7): every shell word is
``shlex.quote``-d, every name is validated with ``fullmatch``/``\\Z``, and a
control character never lands in a file.

The oracle for quoting is ``/bin/sh`` itself: the generated command line is
run through ``sh -c`` (with ``rcarkit`` defined as a shell function that
records its arguments) and no ``PWNED`` file may appear, while the words sh
hands over must be exactly the ones we meant.
"""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO
from hostile import assert_one_line_error, run_measured

CFG = "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"
EVIL = "board$(touch PWNED)`touch PWNED2`;touch PWNED3 'q\".config"


def _readme_command(readme, program="rcarkit yocto-layer"):
    """The regenerate command of a README: its lines joined as sh would."""
    lines = readme.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(program))
    out = []
    for line in lines[start:]:
        out.append(line.strip())
        if not line.rstrip().endswith("\\"):
            break
    return "\n".join(out)


def _run_in_sh(command, cwd):
    record = 'rcarkit() { for a in "$@"; do printf "%s\\n" "$a"; done > args.txt; }\n'
    subprocess.run(["sh", "-c", record + command], cwd=str(cwd), check=True, timeout=30)
    return (cwd / "args.txt").read_text().splitlines()


def _pwned(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("PWNED"))


def test_yocto_readme_regenerate_line_runs_nothing(tmp_path, configs_dir):
    work = tmp_path / "work"
    work.mkdir()
    config = work / EVIL
    shutil.copy(str(configs_dir / CFG), str(config))
    proc = subprocess.run([sys.executable, "-m", "rcarkit", "yocto-layer", EVIL, "-o",
                           "meta-$(touch PWNED4)"], cwd=str(work), capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert proc.returncode == 0, proc.stderr
    layer = work / "meta-$(touch PWNED4)"
    command = _readme_command(layer / "README")
    args = _run_in_sh(command, work)
    assert _pwned(work) == []
    assert args[:2] == ["yocto-layer", EVIL]
    assert args[args.index("-o") + 1] == "meta-$(touch PWNED4)"
    # the add-layer hint names the directory quoted as well
    hint = [line for line in (layer / "README").read_text().splitlines()
            if "bitbake-layers add-layer" in line]
    assert hint and "'meta-$(touch PWNED4)'" in hint[0], hint


def test_newline_in_o_never_reaches_layer_conf(tmp_path, configs_dir):
    out = tmp_path / "meta-k8s\nBBFILE_PRIORITY_x = \"99\""
    result = run_measured(tmp_path, "yocto-layer", configs_dir / CFG, "-o", out)
    assert_one_line_error(result)
    assert "control character" in result.stderr
    assert not out.exists()


def test_newline_in_config_name_is_refused(tmp_path, configs_dir):
    config = tmp_path / "board\nBBFILE_PRIORITY = 99.config"
    shutil.copy(str(configs_dir / CFG), str(config))
    result = run_measured(tmp_path, "yocto-layer", config, "-o", tmp_path / "L")
    assert_one_line_error(result)
    assert not (tmp_path / "L").exists()


def _profiles_copy(tmp_path):
    target = tmp_path / "profiles"
    shutil.copytree(str(REPO / "kconfig_profiles"), str(target))
    return target


def test_option_name_with_trailing_newline_is_refused(tmp_path, configs_dir):
    """``^[A-Z0-9_]+$`` accepted "NAMESPACES\\n": ``$`` matches before a final newline."""
    profiles = _profiles_copy(tmp_path)
    core = profiles / "k8s-core.toml"
    core.write_text(core.read_text().replace('name = "NAMESPACES"', 'name = "NAMESPACES\\n"', 1))
    result = run_measured(tmp_path, "check-kernel", configs_dir / CFG, "--profiles-dir",
                          profiles, "--emit-fragment", tmp_path / "k8s.cfg")
    assert_one_line_error(result)
    assert str(core) in result.stderr
    assert not (tmp_path / "k8s.cfg").exists()


def test_profile_name_with_newline_is_refused(tmp_path, configs_dir):
    profiles = _profiles_copy(tmp_path)
    bad = profiles / "evil\nCONFIG_X=y.toml"
    bad.write_text((profiles / "weave.toml").read_text().replace(
        'name = "weave"', 'name = "evil\\nCONFIG_X=y"', 1))
    result = run_measured(tmp_path, "check-kernel", configs_dir / CFG, "--profiles-dir",
                          profiles)
    assert_one_line_error(result)
    assert "not a profile name" in result.stderr


@pytest.mark.parametrize("field,value", [("needs", '["NET\\nCONFIG_EVIL=y"]'),
                                         ("depends", '"NET\\nCONFIG_EVIL=y"')])
def test_kernel_depends_entries_are_validated(tmp_path, configs_dir, field, value):
    profiles = _profiles_copy(tmp_path)
    depends = profiles / "kernel-depends.toml"
    depends.write_text(depends.read_text() + "\n[EVIL_ENTRY]\ntype = \"bool\"\n%s = %s\n"
                       % (field, value))
    result = run_measured(tmp_path, "check-kernel", configs_dir / CFG, "--profiles-dir",
                          profiles, "--emit-fragment", tmp_path / "k8s.cfg")
    assert_one_line_error(result)
    assert str(depends) in result.stderr
    assert not (tmp_path / "k8s.cfg").exists()


def test_module_path_with_newline_is_refused(tmp_path):
    from rcarkit.errors import RcarkitError
    from rcarkit.node.modules import ModuleMap
    profiles = tmp_path / "p"
    profiles.mkdir()
    (profiles / "kernel-modules.toml").write_text(
        '[symbols]\nOVERLAY_FS = ["fs/overlayfs/overlay.ko\\nevil"]\n')
    with pytest.raises(RcarkitError) as info:
        ModuleMap.load(str(profiles))
    assert "kernel-modules.toml" in str(info.value)


def test_check_node_root_with_newline_writes_no_sysctl(tmp_path):
    root = tmp_path / "r\nkernel.panic = 1"
    (root / "proc/sys/kernel").mkdir(parents=True)
    (root / "proc/sys/kernel/osrelease").write_text("6.1.0\n")
    out = tmp_path / "fixes"
    result = run_measured(tmp_path, "check-node", "--root", root, "--emit", out)
    assert_one_line_error(result)
    assert not (out / "etc/sysctl.d/99-kubernetes.conf").exists()


@pytest.mark.parametrize("render", ["render_restore_script", "render_snapshot_script"])
def test_etcd_scripts_quote_their_directories(tmp_path, render):
    """The tmpfs scripts put the data and snapshot directories into shell
    defaults; a directory that is not one plain word must not run anything."""
    from types import SimpleNamespace
    from rcarkit.etcd import emit
    evil = str(tmp_path / "etcd$(touch PWNED)`touch PWNED2`\"")
    rec = SimpleNamespace(data_dir=evil, snapshot_dir=evil + "-snap")
    script = tmp_path / "script.sh"
    script.write_text(getattr(emit, render)(rec))
    run = tmp_path / "run"
    run.mkdir()
    # stop before etcdctl would run
    text = script.read_text().replace("ETCDCTL_API=3 etcdctl", "exit 0 #")
    script.write_text(text)
    sh = subprocess.run(["sh", str(script)], cwd=str(run), capture_output=True, text=True,
                        timeout=30, env={"PATH": os.environ["PATH"]})
    assert _pwned(run) == [] and _pwned(tmp_path) == [], sh.stderr
    assert sh.returncode == 0, sh.stderr
    if render == "render_snapshot_script":
        assert os.path.isdir(evil + "-snap")      # the directory sh saw is the one we meant
    else:
        assert "no snapshot at %s-snap/snapshot.db" % evil in sh.stdout


def test_etcd_bench_path_with_newline_writes_no_yaml(tmp_path):
    data = tmp_path / "data\napiVersion: evil"
    data.mkdir()
    out = tmp_path / "etcd-out"
    result = run_measured(tmp_path, "etcd-bench", data, "--max-time", "1", "--emit", out)
    assert_one_line_error(result)
    assert "control character" in result.stderr
    assert not out.exists() or not any(out.iterdir())
