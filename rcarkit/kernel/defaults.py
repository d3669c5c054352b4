"""A defconfig expanded to the full configuration ``make olddefconfig`` makes.

A defconfig (``make savedefconfig`` output, ``bcm2711_defconfig``) lists only
what differs from the Kconfig defaults, so an option it does not list is not
"missing": it takes its default. check-kernel expands a defconfig before
judging it, in one of two ways:

* with a kernel tree (``--kernel-src TREE``), :func:`expand_with_tree` loads
  the tree's Kconfig with Kconfiglib (:mod:`rcarkit.kernel.tree`) and does
  exactly what ``make olddefconfig`` does;
* without one, :func:`expand_with_data` evaluates the Kconfig rules shipped in
  ``kconfig_profiles/kernel-defaults-<version>.json`` (generated from the
  Debian kernel trees by ``tools/gen_kernel_defaults.py``; the format is
  described there) for the symbols the profiles use and everything their
  values depend on, for arm64, arm and x86. The evaluation follows
  scripts/kconfig/symbol.c: a visible symbol keeps the value the defconfig
  gives it (clamped by its visibility), any other takes its first default
  whose condition holds, raised by ``imply`` (clamped by its dependencies)
  and by ``select``; ``m`` is ``y`` for a bool and when MODULES is off;
  choices select the user's member, else their default.

The data of the release nearest the config's version is used (the version
from ``--kernel-version``, else the range its symbols allow, else the
newest in that range); a note names it. No file is used for a kernel older
than the oldest shipped release, or outside the range: the defconfig stays
provisional and the note says to pass ``--kernel-src``. The result keeps kind
``defconfig``, and its ``expanded_from`` says how it was expanded.
"""

import json
import os
import re

from rcarkit.errors import ConfigError
from rcarkit.kernel.config import KernelConfig, KernelVersion

_DATA_RE = re.compile(r"^kernel-defaults-(\d+)\.(\d+)\.json$")
#: Largest defaults file we read (the shipped ones are about 1 MiB).
MAX_DEFAULTS_BYTES = 16 * 1024 * 1024
_TRI = {"n": 0, "m": 1, "y": 2}
_TRI_STR = ("n", "m", "y")
_DATA_CACHE = {}


def available(directory):
    """``[(KernelVersion, path)]`` of the defaults files in ``directory``, oldest first."""
    found = []
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    for name in names:
        m = _DATA_RE.match(name)
        if m:
            found.append((KernelVersion(int(m.group(1)), int(m.group(2)), 0),
                          os.path.join(directory, name)))
    return sorted(found)


def choose_data(directory, version=None, vrange=None):
    """The defaults file for a config of ``version`` (or in ``vrange``):
    ``(KernelVersion, path, exact)``, exact when it is the config's own
    release; or ``(None, why)`` when no file fits: a file newer than the
    kernel, or outside the range its symbols allow, would give defaults the
    kernel never had."""
    files = available(directory)
    if not files:
        return None, "no kernel-defaults-*.json in %s" % directory
    shipped = ", ".join(str(f[0])[:-2] for f in files)
    if version is not None:
        release = KernelVersion(version[0], version[1], 0)
        fitting = [f for f in files if f[0] <= release]
        if not fitting:
            return None, "defaults are shipped for Linux %s, not for %s" % (shipped, version)
        return fitting[-1] + (fitting[-1][0] == release,)
    if vrange is not None and vrange.conflict:
        return None, "kernel version unknown (%s)" % vrange.conflict
    low = KernelVersion(*vrange.low[:2]) if vrange is not None and vrange.low else None
    high = vrange.high if vrange is not None else None
    fitting = [f for f in files if (low is None or f[0] >= low) and (high is None or f[0] < high)]
    if not fitting:
        return None, "defaults are shipped for Linux %s; the config's symbols say %s" % (
            shipped, vrange.describe())
    return fitting[-1] + (False,)


def load_data(path):
    """The parsed defaults file (cached per path)."""
    cached = _DATA_CACHE.get(path)
    if cached is None:
        from rcarkit.safe_read import read_text_capped
        text = read_text_capped(path, MAX_DEFAULTS_BYTES, ConfigError, "a defaults file")
        try:
            cached = json.loads(text)
            if not (isinstance(cached, dict) and isinstance(cached.get("symbols"), dict)
                    and isinstance(cached.get("choices"), dict)
                    and isinstance(cached.get("generated", {}), dict)):
                raise ValueError("not a kernel-defaults document (symbols, choices)")
        except (ValueError, RecursionError) as exc:
            raise ConfigError("damaged defaults data: %s" % exc, path=path,
                              hint="regenerate it with tools/gen_kernel_defaults.py")
        _DATA_CACHE[path] = cached
    return cached


class Evaluator:
    """Kconfig's value rules over one architecture's records of a defaults file."""

    def __init__(self, data, arch, user):
        self.arch = arch
        self.user = user                 # symbol -> value as written in the defconfig
        self._symbols = data["symbols"]
        self._choices = data["choices"]
        self._tri = {}
        self._str = {}
        self._written = {}
        self._vis = {}
        self._selection = {}
        self._modules = None

    # -- records ---------------------------------------------------------------

    def _record(self, table, name):
        rec = table.get(name)
        if rec is not None and "arch" in rec:
            rec = rec["arch"].get(self.arch)
        return rec

    def record(self, name):
        return self._record(self._symbols, name)

    # -- expressions -----------------------------------------------------------

    def expr(self, e):
        """Tristate value (0, 1, 2) of an expression."""
        if isinstance(e, str):
            if e[0] == "'":
                return _TRI.get(e[1:], 0)
            if e[0] == "@":
                return self.choice_value(e)
            return self.tri(e)
        op = e[0]
        if op == "&&":
            val = 2
            for part in e[1:]:
                val = min(val, self.expr(part))
                if not val:
                    return 0
            return val
        if op == "||":
            val = 0
            for part in e[1:]:
                val = max(val, self.expr(part))
                if val == 2:
                    return 2
            return val
        if op == "!":
            return 2 - self.expr(e[1])
        left, right = self._operand(e[1]), self._operand(e[2])
        if left[1] == "string" and right[1] == "string":
            comp = (left[0] > right[0]) - (left[0] < right[0])
        else:
            try:
                comp = _number(left) - _number(right)
            except ValueError:
                comp = (left[0] > right[0]) - (left[0] < right[0])
        return 2 * {"=": comp == 0, "!=": comp != 0, "<": comp < 0, "<=": comp <= 0,
                    ">": comp > 0, ">=": comp >= 0}[op]

    def _operand(self, leaf):
        """(string value, type) of an expression leaf, for a comparison."""
        if isinstance(leaf, list):
            return _TRI_STR[self.expr(leaf)], "bool"
        if leaf[0] == "'":
            return leaf[1:], "const"
        if leaf[0] == "@":
            return _TRI_STR[self.choice_value(leaf)], "bool"
        rec = self.record(leaf)
        if rec is None:                 # undefined: its name is its value
            return leaf, "undefined"
        return self.str_value(leaf), rec["t"]

    # -- symbols ---------------------------------------------------------------

    def modules(self):
        if self._modules is None:
            self._modules = self.tri("MODULES") if self.record("MODULES") else 0
        return self._modules

    def sym_type(self, name, rec):
        if rec["t"] == "tristate":
            choice = rec.get("c")
            if not self.modules() or (choice and self.choice_value(choice) == 2):
                return "bool"
        return rec["t"]

    def visibility(self, name, rec):
        if name in self._vis:
            return self._vis[name]
        vis = self.expr(rec["v"]) if "v" in rec else 0
        choice = rec.get("c")
        if choice:
            crec = self._record(self._choices, choice)
            cval = self.choice_value(choice)
            if crec["t"] == "tristate" and rec["t"] != "tristate" and cval != 2:
                vis = 0
            elif rec["t"] == "tristate" and vis == 1 and cval == 2:
                vis = 0
        if vis == 1 and self.sym_type(name, rec) != "tristate":
            vis = 2
        self._vis[name] = vis
        return vis

    def _user_tri(self, name, rec):
        value = self.user.get(name)
        if value is None or value[:1] not in ("y", "m", "n"):
            return None
        val = _TRI[value[:1]]
        if rec["t"] == "bool" and val == 1:
            val = 2
        return val

    def tri(self, name):
        """Tristate value of a symbol (0 for an undefined or non-bool one)."""
        if name in self._tri:
            return self._tri[name]
        rec = self.record(name)
        if rec is None or rec["t"] not in ("bool", "tristate"):
            self._tri[name] = 0
            return 0
        self._tri[name] = 0  # Kconfig has no cycles; this only guards damaged data
        vis = self.visibility(name, rec)
        written = vis != 0
        val = 0
        choice = rec.get("c")
        user = self._user_tri(name, rec)
        if not choice:
            if vis and user is not None:
                val = min(user, vis)
            else:
                for default, cond in rec.get("d", ()):
                    dep = self.expr(cond)
                    if dep:
                        val = min(self.expr(default), dep)
                        if val:
                            written = True
                        break
                implied = self.expr(rec["i"]) if "i" in rec else 0
                if implied == 1 and rec["t"] == "bool":
                    implied = 2
                if implied:
                    written = True
                    val = min(max(val, implied), self.expr(rec["dep"]))
            selected = self.expr(rec["s"]) if "s" in rec else 0
            if selected:
                val = max(selected, val)
                written = True
            if val == 1 and self.sym_type(name, rec) == "bool":
                val = 2
        elif vis == 2:
            val = 2 if self.selection(choice) == name else 0
        elif vis and user:
            val = 1
        self._tri[name] = val
        self._written[name] = written
        return val

    def str_value(self, name):
        if name in self._str:
            return self._str[name]
        rec = self.record(name)
        if rec is None:
            return name
        if rec["t"] in ("bool", "tristate"):
            return _TRI_STR[self.tri(name)]
        self._str[name] = ""
        vis = self.visibility(name, rec)
        written = vis != 0
        val = None
        user = self.user.get(name)
        if user is not None and rec["t"] == "string":
            user = _unquote(user)
        if vis and user is not None and self._in_range(rec, user):
            val = user
        if val is None:
            val = ""
            for default, cond in rec.get("d", ()):
                if self.expr(cond):
                    written = True
                    val = default[1:] if default[0] == "'" else self.str_value(default)
                    break
            if rec["t"] in ("int", "hex"):
                val = self._clamp(rec, val)
        self._str[name] = val
        self._written[name] = written
        return val

    def _range(self, rec):
        base = 16 if rec["t"] == "hex" else 10
        for low, high, cond in rec.get("r", ()):
            if self.expr(cond):
                return (_parse_int(self._leaf_str(low), base),
                        _parse_int(self._leaf_str(high), base))
        return None

    def _leaf_str(self, leaf):
        return leaf[1:] if leaf[0] == "'" else self.str_value(leaf)

    def _in_range(self, rec, value):
        if rec["t"] not in ("int", "hex"):
            return True
        base = 16 if rec["t"] == "hex" else 10
        try:
            number = int(value, base)
        except ValueError:
            return False
        limits = self._range(rec)
        return limits is None or limits[0] <= number <= limits[1]

    def _clamp(self, rec, val):
        limits = self._range(rec)
        if limits is None:
            return val
        base = 16 if rec["t"] == "hex" else 10
        number = _parse_int(val, base)
        if number < limits[0] or number > limits[1]:
            clamp = limits[0] if number < limits[0] else limits[1]
            return str(clamp) if rec["t"] == "int" else hex(clamp)
        return val

    # -- choices ---------------------------------------------------------------

    def choice_value(self, key):
        crec = self._record(self._choices, key)
        if crec is None:
            return 0
        val = 0 if crec.get("optional") else 1
        if any(self.user.get(m, "")[:1] in ("y", "m") for m in crec["members"]):
            val = max(val, 2 if crec["t"] == "bool" else
                      max(_TRI[self.user[m][:1]] for m in crec["members"]
                          if self.user.get(m, "")[:1] in ("y", "m")))
        vis = self.expr(crec["v"]) if "v" in crec else 0
        if vis == 1 and crec["t"] == "bool":
            vis = 2
        val = min(val, vis)
        return 2 if val == 1 and crec["t"] == "bool" else val

    def selection(self, key):
        if key in self._selection:
            return self._selection[key]
        self._selection[key] = None
        crec = self._record(self._choices, key)
        chosen = None
        if crec is not None and self.choice_value(key) == 2:
            visible = [m for m in crec["members"] if self.record(m) is not None
                       and self.visibility(m, self.record(m))]
            users = [m for m in crec["members"] if self.user.get(m, "")[:1] == "y"]
            if users and users[-1] in visible:
                chosen = users[-1]
            else:
                for default, cond in crec.get("d", ()):
                    if self.expr(cond) and default in visible:
                        chosen = default
                        break
                else:
                    chosen = visible[0] if visible else None
        self._selection[key] = chosen
        return chosen

    # -- the result ------------------------------------------------------------

    def value(self, name):
        """The value olddefconfig writes for ``name``, or None when it writes nothing."""
        rec = self.record(name)
        if rec is None:
            return None
        if rec["t"] in ("bool", "tristate"):
            val = _TRI_STR[self.tri(name)]
        else:
            val = self.str_value(name)
            if val == "" and rec["t"] != "string":
                return None
            if rec["t"] == "string":
                val = '"%s"' % val.replace("\\", "\\\\").replace('"', '\\"')
        return val if self._written.get(name) else None


def _number(operand):
    text, kind = operand
    if kind in ("bool", "tristate"):
        raise ValueError(text)
    text = text.strip('"')
    return int(text, 16) if text[:2].lower() == "0x" else int(text, 10)


def _unquote(text):
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return text


def _parse_int(text, base):
    try:
        return int(text, base)
    except ValueError:
        return 0


def expand_with_data(config, directory, vrange=None, arch=None):
    """``config`` (a defconfig) expanded with the shipped Kconfig defaults.

    Returns ``(KernelConfig, note)``; ``(config, note)`` unchanged (still
    provisional) when no defaults file fits its version or architecture.
    """
    picked = choose_data(directory, config.version, vrange)
    if picked[0] is None:
        return config, "%s is a defconfig and %s: options it does not list are " \
            "provisional; pass --kernel-src with its kernel tree" % (config.source, picked[1])
    release, path, exact = picked
    data = load_data(path)
    arch = arch or config.arch or "arm64"
    arches = data.get("generated", {}).get("arches", [])
    if arch not in arches:
        return config, ("%s is a defconfig for %s; defaults are shipped for %s: options "
                        "it does not list are provisional; pass --kernel-src with its "
                        "kernel tree" % (config.source, arch, ", ".join(arches)))
    evaluator = Evaluator(data, arch, config.values)
    values = dict(config.values)
    try:
        for name in data["symbols"]:
            if evaluator.record(name) is None:
                continue
            value = evaluator.value(name)
            if value is None:
                values.pop(name, None)
            else:
                values[name] = value
    except (KeyError, TypeError, IndexError, ValueError, AttributeError, RecursionError) as exc:
        raise ConfigError("damaged defaults data (%s: %s)" % (type(exc).__name__, exc),
                          path=path, hint="regenerate it with tools/gen_kernel_defaults.py")
    kernel = data.get("generated", {}).get("kernel", str(release))
    how = "Kconfig defaults of Linux %s (%s, shipped data)" % (kernel, arch)
    note = "%s is a defconfig: options it does not list were given the %s%s" % (
        config.source, how, "" if config.arch else " (no architecture in the file: arm64 "
        "assumed)")
    if not exact:
        note += "; the defaults of its own release may differ: pass --kernel-version, or " \
                "--kernel-src with its tree"
    return _expanded(config, values, how, arch), note


def expand_defconfig(config, catalog, kernel_src=None):
    """A defconfig expanded (with the tree at ``kernel_src``, else the shipped
    data); any other config unchanged. The note goes to ``config.notes``."""
    if config.kind == "full" or config.expanded_from is not None:
        return config
    if kernel_src is not None:
        expanded, note = expand_with_tree(config, kernel_src)
    else:
        from rcarkit.kernel.check import version_range
        expanded, note = expand_with_data(config, catalog.directory,
                                          version_range(config, catalog))
    expanded.expansion_note = note
    return expanded


def expand_with_tree(config, kernel_src):
    """``config`` expanded by the tree's own Kconfig (``make olddefconfig``);
    a config without a version takes the tree's."""
    from rcarkit.kernel.tree import config_text, load_tree
    arch = config.arch or "arm64"
    tree = load_tree(kernel_src, arch=arch)
    final = tree.simulate(config_text(config))
    values = dict(final.values)
    how = "Kconfig of %s (Linux %s, ARCH=%s)" % (tree.srctree, tree.kernel_version, arch)
    expanded = _expanded(config, values, how, arch)
    if expanded.version is None:
        expanded.version = KernelVersion.parse(tree.kernel_version)
    note = "%s is a defconfig: expanded as 'make olddefconfig' does, with the %s" % (
        config.source, how)
    return expanded, note


def _expanded(config, values, how, arch):
    cfg = KernelConfig(values, source=config.source, kind=config.kind, version=config.version,
                       arch=config.arch or arch, lines=config.lines, origin=config.origin)
    cfg.header_version = config.header_version
    cfg.expanded_from = how
    cfg.defconfig_symbols = len(config.values)
    return cfg
