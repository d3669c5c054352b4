"""Hypothesis strategies and helpers for tests/test_fuzz.py (issue 10, "Done
when"): hostile kernel inputs, manifests, profile TOMLs and check-node roots,
built from the real fixtures in ../shared and kconfig_profiles/, plus the
in-process CLI runner.

Every strategy draws small choices (which real file, which window, which
mutation) and applies them to real bytes, so an example is cheap to draw and
shrinks to a readable reproduction.
"""

import bz2
import contextlib
import gzip
import io
import json
import lzma
import os
import shutil
import signal
import struct
from pathlib import Path

from hypothesis import strategies as st

from conftest import CONFIGS, SHARED_CONFIGS

# -- the in-process CLI runner ------------------------------------------------


class Hung(Exception):
    """An in-process run took longer than its alarm (a hang is a bug too)."""


class Result:
    def __init__(self, code, stdout, stderr):
        self.returncode = code
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self):
        return "Result(%r, stderr=%r)" % (self.returncode, self.stderr[-500:])


class InProcessCli:
    """``rcarkit ARGS`` through :func:`rcarkit.cli.app.main` in this process:
    the same exit-code mapping as the console script; any exception other
    than the documented ``SystemExit`` escapes to the test. The click command
    is built once (typer rebuilds it on every ``main`` call, ~30 ms)."""

    def __init__(self):
        import typer
        from rcarkit.cli import app as app_module
        self._main = app_module.main
        self._typer_main = typer.main
        self._command = typer.main.get_command(app_module.app)

    def __call__(self, *args, timeout=30):
        out, err = io.StringIO(), io.StringIO()
        real = self._typer_main.get_command
        self._typer_main.get_command = lambda app: self._command

        def hung(signum, frame):
            raise Hung("rcarkit %s: still running after %d s" % (" ".join(map(str, args)),
                                                                 timeout))
        old = signal.signal(signal.SIGALRM, hung)
        signal.alarm(timeout)
        code = None
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    self._main([str(a) for a in args])
                except SystemExit as exc:
                    code = exc.code
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
            self._typer_main.get_command = real
        return Result(code, out.getvalue(), err.getvalue())


def check_exit(result):
    """Only the documented exits: 0/1, or 2 with exactly one error line; never a traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1, 2), result
    if result.returncode == 2:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("rcarkit: error: "), result


# -- kernel inputs ------------------------------------------------------------

_CONFIG_LINES = None


def config_lines():
    """The lines of every real config in ../shared/configs (decompressed)."""
    global _CONFIG_LINES
    if _CONFIG_LINES is None:
        texts = []
        for name in sorted(SHARED_CONFIGS):
            data = (CONFIGS / name).read_bytes()
            if name.endswith(".gz"):
                data = gzip.decompress(data)
            texts.append(data.split(b"\n"))
        _CONFIG_LINES = texts
    return _CONFIG_LINES


# The byte- and line-level edits are made with a ``random.Random`` that
# hypothesis seeds (``st.randoms(use_true_random=True)``): hypothesis draws
# the structure (which file, container, options, how many edits) and the seed;
# a draw per inserted byte would cost more than the run it feeds.

WEIRD_VALUES = [b"y", b"m", b"n", b"", b'"', b'"unterminated', b'""', b"0x", b"0xZZ",
                b"9" * 60, b"-1", b"1e9", b"\xc2\xb2", b"\t", b" y", b"y y", b"\\", b"\x00",
                b"\xff\xfe", b"=", b"CONFIG_X=y"]
WEIRD_NAMES = [b"NAMESPACES", b"CGROUPS", b"OVERLAY_FS", b"BRIDGE_NETFILTER", b"VXLAN",
               b"IKCONFIG", b"ARM64", b"X86", b"", b"A" * 300, b"lower", b"NAMESPACES\n"]
WEIRD_VERSIONS = [b"6.1", b"4.14.75", b"99999999999999999999.1", b"5.10/../../../..", b"0.0",
                  b"6.1.0-rcar\x00", b"1.2.3.4.5", b"6.", b"v6.1", b"6.1" + b"9" * 400, b""]
WEIRD_TOKENS = [b"IKCFG_ST", b"IKCFG_ST\x1f\x8b", b"IKCFG_ED", b"\x00", b"\xef\xbb\xbf",
                b"\x7fELF", b"\x1f\x8b\x08", b"\xfd7zXZ\x00", b"BZh9", b"\r", b"\x0c",
                b"\xed\xa0\x80", b"\xc3", "\u00b2\u0663\u202e".encode()]


def _pick_or_random(rnd, choices, size=12):
    if rnd.random() < 0.7:
        return rnd.choice(choices)
    return rnd.randbytes(rnd.randrange(size + 1))


def weird_line(rnd):
    """One hostile line for a config: odd assignments, headers, markers, bytes."""
    kind = rnd.randrange(7)
    if kind == 0:
        return (b"CONFIG_" + _pick_or_random(rnd, WEIRD_NAMES) + b"="
                + _pick_or_random(rnd, WEIRD_VALUES))
    if kind == 1:
        return b"# CONFIG_" + _pick_or_random(rnd, WEIRD_NAMES) + b" is not set"
    if kind == 2:
        return (b"# Linux/" + rnd.choice([b"arm64", b"x86", b"", b"a/b", b"\xff"]) + b" "
                + rnd.choice(WEIRD_VERSIONS) + b" Kernel Configuration")
    if kind == 3:
        return b"# Linux kernel version: " + rnd.choice(WEIRD_VERSIONS)
    if kind == 4:
        return rnd.choice(WEIRD_TOKENS)
    return rnd.randbytes(rnd.randrange(41))


def mutate_bytes(rnd, data, max_ops=4):
    """``data`` with up to ``max_ops`` byte-level edits (flip, insert, delete,
    truncate, repeat a slice)."""
    data = bytearray(data)
    for _ in range(rnd.randrange(max_ops + 1)):
        kind = rnd.randrange(5)
        pos = rnd.randrange(len(data) + 1)
        if kind == 0 and data:
            data[min(pos, len(data) - 1)] = rnd.randrange(256)
        elif kind == 1:
            data[pos:pos] = weird_line(rnd) if rnd.random() < 0.5 else rnd.randbytes(
                rnd.randrange(17))
        elif kind == 2:
            del data[pos:pos + rnd.randrange(1, 65)]
        elif kind == 3 and rnd.random() < 0.5:
            del data[pos:]
        elif kind == 4 and data:
            piece = bytes(data[pos:pos + rnd.randrange(1, 33)])
            data[pos:pos] = piece * rnd.randrange(1, 200)
    return bytes(data)


def config_text(rnd, max_lines=300):
    """A window of a real config (rarely the whole file) with line-level
    edits: weird assignments, headers, markers, binary, duplicated lines."""
    texts = config_lines()
    lines = rnd.choice(texts)
    if rnd.randrange(60) == 0:
        chosen = list(lines)
    else:
        start = rnd.randrange(len(lines))
        chosen = lines[start:start + rnd.randrange(max_lines + 1)]
        if rnd.random() < 0.5:
            chosen = lines[:2] + chosen               # keep the version header
    for _ in range(rnd.randrange(7)):
        kind = rnd.randrange(5)
        pos = rnd.randrange(len(chosen) + 1)
        if kind <= 1:
            chosen.insert(pos, weird_line(rnd))
        elif kind == 2:
            del chosen[pos:pos + rnd.randrange(1, 21)]
        elif kind == 3 and chosen:
            pos = min(pos, len(chosen) - 1)
            chosen[pos:pos] = [chosen[pos]] * rnd.randrange(1, 500)
    text = b"\n".join(chosen)
    if rnd.randrange(4) == 0:
        text = mutate_bytes(rnd, text)
    return text


SEEDS = st.randoms(use_true_random=True)


def _zstd(data):
    import zstandard
    return zstandard.ZstdCompressor(level=1).compress(data)


COMPRESSORS = {
    "gzip": lambda d: gzip.compress(d, compresslevel=1, mtime=0),
    "xz": lambda d: lzma.compress(d, preset=0),
    "lzma": lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE, preset=0),
    "bzip2": lambda d: bz2.compress(d, 1),
    "zstd": _zstd,
}


def ikcfg_blob(text):
    """What kernel/configs.c embeds: the markers around the gzip'd config."""
    return b"IKCFG_ST" + gzip.compress(text, mtime=0) + b"IKCFG_ED"


# ELF64 layout of :func:`minimal_vmlinux`: (offset, struct format) of every
# header field a mutation may overwrite; section headers and symbols follow.
_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
_EHDR_FIELDS = [(4, "B"), (5, "B"), (6, "B"), (16, "H"), (18, "H"), (20, "I"), (24, "Q"),
                (32, "Q"), (40, "Q"), (48, "I"), (52, "H"), (54, "H"), (56, "H"), (58, "H"),
                (60, "H"), (62, "H")]
_SHDR_FIELDS = [(0, "I"), (4, "I"), (8, "Q"), (16, "Q"), (24, "Q"), (32, "Q"), (40, "I"),
                (44, "I"), (48, "Q"), (56, "Q")]
_SYM_FIELDS = [(0, "I"), (4, "B"), (5, "B"), (6, "H"), (8, "Q"), (16, "Q")]


def minimal_vmlinux(payload):
    """A small valid ELF64 vmlinux: .rodata holding ``payload`` (an IKCFG
    blob), .symtab with kernel_config_data/_end around the gzip stream, as
    pyelftools and ``scripts/extract-ikconfig`` see a real one. Returns the
    bytes and the list of (offset, format) fields a fuzzer may overwrite."""
    addr = 0x1000
    strtab = b"\0kernel_config_data\0kernel_config_data_end\0"
    shstrtab = b"\0.rodata\0.symtab\0.strtab\0.shstrtab\0"
    start = addr + 8
    end = addr + max(8, len(payload) - 8)
    syms = (_SYM.pack(0, 0, 0, 0, 0, 0) + _SYM.pack(1, 0x11, 0, 1, start, end - start)
            + _SYM.pack(20, 0x11, 0, 1, end, 0))
    off_ro = _EHDR.size
    off_sym = off_ro + len(payload)
    off_str = off_sym + len(syms)
    off_shstr = off_str + len(strtab)
    shoff = off_shstr + len(shstrtab)
    shoff += (-shoff) % 8
    sections = [_SHDR.pack(0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
                _SHDR.pack(1, 1, 2, addr, off_ro, len(payload), 0, 0, 1, 0),
                _SHDR.pack(9, 2, 0, 0, off_sym, len(syms), 3, 1, 8, _SYM.size),
                _SHDR.pack(17, 3, 0, 0, off_str, len(strtab), 0, 0, 1, 0),
                _SHDR.pack(25, 3, 0, 0, off_shstr, len(shstrtab), 0, 0, 1, 0)]
    ident = b"\x7fELF\x02\x01\x01" + b"\0" * 9
    head = _EHDR.pack(ident, 2, 183, 1, 0, 0, shoff, 0, _EHDR.size, 0, 0, _SHDR.size,
                      len(sections), 4)
    body = head + payload + syms + strtab + shstrtab
    body += b"\0" * (shoff - len(body))
    data = body + b"".join(sections)
    fields = list(_EHDR_FIELDS)
    for i in range(len(sections)):
        fields += [(shoff + i * _SHDR.size + o, f) for o, f in _SHDR_FIELDS]
    for i in range(3):
        fields += [(off_sym + i * _SYM.size + o, f) for o, f in _SYM_FIELDS]
    return data, fields


_FIELD_VALUES = [0, 1, 2, 8, 24, 64, 0x800, 0x1000, 1 << 31, 1 << 63, (1 << 64) - 1]


def mutated_elf(rnd, payload):
    """:func:`minimal_vmlinux` with up to 4 header/section/symbol fields set
    to edge values (0, 1, sizes, 2**63, all ones) or random ones."""
    data, fields = minimal_vmlinux(payload)
    data = bytearray(data)
    for _ in range(rnd.randrange(5)):
        off, fmt = rnd.choice(fields)
        bits = struct.calcsize(fmt) * 8
        value = rnd.choice(_FIELD_VALUES + [len(data)]) if rnd.random() < 0.5 \
            else rnd.getrandbits(bits)
        struct.pack_into("<" + fmt, data, off, value & ((1 << bits) - 1))
    if rnd.randrange(4) == 0:
        return mutate_bytes(rnd, bytes(data))
    return bytes(data)


CONTAINERS = ["text", "gzip", "xz", "lzma", "bzip2", "zstd", "image", "image-gzip",
              "image-xz", "zimage", "vmlinux", "vmlinux-gzip"]


@st.composite
def kernel_input(draw, containers=CONTAINERS):
    """``(container, bytes)``: mutated config text, compressed, embedded in a
    raw or compressed image or a vmlinux ELF; the container bytes mutated too."""
    how = draw(st.sampled_from(containers))
    rnd = draw(SEEDS)
    return how, make_kernel_input(rnd, how)


def make_kernel_input(rnd, how):
    text = config_text(rnd)
    if how == "text":
        data = text
    elif how in COMPRESSORS:
        data = COMPRESSORS[how](text)
    elif how.startswith("image"):
        pad = rnd.choice([b"", b"\0" * 64, b"\0" * 5000, b"MZ\0\0ARM\x64"])
        data = pad + ikcfg_blob(text) + rnd.randbytes(rnd.randrange(33))
        if how != "image":
            data = COMPRESSORS[how.split("-")[1]](data)
    elif how == "zimage":
        # a self-extracting wrapper: code, then the compressed image
        inner = b"\0" * 128 + ikcfg_blob(text)
        data = b"\0" * 512 + COMPRESSORS[rnd.choice(["gzip", "xz", "lzma", "bzip2"])](inner)
    else:
        data = mutated_elf(rnd, ikcfg_blob(text))
        if how == "vmlinux-gzip":
            data = gzip.compress(data, compresslevel=1, mtime=0)
    if how != "text" and rnd.randrange(3) == 0:
        data = mutate_bytes(rnd, data, max_ops=3)
    return data


@st.composite
def check_kernel_options(draw):
    """Options of check-kernel a user may combine with any input."""
    args = ["--format", draw(st.sampled_from(["table", "json", "markdown"]))]
    if draw(st.booleans()):
        args.append("--only-missing")
    if draw(st.integers(0, 3)) == 0:
        args += ["--kernel-version",
                 draw(st.sampled_from(["6.1", "4.14.75", "5.10/../../..", "", "9" * 40,
                                       "6.1\n", "x"]))]
    if draw(st.integers(0, 5)) == 0:
        args.append("--defconfig")
    # --all-profiles renders ~25 profiles (10x the time): rarely
    args += draw(st.sampled_from([[]] * 12 + [["--cni", "cilium"], ["--all-profiles"],
                                              ["--proxy-mode", "ipvs"], ["--runtime", "docker"],
                                              ["--profile", "no-such-profile"]]))
    return args


# -- manifests ----------------------------------------------------------------

def snapshot(root):
    """``{relative path: ('file', bytes, mode) | ('link', target) | ('dir',)}``."""
    root = Path(root)
    out = {}
    for dirpath, dirnames, filenames in os.walk(str(root)):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = ("link", os.readlink(str(path)))
            elif path.is_dir():
                out[rel] = ("dir",)
            elif path.is_file():
                out[rel] = ("file", path.read_bytes(), path.stat().st_mode & 0o7777)
            else:
                out[rel] = ("other",)
    return out


def remove_any(path):
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(str(path))


def restore(root, rel, entry):
    """Put ``rel`` back as ``entry`` of :func:`snapshot` (None: absent)."""
    path = Path(root) / rel
    remove_any(path)
    if entry is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if entry[0] == "file":
        path.write_bytes(entry[1])
        path.chmod(entry[2])
    elif entry[0] == "link":
        os.symlink(entry[1], str(path))
    elif entry[0] == "dir":
        path.mkdir()


def manifest_key(rnd, real, victim):
    """A manifest key: a real one, or one of the ways out of the directory."""
    kind = rnd.randrange(3)
    if kind == 0:
        return rnd.choice(sorted(real))
    if kind == 1:
        return rnd.choice(["../victim/target", str(victim), "conf/../../victim/target",
                           "./README", "conf//layer.conf", "", ".", "..", "/", "conf/",
                           "README\n", "README\x00", "\u00e9t\u00e9", "a" * 300,
                           "conf/layer.conf/x", "../../../../../../etc/passwd", "\\..\\x",
                           "recipes-kernel/../../victim/target"])
    return random_text(rnd, 24)


def random_text(rnd, size):
    """Text of up to ``size`` characters, ASCII mostly, with control, non-ASCII
    and surrogate code points."""
    out = []
    for _ in range(rnd.randrange(size + 1)):
        kind = rnd.randrange(10)
        if kind < 6:
            out.append(chr(rnd.randrange(32, 127)))
        elif kind < 8:
            out.append(chr(rnd.randrange(0, 32)))
        elif kind == 8:
            out.append(chr(rnd.randrange(0x80, 0x3000)))
        else:
            out.append(chr(rnd.choice([0xd800, 0xdfff, 0xfeff, 0x202e, 0x10ffff, 0x7f])))
    return "".join(out)


def random_json(rnd, depth=0):
    """A random JSON value (nested up to 3 levels)."""
    kind = rnd.randrange(8 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rnd.random() < 0.5
    if kind == 2:
        return rnd.choice([0, -1, 1 << 70, rnd.randrange(-1000, 1000)])
    if kind == 3:
        return rnd.choice([0.5, float("inf"), -0.0, 1e308])
    if kind in (4, 5):
        return random_text(rnd, 20)
    if kind == 6:
        return [random_json(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    return {random_text(rnd, 8): random_json(rnd, depth + 1) for _ in range(rnd.randrange(4))}


def manifest_digest(rnd, real_digests, victim_digest):
    kind = rnd.randrange(3)
    if kind == 0:
        return rnd.choice(sorted(real_digests) + [victim_digest])
    if kind == 1:
        return rnd.choice(["", "0" * 64, "A" * 64, "z" * 64, "0" * 63, victim_digest.upper()])
    return random_json(rnd, 2)


MANIFEST_KINDS = ["structured", "structured", "structured", "json", "bytes", "special"]


def manifest_bytes(rnd, kind, real, victim, victim_digest):
    """A ``.rcarkit-manifest.json``: structured (real entries edited, keys
    that leave the directory), random JSON, or mutated bytes."""
    if kind == "structured":
        files = dict(real)
        for _ in range(rnd.randrange(5)):
            op = rnd.choice(["add", "add", "drop", "retype"])
            if op == "add":
                files[manifest_key(rnd, real, victim)] = manifest_digest(rnd, real.values(),
                                                                         victim_digest)
            elif op == "drop" and files:
                files.pop(rnd.choice(sorted(files)))
            elif op == "retype" and files:
                files[rnd.choice(sorted(files))] = random_json(rnd)
        doc = {"generator": rnd.choice(["rcarkit", "rcarkit", 1, None, ""]), "files": files}
        if rnd.randrange(10) == 0:
            doc["files"] = random_json(rnd)
        return json.dumps(doc).encode("utf-8", "surrogatepass")
    if kind == "json":
        return json.dumps(random_json(rnd)).encode("utf-8", "surrogatepass")
    if kind == "bytes":
        return mutate_bytes(rnd, json.dumps({"generator": "rcarkit", "files": real}).encode())
    return rnd.choice([b"[" * 100000 + b"]" * 100000, b"{" * 50000, b"", b"\xff\xfe{}",
                       b'{"files": 0}', b'{"files": {"a": "\x00"}}',
                       b'{"files": {}}' + b" " * (1 << 20)])


# -- profile TOMLs ------------------------------------------------------------

def toml_dumps(data):
    """A TOML document for ``data`` (tables inline: ``option = [{...}]`` is the
    same document as ``[[option]]``); strings as basic strings with escapes."""
    return "".join("%s = %s\n" % (_toml_key(k), _toml_value(v)) for k, v in data.items())


def _toml_key(key):
    return json.dumps(str(key))


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join("%s = %s" % (_toml_key(k), _toml_value(v))
                               for k, v in value.items()) + "}"
    return json.dumps(str(value))


_TOML_STRINGS = ["", "NAMESPACES\n", "y", "m", "n", "y/m", ">=4", "<=x", ">=", "4.19",
                 "5.10/../..", "x" * 300, "a\x00b", "CONFIG_X", "k8s-core", "../x",
                 "$(touch PWNED)", "https://example.invalid/", "flannel"]


def toml_value(rnd, depth=0):
    """A value of any TOML type (strings with control characters included)."""
    kind = rnd.randrange(7 if depth < 2 else 5)
    if kind == 0:
        return rnd.random() < 0.5
    if kind == 1:
        return rnd.choice([0, -1, (1 << 63) - 1, -(1 << 63), rnd.randrange(-100, 100)])
    if kind == 2:
        return rnd.choice([0.5, float("nan"), float("inf"), -0.0])
    if kind in (3, 4):
        return rnd.choice(_TOML_STRINGS) if rnd.random() < 0.6 else random_text(rnd, 24)
    if kind == 5:
        return [toml_value(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    return {random_text(rnd, 10): toml_value(rnd, depth + 1) for _ in range(rnd.randrange(4))}


_TOML_KEYS = ["name", "kind", "option", "expect", "source", "reason", "aliases", "min_kernel",
              "arches", "any_of", "required", "title", "url", "removed", "added", "x"]


def mutated_toml_data(rnd, data):
    """``data`` (a parsed TOML document, deep-copied) with 1-3 edits at random
    places: a value replaced by another type, a key deleted or added."""
    data = json.loads(json.dumps(data, default=str))
    for _ in range(rnd.randrange(1, 4)):
        parent, key = None, None
        node = data
        while isinstance(node, (dict, list)) and node and rnd.randrange(4) > 0:
            k = rnd.choice(sorted(node)) if isinstance(node, dict) else rnd.randrange(len(node))
            parent, key, node = node, k, node[k]
        op = rnd.choice(["replace", "replace", "delete", "add"])
        if op == "add" and isinstance(node, dict):
            node[rnd.choice(_TOML_KEYS)] = toml_value(rnd)
        elif op == "add" and isinstance(node, list):
            node.append(toml_value(rnd))
        elif op == "delete" and parent is not None:
            del parent[key]
        elif parent is not None:
            parent[key] = toml_value(rnd)
    return data


#: Special TOML files: nesting, encodings, sizes.
TOML_SPECIALS = ([b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n",
                            b"a = " + b"{b = " * 3000 + b"1" + b"}" * 3000 + b"\n",
                            b'summary = "caf\xe9"\n', b"", b"\xef\xbb\xbf", b"[[option]]\n",
                            b"option = 1\n", b'name = "x"\nkind = "cni"\n',
                            b"[a]\n" * 3 + b"\n", b"x = 1\n" * 300000])


# -- check-node roots -----------------------------------------------------------

#: Files check-node reads under --root (rcarkit/node), each a fuzz target.
NODE_FILES = ["proc/swaps", "proc/cmdline", "proc/mounts", "proc/cgroups", "proc/meminfo",
              "proc/modules", "proc/filesystems", "proc/net/tcp", "proc/net/tcp6",
              "proc/sys/kernel/osrelease", "proc/sys/kernel/hostname",
              "proc/sys/net/ipv4/ip_forward", "proc/sys/net/bridge/bridge-nf-call-iptables",
              "sys/fs/cgroup/cgroup.controllers", "sys/devices/system/cpu/online",
              "sys/class/net/eth0/address", "sys/class/net/eth0/addr_assign_type",
              "sys/class/dmi/id/product_uuid", "etc/fstab", "etc/hostname",
              "etc/os-release", "etc/sysctl.d/99-k8s.conf", "etc/sysctl.conf",
              "etc/containerd/config.toml", "etc/modules-load.d/k8s.conf", "proc/config.gz",
              "usr/sbin/iptables", "proc/cpuinfo"]

NODE_TEXT = ["", "\n", "\u00b2", "\u0663", "-1", "99999999999999999999999", "0x", "nan", "1e9",
             "\x00", "5.10/../../../..", "6.1.0-rcar\n", "..", "/", "a" * 5000,
             "Filename Type Size Used Priority\n/s file \u00b2 0 -2\n", "MemTotal: \u00b2 kB\n",
             "0-\n", "0-99999999\n", "4-2\n", ",,,\n", "   0: 0100007F:ZZZZ 00000000:0000 0A\n",
             "cgroup2 /sys/fs/cgroup cgroup2\n",
             "#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\tx\t1\t\u00b2\n",
             "br_netfilter 16384 0 - Live 0x0\n" * 3, "overlay\n" * 10000]


def node_entry(rnd, original, victim):
    """New content for one file of a board root: the original mutated, other
    text, or something that is not a regular file (or points out of the root)."""
    kind = rnd.choice(["mutate", "mutate", "text", "text", "special"])
    if kind == "mutate" and original is not None and original[0] == "file":
        return ("file", mutate_bytes(rnd, original[1]), original[2])
    if kind in ("mutate", "text"):
        text = rnd.choice(NODE_TEXT) if rnd.random() < 0.5 else random_text(rnd, 60)
        return ("file", text.encode("utf-8", "surrogatepass"), 0o644)
    return rnd.choice([None, ("dir",), ("link", "/dev/zero"), ("link", "nowhere"),
                       ("link", "."), ("link", str(victim)),
                       ("link", "../../../../../../../../etc/hostname"), ("fifo",)])


def put(root, rel, entry):
    """Like :func:`restore`, plus ``('fifo',)``."""
    if entry is not None and entry[0] == "fifo":
        path = Path(root) / rel
        remove_any(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(str(path))
        return
    restore(root, rel, entry)



def elf_with_fields(payload, *fields):
    """:func:`minimal_vmlinux` with section-header fields overwritten, each
    ``(section index, offset in its header, struct format, value)``."""
    data, _ = minimal_vmlinux(payload)
    data = bytearray(data)
    shoff = struct.unpack_from("<Q", data, 40)[0]
    for section, offset, fmt, value in fields:
        struct.pack_into("<" + fmt, data, shoff + section * _SHDR.size + offset, value)
    return bytes(data)


def shstrtab_overflow_elf():
    """Found by the fuzzer: the section-name table (index 4) marked
    SHF_COMPRESSED at offset 2**63; pyelftools seeks there: OverflowError."""
    return elf_with_fields(ikcfg_blob(b"CONFIG_A=y\n"), (4, 8, "Q", 0x800),
                           (4, 24, "Q", 1 << 63))


def compressed_claim_elf(claim):
    """.rodata (index 1) SHF_COMPRESSED with a zlib header claiming ``claim``
    bytes: pyelftools inflates up to the size the section states."""
    import zlib
    payload = struct.pack("<IIQQ", 1, 0, claim, 1) + zlib.compress(b"\0" * 4096)
    return elf_with_fields(payload, (1, 8, "Q", 0x802))
