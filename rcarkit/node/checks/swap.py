"""Area ``swap``: the kubelet refuses to start with swap on (failSwapOn)."""

from rcarkit.report import OK, WRONG, WARNING, UNKNOWN
from rcarkit.node.checks.context import src


def check_swap(ctx):
    g = ctx.group("swap", "swap (kubelet failSwapOn, kubeadm Swap check)")
    swap = ctx.node_probe.probe_swap(ctx.node)
    ctx.facts["swap"] = swap
    total = swap["total_kb"]
    srcs = src("kubelet-swap", "kubeadm-checks", "install-kubeadm")
    if total is None:
        ctx.finding(g, "swap", "off", None, UNKNOWN, False, "/proc/swaps is not readable",
                     sources=srcs)
    elif total > 0:
        names = ", ".join(d["name"] for d in swap["devices"]) or "%d kB" % total
        ctx.finding(g, "swap", "off", "on: %s" % names, WRONG, True,
                     "the kubelet refuses to start with swap on (failSwapOn defaults to "
                     "true); kubeadm warns 'swap is supported for cgroup v2 only'",
                     sources=srcs, note="swapoff -a and remove it from fstab / "
                     "zram / dphys-swapfile, or configure the kubelet for swap (v2 only)")
        ctx.fixes.swap_off.extend(d["name"] for d in swap["devices"])
    else:
        ctx.finding(g, "swap", "off", "off", OK, True, "no active swap", sources=srcs)
    if swap["fstab"]:
        ctx.finding(g, "fstab swap", "none", ", ".join(swap["fstab"]), WARNING, False,
                     "/etc/fstab enables swap at the next boot", sources=srcs)
        ctx.fixes.swap_off.extend("fstab: %s" % s for s in swap["fstab"])
