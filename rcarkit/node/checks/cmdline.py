"""Area ``cgroups`` (its last row): the kernel command line -- flags that turn
off what Kubernetes needs (``cgroup_disable=``, v1-forcing systemd flags) and
the additions the cgroup fixes need (Raspberry Pi ``cgroup_enable=memory``)."""

from rcarkit.report import OK, WRONG, WARNING, UNKNOWN
from rcarkit.node.checks.context import add_once, src


def check_cmdline(ctx, g, text):
    """The command-line row of group ``g``, from the fixes the cgroup rows collected."""
    srcs = src("kernel-params", "rpi-cmdline")
    if text is None:
        ctx.finding(g, "kernel command line", "readable", None, UNKNOWN, False,
                     "/proc/cmdline not readable", sources=srcs)
    else:
        if ctx.fixes.cmdline_remove:
            ctx.finding(g, "kernel command line", "no disable",
                         " ".join(ctx.fixes.cmdline_remove), WRONG, True,
                         "the kernel command line turns off what Kubernetes needs: "
                         "remove %s" % " ".join(ctx.fixes.cmdline_remove),
                         sources=srcs, note="add instead: %s" % " ".join(
                             ctx.fixes.cmdline_add) if ctx.fixes.cmdline_add else "")
        elif ctx.fixes.cmdline_add:
            ctx.finding(g, "kernel command line", "no changes needed",
                         "add %d flag(s)" % len(ctx.fixes.cmdline_add), WARNING, False,
                         "the fixes above need the kernel command line", sources=srcs,
                         note="add: %s (--emit writes boot/cmdline-addition.txt)"
                              % " ".join(ctx.fixes.cmdline_add))
        else:
            ctx.finding(g, "kernel command line", "no disable", "ok", OK, True,
                         "no cgroup_disable= or v1-forcing flag", sources=srcs)




def memory_cmdline_fix(ctx, keys):
    disabled = any(v and "memory" in v.split(",") for v in keys.get("cgroup_disable", []))
    enabled = any(v and "memory" in v.split(",") for v in keys.get("cgroup_enable", []))
    if disabled:
        add_once(ctx.fixes.cmdline_remove, "cgroup_disable=memory")
    add_once(ctx.fixes.cmdline_add, "cgroup_enable=memory")
    add_once(ctx.fixes.cmdline_add, "cgroup_memory=1")
    ctx.fixes.cmdline_why.append(
        "cgroup_enable=memory cgroup_memory=1: turn the memory controller on "
        "(Raspberry Pi kernels keep it off unless asked; cgroup_memory=1 for older ones)")
    if disabled:
        return "cgroup_disable=memory is on the command line: remove it"
    if enabled:
        return "cgroup_enable=memory is given but the controller is still off: " \
               "the kernel lacks CONFIG_MEMCG?"
    return "add 'cgroup_enable=memory cgroup_memory=1' to the kernel command line"
