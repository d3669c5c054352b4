"""The state shared by the node checks (:class:`NodeContext`), the fixes as
data (:class:`NodeFixes`) and the documents the checks cite (:data:`SOURCES`)."""

from dataclasses import dataclass, field
from typing import Dict, List

from rcarkit.report import Finding, Group, MISSING, WRONG


#: Every document a node check cites: id -> (title, url).
SOURCES = {
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


def src(*keys):
    """The cited documents ``keys`` of :data:`SOURCES` as finding sources."""
    return tuple({"id": k, "title": SOURCES[k][0], "url": SOURCES[k][1]} for k in keys)


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


def add_once(items, item):
    """Append ``item`` to the list ``items`` unless it is there."""
    if item not in items:
        items.append(item)


class NodeContext:
    """What every check reads (the root, role, profiles, config, modules) and
    where it writes: :meth:`group` / :meth:`finding` collect the results,
    ``fixes`` and ``facts`` gather the data the fixes and JSON are made of."""

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
        self.tree = node_modules.ModuleTree(node, release) if release else None
        self.loaded = node_modules.loaded_modules(node)
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

    def module_problem(self, name):
        """The failing finding check_modules made for module ``name``, or None."""
        for grp in self.groups:
            if grp.name == "modules":
                for f in grp.findings:
                    if f.name == name and f.status in (MISSING, WRONG):
                        return f
        return None
