"""check-node --root R is a chroot (issue 10 item 5): no path under R reaches
the host, a release string is never a path, and no error echoes a file that
is not a kernel config.

The resolver is checked against the kernel itself: a child process that
really ``chroot``s into R opens the same path, and the inode it gets must be
the one :func:`rcarkit.node.rootfs.resolve` names (root only; skipped
otherwise).
"""

import json
import os

import pytest

from hostile import assert_one_line_error, run_measured
from test_check_node import RELEASE, board, build_board, catalog, ko_factory  # noqa: F401

SECRET = "HOSTSECRET-7f3a9c-do-not-print"


@pytest.fixture
def host_secret(tmp_path):
    """A host file outside every board root, holding a token no output may show."""
    directory = tmp_path / "host"
    directory.mkdir()
    path = directory / "shadow"
    path.write_text("%s:$6$salt$hash:19000:0:99999:7:::\n" % SECRET)
    return path


def _check_node(tmp_path, root, *extra):
    return run_measured(tmp_path, "check-node", "--root", root, *extra, timeout=120)


def _no_secret(result):
    assert SECRET not in result.stdout and SECRET not in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr


@pytest.mark.parametrize("how", ["absolute", "relative"])
def test_config_link_to_a_host_file_is_never_read(board, tmp_path, host_secret, how):
    """``ln -s /etc/shadow R/proc/config.gz`` printed the host file's first line."""
    root = board()
    (root / "proc/config.gz").unlink()
    target = str(host_secret) if how == "absolute" else "../" * 40 + str(host_secret)[1:]
    (root / "proc/config.gz").symlink_to(target)
    result = _check_node(tmp_path, root)
    _no_secret(result)
    assert result.returncode in (0, 1), result.stderr   # no config under R: a note
    assert "no kernel config under" in result.stdout


def test_literal_etc_shadow_repro(board, tmp_path):
    root = board()
    (root / "proc/config.gz").unlink()
    (root / "proc/config.gz").symlink_to("/etc/shadow")
    result = _check_node(tmp_path, root)
    assert "Traceback" not in result.stderr
    try:
        with open("/etc/shadow") as fh:
            lines = [line.strip() for line in fh if len(line.strip()) >= 8]
    except OSError:
        lines = []
    for line in lines:
        assert line[:8] not in result.stdout + result.stderr


def test_board_file_that_is_no_config_is_not_echoed(board, tmp_path):
    """Even inside R, an error about a file that is not a kernel config shows
    none of its content (it may be the board's own /etc/shadow)."""
    root = board()
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc/shadow").write_text("%s:x:0:0\n" % SECRET)
    (root / "proc/config.gz").unlink()
    (root / "proc/config.gz").symlink_to("/etc/shadow")
    result = _check_node(tmp_path, root)
    _no_secret(result)
    assert_one_line_error(result)
    assert str(root / "etc/shadow") in result.stderr   # the board's file, named


@pytest.mark.parametrize("release", ["5.10/../../../..", "..", "6.1 x", "a/b", "x" * 65])
def test_osrelease_is_never_a_path(board, tmp_path, release):
    """``5.10/../../../..`` passed the version parse and walked the host's /."""
    root = board()
    (root / "proc/sys/kernel/osrelease").write_text(release + "\n")
    result = _check_node(tmp_path, root)
    assert_one_line_error(result)
    assert "osrelease" in result.stderr and "not a kernel release" in result.stderr


def test_kernel_release_option_is_validated(board, tmp_path):
    root = board()
    result = _check_node(tmp_path, root, "--kernel-release", "../../..")
    assert_one_line_error(result)


def test_module_tree_link_to_host_dir_stays_inside(board, tmp_path):
    """lib/modules/RELEASE -> /host/dir walked (and read modules of) the host."""
    root = board()
    host = tmp_path / "hostmods"
    (host / "kernel").mkdir(parents=True)
    (host / "kernel/overlay.ko").write_bytes(b"\x7fELF" + SECRET.encode() * 10)
    tree = root / "lib/modules" / RELEASE
    import shutil
    shutil.rmtree(str(tree))
    tree.symlink_to(str(host))
    result = _check_node(tmp_path, root, "--format", "json")
    _no_secret(result)
    assert result.returncode in (0, 1), result.stderr
    doc = json.loads(result.stdout)
    # R/<host dir> does not exist: the image has no module tree at all (the
    # host's overlay.ko was found and read before)
    mods = [o for o in doc["options"] if o["profile"] == "modules"]
    assert [o["actual"] for o in mods] == ["absent"], mods


def test_modules_dep_absolute_entry_is_rerooted(board, tmp_path):
    """An absolute modules.dep entry (old depmod wrote them) named a host file."""
    root = board()
    host = tmp_path / "hostmods"
    host.mkdir()
    (host / "overlay.ko").write_bytes(b"\x7fELF" + SECRET.encode() * 10)
    tree = root / "lib/modules" / RELEASE
    for ko in tree.rglob("overlay.ko*"):
        ko.unlink()
    dep = tree / "modules.dep"
    dep.write_text("%s:\n" % (host / "overlay.ko") + dep.read_text())
    result = _check_node(tmp_path, root, "--format", "json")
    _no_secret(result)
    doc = json.loads(result.stdout)
    overlay = [o for o in doc["options"] if o["option"] == "overlay" and o["profile"] == "modules"]
    # the host file is not the board's: the module is absent (it is loaded now)
    assert overlay and overlay[0]["actual"] == "loaded, no file", overlay


# -- the resolver against the kernel's own chroot ------------------------------

def _tree(base):
    """A root with every kind of link the resolver must re-root."""
    root = base / "R"
    for d in ("etc", "proc/sys/kernel", "lib/modules/6.1/kernel", "usr/lib", "boot"):
        (root / d).mkdir(parents=True)
    (root / "etc/shadow").write_text("board shadow\n")
    (root / "boot/config-6.1").write_text("CONFIG_A=y\n")
    (root / "usr/lib/os-release").write_text("ID=board\n")
    (root / "lib/modules/6.1/kernel/a.ko").write_text("ko\n")
    links = {
        "proc/config.gz": "/etc/shadow",
        "proc/up": "../../../../../../../../etc/shadow",
        "etc/os-release": "../usr/lib/os-release",
        "etc/abs-os-release": "/usr/lib/os-release",
        "lib/modules/cur": "/lib/modules/6.1",
        "lib/modules/dotdot": "..",
        "boot/config": "config-6.1",
        "boot/chain": "/proc/config.gz",
        "loop1": "loop2",
        "loop2": "/loop1",
        "dangling": "/nowhere/at/all",
        "rootlink": "/",
    }
    for rel, target in links.items():
        os.symlink(target, str(root / rel))
    return root


PATHS = ["proc/config.gz", "/proc/up", "etc/os-release", "etc/abs-os-release",
         "lib/modules/cur/kernel/a.ko", "lib/modules/dotdot/modules/6.1/kernel/a.ko",
         "boot/chain", "boot/config", "../../../../etc/shadow", "rootlink/rootlink/etc/shadow",
         "lib/modules/cur/../../../../../boot/config-6.1", "/proc/../etc/../etc/shadow",
         "dangling", "nope/../etc/shadow", "loop1", "etc/shadow/x"]


def _kernel_answer(root, rel):
    """(dev, ino) of ``rel`` opened by a child chrooted into ``root``, or an errno."""
    import pickle
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(rfd)
            os.chroot(str(root))
            os.chdir("/")
            try:
                st = os.stat("/" + rel.lstrip("/"))
                answer = (st.st_dev, st.st_ino)
            except OSError as exc:
                answer = exc.errno
            os.write(wfd, pickle.dumps(answer))
        finally:
            os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    return pickle.loads(data)


@pytest.mark.skipif(os.geteuid() != 0, reason="chroot(2) needs root")
@pytest.mark.parametrize("rel", PATHS)
def test_resolve_matches_the_kernels_chroot(tmp_path, rel):
    import errno
    from rcarkit.node.rootfs import resolve
    root = _tree(tmp_path)
    kernel = _kernel_answer(root, rel)
    ours = resolve(str(root), rel)
    if isinstance(kernel, int):
        assert kernel in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR)
        assert ours is None or not os.path.exists(ours), ours
    else:
        assert ours is not None and ours.startswith(str(root))
        st = os.stat(ours)
        assert (st.st_dev, st.st_ino) == kernel


def test_resolve_never_leaves_the_root(tmp_path):
    from rcarkit.node.rootfs import resolve
    root = _tree(tmp_path)
    for rel in PATHS:
        out = resolve(str(root), rel)
        assert out is None or out == str(root) or out.startswith(str(root) + os.sep), (rel, out)


@pytest.mark.parametrize("text,ok", [("6.1.0-rcar", True), ("5.10.0+", True),
                                     ("4.14.75-ltsi-yocto-standard", True), ("..", False),
                                     (".", False), ("5.10/..", False), ("", False),
                                     ("6.1 x", False), ("6.1\n", False)])
def test_valid_release(text, ok):
    from rcarkit.node.rootfs import valid_release
    assert valid_release(text) is ok


_FLIPPER = r"""
import os, sys, time
root, host = sys.argv[1], sys.argv[2]
etc, real, link = (os.path.join(root, n) for n in ("etc", "etc.real", "etc.link"))
os.symlink(host, link)
end = time.monotonic() + float(sys.argv[3])
while time.monotonic() < end:     # etc: the board's directory, then a link out of the root
    os.rename(etc, real); os.rename(link, etc)
    os.rename(etc, link); os.rename(real, etc)
"""


def _race(root, host, seconds, within_check):
    """Read R/etc/data over and over while another process swaps R/etc for a
    symlink to ``host`` and back; the texts read."""
    import subprocess
    import sys
    import time
    from rcarkit.errors import RcarkitError
    from rcarkit.node.probe import NodeRoot
    node = NodeRoot(root)
    if not within_check:
        node.within = None
    flipper = subprocess.Popen([sys.executable, "-c", _FLIPPER, str(root), str(host),
                                str(seconds)])
    seen = set()
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end and flipper.poll() is None:
            try:
                seen.add(node.read("etc/data"))
            except RcarkitError as exc:   # etc vanished mid-swap, or the escape was caught
                seen.add("error: " + exc.message)
            if not within_check and any(SECRET in (t or "") for t in seen):
                break
    finally:
        flipper.kill()
        flipper.wait()
    return seen


def test_symlink_swapped_in_while_reading_never_leaks(tmp_path):
    """The resolver checks each component, then the file is opened: a component
    swapped for a symlink out of the root in between is caught after the open
    (``/proc/self/fd``), so the host file is never returned. The control run,
    without that check, shows the race is really hit on this machine."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "data").write_text(SECRET + "\n")

    def board_root(name):
        root = tmp_path / name
        (root / "etc").mkdir(parents=True)
        (root / "etc" / "data").write_text("BOARD\n")
        return root
    control = _race(board_root("control"), host, 20.0, within_check=False)
    if not any(SECRET in (t or "") for t in control):
        pytest.skip("the race was not hit in 20 s here: nothing to show")
    seen = _race(board_root("root"), host, 8.0, within_check=True)
    assert not any(SECRET in (t or "") for t in seen)
    assert "BOARD\n" in seen
