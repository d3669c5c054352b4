"""A kernel source tree's Kconfig, loaded with Kconfiglib, and dependency resolution.

Library use::

    from rcarkit.kernel.tree import load_tree

    tree = load_tree("/usr/src/linux-source-6.1", arch="arm64")
    tree.kernel_version                  # "6.1.192", from the tree's Makefile
    final = tree.simulate(base_text, ["CONFIG_IP_VS=y"])   # merge + olddefconfig
    final.value("IP_VS")                 # "y"
    tree.explain("IP_VS", "y")           # why it is not set, what fixes it

Loading
    Kconfiglib 14.1.0 (PyPI ``kconfiglib``) predates the bare ``modules``
    keyword that replaced ``option modules`` in Linux 5.13. The tree is read
    through an ``open`` override on a Kconfig subclass that rewrites such a
    line to ``option modules`` in memory; no file on disk is touched. The
    environment the kernel's Makefile exports to Kconfig (``srctree``,
    ``ARCH``, ``SRCARCH``, ``KERNELVERSION``, ``CC``, ``LD``, ``CC_VERSION_TEXT``,
    ...) is set while the tree is parsed, so ``$(cc-option,...)`` and friends
    give what ``make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-`` gives. The
    cross compiler is used when it is installed (``aarch64-linux-gnu-gcc`` for
    arm64), else ``gcc``; compiler-dependent options then follow that compiler.
    The shell calls run in a scratch directory (``cc-option`` creates
    ``.tmp_$$`` in the current directory).

Simulation
    :meth:`KernelTree.simulate` does what ``merge_config.sh -m`` followed by
    ``make olddefconfig`` does: the base lines, then the fragment lines (the last
    assignment of a symbol wins), loaded and re-evaluated with Kconfig's rules;
    the result (:class:`SimulatedConfig`) holds every final value and the
    ``.config`` text exactly as the C tools write it.

Resolution
    :meth:`KernelTree.fixes` answers "what must also be set so that SYMBOL
    reaches VALUE": it walks the symbol's prompt condition (its ``depends on``,
    the enclosing ``if``/``menu`` conditions and, for a choice member, the
    choice's), adds every unmet parent (for ``A || B`` the first alternative
    that can be met), and for a symbol without a prompt looks for a symbol that
    ``select`` s it. It raises :class:`Unsatisfiable` when nothing can: the
    dependency names a symbol the tree does not define for this architecture
    (``X86``), a promptless architecture symbol that is off, or needs another
    symbol *off* (``!X``) that the configuration has on.
    :meth:`KernelTree.resolve_entries` applies this to a fragment plan until
    every value survives (see :mod:`rcarkit.kernel.fragment`).

Long because the Kconfiglib adapter (loading a tree, the ``modules``
rewrite, the ``imply`` fix, simulating the merge) is one unit: each part
relies on the state the others set up.
"""

import contextlib
import io
import os
import re
import shutil
import subprocess
import tempfile
import threading

from rcarkit.errors import RcarkitError
from rcarkit.kernel.config import tristate_level

_MODULES_LINE = re.compile(r"^(\s*)modules(\s*(?:#.*)?)$")
_ARCH_FROM_SRCARCH = {"x86_64": "x86", "i386": "x86", "aarch64": "arm64"}
#: the cross compiler prefix per architecture (Debian package names)
CROSS_PREFIX = {"arm64": "aarch64-linux-gnu-", "arm": "arm-linux-gnueabihf-",
                "riscv": "riscv64-linux-gnu-", "x86": "x86_64-linux-gnu-"}
_MAX_ROUNDS = 25
_MAX_DEPTH = 30

_TREES = {}
_LOCK = threading.Lock()


class TreeError(RcarkitError):
    """The kernel tree cannot be used (not a kernel tree, Kconfig error)."""


class Unsatisfiable(Exception):
    """A value cannot be reached in this tree/architecture; ``str()`` says why."""

    def __init__(self, message, arch_related=False):
        super().__init__(message)
        self.arch_related = arch_related


def _kconfiglib():
    try:
        import kconfiglib
    except ImportError:
        raise TreeError("--kernel-src needs Kconfiglib: pip install kconfiglib==14.1.0")
    return kconfiglib


def rewrite_kconfig_text(text):
    """The in-memory fix for Kconfiglib 14.1.0: bare ``modules`` -> ``option modules``."""
    if "modules" not in text:
        return text
    out = []
    for line in text.splitlines(True):
        m = _MODULES_LINE.match(line.rstrip("\n"))
        if m:
            line = "%soption modules%s\n" % (m.group(1), m.group(2))
        out.append(line)
    return "".join(out)


def _kconfig_class():
    kconfiglib = _kconfiglib()

    class KernelKconfig(kconfiglib.Kconfig):
        """Kconfiglib's Kconfig reading Kconfig files through the rewrite above."""

        def _open(self, filename, mode):
            if "r" in mode:
                from rcarkit.safe_read import read_text_capped
                text = read_text_capped(filename, MAX_KCONFIG_FILE_BYTES, TreeError,
                                        "a Kconfig file")
                if os.path.basename(filename).startswith("Kconfig"):
                    text = rewrite_kconfig_text(text)
                return io.StringIO(text)
            return super()._open(filename, mode)

    return KernelKconfig


def _install_c_value_rules():
    """Make Kconfiglib's Symbol values follow scripts/kconfig/symbol.c on ``imply``.

    Kconfiglib 14.1.0 differs from the kernel's C tools (Linux 6.1
    ``sym_calc_value``) on ``imply``: it promotes a user's ``m`` to ``y`` when
    an implying symbol is ``y``, ignores an implied symbol's unmet dependencies
    for its value, and does not write an implied symbol whose dependencies are
    unmet. The C rules: the user value (clamped by the visibility) wins when the
    symbol is visible; otherwise the first default whose condition holds,
    raised to the implied value and clamped by the direct dependencies, and the
    symbol is written whenever something implies it. Kconfiglib compares
    ``__class__ is Symbol`` internally, so a subclass cannot be used; the
    ``tri_value`` property of its Symbol class is replaced instead (once, for
    the whole process; only rcarkit uses Kconfiglib in it).
    """
    kc = _kconfiglib()
    if getattr(kc.Symbol, "_rcarkit_c_rules", False):
        return

    def tri_value(self):
        if self._cached_tri_val is not None:
            return self._cached_tri_val
        if self.orig_type not in (kc.BOOL, kc.TRISTATE):
            self._cached_tri_val = 0
            return 0
        vis = self.visibility
        self._write_to_conf = (vis != 0)
        val = 0
        if not self.choice:
            if vis and self.user_value is not None:
                val = min(self.user_value, vis)
            else:
                for default, cond in self.defaults:
                    dep_val = kc.expr_value(cond)
                    if dep_val:
                        val = min(kc.expr_value(default), dep_val)
                        if val:
                            self._write_to_conf = True
                        break
                implied = kc.expr_value(self.weak_rev_dep)
                if implied == 1 and self.orig_type == kc.BOOL:
                    implied = 2
                if implied:
                    self._write_to_conf = True
                    val = min(max(val, implied), kc.expr_value(self.direct_dep))
            dep_val = kc.expr_value(self.rev_dep)
            if dep_val:
                val = max(dep_val, val)
                self._write_to_conf = True
            if val == 1 and self.type is kc.BOOL:
                val = 2
        elif vis == 2:
            val = 2 if self.choice.selection is self else 0
        elif vis and self.user_value:
            val = 1
        self._cached_tri_val = val
        return val

    tri_value.__doc__ = kc.Symbol.tri_value.__doc__
    kc.Symbol.tri_value = property(tri_value)
    kc.Symbol._rcarkit_c_rules = True


#: Largest single Kconfig file we read (the biggest in Linux 6.1 is ~100 KiB).
MAX_KCONFIG_FILE_BYTES = 4 * 1024 * 1024


def tree_version(srctree):
    """``VERSION.PATCHLEVEL.SUBLEVEL`` + EXTRAVERSION from the tree's Makefile."""
    path = os.path.join(srctree, "Makefile")
    fields = {}
    from rcarkit.safe_read import open_regular
    try:
        if os.path.exists(path):
            fh = open_regular(path, TreeError)    # a FIFO, /dev/zero: refused
        else:
            fh = open(path, "rb")
        with fh:
            head = fh.read(64 * 1024).decode("utf-8", "replace")
            for line in head.splitlines()[:20]:
                m = re.match(r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*=\s*(.*?)\s*$", line)
                if m:
                    fields[m.group(1)] = m.group(2)
    except OSError as exc:
        raise TreeError("not a kernel tree: %s" % exc.strerror, path=path,
                        hint="pass the top directory of a kernel source tree")
    if "VERSION" not in fields or "PATCHLEVEL" not in fields:
        raise TreeError("not a kernel tree (no VERSION/PATCHLEVEL)", path=path,
                        hint="pass the top directory of a kernel source tree")
    return "%s.%s.%s%s" % (fields["VERSION"], fields["PATCHLEVEL"], fields.get("SUBLEVEL") or "0",
                           fields.get("EXTRAVERSION", ""))


def toolchain_env(arch, cross_compile=None):
    """The variables the kernel Makefile exports to Kconfig, for ``arch``."""
    if cross_compile is None:
        prefix = CROSS_PREFIX.get(arch, "")
        cross_compile = prefix if prefix and shutil.which(prefix + "gcc") else ""
    cc = cross_compile + "gcc"
    try:
        text = subprocess.run([cc, "--version"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, env=dict(os.environ, LC_ALL="C"),
                              universal_newlines=True).stdout
        version_text = text.splitlines()[0] if text else ""
    except OSError:
        version_text = ""
    return {"CC": cc, "LD": cross_compile + "ld", "AR": cross_compile + "ar",
            "NM": cross_compile + "nm", "OBJCOPY": cross_compile + "objcopy",
            "CC_VERSION_TEXT": version_text, "CLANG_FLAGS": "", "CROSS_COMPILE": cross_compile,
            "RUSTC": "rustc", "BINDGEN": "bindgen", "PAHOLE": "pahole",
            "USERCFLAGS": "", "USERLDFLAGS": "", "HOSTCC": "gcc", "HOSTCXX": "g++"}


@contextlib.contextmanager
def _environment(values, cwd):
    saved = dict(os.environ)
    old_cwd = os.getcwd()
    os.environ.update(values)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(saved)


def load_tree(srctree, arch="arm64", cross_compile=None):
    """The :class:`KernelTree` for ``srctree`` (cached per tree and architecture)."""
    srctree = os.path.abspath(str(srctree))
    key = (srctree, arch, cross_compile)
    with _LOCK:
        tree = _TREES.get(key)
        if tree is None:
            tree = KernelTree(srctree, arch=arch, cross_compile=cross_compile)
            _TREES[key] = tree
    return tree


class SimulatedConfig:
    """The outcome of merge + olddefconfig: final values and the .config text."""

    def __init__(self, values, text, assigned):
        self.values = values        # symbol -> str value of every written symbol
        self.text = text            # the .config as the C tools write it
        self.assigned = assigned    # symbol -> (value, line) last requested in the input

    def value(self, name):
        return self.values.get(name)

    def line(self, name):
        """The line for ``name`` in the final .config ("" when not written)."""
        value = self.values.get(name)
        if value is None:
            return ""
        return format_line(name, value)


def format_line(name, value):
    if value == "n":
        return "# CONFIG_%s is not set" % name
    return "CONFIG_%s=%s" % (name, value)


def parse_assignments(text):
    """``[(symbol, value, line)]`` of the settings in .config-format ``text``."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        m = re.match(r"^CONFIG_([A-Za-z0-9_]+)=(.*)$", line)
        if m:
            out.append((m.group(1), m.group(2), line))
            continue
        m = re.match(r"^# CONFIG_([A-Za-z0-9_]+) is not set$", line)
        if m:
            out.append((m.group(1), "n", line))
    return out


class KernelTree:
    """One kernel source tree parsed for one architecture."""

    def __init__(self, srctree, arch="arm64", cross_compile=None):
        kconfiglib = _kconfiglib()
        self.srctree = os.path.abspath(str(srctree))
        if not os.path.isfile(os.path.join(self.srctree, "Kconfig")):
            raise TreeError("not a kernel tree (no top-level Kconfig)", path=self.srctree,
                            hint="pass the top directory of a kernel source tree")
        self.arch = arch
        srcarch = _ARCH_FROM_SRCARCH.get(arch, arch)
        if not os.path.isdir(os.path.join(self.srctree, "arch", srcarch)):
            raise TreeError("the tree has no arch/%s" % srcarch, path=self.srctree,
                            hint="choose --arch from the directories in arch/")
        self.kernel_version = tree_version(self.srctree)
        env = {"srctree": self.srctree, "ARCH": arch, "SRCARCH": srcarch,
               "KERNELVERSION": self.kernel_version}
        env.update(toolchain_env(arch, cross_compile))
        self.env = env
        self.compiler = env["CC"]
        from rcarkit.files import forget_temp, register_temp
        self._scratch = tempfile.mkdtemp(prefix="rcarkit-kconfig-")
        register_temp(self._scratch)   # a signal removes it too (rcarkit.files)
        try:
            # TMPDIR: the compiler runs of $(cc-option) put their cc*.s there,
            # so a signal that kills one mid-run leaves nothing in /tmp
            with _environment(dict(env, TMPDIR=self._scratch), self._scratch):
                try:
                    self.kconf = _kconfig_class()(
                        os.path.join(self.srctree, "Kconfig"), warn=False,
                        warn_to_stderr=False, suppress_traceback=False)
                except kconfiglib.KconfigError as exc:
                    raise TreeError("Kconfig does not parse: %s" % _kconfig_error_text(exc),
                                    path=self.srctree)
                except RecursionError:
                    raise TreeError("Kconfig does not parse: an expression or a 'source' "
                                    "chain is nested too deeply", path=self.srctree)
        finally:
            shutil.rmtree(self._scratch, ignore_errors=True)
            forget_temp(self._scratch)
        self._kconfiglib = kconfiglib
        _install_c_value_rules()

    # -- symbols -------------------------------------------------------------

    def symbol(self, name):
        """The Kconfiglib Symbol for ``name`` when the tree defines it, else None."""
        sym = self.kconf.syms.get(name)
        if sym is None or not sym.nodes:
            return None
        return sym

    def defines(self, name):
        return self.symbol(name) is not None

    def other_arch_definitions(self, name):
        """The architectures whose arch/<arch>/ Kconfig files define ``name`` (sorted).

        For a symbol this tree does not define for :attr:`arch`: an X86-only
        option is impossible on arm64 rather than obsolete.
        """
        cache = self.__dict__.setdefault("_arch_defs", {})
        if name in cache:
            return cache[name]
        pattern = re.compile(r"^\s*(?:menu)?config\s+%s\s*$" % re.escape(name), re.M)
        found = []
        arch_dir = os.path.join(self.srctree, "arch")
        for arch in sorted(os.listdir(arch_dir)):
            for root, _, files in os.walk(os.path.join(arch_dir, arch)):
                for fname in files:
                    if not fname.startswith("Kconfig"):
                        continue
                    try:
                        with open(os.path.join(root, fname), encoding="utf-8",
                                  errors="replace") as fh:
                            if pattern.search(fh.read()):
                                found.append(arch)
                    except OSError:
                        continue
                    if found and found[-1] == arch:
                        break
                if found and found[-1] == arch:
                    break
        cache[name] = found
        return found

    def undefined_reason(self, name):
        """Why ``name`` is not in this tree for :attr:`arch`: (is_arch_only, text)."""
        arches = [a for a in self.other_arch_definitions(name)
                  if a != _ARCH_FROM_SRCARCH.get(self.arch, self.arch)]
        if arches:
            return True, "defined only for %s (arch/%s), not for %s" % (
                ", ".join(arches), arches[0], self.arch)
        return False, "not defined in Linux %s (removed, renamed or not yet added)" % (
            self.kernel_version,)

    def depends_str(self, name):
        """``name``'s dependency expression, repeated ``&&`` terms removed."""
        sym = self.symbol(name)
        if sym is None:
            return ""
        return self.expr_text(sym.direct_dep)

    def expr_text(self, expr):
        """An expression as Kconfig text, repeated top-level ``&&`` terms removed."""
        kc = self._kconfiglib
        terms = []
        for term in kc.split_expr(expr, kc.AND):
            if term not in terms and term is not self.kconf.y:
                terms.append(term)
        if not terms:
            return "y"
        return " && ".join("(%s)" % kc.expr_str(t) if isinstance(t, tuple) and t[0] == kc.OR
                           else kc.expr_str(t) for t in terms)

    def has_prompt(self, sym):
        return any(node.prompt for node in sym.nodes)

    # -- loading configurations ----------------------------------------------

    def _load_text(self, text):
        from rcarkit.files import forget_temp, register_temp
        fd, path = tempfile.mkstemp(prefix="rcarkit-merge-", suffix=".config")
        register_temp(path)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            self.kconf.load_config(path, replace=True)
        finally:
            os.unlink(path)
            forget_temp(path)

    def load_defaults(self):
        """All symbols at their defaults (alldefconfig)."""
        self.kconf.unset_values()

    def simulate(self, base_text, fragment_lines=()):
        """merge_config.sh -m + olddefconfig; returns a :class:`SimulatedConfig`."""
        merged = (base_text or "")
        if merged and not merged.endswith("\n"):
            merged += "\n"
        merged += "".join(line + "\n" for line in fragment_lines)
        if merged.strip():
            self._load_text(merged)
        else:
            self.load_defaults()
        assigned = {}
        for sym, value, line in parse_assignments("\n".join(fragment_lines)):
            assigned[sym] = (value, line)
        return self.current(assigned)

    def current(self, assigned=None):
        """The present state as a :class:`SimulatedConfig` (C-tool compatible)."""
        values = {}
        for sym in self.kconf.unique_defined_syms:
            if sym.config_string:
                value = sym.str_value
                if sym.orig_type == self._kconfiglib.STRING:
                    value = '"%s"' % self._kconfiglib.escape(value)
                values[sym.name] = value
        text = "#\n# Automatically generated file; DO NOT EDIT.\n# %s\n#\n" % (
            self.kconf.mainmenu_text,) + self.kconf._config_contents(None)
        return SimulatedConfig(values, text, assigned or {})

    # -- resolution -----------------------------------------------------------

    def value_problem(self, name, value):
        """Why ``value`` (as written after ``CONFIG_NAME=``) is not a value of
        ``name``'s type or range, or ``""``. The C tools and Kconfiglib read
        only the first letter of a bool/tristate value and drop a malformed
        number with a warning; merge_config.sh then reports the line."""
        kc = self._kconfiglib
        sym = self.symbol(name)
        if sym is None:
            return ""
        kind = sym.orig_type
        if kind in (kc.BOOL, kc.TRISTATE):
            allowed = ("y", "m", "n")  # m on a bool: explain() says why
            if value not in allowed:
                return "%r is not a %s value: write %s" % (
                    value, "bool" if kind == kc.BOOL else "tristate",
                    "y or n" if kind == kc.BOOL else "y, m or n")
            return ""
        if kind == kc.STRING:
            if len(value) < 2 or value[0] != '"' or value[-1] != '"':
                return "a string symbol takes a quoted value: CONFIG_%s=\"...\"" % name
            return ""
        if kind not in (kc.INT, kc.HEX):
            return ""
        pattern = r"-?[0-9]+" if kind == kc.INT else r"(0[xX])?[0-9a-fA-F]+"
        if not re.fullmatch(pattern, value):
            return "%r is not a %s number" % (value, "decimal" if kind == kc.INT else "hex")
        base = 10 if kind == kc.INT else 16
        for low, high, cond in sym.ranges:
            if kc.expr_value(cond):
                try:
                    lo, hi = int(low.str_value, base), int(high.str_value, base)
                except ValueError:  # a bound from a symbol without a value
                    break
                if not lo <= int(value, base) <= hi:
                    return "%s is outside its range %s..%s" % (value, low.str_value,
                                                               high.str_value)
                break
        return ""

    def fixes(self, name, value):
        """``[(symbol, value)]`` to add so that ``name`` can reach ``value`` (current state).

        Raises :class:`Unsatisfiable` with the reason when nothing can.
        """
        sym = self.symbol(name)
        if sym is None:
            raise Unsatisfiable("%s is not defined in this tree for %s" % (name, self.arch),
                                arch_related=False)
        if sym.orig_type not in (self._kconfiglib.BOOL, self._kconfiglib.TRISTATE):
            # an int/hex/string takes its value whenever it is visible at all:
            # IP_VS_TAB_BITS under IP_VS=m needs no IP_VS=y
            return _dedupe(self._fix_visible(sym, 1, set(), 0))
        level = tristate_level(value)
        if level is None or level == 0:
            return []
        if sym.orig_type == self._kconfiglib.BOOL:
            level = 2
        out = []
        if level == 1 and self.kconf.modules.tri_value < 2:
            out.extend(self._need(self.kconf.modules, 2, set(), 0))
        out.extend(self._fix_visible(sym, level, set(), 0))
        return _dedupe(out)

    def _fix_visible(self, sym, level, seen, depth):
        kc = self._kconfiglib
        if depth > _MAX_DEPTH or sym in seen:
            return []
        seen = seen | {sym}
        if self.has_prompt(sym):
            if sym.visibility >= level:
                out = []
            else:
                errors = []
                out = None
                for node in sym.nodes:
                    if not node.prompt:
                        continue
                    try:
                        out = self._need(node.prompt[1], level, seen, depth + 1)
                        break
                    except Unsatisfiable as exc:
                        errors.append(exc)
                if out is None:
                    exc = errors[0]
                    raise Unsatisfiable("%s depends on %s: %s" % (
                        sym.name, self.expr_text(sym.direct_dep), exc),
                        arch_related=exc.arch_related)
            if sym.choice is not None and sym.choice.visibility < level:
                out = out + self._need_choice(sym.choice, level, seen, depth)
            return out
        # no prompt: the value comes from a select or a default
        if sym.tri_value >= level:
            return []
        errors = []
        for term in kc.split_expr(sym.rev_dep, kc.OR):
            if term is self.kconf.n:
                continue
            try:
                return self._need(term, level, seen, depth + 1)
            except Unsatisfiable as exc:
                errors.append(exc)
        for default, cond in sym.defaults:
            if default is self.kconf.n:
                continue
            want = cond
            if not (isinstance(default, kc.Symbol) and default.is_constant):
                want = (kc.AND, default, cond)
            try:
                return self._need((kc.AND, want, sym.direct_dep), level, seen, depth + 1)
            except Unsatisfiable as exc:
                errors.append(exc)
        if not errors:
            raise Unsatisfiable("%s has no prompt and nothing on %s selects it" % (
                sym.name, self.arch), arch_related=True)
        arch = all(e.arch_related for e in errors)
        raise Unsatisfiable("%s has no prompt; what would set it cannot be enabled: %s"
                            % (sym.name, errors[0]), arch_related=arch)

    def _need_choice(self, choice, level, seen, depth):
        for node in choice.nodes:
            if node.prompt:
                return self._need(node.prompt[1], level, seen, depth + 1)
        return []

    def _need(self, expr, level, seen, depth):
        """Assignments that make ``expr`` evaluate to at least ``level``."""
        kc = self._kconfiglib
        if kc.expr_value(expr) >= level:
            return []
        if depth > _MAX_DEPTH:
            raise Unsatisfiable("dependency chain too deep at %s" % kc.expr_str(expr))
        if isinstance(expr, kc.Symbol):
            return self._need_symbol(expr, level, seen, depth)
        if isinstance(expr, kc.Choice):
            return self._need_choice(expr, level, seen, depth)
        op = expr[0]
        if op == kc.AND:
            return _dedupe(self._need(expr[1], level, seen, depth) +
                           self._need(expr[2], level, seen, depth))
        if op == kc.OR:
            errors = []
            options = []
            for side in (expr[1], expr[2]):
                try:
                    options.append(self._need(side, level, seen, depth))
                except Unsatisfiable as exc:
                    errors.append(exc)
            if not options:
                raise Unsatisfiable(" and ".join(str(e) for e in errors),
                                    arch_related=all(e.arch_related for e in errors))
            return min(options, key=len)
        if op == kc.NOT:
            raise Unsatisfiable("needs %s, but %s is set" % (
                kc.expr_str(expr), kc.expr_str(expr[1])))
        if op in (kc.EQUAL, kc.UNEQUAL):
            left, right = expr[1], expr[2]
            if isinstance(left, kc.Symbol) and left.is_constant and not right.is_constant:
                left, right = right, left
            if isinstance(right, kc.Symbol) and right.is_constant and right.name in "nmy":
                if op == kc.EQUAL and right.name == "y":
                    return self._need(left, 2, seen, depth)
                if op == kc.UNEQUAL and right.name == "n":
                    return self._need(left, 1, seen, depth)
            raise Unsatisfiable("needs %s (now %s)" % (
                kc.expr_str(expr), ", ".join("%s=%s" % (s.name, s.str_value)
                                             for s in ordered_items(kc, expr)
                                             if not s.is_constant)))
        raise Unsatisfiable("needs %s" % kc.expr_str(expr))

    def _need_symbol(self, sym, level, seen, depth):
        kc = self._kconfiglib
        if sym.is_constant:
            raise Unsatisfiable("needs the constant %s" % sym.name)
        if not sym.nodes:
            raise Unsatisfiable("%s is not defined for %s" % (sym.name, self.arch),
                                arch_related=True)
        if sym.orig_type not in (kc.BOOL, kc.TRISTATE):
            raise Unsatisfiable("needs the %s symbol %s" % (kc.TYPE_TO_STR[sym.orig_type],
                                                           sym.name))
        if sym.orig_type == kc.BOOL:
            level = 2
        out = []
        if not self.has_prompt(sym):
            # set by select/default only: enable what selects it instead
            return self._fix_visible(sym, level, seen, depth)
        out.append((sym.name, "y"))
        out.extend(self._fix_visible(sym, level, seen, depth))
        return out

    def explain(self, name, value):
        """One line: why ``name`` does not have ``value`` now (its unmet dependency)."""
        kc = self._kconfiglib
        sym = self.symbol(name)
        if sym is None:
            return "not defined in this kernel (Linux %s %s)" % (self.kernel_version, self.arch)
        problem = self.value_problem(name, value)
        if problem:
            return problem
        if tristate_level(value) == 0 or value == "n":
            if sym.rev_dep is not self.kconf.n and kc.expr_value(sym.rev_dep):
                return "selected by %s" % kc.expr_str(sym.rev_dep)
            return ""
        if not self.has_prompt(sym):
            what = "no prompt (set only by select/default)"
            defaults = ["%s if %s" % (kc.expr_str(d), self.expr_text(c))
                        for d, c in sym.defaults if d is not self.kconf.n][:2]
            if defaults:
                what += "; default %s" % "; ".join(defaults)
            if sym.rev_dep is not self.kconf.n:
                what += "; selected by %s" % _clip(kc.expr_str(sym.rev_dep), 200)
            return what
        # an int, hex or string symbol keeps its value when visible at all (m)
        level = tristate_level(value) if sym.orig_type in (kc.BOOL, kc.TRISTATE) else 1
        dep_val = kc.expr_value(sym.direct_dep)
        if sym.direct_dep is not self.kconf.y and dep_val < level:
            low = [("%s=%s" % (item.name, item.str_value or "n")) if item.nodes
                   else "%s undefined for %s" % (item.name, self.arch)
                   for item in ordered_items(kc, sym.direct_dep, positive_only=True)
                   if not item.is_constant and item.tri_value < level]
            head = "depends on" if dep_val == 0 else "limited to m: depends on"
            return "%s %s (%s)" % (head, self.expr_text(sym.direct_dep),
                                   ", ".join(low) or "unmet")
        if sym.visibility < level:
            return "limited to %s by its prompt condition" % (
                "m" if sym.visibility == 1 else "n")
        if value == "m" and self.kconf.modules.tri_value < 2:
            return "modules are disabled (MODULES is not set)"
        if sym.choice is not None:
            return "member of a choice; %s is selected" % (
                sym.choice.selection.name if sym.choice.selection else "nothing")
        if sym.orig_type == kc.BOOL and value == "m":
            return "a bool symbol cannot be m"
        if sym.rev_dep is not self.kconf.n and kc.expr_value(sym.rev_dep):
            return "forced by select: %s" % kc.expr_str(sym.rev_dep)
        return "value not accepted (range or type)"

    # -- plan resolution ---------------------------------------------------------

    def resolve_entries(self, entries, config=None):
        """Add dependencies / mark impossible & obsolete entries of a fragment plan.

        Returns ``(entries, notes)``. The state starts from ``config`` (a
        KernelConfig: its lines are loaded as the base) or the tree's defaults.
        """
        from rcarkit.kernel.fragment_entry import FragmentEntry, REQUESTED, DEPENDENCY, IMPOSSIBLE, OBSOLETE
        base = config_text(config) if config is not None else ""
        result = []
        wanted = []      # FragmentEntry objects that go into the fragment, in order
        self.simulate(base, [])
        taken = {e.symbol for e in entries if e.kind == REQUESTED}
        for entry in entries:
            if entry.kind != REQUESTED:
                result.append(entry)
                continue
            if entry.alternatives:
                why = self._unusable(entry.symbol, entry.value)
                if why:
                    for alt in entry.alternatives:
                        if alt not in taken and not self._unusable(alt, entry.value):
                            entry.note = _join(entry.note, "instead of %s: %s"
                                               % (entry.symbol, why))
                            taken.add(alt)
                            entry.symbol = alt
                            break
            if not self.defines(entry.symbol):
                arch_only, why = self.undefined_reason(entry.symbol)
                result.append(FragmentEntry(
                    symbol=entry.symbol, value=entry.value,
                    kind=IMPOSSIBLE if arch_only else OBSOLETE,
                    profiles=entry.profiles, reason=entry.reason, note=why))
                continue
            if self.symbol(entry.symbol).orig_type == self._kconfiglib.STRING:
                from rcarkit.kernel.fragment_entry import quote_string
                entry.value = quote_string(entry.value)
            wanted.append(entry)
        # y/m: m when the option's parents are modules in the base (nothing promoted)
        kc = self._kconfiglib
        self.simulate(base, [])
        planned = {e.symbol: e for e in wanted}
        changed = True
        while changed:
            changed = False
            for entry in wanted:
                sym = self.symbol(entry.symbol)
                if entry.expected != "y/m" or entry.value != "y" or sym.orig_type != kc.TRISTATE:
                    continue
                for item in ordered_items(kc, sym.direct_dep):
                    if item.is_constant:
                        continue
                    plan = planned.get(item.name)
                    if (plan.value == "m") if plan is not None else item.tri_value == 1:
                        entry.value = "m"
                        changed = True
                        break
        deps = []
        by_symbol = {e.symbol: e for e in wanted}
        impossible = {}
        notes = []
        for _ in range(_MAX_ROUNDS):
            active = [e for e in wanted + deps if e.symbol not in impossible]
            sim = self.simulate(base, [e.config_line() for e in active])
            added = False
            for entry in active:
                if sim.line(entry.symbol) == entry.config_line():
                    continue
                if entry.value == "n":
                    continue
                try:
                    fixes = self.fixes(entry.symbol, entry.value)
                except Unsatisfiable as exc:
                    impossible[entry.symbol] = (exc, self.explain(entry.symbol, entry.value))
                    continue
                for sym, val in fixes:
                    if sym in by_symbol:
                        dep = by_symbol[sym]
                        if dep.kind == DEPENDENCY and entry.symbol not in dep.needed_by:
                            dep.needed_by.append(entry.symbol)
                        if val == "y" and dep.value == "m":
                            dep.value = "y"     # another option needs it built in
                            dep.note = _join(dep.note, "y because %s needs it" % entry.symbol)
                            added = True
                        continue
                    dep = FragmentEntry(symbol=sym, value=val, kind=DEPENDENCY,
                                        needed_by=[entry.symbol],
                                        note=self.depends_note(sym))
                    by_symbol[sym] = dep
                    deps.append(dep)
                    added = True
            if not added:
                break
        # a dependency that turned out impossible makes its needers impossible too
        for entry in wanted:
            if entry.symbol in impossible:
                exc, why = impossible[entry.symbol]
                result.append(FragmentEntry(
                    symbol=entry.symbol, value=entry.value, kind=IMPOSSIBLE,
                    profiles=entry.profiles, reason=entry.reason,
                    note="%s%s" % (exc, " (%s)" % why if why and why not in str(exc) else "")))
            else:
                entry.note = _join(entry.note, self.kind_note(entry.symbol))
                entry.note = _join(entry.note, self.depends_note(entry.symbol))
                result.append(entry)
        for dep in deps:
            if dep.symbol in impossible:
                exc, _ = impossible[dep.symbol]
                notes.append("dependency %s (needed by %s) cannot be set: %s"
                             % (dep.symbol, ", ".join(dep.needed_by), exc))
                continue
            result.append(dep)
        # what the final simulation still drops
        active = [e for e in result if e.kind in (REQUESTED, DEPENDENCY)]
        sim = self.simulate(base, [e.config_line() for e in active])
        for e in active:
            if sim.line(e.symbol) != e.config_line():
                notes.append("%s=%s still does not survive olddefconfig: %s"
                             % (e.symbol, e.value, self.explain(e.symbol, e.value)
                                or "final value %s" % (sim.value(e.symbol) or "unset")))
        return result, notes

    def _unusable(self, name, value):
        """Why ``name`` cannot be used at all here ("" when it can): undefined/arch."""
        if not self.defines(name):
            return self.undefined_reason(name)[1]
        try:
            self.fixes(name, value)
        except Unsatisfiable as exc:
            if exc.arch_related:
                return str(exc)
        return ""

    def kind_note(self, name):
        """"no prompt ..." / "choice member ..." for symbols a line alone cannot set."""
        sym = self.symbol(name)
        if sym is None:
            return ""
        if not self.has_prompt(sym):
            return "no prompt: set by select/default, so what selects it is added"
        if sym.choice is not None:
            others = [s.name for s in sym.choice.syms if s is not sym][:4]
            return "member of a choice (with %s)" % ", ".join(others)
        return ""

    def depends_note(self, name):
        dep = self.depends_str(name)
        if not dep or dep == "y":
            return ""
        return "depends on %s" % dep


def ordered_items(kc, expr, positive_only=False):
    """The symbols of ``expr`` in the order written (Kconfiglib's expr_items is a set).

    ``positive_only`` leaves out symbols that appear only negated (``!X``).
    """
    out = []

    def walk(e, negated):
        if isinstance(e, tuple):
            if e[0] == kc.NOT:
                walk(e[1], not negated)
                return
            for sub in e[1:]:
                walk(sub, negated)
        elif e not in out and not (positive_only and negated):
            out.append(e)

    walk(expr, False)
    return out


def _clip(text, size):
    return text if len(text) <= size else text[:size - 3] + "..."


def _join(a, b):
    if a and b:
        return "%s; %s" % (a, b)
    return a or b


def _dedupe(pairs):
    seen = set()
    out = []
    for sym, val in pairs:
        if sym not in seen:
            seen.add(sym)
            out.append((sym, val))
    return out


def config_text(config):
    """A KernelConfig as .config text (the lines a merge would start from)."""
    lines = []
    for name, value in config.values.items():
        lines.append(format_line(name, value))
    return "\n".join(lines) + "\n"


def _kconfig_error_text(exc):
    """Kconfiglib's message on one line. Some (a ``source`` loop) start with an
    empty line; keep every non-empty line, which name the file and line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines) or type(exc).__name__
