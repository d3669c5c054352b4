"""verify-fragment: prove that a ``.cfg`` fragment survives the kernel build's configuration.

kernel-yocto.bbclass (and the merge_config.sh flow without Yocto) merges the
fragment onto the base configuration and runs ``make olddefconfig``. A line
whose dependencies are unmet is silently dropped there; Yocto's configuration
audit does not warn about fragments from a plain ``SRC_URI``. This module
simulates that step with the kernel tree's own Kconfig (through
:mod:`rcarkit.kernel.tree`, Kconfiglib) and reports every requested value
that did not make it. Library use::

    from rcarkit.kernel.verify import verify_fragment

    report = verify_fragment("/usr/src/linux-source-6.1", "base.config",
                             "rcarkit-k8s.cfg", arch="arm64")
    report.exit_code        # 0 every value survives, 1 something is dropped
    report.dropped()        # the Findings that did not survive
    report.final_text       # the resulting .config (as `make olddefconfig` writes it)

The simulation, step by step (what merge_config.sh ``-m`` + olddefconfig do,
which is what meta-renesas / meta-raspberrypi get with
``KCONFIG_MODE = "alldefconfig"``):

1. the base lines, then the fragment lines; for a symbol set twice the last
   assignment wins;
2. Kconfig evaluates the result: a value outside what a symbol's
   dependencies allow is lowered or dropped, ``select`` forces values up,
   symbols not mentioned take their defaults;
3. each fragment line is compared with the final ``.config`` the way
   merge_config.sh compares them (the whole ``CONFIG_X=...`` / ``# CONFIG_X is
   not set`` line).

Statuses of the rows:

``ok``                  the line is in the final .config as written
``missing``             dropped: the symbol ended up unset/``n``
``wrong-value``         dropped: the symbol has another value (``m`` for ``y``,
                        forced by a ``select``, ...)
``obsolete-skipped``    the tree does not define the symbol at all
``warning``             ``# CONFIG_X is not set`` for a symbol whose dependencies
                        are unmet: it is off, but not written, so merge_config.sh
                        still prints "Value requested ... not in final .config"

Each dropped row says why (the unmet dependency expression, rendered by
Kconfiglib) and what fixes it (the symbols to add, found by
:meth:`rcarkit.kernel.tree.KernelTree.fixes`). ``missing``, ``wrong-value``
and ``obsolete-skipped`` rows make the exit code 1.
"""

import os

from rcarkit.errors import ConfigError, EXIT_FINDINGS, EXIT_OK
from rcarkit.report import Finding, Group, Report, MISSING, OK, OBSOLETE, WARNING, WRONG

DROPPED = (MISSING, WRONG, OBSOLETE)


class FragmentVerifyReport(Report):
    """A Report whose verdict and exit code count dropped and obsolete lines."""

    final_text = ""

    def dropped(self):
        return [f for f in self.findings() if f.status in DROPPED]

    @property
    def exit_code(self):
        return EXIT_FINDINGS if self.dropped() else EXIT_OK

    def merge_config_would_report(self):
        """Symbols merge_config.sh prints as "Value requested ... not in final .config"."""
        return [f.name for f in self.findings() if f.status != OK]

    def verdict(self):
        rows = list(self.findings())
        dropped = [f for f in rows if f.status in (MISSING, WRONG)]
        obsolete = [f for f in rows if f.status == OBSOLETE]
        if not dropped and not obsolete:
            text = "OK: all %d fragment values survive olddefconfig" % len(rows)
        else:
            parts = []
            if dropped:
                parts.append("%d dropped" % len(dropped))
            if obsolete:
                parts.append("%d not in this kernel" % len(obsolete))
            text = "DROPPED: %s of %d fragment values" % (", ".join(parts), len(rows))
        warn = [f for f in rows if f.status == WARNING]
        if warn:
            text += "; %d unwritten 'is not set'" % len(warn)
        return text

    def to_dict(self):
        data = super().to_dict()
        data["dropped"] = [f.name for f in self.dropped()]
        data["merge_config_would_report"] = self.merge_config_would_report()
        return data


def read_fragment(path):
    """``[(symbol, value, line)]`` of a fragment file; ConfigError on bad input."""
    from rcarkit.kernel.tree import parse_assignments
    from rcarkit.safe_read import read_text_capped
    text = read_text_capped(path, 4 * 1024 * 1024, ConfigError, "a fragment")
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not parse_assignments(line):
            raise ConfigError("not a Kconfig assignment: %r" % line[:60], path=path, line=number,
                              hint="write CONFIG_X=y or '# CONFIG_X is not set'")
    assignments = parse_assignments(text)
    if not assignments:
        raise ConfigError("the fragment sets no option", path=path,
                          hint="a fragment has lines like CONFIG_X=y")
    last = {}
    for sym, value, line in assignments:
        last[sym] = (value, line)
    order = []
    for sym, _, _ in assignments:
        if sym not in order:
            order.append(sym)
    return [(sym, last[sym][0], last[sym][1]) for sym in order]


def _history(symbol):
    """The shipped kernel-symbols.toml entry of ``symbol``, or None."""
    from rcarkit.errors import RcarkitError
    from rcarkit.kernel.profiles import load_catalog
    try:
        return load_catalog().history(symbol)
    except RcarkitError:   # no shipped profiles: the tree's own answer stands
        return None


def verify_fragment(kernel_src, base, fragment, arch="arm64"):
    """Simulate merge + olddefconfig of ``fragment`` onto ``base``; a FragmentVerifyReport.

    ``base`` is a path (any format :func:`rcarkit.kernel.config.load_config` reads,
    a full .config or a defconfig) or a KernelConfig.
    """
    from rcarkit.kernel.config import KernelConfig, load_config
    from rcarkit.kernel.tree import load_tree
    if isinstance(base, KernelConfig):
        base_config = base
    else:
        if not os.path.exists(str(base)):
            raise ConfigError("base configuration not found", path=base,
                              hint="pass the .config (or defconfig) the fragment is merged onto")
        base_config = load_config(str(base))
    wanted = read_fragment(str(fragment))
    tree = load_tree(kernel_src, arch=arch)
    try:
        return _verify(tree, base_config, wanted, fragment, arch)
    except RecursionError:
        from rcarkit.kernel.tree import TreeError
        raise TreeError("Kconfig dependencies nested too deeply to evaluate (a 'depends on' "
                        "chain or an expression thousands of levels deep)",
                        path=os.path.join(tree.srctree, "Kconfig"),
                        hint="is this a real kernel tree?")


def _verify(tree, base_config, wanted, fragment, arch):
    from rcarkit.kernel.tree import Unsatisfiable, config_text, format_line
    sim = tree.simulate(config_text(base_config), [line for _, _, line in wanted])
    findings = []
    for sym, value, line in wanted:
        final_line = sim.line(sym)
        actual = sim.value(sym)
        if final_line == format_line(sym, value):
            findings.append(Finding(group="fragment", name=sym, expected=value, actual=actual,
                                    status=OK, required=True, reason="set as requested",
                                    symbols=(sym,)))
            continue
        if not tree.defines(sym):
            arch_only, why = tree.undefined_reason(sym)
            hist = _history(sym)
            if hist is not None and hist.never_existed:
                arch_only, why = False, "%s (kernel-symbols.toml)" % hist.describe()
            findings.append(Finding(
                group="fragment", name=sym, expected=value, actual=None,
                status=MISSING if arch_only else OBSOLETE, required=True, symbols=(sym,),
                reason=why, note="fix: delete the line"))
            continue
        if value == "n" and actual in (None, "n"):
            findings.append(Finding(
                group="fragment", name=sym, expected=value, actual=None, status=WARNING,
                required=False, symbols=(sym,),
                reason="off as requested, but not written: %s"
                       % (tree.explain(sym, "y") or "dependencies unmet"),
                note="merge_config.sh reports it; harmless"))
            continue
        why = tree.explain(sym, value) or "final value %s" % (actual or "unset")
        try:
            if tree.value_problem(sym, value):
                fix = "fix: correct the value"
            else:
                fixes = tree.fixes(sym, value)
                fix = ("add %s" % ", ".join(format_line(s, v) for s, v in fixes)) if fixes \
                    else "no dependency to add"
        except Unsatisfiable as exc:
            fix = "cannot be set for %s: %s" % (arch, exc)
        status = MISSING if actual in (None, "n") else WRONG
        findings.append(Finding(group="fragment", name=sym, expected=value, actual=actual,
                                status=status, required=True, reason=why, note=fix,
                                symbols=(sym,)))
    group = Group(name="fragment", title="%s onto %s (merge + olddefconfig, Linux %s %s)" % (
        os.path.basename(str(fragment)), os.path.basename(base_config.source),
        tree.kernel_version, arch), findings=findings)
    subject = {"kernel_src": tree.srctree, "kernel_version": tree.kernel_version, "arch": arch,
               "base": base_config.source, "fragment": str(fragment),
               "compiler": tree.compiler}
    line = "%s + %s: Linux %s %s, %d fragment values, Kconfig from %s" % (
        base_config.source, fragment, tree.kernel_version, arch, len(wanted), tree.srctree)
    notes = []
    from rcarkit.kernel.config import KernelVersion
    tree_version = KernelVersion.parse(tree.kernel_version)
    if base_config.version is not None and tree_version is not None and \
            tuple(base_config.version)[:2] != tuple(tree_version)[:2]:
        notes.append("the base is Linux %s but the tree is Linux %s: the result is what "
                     "this tree would build; pass the board kernel's own tree"
                     % (base_config.version, tree.kernel_version))
    if tree.compiler == "gcc" and arch not in ("x86",):
        notes.append("no cross compiler for %s found: compiler-dependent options follow the "
                     "host gcc" % arch)
    report = FragmentVerifyReport(command="verify-fragment", subject=subject, groups=[group],
                                  notes=notes, subject_line=line)
    report.final_text = sim.text
    return report
