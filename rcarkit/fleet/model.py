"""The fleet as data: one row per board, then the checks only a fleet can make.

``build_fleet(directory)`` reads every sub-directory of ``directory`` as one
host (its name is the inventory name) holding the JSON documents the playbook
``ansible/fleet.yml`` fetched: ``check-kernel.json``, ``check-node.json``,
optionally ``etcd-bench.json``, and ``probe.json`` (``"command":
"fleet-probe"``: the board's clock read between two controller readings, and
TCP connect round trips to the other control-plane candidates). It returns a
:class:`FleetReport` with a :class:`rcarkit.dossier.model.Dossier` per host
and these :class:`FleetCheck` results (``status`` ``ok``, ``fail`` or ``warn``):

``product_uuid`` / ``mac`` / ``hostname``
    the same value on two boards (cloned SD-card images): kubeadm requires
    every node's MAC and product_uuid unique ("Verify the MAC address and
    product_uuid are unique for every node", Installing kubeadm), and the
    Node name is the hostname, so a second board replaces the first. ``fail``.
``kernel-version``
    more than one kernel release: ``warn`` (a mixed fleet is legal, but every
    profile check then differs per node).
``kernel-config``
    options (required or optional) whose status differs between boards: ``warn``,
    ``fail`` when a required option fails on some boards only.
``cni``
    a CNI profile whose required options fail on some boards: ``fail``; the
    pods on those nodes get no network while the rest of the cluster works.
``clock-skew``
    |board clock - controller clock| beyond the reading's uncertainty (half
    the controller's window) by more than 1 s, etcd's own limit (rafthttp
    ``probing_status.go``: "prober found high clock drift" when the clock
    difference to a peer exceeds ``time.Second``); TLS certificates issued by
    one node are "not yet valid" on a node behind. ``fail``.
``etcd-rtt``
    TCP connect round trips between control-plane candidates: ``fail`` when a
    pair cannot connect, ``warn`` when the p99 exceeds etcd's default
    heartbeat (100 ms; the heartbeat should be "around the max average
    round-trip time between members", etcd tuning guide).

A check with nothing to compare (one board, no probe documents) is ``ok``
with a note saying so.
"""

import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import List, Optional

from rcarkit.dossier.load import load_documents
from rcarkit.dossier.model import NOT_READY, build_dossier
from rcarkit.errors import EXIT_FINDINGS, EXIT_OK, RcarkitError

CLOCK_LIMIT_S = 1.0
RTT_LIMIT_MS = 100.0
FAIL, WARN, OK = "fail", "warn", "ok"
SOURCES = {
    "install-kubeadm": "https://kubernetes.io/docs/setup/production-environment/tools/"
                       "kubeadm/install-kubeadm/#verify-mac-address",
    "etcd-clock": "etcd server/etcdserver/api/rafthttp/probing_status.go "
                  "(ClockDiff() > time.Second: \"prober found high clock drift\")",
    "etcd-tuning": "https://etcd.io/docs/v3.5/tuning/#time-parameters",
}


@dataclass
class FleetCheck:
    check: str
    status: str
    summary: str
    hosts: List[str] = field(default_factory=list)
    details: List[str] = field(default_factory=list)
    source: Optional[str] = None

    def to_dict(self):
        return {"check": self.check, "status": self.status, "summary": self.summary,
                "hosts": list(self.hosts), "details": list(self.details),
                "source": self.source}


@dataclass
class FleetHost:
    name: str
    dossier: object
    probe: Optional[dict] = None

    @property
    def node_facts(self):
        return ((self.dossier.node or {}).get("node") or {})


@dataclass
class FleetReport:
    directory: str
    hosts: List[FleetHost]
    checks: List[FleetCheck]

    @property
    def exit_code(self):
        bad = any(c.status == FAIL for c in self.checks) or any(
            a.status == NOT_READY for h in self.hosts for a in h.dossier.areas)
        return EXIT_FINDINGS if bad else EXIT_OK

    def rows(self):
        """One row per host: name, hostname, kernel, and the three area statuses."""
        out = []
        for h in self.hosts:
            kernel = (h.dossier.node or {}).get("kernel_release") or \
                (h.dossier.kernel or {}).get("kernel_version") or "?"
            out.append([h.name, h.node_facts.get("hostname") or "?", kernel]
                       + [a.status for a in h.dossier.areas])
        return out

    def summary_text(self):
        """An 80-column table and the failing or warning fleet checks."""
        from rcarkit.dossier.render import STATUS_WORD
        fmt = "%-12s %-12s %-16s %-11s %-11s %s"
        lines = [fmt % ("HOST", "HOSTNAME", "KERNEL", "OPTIONS", "NODE", "STORAGE")]
        for row in self.rows():
            lines.append(fmt % tuple([row[0][:12], row[1][:12], row[2][:16]]
                                     + [STATUS_WORD[s] for s in row[3:]]))
        lines.append("")
        import textwrap
        for c in self.checks:
            lines += textwrap.wrap(c.summary, 79, initial_indent="%-4s %-14s " % (
                c.status.upper(), c.check), subsequent_indent=" " * 20,
                break_on_hyphens=False)
        return "\n".join(lines) + "\n"

    def to_dict(self):
        return {"schema_version": 1, "command": "report", "kind": "fleet",
                "directory": self.directory,
                "hosts": [dict(h.dossier.to_dict(), host=h.name) for h in self.hosts],
                "checks": [c.to_dict() for c in self.checks], "exit_code": self.exit_code}


def load_hosts(directory):
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise RcarkitError("not a directory", path=directory,
                           hint="--fleet takes the directory ansible/fleet.yml wrote "
                                "(fleet_dir), one sub-directory per host")
    hosts = []
    for name in sorted(os.listdir(directory)):
        sub = os.path.join(directory, name)
        if name.startswith(".") or not os.path.isdir(sub) or os.path.islink(sub):
            continue
        board = load_documents([sub])
        hosts.append(FleetHost(name=name, dossier=build_dossier(
            board, title="rcarkit board report: %s" % name), probe=board.probe))
    if not hosts:
        raise RcarkitError("no host directories with documents", path=directory,
                           hint="run ansible-playbook ansible/fleet.yml first")
    return hosts


def _duplicates(check, label, values_by_host):
    """``values_by_host``: {host: [value, ...]}; fail when a value is on two hosts."""
    owners = defaultdict(list)
    for host, values in values_by_host.items():
        for value in set(values):
            owners[value].append(host)
    dup = {v: hs for v, hs in owners.items() if len(hs) > 1}
    if not values_by_host:
        return FleetCheck(check, OK, "no %s read (no check-node documents)" % label)
    if not dup:
        return FleetCheck(check, OK, "%s unique across %d boards" % (label, len(values_by_host)),
                          source=SOURCES["install-kubeadm"])
    details = ["%s %s on %s" % (label, v, ", ".join(sorted(hs))) for v, hs in sorted(dup.items())]
    hosts = sorted({h for hs in dup.values() for h in hs})
    return FleetCheck(check, FAIL, "duplicate %s: %s" % (label, "; ".join(details)), hosts,
                      details, SOURCES["install-kubeadm"])


def identity_checks(hosts):
    uuids, macs, names = {}, {}, {}
    for h in hosts:
        if h.dossier.node is None:
            continue
        facts = h.node_facts
        uuid = (facts.get("product_uuid") or "").strip().lower()
        if uuid:
            uuids[h.name] = [uuid]
        macs[h.name] = [(i.get("address") or "").lower() for i in facts.get("interfaces") or []
                        if (i.get("address") or "").lower() not in ("", "00:00:00:00:00:00")]
        if facts.get("hostname"):
            names[h.name] = [facts["hostname"]]
    return [_duplicates("product_uuid", "product_uuid", uuids),
            _duplicates("mac", "MAC", macs),
            _duplicates("hostname", "hostname", names)]


def kernel_checks(hosts):
    out = []
    releases = {}
    for h in hosts:
        rel = (h.dossier.node or {}).get("kernel_release") or \
            (h.dossier.kernel or {}).get("kernel_version")
        if rel:
            releases[h.name] = rel
    distinct = sorted(set(releases.values()))
    if len(distinct) > 1:
        out.append(FleetCheck("kernel-version", WARN, "%d kernel releases: %s" % (
            len(distinct), "; ".join("%s on %s" % (r, ", ".join(sorted(
                n for n, v in releases.items() if v == r))) for r in distinct)),
            sorted(releases)))
    else:
        out.append(FleetCheck("kernel-version", OK, "one kernel release%s" % (
            (": " + distinct[0]) if distinct else " (none read)")))
    # config skew: per (profile, option) the status on each host with a kernel document
    docs = {h.name: h.dossier.kernel for h in hosts if h.dossier.kernel}
    status = defaultdict(dict)
    required = {}
    kinds = {}
    for name, doc in docs.items():
        for g in doc.get("groups") or []:
            kinds[g.get("name")] = g.get("kind")
        for o in doc.get("options") or []:
            key = (o.get("profile"), o.get("option"))
            status[key][name] = o.get("status")
            required[key] = required.get(key, False) or bool(o.get("required"))
    skew = {k: v for k, v in status.items()
            if len(docs) > 1 and (len(set(v.values())) > 1 or len(v) < len(docs))}
    failing = ("missing", "wrong-value")
    hard = {k: v for k, v in skew.items()
            if required[k] and any(s in failing for s in v.values())}
    details = ["%s %s: %s" % (p, o, ", ".join("%s %s" % (n, v.get(n, "not checked"))
                                              for n in sorted(docs)))
               for (p, o), v in sorted(skew.items())]
    if not skew:
        out.append(FleetCheck("kernel-config", OK, "kernel options agree across %d boards"
                              % len(docs) if len(docs) > 1 else
                              "fewer than two check-kernel documents: nothing to compare"))
    else:
        hosts_bad = sorted({n for v in hard.values() for n, s in v.items() if s in failing})
        out.append(FleetCheck("kernel-config", FAIL if hard else WARN,
                              "%d options differ between boards%s" % (
                                  len(skew), ("; required and failing on %s: %s" % (
                                      ", ".join(hosts_bad), ", ".join(sorted({o for _, o in hard}))))
                                  if hard else ""), hosts_bad, details))
    # CNI: required options of a cni profile failing on some hosts
    cni_fail = defaultdict(lambda: defaultdict(list))
    for (profile, option), v in status.items():
        if kinds.get(profile) != "cni" or not required[(profile, option)]:
            continue
        for host, s in v.items():
            if s in failing:
                cni_fail[profile][host].append(option)
    if not cni_fail:
        out.append(FleetCheck("cni", OK, "every CNI profile's required options on every board"
                              if docs else "no check-kernel documents"))
    else:
        details = ["%s on %s: %s" % (p, h, ", ".join(opts))
                   for p, by_host in sorted(cni_fail.items()) for h, opts in sorted(by_host.items())]
        hosts_bad = sorted({h for by_host in cni_fail.values() for h in by_host})
        out.append(FleetCheck("cni", FAIL, "CNI requirements not met on %s: %s" % (
            ", ".join(hosts_bad), "; ".join(details)), hosts_bad, details))
    return out


def clock_check(hosts):
    readings = {}
    for h in hosts:
        p = h.probe or {}
        try:
            before, after = float(p["controller_before"]), float(p["controller_after"])
            board = float(p["board_time"])
        except (KeyError, TypeError, ValueError):
            continue
        mid, half = (before + after) / 2.0, max(0.0, (after - before) / 2.0)
        readings[h.name] = (board - mid, half)
    if not readings:
        return FleetCheck("clock-skew", OK, "no probe documents: clocks not compared")
    bad = {n: (skew, half) for n, (skew, half) in readings.items()
           if abs(skew) - half > CLOCK_LIMIT_S}
    details = ["%s %+.3f s (+- %.3f s)" % (n, s, hf) for n, (s, hf) in sorted(readings.items())]
    if bad:
        return FleetCheck("clock-skew", FAIL, "clock off by more than %g s on %s" % (
            CLOCK_LIMIT_S, ", ".join("%s (%+.1f s)" % (n, s) for n, (s, _) in sorted(bad.items()))),
            sorted(bad), details, SOURCES["etcd-clock"])
    worst = max(abs(s) for s, _ in readings.values())
    return FleetCheck("clock-skew", OK, "clocks within %g s of the controller (largest "
                      "reading %.3f s)" % (CLOCK_LIMIT_S, worst), [], details,
                      SOURCES["etcd-clock"])


def _p99(samples):
    data = sorted(samples)
    if not data:
        return math.nan
    return data[min(len(data) - 1, int(math.ceil(0.99 * len(data))) - 1)]


def rtt_check(hosts):
    pairs = []
    for h in hosts:
        for r in (h.probe or {}).get("rtt") or []:
            pairs.append((h.name, r.get("peer"), r.get("samples_ms") or [],
                          int(r.get("failures") or 0), r.get("address")))
    if not pairs:
        return FleetCheck("etcd-rtt", OK, "no round trips measured (fewer than two "
                          "control-plane candidates, or no probe)")
    details, failed, slow = [], [], []
    for src, dst, samples, failures, address in pairs:
        if not samples:
            failed.append("%s -> %s" % (src, dst))
            details.append("%s -> %s (%s): no connection, %d failures" % (src, dst, address,
                                                                         failures))
            continue
        p50 = sorted(samples)[len(samples) // 2]
        p99 = _p99(samples)
        details.append("%s -> %s: p50 %.2f ms, p99 %.2f ms, %d samples, %d failures"
                       % (src, dst, p50, p99, len(samples), failures))
        if p99 > RTT_LIMIT_MS:
            slow.append("%s -> %s (p99 %.0f ms)" % (src, dst, p99))
    hosts_bad = sorted({p.split(" -> ")[0] for p in failed + slow})
    if failed:
        return FleetCheck("etcd-rtt", FAIL, "control-plane candidates cannot connect: %s"
                          % ", ".join(failed), hosts_bad, details, SOURCES["etcd-tuning"])
    if slow:
        return FleetCheck("etcd-rtt", WARN, "round trip above etcd's 100 ms heartbeat: %s "
                          "(raise --heartbeat-interval)" % ", ".join(slow), hosts_bad, details,
                          SOURCES["etcd-tuning"])
    return FleetCheck("etcd-rtt", OK, "%d pairs, every p99 under %g ms" % (len(pairs),
                                                                       RTT_LIMIT_MS),
                      [], details, SOURCES["etcd-tuning"])


def build_fleet(directory) -> FleetReport:
    """See the module doc."""
    hosts = load_hosts(directory)
    checks = identity_checks(hosts) + kernel_checks(hosts) + [clock_check(hosts), rtt_check(hosts)]
    return FleetReport(directory=os.fspath(directory), hosts=hosts, checks=checks)
