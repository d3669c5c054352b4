"""Area ``cgroups``: cgroup v2, the controllers kubeadm's SystemVerification
wants, and the kernel command line flags that turn them off or on."""

from rcarkit.report import OK, MISSING, WRONG, UNKNOWN
from rcarkit.node.checks.cmdline import check_cmdline, memory_cmdline_fix
from rcarkit.node.checks.context import add_once, src


def check_cgroups(ctx):
    g = ctx.group("cgroups", "cgroups and the kernel command line")
    cg = ctx.node_probe.probe_cgroups(ctx.node)
    ctx.facts["cgroup"] = cg
    text = ctx.node_probe.cmdline(ctx.node)
    ctx.facts["cmdline"] = text
    params = ctx.node_probe.cmdline_params(text)
    keys = dict()
    for k, v in params:
        keys.setdefault(k, []).append(v)
    version = cg["version"]
    srcs = src("kep-5573", "system-validators-cgroup", "cgroup-v2-doc")
    if version == "v2":
        ctx.finding(g, "cgroup version", "v2", "v2", OK, True,
                     "/sys/fs/cgroup is the unified (v2) hierarchy", sources=srcs)
    elif version in ("v1", "hybrid"):
        actual = version
        hierarchy = keys.get("systemd.unified_cgroup_hierarchy", [])
        note = "boot with systemd.unified_cgroup_hierarchy=1 (systemd), or set " \
               "failCgroupV1: false in the kubelet config"
        if version == "hybrid":
            note = "v1 controllers with a v2 tree at %s; %s" % (
                ", ".join(cg["v2_mounts"]), note)
        ctx.finding(g, "cgroup version", "v2", actual, WRONG, True,
                     "the kubelet (1.35+) refuses cgroup v1 by default (failCgroupV1); "
                     "kubeadm's SystemVerification errors on v1", sources=srcs, note=note)
        for value in hierarchy:
            if value in ("0", "false", "no"):
                add_once(ctx.fixes.cmdline_remove, "systemd.unified_cgroup_hierarchy=%s" % value)
        add_once(ctx.fixes.cmdline_add, "systemd.unified_cgroup_hierarchy=1")
        ctx.fixes.cmdline_why.append("systemd.unified_cgroup_hierarchy=1: boot systemd on "
                                      "cgroup v2 (the kubelet refuses v1 from 1.35)")
    else:
        ctx.finding(g, "cgroup version", "v2", None, UNKNOWN, True,
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
    srcs = src("system-validators", "system-validators-cgroup")
    if version is not None and cg["controllers_source"] is None:
        ctx.finding(g, "cgroup controllers", " ".join(required), None, UNKNOWN, False,
                     "cannot read the controller list (cgroup.controllers / /proc/cgroups)",
                     sources=srcs)
    elif version is not None:
        for name in required + optional:
            enabled = ctrl.get(name)
            is_req = name in required
            if enabled:
                ctx.finding(g, "cgroup %s" % name, "enabled", "enabled", OK, is_req,
                             "controller available (%s)" % cg["controllers_source"],
                             sources=srcs)
                continue
            actual = "disabled" if enabled is False else "absent"
            reason = ("kubelet cannot enforce %s limits; kubeadm SystemVerification: "
                      "'missing required cgroups: %s'" % (name, name)) if is_req else \
                     ("optional controller missing: %s limits and stats unavailable" % name)
            note = ""
            if name == "memory":
                note = memory_cmdline_fix(ctx, keys)
            elif name in ("cpuset", "pids", "hugetlb") and \
                    any(v and name in v.split(",") for v in keys.get("cgroup_disable", [])):
                note = "disabled by cgroup_disable= on the kernel command line"
                add_once(ctx.fixes.cmdline_remove, "cgroup_disable=%s" % name)
            ctx.finding(g, "cgroup %s" % name, "enabled", actual,
                         MISSING, is_req, reason, sources=srcs,
                         note=note)
    from rcarkit.kernel.config import KernelVersion
    kver = KernelVersion.parse(ctx.release)
    if version == "v2" and kver is not None and kver < (5, 2, 0):
        ctx.finding(g, "cgroup freezer", "cgroup.freeze (5.2+)", "kernel %s" % (kver,), MISSING,
                     True, "cgroup v2 has a freezer only from Linux 5.2: kubeadm "
                     "SystemVerification reports 'missing required cgroups: freezer'",
                     sources=srcs)
    elif version == "v2":
        ctx.finding(g, "cgroup devices, freezer", "available",
                     "implicit in v2", OK, True,
                     "v2 has no devices/freezer controller files: devices is BPF-based "
                     "(4.15+), freezer is cgroup.freeze (5.2+)", sources=srcs,
                     note="kernel %s" % ctx.release)
    check_cmdline(ctx, g, text)
