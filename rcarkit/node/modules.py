"""Kernel modules on a running board (or a mounted image): where, and do they fit.

A kernel config with ``CONFIG_BRIDGE_NETFILTER=m`` only says the module was
*built*. Whether the board can load it depends on the image: the module file
must be under ``/lib/modules/<release>/`` (Yocto images without
``kernel-modules`` in ``IMAGE_INSTALL`` have none), ``depmod`` must have
listed it in ``modules.dep``, and its ``vermagic`` must name the running kernel
release (a module from another build is refused: ``disagrees about version of
symbol`` / ``invalid module format``).

Symbol -> module comes from ``kconfig_profiles/kernel-modules.toml``, generated
from the kernel's own Makefiles (``obj-$(CONFIG_X) += name.o``) by
``tools/gen_kernel_modules.py``.

:class:`ModuleTree` indexes ``<root>/lib/modules/<release>``:

* ``modules.builtin``: modules linked into the kernel image (fine: nothing to load);
* ``modules.dep``: what ``modprobe`` can find;
* the ``.ko``, ``.ko.xz``, ``.ko.gz`` and ``.ko.zst`` files themselves.

:func:`read_modinfo` reads the ``.modinfo`` ELF section with pyelftools
(decompressing xz and gzip in Python, zstd through the ``zstd`` program).
"""

import io
import os
import re

from rcarkit.errors import RcarkitError
from rcarkit.kernel.config import KernelVersion

MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.gz", ".ko.zst")
#: Largest module file read (after decompression); real ones are < 10 MiB.
MAX_MODULE_BYTES = 64 * 1024 * 1024
#: Largest modules.dep / modules.builtin / proc/modules we read (real: < 1 MiB).
MAX_INDEX_BYTES = 16 * 1024 * 1024
#: How deep under lib/modules/RELEASE we look for module files.
MAX_MODULE_DEPTH = 16
#: A module path in kernel-modules.toml (fullmatch: no newline at the end).
_MODULE_PATH_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./+-]*")



def module_name(path_or_name):
    """The module name Linux uses: basename without ``.ko*``, ``-`` as ``_``."""
    base = os.path.basename(path_or_name)
    for suffix in MODULE_SUFFIXES:
        if base.endswith(suffix):
            base = base[:-len(suffix)]
            break
    return base.replace("-", "_")


def yocto_package(name):
    """The package Yocto's kernel-module-split makes for module ``name``."""
    return "kernel-module-" + name.replace("_", "-").lower()


class ModuleMap:
    """``kernel-modules.toml``: symbol -> module paths (relative to ``kernel/``)."""

    def __init__(self, symbols, kernel=None, path=None, selects=None, older=None):
        self.symbols = symbols
        self.kernel = kernel
        self.path = path
        self.selects = selects or {}
        self.older = older or {}

    @classmethod
    def load(cls, directory=None):
        from rcarkit.kernel.profiles import _load_toml, profiles_dir
        path = os.path.join(directory or profiles_dir(), "kernel-modules.toml")
        if not os.path.isfile(path) and directory:  # a --profiles-dir without one
            path = os.path.join(profiles_dir(), "kernel-modules.toml")
        if not os.path.isfile(path):
            raise RcarkitError("kernel-modules.toml is missing", path=path,
                               hint="regenerate it with tools/gen_kernel_modules.py")
        data = _load_toml(path)
        for table in ("symbols", "removed_symbols", "older_modules", "generated", "selects"):
            if not isinstance(data.get(table) or {}, dict):
                raise RcarkitError("%s must be a table ([%s]), not %s"
                                   % (table, table, type(data[table]).__name__), path=path)
        for sym, entry in (data.get("older_modules") or {}).items():
            if not isinstance(entry, dict) or not isinstance(entry.get("modules"), list) \
                    or not isinstance(entry.get("until"), str):
                raise RcarkitError("[older_modules] %s needs until (a version) and modules "
                                   "(a list)" % sym, path=path)
        symbols = {}
        for table in ("symbols", "removed_symbols"):
            for sym, mods in (data.get(table) or {}).items():
                if not isinstance(mods, list) or not all(isinstance(m, str) for m in mods):
                    raise RcarkitError("[%s] %s must be a list of module paths" % (table, sym),
                                       path=path)
                for mod in mods:  # written into modules-load.d and Yocto lines
                    if not _MODULE_PATH_RE.fullmatch(mod) or ".." in mod.split("/"):
                        raise RcarkitError("[%s] %s: %r is not a module path" % (table, sym, mod),
                                           path=path, hint="like net/bridge/br_netfilter.ko")
                symbols.setdefault(sym, []).extend(mods)
        older = {}
        for sym, entry in (data.get("older_modules") or {}).items():
            try:
                older[sym] = (KernelVersion.parse(entry["until"]), list(entry["modules"]))
            except (KeyError, TypeError):
                raise RcarkitError("[older_modules] %s needs until and modules" % sym, path=path)
        return cls(symbols, kernel=(data.get("generated") or {}).get("kernel"), path=path,
                   selects=dict(data.get("selects") or {}), older=older)

    def modules_for(self, symbol, arch=None, version=None, config=None):
        """Module paths ``symbol=m`` builds; arch/ paths of other architectures dropped.

        ``version`` (a KernelVersion) picks the modules older kernels built
        (``[older_modules]``); a selector symbol (``[selects]``) stands for the
        modules of the symbols it selects that ``config`` has as ``m``.
        """
        if symbol in self.older and version is not None and version < self.older[symbol][0]:
            mods = self.older[symbol][1]
        elif symbol in self.symbols:
            mods = self.symbols[symbol]
        elif symbol in self.selects and config is not None:
            mods = []
            for target in self.selects[symbol]:
                if config.get(target) == "m":
                    mods.extend(m for m in self.modules_for(target, arch, version, config)
                                if m not in mods)
            return mods
        else:
            mods = []
        if arch:
            arch_dir = {"aarch64": "arm64", "x86_64": "x86", "i386": "x86"}.get(arch, arch)
            mods = [m for m in mods if not m.startswith("arch/") or m.startswith("arch/%s/" % arch_dir)]
        return list(mods)


def _node(root):
    """``root`` as a :class:`rcarkit.node.probe.NodeRoot` (a path is wrapped)."""
    if hasattr(root, "join") and hasattr(root, "path"):
        return root
    from rcarkit.node.probe import NodeRoot
    return NodeRoot(root)


class ModuleTree:
    """The modules of one kernel release under ``<root>/lib/modules/<release>``.

    ``root`` is a :class:`rcarkit.node.probe.NodeRoot` (or a directory): every
    path, including the ones ``modules.dep`` names, is resolved inside it.
    """

    def __init__(self, root, release):
        from rcarkit.node.rootfs import valid_release
        self.node = _node(root)
        self.release = release
        self.rel_dir = "lib/modules/%s" % release
        valid = valid_release(release)
        self.directory = (self.node.join(self.rel_dir) if valid else None) or \
            os.path.join(self.node.path, "lib", "modules")
        self.exists = valid and self.node.isdir(self.rel_dir)
        self.builtin = set()        # module names linked into the kernel
        self.dep = {}               # module name -> relative path listed in modules.dep
        self.depends = {}           # module name -> relative paths it needs (modules.dep)
        self.has_dep_file = False
        self._files = None          # module name -> relative path of every file found
        if self.exists:
            self._read_builtin()
            self._read_dep()

    def _read_lines(self, name):
        from rcarkit.safe_read import read_capped
        rel = self.rel_dir + "/" + name
        if not self.node.exists(rel):
            return None
        path = self.node.join(rel)
        try:
            if path is None:        # a symlink loop
                raise RcarkitError("symlink loop", path=os.path.join(self.directory, name))
            data = read_capped(path, MAX_INDEX_BYTES, what=name, within=self.node.within)
        except RcarkitError:
            if path is None or not os.path.exists(path):   # dangling: as good as absent
                return None
            raise
        return data.decode("utf-8", "replace").splitlines()

    def _read_builtin(self):
        for line in self._read_lines("modules.builtin") or ():
            line = line.strip()
            if line:
                self.builtin.add(module_name(line))

    def _read_dep(self):
        lines = self._read_lines("modules.dep")
        if lines is None:
            return
        self.has_dep_file = True
        for line in lines:
            if ":" not in line:
                continue
            rel, _, needs = line.partition(":")
            rel = rel.strip()
            if rel:
                self.dep.setdefault(module_name(rel), rel)
                self.depends.setdefault(module_name(rel), needs.split())

    def files(self):
        """Every module file under the release directory: name -> relative path."""
        if self._files is None:
            self._files = {}
            top = self.directory.rstrip(os.sep).count(os.sep)
            for dirpath, dirnames, filenames in os.walk(self.directory):
                # bounded walk: real trees are ~6 deep (kernel/drivers/net/...)
                if dirpath.count(os.sep) - top >= MAX_MODULE_DEPTH:
                    dirnames[:] = []
                dirnames.sort()
                for fname in sorted(filenames):
                    if fname.endswith(MODULE_SUFFIXES):
                        full = os.path.join(dirpath, fname)
                        rel = os.path.relpath(full, self.directory)
                        if os.path.islink(full) and not self._isfile(rel):
                            continue    # dangling, a loop, or not a file inside the root
                        self._files.setdefault(module_name(fname), rel)
        return self._files

    def find(self, name):
        """Where module ``name`` is: ``("builtin", None)``, ``("dep", relpath)``,
        ``("file", relpath)`` (present but not in modules.dep) or ``(None, None)``."""
        name = module_name(name)
        if name in self.builtin:
            return "builtin", None
        rel = self.dep.get(name)
        if rel is not None and self._isfile(rel):
            return "dep", rel
        rel = self.files().get(name)
        if rel is not None:
            return "file", rel
        return None, None

    def path(self, rel):
        """The host path of module ``rel`` (relative to the release directory,
        or absolute inside the root as old modules.dep files write it)."""
        inside = rel if rel.startswith("/") else self.rel_dir + "/" + rel
        return self.node.join(inside)

    def modinfo(self, rel):
        """:func:`read_modinfo` of module ``rel``, opened only if it is really
        inside the root (:attr:`rcarkit.node.probe.NodeRoot.within`)."""
        return read_modinfo(self.path(rel), self.node.within)

    def _isfile(self, rel):
        path = self.path(rel)
        return path is not None and os.path.isfile(path)

    def missing_dependencies(self, name):
        """Files modules.dep says ``name`` needs that are not there."""
        return [rel for rel in self.depends.get(module_name(name), [])
                if not self._isfile(rel)]


def read_module_bytes(path, within=None):
    """The ELF bytes of a module file, decompressed. Raises RcarkitError when it
    cannot be read (the message says why, e.g. no ``zstd`` program); ``within``:
    see :func:`rcarkit.safe_read.open_regular`."""
    from rcarkit.safe_read import read_capped
    raw = read_capped(path, MAX_MODULE_BYTES, what="a module", within=within)
    if path.endswith(".xz"):
        import lzma
        decompressor = lzma.LZMADecompressor()
        try:
            data = decompressor.decompress(raw, MAX_MODULE_BYTES)
        except lzma.LZMAError as exc:
            raise RcarkitError("not a valid xz file: %s" % exc, path=path)
        if not decompressor.eof and decompressor.needs_input:  # input ended mid-stream
            raise RcarkitError("not a valid xz file: truncated", path=path)
        return data
    if path.endswith(".gz"):
        import gzip
        import zlib
        try:
            return gzip.GzipFile(fileobj=io.BytesIO(raw)).read(MAX_MODULE_BYTES)
        except (OSError, EOFError, zlib.error) as exc:
            raise RcarkitError("not a valid gzip file: %s" % exc, path=path)
    if path.endswith(".zst"):
        return _unzstd(raw, path)
    return raw


def _unzstd(raw, path):
    try:
        import zstandard  # optional
    except ImportError:
        zstandard = None
    if zstandard is not None:
        # streamed and capped while it streams: a .ko.zst of zeros must not
        # expand to gigabytes before the cap is checked
        from rcarkit.safe_read import decompress_capped
        return decompress_capped(raw, "zstd", MAX_MODULE_BYTES, RcarkitError, path)
    import shutil
    import subprocess
    exe = shutil.which("zstd")
    if exe is None:
        raise RcarkitError("cannot read a .ko.zst module without the zstd program", path=path,
                           hint="install zstd")
    try:
        proc = subprocess.run([exe, "-dc"], input=raw, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise RcarkitError("zstd failed: %s" % exc, path=path)
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RcarkitError("not a valid zstd file: %s" % (lines[-1] if lines else
                                                          "zstd exit %d" % proc.returncode),
                           path=path)
    return proc.stdout[:MAX_MODULE_BYTES]


def read_modinfo(path, within=None):
    """The ``.modinfo`` key/value pairs of a module file (``{"vermagic": ..., ...}``).

    Repeated keys (``alias``, ``depends`` parts) keep their first value; the
    full list is under ``key + "[]"``.
    """
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile
    data = read_module_bytes(path, within)
    try:
        elf = ELFFile(io.BytesIO(data))
        section = elf.get_section_by_name(".modinfo")
        if section is not None and section["sh_flags"] & 0x800:   # SHF_COMPRESSED
            raise RcarkitError("compressed .modinfo section: not a kernel module", path=path)
        blob = section.data() if section is not None else None
    except RcarkitError:
        raise
    except (ELFError, Exception) as exc:  # noqa: B014 - pyelftools raises anything
        # on crafted headers (OverflowError, struct.error, ...): a damaged file
        raise RcarkitError("not an ELF kernel module: %s"
                           % (str(exc)[:80] or type(exc).__name__), path=path)
    if blob is None:
        raise RcarkitError("no .modinfo section: not a kernel module", path=path)
    info = {}
    for item in blob.split(b"\0"):
        if b"=" not in item:
            continue
        key, _, value = item.partition(b"=")
        key = key.decode("utf-8", "replace")
        value = value.decode("utf-8", "replace")
        info.setdefault(key, value)
        info.setdefault(key + "[]", []).append(value)
    return info


def vermagic_release(vermagic):
    """The kernel release a vermagic string names (its first word)."""
    return (vermagic or "").split(" ", 1)[0] or None


def loaded_modules(root):
    """Names of the modules in ``<root>/proc/modules`` (None when unreadable)."""
    from rcarkit.safe_read import read_capped
    node = _node(root)
    path = node.join("proc/modules")
    if path is None or not os.path.exists(path):
        return None
    try:
        text = read_capped(path, MAX_INDEX_BYTES, what="proc/modules",
                           within=node.within).decode("utf-8", "replace")
    except RcarkitError:
        if not os.path.exists(path) or not os.access(path, os.R_OK):
            return None
        raise
    return set(line.split(" ", 1)[0] for line in text.splitlines() if line.strip())
