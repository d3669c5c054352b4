"""Area ``resources``: CPUs and memory against kubeadm's minimums for the role."""

from rcarkit.report import OK, WRONG, WARNING, UNKNOWN
from rcarkit.node.checks.context import src


#: kubeadm constants ControlPlaneNumCPU / ControlPlaneMem (MB).
CONTROL_PLANE_CPUS = 2
CONTROL_PLANE_MEM_MB = 1700
#: kubernetes.io install-kubeadm: "2 GB or more of RAM per machine".
RECOMMENDED_MEM_MB = 2048


def check_resources(ctx):
    g = ctx.group("resources", "CPUs and memory (%s)" % ctx.role)
    cpus = ctx.node_probe.probe_cpus(ctx.node)
    mem = ctx.node_probe.meminfo(ctx.node)
    mem_mb = mem["MemTotal"] // 1024 if "MemTotal" in mem else None
    ctx.facts["cpus"] = cpus
    ctx.facts["memory_mb"] = mem_mb
    cp = ctx.role == "control-plane"
    srcs = src("kubeadm-checks", "kubeadm-constants")
    n = cpus["usable"]
    if n is None:
        ctx.finding(g, "CPUs", ">= %d" % CONTROL_PLANE_CPUS if cp else "any", None,
                     UNKNOWN, False, "CPU count not readable", sources=srcs)
    elif cp:
        ok = n >= CONTROL_PLANE_CPUS
        ctx.finding(g, "CPUs", ">= %d" % CONTROL_PLANE_CPUS, str(n), OK if ok else WRONG,
                     True, "kubeadm init (NumCPU): 'the number of available CPUs %d is less "
                     "than the required %d'" % (n, CONTROL_PLANE_CPUS), sources=srcs)
    else:
        ctx.finding(g, "CPUs", ">= 1", str(n), OK, True,
                     "kubeadm join has no CPU minimum for a worker", sources=srcs)
    srcs = src("kubeadm-checks-linux", "kubeadm-constants", "install-kubeadm")
    if mem_mb is None:
        ctx.finding(g, "memory", ">= %d MB" % CONTROL_PLANE_MEM_MB if cp else "any", None,
                     UNKNOWN, False, "/proc/meminfo not readable", sources=srcs)
    elif cp:
        ok = mem_mb >= CONTROL_PLANE_MEM_MB
        ctx.finding(g, "memory", ">= %d MB" % CONTROL_PLANE_MEM_MB, "%d MB" % mem_mb,
                     OK if ok else WRONG, True,
                     "kubeadm init (Mem): 'the system RAM (%d MB) is less than the minimum "
                     "%d MB'" % (mem_mb, CONTROL_PLANE_MEM_MB), sources=srcs)
    else:
        ok = mem_mb >= RECOMMENDED_MEM_MB
        ctx.finding(g, "memory", ">= %d MB" % RECOMMENDED_MEM_MB, "%d MB" % mem_mb,
                     OK if ok else WARNING, False,
                     "kubeadm does not check a worker's memory; the docs ask for 2 GB "
                     "('any less will leave little room for your apps')", sources=srcs)
