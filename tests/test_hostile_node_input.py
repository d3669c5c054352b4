"""Hostile check-node roots, profile TOMLs and verify-fragment inputs
(issue 10 items 3 and 4): every one is exit 2 (or a normal verdict) with one
line on stderr, never a hang, an OOM or a traceback."""

import gzip
import os
import stat

import pytest

from hostile import RSS_LIMIT_KB, assert_one_line_error, run_measured
from test_check_node import RELEASE, board, build_board, catalog, ko_factory  # noqa: F401

CFG = "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"


def _check_node(tmp_path, root, *extra):
    return run_measured(tmp_path, "check-node", "--root", root, *extra, timeout=60)


def _board_dev_zero(root):
    (root / "dev").mkdir(exist_ok=True)
    try:
        os.mknod(str(root / "dev/zero"), 0o666 | stat.S_IFCHR, os.makedev(1, 5))
    except PermissionError:
        os.mkfifo(str(root / "dev/zero"))


@pytest.mark.parametrize("rel", ["modules.dep", "modules.builtin"])
def test_module_index_on_dev_zero_is_refused(board, tmp_path, rel):
    root = board()
    path = root / "lib/modules" / RELEASE / rel
    if path.exists():
        path.unlink()
    # /dev/zero inside the root is the board's: a character device there (a
    # FIFO when not root), the link re-rooted like a chroot would
    _board_dev_zero(root)
    path.symlink_to("/dev/zero")
    result = _check_node(tmp_path, root)
    assert_one_line_error(result)
    assert result.hwm_kb < RSS_LIMIT_KB


def test_proc_modules_fifo_is_refused(board, tmp_path):
    root = board()
    (root / "proc/modules").unlink()
    os.mkfifo(str(root / "proc/modules"))
    result = _check_node(tmp_path, root)
    assert_one_line_error(result)


def test_zstd_module_of_zeros_is_capped_while_streaming(board, tmp_path):
    """A 218 KB .ko.zst of zeros expanded whole before MAX_MODULE_BYTES was checked."""
    zstandard = pytest.importorskip("zstandard")
    root = board(suffixes={"overlay": ".ko.zst"})
    found = list((root / "lib/modules" / RELEASE).rglob("overlay.ko.zst"))
    assert found
    cctx = zstandard.ZstdCompressor(level=19)
    zeros = b"\0" * (64 << 20)
    found[0].write_bytes(cctx.compress(zeros * 16))
    result = _check_node(tmp_path, root)
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 1, 2), result.stderr
    assert result.hwm_kb < RSS_LIMIT_KB, result.hwm_kb


def test_superscript_two_in_proc_swaps(board, tmp_path):
    root = board()
    (root / "proc/swaps").write_text("Filename Type Size Used Priority\n"
                                     "/swapfile file \u00b2 0 -2\n", encoding="utf-8")
    result = _check_node(tmp_path, root)
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 1), result.stderr


def test_deeply_nested_lib_modules(board, tmp_path):
    root = board()
    deep = root / "lib/modules" / RELEASE
    os.chdir(str(deep))
    try:
        for _ in range(1500):
            os.mkdir("d")
            os.chdir("d")
    finally:
        os.chdir(str(tmp_path))
    # a module missing from modules.dep makes check-node walk the tree
    (root / "lib/modules" / RELEASE / "modules.dep").write_text("")
    try:
        result = _check_node(tmp_path, root)
    finally:
        _remove_deep(deep)   # pytest's own cleanup recurses
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 1, 2), result.stderr


def _remove_deep(top):
    here = os.getcwd()
    os.chdir(str(top))
    depth = 0
    while os.path.isdir("d"):
        os.chdir("d")
        depth += 1
    for _ in range(depth):
        os.chdir("..")
        os.rmdir("d")
    os.chdir(here)


# -- profile TOMLs --------------------------------------------------------------

def _profiles_copy(tmp_path):
    import shutil
    from conftest import REPO
    dst = tmp_path / "profiles"
    shutil.copytree(str(REPO / "kconfig_profiles"), str(dst))
    return dst


@pytest.mark.parametrize("case", ["fifo", "dev-zero", "non-utf8", "nested"])
def test_hostile_profile_toml(tmp_path, configs_dir, case):
    profiles = _profiles_copy(tmp_path)
    target = profiles / "k8s-core.toml"
    assert target.exists()
    target.unlink()
    if case == "fifo":
        os.mkfifo(str(target))
    elif case == "dev-zero":
        target.symlink_to("/dev/zero")
    elif case == "non-utf8":
        target.write_bytes(b'summary = "caf\xe9"\n')
    else:
        target.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    result = run_measured(tmp_path, "check-kernel", configs_dir / CFG,
                          "--profiles-dir", profiles, timeout=60)
    assert_one_line_error(result)
    assert "k8s-core.toml" in result.stderr


def test_generated_list_of_numbers_in_kernel_modules_toml(tmp_path, board):
    profiles = _profiles_copy(tmp_path)
    path = profiles / "kernel-modules.toml"
    assert path.exists()
    text = path.read_text()
    assert "\n[generated]\n" in text
    path.write_text("generated = [1]\n" + text.replace("\n[generated]\n", "\n[old_generated]\n"))
    result = run_measured(tmp_path, "check-node", "--root", board(), "--profiles-dir",
                          profiles, timeout=60)
    assert_one_line_error(result)
    assert "kernel-modules.toml" in result.stderr


# -- verify-fragment inputs ------------------------------------------------------

def test_verify_fragment_on_dev_zero_fragment(tmp_path, configs_dir, kernel_tree_61):
    result = run_measured(tmp_path, "verify-fragment", "/dev/zero", "--kernel-src",
                          kernel_tree_61, "--base", configs_dir / CFG, timeout=120)
    assert_one_line_error(result)
    assert "not a regular file" in result.stderr
    assert result.hwm_kb < RSS_LIMIT_KB
