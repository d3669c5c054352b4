"""The CNI profiles (flannel, Calico, Cilium, Weave) against outside evidence.

The expected lists below are typed from the CNIs' own documents and source,
each with its URL, never derived from kconfig_profiles/:

* Cilium 1.18 "System Requirements": the CONFIG_ lists per feature;
* Calico "Kernel dependencies" (match/target names) and the module list of the
  older Calico docs;
* the iptables rules flanneld, the CNI portmap plugin and weave-npc install,
  and Weave's fast-datapath crypto notes;
* the distributions Calico and Cilium document as known to work (Debian 10,
  Ubuntu 20.04), checked on the real Debian 10 and Ubuntu 20.04 configs.

Module and match names are turned into Kconfig symbols through the Makefiles
and MODULE_ALIAS lines of Debian's linux-source-6.1 tree; whether a symbol
exists, has a prompt, or is selected by another one also comes from that tree.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO, SHARED_CONFIGS
from rcarkit.kernel.check import check_config
from rcarkit.kernel.config import KernelVersion, load_config
from rcarkit.kernel.profiles import DEFAULT_PROFILES, load_catalog

CNI_PROFILES = ["flannel-vxlan", "flannel-host-gw", "flannel-wireguard",
                "calico-iptables", "calico-ebpf", "cilium", "weave"]

RCAR_414 = "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"
DEBIAN_10 = "debian10_aarch64_4.19.249_khc.config"
UBUNTU_2004 = "ubuntu20.04_aarch64_5.4.0-26_khc.config"
ANDROID_66 = "android15-gki_aarch64_6.6.102_khc.config"
UPSTREAM_617 = "upstream-arm64-defconfig-expanded_6.17.3_khc.config"
SIX_X_CONFIGS = [name for name, ver in SHARED_CONFIGS.items() if ver.startswith("6.")]
V61 = KernelVersion.parse("6.1")

# --- the 6.1 kernel tree as an oracle ---------------------------------------

_BLOCK_END = re.compile(r"^(config|menuconfig|choice|endchoice|menu|endmenu|if|endif|source|"
                        r"comment|mainmenu)\b")
_OBJ_LINE = re.compile(r"^obj-\$\(CONFIG_([A-Z0-9_]+)\)\s*[:+]?=\s*(.*)$")


class KernelTree:
    """What Debian's linux-source-6.1 says about symbols and modules."""

    def __init__(self, root):
        self.root = str(root)
        self.symbols = {}    # symbol -> {"type", "prompt", "selects", "depends"}
        self.modules = {}    # module name (file stem) -> CONFIG symbol that builds it
        self.aliases = {}    # MODULE_ALIAS name -> module name
        for top in ("arch/arm64", "block", "crypto", "drivers/net", "fs", "init", "kernel",
                    "lib", "mm", "net", "security"):
            self._walk(os.path.join(self.root, top))
        for name in ("Kconfig",):
            self._kconfig(os.path.join(self.root, name))

    def _walk(self, top):
        for dirpath, _, files in os.walk(top):
            for name in files:
                path = os.path.join(dirpath, name)
                if name.startswith("Kconfig"):
                    self._kconfig(path)
                elif name in ("Makefile", "Kbuild"):
                    self._makefile(path)
                elif name.endswith(".c") and "/net" in dirpath:
                    self._aliases(path)

    def _kconfig(self, path):
        cur = None
        with open(path, errors="replace") as fh:
            for line in fh:
                s = line.strip()
                m = re.match(r"^(?:menu)?config\s+([A-Z0-9_]+)\s*$", s)
                if m:
                    cur = self.symbols.setdefault(m.group(1), {"type": None, "prompt": False,
                                                               "selects": set(),
                                                               "depends": set()})
                    continue
                if _BLOCK_END.match(s):
                    cur = None
                    continue
                if cur is None:
                    continue
                m = re.match(r"^(bool|tristate|int|hex|string|def_bool|def_tristate)\b\s*(.*)$", s)
                if m:
                    cur["type"] = cur["type"] or m.group(1).replace("def_", "")
                    if not m.group(1).startswith("def_") and m.group(2)[:1] in ("'", '"'):
                        cur["prompt"] = True
                elif s.startswith("prompt "):
                    cur["prompt"] = True
                elif re.match(r"^(select|imply)\s", s):
                    cur["selects"].add(s.split()[1])
                elif s.startswith("depends on"):
                    cur["depends"].update(re.findall(r"[A-Z][A-Z0-9_]+", s[len("depends on"):]))

    def _makefile(self, path):
        with open(path, errors="replace") as fh:
            text = fh.read().replace("\\\n", " ")
        for line in text.splitlines():
            m = _OBJ_LINE.match(line.strip())
            if m:
                for obj in m.group(2).split():
                    if obj.endswith(".o"):
                        self.modules.setdefault(obj[:-2], m.group(1))

    def _aliases(self, path):
        stem = os.path.basename(path)[:-2]
        with open(path, errors="replace") as fh:
            text = fh.read()
        for alias in re.findall(r'MODULE_ALIAS\("([A-Za-z0-9_]+)"\)', text):
            self.aliases.setdefault(alias, stem)

    def module_symbol(self, module):
        """CONFIG symbol that builds ``module`` (a module name or a MODULE_ALIAS)."""
        if module in self.modules:
            return self.modules[module]
        stem = self.aliases.get(module)
        return self.modules.get(stem) if stem else None

    def match_symbol(self, name):
        """iptables match/target name ('set', 'REJECT', ...) -> CONFIG symbol."""
        for module in ("xt_" + name, "ipt_" + name):
            sym = self.module_symbol(module)
            if sym:
                return sym
        return None

    def selected_closure(self, symbol):
        """Every symbol that ``symbol`` selects, directly or through others."""
        seen, todo = set(), [symbol]
        while todo:
            for s in self.symbols.get(todo.pop(), {}).get("selects", ()):
                if s not in seen:
                    seen.add(s)
                    todo.append(s)
        return seen


@pytest.fixture(scope="session")
def tree61(kernel_tree_61):
    return KernelTree(kernel_tree_61)


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


@pytest.fixture(scope="session")
def configs(configs_dir):
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = load_config(configs_dir / name)
        return cache[name]
    return get


def _names(profile):
    return {s for rule in profile.options for s in rule.names}


def _rule_for(profile, symbol):
    for rule in profile.options:
        if symbol in rule.names:
            return rule
    return None


def _covered(tree, profile, symbol):
    """In the profile, or pulled in by a profile symbol (select / depends on) in 6.1."""
    names = _names(profile)
    if symbol in names:
        return True
    for name in names:
        info = tree.symbols.get(name, {})
        if symbol in info.get("depends", ()) or symbol in tree.selected_closure(name):
            return True
    return False


def _finding(report, name):
    return [f for f in report.findings() if f.name == name][0]


# --- the profiles load and read well ----------------------------------------

@pytest.mark.parametrize("name", CNI_PROFILES)
def test_profile_loads_and_every_row_fits_a_line(catalog, name):
    profile = catalog.profiles[name]
    assert profile.kind == "cni"
    assert os.path.basename(profile.path) == name + ".toml"
    assert profile.options
    for rule in profile.options:
        assert rule.reason and "\n" not in rule.reason
        # the table prints a gap's reason on its own line, indented under the
        # OPTION column (at most 2 + len("missing(opt)") + 1 = 15 columns):
        # 64 characters keep it on one line of an 80-column console
        assert len(rule.reason) <= 64, (rule.label, rule.reason)
        assert len(rule.note) <= 78, (rule.label, rule.note)
        for key in rule.sources:
            src = catalog.source(key)
            assert src.url or key in catalog.sources, key
    if profile.min_kernel:
        assert len(profile.min_kernel_reason) <= 64


def test_cni_shortcuts_and_default_set(catalog):
    assert catalog.resolve("cni", "flannel").name == "flannel-vxlan"
    assert catalog.resolve("cni", "calico").name == "calico-iptables"
    assert catalog.resolve("cni", "cilium").name == "cilium"
    assert catalog.resolve("cni", "weave").name == "weave"
    assert "flannel-vxlan" in DEFAULT_PROFILES


# --- minimum kernel versions -------------------------------------------------

DOCUMENTED_MIN_KERNEL = {
    # https://docs.cilium.io/en/v1.18/operations/system_requirements/
    #   "Linux kernel >= 5.10 or equivalent (e.g., 4.18 on RHEL 8.10)"
    "cilium": "5.10",
    # https://docs.tigera.io/calico/latest/operations/ebpf/install
    #   "Another supported distribution with Linux kernel v5.3 or above."
    "calico-ebpf": "5.3",
    # WireGuard merged in Linux 5.6 (commit e7096c131e51)
    "flannel-wireguard": "5.6",
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED_MIN_KERNEL))
def test_min_kernel_is_the_documented_one(catalog, name):
    assert catalog.profiles[name].min_kernel == KernelVersion.parse(DOCUMENTED_MIN_KERNEL[name])


@pytest.mark.parametrize("name,config,status", [
    ("cilium", RCAR_414, "wrong-value"),
    ("cilium", UBUNTU_2004, "wrong-value"),
    ("cilium", UPSTREAM_617, "ok"),
    ("calico-ebpf", DEBIAN_10, "wrong-value"),
    ("calico-ebpf", UBUNTU_2004, "ok"),
    ("flannel-wireguard", UBUNTU_2004, "wrong-value"),
    ("flannel-wireguard", ANDROID_66, "ok"),
])
def test_min_kernel_is_enforced(catalog, configs, name, config, status):
    report = check_config(configs(config), [catalog.profiles[name]], catalog)
    row = _finding(report, "KERNEL_VERSION")
    assert row.status == status
    if status != "ok":
        assert report.exit_code == 1


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel"] + list(args),
                          capture_output=True, text=True, env=env, cwd=str(REPO), timeout=120)


@pytest.mark.parametrize("config,status,code", [(RCAR_414, "wrong-value", 1),
                                                (UPSTREAM_617, "ok", None)])
def test_cli_reports_cilium_kernel_version(configs_dir, config, status, code):
    proc = _cli("--profile", "cilium", "--format", "json", str(configs_dir / config))
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    rows = [o for o in doc["options"] if o["option"] == "KERNEL_VERSION"]
    assert len(rows) == 1 and rows[0]["status"] == status
    if code is not None:
        assert proc.returncode == code


def test_cli_table_explains_each_flannel_gap(configs_dir):
    """R-Car 4.14.75 lacks VXLAN and '-m comment' (its file says 'is not set')."""
    path = configs_dir / RCAR_414
    raw = path.read_text()
    assert "# CONFIG_VXLAN is not set" in raw
    assert "# CONFIG_NETFILTER_XT_MATCH_COMMENT is not set" in raw
    proc = _cli("--profile", "flannel-vxlan", "--only-missing", str(path))
    assert proc.returncode == 1, proc.stderr
    text = proc.stdout
    assert "flannel-vxlan" in text and "VXLAN" in text and "NETFILTER_XT_MATCH_COMMENT" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert any(line.startswith("VERDICT: NOT READY") for line in text.splitlines())


# --- documented lists are covered --------------------------------------------

# https://docs.cilium.io/en/v1.18/operations/system_requirements/ (typed from it)
CILIUM_BASE = ("BPF BPF_SYSCALL NET_CLS_BPF BPF_JIT NET_CLS_ACT NET_SCH_INGRESS CRYPTO_SHA1 "
               "CRYPTO_USER_API_HASH CGROUPS CGROUP_BPF PERF_EVENTS SCHEDSTATS").split()
CILIUM_MASQUERADE = "NETFILTER_XT_SET IP_SET IP_SET_HASH_IP NETFILTER_XT_MATCH_COMMENT".split()
CILIUM_TUNNEL = "VXLAN GENEVE FIB_RULES".split()
CILIUM_L7 = ("NETFILTER_XT_TARGET_TPROXY NETFILTER_XT_TARGET_MARK NETFILTER_XT_TARGET_CT "
             "NETFILTER_XT_MATCH_MARK NETFILTER_XT_MATCH_SOCKET").split()
CILIUM_IPSEC = ("XFRM XFRM_OFFLOAD XFRM_STATISTICS XFRM_ALGO XFRM_USER INET_ESP INET6_ESP "
                "INET_IPCOMP INET6_IPCOMP INET_XFRM_TUNNEL INET6_XFRM_TUNNEL INET_TUNNEL "
                "INET6_TUNNEL INET_XFRM_MODE_TUNNEL CRYPTO_AEAD CRYPTO_AEAD2 CRYPTO_GCM "
                "CRYPTO_SEQIV CRYPTO_CBC CRYPTO_HMAC CRYPTO_SHA256 CRYPTO_AES").split()
CILIUM_OPTIONAL_FEATURES = ["NET_SCH_FQ", "NETKIT", "WIREGUARD"] + CILIUM_IPSEC


def test_cilium_documented_options(catalog, tree61):
    profile = catalog.profiles["cilium"]
    for sym in CILIUM_BASE + CILIUM_MASQUERADE + ["VXLAN", "FIB_RULES"] + CILIUM_L7[:4]:
        rule = _rule_for(profile, sym)
        assert rule is not None and rule.required, sym
    for sym in ["GENEVE", "NETFILTER_XT_MATCH_SOCKET"] + CILIUM_OPTIONAL_FEATURES:
        rule = _rule_for(profile, sym)
        assert rule is not None and not rule.required, sym
    for sym in (CILIUM_BASE + CILIUM_MASQUERADE + CILIUM_TUNNEL + CILIUM_L7
                + CILIUM_OPTIONAL_FEATURES):
        if sym in tree61.symbols:
            continue
        hist = catalog.history(sym)
        assert hist is not None and hist.exists_in(V61) is False, (
            "%s is not in the 6.1 tree and kernel-symbols.toml does not explain it" % sym)


# https://docs.tigera.io/calico/latest/getting-started/kubernetes/requirements
#   "At least the following match criteria: set, rpfilter, addrtype, comment,
#    conntrack, icmp, tcp, udp, ipvs, icmpv6 (if IPv6 is enabled), mark,
#    multiport, rpfilter, sctp, ipvs (if using kube-proxy in IPVS mode).
#    At least the following actions: REJECT, ACCEPT, DROP, LOG."
CALICO_MATCHES = "set rpfilter addrtype comment conntrack icmp tcp udp ipvs mark multiport sctp".split()
CALICO_TARGETS = ["REJECT", "LOG"]      # ACCEPT and DROP are x_tables verdicts, no module
# https://docs.projectcalico.org/v3.9/getting-started/bare-metal/requirements and
# https://docs.projectcalico.org/v2.6/reference/requirements (module names)
CALICO_MODULES = ("nf_conntrack_netlink ip_tables ip_set xt_set ipt_set ipt_rpfilter ipt_REJECT "
                  "ipip nf_conntrack nfnetlink xt_mark xt_addrtype xt_multiport").split()


def test_calico_documented_modules_are_covered(catalog, tree61):
    profile = catalog.profiles["calico-iptables"]
    wanted = {}
    for name in CALICO_MATCHES:
        sym = tree61.match_symbol(name) or tree61.module_symbol("ipt_" + name)
        wanted[name] = sym
    for name in CALICO_TARGETS:
        wanted[name] = tree61.match_symbol(name)
    for name in CALICO_MODULES:
        wanted[name] = tree61.module_symbol(name)
    unresolved = sorted(n for n, s in wanted.items() if s is None)
    assert not unresolved, "no module for %s in the 6.1 tree" % unresolved
    # 'icmp' is the ip_tables core, 'tcp'/'udp' are x_tables' xt_tcpudp
    assert wanted["icmp"] == "IP_NF_IPTABLES" and wanted["tcp"] == "NETFILTER_XTABLES"
    missing = sorted("%s (%s)" % (n, s) for n, s in wanted.items()
                     if not _covered(tree61, profile, s))
    assert not missing, missing
    # the IP set types felix creates and IPIP/VXLAN encapsulation
    for sym in ("IP_SET_HASH_IP", "IP_SET_HASH_NET", "VXLAN", "NET_IPIP", "WIREGUARD"):
        assert sym in _names(profile), sym


def test_calico_ebpf_documented_hooks(catalog, tree61):
    """Calico: 'eBPF (including the tc hook support)'; NodePorts use VXLAN."""
    profile = catalog.profiles["calico-ebpf"]
    for module in ("cls_bpf", "sch_ingress", "vxlan"):
        sym = tree61.module_symbol(module)
        assert sym and _rule_for(profile, sym).required, (module, sym)
    for sym in ("BPF_SYSCALL", "CGROUP_BPF"):
        assert _rule_for(profile, sym).required


# flanneld's rules (pkg/trafficmngr/iptables): '-m comment', '-m mark --mark
# 0x4000/0x4000', '-j MASQUERADE --random-fully' in nat, FLANNEL-FWD in filter;
# devices: flannel.1 (vxlan), flannel-wg (wireguard), cni0 (bridge) + veth.
# portmap (containernetworking/plugins plugins/meta/portmap/portmap.go):
# '-m addrtype --dst-type LOCAL', '-m comment', '-m multiport', '-j DNAT',
# '-j MARK --set-xmark', '-m mark', '-j MASQUERADE'.
FLANNEL_MODULES = ["xt_comment", "xt_mark", "xt_MASQUERADE", "iptable_nat", "iptable_filter",
                   "bridge", "veth", "br_netfilter"]
PORTMAP_MATCHES = ["addrtype", "comment", "multiport", "mark", "MARK", "MASQUERADE"]


@pytest.mark.parametrize("name,device_module", [("flannel-vxlan", "vxlan"),
                                                ("flannel-host-gw", None),
                                                ("flannel-wireguard", "wireguard")])
def test_flannel_rules_are_covered(catalog, tree61, name, device_module):
    profile = catalog.profiles[name]
    modules = FLANNEL_MODULES + ([device_module] if device_module else [])
    for module in modules:
        sym = tree61.module_symbol(module)
        assert sym, module
        assert _covered(tree61, profile, sym), (module, sym)
    for match in PORTMAP_MATCHES:
        sym = tree61.match_symbol(match)
        assert sym and _covered(tree61, profile, sym), (match, sym)
    dnat = tree61.module_symbol("xt_nat")
    assert dnat == "NETFILTER_XT_NAT" and _rule_for(profile, dnat) is not None
    if device_module is None:
        assert "VXLAN" not in _names(profile) and "WIREGUARD" not in _names(profile)


# weave-npc (prog/weave-npc/main.go): '-m state', '-m physdev', '-m mark',
# '-j MARK', '-j NFLOG', '-m set' with hash:ip / list:set / hash:net ipsets.
# fast datapath: openvswitch + vport-vxlan; encryption (docs/fastdp-crypto.md):
# ESP transport mode, AES-GCM, XFRM netlink, iptables mangle marks.
WEAVE_MATCHES = ["state", "physdev", "mark", "MARK", "NFLOG", "set"]
WEAVE_MODULES = ["openvswitch", "vport-vxlan", "vxlan", "bridge", "veth", "ip_set",
                 "ip_set_hash_ip", "ip_set_list_set", "ip_set_hash_net",
                 "esp4", "xfrm_user", "gcm", "iptable_mangle"]


def test_weave_rules_are_covered(catalog, tree61):
    profile = catalog.profiles["weave"]
    for match in WEAVE_MATCHES:
        sym = tree61.match_symbol(match)
        assert sym and _covered(tree61, profile, sym), (match, sym)
    for module in WEAVE_MODULES:
        sym = tree61.module_symbol(module)
        assert sym and _covered(tree61, profile, sym), (module, sym)
    # fast datapath falls back to sleeve: its kernel parts are optional
    for sym in ("OPENVSWITCH", "OPENVSWITCH_VXLAN", "XFRM_USER", "INET_ESP"):
        assert not _rule_for(profile, sym).required, sym


# --- rows agree with the Kconfig of the 6.1 tree ------------------------------

@pytest.mark.parametrize("name", CNI_PROFILES)
def test_hidden_symbols_name_what_to_set(catalog, tree61, name):
    """A symbol without a menu prompt cannot be set by hand: the row's note must
    name an option that selects it in the 6.1 Kconfig."""
    for rule in catalog.profiles[name].options:
        for sym in rule.names:
            info = tree61.symbols.get(sym)
            if info is None or info["prompt"]:
                continue
            named = re.findall(r"\b(?:set|selected by)\s+([A-Z0-9_]+)", rule.note)
            assert named, "%s has no prompt; its note must say what selects it" % sym
            assert any(sym in tree61.selected_closure(n) for n in named), (sym, named)


@pytest.mark.parametrize("name", CNI_PROFILES)
def test_expect_y_only_where_a_module_is_impossible(catalog, tree61, name):
    for rule in catalog.profiles[name].options:
        if str(rule.expect) != "y":
            continue
        for sym in rule.names:
            info = tree61.symbols.get(sym)
            if info is not None:
                assert info["type"] == "bool", "%s is %s: expect y/m" % (sym, info["type"])


@pytest.mark.parametrize("config", SIX_X_CONFIGS)
def test_no_false_missing_on_6x_configs(catalog, configs, tree61, config):
    kc = configs(config)
    profiles = [catalog.profiles[n] for n in CNI_PROFILES]
    report = check_config(kc, profiles, catalog)
    for f in report.findings():
        if f.name == "KERNEL_VERSION" or f.status not in ("missing", "wrong-value"):
            continue
        for sym in f.symbols:
            hist = catalog.history(sym)
            if hist is not None and hist.exists_in(kc.version) is False:
                continue        # skipped for this version, not reported
            if hist is not None and hist.added is not None and hist.added > V61:
                continue        # newer than the 6.1 tree: checked against configs below
            assert sym in tree61.symbols or kc.get(sym) is not None, (
                "%s reported %s on %s but exists neither in the 6.1 Kconfig nor in the config"
                % (sym, f.status, config))
    for sym in ("INET_XFRM_MODE_TUNNEL", "INET_XFRM_MODE_TRANSPORT"):
        assert sym not in tree61.symbols
        rows = [f for f in report.findings() if sym in f.symbols and len(f.symbols) == 1]
        assert rows and all(f.status == "obsolete-skipped" for f in rows), sym


def test_cni_symbol_history_agrees_with_configs_and_tree(catalog, configs, tree61):
    """Each history entry a CNI row relies on matches every shared full config
    (a symbol a config writes exists in that version) and the 6.1 tree."""
    used = {s for n in CNI_PROFILES for s in _names(catalog.profiles[n])}
    checked = 0
    for sym in sorted(used):
        hist = catalog.history(sym)
        if hist is None:
            continue
        checked += 1
        assert hist.exists_in(V61) == (sym in tree61.symbols), sym
        for name in SHARED_CONFIGS:
            kc = configs(name)
            if kc.get(sym) is not None:
                assert hist.exists_in(kc.version), (sym, name)
    assert checked >= 8


# --- verdicts on real configs -------------------------------------------------

# Calico: "Ubuntu 20.04 or later, Debian 10 or later ... have the required
# kernel, its dependencies, and are known to work well with Calico"
# (docs.tigera.io .../kubernetes/requirements); Calico eBPF supports Ubuntu
# 20.04 (.../operations/ebpf/install); Cilium lists Debian >= 10 Buster and
# Ubuntu >= 20.04 as known to work (docs.cilium.io system_requirements).
DISTRO_KNOWN_GOOD = [
    ("calico-iptables", DEBIAN_10), ("calico-iptables", UBUNTU_2004),
    ("calico-ebpf", UBUNTU_2004),
    ("cilium", DEBIAN_10), ("cilium", UBUNTU_2004),
]


@pytest.mark.parametrize("name,config", DISTRO_KNOWN_GOOD)
def test_documented_distribution_kernels_pass(catalog, configs, name, config):
    report = check_config(configs(config), [catalog.profiles[name]], catalog)
    failing = [(f.name, f.status) for f in report.failing(required=True)
               if f.name != "KERNEL_VERSION"]   # Cilium 1.18 itself needs 5.10
    assert not failing, failing


def test_rcar_bsp_lacks_what_the_file_says(catalog, configs, configs_dir):
    """Every required CNI symbol the R-Car 4.14.75 file writes as 'is not set'
    (read with a plain regex, not rcarkit's parser) shows up as a gap, unless
    another alternative of its any_of row is set."""
    raw = (configs_dir / RCAR_414).read_text()
    not_set = set(re.findall(r"^# CONFIG_([A-Z0-9_]+) is not set$", raw, re.M))
    set_to = dict(re.findall(r"^CONFIG_([A-Z0-9_]+)=(\S+)$", raw, re.M))
    kc = configs(RCAR_414)
    for name in CNI_PROFILES:
        report = check_config(kc, [catalog.profiles[name]], catalog)
        for f in report.findings():
            if not f.required or f.name == "KERNEL_VERSION":
                continue
            if any(set_to.get(s) in ("y", "m") for s in f.symbols):
                continue
            if any(s in not_set for s in f.symbols):
                assert f.status in ("missing", "wrong-value"), (name, f.name, f.status)


def test_cli_cni_shortcut_replaces_the_default_cni(configs_dir):
    proc = _cli("--cni", "calico", "--format", "json", str(configs_dir / UBUNTU_2004))
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert "calico-iptables" in doc["profiles"] and "flannel-vxlan" not in doc["profiles"]
    calico = [o for o in doc["options"] if o["profile"] == "calico-iptables"]
    # Calico documents Ubuntu 20.04 as known to work: no required row fails
    assert calico and not [o["option"] for o in calico
                           if o["required"] and o["status"] in ("missing", "wrong-value")]
    proc = _cli("--cni", "no-such-cni", str(configs_dir / UBUNTU_2004))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


ARM32_CONFIG = "upstream-arm_shmobile_defconfig_6.12.117.expanded.config"


@pytest.mark.parametrize("profile", ["cilium", "calico-iptables", "calico-ebpf", "canal"])
def test_32bit_arm_is_not_ready_for_cnis_without_arm_builds(configs_dir, profile):
    """Cilium ("AMD64 or AArch64", System Requirements) and Calico (images for
    amd64/arm64/ppc64le/s390x) do not run on 32-bit ARM: the real shmobile
    config (header "Linux/arm") must be NOT READY, exit 1, naming the arch."""
    proc = subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel",
                           str(configs_dir / ARM32_CONFIG), "--profile", profile,
                           "--format", "json"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    rows = [r for r in doc["options"] if r["option"] == "ARCH"]
    assert [r["status"] for r in rows] == ["unsupported-arch"]
    assert rows[0]["actual"] == "arm"
    assert "unsupported on arm" in doc["verdict"]


def test_arm64_config_passes_the_arch_row(configs_dir):
    catalog = load_catalog()
    config = load_config(str(configs_dir / UPSTREAM_617))
    report = check_config(config, [catalog.profile("cilium")], catalog)
    assert [f.status for f in report.findings() if f.name == "ARCH"] == ["ok"]


def test_weave_says_unmaintained_in_list_title_notes_and_verdict(configs_dir):
    """Weaveworks closed in 2024 (issue 13): the profile stays, and every place a
    user reads says Weave Net is unmaintained, ready or not."""
    for name in ("debian10_aarch64_4.19.249_khc.config", "rcar-gen3_bsp-v2.9.0_linux-4.4.0.config"):
        proc = subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel",
                               str(configs_dir / name), "--cni", "weave", "--format", "json"],
                              cwd=REPO, capture_output=True, text=True)
        doc = json.loads(proc.stdout)
        assert doc["verdict"].endswith("weave unmaintained"), doc["verdict"]
        assert [g["title"] for g in doc["groups"] if g["name"] == "weave"][0].endswith(
            "[unmaintained]")
        assert any(n.startswith("weave is unmaintained: Weaveworks closed in 2024")
                   for n in doc["notes"])
    listing = subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel", "--list-profiles",
                              "--format", "json"], cwd=REPO, capture_output=True, text=True)
    rows = {r["name"]: r for r in json.loads(listing.stdout)["profiles"]}
    assert rows["weave"]["status"] == "unmaintained"
    assert all(r["status"] == "maintained" for n, r in rows.items() if n != "weave")
    table = subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel", "--list-profiles"],
                           cwd=REPO, capture_output=True, text=True).stdout
    assert [l for l in table.splitlines() if l.startswith("weave ")][0].split(None, 4)[4] \
        .startswith("[UNMAINTAINED]")


def _upstream_lists():
    import tomllib
    return tomllib.loads((REPO / "tests/data/upstream/kconfig-lists.toml").read_text())


def test_policy_profiles_require_what_upstream_policy_engines_check():
    """The NetworkPolicy set (kind policy): kube-router-netpol requires what k3s's
    check-config.sh requires because of its embedded kube-router (multiport,
    comment, REJECT) plus IP_SET, which the script only warns about and without
    which no policy is enforced; calico-policy requires every policy module of
    calicoctl's checksystem. Both lists are upstream's (tests/data/upstream)."""
    catalog = load_catalog()
    lists = _upstream_lists()
    names = {p.name: p for p in catalog.profiles.values() if p.kind == "policy"}
    assert set(names) == {"kube-router-netpol", "calico-policy"}

    def required(prof):
        return {sym for r in prof.options if r.required for sym in r.names}
    k3s = lists["k3s-check-config"]
    for sym in ("NETFILTER_XT_MATCH_MULTIPORT", "NETFILTER_XT_MATCH_COMMENT",
                "IP_NF_TARGET_REJECT"):
        assert sym in k3s["required"] and sym in required(names["kube-router-netpol"]), sym
    assert "IP_SET" in k3s["optional"] and "IP_SET" in required(names["kube-router-netpol"])
    calico = set(lists["calicoctl-checksystem"]["required"])
    for sym in ("IP_SET", "NETFILTER_XT_SET", "IP_NF_MATCH_RPFILTER", "NF_CT_NETLINK",
                "NETFILTER_XT_MATCH_ADDRTYPE", "NETFILTER_XT_MATCH_CONNTRACK"):
        assert sym in calico and sym in required(names["calico-policy"]), sym
    # more than the CNI: flannel checks none of the ipset options
    flannel = {sym for r in catalog.profile("flannel-vxlan").options for sym in r.names}
    assert not flannel & {"IP_SET", "IP_SET_HASH_IP", "IP_SET_HASH_NET", "NETFILTER_XT_SET"}


def test_policy_profile_on_a_bsp_without_ipset(configs_dir):
    """R-Car 4.9 sets no IP_SET: flannel alone passes its own rows, kube-router's
    policy rows for ipset fail, exactly where the file does not set them."""
    from test_kconfig import grep_values, read_text
    path = configs_dir / "rcar-gen3_bsp-v2.23.1_linux-4.9.0.config"
    values = grep_values(read_text(path))
    catalog = load_catalog()
    report = check_config(load_config(path), [catalog.profile("kube-router-netpol")], catalog)
    for f in report.findings():
        if f.name == "KERNEL_VERSION" or f.status not in ("ok", "missing"):
            continue
        on = any(values.get(s) in ("y", "m") for s in f.symbols)
        assert (f.status == "ok") == on, (f.name, f.status)
    assert values.get("IP_SET") in (None, "n") and report.exit_code == 1
    listing = subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel", "--list-profiles"],
                             cwd=REPO, capture_output=True, text=True).stdout
    kinds = {l.split()[0]: l.split()[1] for l in listing.splitlines()[1:]}
    assert kinds["kube-router-netpol"] == kinds["calico-policy"] == "policy"
