"""Issue 10, the output side: a crafted manifest deletes nothing outside the
output directory, symlinks/devices/FIFOs are never replaced or read, a
symlinked directory inside a layer is refused, a second writer is locked out,
and verify-fragment --write-config keeps hand edits. Each case failed before."""

import fcntl
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rcarkit.errors import ManifestError, OutputError, RcarkitError
from rcarkit.files import MANIFEST, GeneratedTree, read_manifest, write_single

REPO = Path(__file__).resolve().parents[1]
CFG = "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"


def _cli(args, cwd, timeout=120):
    return subprocess.run([sys.executable, "-m", "rcarkit"] + [str(a) for a in args],
                          cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)


def _plant(root, key, victim):
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(victim.read_bytes()).hexdigest()
    (root / MANIFEST).write_text(json.dumps({"generator": "rcarkit", "files": {key: digest}}))


@pytest.mark.parametrize("absolute", [False, True], ids=["dotdot", "abs"])
def test_yocto_layer_manifest_cannot_delete_outside(tmp_path, configs_dir, absolute):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    layer = tmp_path / "L"
    _plant(layer, str(victim) if absolute else "../victim", victim)
    proc = _cli(["yocto-layer", configs_dir / CFG, "-o", layer], tmp_path)
    assert victim.read_text() == "precious\n"
    assert proc.returncode == 2, proc.stderr
    assert MANIFEST in proc.stderr and "Traceback" not in proc.stderr


def test_check_node_emit_manifest_cannot_delete_outside(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    out = tmp_path / "fixes"
    _plant(out, "../victim", victim)
    proc = _cli(["check-node", "--emit", out], tmp_path)
    assert victim.read_text() == "precious\n"
    assert proc.returncode == 2 and MANIFEST in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_etcd_bench_emit_manifest_cannot_delete_outside(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    out = tmp_path / "etcd"
    _plant(out, str(victim), victim)
    data = tmp_path / "data"
    data.mkdir()
    proc = _cli(["etcd-bench", data, "--emit", out, "--max-time", "1"], tmp_path)
    assert victim.read_text() == "precious\n"
    assert proc.returncode == 2 and MANIFEST in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda c: st.lists(c, max_size=4)
                     | st.dictionaries(st.text(max_size=20), c, max_size=4), max_leaves=12)
_manifest = st.one_of(
    _json,
    st.fixed_dictionaries({"files": _json}),
    st.fixed_dictionaries({"files": st.dictionaries(
        st.text(max_size=30) | st.sampled_from(["../v", "/etc/passwd", "a/../../v", "a\0b",
                                                "a//b", "./a", "ok/file", "a\nb"]),
        st.text(max_size=70) | st.just("0" * 64), max_size=5)}))


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=_manifest, raw=st.booleans(), blob=st.binary(max_size=60))
def test_manifest_fuzz_never_tracebacks(tmp_path_factory, doc, raw, blob):
    root = tmp_path_factory.mktemp("m")
    (root / MANIFEST).write_bytes(blob if raw else json.dumps(doc).encode())
    try:
        files = read_manifest(str(root), str(root / MANIFEST))
    except ManifestError as exc:
        assert MANIFEST in str(exc)
        return
    for rel, digest in files.items():
        assert not rel.startswith("/") and ".." not in rel.split("/")
        real = os.path.realpath(root / rel)
        assert real.startswith(os.path.realpath(root) + os.sep)
        assert len(digest) == 64


def test_pruning_never_follows_a_symlink(tmp_path):
    target = tmp_path / "outside.txt"
    target.write_text("x\n")
    root = tmp_path / "L"
    GeneratedTree(root).write({"a.txt": "x\n", "b.txt": "y\n"})
    os.unlink(root / "a.txt")
    os.symlink(target, root / "a.txt")
    (root / "b.txt").unlink()
    os.symlink("/dev/zero", root / "b.txt")     # hashing it must not read it
    GeneratedTree(root).write({"c.txt": "z\n"}, prune=True)
    assert target.read_text() == "x\n" and os.path.islink(root / "a.txt")


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/null", "fifo", "link"])
def test_emit_fragment_never_replaces_special_files(tmp_path, configs_dir, target):
    path = target
    if target == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)
    elif target == "link":
        path = tmp_path / "link.cfg"
        os.symlink("/dev/zero", path)
    before = os.lstat(path)
    proc = _cli(["check-kernel", configs_dir / CFG, "--emit-fragment", path, "--force"],
                tmp_path, timeout=60)
    assert proc.returncode == 2 and str(path) in proc.stderr, proc.stderr
    after = os.lstat(path)
    assert (after.st_ino, after.st_mode, after.st_rdev) == (before.st_ino, before.st_mode,
                                                           before.st_rdev)


def test_emit_fragment_to_dev_stdout_is_refused(tmp_path, configs_dir):
    proc = _cli(["check-kernel", configs_dir / CFG, "--emit-fragment", "/dev/stdout"],
                tmp_path, timeout=60)
    assert proc.returncode == 2 and "/dev/stdout" in proc.stderr, proc.stderr


def test_symlinked_directory_inside_layer_is_refused(tmp_path, configs_dir):
    layer = tmp_path / "L"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    layer.mkdir()
    os.symlink(elsewhere, layer / "conf")
    proc = _cli(["yocto-layer", configs_dir / CFG, "-o", layer], tmp_path)
    assert proc.returncode == 2 and "symlink" in proc.stderr, proc.stderr
    assert os.listdir(elsewhere) == []


def test_symlinked_directory_refused_by_the_library_even_with_force(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "L").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "L" / "conf")
    with pytest.raises(OutputError):
        GeneratedTree(tmp_path / "L", force=True).write({"conf/layer.conf": "x\n"})
    assert os.listdir(tmp_path / "elsewhere") == []


def test_second_writer_is_locked_out(tmp_path):
    root = tmp_path / "L"
    root.mkdir()
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(OutputError) as info:
            GeneratedTree(root, lock_wait=0.2).write({"a": "1\n"})
        assert "another rcarkit is writing" in str(info.value)
    finally:
        os.close(fd)
    assert not (root / "a").exists()
    GeneratedTree(root).write({"a": "1\n"})
    assert os.listdir(root) == sorted(["a", MANIFEST]) or set(os.listdir(root)) == {"a", MANIFEST}


def test_write_single_keeps_hand_edits_and_refuses_devices(tmp_path):
    path = tmp_path / "out.config"
    path.write_text("my edits\n")
    with pytest.raises(RcarkitError):
        write_single(path, "generated\n")
    assert path.read_text() == "my edits\n"
    with pytest.raises(OutputError):
        write_single("/dev/null", "x\n", force=True)
    with pytest.raises(OutputError):
        write_single(tmp_path / "bad\nname", "x\n")
