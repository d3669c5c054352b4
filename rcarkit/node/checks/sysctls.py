"""Area ``sysctl``: ``ip_forward`` and the bridge netfilter sysctls, at run time
and persisted in sysctl.d."""

from rcarkit.report import OK, MISSING, WRONG, WARNING, UNKNOWN
from rcarkit.node.checks.context import src


def check_sysctl(ctx):
    g = ctx.group("sysctl", "sysctls (kubeadm ip_forward check, bridge netfilter)")
    persisted = ctx.node_probe.persisted_sysctls(ctx.node)
    bridge_req = ctx.profile_requires("BRIDGE_NETFILTER")
    wanted = (
        ("net.ipv4.ip_forward", True, "kubeadm preflight: '/proc/sys/net/ipv4/ip_forward "
         "contents are not set to 1'; pods cannot reach anything off the node",
         src("kubeadm-checks-linux", "container-runtimes")),
        ("net.bridge.bridge-nf-call-iptables", bool(bridge_req) or bridge_req is None,
         "traffic between pods on the same bridge bypasses iptables: Services (and "
         "NetworkPolicy) break for pods on the same node", src("k8s-network-plugins",
                                                                 "container-runtimes")),
        ("net.bridge.bridge-nf-call-ip6tables", False,
         "the same for IPv6 (dual-stack clusters)", src("k8s-network-plugins")),
    )
    ctx.facts["sysctl"] = {}
    for name, required, reason, srcs in wanted:
        value = ctx.node_probe.sysctl(ctx.node, name)
        ctx.facts["sysctl"][name] = value
        ctx.fixes.sysctls[name] = "1"
        if value == "1":
            if persisted.get(name) == "1":
                ctx.finding(g, name, "1", "1", OK, required, reason, sources=srcs)
            else:
                ctx.finding(g, name, "1", "1 (runtime only)", WARNING, False, reason,
                             sources=srcs, note="no sysctl.d file sets it: lost at reboot "
                             "unless something sets it at run time again")
            continue
        if value is None:
            status, actual = MISSING, "absent"
            note = "br_netfilter is not loaded" if name.startswith("net.bridge") else \
                "cannot read /proc/sys/" + name.replace(".", "/")
            if not ctx.node.isdir("proc/sys/net"):
                status, note = UNKNOWN, "no proc/sys/net under the root (not a running system?)"
        else:
            status, actual, note = WRONG, value, ""
        ctx.finding(g, name, "1", actual, status, required, reason, sources=srcs, note=note)
        if status in (MISSING, WRONG):
            ctx.fixes.sysctls_wrong.append(name)
