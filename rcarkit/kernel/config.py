"""Read a kernel configuration from wherever a board keeps it.

:func:`load_config` is the one entry point. It accepts:

* ``/proc/config.gz`` of the running kernel (the default in the CLI), with
  ``/boot/config-$(uname -r)`` as the fallback (:func:`default_config_path`);
* a full ``.config`` as Kbuild or Yocto writes it (``${B}/.config``);
* a defconfig (``make savedefconfig`` output, ``bcm2711_defconfig``): options it
  does not list take their Kconfig *default*, so a check on a defconfig is
  provisional and :attr:`KernelConfig.kind` says ``"defconfig"``;
* any of the above compressed with gzip or xz (bzip2 too);
* ``-``: the same, read from standard input (``zcat config.gz | rcarkit check-kernel -``);
* the configuration embedded in a kernel built with ``CONFIG_IKCONFIG``: a
  ``vmlinux`` ELF (located through its ``kernel_config_data`` symbol with
  pyelftools, or by scanning its sections) or a raw ``Image``, ``Image.gz`` or
  ``zImage``, scanned for the ``IKCFG_ST`` marker the way the kernel's
  ``scripts/extract-ikconfig`` does.

Kconfig semantics are kept: ``# CONFIG_X is not set`` means ``n``; when a
symbol is assigned twice the last assignment wins (as in ``merge_config.sh``);
strings and hex values are kept exactly as written. The kernel version and
architecture come from the ``# Linux/arm64 4.14.75 Kernel Configuration``
header; a caller may pass ``kernel_version`` where the file has none.

Every failure raises :class:`rcarkit.errors.ConfigError` naming the file (and
the line, where there is one) and what to do about it. Decompression is capped
(:data:`MAX_CONFIG_BYTES` for a configuration, :data:`MAX_IMAGE_BYTES` for a
kernel image), so a decompression bomb is an error, not an out-of-memory kill.

Long because every input format a board keeps its config in (plain,
gzip/xz/bzip2/zstd, IKCONFIG inside vmlinux/Image/zImage) is read here with
one set of caps; splitting the formats would split the caps.
"""

import os
import re

from rcarkit.errors import ConfigError

#: Largest configuration text we accept after decompression (real ones are
#: 100-300 KiB).
MAX_CONFIG_BYTES = 8 * 1024 * 1024
#: Largest kernel image we decompress while looking for an embedded config.
MAX_IMAGE_BYTES = 256 * 1024 * 1024
#: Largest file we read at all.
MAX_INPUT_BYTES = 512 * 1024 * 1024

#: the lines a config holds, as Kconfig writes them (parse_config_text matches
#: them with string methods, which is several times faster)
_ASSIGN_RE = re.compile(r"^CONFIG_([A-Za-z0-9_]+)=(.*)$")
_NOTSET_RE = re.compile(r"^# CONFIG_([A-Za-z0-9_]+) is not set$")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_HEADER_RE = re.compile(
    r"^# Linux/(?P<arch>[A-Za-z0-9_]+) (?P<version>\d+\.\d+[^ ]*) Kernel Configuration")
_OLD_HEADER_RE = re.compile(r"^# Linux kernel version: (?P<version>\d+\.\d+\S*)")
_VERSION_RE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")

IKCFG_START = b"IKCFG_ST"
IKCFG_END = b"IKCFG_ED"

# Kconfig symbols that name the architecture, for configs without a header.
_ARCH_SYMBOLS = (("ARM64", "arm64"), ("X86_64", "x86"), ("X86", "x86"), ("ARM", "arm"),
                 ("RISCV", "riscv"), ("PPC", "powerpc"), ("S390", "s390"), ("MIPS", "mips"))


def tristate_level(value):
    """``n`` 0, ``m`` 1, ``y`` 2, so tristates compare as Kconfig orders them;
    None for anything else (a number, a string)."""
    return {"n": 0, "m": 1, "y": 2}.get(value)


class KernelVersion(tuple):
    """A kernel version as a comparable ``(major, minor, patch)`` tuple.

    ``KernelVersion.parse("5.4.0-26-generic") == (5, 4, 0)``; ``str()`` gives
    back the version as written.
    """

    def __new__(cls, major, minor, patch=0, text=None):
        self = super().__new__(cls, (int(major), int(minor), int(patch)))
        self.text = text or "%d.%d.%d" % (major, minor, patch)
        return self

    @classmethod
    def parse(cls, text):
        """Parse ``"4.14.75"``, ``"6.1"`` or ``"5.4.0-26-generic"``; None if it is not one."""
        if text is None:
            return None
        if isinstance(text, KernelVersion):
            return text
        m = _VERSION_RE.match(str(text).strip())
        if not m:
            return None
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0), str(text).strip())

    def __str__(self):
        return self.text

    def __repr__(self):
        return "KernelVersion(%r)" % self.text

    def __reduce__(self):
        return (KernelVersion, (self[0], self[1], self[2], self.text))


class KernelConfig:
    """A parsed kernel configuration.

    ``values`` maps a symbol name without the ``CONFIG_`` prefix to its value as
    written: ``"y"``, ``"m"``, ``"n"`` (from ``# ... is not set``), a number,
    ``"0x..."`` or a quoted string. A symbol absent from ``values`` was not in
    the file at all: in a full config that means its dependencies are unmet or
    it does not exist in this kernel; in a defconfig it means "the default".
    """

    def __init__(self, values, source="<memory>", kind="full", version=None, arch=None,
                 lines=None, origin="text"):
        self.values = dict(values)
        self.source = str(source)
        self.kind = kind
        self.version = KernelVersion.parse(version) if version is not None else None
        self.arch = arch
        self.lines = dict(lines or {})
        self.origin = origin
        #: the version the header states, even when ``kernel_version`` overrode it
        self.header_version = self.version
        #: for a defconfig expanded with Kconfig defaults (rcarkit.kernel.defaults): how
        self.expanded_from = None

    def get(self, name):
        """The value of ``name`` (with or without ``CONFIG_``), or None when absent."""
        if name.startswith("CONFIG_"):
            name = name[7:]
        return self.values.get(name)

    def tristate(self, name):
        """``"y"``, ``"m"`` or ``"n"``; absent symbols count as ``"n"``."""
        value = self.get(name)
        if value in ("y", "m"):
            return value
        return "n"

    def __contains__(self, name):
        return self.get(name) is not None

    def __len__(self):
        return len(self.values)

    @property
    def is_provisional(self):
        """True when absent options mean 'Kconfig default' rather than 'off'
        (a defconfig not expanded with its Kconfig defaults)."""
        return self.kind != "full" and self.expanded_from is None

    def to_dict(self):
        return {"source": self.source, "kind": self.kind, "origin": self.origin,
                "kernel_version": str(self.version) if self.version else None,
                "arch": self.arch, "symbols": len(self.values),
                "expanded_with": self.expanded_from}


#: Where ``kernel/configs.c`` lands when built as a module (CONFIG_IKCONFIG_PROC=m):
#: loading it creates /proc/config.gz (Raspberry Pi OS kernels ship it so).
CONFIGS_MODULE_NAMES = tuple("kernel/kernel/configs.ko" + ext
                             for ext in ("", ".xz", ".gz", ".zst"))


def configs_module(release, root="/"):
    """The path of the ``configs`` module of kernel ``release`` under ``root``, or None.

    With CONFIG_IKCONFIG_PROC=m, /proc/config.gz exists only after
    ``modprobe configs``; this finds the module so the error can say so.
    """
    base = os.path.join(root, "lib/modules", release)
    for name in CONFIGS_MODULE_NAMES:
        path = os.path.join(base, name)
        if os.path.isfile(path) and not os.path.islink(path):
            return path
    return None


def default_config_path(release=None, proc_root="/"):
    """The config of the running kernel: /proc/config.gz, else /boot/config-$(uname -r).

    Neither there: :class:`ConfigError`, whose hint says ``modprobe configs``
    when the kernel has the ``configs`` module (/proc/config.gz appears only
    once it is loaded)."""
    if release is None:
        release = os.uname().release
    candidates = [os.path.join(proc_root, "proc/config.gz"),
                  os.path.join(proc_root, "boot/config-%s" % release)]
    for path in candidates:
        if os.path.exists(path):
            return path
    module = configs_module(release, proc_root)
    if module is not None:
        hint = ("the kernel builds /proc/config.gz as the module %s: run 'sudo modprobe "
                "configs' and retry, or pass the path of a .config" % module)
    else:
        hint = "pass the path of a .config, or build the kernel with CONFIG_IKCONFIG_PROC=y"
    raise ConfigError("no kernel config found at %s" % " or ".join(candidates), hint=hint)


def parse_config_text(text, source="<memory>", kernel_version=None, kind=None):
    """Parse configuration text into a :class:`KernelConfig`.

    ``kind`` is ``"full"``, ``"defconfig"`` or None to detect it: a file Kconfig
    wrote in full starts with the ``Automatically generated file`` or
    ``Linux/<arch> <version> Kernel Configuration`` header; anything else is
    treated as a defconfig (absent options mean "default").
    """
    values = {}
    lines = {}
    version = None
    arch = None
    generated = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r").strip()
        if not line:
            continue
        if line.startswith("CONFIG_"):   # _ASSIGN_RE, without its cost per line
            name, eq, value = line[7:].partition("=")
            if eq and name and _NAME_CHARS.issuperset(name):
                values[name] = value
                lines[name] = lineno
                continue
        elif line.startswith("#"):
            if line.startswith("# CONFIG_") and line.endswith(" is not set"):  # _NOTSET_RE
                name = line[9:-11]
                if name and _NAME_CHARS.issuperset(name):
                    values[name] = "n"
                    lines[name] = lineno
                    continue
            if lineno <= 10:
                if "Automatically generated file" in line:
                    generated = True
                h = _HEADER_RE.match(line) or _OLD_HEADER_RE.match(line)
                if h:
                    generated = True
                    version = h.group("version")
                    arch = h.groupdict().get("arch")
            continue
        if "\x00" in line:
            raise ConfigError("binary data, not a kernel config", path=source, line=lineno,
                              hint="pass a .config, a /proc/config.gz or a kernel image")
        if not values:
            # no config line yet: not a kernel config at all (check-node's
            # default config may be a link to any file), so nothing of it is echoed
            raise ConfigError("not a kernel config (no CONFIG_ line before this one)",
                              path=source, line=lineno,
                              hint="expected 'CONFIG_NAME=value' or '# CONFIG_NAME is not set'")
        raise ConfigError(
            "not a kernel config line: %r" % _clip(line), path=source, line=lineno,
            hint="expected 'CONFIG_NAME=value' or '# CONFIG_NAME is not set'")
    if not values:
        raise ConfigError("no CONFIG_ lines", path=source,
                          hint="this is not a kernel config; pass a .config or a defconfig")
    if arch is None:
        for sym, name in _ARCH_SYMBOLS:
            if values.get(sym) == "y":
                arch = name
                break
    header_version = KernelVersion.parse(version) if version is not None else None
    if kernel_version is not None:
        parsed = KernelVersion.parse(kernel_version)
        if parsed is None:
            raise ConfigError("--kernel-version %r is not a kernel version" % (kernel_version,),
                              hint="write it as 4.14.75 or 6.1")
        version = parsed
    elif version is not None:
        version = KernelVersion.parse(version)
    if kind is None:
        kind = "full" if generated else "defconfig"
    cfg = KernelConfig(values, source=source, kind=kind, version=version, arch=arch,
                       lines=lines)
    cfg.header_version = header_version
    return cfg


def load_config(path, kernel_version=None, kind=None):
    """Read the configuration at ``path`` (see the module docstring for what it takes)."""
    data, origin = read_config_bytes(path)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes anything
            raise ConfigError("not text", path=path)
        if "\x00" in text:
            raise ConfigError("binary data, not a kernel config", path=path,
                              hint="pass a .config, a /proc/config.gz or a kernel image")
    source = "<stdin>" if str(path) == "-" else str(path)
    cfg = parse_config_text(text, source=source, kernel_version=kernel_version, kind=kind)
    cfg.origin = origin
    return cfg


def read_config_bytes(path):
    """Return ``(config_bytes, origin)`` for the file at ``path``.

    ``origin`` says how the text was found: ``text``, ``gzip``, ``xz``, ``bzip2``,
    ``vmlinux`` (ELF) or ``image`` (raw or compressed kernel image). Only a
    regular file (or ``-``, standard input) is read; plain text is capped at
    :data:`MAX_CONFIG_BYTES` before it is read whole, anything else at
    :data:`MAX_INPUT_BYTES`.
    """
    import sys
    from rcarkit.safe_read import open_regular
    path = os.fspath(path)
    name = "<stdin>" if path == "-" else path
    if path == "-":
        fh = sys.stdin.buffer
    else:
        if os.path.isdir(path):
            raise ConfigError("is a directory", path=path,
                              hint="pass the .config file inside the build directory")
        fh = open_regular(path, ConfigError)
        size = os.fstat(fh.fileno()).st_size
        if size > MAX_INPUT_BYTES:
            fh.close()
            raise ConfigError("file is %d MiB, larger than any kernel or config" % (size >> 20),
                              path=path)
    try:
        head = fh.read(64 * 1024)
        limit = MAX_CONFIG_BYTES if _looks_plain_text(head) else MAX_INPUT_BYTES
        rest = fh.read(limit + 1 - len(head)) if len(head) == 64 * 1024 else b""
    except OSError as exc:
        raise ConfigError("cannot read: %s" % (exc.strerror or exc), path=name)
    finally:
        if fh is not sys.stdin.buffer:
            fh.close()
    data = head + rest if rest else head
    del head, rest
    if len(data) > limit:
        if limit == MAX_CONFIG_BYTES:
            raise ConfigError("text over %d MiB; not a kernel config" % (limit >> 20), path=name,
                              hint="a kernel config is a few hundred KiB")
        raise ConfigError("more than %d MiB of input; not a kernel or a config"
                          % (MAX_INPUT_BYTES >> 20), path=name)
    if not data:
        if path == "-":
            raise ConfigError("empty input", path=name)
        raise ConfigError("empty file", path=path, hint="the config is empty; regenerate it")
    return _decode_container(data, name)


_CONTAINERS = ((b"\x1f\x8b", "gzip"), (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bzip2"))


def _looks_plain_text(head):
    """True for the start of an uncompressed, non-ELF, marker-free text file."""
    if any(head.startswith(magic) for magic, _ in _CONTAINERS) or head[:4] == b"\x7fELF":
        return False
    return IKCFG_START not in head and not _looks_binary(head)


def _decode_container(data, path):
    for magic, how in _CONTAINERS:
        if data.startswith(magic):
            head = next(_decompressed_chunks(data, how, step=64 * 1024), b"")
            if head[:4] != b"\x7fELF" and (IKCFG_START in head or _looks_binary(head)):
                # a compressed raw kernel image (Image.gz): scan it as it streams,
                # never holding it whole
                return _from_compressed_image(data, how, path), "image"
            inner = _decompress(data, how, path, MAX_IMAGE_BYTES, MAX_CONFIG_BYTES)
            return _from_decompressed(inner, how, path)
    if data[:4] == b"\x7fELF":
        return _from_elf(data, path), "vmlinux"
    if IKCFG_START in data or _looks_binary(data):
        return _from_image(data, path), "image"
    return data, "text"


def _from_decompressed(inner, how, path):
    """A compressed file holds either config text or a kernel image (Image.gz)."""
    if inner[:4] == b"\x7fELF":
        return _from_elf(inner, path), "vmlinux"
    if IKCFG_START in inner or _looks_binary(inner):
        return _from_image(inner, path), "image"
    if len(inner) > MAX_CONFIG_BYTES:
        raise ConfigError("decompressed %s text is over %d MiB; not a kernel config"
                          % (how, MAX_CONFIG_BYTES >> 20), path=path)
    return inner, how


#: How many IKCFG_ST markers one input may make us try before we give up:
#: a kernel has one; a zImage may show it twice (stored block and stream).
MAX_IKCFG_CANDIDATES = 32


class _Search:
    """What a search for the embedded config has spent: candidate markers
    tried (bounded by :data:`MAX_IKCFG_CANDIDATES`, whatever the input holds)
    and the first failure, kept as a message only: a saved exception would
    keep its frames, and with them the blob, alive."""

    def __init__(self):
        self.tries = 0
        self.first_error = None

    @property
    def exhausted(self):
        return self.tries >= MAX_IKCFG_CANDIDATES

    def failed(self, exc):
        if self.first_error is None:
            self.first_error = (exc.message, exc.path, exc.hint)

    def raise_first(self):
        if self.first_error is not None:
            message, path, hint = self.first_error
            raise ConfigError(message, path=path, hint=hint)


def _from_compressed_image(data, how, path):
    """The config in a compressed raw kernel image, found while decompressing."""
    search = _Search()
    status = {}
    found = _ikconfig_in_stream(memoryview(data), how, path, search, status)
    if found is not None:
        return found
    search.raise_first()
    if status["end"] == "damaged":
        raise ConfigError("corrupt %s data" % how, path=path,
                          hint="the file is damaged; copy it again")
    if status["end"] == "cap":
        raise ConfigError("%s data expands past %d MiB (decompression bomb?) with no "
                          "embedded config" % (how, MAX_IMAGE_BYTES >> 20), path=path,
                          hint="a kernel image is tens of MiB")
    if status["end"] == "truncated":
        raise ConfigError("truncated %s data" % how, path=path,
                          hint="the file was cut short; copy it again")
    raise ConfigError("binary file without an embedded kernel config", path=path,
                      hint="the kernel needs CONFIG_IKCONFIG=y; or pass the build's .config")


def _looks_binary(data):
    head = data[:4096]
    return b"\x00" in head


def _clip(text, n=60):
    return text if len(text) <= n else text[:n] + "..."


def _decompress(data, how, path, limit, text_limit=None):
    """Decompress a whole ``data`` stream (gzip, xz or bzip2), strictly and capped.

    Output is produced in 1 MiB steps and stops with an error past ``limit``
    bytes, or past ``text_limit`` when the output is text (a config, not a
    kernel image): a decompression bomb costs at most the cap, never the machine.
    """
    status = {}
    out = bytearray()
    for chunk in _decompressed_chunks(data, how, status=status):
        out += chunk
        cap = limit
        if text_limit is not None and b"\x00" not in out[:4096]:
            cap = text_limit
        if len(out) > cap:
            raise ConfigError("%s data expands past %d MiB (decompression bomb?)"
                              % (how, cap >> 20), path=path,
                              hint="a kernel config is a few hundred KiB")
    if status["end"] == "damaged":
        raise ConfigError("corrupt %s data: %s" % (how, status["error"]), path=path,
                          hint="the file is damaged; copy it again")
    if status["end"] != "eof":
        raise ConfigError("truncated %s data" % how, path=path,
                          hint="the file was cut short; copy it again")
    return bytes(out)


def _decompressed_chunks(data, how, step=1 << 20, status=None):
    """Decompress the stream at the start of ``data`` in ``step``-sized pieces
    (:func:`rcarkit.safe_read.decompressed_chunks`). A stream followed by other
    bytes (as in a kernel image) simply ends; ``status["end"]`` tells how."""
    from rcarkit.safe_read import decompressed_chunks
    return decompressed_chunks(data, how, step=step, status=status)


def _ikconfig_in_stream(data, how, path, search, status=None):
    """Find the embedded config in the kernel image compressed at the start of
    ``data`` without holding the image in memory: the decompressed pieces are
    scanned for IKCFG_ST as they come, up to :data:`MAX_IMAGE_BYTES`."""
    chunks = _decompressed_chunks(data, how, status=status)
    window = b""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        window += chunk
        if IKCFG_START in window:
            parts = [window[window.index(IKCFG_START):]]
            size = len(parts[0])
            # read on to the end marker (or the config cap) before decoding
            while IKCFG_END not in parts[-1][-(1 << 20) - 8:] and size < MAX_CONFIG_BYTES:
                more = next(chunks, b"")
                if not more:
                    break
                total += len(more)
                size += len(more)
                parts.append(more)
            blob = b"".join(parts)
            del parts
            found = _ikconfig_payload(blob, path, search)
            if found is not None:
                return found
            window = blob[-(len(IKCFG_START) - 1):]
            del blob
            if search.exhausted:
                break
        window = window[-(len(IKCFG_START) - 1):]
        if total > MAX_IMAGE_BYTES:
            if status is not None:
                status["end"] = "cap"
            break
    return None


def _ikconfig_payload(blob, path, search=None):
    """Extract the gzip stream between IKCFG_ST and IKCFG_ED in ``blob``, or None.

    With a ``search``, a marker whose stream does not decompress is recorded
    there and the search goes on (like extract-ikconfig, which tries the next
    way when zcat fails): in a zImage the markers and the config's gzip stream
    can sit verbatim in a stored block of the compressed kernel. At most
    :data:`MAX_IKCFG_CANDIDATES` markers are tried per input, each through a
    view of ``blob`` (no copy), whatever the number of markers.
    """
    view = memoryview(blob)
    start = blob.find(IKCFG_START)
    while start != -1:
        if search is not None and search.exhausted:
            return None
        begin = start + len(IKCFG_START)
        # the compressed config is smaller than the decompressed cap
        stop = min(len(blob), begin + MAX_CONFIG_BYTES + 4096)
        end = blob.find(IKCFG_END, begin, stop)
        payload = view[begin:end if end != -1 else stop]
        if payload[:2] == b"\x1f\x8b":
            if search is None:
                return _decompress(payload, "gzip", path, MAX_CONFIG_BYTES)
            search.tries += 1
            try:
                return _decompress(payload, "gzip", path, MAX_CONFIG_BYTES)
            except ConfigError as exc:
                search.failed(exc)
        start = blob.find(IKCFG_START, start + 1)
    return None


def _from_image(data, path):
    """Config embedded in a raw kernel image, as scripts/extract-ikconfig finds it."""
    search = _Search()
    found = _ikconfig_payload(data, path, search)
    if found is not None:
        return found
    # The image itself is compressed inside a self-extracting wrapper (zImage,
    # EFI zboot): try each compressed stream, as extract-ikconfig does.
    magics = ((b"\x1f\x8b\x08", "gzip"), (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bzip2"),
              (b"\x5d\x00\x00\x00", "lzma"))
    view = memoryview(data)
    for magic, how in magics:
        pos = data.find(magic)
        tries = 0
        while pos != -1 and tries < 16 and not search.exhausted:
            found = _ikconfig_in_stream(view[pos:], how, path, search)
            if found is not None:
                return found
            pos = data.find(magic, pos + 1)
            tries += 1
    search.raise_first()
    raise ConfigError("binary file without an embedded kernel config", path=path,
                      hint="the kernel needs CONFIG_IKCONFIG=y; or pass the build's .config")


def _from_elf(data, path):
    """Config embedded in a vmlinux ELF (CONFIG_IKCONFIG), found with pyelftools."""
    import io
    try:
        from elftools.elf.elffile import ELFFile
        from elftools.common.exceptions import ELFError
    except ImportError:  # pragma: no cover - pyelftools is a dependency
        return _from_image(data, path)
    try:
        elf = ELFFile(io.BytesIO(data))
        symtab = elf.get_section_by_name(".symtab")
        if symtab is not None and hasattr(symtab, "get_symbol_by_name"):
            start = symtab.get_symbol_by_name("kernel_config_data")
            end = symtab.get_symbol_by_name("kernel_config_data_end")
            if start:
                addr = start[0]["st_value"]
                stop = end[0]["st_value"] if end else None
                for section in elf.iter_sections():
                    lo = section["sh_addr"]
                    hi = lo + section["sh_size"]
                    if section["sh_type"] != "SHT_NOBITS" and lo <= addr < hi \
                            and not section["sh_flags"] & 0x800:
                        blob = section.data()
                        # kernel/configs.c: "IKCFG_ST" kernel_config_data: <gzip>
                        # kernel_config_data_end: "IKCFG_ED"
                        chunk = blob[addr - lo:(stop - lo) if stop else None]
                        if chunk[:2] == b"\x1f\x8b":
                            return _decompress(chunk, "gzip", path, MAX_CONFIG_BYTES)
                        found = _ikconfig_payload(blob[max(0, addr - lo - 8):], path)
                        if found is not None:
                            return found
        for section in elf.iter_sections():
            # SHF_COMPRESSED (0x800): pyelftools would inflate it whole, uncapped;
            # the kernel never compresses the section holding kernel_config_data
            if section["sh_type"] in ("SHT_PROGBITS",) and not section["sh_flags"] & 0x800:
                found = _ikconfig_payload(section.data(), path)
                if found is not None:
                    return found
    except ConfigError:
        raise
    except RecursionError:
        raise ConfigError("damaged ELF file: structures nested too deeply", path=path)
    except (ELFError, Exception) as exc:  # noqa: B014 - pyelftools raises anything
        # on crafted headers: OverflowError (a size past ssize_t), struct.error,
        # AssertionError, TypeError, ... all mean a damaged file, never a traceback
        raise ConfigError("damaged ELF file: %s" % (_clip(str(exc)) or type(exc).__name__),
                          path=path)
    raise ConfigError("vmlinux without an embedded kernel config", path=path,
                      hint="the kernel needs CONFIG_IKCONFIG=y; or pass the build's .config")
