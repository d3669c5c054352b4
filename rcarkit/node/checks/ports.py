"""Area ``ports``: the ports kubeadm needs free for the role."""

from rcarkit.report import OK, WRONG, UNKNOWN
from rcarkit.node.checks.context import src


#: (port, component, roles)
PORTS = ((6443, "kube-apiserver", ("control-plane",)),
         (2379, "etcd client", ("control-plane",)),
         (2380, "etcd peer", ("control-plane",)),
         (10250, "kubelet API", ("control-plane", "worker")),
         (10257, "kube-controller-manager", ("control-plane",)),
         (10259, "kube-scheduler", ("control-plane",)))


def check_ports(ctx):
    g = ctx.group("ports", "ports kubeadm needs free (%s)" % ctx.role)
    listening = ctx.node_probe.listening_ports(ctx.node)
    ctx.facts["listening_ports"] = sorted(listening) if listening is not None else None
    srcs = src("kubeadm-checks", "k8s-ports")
    for port, what, roles in PORTS:
        if ctx.role not in roles:
            continue
        if listening is None:
            ctx.finding(g, "%d/tcp" % port, "free", None, UNKNOWN, False,
                         "/proc/net/tcp not readable", sources=srcs, note=what)
        elif port in listening:
            ctx.finding(g, "%d/tcp" % port, "free", "in use", WRONG, True,
                         "kubeadm preflight 'Port %d is in use': %s cannot listen"
                         % (port, what), sources=srcs,
                         note="listening on %s; a previous install? 'kubeadm reset' or stop "
                              "the process" % ", ".join(sorted(set(listening[port]))))
        else:
            ctx.finding(g, "%d/tcp" % port, "free", "free", OK, True,
                         "%s can listen" % what, sources=srcs)
