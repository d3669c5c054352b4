"""Areas ``tools`` and ``runtime-config``: the user-space tools kubeadm, the
proxy mode and the runtime run, the iptables backend, containerd's cgroup driver."""

import re

from rcarkit.report import OK, MISSING, WRONG, WARNING, UNKNOWN
from rcarkit.node.checks.context import add_once, src


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


def tool_list(ctx):
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
    modes = ctx.proxy_modes()
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
    for rt in ctx.runtimes():
        if rt == "containerd":
            tools += [("containerd", True, "the container runtime the profiles chose"),
                      ("runc", True, "containerd's default OCI runtime")]
        elif rt == "cri-o":
            tools += [("crio", True, "the container runtime the profiles chose")]
        elif rt == "docker":
            tools += [("dockerd", True, "the container runtime the profiles chose"),
                      ("cri-dockerd", True, "the CRI shim kubeadm talks to for Docker")]
    return tools


def check_tools(ctx):
    g = ctx.group("tools", "user-space tools (kubeadm InPathCheck, proxy mode, runtime)")
    found = {}
    for tool, required, why in tool_list(ctx):
        path = ctx.node_probe.find_tool(ctx.node, tool)
        found[tool] = path
        srcs = src("kubeadm-checks-linux")
        if path:
            ctx.finding(g, tool, "in PATH", "found", OK, required, why, sources=srcs,
                         note=path)
        else:
            ctx.finding(g, tool, "in PATH", None, MISSING, required, why, sources=srcs,
                         note="Yocto package: %s" % TOOL_PACKAGES.get(tool, tool))
            add_once(ctx.fixes.tools_missing, tool)
            add_once(ctx.fixes.tool_packages, TOOL_PACKAGES.get(tool, tool))
    ctx.facts["tools"] = found
    backend, how = ctx.node_probe.iptables_backend(ctx.node)
    ctx.facts["iptables_backend"] = backend
    srcs = src("iptables-nft")
    if backend is None:
        ctx.finding(g, "iptables backend", "nf_tables or legacy", None, UNKNOWN, False,
                     "cannot tell which iptables variant the board uses", sources=srcs,
                     note=how)
        return
    need = {"nf_tables": ("NF_TABLES", "NFT_COMPAT"), "legacy": ("IP_NF_IPTABLES",)}[backend]
    missing = []
    if ctx.config is not None:
        missing = [s for s in need if ctx.config.get(s) not in ("y", "m")]
    if missing:
        ctx.finding(g, "iptables backend", "kernel support", backend, WRONG, True,
                     "iptables is the %s variant but the kernel lacks %s: every rule "
                     "kube-proxy and the CNI install fails" % (backend, ", ".join(
                         "CONFIG_%s" % s for s in missing)), sources=srcs, note=how)
    else:
        ctx.finding(g, "iptables backend", "kernel support", backend, OK, True,
                     "kube-proxy's image detects the host's backend and follows it",
                     sources=srcs, note=how)


def check_runtime_config(ctx):
    if "containerd" not in ctx.runtimes():
        return
    g = ctx.group("runtime-config", "containerd configuration (cgroup driver)")
    srcs = src("container-runtimes")
    text = ctx.node.read("etc/containerd/config.toml")
    reason = ("kubeadm configures the kubelet with cgroupDriver: systemd; containerd's "
              "runc uses cgroupfs unless SystemdCgroup = true, and two cgroup managers "
              "make pods restart under memory pressure")
    if text is None:
        ctx.finding(g, "SystemdCgroup", "true", "no config.toml", WARNING, False, reason,
                     sources=srcs, note="containerd config default > "
                     "/etc/containerd/config.toml, then set SystemdCgroup = true")
        ctx.fixes.other.append("containerd: set SystemdCgroup = true under the runc "
                                "options of /etc/containerd/config.toml, restart containerd")
        return
    if re.search(r"^\s*SystemdCgroup\s*=\s*true\b", text, re.M):
        ctx.finding(g, "SystemdCgroup", "true", "true", OK, False, reason, sources=srcs)
    else:
        ctx.finding(g, "SystemdCgroup", "true", "false/unset", WARNING, False, reason,
                     sources=srcs, note="/etc/containerd/config.toml")
        ctx.fixes.other.append("containerd: set SystemdCgroup = true under the runc "
                                "options of /etc/containerd/config.toml, restart containerd")
