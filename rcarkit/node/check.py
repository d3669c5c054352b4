"""check-node: is this running board ready for ``kubeadm init``/``join``, and
what exactly has to change.

A kernel config says what was built; a running board can still fail kubeadm.
:func:`check_node` reads the board through a root directory (``/`` live, or a
mounted image / fixture tree with ``--root``) and returns a
:class:`rcarkit.report.Report` with these groups:

``kernel-config``
    the kernel config against the chosen profiles (``check-kernel``), failing
    rows only; ``rcarkit check-kernel`` explains them in full.
``modules``
    every option the profiles need that is ``=m``: the module must be in
    ``/lib/modules/<release>`` (builtin, in ``modules.dep``, or at least a file)
    with a ``vermagic`` naming the running release.
``swap``, ``cgroups``, ``sysctl``, ``kernel-modules-loaded``, ``resources``,
``tools``, ``ports``, ``identity``
    the runtime state kubeadm's preflight checks, the kubelet and the CNI
    trip over: swap on, cgroup v1 or a disabled memory controller, the kernel
    command line, ``net.ipv4.ip_forward`` and ``bridge-nf-call-iptables``,
    ``overlay``/``br_netfilter``, CPUs and memory per role, the iptables
    backend and user-space tools, busy ports, default hostnames and MACs.

Library use::

    from rcarkit.node.check import check_node
    result = check_node(root="/", role="control-plane")
    result.report.exit_code      # 0 ready, 1 something to change
    result.fixes                 # NodeFixes: sysctls, modules, cmdline, packages
    write_fixes(result, "out/")  # rcarkit.node.fixes

``--format json`` is the check-kernel document (``options``, ``summary``,
``verdict``, ``exit_code``; ``profile`` is the group name above) plus:
``root``, ``live``, ``role``, ``kernel_release``, ``config`` (or null),
``node`` (the facts read: swap, cgroup, cpus, memory_mb, sysctl, tools,
iptables_backend, listening_ports, hostname, interfaces, product_uuid,
cmdline) and ``fixes`` (sysctls, modules_load, cmdline_add/remove,
module_packages, tools_missing, tool_packages, swap_off, ...).

Statuses: ``missing``/``wrong-value`` fail (exit 1 when required);
``warning`` is worth a look but does not fail (a sysctl set only at run time,
a loadable module not loaded, a default hostname, a random MAC); ``unknown``
could not be read (a mounted image has no /proc: runtime facts are unknown,
files are still checked).

Thresholds are kubeadm's own (``cmd/kubeadm/app/preflight``): 2 CPUs and
1700 MB for a control plane, ports 6443/2379/2380/10250/10257/10259, the
tools of ``addExecChecks``; cgroup controllers are those of
``k8s.io/system-validators`` (the SystemVerification check).
"""

import os
import re
from dataclasses import dataclass, field
from typing import Dict, List

from rcarkit.errors import RcarkitError
from rcarkit.report import Finding, Group, Report, OK, MISSING, WRONG, WARNING, UNKNOWN

ROLES = ("control-plane", "worker")

#: kubeadm constants ControlPlaneNumCPU / ControlPlaneMem (MB).
CONTROL_PLANE_CPUS = 2
CONTROL_PLANE_MEM_MB = 1700
#: kubernetes.io install-kubeadm: "2 GB or more of RAM per machine".
RECOMMENDED_MEM_MB = 2048

#: (port, component, roles)
PORTS = ((6443, "kube-apiserver", ("control-plane",)),
         (2379, "etcd client", ("control-plane",)),
         (2380, "etcd peer", ("control-plane",)),
         (10250, "kubelet API", ("control-plane", "worker")),
         (10257, "kube-controller-manager", ("control-plane",)),
         (10259, "kube-scheduler", ("control-plane",)))

_S = {
    "kubeadm-checks": ("kubeadm preflight: cmd/kubeadm/app/preflight/checks.go",
                       "https://github.com/kubernetes/kubernetes/blob/master/cmd/kubeadm/app/preflight/checks.go"),
    "kubeadm-checks-linux": ("kubeadm preflight: checks_linux.go (MemCheck, addExecChecks, ip_forward)",
                             "https://github.com/kubernetes/kubernetes/blob/master/cmd/kubeadm/app/preflight/checks_linux.go"),
    "kubeadm-constants": ("kubeadm constants: ControlPlaneNumCPU=2, ControlPlaneMem=1700, ports",
                          "https://github.com/kubernetes/kubernetes/blob/master/cmd/kubeadm/app/constants/constants.go"),
    "system-validators": ("k8s.io/system-validators: DefaultSysSpec cgroups (kubeadm SystemVerification)",
                          "https://github.com/kubernetes/system-validators/blob/master/validators/types_unix.go"),
    "system-validators-cgroup": ("k8s.io/system-validators: cgroup_validator_linux.go",
                                 "https://github.com/kubernetes/system-validators/blob/master/validators/cgroup_validator_linux.go"),
    "kep-5573": ("KEP-5573: kubelet refuses cgroup v1 by default (failCgroupV1, 1.35)",
                 "https://github.com/kubernetes/enhancements/issues/5573"),
    "install-kubeadm": ("Kubernetes docs: Installing kubeadm (requirements, swap, unique MAC/product_uuid)",
                        "https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/install-kubeadm/"),
    "k8s-ports": ("Kubernetes docs: Ports and Protocols",
                  "https://kubernetes.io/docs/reference/networking/ports-and-protocols/"),
    "container-runtimes": ("Kubernetes docs: Container Runtimes (ip_forward, overlay, br_netfilter)",
                           "https://kubernetes.io/docs/setup/production-environment/container-runtimes/"),
    "k8s-network-plugins": ("Kubernetes docs: Network Plugins (bridge-nf-call-iptables)",
                            "https://kubernetes.io/docs/concepts/extend-kubernetes/compute-storage-net/network-plugins/"),
    "kubelet-swap": ("Kubernetes docs: Nodes, swap memory (kubelet failSwapOn)",
                     "https://kubernetes.io/docs/concepts/architecture/nodes/#swap-memory"),
    "rpi-cmdline": ("Raspberry Pi docs: the kernel command line (cmdline.txt)",
                    "https://www.raspberrypi.com/documentation/computers/configuration.html#the-kernel-command-line"),
    "cgroup-v2-doc": ("Linux: Documentation/admin-guide/cgroup-v2.rst",
                      "https://docs.kernel.org/admin-guide/cgroup-v2.html"),
    "kernel-params": ("Linux: kernel-parameters.txt (cgroup_disable=, cgroup_no_v1=)",
                      "https://docs.kernel.org/admin-guide/kernel-parameters.html"),
    "systemd-cgroup": ("systemd: systemd.unified_cgroup_hierarchy (v256 refuses v1 by default)",
                       "https://www.freedesktop.org/software/systemd/man/latest/systemd.html"),
    "iptables-nft": ("iptables(8): the nf_tables and legacy variants",
                     "https://manpages.debian.org/iptables/iptables.8.en.html"),
    "kernel-modules-toml": ("kconfig_profiles/kernel-modules.toml (from the kernel Makefiles)", ""),
    "yocto-kernel-modules": ("Yocto Kernel Development Manual: kernel-modules, KERNEL_MODULE_AUTOLOAD",
                             "https://docs.yoctoproject.org/ref-manual/variables.html#term-KERNEL_MODULE_AUTOLOAD"),
    "ieee-mac": ("IEEE 802: locally administered and group MAC address bits",
                 "https://standards.ieee.org/products-programs/regauth/"),
}


def _src(*keys):
    return tuple({"id": k, "title": _S[k][0], "url": _S[k][1]} for k in keys)


#: Yocto packages that provide a tool (meta-oe / meta-networking / meta-virtualization).
TOOL_PACKAGES = {
    "ip": "iproute2", "tc": "iproute2-tc", "iptables": "iptables", "ip6tables": "iptables",
    "iptables-save": "iptables", "iptables-restore": "iptables", "mount": "util-linux-mount",
    "nsenter": "util-linux-nsenter", "ebtables": "ebtables", "ethtool": "ethtool",
    "socat": "socat", "touch": "coreutils", "conntrack": "conntrack-tools", "ipset": "ipset",
    "ipvsadm": "ipvsadm", "nft": "nftables", "containerd": "containerd-opencontainers",
    "runc": "runc-opencontainers", "crio": "cri-o", "conmon": "conmon", "dockerd": "docker-moby",
    "cri-dockerd": "cri-dockerd",
}

#: Hostnames images ship with (a second board from the same image collides).
DEFAULT_HOSTNAMES = {
    "localhost", "localhost.localdomain", "raspberrypi", "ubuntu", "debian", "buildroot",
    "poky", "yocto", "qemuarm64", "qemux86-64", "raspberrypi3-64", "raspberrypi4-64",
    "raspberrypi5", "h3ulcb", "m3ulcb", "salvator-x", "ebisu", "draak", "spider", "s4sk",
    "whitehawk", "white-hawk", "rcar", "(none)",
}
#: MACs BSPs hard-code in their U-Boot environment (``ethaddr=00:11:22:33:44:55``
#: in many board configs' CONFIG_EXTRA_ENV_SETTINGS): every board has the same.
PLACEHOLDER_MACS = {"00:11:22:33:44:55", "00:01:02:03:04:05", "12:34:56:78:9a:bc"}
#: product_uuid values firmware vendors ship on many boards at once.
BOGUS_UUIDS = {"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
               "03000200-0400-0500-0006-000700080009", "12345678-1234-5678-90ab-cddeefaabbcc"}

_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass
class NodeFixes:
    """What to change, as data: rendered into files by :mod:`rcarkit.node.fixes`."""
    sysctls: Dict[str, str] = field(default_factory=dict)       # to set (all recommended)
    sysctls_wrong: List[str] = field(default_factory=list)      # wrong now
    modules_load: List[str] = field(default_factory=list)       # modules-load.d entries
    cmdline_add: List[str] = field(default_factory=list)        # tokens to add
    cmdline_remove: List[str] = field(default_factory=list)     # tokens to remove
    cmdline_why: List[str] = field(default_factory=list)
    module_packages: List[str] = field(default_factory=list)    # kernel-module-* missing
    need_all_modules: bool = False                               # no /lib/modules/<rel> at all
    tools_missing: List[str] = field(default_factory=list)
    tool_packages: List[str] = field(default_factory=list)
    swap_off: List[str] = field(default_factory=list)           # swap devices / fstab entries
    other: List[str] = field(default_factory=list)              # advice without a file

    def to_dict(self):
        return {"sysctls": dict(self.sysctls), "sysctls_wrong": list(self.sysctls_wrong),
                "modules_load": list(self.modules_load), "cmdline_add": list(self.cmdline_add),
                "cmdline_remove": list(self.cmdline_remove),
                "module_packages": list(self.module_packages),
                "need_all_modules": self.need_all_modules,
                "tools_missing": list(self.tools_missing),
                "tool_packages": list(self.tool_packages), "swap_off": list(self.swap_off),
                "other": list(self.other)}


@dataclass
class NodeCheck:
    """The result of :func:`check_node`: the report plus the fixes as data."""
    report: Report
    fixes: NodeFixes
    facts: dict

    def to_dict(self):
        return self.report.to_dict()


def _add(cmdline_list, token):
    if token not in cmdline_list:
        cmdline_list.append(token)


class _Checker:
    def __init__(self, node, role, profiles, catalog, config, release, arch, modmap):
        self.node = node
        self.role = role
        self.profiles = profiles
        self.catalog = catalog
        self.config = config
        self.release = release
        self.arch = arch
        self.modmap = modmap
        self.fixes = NodeFixes()
        self.facts = {}
        self.notes = []
        self.groups = []
        self.kernel_report = None
        from rcarkit.node import modules as node_modules
        self.nm = node_modules
        self.tree = node_modules.ModuleTree(node.path, release) if release else None
        self.loaded = node_modules.loaded_modules(node.path)
        from rcarkit.node import probe as node_probe
        self.node_probe = node_probe

    # -- helpers -------------------------------------------------------------
    def group(self, name, title):
        g = Group(name=name, title=title)
        self.groups.append(g)
        return g

    def finding(self, group, name, expected, actual, status, required, reason, sources=(),
                note="", symbols=()):
        f = Finding(group=group.name, name=name, expected=expected, actual=actual, status=status,
                    required=required, reason=reason, sources=sources, note=note,
                    symbols=tuple(symbols))
        group.findings.append(f)
        return f

    def profile_requires(self, symbol):
        """None (not in the profiles), True (a required rule names it) or False."""
        found = None
        for prof in self.profiles:
            for rule in prof.options:
                if symbol in rule.names:
                    found = found or rule.required
        return found

    def proxy_modes(self):
        return [p.name[len("kube-proxy-"):] for p in self.profiles
                if p.kind == "proxy-mode" and p.name.startswith("kube-proxy-")]

    def runtimes(self):
        return [p.name for p in self.profiles if p.kind == "runtime"]

    # -- kernel config and modules -------------------------------------------
    def check_kernel_config(self):
        g = self.group("kernel-config", "kernel config vs profiles (details: rcarkit check-kernel)")
        if self.config is None:
            self.finding(g, "kernel config", "readable", None, UNKNOWN, False,
                         "no kernel config found (/proc/config.gz, /boot/config-<release>): "
                         "built-in options and =m modules cannot be checked",
                         note="pass --config, or build with CONFIG_IKCONFIG_PROC=y")
            return
        from rcarkit.kernel.check import check_config
        self.kernel_report = report = check_config(self.config, self.profiles, self.catalog)
        failing = [f for f in report.findings() if f.failing]
        merged = {}
        for f in failing:  # one row per option, naming every profile that wants it
            if f.name in merged:
                row, groups = merged[f.name]
                groups.append(f.group)
                row.required = row.required or f.required
                continue
            row = Finding(group=g.name, name=f.name, expected=f.expected, actual=f.actual,
                          status=f.status, required=f.required, reason=f.reason,
                          sources=f.sources, note=f.note, symbols=f.symbols,
                          provisional=f.provisional)
            merged[f.name] = (row, [f.group])
            g.findings.append(row)
        for row, groups in merged.values():
            row.note = "; ".join(x for x in (", ".join(groups), row.note) if x)
        if not any(f.required for f in failing):
            total = sum(1 for f in report.findings() if f.required and f.status == OK)
            self.finding(g, "profiles %s" % ", ".join(p.name for p in self.profiles),
                         "all required", "%d ok" % total, OK, True,
                         "every required option of the chosen profiles is set")

    def module_symbols(self):
        """``[(symbol, required, profile)]`` of rules satisfied by an ``=m`` symbol."""
        from rcarkit.kernel.profiles import Expect
        wanted = []
        seen = {}
        if self.kernel_report is None:
            return wanted
        for f in self.kernel_report.findings():
            if f.status != OK or not f.symbols:
                continue
            expect = Expect(f.expected)
            for sym in f.symbols:
                value = self.config.get(sym)
                if value is not None and expect.matches(value):
                    if value == "m":
                        if sym in seen:
                            i = seen[sym]
                            wanted[i] = (sym, wanted[i][1] or f.required, wanted[i][2])
                        else:
                            seen[sym] = len(wanted)
                            wanted.append((sym, f.required, f.group))
                    break
        return wanted

    def check_modules(self):
        g = self.group("modules", "kernel modules for =m options (/lib/modules/%s)"
                       % (self.release or "?"))
        wanted = self.module_symbols()
        self.facts["modules_needed"] = len(wanted)
        if self.config is None:
            return
        if not wanted:
            self.finding(g, "=m options", "modules installed", "none needed", OK, True,
                         "no option the profiles need is built as a module")
            return
        tree = self.tree
        if tree is not None and not tree.exists:
            self.fixes.need_all_modules = True
        for sym, required, profile in wanted:
            paths = self.modmap.modules_for(sym, self.config.arch or self.arch,
                                            self.config.version, self.config)
            if not paths and sym in self.modmap.selects:
                targets = self.modmap.selects[sym]
                self.finding(g, "CONFIG_%s=m" % sym, "installed", "selects only", OK, required,
                             "builds no module itself; selects %s, built in here" % ", ".join(
                                 "%s=%s" % (t, self.config.get(t) or "unset") for t in targets),
                             sources=_src("kernel-modules-toml"), symbols=(sym,))
                continue
            if not paths:
                self.finding(g, "CONFIG_%s=m" % sym, "module installed", None, UNKNOWN, False,
                             "no module known for this symbol in kernel-modules.toml",
                             sources=_src("kernel-modules-toml"), symbols=(sym,),
                             note="regenerate with tools/gen_kernel_modules.py on this kernel's tree")
                continue
            for modpath in paths:
                self._check_one_module(g, sym, required, profile, modpath)
                if sym.startswith("IP_VS") and "ipvs" in self.proxy_modes():
                    _add(self.fixes.modules_load, self.nm.module_name(modpath))

    def _check_one_module(self, g, sym, required, profile, modpath):
        name = self.nm.module_name(modpath)
        expected = "installed"
        base = dict(group=g, name=name, expected=expected, required=required,
                    symbols=(sym,), sources=_src("kernel-modules-toml", "yocto-kernel-modules"))
        why_missing = ("CONFIG_%s=m (%s) but the module is not in the image: modprobe %s "
                       "fails and whatever needs it breaks" % (sym, profile, name))
        tree = self.tree
        if tree is None or not tree.exists:
            loaded = self.loaded is not None and name in self.loaded
            status = OK if loaded else MISSING
            self.finding(actual="loaded" if loaded else "no modules",
                         status=status, reason=why_missing,
                         note="no /lib/modules/%s in the image (Yocto: add kernel-modules to "
                              "IMAGE_INSTALL)" % self.release if not loaded else "", **base)
            if not loaded:
                _add(self.fixes.module_packages, self.nm.yocto_package(name))
            return
        how, rel = tree.find(name)
        if how == "builtin":
            self.finding(actual="builtin", status=OK, reason="linked into the kernel image",
                         note="modules.builtin lists it although the config says m", **base)
            return
        if how is None:
            loaded = self.loaded is not None and name in self.loaded
            if loaded:
                self.finding(actual="loaded, no file", status=WARNING,
                             reason="loaded now but no module file: it cannot be loaded again "
                                    "after a reboot", **dict(base, required=False))
                return
            self.finding(actual="missing", status=MISSING, reason=why_missing,
                         note="not in modules.dep, no %s.ko* under %s" % (name, tree.directory),
                         **base)
            _add(self.fixes.module_packages, self.nm.yocto_package(name))
            return
        try:
            info = self.nm.read_modinfo(tree.path(rel))
        except RcarkitError as exc:
            self.finding(actual="unreadable", status=UNKNOWN,
                         reason="module file %s found, vermagic unreadable" % rel,
                         note=exc.message + (" (%s)" % exc.hint if exc.hint else ""),
                         **dict(base, required=False))
            return
        magic = info.get("vermagic", "")
        got = self.nm.vermagic_release(magic)
        if got != self.release:
            self.finding(actual="vermagic %s" % (got or "none"), status=WRONG,
                         reason="%s was built for another kernel: modprobe refuses it "
                                "('Exec format error' / 'disagrees about version')" % rel,
                         note="vermagic '%s'; install the modules of the running kernel "
                              "(same build as the Image)" % magic, **base)
            _add(self.fixes.module_packages, self.nm.yocto_package(name))
            return
        if how == "file":
            self.finding(actual="not in dep", status=WRONG, note=rel,
                         reason="the file is there but modules.dep does not list it: modprobe "
                                "(and systemd-modules-load) cannot find it until "
                                "'depmod -a %s'" % self.release, **base)
            self.fixes.other.append("run 'depmod -a %s' on the board (Yocto runs depmod when "
                                    "it builds the rootfs: rebuild the image)" % self.release)
            return
        lost = tree.missing_dependencies(name)
        if lost:
            self.finding(actual="deps missing", status=WRONG, note=", ".join(lost),
                         reason="modules.dep says %s needs modules the image lacks: "
                                "modprobe %s fails" % (name, name), **base)
            for dep in lost:
                _add(self.fixes.module_packages,
                     self.nm.yocto_package(self.nm.module_name(dep)))
            return
        self.finding(actual="installed", status=OK, note=rel,
                     reason="in modules.dep, vermagic %s matches" % got, **base)

    # -- swap ------------------------------------------------------------------
    def check_swap(self):
        g = self.group("swap", "swap (kubelet failSwapOn, kubeadm Swap check)")
        swap = self.node_probe.probe_swap(self.node)
        self.facts["swap"] = swap
        total = swap["total_kb"]
        srcs = _src("kubelet-swap", "kubeadm-checks", "install-kubeadm")
        if total is None:
            self.finding(g, "swap", "off", None, UNKNOWN, False, "/proc/swaps is not readable",
                         sources=srcs)
        elif total > 0:
            names = ", ".join(d["name"] for d in swap["devices"]) or "%d kB" % total
            self.finding(g, "swap", "off", "on: %s" % names, WRONG, True,
                         "the kubelet refuses to start with swap on (failSwapOn defaults to "
                         "true); kubeadm warns 'swap is supported for cgroup v2 only'",
                         sources=srcs, note="swapoff -a and remove it from fstab / "
                         "zram / dphys-swapfile, or configure the kubelet for swap (v2 only)")
            self.fixes.swap_off.extend(d["name"] for d in swap["devices"])
        else:
            self.finding(g, "swap", "off", "off", OK, True, "no active swap", sources=srcs)
        if swap["fstab"]:
            self.finding(g, "fstab swap", "none", ", ".join(swap["fstab"]), WARNING, False,
                         "/etc/fstab enables swap at the next boot", sources=srcs)
            self.fixes.swap_off.extend("fstab: %s" % s for s in swap["fstab"])

    # -- cgroups and the kernel command line --------------------------------
    def check_cgroups(self):
        g = self.group("cgroups", "cgroups and the kernel command line")
        cg = self.node_probe.probe_cgroups(self.node)
        self.facts["cgroup"] = cg
        text = self.node_probe.cmdline(self.node)
        self.facts["cmdline"] = text
        params = self.node_probe.cmdline_params(text)
        keys = dict()
        for k, v in params:
            keys.setdefault(k, []).append(v)
        version = cg["version"]
        srcs = _src("kep-5573", "system-validators-cgroup", "cgroup-v2-doc")
        if version == "v2":
            self.finding(g, "cgroup version", "v2", "v2", OK, True,
                         "/sys/fs/cgroup is the unified (v2) hierarchy", sources=srcs)
        elif version in ("v1", "hybrid"):
            actual = version
            hierarchy = keys.get("systemd.unified_cgroup_hierarchy", [])
            note = "boot with systemd.unified_cgroup_hierarchy=1 (systemd), or set " \
                   "failCgroupV1: false in the kubelet config"
            if version == "hybrid":
                note = "v1 controllers with a v2 tree at %s; %s" % (
                    ", ".join(cg["v2_mounts"]), note)
            self.finding(g, "cgroup version", "v2", actual, WRONG, True,
                         "the kubelet (1.35+) refuses cgroup v1 by default (failCgroupV1); "
                         "kubeadm's SystemVerification errors on v1", sources=srcs, note=note)
            for value in hierarchy:
                if value in ("0", "false", "no"):
                    _add(self.fixes.cmdline_remove, "systemd.unified_cgroup_hierarchy=%s" % value)
            _add(self.fixes.cmdline_add, "systemd.unified_cgroup_hierarchy=1")
            self.fixes.cmdline_why.append("systemd.unified_cgroup_hierarchy=1: boot systemd on "
                                          "cgroup v2 (the kubelet refuses v1 from 1.35)")
        else:
            self.finding(g, "cgroup version", "v2", None, UNKNOWN, True,
                         "no cgroup file system found in /proc/mounts or /sys/fs/cgroup",
                         sources=srcs)
        # controllers (system-validators DefaultSysSpec)
        ctrl = cg["controllers"]
        if version == "v2":
            required = ["cpu", "cpuset", "memory", "pids"]
            optional = ["hugetlb", "io"]
        else:
            required = ["cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"]
            optional = ["hugetlb", "blkio"]
        srcs = _src("system-validators", "system-validators-cgroup")
        if version is not None and cg["controllers_source"] is None:
            self.finding(g, "cgroup controllers", " ".join(required), None, UNKNOWN, False,
                         "cannot read the controller list (cgroup.controllers / /proc/cgroups)",
                         sources=srcs)
        elif version is not None:
            for name in required + optional:
                enabled = ctrl.get(name)
                is_req = name in required
                if enabled:
                    self.finding(g, "cgroup %s" % name, "enabled", "enabled", OK, is_req,
                                 "controller available (%s)" % cg["controllers_source"],
                                 sources=srcs)
                    continue
                actual = "disabled" if enabled is False else "absent"
                reason = ("kubelet cannot enforce %s limits; kubeadm SystemVerification: "
                          "'missing required cgroups: %s'" % (name, name)) if is_req else \
                         ("optional controller missing: %s limits and stats unavailable" % name)
                note = ""
                if name == "memory":
                    note = self._memory_cmdline_fix(keys)
                elif name in ("cpuset", "pids", "hugetlb") and \
                        any(v and name in v.split(",") for v in keys.get("cgroup_disable", [])):
                    note = "disabled by cgroup_disable= on the kernel command line"
                    _add(self.fixes.cmdline_remove, "cgroup_disable=%s" % name)
                self.finding(g, "cgroup %s" % name, "enabled", actual,
                             MISSING, is_req, reason, sources=srcs,
                             note=note)
        from rcarkit.kernel.config import KernelVersion
        kver = KernelVersion.parse(self.release)
        if version == "v2" and kver is not None and kver < (5, 2, 0):
            self.finding(g, "cgroup freezer", "cgroup.freeze (5.2+)", "kernel %s" % (kver,), MISSING,
                         True, "cgroup v2 has a freezer only from Linux 5.2: kubeadm "
                         "SystemVerification reports 'missing required cgroups: freezer'",
                         sources=srcs)
        elif version == "v2":
            self.finding(g, "cgroup devices, freezer", "available",
                         "implicit in v2", OK, True,
                         "v2 has no devices/freezer controller files: devices is BPF-based "
                         "(4.15+), freezer is cgroup.freeze (5.2+)", sources=srcs,
                         note="kernel %s" % self.release)
        # the command line itself
        srcs = _src("kernel-params", "rpi-cmdline")
        if text is None:
            self.finding(g, "kernel command line", "readable", None, UNKNOWN, False,
                         "/proc/cmdline not readable", sources=srcs)
        else:
            if self.fixes.cmdline_remove:
                self.finding(g, "kernel command line", "no disable",
                             " ".join(self.fixes.cmdline_remove), WRONG, True,
                             "the kernel command line turns off what Kubernetes needs: "
                             "remove %s" % " ".join(self.fixes.cmdline_remove),
                             sources=srcs, note="add instead: %s" % " ".join(
                                 self.fixes.cmdline_add) if self.fixes.cmdline_add else "")
            elif self.fixes.cmdline_add:
                self.finding(g, "kernel command line", "no changes needed",
                             "add %d flag(s)" % len(self.fixes.cmdline_add), WARNING, False,
                             "the fixes above need the kernel command line", sources=srcs,
                             note="add: %s (--emit writes boot/cmdline-addition.txt)"
                                  % " ".join(self.fixes.cmdline_add))
            else:
                self.finding(g, "kernel command line", "no disable", "ok", OK, True,
                             "no cgroup_disable= or v1-forcing flag", sources=srcs)

    def _memory_cmdline_fix(self, keys):
        disabled = any(v and "memory" in v.split(",") for v in keys.get("cgroup_disable", []))
        enabled = any(v and "memory" in v.split(",") for v in keys.get("cgroup_enable", []))
        if disabled:
            _add(self.fixes.cmdline_remove, "cgroup_disable=memory")
        _add(self.fixes.cmdline_add, "cgroup_enable=memory")
        _add(self.fixes.cmdline_add, "cgroup_memory=1")
        self.fixes.cmdline_why.append(
            "cgroup_enable=memory cgroup_memory=1: turn the memory controller on "
            "(Raspberry Pi kernels keep it off unless asked; cgroup_memory=1 for older ones)")
        if disabled:
            return "cgroup_disable=memory is on the command line: remove it"
        if enabled:
            return "cgroup_enable=memory is given but the controller is still off: " \
                   "the kernel lacks CONFIG_MEMCG?"
        return "add 'cgroup_enable=memory cgroup_memory=1' to the kernel command line"

    # -- sysctls ---------------------------------------------------------------
    def check_sysctl(self):
        g = self.group("sysctl", "sysctls (kubeadm ip_forward check, bridge netfilter)")
        persisted = self.node_probe.persisted_sysctls(self.node)
        bridge_req = self.profile_requires("BRIDGE_NETFILTER")
        wanted = (
            ("net.ipv4.ip_forward", True, "kubeadm preflight: '/proc/sys/net/ipv4/ip_forward "
             "contents are not set to 1'; pods cannot reach anything off the node",
             _src("kubeadm-checks-linux", "container-runtimes")),
            ("net.bridge.bridge-nf-call-iptables", bool(bridge_req) or bridge_req is None,
             "traffic between pods on the same bridge bypasses iptables: Services (and "
             "NetworkPolicy) break for pods on the same node", _src("k8s-network-plugins",
                                                                     "container-runtimes")),
            ("net.bridge.bridge-nf-call-ip6tables", False,
             "the same for IPv6 (dual-stack clusters)", _src("k8s-network-plugins")),
        )
        self.facts["sysctl"] = {}
        for name, required, reason, srcs in wanted:
            value = self.node_probe.sysctl(self.node, name)
            self.facts["sysctl"][name] = value
            self.fixes.sysctls[name] = "1"
            if value == "1":
                if persisted.get(name) == "1":
                    self.finding(g, name, "1", "1", OK, required, reason, sources=srcs)
                else:
                    self.finding(g, name, "1", "1 (runtime only)", WARNING, False, reason,
                                 sources=srcs, note="no sysctl.d file sets it: lost at reboot "
                                 "unless something sets it at run time again")
                continue
            if value is None:
                status, actual = MISSING, "absent"
                note = "br_netfilter is not loaded" if name.startswith("net.bridge") else \
                    "cannot read /proc/sys/" + name.replace(".", "/")
                if not self.node.isdir("proc/sys/net"):
                    status, note = UNKNOWN, "no proc/sys/net under the root (not a running system?)"
            else:
                status, actual, note = WRONG, value, ""
            self.finding(g, name, "1", actual, status, required, reason, sources=srcs, note=note)
            if status in (MISSING, WRONG):
                self.fixes.sysctls_wrong.append(name)

    # -- overlay / br_netfilter -----------------------------------------------
    def _module_problem(self, name):
        """The failing finding check_modules made for module ``name``, or None."""
        for grp in self.groups:
            if grp.name == "modules":
                for f in grp.findings:
                    if f.name == name and f.status in (MISSING, WRONG):
                        return f
        return None

    def check_loaded(self):
        g = self.group("kernel-modules-loaded", "overlay and br_netfilter (loaded or loadable)")
        fss = self.node_probe.filesystems(self.node)
        items = (
            ("overlay", "OVERLAY_FS", "containerd's overlayfs snapshotter cannot mount image "
             "layers: every container fails to start", lambda: "overlay" in fss),
            ("br_netfilter", "BRIDGE_NETFILTER", "bridge-nf-call-iptables does not exist "
             "until br_netfilter is loaded (bridge does not load it)",
             lambda: self.node.isdir("proc/sys/net/bridge")),
        )
        for name, sym, reason, present in items:
            req = self.profile_requires(sym)
            required = True if req is None else req
            srcs = _src("container-runtimes")
            if present() or self.node_probe.module_loaded(self.node, name, self.loaded):
                self.finding(g, name, "loaded", "loaded", OK, required, reason, sources=srcs,
                             symbols=(sym,))
                _add(self.fixes.modules_load, name)
                continue
            how = None
            if self.tree is not None and self.tree.exists:
                how, rel = self.tree.find(name)
            cfg = self.config.get(sym) if self.config is not None else None
            _add(self.fixes.modules_load, name)
            broken = self._module_problem(name)
            if how in ("dep", "file") and broken is not None:
                # the file is there, but the modules check found why modprobe
                # refuses it (another kernel's vermagic, not in modules.dep, ...)
                self.finding(g, name, "loaded", "not loadable", broken.status, required,
                             reason, sources=srcs, symbols=(sym,),
                             note="module file: %s (see kernel modules above)" % broken.actual)
            elif how in ("dep", "file"):
                self.finding(g, name, "loaded", "loadable, not loaded", WARNING, False, reason,
                             sources=srcs, symbols=(sym,),
                             note="modprobe %s; etc/modules-load.d/k8s.conf loads it at boot"
                                  % name)
            elif cfg == "y" or how == "builtin":
                self.finding(g, name, "loaded", "built in", OK, required, reason,
                             sources=srcs, symbols=(sym,))
            else:
                note = "CONFIG_%s=%s" % (sym, cfg or "unset")
                if cfg == "m":
                    note += "; module file missing (see modules)"
                    _add(self.fixes.module_packages, self.nm.yocto_package(name))
                self.finding(g, name, "loaded", "not available", MISSING, required, reason,
                             sources=srcs, symbols=(sym,), note=note)

    # -- resources --------------------------------------------------------------
    def check_resources(self):
        g = self.group("resources", "CPUs and memory (%s)" % self.role)
        cpus = self.node_probe.probe_cpus(self.node)
        mem = self.node_probe.meminfo(self.node)
        mem_mb = mem["MemTotal"] // 1024 if "MemTotal" in mem else None
        self.facts["cpus"] = cpus
        self.facts["memory_mb"] = mem_mb
        cp = self.role == "control-plane"
        srcs = _src("kubeadm-checks", "kubeadm-constants")
        n = cpus["usable"]
        if n is None:
            self.finding(g, "CPUs", ">= %d" % CONTROL_PLANE_CPUS if cp else "any", None,
                         UNKNOWN, False, "CPU count not readable", sources=srcs)
        elif cp:
            ok = n >= CONTROL_PLANE_CPUS
            self.finding(g, "CPUs", ">= %d" % CONTROL_PLANE_CPUS, str(n), OK if ok else WRONG,
                         True, "kubeadm init (NumCPU): 'the number of available CPUs %d is less "
                         "than the required %d'" % (n, CONTROL_PLANE_CPUS), sources=srcs)
        else:
            self.finding(g, "CPUs", ">= 1", str(n), OK, True,
                         "kubeadm join has no CPU minimum for a worker", sources=srcs)
        srcs = _src("kubeadm-checks-linux", "kubeadm-constants", "install-kubeadm")
        if mem_mb is None:
            self.finding(g, "memory", ">= %d MB" % CONTROL_PLANE_MEM_MB if cp else "any", None,
                         UNKNOWN, False, "/proc/meminfo not readable", sources=srcs)
        elif cp:
            ok = mem_mb >= CONTROL_PLANE_MEM_MB
            self.finding(g, "memory", ">= %d MB" % CONTROL_PLANE_MEM_MB, "%d MB" % mem_mb,
                         OK if ok else WRONG, True,
                         "kubeadm init (Mem): 'the system RAM (%d MB) is less than the minimum "
                         "%d MB'" % (mem_mb, CONTROL_PLANE_MEM_MB), sources=srcs)
        else:
            ok = mem_mb >= RECOMMENDED_MEM_MB
            self.finding(g, "memory", ">= %d MB" % RECOMMENDED_MEM_MB, "%d MB" % mem_mb,
                         OK if ok else WARNING, False,
                         "kubeadm does not check a worker's memory; the docs ask for 2 GB "
                         "('any less will leave little room for your apps')", sources=srcs)

    # -- tools and iptables backend ---------------------------------------------
    def tool_list(self):
        """``[(tool, required, why)]`` for the role, proxy modes, runtimes."""
        def kubeadm(tool, mandatory, extra=""):
            return (tool, mandatory, "kubeadm preflight %s: '%s not found in system path'%s"
                    % ("error" if mandatory else "warning", tool, extra))
        tools = [kubeadm("ip", True), kubeadm("iptables", True), kubeadm("mount", True),
                 kubeadm("nsenter", True), kubeadm("ebtables", False),
                 kubeadm("ethtool", False),
                 kubeadm("socat", False, "; kubectl port-forward needs it"),
                 kubeadm("tc", False), kubeadm("touch", False),
                 kubeadm("conntrack", False, " (an error before Kubernetes 1.32)")]
        modes = self.proxy_modes()
        if "iptables" in modes:
            tools += [("iptables-save", False, "kube-proxy iptables mode (host binary; the "
                       "kube-proxy image ships its own)"),
                      ("iptables-restore", False, "kube-proxy iptables mode; CNI portmap")]
        if "ipvs" in modes:
            tools += [("ipset", False, "kube-proxy ipvs mode uses ipset (the kube-proxy image "
                       "ships one; needed on the host for a host kube-proxy)"),
                      ("ipvsadm", False, "inspecting IPVS services (ipvsadm -Ln)")]
        if "nftables" in modes:
            tools += [("nft", False, "kube-proxy nftables mode runs 'nft' (the image ships "
                       "one; needed on the host for a host kube-proxy and debugging)")]
        for rt in self.runtimes():
            if rt == "containerd":
                tools += [("containerd", True, "the container runtime the profiles chose"),
                          ("runc", True, "containerd's default OCI runtime")]
            elif rt == "cri-o":
                tools += [("crio", True, "the container runtime the profiles chose")]
            elif rt == "docker":
                tools += [("dockerd", True, "the container runtime the profiles chose"),
                          ("cri-dockerd", True, "the CRI shim kubeadm talks to for Docker")]
        return tools

    def check_tools(self):
        g = self.group("tools", "user-space tools (kubeadm InPathCheck, proxy mode, runtime)")
        found = {}
        for tool, required, why in self.tool_list():
            path = self.node_probe.find_tool(self.node, tool)
            found[tool] = path
            srcs = _src("kubeadm-checks-linux")
            if path:
                self.finding(g, tool, "in PATH", "found", OK, required, why, sources=srcs,
                             note=path)
            else:
                self.finding(g, tool, "in PATH", None, MISSING, required, why, sources=srcs,
                             note="Yocto package: %s" % TOOL_PACKAGES.get(tool, tool))
                _add(self.fixes.tools_missing, tool)
                _add(self.fixes.tool_packages, TOOL_PACKAGES.get(tool, tool))
        self.facts["tools"] = found
        backend, how = self.node_probe.iptables_backend(self.node)
        self.facts["iptables_backend"] = backend
        srcs = _src("iptables-nft")
        if backend is None:
            self.finding(g, "iptables backend", "nf_tables or legacy", None, UNKNOWN, False,
                         "cannot tell which iptables variant the board uses", sources=srcs,
                         note=how)
            return
        need = {"nf_tables": ("NF_TABLES", "NFT_COMPAT"), "legacy": ("IP_NF_IPTABLES",)}[backend]
        missing = []
        if self.config is not None:
            missing = [s for s in need if self.config.get(s) not in ("y", "m")]
        if missing:
            self.finding(g, "iptables backend", "kernel support", backend, WRONG, True,
                         "iptables is the %s variant but the kernel lacks %s: every rule "
                         "kube-proxy and the CNI install fails" % (backend, ", ".join(
                             "CONFIG_%s" % s for s in missing)), sources=srcs, note=how)
        else:
            self.finding(g, "iptables backend", "kernel support", backend, OK, True,
                         "kube-proxy's image detects the host's backend and follows it",
                         sources=srcs, note=how)

    # -- container runtime configuration ------------------------------------------
    def check_runtime_config(self):
        if "containerd" not in self.runtimes():
            return
        g = self.group("runtime-config", "containerd configuration (cgroup driver)")
        srcs = _src("container-runtimes")
        text = self.node.read("etc/containerd/config.toml")
        reason = ("kubeadm configures the kubelet with cgroupDriver: systemd; containerd's "
                  "runc uses cgroupfs unless SystemdCgroup = true, and two cgroup managers "
                  "make pods restart under memory pressure")
        if text is None:
            self.finding(g, "SystemdCgroup", "true", "no config.toml", WARNING, False, reason,
                         sources=srcs, note="containerd config default > "
                         "/etc/containerd/config.toml, then set SystemdCgroup = true")
            self.fixes.other.append("containerd: set SystemdCgroup = true under the runc "
                                    "options of /etc/containerd/config.toml, restart containerd")
            return
        if re.search(r"^\s*SystemdCgroup\s*=\s*true\b", text, re.M):
            self.finding(g, "SystemdCgroup", "true", "true", OK, False, reason, sources=srcs)
        else:
            self.finding(g, "SystemdCgroup", "true", "false/unset", WARNING, False, reason,
                         sources=srcs, note="/etc/containerd/config.toml")
            self.fixes.other.append("containerd: set SystemdCgroup = true under the runc "
                                    "options of /etc/containerd/config.toml, restart containerd")

    # -- ports ------------------------------------------------------------------
    def check_ports(self):
        g = self.group("ports", "ports kubeadm needs free (%s)" % self.role)
        listening = self.node_probe.listening_ports(self.node)
        self.facts["listening_ports"] = sorted(listening) if listening is not None else None
        srcs = _src("kubeadm-checks", "k8s-ports")
        for port, what, roles in PORTS:
            if self.role not in roles:
                continue
            if listening is None:
                self.finding(g, "%d/tcp" % port, "free", None, UNKNOWN, False,
                             "/proc/net/tcp not readable", sources=srcs, note=what)
            elif port in listening:
                self.finding(g, "%d/tcp" % port, "free", "in use", WRONG, True,
                             "kubeadm preflight 'Port %d is in use': %s cannot listen"
                             % (port, what), sources=srcs,
                             note="listening on %s; a previous install? 'kubeadm reset' or stop "
                                  "the process" % ", ".join(sorted(set(listening[port]))))
            else:
                self.finding(g, "%d/tcp" % port, "free", "free", OK, True,
                             "%s can listen" % what, sources=srcs)

    # -- identity ---------------------------------------------------------------
    def check_identity(self):
        g = self.group("identity", "node identity (hostname, MAC, product_uuid)")
        srcs = _src("install-kubeadm", "kubeadm-checks")
        name, where = self.node_probe.hostname(self.node)
        self.facts["hostname"] = name
        if name is None:
            self.finding(g, "hostname", "unique, DNS-1123", None, UNKNOWN, False,
                         "no hostname found", sources=srcs)
        elif not _DNS1123.match(name) or len(name) > 253:
            self.finding(g, "hostname", "unique, DNS-1123", name, WRONG, True,
                         "not a valid lower-case DNS-1123 name: the kubelet cannot register "
                         "a Node with it (kubeadm warns 'invalid node name format')",
                         sources=srcs, note="from %s; set a lower-case name" % where)
        elif name in DEFAULT_HOSTNAMES:
            self.finding(g, "hostname", "unique, DNS-1123", name, WARNING, False,
                         "an image's default hostname: the next board from the same image "
                         "joins with the same Node name and replaces this one", sources=srcs,
                         note="from %s; give every board its own name" % where)
        else:
            self.finding(g, "hostname", "unique, DNS-1123", name, OK, True,
                         "valid node name (uniqueness across boards cannot be seen from one)",
                         sources=srcs)
        self.facts["interfaces"] = ifaces = self.node_probe.interfaces(self.node)
        srcs = _src("install-kubeadm", "ieee-mac")
        for iface in ifaces:
            mac = (iface["address"] or "").lower()
            label = "MAC %s" % iface["name"]
            octets = mac.split(":")
            try:
                first = int(octets[0], 16)
            except (ValueError, IndexError):
                first = None
            if not mac or first is None or len(octets) != 6:
                self.finding(g, label, "unique", mac or None, UNKNOWN, False,
                             "address not readable", sources=srcs)
            elif mac in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff") or first & 1:
                self.finding(g, label, "unique", mac, WARNING, False,
                             "an all-zero, broadcast or multicast address is not a real MAC: "
                             "the driver found none in the board's EEPROM/OTP/U-Boot env",
                             sources=srcs, note="set ethaddr in U-Boot or the device tree")
            elif mac in PLACEHOLDER_MACS:
                self.finding(g, label, "unique", mac, WARNING, False,
                             "a placeholder MAC from a BSP's default U-Boot environment: every "
                             "board flashed with it has the same address", sources=srcs,
                             note="set a per-board ethaddr in U-Boot (fw_setenv ethaddr ...)")
            elif first & 2 and iface.get("addr_assign_type") == "1":
                self.finding(g, label, "unique", mac, WARNING, False,
                             "random (locally administered) MAC: it changes every boot, so "
                             "the node's DHCP address and identity change too", sources=srcs,
                             note="set a fixed ethaddr in U-Boot or the device tree")
            else:
                self.finding(g, label, "unique", mac, OK, False,
                             "a real address (uniqueness across boards cannot be seen from one)",
                             sources=srcs)
        rel = "sys/class/dmi/id/product_uuid"
        err = self.node.read_error(rel)
        value = self.node_probe.first_line(self.node.read(rel))
        self.facts["product_uuid"] = value
        if err == "absent":
            self.finding(g, "product_uuid", "unique", "no DMI", OK, False,
                         "no DMI table (normal on device-tree boards): nothing to collide",
                         sources=srcs)
        elif value is None:
            self.finding(g, "product_uuid", "unique", None, UNKNOWN, False,
                         "not readable (%s): run as root to check" % err, sources=srcs)
        elif value.lower() in BOGUS_UUIDS:
            self.finding(g, "product_uuid", "unique", value, WARNING, False,
                         "a placeholder UUID shipped by firmware on many boards: Kubernetes "
                         "may treat the nodes as one", sources=srcs)
        else:
            self.finding(g, "product_uuid", "unique", value, OK, False,
                         "looks like a real UUID", sources=srcs)


def select_node_profiles(catalog, profile=None, cni=None, runtime=None, proxy_mode=None,
                         all_profiles=False):
    from rcarkit.kernel.check import select_profiles
    return select_profiles(catalog, profile, cni=cni, runtime=runtime, proxy_mode=proxy_mode,
                           all_profiles=all_profiles)


def default_config_path(node, release):
    """ROOT/proc/config.gz, then ROOT/boot/config-<release>; None if neither."""
    for rel in ("proc/config.gz", "boot/config-%s" % release if release else None):
        if rel and os.path.isfile(node.join(rel)):
            return node.join(rel)
    return None


def check_node(root="/", role="control-plane", profiles=None, catalog=None, config_path=None,
               kernel_release=None, profiles_dir=None):
    """Check the node under ``root``; returns a :class:`NodeCheck`.

    ``profiles`` is a list of :class:`rcarkit.kernel.profiles.Profile` (default: the
    default set). ``config_path`` None means ROOT/proc/config.gz, then
    ROOT/boot/config-<release>; an explicit path that cannot be read raises
    :class:`rcarkit.errors.ConfigError`.
    """
    from rcarkit.node import probe as node_probe
    from rcarkit.kernel.config import load_config
    from rcarkit.node.modules import ModuleMap
    if role not in ROLES:
        raise RcarkitError("--role must be one of %s, not %r" % (", ".join(ROLES), role))
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise RcarkitError("not a directory", path=root, hint="--root takes the board's root "
                           "directory (a mounted image)")
    node = node_probe.NodeRoot(root)
    if catalog is None:
        from rcarkit.kernel.profiles import load_catalog
        catalog = load_catalog(profiles_dir)
    if profiles is None:
        profiles = select_node_profiles(catalog)
    notes = []
    release = kernel_release or node_probe.kernel_release(node)
    if not release:
        entries = node.listdir("lib/modules")
        if len(entries) == 1:
            release = entries[0]
            notes.append("kernel release taken from lib/modules/%s (no proc/sys/kernel/osrelease "
                         "under %s)" % (release, root))
        else:
            raise RcarkitError("cannot tell the running kernel release", path=node.join(
                "proc/sys/kernel/osrelease"), hint="pass --kernel-release")
    if config_path is None:
        config_path = default_config_path(node, release)
        if config_path is None:
            notes.append("no kernel config under %s (proc/config.gz, boot/config-%s): kernel "
                         "options and =m modules not checked; pass --config" % (root, release))
    config = None
    if config_path is not None:
        config = load_config(str(config_path), kernel_version=release)
    modmap = ModuleMap.load(profiles_dir or catalog.directory)
    checker = _Checker(node, role, profiles, catalog, config, release,
                       node_probe.machine_arch(node), modmap)
    checker.check_kernel_config()
    checker.check_modules()
    checker.check_swap()
    checker.check_cgroups()
    checker.check_sysctl()
    checker.check_loaded()
    checker.check_resources()
    checker.check_tools()
    checker.check_runtime_config()
    checker.check_ports()
    checker.check_identity()
    facts = dict(checker.facts)
    facts.update({"root": node.path, "live": node.live, "kernel_release": release,
                  "role": role})
    subject = {"root": node.path, "live": node.live, "role": role, "kernel_release": release,
               "config": config.to_dict() if config is not None else None,
               "profiles": [p.name for p in profiles], "node": _json_facts(facts),
               "fixes": checker.fixes.to_dict()}
    where = "this machine" if node.live else node.path
    cg = (facts.get("cgroup") or {}).get("version") or "?"
    line = "%s: Linux %s, %s, cgroup %s, %s CPUs, %s MB, profiles %s" % (
        where, release, role, cg, (facts.get("cpus") or {}).get("usable") or "?",
        facts.get("memory_mb") or "?", ", ".join(p.name for p in profiles))
    report = Report(command="check-node", subject=subject, groups=checker.groups,
                    notes=notes + checker.notes, subject_line=line, group_noun="area")
    return NodeCheck(report=report, fixes=checker.fixes, facts=facts)


def _json_facts(facts):
    out = {}
    for key, value in facts.items():
        if isinstance(value, set):
            value = sorted(value)
        out[key] = value
    return out
