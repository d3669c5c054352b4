"""The board dossier as data: verdicts per area, what to do in order, details.

``build_dossier(board)`` takes the :class:`rcarkit.dossier.load.BoardDocuments`
of one board and returns a :class:`Dossier`:

``areas``  one :class:`AreaVerdict` per area, always in the order kernel, node,
           storage; ``status`` is ``ready``, ``not-ready`` or ``not-checked``
           (no document for it). Kernel and node are ready when their
           document's ``exit_code`` is 0; storage when etcd-bench's
           recommendation is ``local-defaults`` (exit 0).
``todo``   :class:`TodoItem` steps in the order to do them: the kernel first
           (a rebuild and reboot changes what check-node sees), then the node's
           fixes, then etcd's storage settings. Each names the exact commands
           (every word ``shlex.quote``-d) and the files they write.
``exit_code``  0 when every checked area is ready, else 1 (the CLI's exit code).

Nothing here reads the clock or the machine: the same documents give the same
dossier, so ``reports/`` can be regenerated and compared byte for byte.
"""

import shlex
from dataclasses import dataclass, field
from typing import List, Optional

from rcarkit.errors import EXIT_FINDINGS, EXIT_OK

READY, NOT_READY, NOT_CHECKED = "ready", "not-ready", "not-checked"
AREAS = ("kernel", "node", "storage")
STORAGE_READY = "local-defaults"


@dataclass
class AreaVerdict:
    area: str
    status: str
    verdict: str
    source: Optional[str] = None

    def to_dict(self):
        return {"area": self.area, "status": self.status, "verdict": self.verdict,
                "source": self.source}


@dataclass
class TodoItem:
    area: str
    title: str
    why: str
    commands: List[str] = field(default_factory=list)
    files: List[str] = field(default_factory=list)

    def to_dict(self):
        return {"area": self.area, "title": self.title, "why": self.why,
                "commands": list(self.commands), "files": list(self.files)}


@dataclass
class Dossier:
    """One board's readiness: see the module doc."""

    title: str
    subject: List[str]
    areas: List[AreaVerdict]
    todo: List[TodoItem]
    kernel: Optional[dict] = None
    node: Optional[dict] = None
    etcd: Optional[dict] = None

    @property
    def exit_code(self):
        return EXIT_FINDINGS if any(a.status == NOT_READY for a in self.areas) else EXIT_OK

    def area(self, name):
        return next(a for a in self.areas if a.area == name)

    def to_dict(self):
        return {"schema_version": 1, "command": "report", "title": self.title,
                "subject": list(self.subject), "areas": [a.to_dict() for a in self.areas],
                "todo": [t.to_dict() for t in self.todo], "exit_code": self.exit_code}


def _cmd(words):
    return " ".join(shlex.quote(str(w)) for w in words)


def _profile_words(doc):
    words = []
    for name in doc.get("profiles") or []:
        words += ["-p", name]
    return words


def _failing(doc, required=True):
    return [o for o in doc.get("options") or []
            if o.get("status") in ("missing", "wrong-value") and bool(o.get("required")) == required]


def kernel_verdict(doc, source=None):
    if doc is None:
        return AreaVerdict("kernel", NOT_CHECKED, "no check-kernel document")
    status = READY if doc.get("exit_code") == 0 else NOT_READY
    return AreaVerdict("kernel", status, doc.get("verdict") or "?", source)


def node_verdict(doc, source=None):
    if doc is None:
        return AreaVerdict("node", NOT_CHECKED, "no check-node document")
    status = READY if doc.get("exit_code") == 0 else NOT_READY
    return AreaVerdict("node", status, doc.get("verdict") or "?", source)


def storage_verdict(doc, source=None):
    if doc is None:
        return AreaVerdict("storage", NOT_CHECKED, "no etcd-bench document")
    rec = doc.get("recommendation") or {}
    verdict = rec.get("verdict") or "?"
    status = READY if verdict == STORAGE_READY and rec.get("exit_code", 0) == 0 else NOT_READY
    paths = rec.get("paths") or []
    where = ", ".join("%s %s (p99 %s)" % (p.get("path"), p.get("status"), fmt_ms(p.get("p99_ms")))
                      for p in paths)
    return AreaVerdict("storage", status, "%s: %s" % (verdict, where) if where else verdict,
                       source)


def fmt_ms(ms):
    """``0.29`` -> ``290 us``; ``12.3`` -> ``12.3 ms``; None -> ``?``."""
    if ms is None:
        return "?"
    if ms < 0.001:
        return "%.2g us" % (ms * 1000.0)
    if ms < 1.0:
        return "%.3g us" % (ms * 1000.0)
    if ms < 1000.0:
        return "%.3g ms" % ms
    return "%.3g s" % (ms / 1000.0)


def _kernel_todo(doc):
    config = (doc.get("config") or {}).get("source") or "/proc/config.gz"
    missing = _failing(doc)
    unique = list(dict.fromkeys(o["option"] for o in missing))
    names = ", ".join(unique[:12])
    if len(unique) > 12:
        names += ", ... (%d in all)" % len(unique)
    base = ["rcarkit", "check-kernel", config] + _profile_words(doc)
    layer = ["rcarkit", "yocto-layer", config] + _profile_words(doc)
    return TodoItem(
        "kernel", "Add the missing kernel options, rebuild the kernel, reboot",
        "required options missing or wrong: %s" % names,
        commands=[_cmd(base + ["--emit-fragment", "k8s.cfg"]),
                  "scripts/kconfig/merge_config.sh -m .config k8s.cfg && make olddefconfig",
                  "# or, for a Yocto build:",
                  _cmd(layer + ["-o", "meta-rcarkit-k8s"]),
                  "bitbake-layers add-layer meta-rcarkit-k8s"],
        files=["k8s.cfg", "meta-rcarkit-k8s/conf/layer.conf",
               "meta-rcarkit-k8s/recipes-kernel/linux/ (bbappend + rcarkit-k8s.cfg)"])


def node_fix_files(fixes):
    """The files ``check-node --emit DIR`` writes for these fixes (rcarkit.node.fixes)."""
    files = ["etc/sysctl.d/99-kubernetes.conf", "etc/modules-load.d/k8s.conf"]
    if fixes.get("cmdline_add") or fixes.get("cmdline_remove"):
        files.append("boot/cmdline-addition.txt")
    return files + ["yocto/k8s-node.conf", "README.txt"]


def _node_todo(doc):
    fixes = doc.get("fixes") or {}
    words = ["rcarkit", "check-node"]
    root = doc.get("root")
    if root and root != "/":
        words += ["--root", root]
    if doc.get("role") and doc.get("role") != "control-plane":
        words += ["--role", doc["role"]]
    words += _profile_words(doc) + ["--emit", "node-fixes"]
    commands = [_cmd(words),
                "cp -r node-fixes/etc/. /etc/ && sysctl --system && "
                "systemctl restart systemd-modules-load"]
    why = [o["option"] for o in _failing(doc)]
    if fixes.get("tool_packages"):
        commands.append("# install: " + " ".join(fixes["tool_packages"]))
    for item in fixes.get("swap_off") or []:
        commands.append("swapoff %s" % shlex.quote(str(item)))
    for item in fixes.get("other") or []:
        commands.append("# " + item)
    return TodoItem("node", "Apply the node fixes (sysctls, modules, command line, tools)",
                    "failing: %s" % (", ".join(why) or "see the node checks"),
                    commands=commands,
                    files=["node-fixes/" + f for f in node_fix_files(fixes)])


def _storage_todo(doc):
    rec = doc.get("recommendation") or {}
    paths = [m.get("path") for m in doc.get("measurements") or []]
    emitted = (doc.get("emitted") or {}).get("written") or []
    words = ["rcarkit", "etcd-bench"] + [p for p in paths if p] + ["--emit", "etcd-config"]
    files = list(emitted) or ["etcd-config/kubeadm-config.yaml", "etcd-config/kubeadm-join.yaml",
                              "etcd-config/README.txt"]
    commands = [_cmd(words), "kubeadm init --config etcd-config/kubeadm-config.yaml"]
    why = (rec.get("why") or ["verdict %s" % rec.get("verdict")])[0]
    return TodoItem("storage", "Use etcd settings for this storage (%s)" % rec.get("verdict"),
                    why, commands=commands, files=files)


def build_dossier(board, title=None) -> Dossier:
    """See the module doc."""
    src = board.sources
    areas = [kernel_verdict(board.kernel, src.get("check-kernel")),
             node_verdict(board.node, src.get("check-node")),
             storage_verdict(board.etcd, src.get("etcd-bench"))]
    todo = []
    if areas[0].status == NOT_READY:
        todo.append(_kernel_todo(board.kernel))
    if areas[1].status == NOT_READY:
        todo.append(_node_todo(board.node))
    if areas[2].status == NOT_READY:
        todo.append(_storage_todo(board.etcd))
    subject = []
    hostname = None
    if board.node:
        facts = board.node.get("node") or {}
        hostname = facts.get("hostname")
        subject.append("node: %s, Linux %s, role %s" % (hostname or "?",
                                                        board.node.get("kernel_release") or "?",
                                                        board.node.get("role") or "?"))
    if board.kernel:
        cfg = board.kernel.get("config") or {}
        subject.append("kernel config: %s (Linux %s, %s)" % (cfg.get("source") or "?",
                                                              board.kernel.get("kernel_version") or "?",
                                                              board.kernel.get("arch") or "?"))
    if board.etcd:
        subject.append("storage: %s" % ", ".join(
            "%s (%s)" % (m.get("path"), (m.get("device") or {}).get("kind") or "?")
            for m in board.etcd.get("measurements") or []))
    if title is None:
        title = "rcarkit board report: %s" % (hostname or (board.kernel or {}).get(
            "config", {}).get("source", "board"))
    return Dossier(title=title, subject=subject, areas=areas, todo=todo, kernel=board.kernel,
                   node=board.node, etcd=board.etcd)
