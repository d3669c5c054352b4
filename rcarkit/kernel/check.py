"""check-kernel: diff a kernel configuration against the profiles in kconfig_profiles/.

Library use::

    from rcarkit.kernel.config import load_config
    from rcarkit.kernel.profiles import load_catalog
    from rcarkit.kernel.check import check_config, select_profiles

    catalog = load_catalog()
    config = load_config("/proc/config.gz")
    profiles = select_profiles(catalog, ["k8s-core"], cni=["cilium"])
    report = check_config(config, profiles, catalog)
    report.exit_code          # 0 ready, 1 required options missing
    report.to_dict()          # the --format json document

How one rule is judged (``OptionRule`` against ``KernelConfig``):

1. For each symbol of the rule, decide whether it exists in the checked kernel.
   A symbol written in the config (set or ``is not set``) exists. Otherwise the
   version history in ``kernel-symbols.toml`` decides: before ``added`` it is
   ``not-applicable-for-version``, from ``removed`` on it is
   ``obsolete-skipped``. With no kernel version known (a config without its
   header), the version range is inferred from the symbols of
   ``kernel-symbols.toml`` the config has (:func:`infer_version_range`: a
   symbol written in the config exists in that kernel, so the kernel is at
   least its ``added`` and older than its ``removed``; a symbol the config
   lacks proves nothing, because a full config omits symbols whose
   dependencies are off). A symbol that exists in part of that range is
   ``undecided``: the row fails (never ``ok``) and ``--kernel-version``
   decides it.
2. A rule with ``any_of`` is ``ok`` when any existing alternative satisfies it.
3. A rule whose ``served_by`` symbols are all set (``y``/``m``) is ``ok``
   without its own symbol; the note names them and why they serve.
4. Otherwise the value decides: absent or ``n`` is ``missing``, a present value
   that does not satisfy ``expect`` (``m`` where ``y`` is needed, a too-small
   number) is ``wrong-value``.
5. A profile's ``min_kernel`` adds a ``KERNEL_VERSION`` row that fails when
   the kernel is older.
6. A profile's ``arches`` adds an ``ARCH`` row: ``unsupported-arch`` (required,
   exit 1) when the config's architecture is not listed, ``unknown`` (not
   fatal, with a note) when the config does not say its architecture.

In a defconfig, an absent symbol takes its Kconfig default: the caller expands
it first (:func:`rcarkit.kernel.defaults.expand_defconfig`, as the CLI does);
in one that could not be expanded "missing" is marked ``provisional``.
"""

from rcarkit.report import (Finding, Group, Report, OK, MISSING, WRONG, OBSOLETE, NOT_YET,
                            UNKNOWN, UNSUPPORTED_ARCH, UNDECIDED, UNAVAILABLE, NOT_A_SYMBOL)


def select_profiles(catalog, names=None, cni=None, runtime=None, proxy_mode=None, all_profiles=False):
    """Resolve ``--profile`` names and the ``--cni/--runtime/--proxy-mode`` shortcuts.

    With nothing given, the default set (k8s-core, containerd, kube-proxy-iptables,
    flannel-vxlan) is used; a shortcut replaces the default of its kind.
    """
    from rcarkit.kernel.profiles import DEFAULT_PROFILES
    if all_profiles:
        return list(catalog.profiles.values())
    chosen = [catalog.profile(n) for n in (names or [])]
    # in stack order, like the defaults: runtime, then kube-proxy, then the CNI
    shortcuts = {"runtime": runtime or [], "proxy-mode": proxy_mode or [], "cni": cni or []}
    for kind, values in shortcuts.items():
        for value in values:
            chosen.append(catalog.resolve(kind, value))
    if not names:
        kinds_given = set(k for k, v in shortcuts.items() if v)
        defaults = [catalog.profile(n) for n in DEFAULT_PROFILES]
        chosen = [p for p in defaults if p.kind not in kinds_given] + chosen
    unique = []
    for prof in chosen:
        if prof not in unique:
            unique.append(prof)
    return unique


class VersionRange:
    """The kernel versions a header-less config can be: ``low <= v < high``
    (None: unbounded), with the symbols that bound it."""

    def __init__(self, low=None, high=None, low_by=None, high_by=None, conflict=""):
        self.low, self.high = low, high
        self.low_by, self.high_by = low_by, high_by
        #: the symbols contradict each other (a hand-merged config): nothing is inferred
        self.conflict = conflict

    def describe(self):
        if self.conflict:
            return "unknown (%s)" % self.conflict
        if self.low is None and self.high is None:
            return "unknown (no versioned symbol in the config)"
        parts = []
        if self.low is not None:
            parts.append(">= %s (has %s)" % (self.low, self.low_by))
        if self.high is not None:
            parts.append("< %s (has %s)" % (self.high, self.high_by))
        return ", ".join(parts)

    def exists(self, hist):
        """True/False when ``hist``'s symbol exists in every/no version of the
        range, None when that depends on where in the range the kernel is."""
        if hist.never_existed:
            return False
        low, high = self.low, self.high
        if (hist.added is not None and high is not None and high <= hist.added) or \
                (hist.removed is not None and low is not None and low >= hist.removed):
            return False
        if (hist.added is None or (low is not None and low >= hist.added)) and \
                (hist.removed is None or (high is not None and high <= hist.removed)):
            return True
        return None

    def to_dict(self):
        return {"min": str(self.low) if self.low else None, "min_by": self.low_by,
                "below": str(self.high) if self.high else None, "below_by": self.high_by,
                "conflict": self.conflict or None}


def infer_version_range(config, catalog):
    """The :class:`VersionRange` the symbols ``config`` has allow (kernel-symbols.toml)."""
    low = high = low_by = high_by = None
    for hist in catalog.symbols.values():
        if hist.never_existed or config.get(hist.name) is None:
            continue
        if hist.added is not None and (low is None or hist.added > low):
            low, low_by = hist.added, hist.name
        if hist.removed is not None and (high is None or hist.removed < high):
            high, high_by = hist.removed, hist.name
    if low is not None and high is not None and low >= high:
        return VersionRange(conflict="%s (added in %s) and %s (removed in %s) never coexisted"
                            % (low_by, low, high_by, high))
    return VersionRange(low, high, low_by, high_by)


def version_range(config, catalog):
    """The inferred range of a config without a version (cached on the config), else None."""
    if config.version is not None:
        return None
    cached = getattr(config, "_version_range", None)
    if cached is None:
        cached = infer_version_range(config, catalog)
        config._version_range = cached
    return cached


def symbol_status(config, catalog, symbol):
    """Whether ``symbol`` exists in the checked kernel: (status or None, history note).

    ``UNDECIDED`` when the config has no version and the symbol exists in
    only part of the inferred :class:`VersionRange`.
    """
    hist = catalog.history(symbol)
    if hist is not None and hist.never_existed:
        # even when a hand-written config sets it: Kconfig ignores the line
        return NOT_A_SYMBOL, hist.describe()
    if config.get(symbol) is not None:
        return None, ""
    if hist is None:
        return None, ""
    exists = hist.exists_in(config.version)
    if exists is None:  # unknown version: the range the config's symbols allow
        exists = version_range(config, catalog).exists(hist)
        if exists is None:
            return UNDECIDED, "%s; kernel version unknown (%s)" % (
                hist.describe(), version_range(config, catalog).describe())
    if exists:
        return None, ""
    if hist.never_existed or (hist.removed is not None and
                              (config.version is None or config.version >= hist.removed)):
        return OBSOLETE, hist.describe()
    return NOT_YET, hist.describe()


def evaluate_rule(config, catalog, rule):
    """Judge one OptionRule; returns a Finding."""
    alive = []
    skipped = []
    for sym in rule.names:
        status, why = symbol_status(config, catalog, sym)
        if status is None:
            alive.append(sym)
        else:
            skipped.append((sym, status, why))
    sources = tuple(catalog.source(k).to_dict() for k in rule.sources)
    base = dict(group=rule.profile, name=rule.label, expected=str(rule.expect),
                required=rule.required, reason=rule.reason, sources=sources,
                symbols=rule.names, settable=tuple(alive))
    if not alive:
        # an undecided alternative decides the row: it may exist and be missing
        status = next((st for _, st, _ in skipped if st == UNDECIDED), skipped[0][1])
        note = "; ".join("%s: %s" % (s, w) for s, _, w in skipped)
        return Finding(actual=None, status=status, note=note, **base)
    present_wrong = None
    for sym in alive:
        actual = config.get(sym)
        if rule.expect.matches(actual):
            note = rule.note
            if rule.is_any_of:
                note = ("satisfied by %s" % sym) + ("; " + note if note else "")
            return Finding(actual=actual, status=OK, note=note, **dict(base, name=rule.label))
        if actual not in (None, "n") and present_wrong is None:
            present_wrong = (sym, actual)
    if rule.served_by and all(config.get(s) in ("y", "m") for s in rule.served_by):
        note = "served by %s: %s" % (
            ", ".join("%s=%s" % (s, config.get(s)) for s in rule.served_by),
            rule.served_by_reason)
        served_sources = tuple(catalog.source(k).to_dict() for k in rule.served_by_sources
                               if k not in rule.sources)
        return Finding(actual=config.get(alive[0]), status=OK, note=note,
                       **dict(base, sources=sources + served_sources))
    if present_wrong is not None:
        sym, actual = present_wrong
        shown = actual if not rule.is_any_of else "%s=%s" % (sym, actual)
        return Finding(actual=shown, status=WRONG, note=rule.note, **base)
    actual = config.get(alive[0])
    blocked = [catalog.history(s).unavailable_on(config) if catalog.history(s) else ""
               for s in alive]
    if all(blocked):   # no alternative can be enabled here: not missing, unavailable
        hist_sources = tuple(catalog.source(k).to_dict() for s in alive
                             for k in catalog.history(s).unavailable_sources
                             if k not in rule.sources)
        note = "; ".join("%s %s" % (s, why) for s, why in zip(alive, blocked))
        return Finding(actual=actual, status=UNAVAILABLE, note=note,
                       **dict(base, sources=sources + hist_sources, settable=()))
    provisional = config.is_provisional and all(config.get(s) is None for s in alive)
    note = rule.note
    if skipped:
        extra = "; ".join("%s: %s" % (s, w) for s, _, w in skipped)
        note = "%s%s" % (note + "; " if note else "", extra)
    if rule.since:
        note = "needed since %s %s%s" % (rule.profile, rule.since, "; " + note if note else "")
    return Finding(actual=actual, status=MISSING, note=note, provisional=provisional, **base)


def evaluate_min_kernel(config, catalog, profile):
    if profile.min_kernel is None:
        return None
    version = config.version
    sources = tuple(catalog.source(k).to_dict() for k in profile.min_kernel_sources)
    status = OK if version is not None and version >= profile.min_kernel else WRONG
    note = ""
    if version is None:
        vrange = version_range(config, catalog)
        if vrange.low is not None and vrange.low >= profile.min_kernel:
            status = OK
        elif vrange.high is not None and vrange.high <= profile.min_kernel:
            status = WRONG
        else:
            status = UNDECIDED
        note = "kernel version unknown (%s); pass --kernel-version" % vrange.describe()
    return Finding(group=profile.name, name="KERNEL_VERSION", expected=">= %s" % (profile.min_kernel,),
                   actual=str(version) if version else None, status=status, required=True,
                   reason=profile.min_kernel_reason, sources=sources, note=note,
                   provisional=version is None and status == UNDECIDED)


def evaluate_arch(config, catalog, profile):
    """The ``ARCH`` row of a profile with ``arches``; None for a profile without."""
    if not profile.arches:
        return None
    sources = tuple(catalog.source(k).to_dict() for k in profile.arches_sources)
    supported = ", ".join(profile.arches)
    if config.arch is None:
        status, note = UNKNOWN, "architecture unknown (no header, no ARM64/X86/ARM symbol)"
    elif config.arch in profile.arches:
        status, note = OK, ""
    else:
        status, note = UNSUPPORTED_ARCH, "%s does not support %s (only %s)" % (
            profile.name, config.arch, supported)
    return Finding(group=profile.name, name="ARCH", expected=",".join(profile.arches),
                   actual=config.arch, status=status, required=True,
                   reason=profile.arches_reason, sources=sources, note=note)


def check_config(config, profiles, catalog):
    """Diff ``config`` (a KernelConfig) against ``profiles``; returns a Report."""
    groups = []
    notes = []
    caveats = []
    for prof in profiles:
        title = "%s: %s" % (prof.name, prof.summary)
        if prof.covers:
            title += " (covers %s)" % prof.covers
        if prof.caveat:
            title += " [%s]" % prof.status
            notes.append("%s is %s: %s (%s)" % (
                prof.name, prof.status, prof.status_note,
                ", ".join(catalog.source(k).url or k for k in prof.status_sources)))
            caveats.append(prof.caveat)
        group = Group(name=prof.name, title=title,
                      info={"kind": prof.kind,
                            "min_kernel": str(prof.min_kernel) if prof.min_kernel else None})
        for row in (evaluate_arch(config, catalog, prof),
                    evaluate_min_kernel(config, catalog, prof)):
            if row is not None:
                group.findings.append(row)
        for rule in prof.options:
            group.findings.append(evaluate_rule(config, catalog, rule))
        groups.append(group)
    vrange = version_range(config, catalog)
    if vrange is not None:
        notes.append("kernel version unknown (no header in %s); its symbols say: %s; rows "
                     "that depend on the version are undecided: pass --kernel-version"
                     % (config.source, vrange.describe()))
    header = getattr(config, "header_version", None)
    if header is not None and config.version is not None and tuple(header) != tuple(config.version):
        notes.append("checked as Linux %s (--kernel-version), although the header of %s "
                     "says Linux %s" % (config.version, config.source, header))
    for hist in catalog.symbols.values():
        if hist.never_existed and config.get(hist.name) not in (None, "n"):
            notes.append("%s sets %s=%s, but %s: Kconfig ignores the line (line %s)"
                         % (config.source, hist.name, config.get(hist.name), hist.describe(),
                            config.lines.get(hist.name, "?")))
    for item in getattr(catalog, "not_recommended", {}).values():
        if config.get(item.name) in ("y", "m"):
            notes.append("%s=%s is set, which rcarkit does not recommend: %s (%s)"
                         % (item.name, config.get(item.name), item.harm,
                            ", ".join(catalog.source(k).url or k for k in item.sources)))
    expansion = getattr(config, "expansion_note", None)
    if expansion:
        notes.append(expansion)
    elif config.is_provisional:
        notes.append("%s is a defconfig: options it does not list take their Kconfig default, "
                     "so 'missing' results are provisional; expand it with 'make olddefconfig' "
                     "for a definite answer" % config.source)
    version = str(config.version) if config.version else None
    subject = {"config": config.to_dict(), "kernel_version": version, "arch": config.arch,
               "profiles": [p.name for p in profiles]}
    if vrange is not None:
        subject["kernel_version_range"] = vrange.to_dict()
    line = "%s: Linux %s %s, %s, %d symbols" % (
        config.source, version or ("(version unknown: %s)" % vrange.describe()),
        config.arch or "(arch unknown)",
        config.kind if config.origin == "text" else "%s from %s" % (config.kind, config.origin),
        len(config))
    return Report(command="check-kernel", subject=subject, groups=groups, notes=notes,
                  subject_line=line, caveats=caveats)


def missing_symbols(report):
    """The symbols a fragment must set: ``[(symbol, expected, findings)]`` in report order.

    For an any-of rule the first alternative that exists in the kernel is chosen
    (``Finding.settable``).
    """
    wanted = {}
    order = []
    for f in report.failing(required=True) + report.failing(required=False):
        if f.name in ("KERNEL_VERSION", "ARCH") or f.status == UNAVAILABLE:
            continue   # an unavailable option would be dropped by olddefconfig
        sym = (f.settable or f.symbols)[0]
        if sym not in wanted:
            wanted[sym] = (f.expected, [])
            order.append(sym)
        wanted[sym][1].append(f)
    return [(s, wanted[s][0], wanted[s][1]) for s in order]
