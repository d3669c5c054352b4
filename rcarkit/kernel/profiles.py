"""Option sets as data: the files in ``kconfig_profiles/``.

Every rule rcarkit checks lives in a TOML file a person can read and edit; no
option name is hard-coded in Python. The directory holds:

``<profile>.toml``
    One profile (``k8s-core``, ``containerd``, ``kube-proxy-ipvs``, ``cilium``,
    ...)::

        name = "kube-proxy-ipvs"
        kind = "proxy-mode"        # core | runtime | proxy-mode | cni | feature | storage
        summary = "kube-proxy --proxy-mode=ipvs"
        aliases = ["ipvs"]         # names accepted by --proxy-mode / --cni / --runtime
        min_kernel = "4.19"        # optional, with min_kernel_reason / min_kernel_source
        arches = ["arm64", "x86"]  # optional, with arches_reason / arches_source
        docs = ["https://..."]

        [[option]]
        name = "IP_VS"             # or: any_of = ["NFT_COMPAT", "IP_NF_IPTABLES"]
        expect = "y/m"             # y | m | y/m | n | >=N | <=N | an exact value
        required = true            # false: optional, reported but not fatal
        reason = "kube-proxy cannot create the IPVS virtual server: ..."
        source = ["kubernetes-ipvs-readme"]   # keys of sources.toml, or URLs
        served_by = ["EXT4_USE_FOR_EXT2", "EXT4_FS_POSIX_ACL"]   # optional
        served_by_reason = "the ext4 driver mounts ext3 with ext4's ACLs"
        served_by_source = ["moby-check-config"]

    ``served_by`` names symbols that, all set (``y`` or ``m``), already do
    what the option is for: the rule is then ``ok`` without it, with a note
    saying so (``served_by_reason`` and ``served_by_source`` are required
    with it). It is how an alias or a superseded option is judged the way
    its upstream checker judges it, without a special case in code.

    ``[[differs_from]]`` records where the profile deliberately disagrees with
    an upstream list (tests/test_heldout_oracle.py compares them on held-out
    configs and fails on a disagreement not recorded here)::

        [[differs_from]]
        list = "k8s-system-validators"   # sources.toml key of the upstream list
        symbol = "CGROUP_BPF"
        theirs = "optional"      # required | optional | absent | y/m | unsupported
        ours = "required"        # the same words, or this rule's expect ("y")
        reason = "runc's device controller on cgroup v2 is an eBPF program ..."
        source = ["runc-cgroup-v2"]

    ``status = "unmaintained"`` (or ``"deprecated"``) with ``status_note`` and
    ``status_source`` marks a component upstream no longer maintains (Weave
    Net): the profile stays checkable, and the profile list, the group title,
    a report note and the verdict say so.

    ``covers = "Docker Engine 20.10 to 29"`` (with ``covers_source``) says which
    releases of the component the option list matches; an option's ``since =
    "28.0"`` (with ``since_source``) is the first release that needs it, so
    the version history is data and a missing row says "since 28.0".

    ``arches`` lists the kernel architectures (``ARCH=`` names, the
    ``arch/`` directories: arm, arm64, x86, riscv, powerpc, s390, mips,
    loongarch) the component supports; without it every architecture is
    accepted. A config of another architecture gets an ``ARCH`` row with status
    ``unsupported-arch`` (required, so the verdict is NOT READY, exit 1) and the
    verdict names the architecture. ``arches_reason`` (what goes wrong) and
    ``arches_source`` (keys of sources.toml or URLs) are required with it.
    ``x86`` covers 32- and 64-bit x86 (the kernel's ARCH); no profile tells them
    apart today.

``not-recommended.toml``
    Options rcarkit deliberately does not ask for because enabling them harms
    a node (``RT_GROUP_SCHED``)::

        [RT_GROUP_SCHED]
        harm = "with cgroup v2 the cpu controller ..."
        asked_by = ["moby contrib/check-config.sh before 2023"]
        source = ["kernel-doc-cgroup-v2", "moby-pr-45361"]

    A profile option on such a symbol is refused when the catalog loads;
    check-kernel notes when a config enables one. The file is optional in a
    ``--profiles-dir``.

``sources.toml``
    The documents rules cite, by key: ``[moby-check-config]`` with ``title``
    and ``url``.

``kernel-symbols.toml``
    The version history of kernel symbols, shared by all profiles::

        [NF_CONNTRACK_IPV4]
        removed = "4.19"                 # first version without it
        replaced_by = ["NF_CONNTRACK"]   # merged into / renamed to
        note = "IPv4 conntrack merged into nf_conntrack (commit a0ae2562c6c4)"
        source = ["kernel-commit-a0ae2562c6c4"]
        arches = ["arm64", "x86"]        # optional: only these architectures have it

    A rule on a symbol with ``arches`` is ``unavailable`` on a config of any
    other architecture. ``unavailable_without = { arm = ["ARM_LPAE"] }`` (with
    ``unavailable_reason`` and ``unavailable_source``) says the symbol cannot
    be enabled on that architecture unless the listed symbols are ``y``
    (Kconfig ``depends on`` chains through ``select ... if``): a rule on it is
    ``unavailable`` there too, not ``missing``, and no fragment asks for it.

    ``never_existed = true`` records a name that people put in configs but no
    kernel defines (a misremembered option); ``replaced_by`` then says what was
    probably meant. ``added`` is the first version that has the symbol. A rule on a symbol the
    checked kernel does not have yet is ``not-applicable-for-version``; one the
    kernel no longer has is ``obsolete-skipped``.

:func:`load_catalog` reads and validates everything and raises
:class:`rcarkit.errors.ProfileError` naming the file, the entry and the fix.

Long because the loader is the schema: every file's keys are validated here,
next to the documentation of the format above.
"""

import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from rcarkit.errors import ProfileError
from rcarkit.kernel.config import KernelVersion

PROFILE_KINDS = ("core", "runtime", "proxy-mode", "cni", "policy", "feature", "storage")
DEFAULT_PROFILES = ("k8s-core", "containerd", "kube-proxy-iptables", "flannel-vxlan")
SCHEMA_FILES = ("sources.toml", "kernel-symbols.toml", "kernel-depends.toml", "kernel-modules.toml",
                "not-recommended.toml")
NOT_RECOMMENDED_FILE = "not-recommended.toml"

_SYMBOL_RE = re.compile(r"^[A-Z0-9_]+\Z")       # \Z: "$" would let "NAMESPACES\n" in
_PROFILE_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._+-]*")
_PROFILE_KEYS = {"name", "kind", "summary", "description", "aliases", "min_kernel",
                 "min_kernel_reason", "min_kernel_source", "docs", "option",
                 "arches", "arches_reason", "arches_source",
                 "status", "status_note", "status_source", "covers", "covers_source",
                 "differs_from"}
#: upstream states a profile's component may be in (``status``); every one
#: but "maintained" is shown in the profile list, the group title and the verdict
COMPONENT_STATUSES = ("maintained", "unmaintained", "deprecated")
#: kernel ARCH names (arch/ directories) an ``arches`` list may use
KNOWN_ARCHES = ("arm", "arm64", "x86", "riscv", "powerpc", "s390", "mips", "loongarch")
_OPTION_KEYS = {"name", "any_of", "expect", "required", "reason", "source", "note",
                "served_by", "served_by_reason", "served_by_source", "since", "since_source"}
_DIFFERS_KEYS = {"list", "symbol", "theirs", "ours", "reason", "source"}
_NOT_RECOMMENDED_KEYS = {"harm", "asked_by", "source", "note"}
_SYMBOL_KEYS = {"added", "removed", "replaced_by", "note", "source", "arches", "never_existed",
                "unavailable_without", "unavailable_reason", "unavailable_source"}


def profiles_dir():
    """Where the shipped ``kconfig_profiles/`` is (source tree or installed package)."""
    env = os.environ.get("RCARKIT_PROFILES")
    if env:
        return env
    # this module is rcarkit/<domain>/x.py: the package is one level up
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for candidate in (os.path.join(os.path.dirname(here), "kconfig_profiles"),
                      os.path.join(here, "kconfig_profiles")):
        if os.path.isfile(os.path.join(candidate, "kernel-symbols.toml")):
            return candidate
    raise ProfileError("kconfig_profiles/ not found next to the rcarkit package",
                       hint="reinstall rcarkit or set RCARKIT_PROFILES to the directory")


def check_table(entry, allowed, where, path):
    """A TOML entry must be a table with only ``allowed`` keys; ProfileError otherwise."""
    if not isinstance(entry, dict):
        raise ProfileError("%s must be a table" % where, path=path)
    unknown = set(entry) - set(allowed)
    if unknown:
        raise ProfileError("%s: unknown key(s) %s" % (where, ", ".join(sorted(unknown))),
                           path=path, hint="allowed: %s" % ", ".join(sorted(allowed)))


_EXACT_RE = re.compile(r'^(-?[0-9]+|0[xX][0-9a-fA-F]+|".*")\Z')


class Expect:
    """An expected value: ``y``, ``m``, ``y/m``, ``n``, ``>=N``, ``<=N`` or exact."""

    def __init__(self, text):
        text = str(text).strip()
        if text in ("y-or-m", "ym", "y|m", "m/y"):
            text = "y/m"
        self.text = text
        if text in ("y", "m", "y/m", "n"):
            self.op = text
            self.number = None
        elif text.startswith(">=") or text.startswith("<="):
            self.op = text[:2]
            try:
                self.number = int(text[2:].strip(), 0)
            except ValueError:
                raise ValueError("%r: a number must follow %s" % (text, self.op))
        elif _EXACT_RE.match(text):
            self.op = "=="
            self.number = None
        else:  # "yes", "Y", "module": a typo that no config could ever match
            raise ValueError("%r is not y, m, y/m, n, >=N, <=N, a number or a quoted string"
                             % text)

    def __str__(self):
        return self.text

    def matches(self, actual):
        """True when ``actual`` (a value from a KernelConfig, or None) satisfies this."""
        if self.op == "n":
            return actual in (None, "n")
        if actual is None:
            return False
        if self.op == "y/m":
            return actual in ("y", "m")
        if self.op in ("y", "m"):
            return actual == self.op
        if self.op in (">=", "<="):
            try:
                value = int(actual, 0)
            except ValueError:
                return False
            return value >= self.number if self.op == ">=" else value <= self.number
        return actual.strip('"') == self.text.strip('"')


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    url: str = ""

    def to_dict(self):
        return {"id": self.key, "title": self.title, "url": self.url}


@dataclass
class SymbolHistory:
    """What the kernel did to one symbol over time (``kernel-symbols.toml``)."""
    name: str
    added: Optional[KernelVersion] = None
    removed: Optional[KernelVersion] = None
    replaced_by: Tuple[str, ...] = ()
    note: str = ""
    sources: Tuple[str, ...] = ()
    arches: Tuple[str, ...] = ()
    never_existed: bool = False
    #: ``{arch: (symbols,)}``: on that architecture the symbol cannot be enabled
    #: unless every listed symbol is y (CGROUP_HUGETLB: arm needs ARM_LPAE)
    unavailable_without: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    unavailable_reason: str = ""
    unavailable_sources: Tuple[str, ...] = ()

    def unavailable_on(self, config):
        """Why the symbol cannot be enabled in ``config`` (its arch and values), or ''."""
        if self.arches and config.arch and config.arch not in self.arches:
            return "is defined only for %s, not %s" % (", ".join(self.arches), config.arch)
        needs = self.unavailable_without.get(config.arch or "")
        if not needs or all(config.get(s) == "y" for s in needs):
            return ""
        return "cannot be enabled on %s without %s: %s" % (
            config.arch, " and ".join(needs), self.unavailable_reason)

    def exists_in(self, version):
        """True/False for a known version, None when ``version`` is None."""
        if self.never_existed:
            return False
        if version is None:
            return None
        if self.added is not None and version < self.added:
            return False
        if self.removed is not None and version >= self.removed:
            return False
        return True

    def describe(self):
        if self.never_existed:
            text = "not a kernel symbol in any version"
            if self.replaced_by:
                text += "; probably meant %s" % ", ".join(self.replaced_by)
            return text
        parts = []
        if self.added:
            parts.append("added in %s" % (self.added,))
        if self.removed:
            what = "removed"
            if self.replaced_by:
                what = "replaced by %s" % ", ".join(self.replaced_by)
            parts.append("%s in %s" % (what, self.removed))
        return "; ".join(parts)


@dataclass
class OptionRule:
    """One check: the symbol(s), the value wanted, why, and who says so."""
    profile: str
    names: Tuple[str, ...]
    expect: Expect
    required: bool
    reason: str
    sources: Tuple[str, ...]
    note: str = ""
    #: other symbols that, all set (y or m), already give what this option is
    #: for: the rule is then ``ok`` without it (``served_by`` in the TOML)
    served_by: Tuple[str, ...] = ()
    served_by_reason: str = ""
    served_by_sources: Tuple[str, ...] = ()
    #: the first release of the profile's component that needs it ("28.0"),
    #: with who says so (``since`` / ``since_source``)
    since: str = ""
    since_sources: Tuple[str, ...] = ()

    @property
    def label(self):
        return " | ".join(self.names)

    @property
    def is_any_of(self):
        return len(self.names) > 1


@dataclass
class Profile:
    name: str
    kind: str
    summary: str
    path: str
    options: List[OptionRule] = field(default_factory=list)
    aliases: Tuple[str, ...] = ()
    min_kernel: Optional[KernelVersion] = None
    min_kernel_reason: str = ""
    min_kernel_sources: Tuple[str, ...] = ()
    docs: Tuple[str, ...] = ()
    description: str = ""
    #: supported kernel architectures; empty: all
    arches: Tuple[str, ...] = ()
    arches_reason: str = ""
    arches_sources: Tuple[str, ...] = ()
    #: recorded disagreements with upstream lists (``[[differs_from]]``)
    differs_from: Tuple["UpstreamDifference", ...] = ()
    #: the component's upstream state (``status``), with what it means and who says so
    status: str = "maintained"
    status_note: str = ""
    status_sources: Tuple[str, ...] = ()
    #: which releases of the component the option list matches ("Docker Engine 20.10 - 29")
    covers: str = ""
    covers_sources: Tuple[str, ...] = ()

    @property
    def caveat(self):
        """``"weave unmaintained"`` for a component upstream no longer maintains, else ''."""
        return "" if self.status == "maintained" else "%s %s" % (self.name, self.status)

    def to_dict(self):
        return {"name": self.name, "kind": self.kind, "summary": self.summary,
                "status": self.status, "status_note": self.status_note or None,
                "covers": self.covers or None,
                "aliases": list(self.aliases), "arches": list(self.arches) or None,
                "min_kernel": str(self.min_kernel) if self.min_kernel else None,
                "options": len(self.options),
                "required": sum(1 for o in self.options if o.required),
                "differs_from": [d.to_dict() for d in self.differs_from]}


@dataclass(frozen=True)
class UpstreamDifference:
    """Where a profile deliberately disagrees with an upstream list, and why."""
    list: str
    symbol: str
    theirs: str
    ours: str
    reason: str
    sources: Tuple[str, ...]

    @property
    def key(self):
        return (self.list, self.symbol, self.theirs, self.ours)

    def to_dict(self):
        return {"list": self.list, "symbol": self.symbol, "theirs": self.theirs,
                "ours": self.ours, "reason": self.reason, "source": list(self.sources)}


@dataclass
class NotRecommended:
    """An option rcarkit deliberately does not ask for (``not-recommended.toml``)."""
    name: str
    harm: str
    asked_by: Tuple[str, ...] = ()
    sources: Tuple[str, ...] = ()
    note: str = ""

    def to_dict(self):
        return {"name": self.name, "harm": self.harm, "asked_by": list(self.asked_by),
                "source": list(self.sources), "note": self.note}


@dataclass
class Catalog:
    """All profiles, the symbol history and the sources, validated."""
    directory: str
    profiles: Dict[str, Profile]
    symbols: Dict[str, SymbolHistory]
    sources: Dict[str, Source]
    not_recommended: Dict[str, NotRecommended] = field(default_factory=dict)

    def profile(self, name):
        if name in self.profiles:
            return self.profiles[name]
        for prof in self.profiles.values():
            if name in prof.aliases:
                return prof
        raise ProfileError("unknown profile %r" % name,
                           hint="choose from: %s" % ", ".join(sorted(self.profiles)))

    def by_kind(self, kind):
        return [p for p in self.profiles.values() if p.kind == kind]

    def resolve(self, kind, name):
        """A --cni/--runtime/--proxy-mode shortcut: profile name or alias of that kind."""
        for prof in self.by_kind(kind):
            if name == prof.name or name in prof.aliases:
                return prof
        choices = sorted(set(n for p in self.by_kind(kind) for n in (p.name,) + p.aliases))
        raise ProfileError("unknown %s %r" % (kind, name), hint="choose from: %s" % ", ".join(choices))

    def history(self, symbol):
        return self.symbols.get(symbol)

    def source(self, key):
        if key in self.sources:
            return self.sources[key]
        return Source(key=key, title=key, url=key if "://" in key else "")


#: Largest profile TOML we read (the biggest shipped one is a few tens of KiB).
MAX_PROFILE_BYTES = 4 * 1024 * 1024


def _load_toml(path):
    from rcarkit.safe_read import read_text_capped
    from rcarkit.kernel.toml_subset import parse
    text = read_text_capped(path, MAX_PROFILE_BYTES, ProfileError, "a profile file")
    data = parse(text)   # the plain subset, fast; anything else goes to tomllib
    if data is not None:
        return data
    try:
        import tomllib  # Python >= 3.11
    except ImportError:  # pragma: no cover - exercised on 3.9/3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ProfileError("invalid TOML: nested too deeply", path=path,
                           hint="a profile nests tables a few levels deep")
    except tomllib.TOMLDecodeError as exc:
        line = None
        m = re.search(r"line (\d+)", str(exc))
        if m:
            line = int(m.group(1))
        raise ProfileError("invalid TOML: %s" % exc, path=path, line=line,
                           hint="fix the syntax at that line")


def _as_tuple(value, what, path):
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ProfileError("%s must be a string or a list of strings" % what, path=path)


def _version(value, what, path):
    if value is None:
        return None
    parsed = KernelVersion.parse(str(value))
    if parsed is None:
        raise ProfileError("%s = %r is not a kernel version" % (what, value), path=path,
                           hint='write it as a string like "4.19"')
    return parsed


def _load_sources(path):
    data = _load_toml(path)
    sources = {}
    for key, entry in data.items():
        if not isinstance(entry, dict) or "title" not in entry:
            raise ProfileError("source [%s] needs a title (and a url)" % key, path=path)
        sources[key] = Source(key=key, title=str(entry["title"]), url=str(entry.get("url", "")))
    return sources


def _load_symbols(path):
    data = _load_toml(path)
    symbols = {}
    for name, entry in data.items():
        where = "symbol [%s]" % name
        if not _SYMBOL_RE.match(name):
            raise ProfileError("%s: symbol names are written without CONFIG_, in capitals" % where,
                               path=path)
        check_table(entry, _SYMBOL_KEYS, where, path)
        hist = SymbolHistory(
            name=name,
            added=_version(entry.get("added"), where + " added", path),
            removed=_version(entry.get("removed"), where + " removed", path),
            replaced_by=_as_tuple(entry.get("replaced_by"), where + " replaced_by", path),
            note=str(entry.get("note", "")),
            sources=_as_tuple(entry.get("source"), where + " source", path),
            arches=_as_tuple(entry.get("arches"), where + " arches", path),
            never_existed=entry.get("never_existed", False),
        )
        table = entry.get("unavailable_without", {})
        if not isinstance(table, dict) or any(
                arch not in KNOWN_ARCHES for arch in table):
            raise ProfileError("%s: unavailable_without maps kernel ARCH names to symbols"
                               % where, path=path, hint='unavailable_without = { arm = '
                               '["ARM_LPAE"] }')
        hist.unavailable_without = {arch: _as_tuple(syms, where + " unavailable_without", path)
                                    for arch, syms in table.items()}
        hist.unavailable_reason = " ".join(str(entry.get("unavailable_reason", "")).split())
        hist.unavailable_sources = _as_tuple(entry.get("unavailable_source"),
                                             where + " unavailable_source", path)
        _with_reasons("unavailable_without", hist.unavailable_without,
                      (("unavailable_reason", hist.unavailable_reason),
                       ("unavailable_source", hist.unavailable_sources)), None, path, where,
                      hint="say why the architecture cannot have it and who says so")
        if not isinstance(hist.never_existed, bool):
            raise ProfileError("%s: never_existed must be true or false" % where, path=path)
        if hist.never_existed and (hist.added or hist.removed):
            raise ProfileError("%s: never_existed takes no added/removed version" % where,
                               path=path, hint="drop added/removed, or never_existed")
        if hist.added and hist.removed and hist.removed <= hist.added:
            raise ProfileError("%s: removed (%s) is not after added (%s)"
                               % (where, hist.removed, hist.added), path=path)
        symbols[name] = hist
    return symbols


def _load_not_recommended(path, sources):
    if not os.path.isfile(path):
        return {}
    data = _load_toml(path)
    result = {}
    for name, entry in data.items():
        where = "[%s]" % name
        if not _SYMBOL_RE.match(name):
            raise ProfileError("%s: symbol names are written without CONFIG_, in capitals" % where,
                               path=path)
        check_table(entry, _NOT_RECOMMENDED_KEYS, where, path)
        if not entry.get("harm") or not entry.get("source"):
            raise ProfileError("%s needs harm and source" % where, path=path,
                               hint="say what enabling it breaks and who documents that")
        item = NotRecommended(name=name, harm=" ".join(str(entry["harm"]).split()),
                              asked_by=_as_tuple(entry.get("asked_by"), where + " asked_by", path),
                              sources=_as_tuple(entry["source"], where + " source", path),
                              note=str(entry.get("note", "")))
        _check_sources(item.sources, where, sources, path)
        result[name] = item
    return result


def _check_sources(keys, where, sources, path):
    for key in keys:
        if key not in sources and "://" not in key:
            raise ProfileError("%s: source %r is not in sources.toml" % (where, key),
                               path=path, hint="add it to sources.toml or give a URL")


def _with_reasons(fact_key, fact, companions, sources, path, where="", hint=None):
    """A fact in a profile comes with why and who says so: ``companions`` is
    ``((key, value), ...)`` (its reason, its source keys). All of them, or none
    of them; the last companion's source keys must be in sources.toml.
    ``fact_key`` names the fact in the message (``"arches"``,
    ``"status = 'unmaintained'"``), ``where`` the entry (``"option IP_VS"``)."""
    at = where + ": " if where else ""
    given = [key for key, value in companions if value]
    if fact and len(given) < len(companions):
        raise ProfileError("%s%s needs %s" % (at, fact_key, " and ".join(k for k, _ in companions)),
                           path=path, hint=hint)
    if not fact and given:
        raise ProfileError("%s%s without %s" % (at, "/".join(given), fact_key.split(" ")[0]),
                           path=path, hint=hint)
    if sources is not None:  # None: checked later (kernel-symbols.toml, before sources.toml)
        _check_sources(companions[-1][1], at + companions[-1][0], sources, path)


def _load_profile(path, sources):
    data = _load_toml(path)
    base = os.path.basename(path)
    unknown = set(data) - _PROFILE_KEYS
    if unknown:
        raise ProfileError("unknown top-level key(s) %s" % ", ".join(sorted(unknown)), path=path,
                           hint="allowed: %s" % ", ".join(sorted(_PROFILE_KEYS)))
    name = data.get("name")
    if not isinstance(name, str) or not _PROFILE_NAME_RE.fullmatch(name):
        # the name is written into fragments, READMEs and command lines
        raise ProfileError("name = %r is not a profile name" % (name,), path=path,
                           hint="lowercase letters, digits and . _ + - (the file name)")
    if name != base[:-len(".toml")]:
        raise ProfileError("name = %r does not match the file name" % name, path=path,
                           hint='set name = "%s"' % base[:-len(".toml")])
    kind = data.get("kind")
    if kind not in PROFILE_KINDS:
        raise ProfileError("kind = %r" % kind, path=path,
                           hint="kind is one of %s" % ", ".join(PROFILE_KINDS))
    if not data.get("summary"):
        raise ProfileError("summary is missing", path=path, hint="add a one-line summary")
    prof = Profile(
        name=name, kind=kind, summary=str(data["summary"]), path=path,
        aliases=_as_tuple(data.get("aliases"), "aliases", path),
        min_kernel=_version(data.get("min_kernel"), "min_kernel", path),
        min_kernel_reason=str(data.get("min_kernel_reason", "")),
        min_kernel_sources=_as_tuple(data.get("min_kernel_source"), "min_kernel_source", path),
        docs=_as_tuple(data.get("docs"), "docs", path),
        description=str(data.get("description", "")),
        arches=_as_tuple(data.get("arches"), "arches", path),
        arches_reason=str(data.get("arches_reason", "")),
        arches_sources=_as_tuple(data.get("arches_source"), "arches_source", path),
    )
    prof.status = str(data.get("status", "maintained"))
    prof.status_note = " ".join(str(data.get("status_note", "")).split())
    prof.status_sources = _as_tuple(data.get("status_source"), "status_source", path)
    if prof.status not in COMPONENT_STATUSES:
        raise ProfileError("status = %r" % prof.status, path=path,
                           hint="status is one of %s" % ", ".join(COMPONENT_STATUSES))
    _with_reasons("status = %r" % prof.status, prof.status != "maintained",
                  (("status_note", prof.status_note), ("status_source", prof.status_sources)),
                  sources, path, hint="say what it means for users and who says so")
    prof.covers = " ".join(str(data.get("covers", "")).split())
    prof.covers_sources = _as_tuple(data.get("covers_source"), "covers_source", path)
    _with_reasons("covers", prof.covers, (("covers_source", prof.covers_sources),), sources, path,
                  hint="say which releases the list matches and where that is read")
    for arch in prof.arches:
        if arch not in KNOWN_ARCHES:
            raise ProfileError("arches: %r is not a kernel architecture" % arch, path=path,
                               hint="use the kernel's ARCH names: %s" % ", ".join(KNOWN_ARCHES))
    _with_reasons("arches", prof.arches, (("arches_reason", prof.arches_reason),
                                          ("arches_source", prof.arches_sources)), sources, path,
                  hint="say what fails on other architectures and who says so, or drop them")
    _with_reasons("min_kernel", prof.min_kernel, (("min_kernel_reason", prof.min_kernel_reason),
                                                  ("min_kernel_source", prof.min_kernel_sources)),
                  sources, path, hint="say what fails on older kernels and who says so")
    prof.differs_from = _load_differences(data.get("differs_from", []), path, sources)
    options = data.get("option", [])
    if not isinstance(options, list) or not options:
        raise ProfileError("no [[option]] entries", path=path, hint="a profile lists options")
    seen = set()
    for index, entry in enumerate(options, 1):
        where = "option #%d" % index
        check_table(entry, _OPTION_KEYS, where, path)
        if ("name" in entry) == ("any_of" in entry):
            raise ProfileError("%s needs exactly one of name or any_of" % where, path=path)
        names = _as_tuple(entry.get("name") or entry.get("any_of"), where + " name", path)
        if not names:
            raise ProfileError("%s has no symbol name" % where, path=path,
                               hint="name the Kconfig symbol, without CONFIG_")
        if "any_of" in entry and len(names) < 2:
            raise ProfileError("%s: any_of lists at least two symbols" % where, path=path)
        where = "option %s" % " | ".join(names)
        for sym in names:
            if not _SYMBOL_RE.match(sym):
                raise ProfileError("%s: %r is not a symbol name" % (where, sym), path=path,
                                   hint="write it without CONFIG_, in capitals")
        if names in seen:
            raise ProfileError("%s is listed twice" % where, path=path)
        seen.add(names)
        for key in ("expect", "reason", "source"):
            if not entry.get(key):
                raise ProfileError("%s has no %s" % (where, key), path=path,
                                   hint="every option says what it expects, why, and who says so")
        if not isinstance(entry.get("required", True), bool):
            raise ProfileError("%s: required must be true or false" % where, path=path)
        try:
            expect = Expect(entry["expect"])
        except ValueError as exc:
            raise ProfileError("%s: expect %s" % (where, exc), path=path)
        srcs = _as_tuple(entry["source"], where + " source", path)
        _check_sources(srcs, where, sources, path)
        served_by = _as_tuple(entry.get("served_by"), where + " served_by", path)
        served_reason = str(entry.get("served_by_reason", "")).strip()
        served_sources = _as_tuple(entry.get("served_by_source"), where + " served_by_source", path)
        _with_reasons("served_by", served_by, (("served_by_reason", served_reason),
                                               ("served_by_source", served_sources)),
                      sources, path, where, hint="say why those symbols do the job and who "
                      "says so, or drop served_by")
        for sym in served_by:
            if not _SYMBOL_RE.match(sym):
                raise ProfileError("%s: served_by %r is not a symbol name" % (where, sym),
                                   path=path, hint="write it without CONFIG_, in capitals")
        since = str(entry.get("since", "")).strip()
        since_sources = _as_tuple(entry.get("since_source"), where + " since_source", path)
        _with_reasons("since", since, (("since_source", since_sources),), sources, path, where,
                      hint="give the first release that needs it and who says so")
        if since and not re.match(r"^[0-9]+(\.[0-9]+)*\Z", since):
            raise ProfileError("%s: since = %r is not a release number" % (where, since),
                               path=path, hint='write it like "28.0"')
        if since and not prof.covers:
            raise ProfileError("%s: since needs the profile's covers" % where, path=path,
                               hint="say at the top which releases the profile covers")
        prof.options.append(OptionRule(
            profile=name, names=names, expect=expect,
            required=entry.get("required", True), reason=str(entry["reason"]).strip(),
            sources=srcs, note=str(entry.get("note", "")), served_by=served_by,
            served_by_reason=served_reason, served_by_sources=served_sources,
            since=since, since_sources=since_sources))
    return prof


def _load_differences(entries, path, sources):
    if not isinstance(entries, list):
        raise ProfileError("differs_from must be [[differs_from]] tables", path=path)
    found = []
    for index, entry in enumerate(entries, 1):
        where = "differs_from #%d" % index
        check_table(entry, _DIFFERS_KEYS, where, path)
        for key in sorted(_DIFFERS_KEYS):
            if not entry.get(key):
                raise ProfileError("%s has no %s" % (where, key), path=path,
                                   hint="say which list, symbol, what each side asks, why, "
                                   "and who says so")
        if entry["list"] not in sources:
            raise ProfileError("%s: list %r is not in sources.toml" % (where, entry["list"]),
                               path=path, hint="name the upstream list by its sources.toml key")
        if not _SYMBOL_RE.match(str(entry["symbol"])):
            raise ProfileError("%s: %r is not a symbol name" % (where, entry["symbol"]), path=path)
        srcs = _as_tuple(entry["source"], where + " source", path)
        _check_sources(srcs, where, sources, path)
        diff = UpstreamDifference(list=entry["list"], symbol=entry["symbol"],
                                  theirs=str(entry["theirs"]), ours=str(entry["ours"]),
                                  reason=str(entry["reason"]).strip(), sources=srcs)
        if diff.key in (d.key for d in found):
            raise ProfileError("%s repeats %s" % (where, "/".join(diff.key)), path=path)
        found.append(diff)
    return tuple(found)


_CATALOG_CACHE = {}


def load_catalog(directory=None):
    """Load and validate every profile in ``directory`` (default: the shipped one)."""
    directory = os.path.abspath(directory or profiles_dir())
    cached = _CATALOG_CACHE.get(directory)
    if cached is not None:
        return cached
    if not os.path.isdir(directory):
        raise ProfileError("profiles directory not found", path=directory)
    sources = _load_sources(os.path.join(directory, "sources.toml"))
    symbols = _load_symbols(os.path.join(directory, "kernel-symbols.toml"))
    for hist in symbols.values():
        _check_sources(hist.sources + hist.unavailable_sources, "symbol [%s]" % hist.name,
                       sources, os.path.join(directory, "kernel-symbols.toml"))
    profiles = {}
    for entry in sorted(os.listdir(directory)):
        if not entry.endswith(".toml") or entry in SCHEMA_FILES:
            continue
        prof = _load_profile(os.path.join(directory, entry), sources)
        profiles[prof.name] = prof
    aliases = {}
    for prof in profiles.values():
        for alias in prof.aliases:
            if alias in profiles and alias != prof.name:
                raise ProfileError("alias %r of %s is another profile's name" % (alias, prof.name),
                                   path=prof.path)
            if (alias, prof.kind) in aliases:
                raise ProfileError("alias %r is used by %s and %s"
                                   % (alias, aliases[(alias, prof.kind)], prof.name), path=prof.path)
            aliases[(alias, prof.kind)] = prof.name
    not_recommended = _load_not_recommended(os.path.join(directory, NOT_RECOMMENDED_FILE), sources)
    for prof in profiles.values():
        for rule in prof.options:
            for sym in rule.names:
                if sym in not_recommended and rule.expect.matches("y"):
                    raise ProfileError("option %s: %s lists it as harmful" % (sym, NOT_RECOMMENDED_FILE),
                                       path=prof.path, hint="remove the option, or its entry in "
                                       "%s with the reason it is safe now" % NOT_RECOMMENDED_FILE)
    catalog = Catalog(directory=directory, profiles=profiles, symbols=symbols, sources=sources,
                      not_recommended=not_recommended)
    _CATALOG_CACHE[directory] = catalog
    return catalog
