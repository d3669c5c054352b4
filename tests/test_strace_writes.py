"""Where a normal run of each command writes, seen by strace (issue 10, "Done
when"): no file is opened for writing (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC),
created, renamed, linked, removed, truncated or chmod'ed outside the
directories the user named on the command line, plus the system temp dir
(``TMPDIR``, a fresh directory per run), which must be empty afterwards.

The oracle is the kernel's own record of the syscalls (``strace -f -y``:
every path a child process, such as fio or the compiler Kconfig runs, touches
too; ``-y`` prints the path behind each directory descriptor, so the
``*at()`` calls rcarkit makes through directory fds resolve to full paths).
Python's bytecode cache is off (PYTHONDONTWRITEBYTECODE), since it is the
interpreter's write, not rcarkit's.

Needs strace (apt-get install strace; .ci/run installs it).
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import CONFIGS, REPO

pytestmark = pytest.mark.skipif(shutil.which("strace") is None,
                                reason="strace is needed: apt-get install strace")

CFG = CONFIGS / "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"

_SYSCALLS = ("open,openat,openat2,creat,rename,renameat,renameat2,unlink,unlinkat,mkdir,"
             "mkdirat,rmdir,link,linkat,symlink,symlinkat,truncate,chmod,fchmodat,mknod,"
             "mknodat,chdir,fchdir")
_WRITE_FLAGS = re.compile(r"\bO_(WRONLY|RDWR|CREAT|TRUNC)\b")
# one argument that names a path: a directory fd with -y's <path>, then "name";
# or a bare "path"
_DIR_AND_NAME = re.compile(r'(AT_FDCWD|-?\d+)(?:<([^>]*)>)?, "((?:[^"\\]|\\.)*)"')
_BARE = re.compile(r'^\(\s*"((?:[^"\\]|\\.)*)"')
_CALL = re.compile(r"^(?:\[pid\s+\d+\]\s+|\d+\s+)?(\w+)(\(.*)$")


def _unescape(text):
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape")


def _cwds(lines, cwd):
    """``{pid: [(line index, cwd)]}``: the working directory of each process,
    from -y's ``AT_FDCWD</path>`` and from chdir calls."""
    seen = {}
    for index, raw in enumerate(lines):
        pid = raw.split(" ", 1)[0]
        for path in re.findall(r"AT_FDCWD<([^>]*)>", raw):
            seen.setdefault(pid, []).append((index, path))
        m = re.search(r'\bchdir\("((?:[^"\\]|\\.)*)"\)\s+= 0', raw)
        if m:
            before = _cwd_at(seen, pid, index, cwd)
            seen.setdefault(pid, []).append((index, os.path.join(before, _unescape(m.group(1)))))
        m = re.search(r"\bfchdir\(\d+<([^>]*)>\)\s+= 0", raw)
        if m:
            seen.setdefault(pid, []).append((index, m.group(1)))
    return seen


def _cwd_at(seen, pid, index, default):
    """The cwd of ``pid`` at line ``index``: the last one known before it, else
    the first one known after it (a process's first AT_FDCWD call, such as the
    dynamic loader's, shows the cwd it was started in)."""
    known = seen.get(pid, [])
    before = [path for i, path in known if i <= index]
    if before:
        return before[-1]
    return known[0][1] if known else default


def write_targets(log, cwd):
    """Every path the traced processes wrote to, created or removed."""
    targets = []
    lines = [raw.strip() for raw in log.splitlines()]
    cwds = _cwds(lines, cwd)
    for index, raw in enumerate(lines):
        m = _CALL.match(raw)
        if not m:
            continue
        name, rest = m.groups()
        if name in ("open", "openat", "openat2") and not _WRITE_FLAGS.search(rest):
            continue
        if name not in _SYSCALLS.split(",") or name in ("chdir", "fchdir"):
            continue
        here = _cwd_at(cwds, raw.split(" ", 1)[0], index, cwd)
        paths = []
        for fd, fd_path, rel in _DIR_AND_NAME.findall(rest):
            rel = _unescape(rel)
            base = fd_path if fd_path else (here if fd == "AT_FDCWD" else "")
            paths.append(os.path.normpath(os.path.join(base, rel)))
        bare = _BARE.match(rest)
        if bare and not paths:
            paths.append(os.path.normpath(os.path.join(here, _unescape(bare.group(1)))))
        if name in ("symlink", "symlinkat") and paths:
            paths = paths[-1:]         # the first argument is the link's content
        targets += [(name, p, raw[:200]) for p in paths]
    return targets


def _inside(path, roots):
    real = os.path.realpath(path)
    return any(real == r or real.startswith(r + os.sep) for r in roots)


def traced(tmp_path, args, allowed, timeout=300):
    """Run ``rcarkit ARGS`` under strace; assert every write lands in ``allowed``
    (or the run's own TMPDIR, empty again at the end). Returns the result."""
    work = tmp_path / "cwd"
    temp = tmp_path / "tmpdir"
    for d in (work, temp):
        d.mkdir(exist_ok=True)
    log = tmp_path / "strace.log"
    env = dict(os.environ, TMPDIR=str(temp), PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=str(REPO))
    proc = subprocess.run(["strace", "-f", "-qq", "-y", "-s", "4096", "-e", "trace=" + _SYSCALLS,
                           "-o", str(log), sys.executable, "-m", "rcarkit"]
                          + [str(a) for a in args], cwd=str(work), env=env, timeout=timeout,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert "Traceback" not in proc.stderr, proc.stderr
    roots = [os.path.realpath(str(p)) for p in list(allowed) + [temp]] + ["/dev/null"]
    outside = [t for t in write_targets(log.read_text(errors="replace"), str(work))
               if not _inside(t[1], roots)]
    assert not outside, "\n".join("%s %s\n    %s" % t for t in outside)
    assert os.listdir(str(temp)) == [], "left in TMPDIR: %s" % os.listdir(str(temp))
    assert os.listdir(str(work)) == [], "written to the working directory"
    return proc, log.read_text(errors="replace")


def test_parser_sees_writes_through_directory_fds(tmp_path):
    """The check can fail: a write through a directory fd outside the allowed
    set is caught (here: a plain Python script, not rcarkit)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    log = tmp_path / "log"
    script = ("import os\nfd = os.open(%r, os.O_RDONLY)\n"
              "os.close(os.open('f', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))\n"
              "os.rename('f', 'g', src_dir_fd=fd, dst_dir_fd=fd)\n" % str(outside))
    subprocess.run(["strace", "-f", "-qq", "-y", "-e", "trace=" + _SYSCALLS, "-o", str(log),
                    sys.executable, "-c", script], check=True, cwd=str(tmp_path))
    found = {(name, path) for name, path, _ in write_targets(log.read_text(), str(tmp_path))}
    assert ("openat", str(outside / "f")) in found
    assert ("renameat2", str(outside / "g")) in found or ("renameat", str(outside / "g")) \
        in found or ("rename", str(outside / "g")) in found


def test_check_kernel_writes_nothing(tmp_path):
    proc, _ = traced(tmp_path, ["check-kernel", CFG], allowed=[])
    assert proc.returncode in (0, 1), proc.stderr


def test_check_kernel_emit_fragment_writes_only_there(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    proc, log = traced(tmp_path, ["check-kernel", CFG, "--emit-fragment", out / "k8s.cfg"],
                       allowed=[out])
    assert proc.returncode in (0, 1), proc.stderr
    assert (out / "k8s.cfg").is_file()
    assert sorted(os.listdir(str(out))) == ["k8s.cfg"]     # the temp file renamed away


def test_yocto_layer_writes_only_in_its_output(tmp_path):
    out = tmp_path / "layer"
    proc, _ = traced(tmp_path, ["yocto-layer", CFG, "-o", out], allowed=[out])
    assert proc.returncode == 0, proc.stderr
    assert (out / "conf/layer.conf").is_file()
    assert not [p for p in out.rglob(".*") if p.name != ".rcarkit-manifest.json"]


def test_verify_fragment_writes_only_its_temp_dir(tmp_path, kernel_tree_61):
    frag = tmp_path / "k8s.cfg"
    frag.write_text("CONFIG_IP_VS_PROTO_TCP=y\nCONFIG_IP_SET_HASH_IP=y\n")
    proc, log = traced(tmp_path, ["verify-fragment", frag, "--kernel-src", kernel_tree_61,
                                  "--base", CFG], allowed=[], timeout=600)
    assert proc.returncode in (0, 1), proc.stderr
    # Kconfiglib's scratch directory was made, and used, in TMPDIR
    assert "rcarkit-kconfig-" in log


@pytest.fixture
def board_root(tmp_path):
    from test_check_node import build_board
    from rcarkit.kernel.profiles import load_catalog

    def ko(name, vermagic):
        src = tmp_path / ("%s.c" % name)
        src.write_text('static const char __attribute__((section(".modinfo"), used)) '
                       'm[] = "vermagic=%s\\0name=%s\\0license=GPL";\n' % (vermagic, name))
        obj = tmp_path / ("%s.o" % name)
        subprocess.run(["gcc", "-c", str(src), "-o", str(obj)], check=True)
        return obj.read_bytes()
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the .ko fixtures")
    return build_board(tmp_path / "root", load_catalog(), ko)


def test_check_node_root_writes_nothing(tmp_path, board_root):
    proc, _ = traced(tmp_path, ["check-node", "--root", board_root], allowed=[])
    assert proc.returncode in (0, 1), proc.stderr


def test_check_node_emit_writes_only_there(tmp_path, board_root):
    out = tmp_path / "fixes"
    (board_root / "proc/sys/net/ipv4/ip_forward").write_text("0\n")     # something to fix
    proc, _ = traced(tmp_path, ["check-node", "--root", board_root, "--emit", out],
                     allowed=[out])
    assert proc.returncode == 1, proc.stderr
    assert any(out.rglob("*.conf"))


@pytest.mark.parametrize("emit", [False, True])
def test_etcd_bench_writes_only_under_path_and_emit(tmp_path, emit):
    path = tmp_path / "disk"
    path.mkdir()
    args = ["etcd-bench", path, "--min-time", "0.3", "--max-time", "1", "--max-bytes",
            str(1 << 20), "--load", "saturated"]
    allowed = [path]
    if emit:
        out = tmp_path / "emit"
        args += ["--emit", out]
        allowed.append(out)
    proc, _ = traced(tmp_path, args, allowed=allowed)
    assert proc.returncode in (0, 1), proc.stderr
    assert os.listdir(str(path)) == [], "etcd-bench left files under PATH"
    if emit:
        assert any(out.iterdir())


def test_report_writes_only_in_its_output(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    proc = subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel", str(CFG),
                           "--format", "json"], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode in (0, 1), proc.stderr
    (docs / "check-kernel.json").write_text(proc.stdout)
    out = tmp_path / "report"
    proc, _ = traced(tmp_path, ["report", docs / "check-kernel.json", "-o", out],
                     allowed=[out])
    assert proc.returncode in (0, 1), proc.stderr
    assert any(out.iterdir())
