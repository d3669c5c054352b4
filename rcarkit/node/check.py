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

Each area is a small function in :mod:`rcarkit.node.checks` (one module per
area) that reads the board through a :class:`~rcarkit.node.checks.context.NodeContext`
and adds its findings; :data:`rcarkit.node.checks.CHECKS` is the order they run in.

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
cmdline, and ``collected_at``: this machine's clock when the check ran, Unix
seconds) and ``fixes`` (sysctls, modules_load, cmdline_add/remove,
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
from dataclasses import dataclass

from rcarkit.errors import RcarkitError
from rcarkit.node.checks import CHECKS
from rcarkit.node.rootfs import valid_release
from rcarkit.node.checks.context import NodeContext, NodeFixes  # noqa: F401 (NodeFixes: API)
from rcarkit.report import Report

ROLES = ("control-plane", "worker")

@dataclass
class NodeCheck:
    """The result of :func:`check_node`: the report plus the fixes as data."""
    report: Report
    fixes: NodeFixes
    facts: dict

    def to_dict(self):
        return self.report.to_dict()



def select_node_profiles(catalog, profile=None, cni=None, runtime=None, proxy_mode=None,
                         all_profiles=False):
    from rcarkit.kernel.check import select_profiles
    return select_profiles(catalog, profile, cni=cni, runtime=runtime, proxy_mode=proxy_mode,
                           all_profiles=all_profiles)


def default_config_path(node, release):
    """ROOT/proc/config.gz, then ROOT/boot/config-<release>; None if neither."""
    usable = release and valid_release(release)
    for rel in ("proc/config.gz", "boot/config-%s" % release if usable else None):
        if rel and node.isfile(rel):
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
    if kernel_release:
        _check_release(release, "--kernel-release %r is not a kernel release" % release, None)
    elif release:
        # never echoed: the file may be a link to anything inside the root
        _check_release(release, "not a kernel release", os.path.join(
            node.path, "proc/sys/kernel/osrelease"))
    if not release:
        entries = [e for e in node.listdir("lib/modules") if valid_release(e)]
        if len(entries) == 1:
            release = entries[0]
            notes.append("kernel release taken from lib/modules/%s (no proc/sys/kernel/osrelease "
                         "under %s)" % (release, root))
        else:
            raise RcarkitError("cannot tell the running kernel release", path=os.path.join(
                node.path, "proc/sys/kernel/osrelease"), hint="pass --kernel-release")
    if config_path is None:
        config_path = default_config_path(node, release)
        if config_path is None:
            from rcarkit.kernel.config import configs_module
            module = configs_module(release, root)
            notes.append("no kernel config under %s (proc/config.gz, boot/config-%s): kernel "
                         "options and =m modules not checked; %s" % (
                             root, release, "run 'sudo modprobe configs' (the kernel has %s) "
                             "or pass --config" % module if module else "pass --config"))
    config = None
    if config_path is not None:
        config = load_config(str(config_path), kernel_version=release)
    modmap = ModuleMap.load(profiles_dir or catalog.directory)
    checker = NodeContext(node, role, profiles, catalog, config, release,
                          node_probe.machine_arch(node), modmap)
    for check in CHECKS:
        check(checker)
    facts = dict(checker.facts)
    import time
    facts.update({"root": node.path, "live": node.live, "kernel_release": release,
                  "role": role,
                  # when (this machine's clock, seconds since the epoch): a fleet report
                  # compares boards' clocks and the times their documents were made
                  "collected_at": round(time.time(), 3)})
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


def _check_release(release, message, path):
    """A release is used as a path component (lib/modules/RELEASE): refuse
    ``/``, ``..`` and anything but the characters ``uname -r`` prints."""
    if not valid_release(release):
        raise RcarkitError(message, path=path,
                           hint="a release is letters, digits and . _ - + ~ (uname -r), "
                                "at most 64 characters")


def _json_facts(facts):
    out = {}
    for key, value in facts.items():
        if isinstance(value, set):
            value = sorted(value)
        out[key] = value
    return out
