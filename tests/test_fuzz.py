"""The hostile-input fuzz suite (issue 10, "Done when"): hypothesis drives
rcarkit with mutated real inputs and checks what every run must do:

* exit 0, 1 or 2 only, and an exit 2 is exactly one ``rcarkit: error:`` line
  on stderr; never a traceback, never a hang (an alarm stops an in-process
  run after 30 s);
* nothing outside the directory the user named changes (a victim directory
  beside it is hashed before and after), and no file content from outside a
  ``--root`` is echoed;
* every run stays under 200 MB peak RSS, measured as the child's own VmHWM
  (tests/hostile.py) in the subprocess tests.

Areas: kernel inputs (windows of the real configs in ../shared/configs with
line and byte edits, as text, gzip, xz, lzma, bzip2, zstd, raw and compressed
IKCFG images, zImage-like wrappers, minimal vmlinux ELFs with mutated header,
section and symbol fields); ``.rcarkit-manifest.json`` in an existing layer
before ``yocto-layer`` (keys leaving the directory, wrong types, random JSON,
broken bytes, special files) and an output tree with symlinks, FIFOs and hand
edits; every TOML of a ``--profiles-dir`` copy of kconfig_profiles/
(structural edits re-serialised, byte edits, nesting, encodings); and
``check-node --root`` board trees (every file check-node reads mutated,
replaced by other text, removed, or made a directory, FIFO, /dev/zero or a
symlink out of the root; plus ``--emit``).

Most examples run in this process through :class:`fuzz_inputs.InProcessCli`
(the real ``main``: argument parsing, the library, rendering, the exit-code
mapping) or, for manifests, through :class:`rcarkit.files.GeneratedTree`
itself; a few hundred run as real subprocesses for the memory figure, with
the decompression bombs among them. Seeds are fixed (``derandomize=True``)
and hypothesis keeps no database, so CI replays the same examples. The suite
prints its totals (examples, subprocess runs, the largest VmHWM) at the end.
A bug the fuzzer found is kept as an explicit ``@example``.
"""

import contextlib
import hashlib
import os
import random
import shutil
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings, strategies as st

from conftest import CONFIGS, REPO
from fuzz_inputs import (MANIFEST_KINDS, NODE_FILES, SEEDS, TOML_SPECIALS, InProcessCli,
                         check_exit, check_kernel_options, compressed_claim_elf, kernel_input,
                         make_kernel_input, manifest_bytes, mutate_bytes, mutated_toml_data,
                         node_entry, put, remove_any, restore, shstrtab_overflow_elf, snapshot,
                         toml_dumps)
from hostile import RSS_LIMIT_KB, run_measured
from test_check_node import build_board, catalog, ko_factory  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

CFG = CONFIGS / "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"
SECRET = "rcarkit-fuzz-secret-do-not-echo"

# Examples per area, in process / as subprocesses (the CI total is their sum);
# RCARKIT_FUZZ_SCALE=0.05 makes a quick local run.
_SCALE = float(os.environ.get("RCARKIT_FUZZ_SCALE", "1"))
N_KERNEL, N_MANIFEST, N_MANIFEST_CLI, N_PROFILES, N_NODE = (
    max(1, int(n * _SCALE)) for n in (10500, 5000, 300, 1500, 3000))
P_KERNEL, P_BOMBS, P_MANIFEST, P_PROFILES, P_NODE = (
    max(1, int(n * _SCALE)) for n in (100, 40, 30, 30, 50))

STATS = {"examples": {}, "subprocess_runs": 0, "max_hwm_kb": 0, "seconds": {}, "cpu": {}}


def fuzz_settings(n):
    # no shrinking: on inputs of 100 KB it can take longer than the whole
    # suite; the failing example is reported as found (and is reproducible)
    return settings(max_examples=n, derandomize=True, database=None, deadline=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck))


class Count:
    """Examples run by one test (asserted against its target at the end)."""

    def __init__(self, name):
        self.name = name
        self.n = 0
        self.started = time.monotonic()
        self.cpu = _cpu()

    def __call__(self):
        self.n += 1

    def done(self, target):
        STATS["examples"][self.name] = self.n
        STATS["seconds"][self.name] = time.monotonic() - self.started
        STATS["cpu"][self.name] = _cpu() - self.cpu
        # derandomized hypothesis runs every example it is asked for unless
        # the strategy space is smaller; ours never is
        assert self.n >= target, (self.name, self.n, target)


def _cpu():
    """CPU seconds of this process and its waited-for children (the machine
    may be shared: wall time says little)."""
    import resource
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def measured(tmp_path, *args, **kw):
    """A subprocess run checked like an in-process one, plus its VmHWM."""
    result = run_measured(tmp_path, *args, **kw)
    check_exit(result)
    assert result.hwm_kb is not None, result.stderr
    assert result.hwm_kb < RSS_LIMIT_KB, (result.hwm_kb, args)
    STATS["subprocess_runs"] += 1
    STATS["max_hwm_kb"] = max(STATS["max_hwm_kb"], result.hwm_kb)
    return result


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    """Print the suite's totals at the end (past pytest's output capture)."""
    yield
    total = sum(STATS["examples"].values())
    if not total:
        return
    line = ("fuzz: %d examples (%s); %d subprocess runs, max VmHWM %.1f MB; %.0f s wall, "
            "%.0f s CPU" % (total, ", ".join("%s %d" % kv for kv in STATS["examples"].items()),
                            STATS["subprocess_runs"], STATS["max_hwm_kb"] / 1024,
                            sum(STATS["seconds"].values()), sum(STATS["cpu"].values())))
    capman = request.config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled():
        print("\n" + line)


@pytest.fixture
def scratch(tmp_path):
    """A scratch directory on tmpfs when there is one: GeneratedTree fsyncs
    every file it writes, which on a disk costs more than the run itself."""
    import tempfile
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    if base is None:
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="rcarkit-fuzz-", dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(str(path), ignore_errors=True)


@pytest.fixture(scope="module")
def cli():
    return InProcessCli()


@pytest.fixture(scope="module")
def victim(tmp_path_factory):
    """A directory outside every output dir and root; must never change."""
    path = tmp_path_factory.mktemp("victim")
    (path / "target").write_text(SECRET + "\n")
    return path


def tree_digest(path):
    digest = hashlib.sha256()
    for rel, entry in sorted(snapshot(path).items()):
        digest.update(repr((rel, entry)).encode())
    return digest.hexdigest()


# -- kernel inputs ------------------------------------------------------------

def test_fuzz_kernel_inputs(cli, scratch):
    """check-kernel (sometimes with --emit-fragment) on mutated configs in
    every container rcarkit reads."""
    count = Count("kernel")
    tmp_path = scratch
    path = tmp_path / "input"
    out = tmp_path / "out"
    out.mkdir()

    @fuzz_settings(N_KERNEL)
    @given(kernel_input(), check_kernel_options(), st.integers(0, 9))
    # found by this fuzzer: the section-name string table marked SHF_COMPRESSED
    # at a 2**63 offset made pyelftools raise OverflowError (a traceback, exit 1)
    @example(("vmlinux", shstrtab_overflow_elf()), [], 1)
    # a compressed .rodata claiming 2**64-1 bytes: pyelftools inflates to the
    # size the section's own header states (OverflowError; or a bomb)
    @example(("vmlinux", compressed_claim_elf((1 << 64) - 1)), [], 1)
    def run(sample, options, emit):
        count()
        how, data = sample
        path.write_bytes(data)
        args = ["check-kernel", path] + options
        if emit == 0:
            args += ["--emit-fragment", out / "k8s.cfg", "--force"]
        check_exit(cli(*args))

    run()
    count.done(N_KERNEL)


def _bombs(directory):
    """Decompression bombs and marker floods, written once (a few seconds)."""
    import zlib
    import zstandard
    found = {}

    def stream(name, compressor, finish, piece, times):
        with open(str(directory / name), "wb") as fh:
            for _ in range(times):
                fh.write(compressor(piece))
            fh.write(finish())
        found[name] = directory / name

    zeros = b"\0" * (1 << 20)
    gz = zlib.compressobj(9, zlib.DEFLATED, 31)
    stream("zeros-300m.gz", gz.compress, gz.flush, zeros, 300)
    text = b"CONFIG_A=y\n" * (1 << 16)
    gz = zlib.compressobj(9, zlib.DEFLATED, 31)
    stream("text-300m.gz", gz.compress, gz.flush, text, 300 * (1 << 20) // len(text))
    xz = __import__("lzma").LZMACompressor(preset=1)
    stream("zeros-300m.xz", xz.compress, xz.flush, zeros, 300)
    zs = zstandard.ZstdCompressor(level=3).compressobj()
    stream("zeros-300m.zst", zs.compress, zs.flush, zeros, 300)
    bz = __import__("bz2").BZ2Compressor(9)
    stream("zeros-64m.bz2", bz.compress, bz.flush, zeros, 64)
    markers = b"\0" * 100 + b"IKCFG_ST\x1f\x8b" * 100000
    gz = zlib.compressobj(9, zlib.DEFLATED, 31)
    stream("markers.gz", gz.compress, gz.flush, markers, 1)
    gz = zlib.compressobj(9, zlib.DEFLATED, 31)
    stream("image-300m.gz", gz.compress, gz.flush, b"\0" * 100 + b"IKCFG_ST" + zeros[108:], 300)
    return found


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    return _bombs(tmp_path_factory.mktemp("bombs"))


def test_fuzz_kernel_inputs_subprocess(tmp_path):
    """The same inputs through the real console entry point in a child, VmHWM checked."""
    count = Count("kernel-subprocess")
    path = tmp_path / "input"

    @fuzz_settings(P_KERNEL)
    @given(kernel_input(), check_kernel_options())
    def run(sample, options):
        count()
        path.write_bytes(sample[1])
        measured(tmp_path, "check-kernel", path, *options)

    run()
    count.done(P_KERNEL)


def test_fuzz_decompression_bombs_subprocess(tmp_path, bombs):
    """Bombs of every codec (300 MiB of zeros or text, a marker flood, an image
    past the cap), whole, cut short or with a flipped byte: exit 2 or a
    verdict, each child under 200 MB."""
    count = Count("bombs-subprocess")
    path = tmp_path / "input"
    names = sorted(bombs)

    @fuzz_settings(P_BOMBS)
    @given(st.sampled_from(names), st.sampled_from(["whole", "cut", "flip"]),
           st.floats(0.0, 1.0), st.sampled_from(["check-kernel", "yocto-layer"]))
    def run(name, how, where, command):
        count()
        data = bombs[name].read_bytes()
        pos = int(where * (len(data) - 1))
        if how == "cut":
            data = data[:pos]
        elif how == "flip":
            data = data[:pos] + bytes([data[pos] ^ 0x5a]) + data[pos + 1:]
        path.write_bytes(data)
        args = [command, path]
        if command == "yocto-layer":
            args += ["-o", tmp_path / "layer"]
        measured(tmp_path, *args, timeout=120)

    run()
    count.done(P_BOMBS)


# -- manifests ----------------------------------------------------------------

@pytest.fixture(scope="module")
def layer(cli, tmp_path_factory):
    """A real layer (yocto-layer on a real config) to start every example from."""
    base = tmp_path_factory.mktemp("layer")
    template = base / "template"
    result = cli("yocto-layer", CFG, "-o", template)
    assert result.returncode == 0, result
    from rcarkit.files import MANIFEST
    files = {str(p.relative_to(template)): p.read_text() for p in template.rglob("*")
             if p.is_file() and p.name != MANIFEST}
    import json
    real = json.loads((template / MANIFEST).read_text())["files"]
    return template, files, real


TREE_EDITS = ["edit", "delete", "link-out", "conf-out", "fifo", "dir", "extra", "dev-zero"]


def _edit_tree(root, files, rnd, victim):
    names = sorted(files)
    edits = [(rnd.choice(TREE_EDITS), rnd.randrange(1000)) for _ in range(rnd.randrange(4))]
    # conf -> victim last: the other edits must not write through it
    for kind, pick in sorted(edits, key=lambda e: e[0] == "conf-out"):
        rel = names[pick % len(names)]
        path = root / rel
        if kind == "edit" and path.is_file() and not path.is_symlink():
            with open(str(path), "a") as fh:
                fh.write("# edited by hand\n")
        elif kind == "delete":
            remove_any(path)
        elif kind == "link-out":
            remove_any(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(str(victim / "target"), str(path))
        elif kind == "conf-out":
            remove_any(root / "conf")
            os.symlink(str(victim), str(root / "conf"))
        elif kind == "fifo":
            remove_any(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.mkfifo(str(path))
        elif kind == "dir":
            remove_any(path)
            path.mkdir(parents=True)
        elif kind == "extra":
            (root / ("extra-%d" % pick)).write_text("mine\n")
        elif kind == "dev-zero":
            remove_any(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.symlink("/dev/zero", str(path))


def _manifest_case(layer, victim, out):
    template, files, real = layer
    victim_digest = hashlib.sha256((victim / "target").read_bytes()).hexdigest()

    def prepare(rnd, kind, special):
        manifest = manifest_bytes(rnd, kind, real, victim / "target", victim_digest)
        if out.exists() or out.is_symlink():
            remove_any(out)
        shutil.copytree(str(template), str(out), symlinks=True)
        _edit_tree(out, files, rnd, victim)
        target = out / ".rcarkit-manifest.json"
        remove_any(target)
        if special == "fifo":
            os.mkfifo(str(target))
        elif special == "link":
            os.symlink(str(victim / "target"), str(target))
        elif special == "dev-zero":
            os.symlink("/dev/zero", str(target))
        elif special == "dir":
            target.mkdir()
        else:
            target.write_bytes(manifest)
    before = tree_digest(victim)

    def victim_unchanged():
        assert tree_digest(victim) == before
    return prepare, files, victim_unchanged


MANIFEST_SPECIAL = st.sampled_from([None] * 12 + ["fifo", "link", "dev-zero", "dir"])


def test_fuzz_manifests(victim, layer, scratch):
    """GeneratedTree.write (what yocto-layer, check-node --emit, etcd-bench
    --emit and report -o all call) on hostile manifests and output trees:
    only OutputError/RcarkitError (exit 2) may escape; nothing outside the
    output directory changes."""
    from rcarkit.errors import RcarkitError
    from rcarkit.files import GeneratedTree
    count = Count("manifest")
    out = scratch / "out"
    prepare, files, victim_unchanged = _manifest_case(layer, victim, out)

    @fuzz_settings(N_MANIFEST)
    @given(SEEDS, st.sampled_from(MANIFEST_KINDS), MANIFEST_SPECIAL, st.booleans(),
           st.integers(0, 4))
    # found by this fuzzer: a byte edit repeated a slice of a manifest key into
    # a 300-byte name; pruning lstat'ed it: OSError ENAMETOOLONG, a traceback
    @example(random.Random(428561), "bytes", None, True, 4)
    def run(rnd, kind, special, force, drop):
        count()
        prepare(rnd, kind, special)
        wanted = dict(files)
        if drop:        # a file this run no longer generates: pruned if listed
            wanted.pop(sorted(wanted)[drop % len(wanted)])
        try:
            GeneratedTree(str(out), force=force).write(wanted, prune=True)
        except RcarkitError:
            pass
        victim_unchanged()
        assert sorted(os.listdir(str(scratch))) == ["out"]

    run()
    count.done(N_MANIFEST)


def test_fuzz_manifests_cli(cli, victim, layer, scratch):
    """The same through ``yocto-layer`` and ``check-kernel --emit-layer`` in process."""
    count = Count("manifest-cli")
    out = scratch / "out"
    prepare, _, victim_unchanged = _manifest_case(layer, victim, out)

    @fuzz_settings(N_MANIFEST_CLI)
    @given(SEEDS, st.sampled_from(MANIFEST_KINDS), MANIFEST_SPECIAL, st.booleans(),
           st.sampled_from(["yocto-layer", "check-kernel"]))
    def run(rnd, kind, special, force, command):
        count()
        prepare(rnd, kind, special)
        if command == "yocto-layer":
            args = ["yocto-layer", CFG, "-o", out]
        else:
            args = ["check-kernel", CFG, "--emit-layer", out]
        check_exit(cli(*(args + (["--force"] if force else [])), timeout=60))
        victim_unchanged()

    run()
    count.done(N_MANIFEST_CLI)


def test_fuzz_manifests_subprocess(victim, layer, tmp_path):
    count = Count("manifest-subprocess")
    out = tmp_path / "out"
    prepare, _, victim_unchanged = _manifest_case(layer, victim, out)

    @fuzz_settings(P_MANIFEST)
    @given(SEEDS, st.sampled_from(MANIFEST_KINDS), MANIFEST_SPECIAL)
    def run(rnd, kind, special):
        count()
        prepare(rnd, kind, special)
        measured(tmp_path, "yocto-layer", CFG, "-o", out)
        victim_unchanged()

    run()
    count.done(P_MANIFEST)


# -- profile TOMLs ------------------------------------------------------------

PROFILE_FILES = sorted(p.name for p in (REPO / "kconfig_profiles").glob("*.toml"))


@pytest.fixture(scope="module")
def small_config(tmp_path_factory):
    """A few hundred lines of a real config: enough for every profile to judge."""
    path = tmp_path_factory.mktemp("cfg") / "small.config"
    lines = CFG.read_text().splitlines()
    path.write_text("\n".join(lines[:400]) + "\n")
    return path


@pytest.fixture(scope="module")
def parsed_profiles():
    import tomllib
    return {name: tomllib.loads((REPO / "kconfig_profiles" / name).read_text())
            for name in PROFILE_FILES}


TOML_KINDS = ["structured"] * 5 + ["bytes", "bytes", "special", "fifo", "dev-zero"]


def _toml_case(rnd, name, kind, parsed):
    """New bytes (or a special kind) for the profile TOML ``name``."""
    original = (REPO / "kconfig_profiles" / name).read_bytes()
    if kind == "structured":
        if name == "kernel-modules.toml" and rnd.random() < 0.5:
            kind = "bytes"      # its 100 KB re-serialised is slow; half the time bytes
        else:
            return toml_dumps(mutated_toml_data(rnd, parsed[name])).encode(
                "utf-8", "surrogatepass")
    if kind == "bytes":
        return mutate_bytes(rnd, original)
    if kind == "special":
        return rnd.choice(TOML_SPECIALS)
    return kind


def _profile_args(name, pdir, small_config, out, board):
    if name == "kernel-modules.toml" and board is not None:
        return ["check-node", "--root", board, "--profiles-dir", pdir]
    args = ["check-kernel", small_config, "--profiles-dir", pdir]
    if name == "kernel-depends.toml":
        return args + ["--emit-fragment", out / "k8s.cfg", "--force"]
    return args + (["--all-profiles"] if len(name) % 2 else [])


def _install(pdir, name, content):
    target = pdir / name
    remove_any(target)
    if content == "fifo":
        os.mkfifo(str(target))
    elif content == "dev-zero":
        os.symlink("/dev/zero", str(target))
    else:
        target.write_bytes(content)


def _forget_caches():
    from rcarkit.kernel import fragment, profiles
    profiles._CATALOG_CACHE.clear()
    fragment._DEPENDS_CACHE.clear()


def _profiles_copy(tmp_path):
    """A --profiles-dir copy of kconfig_profiles/ and an output directory."""
    pdir = tmp_path / "profiles"
    shutil.copytree(str(REPO / "kconfig_profiles"), str(pdir))
    out = tmp_path / "out"
    out.mkdir()
    return pdir, out


@contextlib.contextmanager
def _mutated_toml(pdir, name, kind, rnd, parsed):
    """``pdir/name`` replaced for the block, then put back."""
    _install(pdir, name, _toml_case(rnd, name, kind, parsed))
    _forget_caches()
    try:
        yield
    finally:
        _install(pdir, name, (REPO / "kconfig_profiles" / name).read_bytes())
        _forget_caches()


@pytest.mark.parametrize("mode", ["in-process", "subprocess"])
def test_fuzz_profile_tomls(mode, cli, tmp_path, small_config, parsed_profiles, node_board):
    """Each TOML of a --profiles-dir copy mutated: check-kernel (and
    --emit-fragment for kernel-depends.toml, check-node for kernel-modules.toml)."""
    if mode == "in-process":
        n, count = N_PROFILES, Count("profiles")

        def one(*args):
            check_exit(cli(*args))
    else:
        n, count = P_PROFILES, Count("profiles-subprocess")

        def one(*args):
            measured(tmp_path, *args)
    pdir, out = _profiles_copy(tmp_path)

    @fuzz_settings(n)
    @given(st.sampled_from(PROFILE_FILES), st.sampled_from(TOML_KINDS), SEEDS)
    # found by this fuzzer: an option's name set to -0.0 (falsy) left the rule
    # without symbols; check_config then raised IndexError (a traceback)
    @example("kube-router-netpol.toml", "structured", random.Random(7459164))
    def run(name, kind, rnd):
        count()
        with _mutated_toml(pdir, name, kind, rnd, parsed_profiles):
            one(*_profile_args(name, pdir, small_config, out, node_board[0]))

    run()
    count.done(n)


# -- check-node roots -------------------------------------------------------------

@pytest.fixture(scope="module")
def node_board(tmp_path_factory, catalog, ko_factory):  # noqa: F811 (fixtures)
    """A ready board (tests/test_check_node.py's builder) and a --profiles-dir
    copy whose kernel-modules.toml keeps only the symbols the shipped
    profiles name (the full 100 KB file costs 60 ms to parse on every run)."""
    import tomllib
    base = tmp_path_factory.mktemp("node")
    root = build_board(base / "root", catalog, ko_factory)
    (root / "etc/os-release").write_text('ID=poky\nVERSION_ID="5.0"\n')
    (root / "etc/fstab").write_text("/dev/mmcblk0p2 / ext4 defaults 0 1\n")
    pdir = base / "profiles"
    shutil.copytree(str(REPO / "kconfig_profiles"), str(pdir))
    modules = tomllib.loads((pdir / "kernel-modules.toml").read_text())
    named = {sym for prof in catalog.profiles.values() for rule in prof.options
             for sym in rule.names}
    modules["symbols"] = {k: v for k, v in modules["symbols"].items() if k in named}
    (pdir / "kernel-modules.toml").write_text(toml_dumps(modules))
    return root, pdir


def _module_files(root):
    return sorted(str(p.relative_to(root)) for p in (root / "lib/modules").rglob("*")
                  if p.is_file())


def _node_targets(root):
    return NODE_FILES + _module_files(root) + ["lib/modules", "proc", "etc/sysctl.d"]


def _node_case(rnd, root, original, targets, victim):
    """Edit 1-4 paths of the board; return {rel: original entry} to undo."""
    touched = {}
    for _ in range(rnd.randrange(1, 5)):
        rel = rnd.choice(targets)
        if any(rel == t or rel.startswith(t + "/") or t.startswith(rel + "/") for t in touched):
            continue            # one edit per subtree: never write through an edit
        before = original.get(rel)
        if rel == "proc/config.gz" and rnd.random() < 0.5:
            entry = ("file", make_kernel_input(rnd, rnd.choice(["gzip", "text", "xz",
                                                                "image-gzip", "vmlinux"])),
                     0o644)
        else:
            entry = node_entry(rnd, before, victim / "target")
        # a directory target (lib/modules, proc) is replaced whole: undo it whole
        for sub in [r for r in original if r == rel or r.startswith(rel + "/")]:
            touched.setdefault(sub, original[sub])
        touched.setdefault(rel, before)
        put(root, rel, entry)
    return touched


def _undo(root, touched, original):
    """Put every touched path back (directories a new file needed go too)."""
    for rel in sorted(touched, key=lambda r: r.count("/")):
        if touched[rel] is None or touched[rel][0] != "dir":
            continue
        restore(root, rel, None)
    for rel in sorted(touched, key=lambda r: r.count("/")):
        if touched[rel] is not None:
            if touched[rel][0] == "dir":
                (root / rel).mkdir(parents=True, exist_ok=True)
            else:
                restore(root, rel, touched[rel])
        else:
            remove_any(root / rel)
            parent = Path(rel).parent
            while str(parent) != "." and str(parent) not in original:
                remove_any(root / parent)
                parent = parent.parent


@st.composite
def node_options(draw):
    args = ["--format", draw(st.sampled_from(["table", "json", "markdown"]))]
    if draw(st.integers(0, 3)) == 0:
        args += ["--role", "worker"]
    if draw(st.integers(0, 7)) == 0:
        args += ["--kernel-release", draw(st.sampled_from(["6.1.0-rcar", "5.10/../../..",
                                                           "", "..", "a" * 300, "6.1\n"]))]
    if draw(st.integers(0, 9)) == 0:
        args += ["--only-missing"]
    return args


def _node_run(rnd, options, root, original, targets, victim, runner, pdir, out):
    touched = _node_case(rnd, root, original, targets, victim)
    args = ["check-node", "--root", root, "--profiles-dir", pdir] + options
    if rnd.randrange(6) == 0:
        args += ["--emit", out]
    try:
        result = runner(*args)
    finally:
        _undo(root, touched, original)
    assert SECRET not in result.stdout and SECRET not in result.stderr, result
    return result


def test_fuzz_node_roots(cli, node_board, victim, scratch):
    """check-node --root on a board tree with 1-4 files changed per example."""
    count = Count("node")
    tmp_path = scratch
    root, pdir = node_board
    original = snapshot(root)
    targets = _node_targets(root)
    out = tmp_path / "emit"
    before = tree_digest(victim)

    @fuzz_settings(N_NODE)
    @given(SEEDS, node_options())
    # found by this fuzzer: a NUL in a modules.dep path reached os.lstat
    # while resolving it inside the root: ValueError, a traceback
    @example(random.Random(179632015), ["--format", "json", "--role", "worker"])
    def run(rnd, options):
        count()
        check_exit(_node_run(rnd, options, root, original, targets, victim, cli, pdir, out))
        assert tree_digest(victim) == before

    run()
    count.done(N_NODE)
    assert snapshot(root) == original


def test_fuzz_node_roots_subprocess(node_board, victim, tmp_path):
    count = Count("node-subprocess")
    root, pdir = node_board
    original = snapshot(root)
    targets = _node_targets(root)
    out = tmp_path / "emit"

    def runner(*args):
        return measured(tmp_path, *args)

    @fuzz_settings(P_NODE)
    @given(SEEDS, node_options())
    def run(rnd, options):
        count()
        _node_run(rnd, options, root, original, targets, victim, runner, pdir, out)

    run()
    count.done(P_NODE)
