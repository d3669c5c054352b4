#!/usr/bin/env python3
"""Generate kconfig_profiles/kernel-modules.toml from a kernel source tree.

Which module does ``CONFIG_BRIDGE_NETFILTER=m`` build? Kbuild says it in the
Makefiles: ``obj-$(CONFIG_BRIDGE_NETFILTER) += br_netfilter.o`` in
``net/bridge/Makefile`` builds ``kernel/net/bridge/br_netfilter.ko``. This
script reads every ``Makefile``/``Kbuild`` of the tree (continuation lines
joined, comments dropped) and records, per symbol, the modules such lines
name, as paths relative to ``/lib/modules/<release>/kernel`` without ``.ko``::

    [symbols]
    BRIDGE_NETFILTER = ["net/bridge/br_netfilter"]

A line that adds a directory (``obj-$(CONFIG_OVERLAY_FS) += overlayfs/``) is
followed into that directory's Makefile, where the module itself is named.
Only the parts of the tree a container host needs are scanned (see
:data:`TOP_DIRS`); architecture directories other than arm64 and x86 are
skipped (rcarkit's boards are arm64; x86 serves the x86 test machine).

Usage::

    python3 tools/gen_kernel_modules.py /path/to/linux [-o kconfig_profiles/kernel-modules.toml]

``tests/test_check_node.py`` regenerates the mapping from Debian's
linux-source-6.1 and compares it with the shipped file.
"""

import argparse
import os
import re
import sys

ARCHES = ("arm64", "x86")
#: The parts of the tree a container host's kernel options live in: the
#: network stack, file systems, cgroups/BPF, crypto, block and device-mapper,
#: and the virtual network drivers CNIs create (veth, vxlan, wireguard, ...).
#: Hardware drivers (sound, media, clocks, ethernet NICs) are left out to keep
#: the data small; ``--all-dirs`` includes them.
TOP_DIRS = ("arch", "block", "crypto", "drivers", "fs", "init", "ipc", "kernel", "lib",
            "mm", "net", "security", "virt")
DRIVER_DIRS = ("block", "char", "md", "net", "nvme", "scsi", "target", "vhost", "virtio")
NET_DRIVER_SKIP = ("arcnet", "can", "dsa", "ethernet", "fddi", "hamradio", "hyperv",
                   "ieee802154", "ipa", "mdio", "pcs", "phy", "plip", "slip", "usb", "wan",
                   "wireless", "wwan")

#: Modules of symbols the 6.1 tree no longer has, so the R-Car Gen3 BSP
#: kernels (4.9, 4.14) are covered too. Written by hand from the Makefiles of
#: Linux 4.14 (net/ipv4/netfilter/Makefile, net/ipv6/netfilter/Makefile):
#: ``obj-$(CONFIG_NF_CONNTRACK_IPV4) += nf_conntrack_ipv4.o`` and so on. The
#: test checks that none of them is in the 6.1 tree.
REMOVED_SYMBOLS = {
    "NF_CONNTRACK_IPV4": ["net/ipv4/netfilter/nf_conntrack_ipv4"],
    "NF_CONNTRACK_IPV6": ["net/ipv6/netfilter/nf_conntrack_ipv6"],
    "NF_NAT_IPV4": ["net/ipv4/netfilter/nf_nat_ipv4"],
    "NF_NAT_IPV6": ["net/ipv6/netfilter/nf_nat_ipv6"],
    "NF_NAT_MASQUERADE_IPV4": ["net/ipv4/netfilter/nf_nat_masquerade_ipv4"],
    "NF_NAT_MASQUERADE_IPV6": ["net/ipv6/netfilter/nf_nat_masquerade_ipv6"],
}

#: Modules older kernels built for a symbol that later became a
#: backwards-compatibility selector: ``{symbol: (first version without it,
#: [module paths])}``. ipt_MASQUERADE/ip6t_MASQUERADE were merged into
#: xt_MASQUERADE in Linux 5.2 (OpenWrt: "Include xt_MASQUERADE for kernel 5.2
#: and later").
OLDER_MODULES = {
    "IP_NF_TARGET_MASQUERADE": ("5.2", ["net/ipv4/netfilter/ipt_MASQUERADE"]),
    "IP6_NF_TARGET_MASQUERADE": ("5.2", ["net/ipv6/netfilter/ip6t_MASQUERADE"]),
}

_OBJ_RE = re.compile(r"^obj-\$\(CONFIG_([A-Za-z0-9_]+)\)\s*[:+]?=\s*(.*)$")


def makefile_lines(path):
    """Logical lines of a Makefile: comments removed, ``\\`` continuations joined."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    out = []
    pending = ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0] if "#" in raw else raw
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        out.append((pending + line).strip())
        pending = ""
    if pending:
        out.append(pending.strip())
    return out


def modules_in_makefile(path, rel_dir):
    """``{symbol: [module path]}`` for the ``obj-$(CONFIG_X) += name.o`` lines of one file."""
    found = {}
    for line in makefile_lines(path):
        m = _OBJ_RE.match(line)
        if not m:
            continue
        symbol, rhs = m.group(1), m.group(2)
        for word in rhs.split():
            if not word.endswith(".o") or "$" in word:
                continue
            mod = os.path.normpath(os.path.join(rel_dir, word[:-2])) if rel_dir else word[:-2]
            found.setdefault(symbol, []).append(mod)
    return found


def _keep_dirs(parts, dirnames, all_dirs):
    """The subdirectories of ``parts`` (a path split in parts) to descend into."""
    names = [d for d in dirnames if not d.startswith(".")]
    if not parts:
        skip = {"Documentation", "tools", "samples", "scripts", "usr", "debian", "LICENSES"}
        return [d for d in names if (d in TOP_DIRS if not all_dirs else d not in skip)]
    if parts == ["arch"]:
        return [d for d in names if d in ARCHES]
    if all_dirs:
        return names
    if parts == ["drivers"]:
        return [d for d in names if d in DRIVER_DIRS]
    if parts == ["drivers", "net"]:
        return [d for d in names if d not in NET_DRIVER_SKIP]
    return names


_CONFIG_RE = re.compile(r"^\s*(?:menu)?config\s+([A-Za-z0-9_]+)\s*$")
_SELECT_RE = re.compile(r"^\s*select\s+([A-Za-z0-9_]+)")
_TRISTATE_RE = re.compile(r"^\s*(?:tristate|def_tristate)\b")


def kconfig_selects(path):
    """``{symbol: (is_tristate, [selected symbols])}`` of one Kconfig file."""
    out = {}
    current = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            m = _CONFIG_RE.match(line)
            if m:
                current = m.group(1)
                out.setdefault(current, [False, []])
                continue
            if current is None:
                continue
            if re.match(r"^\s*(?:endmenu|endif|menu|choice|endchoice|source|if)\b", line) \
                    and not line.startswith(("\t", " ")):
                current = None
                continue
            if _TRISTATE_RE.match(line):
                out[current][0] = True
            m = _SELECT_RE.match(line)
            if m:
                out[current][1].append(m.group(1))
    return out


def scan_selectors(tree, mapping, all_dirs=False):
    """Tristate symbols that build nothing themselves but select symbols that do
    (backwards-compatibility options like IP_NF_TARGET_MASQUERADE):
    ``{symbol: [selected symbols with modules]}``."""
    tree = os.path.abspath(tree)
    selectors = {}
    for dirpath, dirnames, filenames in os.walk(tree):
        rel = os.path.relpath(dirpath, tree)
        parts = [] if rel == "." else rel.split(os.sep)
        dirnames[:] = sorted(_keep_dirs(parts, dirnames, all_dirs))
        for fname in sorted(filenames):
            if not fname.startswith("Kconfig"):
                continue
            for sym, (tristate, selects) in kconfig_selects(os.path.join(dirpath, fname)).items():
                if not tristate or sym in mapping:
                    continue
                targets = [t for t in selects if t in mapping]
                if targets:
                    selectors.setdefault(sym, [])
                    for t in targets:
                        if t not in selectors[sym]:
                            selectors[sym].append(t)
    return dict(sorted(selectors.items()))


def scan_tree(tree, all_dirs=False):
    """``{symbol: sorted module paths}`` for the tree (see :data:`TOP_DIRS`)."""
    mapping = {}
    tree = os.path.abspath(tree)
    for dirpath, dirnames, filenames in os.walk(tree):
        rel = os.path.relpath(dirpath, tree)
        rel = "" if rel == "." else rel
        parts = rel.split(os.sep) if rel else []
        dirnames[:] = sorted(_keep_dirs(parts, dirnames, all_dirs))
        for name in ("Makefile", "Kbuild"):
            if name in filenames:
                for sym, mods in modules_in_makefile(os.path.join(dirpath, name), rel).items():
                    mapping.setdefault(sym, set()).update(mods)
    return {sym: sorted(mods) for sym, mods in sorted(mapping.items())}


def kernel_version(tree):
    values = {}
    with open(os.path.join(tree, "Makefile"), encoding="utf-8") as fh:
        for line in fh:
            m = re.match(r"^(VERSION|PATCHLEVEL|SUBLEVEL)\s*=\s*(\d*)", line)
            if m:
                values[m.group(1)] = m.group(2)
            if len(values) == 3:
                break
    return "%s.%s.%s" % (values.get("VERSION", "?"), values.get("PATCHLEVEL", "?"),
                         values.get("SUBLEVEL", "0") or "0")


def render_toml(mapping, version, selectors=None):
    out = [
        "# Kernel symbol -> the module(s) its '=m' builds, as paths under",
        "# /lib/modules/<release>/kernel without '.ko'.",
        "# GENERATED by tools/gen_kernel_modules.py from the Makefiles of Linux %s" % version,
        "# (obj-$(CONFIG_X) += name.o); do not edit by hand, re-run the script.",
        "# tests/test_check_node.py checks this file against the kernel tree.",
        "# Scanned: %s; drivers/{%s}; arch/{%s}." % (
            ", ".join(d for d in TOP_DIRS if d not in ("arch", "drivers")),
            ",".join(DRIVER_DIRS), ",".join(ARCHES)),
        "",
        "[generated]",
        'kernel = "%s"' % version,
        'generator = "tools/gen_kernel_modules.py"',
        "",
        "[symbols]",
    ]
    for sym, mods in mapping.items():
        out.append("%s = [%s]" % (sym, ", ".join('"%s"' % m for m in mods)))
    out += ["", "# Tristate symbols that build no module of their own but select ones that",
            "# do (from the Kconfig files): =m means the selected symbols' modules.",
            "[selects]"]
    for sym, targets in (selectors or {}).items():
        out.append("%s = [%s]" % (sym, ", ".join('"%s"' % t for t in targets)))
    out += ["", "# Symbols removed before %s, from the Makefiles of Linux 4.14 (hand-written" % version,
            "# in tools/gen_kernel_modules.py REMOVED_SYMBOLS).", "[removed_symbols]"]
    for sym, mods in sorted(REMOVED_SYMBOLS.items()):
        out.append("%s = [%s]" % (sym, ", ".join('"%s"' % m for m in mods)))
    out += ["", "# Modules older kernels built for a symbol, used before 'until' (hand-written",
            "# in tools/gen_kernel_modules.py OLDER_MODULES).", "[older_modules]"]
    for sym, (until, mods) in sorted(OLDER_MODULES.items()):
        out.append('%s = { until = "%s", modules = [%s] }' % (
            sym, until, ", ".join('"%s"' % m for m in mods)))
    return "\n".join(out) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", help="kernel source tree (e.g. /usr/src/linux-source-6.1)")
    parser.add_argument("-o", "--output", help="write here instead of stdout")
    parser.add_argument("--all-dirs", action="store_true",
                        help="scan every driver directory too (large output)")
    args = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(args.tree, "Makefile")):
        sys.stderr.write("gen_kernel_modules: %s: not a kernel tree (no Makefile)\n" % args.tree)
        return 2
    mapping = scan_tree(args.tree, args.all_dirs)
    selectors = scan_selectors(args.tree, mapping, args.all_dirs)
    text = render_toml(mapping, kernel_version(args.tree), selectors)
    if args.output:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
        from rcarkit.files import atomic_write_text
        atomic_write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
