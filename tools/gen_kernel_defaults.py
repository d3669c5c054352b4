#!/usr/bin/env python3
"""Generate kconfig_profiles/kernel-defaults-<version>.json from a kernel tree's Kconfig.

Usage::

    python3 tools/gen_kernel_defaults.py --kernel-src /var/tmp/rcarkit-cache/linux-source-6.1 \\
        [--arches arm64,arm,x86] [--output kconfig_profiles/kernel-defaults-6.1.json] [--check]

A defconfig lists only what differs from the Kconfig defaults; to judge one
without a kernel tree, :mod:`rcarkit.kernel.defaults` re-does what
``make olddefconfig`` does for the symbols that matter. This script records,
for every symbol the profiles name (options and ``served_by``) and, transitively, every symbol their
values depend on (prompt conditions, ``depends on``, defaults and their
conditions, ``select``/``imply`` sources, ranges, the enclosing choice), read
with Kconfiglib for each architecture:

``t``    type: bool, tristate, int, hex, string
``v``    visibility: the prompt conditions (with ``depends on`` and the
         enclosing ``if``/``menu``); absent: no prompt (never user-settable)
``d``    the defaults, in order: ``[value, condition]``
``s``    the ``select`` reverse dependency (who forces it on)
``i``    the ``imply`` reverse dependency, with ``dep`` its direct dependency
``r``    ranges (int/hex): ``[low, high, condition]``
``c``    the choice it is a member of (a key of ``choices``)

Expressions are JSON lists: ``["&&", a, b, ...]``, ``["||", ...]``,
``["!", a]``, ``["=", a, b]`` (and ``!=``, ``<``, ``<=``, ``>``, ``>=``); a
leaf is a symbol name, ``'text`` a constant (``'y``, ``'m``, ``'n``, ``'4``)
and ``@NAME`` a choice. A symbol whose definition differs between
architectures is stored as ``{"arch": {"arm64": {...}, "x86": {...}}}``;
one an architecture lacks is missing from that map.

``--check`` compares the output with the existing file and exits 1 on a
difference (tests/test_kernel_defaults.py does the same through
:func:`generate`).
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if REPO not in sys.path:
    sys.path.insert(0, REPO)

ARCHES = ("arm64", "arm", "x86")


def _relations(kc):
    return {kc.AND: "&&", kc.OR: "||", kc.EQUAL: "=", kc.UNEQUAL: "!=", kc.LESS: "<",
            kc.LESS_EQUAL: "<=", kc.GREATER: ">", kc.GREATER_EQUAL: ">="}


def choice_name(choice):
    """A stable key for a choice: its name, else its first member's."""
    return "@" + (choice.name or (choice.syms[0].name if choice.syms else "EMPTY"))


def expr_json(kc, expr, refs):
    """``expr`` as a JSON list (AND/OR flattened); the symbols it names go to ``refs``."""
    rel = _relations(kc)
    if expr.__class__ is tuple:
        op = expr[0]
        if op is kc.NOT:
            return ["!", expr_json(kc, expr[1], refs)]
        if op in (kc.AND, kc.OR):
            items = []
            for part in (expr[1], expr[2]):
                sub = expr_json(kc, part, refs)
                if isinstance(sub, list) and sub[0] == rel[op]:
                    items.extend(sub[1:])
                else:
                    items.append(sub)
            return [rel[op]] + items
        return [rel[op], expr_json(kc, expr[1], refs), expr_json(kc, expr[2], refs)]
    if expr.__class__ is kc.Choice:
        refs.add(expr)
        return choice_name(expr)
    if expr.is_constant:
        return "'" + expr.name
    refs.add(expr)
    return expr.name


def _trivial(value):
    return value == "'y"


def _prompts_and_defaults(kc, item, refs, rec):
    """``rec`` with the visibility (``v``) and defaults (``d``) of a symbol or choice."""
    prompts = [expr_json(kc, node.prompt[1], refs) for node in item.nodes if node.prompt]
    if prompts:
        rec["v"] = prompts[0] if len(prompts) == 1 else ["||"] + prompts
    defaults = [[expr_json(kc, d, refs), expr_json(kc, c, refs)] for d, c in item.defaults]
    if defaults:
        rec["d"] = defaults
    return rec


def describe_symbol(kc, sym, refs):
    types = {kc.BOOL: "bool", kc.TRISTATE: "tristate", kc.INT: "int", kc.HEX: "hex",
             kc.STRING: "string"}
    rec = _prompts_and_defaults(kc, sym, refs, {"t": types.get(sym.orig_type, "unknown")})
    if sym.rev_dep is not sym.kconfig.n:
        rec["s"] = expr_json(kc, sym.rev_dep, refs)
    if sym.weak_rev_dep is not sym.kconfig.n:
        rec["i"] = expr_json(kc, sym.weak_rev_dep, refs)
        rec["dep"] = expr_json(kc, sym.direct_dep, refs)
    if sym.ranges:
        rec["r"] = [[expr_json(kc, lo, refs), expr_json(kc, hi, refs), expr_json(kc, c, refs)]
                    for lo, hi, c in sym.ranges]
    if sym.choice is not None:
        refs.add(sym.choice)
        rec["c"] = choice_name(sym.choice)
    return rec


def describe_choice(kc, choice, refs):
    rec = {"t": "tristate" if choice.orig_type is kc.TRISTATE else "bool",
           "optional": bool(choice.is_optional),
           "members": [s.name for s in choice.syms]}
    refs.update(choice.syms)
    return _prompts_and_defaults(kc, choice, refs, rec)


def closure(tree, start):
    """``({symbol: record}, {choice: record})`` for ``start`` and all they depend on."""
    import kconfiglib as kc
    symbols, choices = {}, {}
    todo = [tree.kconf.syms[n] for n in start if tree.symbol(n) is not None]
    seen = set()
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.add(item)
        refs = set()
        if item.__class__ is kc.Choice:
            choices[choice_name(item)] = describe_choice(kc, item, refs)
        elif item.nodes:
            symbols[item.name] = describe_symbol(kc, item, refs)
        todo.extend(r for r in refs if r not in seen)
    return symbols, choices


def profile_symbols(directory):
    """Every symbol a profile rule reads: its names and its ``served_by``."""
    from rcarkit.kernel.profiles import load_catalog
    catalog = load_catalog(directory)
    names = set()
    for prof in catalog.profiles.values():
        for rule in prof.options:
            names.update(rule.names)
            names.update(getattr(rule, "served_by", ()))
    return sorted(names)


def generate(kernel_src, arches=ARCHES, directory=None):
    """The kernel-defaults JSON text for the profiles in ``directory``."""
    from rcarkit.kernel.tree import load_tree
    directory = directory or os.path.join(REPO, "kconfig_profiles")
    start = profile_symbols(directory) + ["MODULES"]
    per_arch = {}
    version = None
    for arch in arches:
        tree = load_tree(kernel_src, arch=arch)
        version = tree.kernel_version
        per_arch[arch] = closure(tree, start)
    symbols, choices = {}, {}
    for index, table in ((0, symbols), (1, choices)):
        names = sorted(set(n for data in per_arch.values() for n in data[index]))
        for name in names:
            recs = {arch: per_arch[arch][index].get(name) for arch in arches}
            present = [r for r in recs.values() if r is not None]
            if len(present) == len(arches) and all(r == present[0] for r in present):
                table[name] = present[0]
            else:
                table[name] = {"arch": {a: r for a, r in recs.items() if r is not None}}
    doc = {"generated": {"kernel": version, "arches": list(arches),
                         "generator": "tools/gen_kernel_defaults.py",
                         "note": "Kconfig defaults of the symbols the profiles use and all "
                                 "they depend on; do not edit, re-run the generator"},
           "symbols": symbols, "choices": choices}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).replace('},"', '},\n"') + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel-src", required=True)
    parser.add_argument("--arches", default=",".join(ARCHES))
    parser.add_argument("--output", help="default: kconfig_profiles/kernel-defaults-"
                                         "<VERSION.PATCHLEVEL>.json")
    parser.add_argument("--check", action="store_true",
                        help="compare with --output instead of writing it")
    args = parser.parse_args(argv)
    text = generate(args.kernel_src, tuple(args.arches.split(",")))
    output = args.output
    if output is None:
        from rcarkit.kernel.tree import tree_version
        major_minor = ".".join(tree_version(args.kernel_src).split(".")[:2])
        output = os.path.join(REPO, "kconfig_profiles", "kernel-defaults-%s.json" % major_minor)
    if args.check:
        try:
            with open(output) as fh:
                old = fh.read()
        except OSError:
            old = ""
        if old != text:
            print("%s is out of date: re-run %s" % (output, " ".join(sys.argv)), file=sys.stderr)
            return 1
        return 0
    from rcarkit.files import atomic_write_text
    atomic_write_text(output, text)
    print("wrote %s (%d bytes)" % (output, len(text)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
