"""Plan a kernel configuration fragment (``.cfg``) from a check-kernel Report.

A fragment line whose dependencies are unmet is silently dropped by
``make olddefconfig`` (and by kernel-yocto.bbclass, which runs it after
merging). So a fragment is more than the list of missing options: it also
carries the parents each option needs to survive. Library use::

    from rcarkit.kernel.check import check_config, select_profiles
    from rcarkit.kernel.fragment import plan_fragment

    report = check_config(config, profiles, catalog)
    plan = plan_fragment(report, catalog)                    # data only
    plan = plan_fragment(report, catalog, kernel_src="/usr/src/linux")  # Kconfig
    open("rcarkit-k8s.cfg", "w").write(plan.render_cfg())

What goes in (:class:`FragmentEntry` ``kind``):

``requested``
    every option of the chosen profiles that check-kernel found missing or
    with a wrong value in a required rule (from
    :func:`rcarkit.kernel.check.missing_symbols`). Options only optional rules
    ask for are left out (a note counts them) unless ``with_optional=True``
    (``--with-optional``); then they are added with ``optional`` set and
    "(optional)" in their comment. For an ``any_of`` rule the
    first alternative that exists in the target kernel is used. ``y/m`` is
    written as ``y`` (built in: works without module packaging in the image),
    except when one of the option's parents is a module in the base (or is
    planned as one): then ``m``, so that nothing is promoted just for it.
    ``>=N`` is written as ``N``. When another option needs a planned ``m``
    built in, it becomes ``y`` (the note says for whom).
``dependency``
    a symbol a requested option (or another dependency) needs, so that the
    option is not dropped by olddefconfig. Dependencies already satisfied by the
    checked configuration are left out. A dependency is written as ``y``: it is
    never lowered, so nothing the base configuration builds in is demoted.
``impossible``
    an option that cannot be enabled for the architecture (it depends on an
    X86-only symbol, say). It is written as a comment only.
``obsolete``
    an option that does not exist in the target kernel version (the version
    history in ``kernel-symbols.toml``, or the kernel tree itself). Comment only.

Where the dependencies come from:

* without a kernel tree, from ``kconfig_profiles/kernel-depends.toml``: for
  each symbol the profiles use, the expression it ``depends on`` in Linux 6.1
  and the symbols that must therefore be enabled (``needs``; ``any_of`` when one
  of several will do; ``limits`` for ``A || !A`` parents, which cap a ``y`` at
  ``m`` when they are ``m``); promptless symbols list who ``select`` s them
  (``selected_by``) or what turns their default on (``default_if``);
  ``impossible`` marks what the architecture cannot have. The file is
  generated from the 6.1 tree by ``tools/gen_kernel_depends.py`` (the file's
  header explains every key); ``note`` keys record where older kernels differ.
* with ``kernel_src``, from the tree's own Kconfig via :mod:`rcarkit.kernel.tree`
  (Kconfiglib): the requested values are applied to the base configuration
  and olddefconfig is simulated until every value sticks, adding the parents
  it needs; options impossible for the architecture and symbols the tree does
  not define are marked and explained.

The base configuration is needed to leave out satisfied dependencies. Pass it
as ``config=`` (a :class:`rcarkit.kernel.config.KernelConfig`); otherwise it is read
again from the path the report names, and when that fails every dependency is
listed.

:meth:`FragmentPlan.render_cfg` is deterministic (the same inputs give the
same bytes): a header, one section per profile in report order, a comment
line with the reason before each option, a section of dependencies commented
``needed by X``, and the skipped options as comments. No comment contains
``CONFIG_`` so merge_config.sh and Kconfig never mistake one for a setting.

Long because planning (requested options, alternatives, dependencies from
the shipped data) and rendering the ``.cfg`` share one entry model.
"""

import os
import re
import textwrap
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from rcarkit.errors import ProfileError, RcarkitError
from rcarkit.kernel.config import tristate_level
from rcarkit.kernel.fragment_entry import (  # noqa: F401 (re-exported)
    DEPENDENCY, IMPOSSIBLE, KINDS, OBSOLETE, REQUESTED, FragmentEntry, quote_string)

DEPENDS_FILE = "kernel-depends.toml"
_DEPENDS_KEYS = {"type", "prompt", "depends", "needs", "any_of", "limits", "selected_by",
                 "default_if",
                 "impossible", "note"}
#: Guard against cycles in the dependency data.
_MAX_DEPTH = 40


@dataclass
class FragmentPlan:
    entries: List[FragmentEntry]
    kernel_version: Optional[str] = None
    arch: Optional[str] = None
    resolved_with: str = "kconfig_profiles/" + DEPENDS_FILE
    notes: List[str] = field(default_factory=list)
    profiles: List[str] = field(default_factory=list)
    with_optional: bool = False
    #: symbols only optional rules ask for, left out because with_optional is off
    optional_left_out: List[str] = field(default_factory=list)

    def active(self):
        """Entries that go into the .cfg (requested + dependency)."""
        return [e for e in self.entries if e.kind in (REQUESTED, DEPENDENCY)]

    def skipped(self):
        return [e for e in self.entries if e.kind in (IMPOSSIBLE, OBSOLETE)]

    def entry(self, symbol):
        for e in self.entries:
            if e.symbol == symbol:
                return e
        return None

    def values(self):
        """``{symbol: value}`` of the active entries."""
        return {e.symbol: e.value for e in self.active()}

    def render_cfg(self):
        """The fragment text (deterministic, grouped, commented)."""
        out = []
        out.append("# rcarkit kernel configuration fragment (generated; regenerate, do not edit)")
        out.extend(_comment("profiles: %s" % (", ".join(self.profiles) or "-")))
        out.extend(_comment("target: Linux %s %s" % (self.kernel_version or "(version unknown)",
                                                     self.arch or "(arch unknown)")))
        out.extend(_comment("dependencies resolved with: %s" % self.resolved_with))
        for note in self.notes:
            out.extend(_comment("note: " + _no_prefix(note)))
        if not self.entries:
            out.append("#")
            out.append("# nothing to change: every %s option is already set"
                       % ("checked" if self.with_optional else "required"))
        requested = [e for e in self.entries if e.kind == REQUESTED]
        order = [p for p in self.profiles
                 if any(e.profiles and e.profiles[0] == p for e in requested)]
        for e in requested:
            key = e.profiles[0] if e.profiles else "-"
            if key not in order:
                order.append(key)
        for prof in order:
            out.append("")
            out.append("# === %s ===" % prof)
            for e in requested:
                if (e.profiles[0] if e.profiles else "-") != prof:
                    continue
                text = ("(optional) " if e.optional else "") + e.reason
                if len(e.profiles) > 1:
                    text += " (also %s)" % ", ".join(e.profiles[1:])
                if e.note:
                    text += " [%s]" % e.note
                out.extend(_comment(text))
                out.append(e.config_line())
        deps = [e for e in self.entries if e.kind == DEPENDENCY]
        if deps:
            out.append("")
            out.append("# === dependencies: without these olddefconfig drops the options above ===")
            for e in deps:
                text = "needed by %s" % ", ".join(e.needed_by)
                if e.reason:
                    text += ": %s" % e.reason
                if e.note:
                    text += " [%s]" % e.note
                out.extend(_comment(text))
                out.append(e.config_line())
        skipped = self.skipped()
        if skipped:
            out.append("")
            out.append("# === not set: these options cannot take effect in this kernel ===")
            for e in skipped:
                what = "impossible" if e.kind == IMPOSSIBLE else "obsolete"
                head = "%s (%s, wanted %s by %s)" % (e.symbol, what, e.value,
                                                     ", ".join(e.profiles or e.needed_by) or "-")
                out.extend(_comment(head + ": " + (e.note or e.reason)))
        return "\n".join(out) + "\n"

    def to_dict(self):
        return {"kernel_version": self.kernel_version, "arch": self.arch,
                "resolved_with": self.resolved_with, "profiles": list(self.profiles),
                "with_optional": self.with_optional,
                "optional_left_out": list(self.optional_left_out),
                "notes": list(self.notes),
                "entries": [e.to_dict() for e in self.entries],
                "counts": {k: sum(1 for e in self.entries if e.kind == k) for k in KINDS}}


def _comment(text, width=78):
    """Comment lines for ``text``, without any ``CONFIG_`` (so that no comment
    can read as a ``# CONFIG_X is not set`` setting)."""
    lines = textwrap.wrap(" ".join(_no_prefix(text).split()), width - 2,
                          break_long_words=True, break_on_hyphens=False) or [""]
    return ["# " + line for line in lines]


def _no_prefix(text):
    return str(text).replace("CONFIG_", "")


# ---------------------------------------------------------------------------
# dependency data (kernel-depends.toml)

@dataclass
class SymbolDepends:
    """One symbol of ``kernel-depends.toml``."""
    name: str
    type: str = "tristate"
    prompt: bool = True
    depends: str = ""
    needs: Tuple[str, ...] = ()
    any_of: Tuple[Tuple[str, ...], ...] = ()
    limits: Tuple[str, ...] = ()
    selected_by: Tuple[str, ...] = ()
    default_if: Tuple[str, ...] = ()
    impossible: str = ""
    note: str = ""


@dataclass
class DependsData:
    path: str
    kernel: str
    arch: str
    symbols: Dict[str, SymbolDepends]

    def get(self, name):
        return self.symbols.get(name)


_DEPENDS_CACHE = {}
_DEPENDS_SYMBOL = re.compile(r"[A-Za-z0-9_]+")      # fullmatch: no "\n" sneaks through
_DEPENDS_TYPES = ("bool", "tristate", "string", "int", "hex")


def _check_depends_entry(dep, where, path):
    """Every name in a kernel-depends.toml entry is a symbol name and no text
    holds a control character: they are written into the fragment."""
    names = [dep.name] + list(dep.needs) + [s for g in dep.any_of for s in g] + \
        list(dep.limits) + list(dep.selected_by) + list(dep.default_if)
    for sym in names:
        if not _DEPENDS_SYMBOL.fullmatch(sym):
            raise ProfileError("%s: %r is not a symbol name" % (where, sym), path=path,
                               hint="symbol names are letters, digits and _, without CONFIG_")
    if dep.type not in _DEPENDS_TYPES:
        raise ProfileError("%s: type %r is not one of %s" % (where, dep.type,
                                                             ", ".join(_DEPENDS_TYPES)),
                           path=path)
    for text in (dep.depends, dep.impossible, dep.note):
        if re.search(r"[\x00-\x1f\x7f]", text):
            raise ProfileError("%s: a control character (newline, ...) in %r" % (where, text),
                               path=path, hint="one line per value")


def load_depends(directory):
    """Read ``kernel-depends.toml`` from ``directory``; ProfileError when malformed."""
    from rcarkit.kernel.profiles import _load_toml, check_table
    path = os.path.join(directory, DEPENDS_FILE)
    cached = _DEPENDS_CACHE.get(path)
    if cached is not None:
        return cached
    if not os.path.isfile(path):
        data = DependsData(path=path, kernel="", arch="", symbols={})
        return data
    raw = _load_toml(path)
    meta = raw.pop("generated", {}) if isinstance(raw.get("generated"), dict) else {}
    symbols = {}
    for name, entry in raw.items():
        where = "symbol [%s]" % name
        check_table(entry, _DEPENDS_KEYS, where, path)
        try:
            symbols[name] = SymbolDepends(
                name=name, type=str(entry.get("type", "tristate")),
                prompt=bool(entry.get("prompt", True)), depends=str(entry.get("depends", "")),
                needs=tuple(str(s) for s in entry.get("needs", ())),
                any_of=tuple(tuple(str(s) for s in group) for group in entry.get("any_of", ())),
                limits=tuple(str(s) for s in entry.get("limits", ())),
                selected_by=tuple(str(s) for s in entry.get("selected_by", ())),
                default_if=tuple(str(s) for s in entry.get("default_if", ())),
                impossible=str(entry.get("impossible", "")), note=str(entry.get("note", "")))
        except TypeError:
            raise ProfileError("%s: needs/any_of/selected_by must be lists of symbol names"
                               % where, path=path)
        _check_depends_entry(symbols[name], where, path)
    data = DependsData(path=path, kernel=str(meta.get("kernel", "")),
                       arch=str(meta.get("arch", "")), symbols=symbols)
    if re.search(r"[\x00-\x1f\x7f]", data.kernel + data.arch):
        raise ProfileError("[generated] kernel/arch hold a control character", path=path,
                           hint="one line per value")
    _DEPENDS_CACHE[path] = data
    return data


# ---------------------------------------------------------------------------
# planning

def value_for(expected, actual=None):
    """The value a fragment writes to satisfy an ``Expect`` text."""
    text = str(expected).strip()
    if text in ("y", "m", "n"):
        return text
    if text == "y/m":
        return "y"
    if text.startswith(">=") or text.startswith("<="):
        return text[2:].strip()
    return text


def _base_config(report, config):
    """The checked configuration: ``config`` or re-read from the report's source."""
    if config is not None:
        return config
    source = (report.subject.get("config") or {}).get("source")
    if not source or source == "-" or not os.path.isfile(str(source)):
        return None
    from rcarkit.kernel.config import load_config
    try:
        return load_config(source, kernel_version=report.subject.get("kernel_version"))
    except RcarkitError:
        return None




def requested_entries(report, with_optional=False, left_out=None):
    """The requested entries from the report (no dependencies yet).

    A symbol only optional rules ask for is added (``optional=True``) with
    ``with_optional``, else appended to ``left_out`` (a list) and skipped.

    check-kernel already judged which alternatives of a rule exist in the
    checked kernel (``Finding.settable``) and :func:`missing_symbols` names the
    first of them; the rest stay as ``alternatives`` for tree mode. A rule with
    no alternative left in this kernel is obsolete there and never fails, so it
    does not reach the fragment.
    """
    from rcarkit.kernel.check import missing_symbols
    entries = []
    seen = {}
    for sym, expected, findings in missing_symbols(report):
        optional = not any(f.required for f in findings)
        if optional and not with_optional:
            if left_out is not None and sym not in left_out:
                left_out.append(sym)
            continue
        rule_syms = list(findings[0].settable or findings[0].symbols)
        profiles = []
        reasons = []
        for f in findings:
            if f.group not in profiles:
                profiles.append(f.group)
            if f.reason and f.reason not in reasons:
                reasons.append(f.reason)
        if sym in seen:
            old = seen[sym]
            old.profiles.extend(p for p in profiles if p not in old.profiles)
            continue
        entry = FragmentEntry(symbol=sym, value=value_for(expected), kind=REQUESTED,
                              profiles=profiles, reason=reasons[0] if reasons else "",
                              note="one of %s" % ", ".join(rule_syms) if len(rule_syms) > 1
                              else "",
                              expected=str(expected), optional=optional,
                              alternatives=rule_syms[rule_syms.index(sym) + 1:]
                              if sym in rule_syms else [])
        seen[sym] = entry
        entries.append(entry)
    return entries


def plan_fragment(report, catalog, kernel_src=None, arch=None, config=None, with_optional=False):
    """Plan the fragment for ``report`` (a check-kernel Report); see the module doc.

    Only what required rules ask for goes in, unless ``with_optional``."""
    config = _base_config(report, config)
    version = report.subject.get("kernel_version")
    arch = arch or report.subject.get("arch") or (config.arch if config is not None else None)
    profiles = list(report.subject.get("profiles") or [g.name for g in report.groups])
    left_out = []
    entries = requested_entries(report, with_optional, left_out)
    notes = []
    from rcarkit.report import UNAVAILABLE
    unavailable = []
    from rcarkit.report import NOT_A_SYMBOL
    for f in report.findings():
        if f.status == NOT_A_SYMBOL and f.name not in unavailable:
            unavailable.append(f.name)
            notes.append("left out (%s asks for it): %s" % (f.group, f.note))
        if f.status == UNAVAILABLE and (f.required or with_optional) and f.name not in unavailable:
            unavailable.append(f.name)
            notes.append("left out: %s" % f.note)
    if left_out:
        notes.append("%d optional option%s left out (%s); --with-optional adds them"
                     % (len(left_out), "s"[:len(left_out) > 1], ", ".join(left_out)))
    if kernel_src is not None:
        from rcarkit.kernel.tree import load_tree
        tree = load_tree(kernel_src, arch=arch or "arm64")
        entries, tree_notes = tree.resolve_entries(entries, config)
        notes.extend(tree_notes)
        resolved_with = str(kernel_src)
        dep_version = tree.kernel_version
        if version is None:
            version = tree.kernel_version
        if arch is None:
            arch = tree.arch
    else:
        data = load_depends(catalog.directory)
        entries, data_notes = resolve_with_data(entries, data, config, arch)
        notes.extend(data_notes)
        dep_version = data.kernel
        resolved_with = "kconfig_profiles/%s (Linux %s %s)" % (
            DEPENDS_FILE, data.kernel or "?", data.arch or "?")
    if config is None:
        notes.append("base configuration not available: every dependency is listed, "
                     "including those it may already satisfy")
    elif config.version is not None and dep_version:
        from rcarkit.kernel.config import KernelVersion
        other = KernelVersion.parse(dep_version)
        if other is not None and tuple(other)[:2] != tuple(config.version)[:2]:
            notes.append("the configuration is Linux %s, the dependencies come from Linux %s: "
                         "check the result with verify-fragment on the board's own tree"
                         % (config.version, dep_version))
    if config is not None and config.is_provisional:
        notes.append("base is a defconfig: dependencies it does not list are added")
    return FragmentPlan(entries=entries, kernel_version=version, arch=arch,
                        resolved_with=resolved_with, notes=notes, profiles=profiles,
                        with_optional=with_optional, optional_left_out=left_out)


def _join_note(a, b):
    if a and b:
        return "%s; %s" % (a, b)
    return a or b


def _satisfied(config, symbol, level):
    """True when ``config`` already gives ``symbol`` at least ``level`` (1=m, 2=y)."""
    if config is None:
        return False
    value = config.get(symbol)
    if value is None:
        return False
    have = tristate_level(value)
    return have is not None and have >= level


def resolve_with_data(entries, data, config=None, arch=None):
    """Add dependencies from ``kernel-depends.toml``; returns (entries, notes)."""
    notes = []
    if not data.symbols:
        notes.append("%s is missing: dependencies not resolved" % data.path)
        return list(entries), notes
    if arch and data.arch and arch != data.arch:
        notes.append("dependency data is for %s, the target is %s: resolve with --kernel-src "
                     "for exact results" % (data.arch, arch))
    requested = {e.symbol: e for e in entries if e.kind == REQUESTED}
    deps = {}        # symbol -> FragmentEntry
    dep_order = []
    result = []

    def want(symbol, level, needer, reason, depth):
        """Make sure ``symbol`` reaches ``level`` for ``needer``."""
        if depth > _MAX_DEPTH:
            return
        if symbol in requested:
            entry = requested[symbol]
            if level == 2 and entry.value == "m":
                entry.value = "y"   # another option needs it built in
                entry.note = _join_note(entry.note, "y because %s needs it" % needer)
                walk(symbol, 2, depth + 1)
            return
        info = data.get(symbol)
        if _satisfied(config, symbol, level):
            return
        if info is not None and info.impossible:
            note = "%s needs %s, which cannot be enabled: %s" % (needer, symbol, info.impossible)
            if note not in notes:
                notes.append(note)
            return
        if info is not None and not info.prompt:
            promptless(symbol, info, level, needer, depth)
            return
        if symbol in deps:
            entry = deps[symbol]
            if needer not in entry.needed_by:
                entry.needed_by.append(needer)
            return
        entry = FragmentEntry(symbol=symbol, value="y", kind=DEPENDENCY, needed_by=[needer],
                              reason=reason)
        deps[symbol] = entry
        dep_order.append(symbol)
        walk(symbol, 2, depth + 1)

    def promptless(symbol, info, level, needer, depth):
        """A symbol without a prompt is set by a select or its default."""
        if info.selected_by:
            chooser = info.selected_by[0]
            for cand in info.selected_by:
                if cand in requested or cand in deps or _satisfied(config, cand, 1):
                    chooser = cand
                    break
            want(chooser, level, needer, "selects %s" % symbol, depth + 1)
        elif info.default_if:
            for cand in info.default_if:
                want(cand, level, needer, "turns on %s" % symbol, depth + 1)
        walk(symbol, level, depth + 1)

    def walk(symbol, level, depth):
        info = data.get(symbol)
        if info is None:
            return
        if info.type != "tristate":
            level = 1   # a bool under an m parent can still be y
        for parent in info.needs:
            want(parent, level, symbol, "", depth)
        if level == 2 and config is not None:
            for parent in info.limits:
                if config.get(parent) == "m" or (parent in deps and deps[parent].value == "m"):
                    want(parent, 2, symbol, "an m %s would limit %s to m" % (parent, symbol),
                         depth)
        for group in info.any_of:
            if any(s in requested or s in deps or _satisfied(config, s, 1) for s in group):
                continue
            pick = None
            for s in group:
                sinfo = data.get(s)
                if sinfo is not None and sinfo.impossible:
                    continue
                pick = s
                break
            if pick is not None:
                want(pick, 2, symbol, "one of %s" % " / ".join(group), depth)

    walk_list = []
    for entry in entries:
        if entry.kind != REQUESTED:
            result.append(entry)
            continue
        info = data.get(entry.symbol)
        same_arch = not arch or not data.arch or arch == data.arch
        if info is not None and info.impossible and same_arch:
            for alt in entry.alternatives:
                alt_info = data.get(alt)
                if alt_info is not None and not alt_info.impossible and alt not in requested:
                    requested.pop(entry.symbol, None)
                    entry.note = _join_note(entry.note, "instead of %s: %s"
                                            % (entry.symbol, info.impossible))
                    entry.symbol, info = alt, alt_info
                    requested[alt] = entry
                    break
        if info is not None and info.impossible and same_arch:
            requested.pop(entry.symbol, None)
            result.append(FragmentEntry(symbol=entry.symbol, value=entry.value, kind=IMPOSSIBLE,
                                        profiles=entry.profiles, reason=entry.reason,
                                        note=info.impossible))
            continue
        if info is not None and info.note:
            entry.note = (entry.note + "; " if entry.note else "") + info.note
        if info is not None and not info.prompt:
            entry.note = _join_note(entry.note, "no prompt: set by select/default")
        if info is not None and info.type == "string":
            entry.value = quote_string(entry.value)
        result.append(entry)
        walk_list.append((entry, info))
    # y/m is written as m when a parent is a module (in the base, or planned as one):
    # nothing gets promoted to built-in just for it
    changed = config is not None
    while changed:
        changed = False
        for entry, info in walk_list:
            if (entry.expected == "y/m" and entry.value == "y" and info is not None
                    and info.type == "tristate"
                    and any(config.get(p) == "m" or (p in requested and requested[p].value == "m")
                            for p in info.needs + info.limits)):
                entry.value = "m"
                changed = True
    for entry, info in walk_list:
        level = tristate_level(entry.value)
        if level:
            if info is not None and not info.prompt:
                promptless(entry.symbol, info, level, entry.symbol, 0)
            else:
                walk(entry.symbol, level, 0)
    for symbol in dep_order:
        result.append(deps[symbol])
    return result, notes
