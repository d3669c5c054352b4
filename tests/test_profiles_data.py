"""The shipped option sets (kconfig_profiles/*.toml) checked against outside evidence.

tests/test_profiles.py checks the format and that every rule has a reason and
a resolvable https source. This file checks the *content*:

* every profile file in the directory is loaded, and every symbol a profile
  names is a real kernel symbol (Debian's linux-source-6.1 Kconfig, a shared
  real config, or a version-history entry that explains why neither has it);
* expectations fit the symbol's Kconfig type and range (no ``m`` for a bool,
  numbers only for int symbols, a ``>=N`` that the Kconfig default meets);
* documented requirement lists, typed here from their sources, are covered:
  kubeadm's preflight (kubernetes/system-validators DefaultSysSpec), the IPVS
  README's module list (mapped to symbols through the kernel's Makefiles, i.e.
  kconfig_profiles/kernel-modules.toml), k3s's check-config.sh;
* "no false missing": on every shared full config, with every profile, each
  symbol reported ``missing`` exists in that kernel version, judged by the
  version data and, independently, by the real configs and the 6.1 Kconfig.
"""

import os
import re
from pathlib import Path

import pytest

from rcarkit.kernel.check import check_config
from rcarkit.kernel.config import KernelVersion, load_config
from rcarkit.kernel.profiles import SCHEMA_FILES, load_catalog, profiles_dir

from conftest import SHARED_CONFIGS

V61 = KernelVersion.parse("6.1")


# --- the 6.1 Kconfig tree: definitions, types, prompts and dependencies ------

class KconfigDefinition:
    """One ``config``/``menuconfig`` block: where, type, prompt, conditions."""

    def __init__(self, name, path, conditions):
        self.name = name
        self.path = path
        self.conditions = list(conditions)  # expression strings, all must hold
        self.type = None
        self.has_prompt = False
        self.defaults = []
        self.ranges = []


_BLOCK_START = re.compile(r"^(config|menuconfig|menu|endmenu|if|endif|choice|endchoice|source|"
                          r"osource|rsource|comment|mainmenu)(\s|$)")


def _indent(line):
    return len(line.expandtabs(8)) - len(line.expandtabs(8).lstrip())


def parse_kconfig_tree(srctree, arch="arm64"):
    """{symbol: [KconfigDefinition]} for the whole tree, following ``source``.

    A small reader of the Kconfig language: it tracks ``if``/``endif`` and
    ``menu``/``choice`` ``depends on`` so each definition carries every
    condition that makes it visible.
    """
    defs = {}
    seen = set()

    def read(relpath, stack):
        path = os.path.join(srctree, relpath)
        if path in seen or not os.path.isfile(path):
            return
        seen.add(path)
        with open(path, encoding="utf-8", errors="replace") as fh:
            raw = fh.read().replace("\\\n", " ")
        current = None
        menu_open = None  # the frame a following 'depends on' attaches to
        help_indent = None  # inside a help text: its indentation
        in_help = False
        for line in raw.splitlines():
            text = line.strip()
            if in_help:
                if not text:
                    continue
                if help_indent is None:
                    help_indent = _indent(line)
                if _indent(line) >= help_indent:
                    continue
                in_help = False
            if not text or text.startswith("#"):
                continue
            if text in ("help", "---help---") or text.startswith("---help---"):
                in_help, help_indent = True, None
                continue
            head = _BLOCK_START.match(text)
            if head:
                kw = head.group(1)
                current = None
                menu_open = None
                rest = text[len(kw):].strip()
                if kw in ("config", "menuconfig"):
                    current = KconfigDefinition(rest.split()[0], relpath,
                                                [c for frame in stack for c in frame])
                    defs.setdefault(current.name, []).append(current)
                elif kw == "if":
                    stack.append([rest])
                elif kw in ("menu", "choice"):
                    stack.append([])
                    menu_open = stack[-1]
                elif kw in ("endif", "endmenu", "endchoice"):
                    if stack:
                        stack.pop()
                elif kw in ("source", "osource", "rsource"):
                    target = rest.strip('"').replace("$(SRCARCH)", arch).replace("$SRCARCH", arch)
                    if kw == "rsource":
                        target = os.path.join(os.path.dirname(relpath), target)
                    read(target, stack)
                continue
            if text.startswith("depends on "):
                expr = text[len("depends on "):]
                if current is not None:
                    current.conditions.append(expr)
                elif menu_open is not None:
                    menu_open.append(expr)
                continue
            if current is None:
                continue
            word = text.split()[0]
            if word in ("bool", "tristate", "int", "hex", "string"):
                current.type = word
                current.has_prompt = current.has_prompt or '"' in text
            elif word in ("def_bool", "def_tristate"):
                current.type = word[4:]
                current.defaults.append(text.split(None, 1)[1])
            elif word == "prompt":
                current.has_prompt = True
            elif word == "default":
                current.defaults.append(text.split(None, 1)[1])
            elif word == "range":
                current.ranges.append(text.split()[1:3])

    read("Kconfig", [])
    return defs


_TOKEN = re.compile(r'\s*(\|\||&&|!=|<=|>=|=|!|\(|\)|<|>|"[^"]*"|\$\([^)]*\)|[A-Za-z0-9_]+)')


def eval_condition(expr, values):
    """Tristate value (0, 1, 2) of a Kconfig expression under a config's values.

    Symbols absent from ``values`` are n; unknown constructs ($(...) macros)
    count as y so they never explain a symbol away.
    """
    tokens = [t for t in _TOKEN.findall(expr)]
    pos = [0]

    def peek():
        return tokens[pos[0]] if pos[0] < len(tokens) else None

    def take():
        tok = tokens[pos[0]]
        pos[0] += 1
        return tok

    def atom_raw():
        tok = take()
        if tok.startswith('"'):
            return tok.strip('"')
        if tok.startswith("$("):
            return "y"
        if tok in ("y", "m", "n"):
            return tok
        return values.get(tok, "n")

    def tri(raw):
        return {"y": 2, "m": 1}.get(raw, 0)

    def primary():
        tok = peek()
        if tok == "!":
            take()
            return 2 - primary()
        if tok == "(":
            take()
            value = disjunction()
            if peek() == ")":
                take()
            return value
        left = atom_raw()
        if peek() in ("=", "!="):
            op = take()
            right = atom_raw()
            return 2 if (left == right) == (op == "=") else 0
        if peek() in ("<", ">", "<=", ">="):
            take()
            atom_raw()
            return 2
        return tri(left)

    def conjunction():
        value = primary()
        while peek() == "&&":
            take()
            value = min(value, primary())
        return value

    def disjunction():
        value = conjunction()
        while peek() == "||":
            take()
            value = max(value, conjunction())
        return value

    try:
        return disjunction()
    except IndexError:
        return 2


@pytest.fixture(scope="session")
def kconfig_61(kernel_tree_61):
    return parse_kconfig_tree(str(kernel_tree_61))


# --- the real configs ----------------------------------------------------------

@pytest.fixture(scope="session")
def shared_configs(configs_dir):
    """[(name, KernelConfig)] for every shared full config, oldest first."""
    loaded = [(name, load_config(configs_dir / name)) for name in SHARED_CONFIGS]
    return sorted(loaded, key=lambda item: item[1].version)


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


def mentioned(config, symbol):
    """A full config that writes a symbol (even '# ... is not set') has it."""
    return config.get(symbol) is not None


# --- every profile file loads; every named symbol is a real symbol ------------

def test_every_profile_file_in_the_directory_is_loaded(catalog):
    files = sorted(p.stem for p in Path(profiles_dir()).glob("*.toml") if p.name not in SCHEMA_FILES)
    assert files == sorted(catalog.profiles)
    for prof in catalog.profiles.values():
        for rule in prof.options:
            assert "\n" not in rule.reason and len(rule.reason) <= 100, (prof.name, rule.label)


def test_every_source_is_cited_and_has_a_url(catalog):
    """sources.toml holds no dead entries, and each one can be looked up."""
    cited = set()
    for prof in catalog.profiles.values():
        cited |= set(prof.min_kernel_sources)
        for rule in prof.options:
            cited |= set(rule.sources)
        cited |= set(prof.arches_sources) | set(prof.status_sources)
        cited |= set(prof.covers_sources)
        for rule in prof.options:
            cited |= set(rule.served_by_sources) | set(rule.since_sources)
        for diff in prof.differs_from:
            cited |= set(diff.sources) | {diff.list}
    for hist in catalog.symbols.values():
        cited |= set(hist.sources)
    for item in catalog.not_recommended.values():
        cited |= set(item.sources)
    assert set(catalog.sources) <= cited, sorted(set(catalog.sources) - cited)
    for key, src in catalog.sources.items():
        assert src.url.startswith("https://"), key


def all_profile_symbols(catalog):
    return sorted({sym for p in catalog.profiles.values() for r in p.options for sym in r.names})


def test_every_symbol_is_a_real_kernel_symbol(catalog, kconfig_61, shared_configs):
    """Defined in the 6.1 tree or written in a real config, or history says why not."""
    unknown = []
    for sym in all_profile_symbols(catalog):
        if sym in kconfig_61 or any(mentioned(c, sym) for _, c in shared_configs):
            continue
        hist = catalog.history(sym)
        if hist is not None and hist.exists_in(V61) is False:
            continue  # gone before 6.1 / added after it: kernel-symbols.toml says so
        unknown.append(sym)
    assert not unknown, "not a kernel symbol in 6.1 or any shared config: %s" % unknown


def test_expectations_fit_the_kconfig_type(catalog, kconfig_61):
    problems = []
    for prof in catalog.profiles.values():
        for rule in prof.options:
            for sym in rule.names:
                defs = kconfig_61.get(sym)
                if not defs:
                    continue
                types = {d.type for d in defs if d.type}
                op = rule.expect.op
                if op == "m" and types == {"bool"}:
                    problems.append((prof.name, sym, "expects m but is a bool"))
                if op in (">=", "<=") and not types <= {"int", "hex"}:
                    problems.append((prof.name, sym, "expects a number but is %s" % types))
                if op in ("y", "m", "y/m") and types and types <= {"int", "hex", "string"}:
                    problems.append((prof.name, sym, "expects %s but is %s" % (op, types)))
    assert not problems, problems


def test_number_rules_are_met_by_the_kconfig_default(catalog, kconfig_61):
    """IP_VS_TAB_BITS & co: a '>=N' rule must not fail a kernel built with the default."""
    checked = 0
    for prof in catalog.profiles.values():
        for rule in prof.options:
            if rule.expect.op not in (">=", "<="):
                continue
            for sym in rule.names:
                for d in kconfig_61.get(sym, []):
                    for default in d.defaults:
                        value = default.split()[0]
                        if re.match(r"^(0x[0-9a-fA-F]+|\d+)$", value):
                            assert rule.expect.matches(value), (prof.name, sym, default)
                            checked += 1
                    for low, high in d.ranges:
                        if re.match(r"^\d+$", low) and rule.expect.op == ">=":
                            assert rule.expect.number >= int(low), (sym, "below the Kconfig range")
    assert checked >= 2


# --- documented requirement lists, typed from their sources -----------------

# kubernetes/system-validators validators/types_unix.go, DefaultSysSpec
# (what kubeadm's SystemVerification preflight checks).
KUBEADM_REQUIRED = [
    ("NAMESPACES",), ("NET_NS",), ("PID_NS",), ("IPC_NS",), ("UTS_NS",), ("CGROUPS",),
    ("CGROUP_BPF",), ("CGROUP_CPUACCT",), ("CGROUP_DEVICE",), ("CGROUP_FREEZER",),
    ("CGROUP_PIDS",), ("CGROUP_SCHED",), ("CPUSETS",), ("MEMCG",), ("INET",), ("EXT4_FS",),
    ("PROC_FS",), ("NETFILTER_XT_TARGET_REDIRECT", "IP_NF_TARGET_REDIRECT"),
    ("NETFILTER_XT_MATCH_COMMENT",), ("FAIR_GROUP_SCHED",),
]
KUBEADM_OPTIONAL = ["OVERLAY_FS", "BLK_DEV_DM", "CFS_BANDWIDTH", "CGROUP_HUGETLB", "SECCOMP",
                    "SECCOMP_FILTER"]

# kubernetes pkg/proxy/ipvs/README.md, "Prerequisite": modules that must be
# built in or loadable, or kube-proxy falls back to iptables mode.
IPVS_README_MODULES = ["net/netfilter/ipvs/ip_vs", "net/netfilter/ipvs/ip_vs_rr",
                       "net/netfilter/ipvs/ip_vs_wrr", "net/netfilter/ipvs/ip_vs_sh",
                       "net/netfilter/nf_conntrack"]

# k3s contrib/util/check-config.sh, the "Generally Necessary" flags.
K3S_GENERALLY_NECESSARY = """
NAMESPACES NET_NS PID_NS IPC_NS UTS_NS CGROUPS CGROUP_PIDS CGROUP_CPUACCT CGROUP_DEVICE
CGROUP_FREEZER CGROUP_SCHED CPUSETS MEMCG SECCOMP KEYS VETH BRIDGE BRIDGE_NETFILTER
IP_NF_FILTER IP_NF_TARGET_MASQUERADE IP_NF_TARGET_REJECT NETFILTER_XT_MATCH_ADDRTYPE
NETFILTER_XT_MATCH_CONNTRACK NETFILTER_XT_MATCH_IPVS NETFILTER_XT_MATCH_COMMENT
NETFILTER_XT_MATCH_MULTIPORT NETFILTER_XT_MATCH_STATISTIC IP_NF_NAT NF_NAT POSIX_MQUEUE
""".split()
# Where we disagree with k3s on purpose, and why.
K3S_DELIBERATELY_OPTIONAL = {
    "NETFILTER_XT_MATCH_IPVS": "only '-m ipvs' users need it; kube-proxy's own rules do not",
    "NETFILTER_XT_MATCH_MULTIPORT": "used by k3s's embedded policy controller, not kube-proxy",
}


def rules_for(catalog, profile_names):
    return [r for n in profile_names for r in catalog.profiles[n].options]


def test_kubeadm_preflight_list_is_required_by_k8s_core(catalog):
    rules = catalog.profiles["k8s-core"].options
    for names in KUBEADM_REQUIRED:
        hits = [r for r in rules if set(names) <= set(r.names) or (len(names) == 1 and
                                                                  names[0] in r.names)]
        assert hits and all(r.required for r in hits), names
    everywhere = rules_for(catalog, ["k8s-core", "storage", "containerd", "cri-o"])
    for sym in KUBEADM_OPTIONAL:
        assert any(sym in r.names for r in everywhere), sym


def test_ipvs_readme_modules_are_required_by_kube_proxy_ipvs(catalog, kernel_tree_61):
    """Module -> symbol through the kernel's own Makefiles (kernel-modules.toml)."""
    try:
        import tomllib
    except ImportError:  # pragma: no cover
        import tomli as tomllib
    path = Path(profiles_dir()) / "kernel-modules.toml"
    if not path.is_file():
        pytest.skip("kernel-modules.toml (module map from the kernel Makefiles) not generated")
    with open(path, "rb") as fh:
        modules = tomllib.load(fh)["symbols"]
    required = {s for r in catalog.profiles["kube-proxy-ipvs"].options if r.required
                for s in r.names}
    for module in IPVS_README_MODULES:
        symbols = [s for s, mods in modules.items() if module in mods]
        assert symbols, module
        assert set(symbols) & required, (module, symbols)
    # and the kernel's Makefile agrees: obj-$(CONFIG_IP_VS_RR) += ip_vs_rr.o
    makefile = (kernel_tree_61 / "net/netfilter/ipvs/Makefile").read_text()
    assert "obj-$(CONFIG_IP_VS_RR) += ip_vs_rr.o" in makefile


def test_k3s_generally_necessary_flags_are_checked(catalog):
    rules = rules_for(catalog, ["k8s-core", "containerd", "kube-proxy-iptables",
                                "kube-proxy-ipvs", "flannel-vxlan"])
    for sym in K3S_GENERALLY_NECESSARY:
        hits = [r for r in rules if sym in r.names]
        assert hits, sym
        if sym in K3S_DELIBERATELY_OPTIONAL:
            continue
        assert any(r.required for r in hits), (sym, "k3s calls it generally necessary")


def test_kube_proxy_nftables_has_its_documented_minimum(catalog):
    prof = catalog.profiles["kube-proxy-nftables"]
    assert str(prof.min_kernel) == "5.13"  # pkg/util/kernel/constants.go
    assert "5.13" in prof.min_kernel_reason


# --- no false "missing" ---------------------------------------------------------

def era(version):
    return version[0]


def absence_explained(sym, config, kconfig_61, catalog=None):
    """True when the 6.1 Kconfig shows why a full config would not write ``sym``:
    every definition sits behind a condition that is off in this config, or it
    has no prompt (only ever selected). A symbol 6.1 no longer has is judged by
    the gates of what replaced it (kernel-symbols.toml replaced_by)."""
    defs = kconfig_61.get(sym)
    hist = catalog.history(sym) if catalog is not None else None
    if not defs and hist is not None and hist.replaced_by:
        defs = [d for r in hist.replaced_by for d in kconfig_61.get(r, [])]
    if not defs:
        return False
    memo = _explained_memo.setdefault(id(config), {})
    if sym in memo:
        return memo[sym]
    memo[sym] = True  # a dependency cycle does not disprove anything
    result = True
    for d in defs:
        if not d.has_prompt:
            continue
        off = [c for c in d.conditions if eval_condition(c, config.values) == 0]
        # an off gate explains the absence only if the gate itself is written
        # as n here, or is absent for a reason of its own (not because it, too,
        # no longer exists in this kernel)
        if not any(_still_off(c, config, kconfig_61) for c in off):
            result = False
            break
    memo[sym] = result
    return result


def _still_off(condition, config, kconfig_61):
    """The condition stays off when absent symbols that have no explanation of
    their own are given the benefit of the doubt (taken as y)."""
    doubtful = {ref: "y" for ref in _IDENT.findall(condition)
                if not mentioned(config, ref) and ref in kconfig_61
                and not absence_explained(ref, config, kconfig_61)}
    if not doubtful:
        return True
    return eval_condition(condition, dict(config.values, **doubtful)) == 0


_explained_memo = {}
_IDENT = re.compile(r"\b(?!y\b|m\b|n\b)[A-Z0-9_]+\b")


def existence_evidence(sym, name, config, shared_configs, kconfig_61, catalog):
    """Why we believe ``sym`` exists in this config's kernel version, or None."""
    if mentioned(config, sym):
        return "written in the config"
    version = config.version
    others = [(n, c) for n, c in shared_configs if n != name]
    hist = catalog.history(sym)
    documented = hist is not None and hist.added is not None and hist.added <= version
    in_tree = sym in kconfig_61
    # 1. bracketed: a kernel at or before this version has it, and one at or after
    before = ([n for n, c in others if c.version <= version and mentioned(c, sym)]
              or (in_tree and V61 <= version) or documented)
    after = ([n for n, c in others if c.version >= version and mentioned(c, sym)]
             or (in_tree and V61 >= version))
    if before and after:
        return "bracketed by %s and %s" % (before, after)
    # 2. at the ends of the range (4.4; 6.17/6.18): the same era has it, and the
    #    6.1 Kconfig explains why this config does not write it (a gate is off)
    same_era = [n for n, c in others if era(c.version) == era(version) and mentioned(c, sym)]
    if (same_era or (in_tree and era(version) == era(V61)) or documented) and \
            absence_explained(sym, config, kconfig_61, catalog):
        return "same era %s; a Kconfig gate is off here" % (same_era or "6.1 tree")
    return None


NO_FALSE_MISSING_VERSIONS = ["4.4", "4.9", "4.14", "4.19", "5.4", "6.6", "6.12", "6.17"]


@pytest.mark.parametrize("name", sorted(SHARED_CONFIGS))
def test_no_false_missing(name, shared_configs, kconfig_61, catalog):
    config = dict(shared_configs)[name]
    report = check_config(config, list(catalog.profiles.values()), catalog)
    unproven = []
    for f in report.findings():
        if f.status != "missing" or f.name == "KERNEL_VERSION":
            continue
        for sym in f.symbols:
            hist = catalog.history(sym)
            if hist is not None and hist.exists_in(config.version) is False \
                    and not mentioned(config, sym):
                # the version data says it is gone/not yet: must not be judged on it
                assert sym in f.note, (sym, f.note)
                continue
            # 6.x spot check: the 6.1 tree defines it (or history says it came later)
            if era(config.version) == 6:
                assert sym in kconfig_61 or (hist and hist.added and hist.added > V61), sym
            if existence_evidence(sym, name, config, shared_configs, kconfig_61, catalog) is None:
                unproven.append((f.group, sym))
    assert not unproven, "reported missing, no evidence it exists in %s: %s" % (
        config.version, unproven)


def test_no_false_missing_covers_the_required_versions():
    versions = {".".join(v.split(".")[:2]) for v in SHARED_CONFIGS.values()}
    assert set(NO_FALSE_MISSING_VERSIONS) <= versions


def test_absence_explained_reads_gates(kconfig_61):
    """The Kconfig reader is right about a few gates (checked by hand in the tree)."""
    from rcarkit.kernel.config import parse_config_text
    off = parse_config_text("# Linux/arm64 4.4.0 Kernel Configuration\n"
                            "CONFIG_NET=y\nCONFIG_INET=y\n# CONFIG_NETFILTER is not set\n")
    on = parse_config_text("# Linux/arm64 6.1.0 Kernel Configuration\nCONFIG_NET=y\n"
                           "CONFIG_INET=y\nCONFIG_NETFILTER=y\nCONFIG_NETFILTER_ADVANCED=y\n"
                           "CONFIG_IP_VS=m\nCONFIG_NF_CONNTRACK=m\n")
    assert absence_explained("IP_VS_RR", off, kconfig_61)
    assert not absence_explained("IP_VS_RR", on, kconfig_61)
    assert absence_explained("NET_SCH_FIFO", on, kconfig_61)  # no prompt: only selected
    assert not absence_explained("NO_SUCH_SYMBOL", on, kconfig_61)
    assert kconfig_61["IP_VS_TAB_BITS"][0].type == "int"
    assert kconfig_61["CGROUP_BPF"][0].type == "bool"


def test_not_recommended_options_are_in_no_profile_and_real(catalog, kconfig_61):
    """not-recommended.toml: each entry is a symbol the 6.1 tree defines, no
    profile asks for it, and it says the harm with a source."""
    assert "RT_GROUP_SCHED" in catalog.not_recommended
    for name, item in catalog.not_recommended.items():
        assert name in kconfig_61, name
        assert item.harm and item.sources
        assert not any(name in r.names for p in catalog.profiles.values() for r in p.options)
