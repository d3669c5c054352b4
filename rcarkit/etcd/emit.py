"""Ready-to-apply files for an etcd recommendation (``etcd-bench --emit DIR``).

``write_emit_dir(recommendation, DIR, api="v1beta4", force=False)`` writes,
atomically and never over hand edits without ``force``
(:class:`rcarkit.files.GeneratedTree`; ``check_emit_dir`` lets the command
refuse an unusable DIR before it spends a minute measuring). Our own README
tells the user to add their settings to ``kubeadm-config.yaml``, so a file
changed by hand is expected: it is kept, and the new version is written
beside it as ``NAME.new`` (:data:`NEW_SUFFIX`) for the user to merge;
``force`` replaces the edited file instead.

``kubeadm-config.yaml``
    ONE file for ``kubeadm init --config kubeadm-config.yaml``, so nothing has
    to be passed as a flag (kubeadm refuses to mix ``--config`` with most other
    flags). An ``InitConfiguration`` carrying the v1beta4 ``timeouts``
    (``controlPlaneComponentHealthCheck``, ``kubeletHealthCheck``,
    ``kubernetesAPICall``, ``etcdAPICall``, ``tlsBootstrap``, ``discovery``: in
    v1beta4 the Timeouts struct is a field of InitConfiguration and
    JoinConfiguration, not of ClusterConfiguration) and a
    ``ClusterConfiguration`` with either ``etcd.local`` (``dataDir`` and
    ``extraArgs`` ``heartbeat-interval`` / ``election-timeout``; v1beta4 writes
    extraArgs as a list of ``{name, value}``, v1beta3 as a map) or
    ``etcd.external`` (``endpoints`` and the ``caFile``/``certFile``/``keyFile``
    placeholders to replace).
``kubeadm-join.yaml``
    ``JoinConfiguration`` for the other nodes with the same ``timeouts`` (the
    join that failed with etcd request timeouts is what they fix); the
    discovery token and CA hash are placeholders to fill in.
``README.txt``
    What each file is and how to apply it.

For the ``tmpfs`` verdict also:

``var-lib-etcd.mount`` (the systemd-escaped data directory + ``.mount``)
    tmpfs on etcd's data directory, ordered before ``kubelet.service``.
``etcd-snapshot.service`` + ``etcd-snapshot.timer`` + ``etcd-snapshot.sh``
    ``etcdctl snapshot save`` every ``SNAPSHOT_INTERVAL`` into the snapshot
    directory on the persistent disk.
``etcd-restore.service`` + ``etcd-restore.sh``
    At boot, before the kubelet, restores the latest snapshot into the empty
    tmpfs (name and peer URL read from kubeadm's etcd static Pod manifest).

kubeadm v1beta3 (``api="v1beta3"``, kubeadm older than 1.31) has no Timeouts
struct: only ``apiServer.timeoutForControlPlane`` (ClusterConfiguration) and
``discovery.timeout`` (JoinConfiguration) exist there and are used; the file
says which v1beta4 timeouts cannot be expressed.

The YAML is written by hand (no YAML library at run time); every string is a
double-quoted scalar, which YAML reads exactly as JSON does.

Long because each emitted file (kubeadm v1beta4/v1beta3, systemd units,
README) is written here next to the field list it was checked against.
"""

import json
import os
import textwrap
from typing import Dict, List

from rcarkit.errors import RcarkitError
from rcarkit.etcd.advice import (DEFAULT_ETCD_DATA_DIR, DEFAULT_SNAPSHOT_DIR, EXTERNAL, LOCAL_DEFAULTS,
                          LOCAL_RAISED, TMPFS)
from rcarkit.files import GeneratedTree, file_digest, sha256_text

__all__ = ["emit_files", "write_emit_dir", "check_emit_dir", "systemd_escape_path",
           "mount_unit_name", "hand_edited", "NEW_SUFFIX",
           "KUBEADM_APIS", "KUBEADM_CONFIG", "KUBEADM_JOIN"]

KUBEADM_APIS = ("v1beta4", "v1beta3")
KUBEADM_CONFIG = "kubeadm-config.yaml"
KUBEADM_JOIN = "kubeadm-join.yaml"
README = "README.txt"
NEW_SUFFIX = ".new"

# How often the tmpfs verdict saves a snapshot: the window of changes lost at a
# power cut, traded against flash wear on the persistent disk.
SNAPSHOT_INTERVAL = "15min"
# tmpfs size cap and etcd's backend quota inside it. etcd's maintenance guide:
# "The default storage size limit is 2GB, configurable with
# --quota-backend-bytes flag"; on tmpfs that much RAM is rarely there, so the
# quota is lowered to make etcd raise its NOSPACE alarm before the tmpfs (WAL
# segments of 64 MB, up to 5 kept, plus the database) fills up.
TMPFS_SIZE_MIB = 1024
TMPFS_QUOTA_BACKEND_BYTES = 512 * 1024 * 1024
SNAPSHOT_SCRIPT = "/usr/local/sbin/rcarkit-etcd-snapshot"
RESTORE_SCRIPT = "/usr/local/sbin/rcarkit-etcd-restore"
KUBEADM_ETCD_PKI = "/etc/kubernetes/pki/etcd"
ETCD_MANIFEST = "/etc/kubernetes/manifests/etcd.yaml"

_V1BETA3_TIMEOUTS_MISSING = ("etcdAPICall", "kubernetesAPICall", "kubeletHealthCheck",
                             "tlsBootstrap")


# --- systemd-escape -p ---------------------------------------------------------

_ESCAPE_VALID = set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:_.")


def _escape_byte(b: int) -> str:
    return "\\x%02x" % b


def systemd_escape_path(path: str) -> str:
    """What ``systemd-escape --path PATH`` prints (systemd unit_name_path_escape).

    The path is simplified (repeated and trailing slashes and ``.`` components
    dropped); ``..`` components are refused like systemd does. ``/`` becomes
    ``-``; the root is ``-``. Every byte of the UTF-8 encoding that is not an
    ASCII letter, digit, ``:``, ``_`` or ``.`` (and a leading ``.``) becomes
    ``\\xNN``; so ``-`` becomes ``\\x2d``.
    """
    if not path:
        raise RcarkitError("cannot escape an empty path")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise RcarkitError("path %r contains '..'; give a normalized path" % path)
    if not parts:
        return "-"
    out = []
    data = "/".join(parts).encode("utf-8")
    for i, b in enumerate(data):
        c = chr(b)
        if c == "/":
            out.append("-")
        elif (i == 0 and c == ".") or b >= 0x80 or c not in _ESCAPE_VALID:
            out.append(_escape_byte(b))
        else:
            out.append(c)
    return "".join(out)


def mount_unit_name(path: str) -> str:
    """``/var/lib/etcd`` -> ``var-lib-etcd.mount`` (systemd requires this name)."""
    return systemd_escape_path(path) + ".mount"


# --- YAML by hand ----------------------------------------------------------------

def _q(value) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(str(value))


def _header(rec, what: str, command: str) -> List[str]:
    lines = [
        "# Generated by rcarkit etcd-bench: %s" % what,
        "# Verdict: %s%s" % (rec.verdict, " (%s)" % rec.path if rec.path else ""),
        "# Apply: %s" % command,
        "# Put every other setting (kubernetesVersion, networking.podSubnet, ...) into",
        "# this file too: kubeadm refuses to mix --config with most other flags.",
    ]
    return lines


def _timeouts_block(rec, indent: str = "") -> List[str]:
    lines = [indent + "timeouts:"]
    order = ("controlPlaneComponentHealthCheck", "kubeletHealthCheck", "kubernetesAPICall",
             "etcdAPICall", "tlsBootstrap", "discovery")
    for name in order:
        if name in rec.kubeadm_timeouts:
            lines.append("%s  %s: %s" % (indent, name, _q(rec.kubeadm_timeouts[name])))
    return lines


def _etcd_args(rec) -> List[tuple]:
    args = [("heartbeat-interval", str(rec.heartbeat_ms)),
            ("election-timeout", str(rec.election_timeout_ms))]
    if rec.verdict == TMPFS:
        args.append(("quota-backend-bytes", str(TMPFS_QUOTA_BACKEND_BYTES)))
    return args


def _etcd_block(rec, api: str) -> List[str]:
    lines = ["etcd:"]
    if rec.verdict == EXTERNAL:
        endpoints = rec.external_endpoints or ["https://ETCD_HOST:2379"]
        lines.append("  external:")
        lines.append("    endpoints:")
        for ep in endpoints:
            lines.append("    - %s" % _q(ep))
        lines += [
            "    # PLACEHOLDERS: copy these three files from the etcd host (kubeadm's",
            "    # \"external etcd nodes\" guide) to these paths, or change the paths.",
            "    caFile: %s" % _q(KUBEADM_ETCD_PKI + "/ca.crt"),
            "    certFile: %s" % _q("/etc/kubernetes/pki/apiserver-etcd-client.crt"),
            "    keyFile: %s" % _q("/etc/kubernetes/pki/apiserver-etcd-client.key"),
            "    # The external etcd members themselves should run with",
            "    # --heartbeat-interval=%d --election-timeout=%d (see README.txt)."
            % (rec.heartbeat_ms, rec.election_timeout_ms),
        ]
        return lines
    data_dir = rec.data_dir or DEFAULT_ETCD_DATA_DIR
    lines.append("  local:")
    lines.append("    dataDir: %s" % _q(data_dir))
    lines.append("    extraArgs:")
    for name, value in _etcd_args(rec):
        if api == "v1beta4":
            lines.append("    - name: %s" % _q(name))
            lines.append("      value: %s" % _q(value))
        else:
            lines.append("      %s: %s" % (name, _q(value)))
    return lines


def render_kubeadm_config(rec, api: str = "v1beta4") -> str:
    """InitConfiguration (+timeouts) and ClusterConfiguration (etcd) for init."""
    version = "kubeadm.k8s.io/" + api
    lines = _header(rec, "kubeadm init configuration with the etcd settings",
                    "sudo kubeadm init --config %s" % KUBEADM_CONFIG)
    lines += ["apiVersion: %s" % version, "kind: InitConfiguration"]
    if api == "v1beta4":
        lines += _timeouts_block(rec)
    else:
        lines += ["# v1beta3 has no timeouts struct: %s" % ", ".join(_V1BETA3_TIMEOUTS_MISSING),
                  "# cannot be set (kubeadm >= 1.31 reads v1beta4: --kubeadm-api v1beta4)."]
    lines += ["---", "apiVersion: %s" % version, "kind: ClusterConfiguration"]
    if api == "v1beta3":
        lines += ["apiServer:",
                  "  timeoutForControlPlane: %s"
                  % _q(rec.kubeadm_timeouts["controlPlaneComponentHealthCheck"])]
    lines += _etcd_block(rec, api)
    return "\n".join(lines) + "\n"


def render_kubeadm_join(rec, api: str = "v1beta4") -> str:
    """JoinConfiguration with the same timeouts and placeholder discovery."""
    version = "kubeadm.k8s.io/" + api
    lines = _header(rec, "kubeadm join configuration with timeouts for this board",
                    "sudo kubeadm join --config %s (after filling in the placeholders)"
                    % KUBEADM_JOIN)
    lines += [
        "apiVersion: %s" % version,
        "kind: JoinConfiguration",
        "discovery:",
        "  bootstrapToken:",
        "    # PLACEHOLDERS: 'kubeadm token create --print-join-command' on the first",
        "    # control plane prints the endpoint, the token and the CA hash.",
        "    apiServerEndpoint: %s" % _q("CONTROL_PLANE_HOST:6443"),
        "    token: %s" % _q("abcdef.0123456789abcdef"),
        "    caCertHashes:",
        "    - %s" % _q("sha256:REPLACE_WITH_THE_CA_HASH"),
    ]
    if api == "v1beta3":
        lines.append("  timeout: %s" % _q(rec.kubeadm_timeouts["discovery"]))
    lines += [
        "# For an additional control plane, uncomment and set the key printed by",
        "# 'kubeadm init phase upload-certs --upload-certs':",
        "# controlPlane:",
        "#   certificateKey: \"REPLACE_WITH_THE_CERTIFICATE_KEY\"",
    ]
    if api == "v1beta4":
        lines += _timeouts_block(rec)
    else:
        lines.append("# v1beta3 has no timeouts struct; only discovery.timeout is set above.")
    return "\n".join(lines) + "\n"


# --- systemd units for the tmpfs verdict -------------------------------------------

def render_mount_unit(rec) -> str:
    where = rec.data_dir or DEFAULT_ETCD_DATA_DIR
    return "\n".join([
        "# Generated by rcarkit etcd-bench (verdict tmpfs): etcd's data directory in RAM.",
        "# EVERYTHING IN %s IS LOST AT EVERY REBOOT OR POWER CUT; etcd-snapshot.timer" % where,
        "# saves snapshots to %s and etcd-restore.service restores the latest"
        % (rec.snapshot_dir or DEFAULT_SNAPSHOT_DIR),
        "# one at boot. The unit name must be the escaped path: systemd-escape -p %s" % where,
        "[Unit]",
        "Description=etcd data directory on tmpfs (contents lost at reboot)",
        "Documentation=https://etcd.io/docs/v3.5/op-guide/recovery/",
        "Before=kubelet.service",
        "",
        "[Mount]",
        "What=tmpfs",
        "Where=%s" % where,
        "Type=tmpfs",
        "Options=mode=0700,size=%dM,nodev,nosuid,noexec" % TMPFS_SIZE_MIB,
        "",
        "[Install]",
        "WantedBy=local-fs.target",
        "",
    ])


def _default(var, env, value, suffix=""):
    """``VAR="${ENV:-value}suffix"``: the shell line(s) giving VAR its default.
    A value that is not one plain shell word (``$(...)``, quotes, spaces) goes
    through a ``shlex.quote``-d variable of its own, so nothing in a path runs."""
    import shlex
    if shlex.quote(value) == value:
        return ['%s="${%s:-%s}%s"' % (var, env, value, suffix)]
    return ["%s_DEFAULT=%s" % (var, shlex.quote(value)),
            '%s="${%s:-$%s_DEFAULT}%s"' % (var, env, var, suffix)]


def render_snapshot_script(rec) -> str:
    snap = rec.snapshot_dir or DEFAULT_SNAPSHOT_DIR
    return "\n".join([
        "#!/bin/sh",
        "# Generated by rcarkit etcd-bench: save an etcd snapshot to persistent storage",
        "# (etcd's data directory is on tmpfs). Run by etcd-snapshot.service.",
        "# Environment overrides: ETCD_ENDPOINT, ETCD_PKI, SNAPSHOT_DIR.",
        "set -eu",
        *_default("SNAPSHOT_DIR", "SNAPSHOT_DIR", snap),
        "ETCD_ENDPOINT=\"${ETCD_ENDPOINT:-https://127.0.0.1:2379}\"",
        "PKI=\"${ETCD_PKI:-%s}\"" % KUBEADM_ETCD_PKI,
        "mkdir -p \"$SNAPSHOT_DIR\"",
        "chmod 0700 \"$SNAPSHOT_DIR\"",
        "set -- --endpoints=\"$ETCD_ENDPOINT\"",
        "case \"$ETCD_ENDPOINT\" in",
        "https://*) set -- \"$@\" --cacert=\"$PKI/ca.crt\" --cert=\"$PKI/server.crt\" "
        "--key=\"$PKI/server.key\" ;;",
        "esac",
        "# etcdctl writes snapshot.db.part, fsyncs it and renames it into place.",
        "ETCDCTL_API=3 etcdctl \"$@\" snapshot save \"$SNAPSHOT_DIR/snapshot.db\"",
        "sync",
        "",
    ])


def render_restore_script(rec) -> str:
    data_dir = rec.data_dir or DEFAULT_ETCD_DATA_DIR
    snap = rec.snapshot_dir or DEFAULT_SNAPSHOT_DIR
    return "\n".join([
        "#!/bin/sh",
        "# Generated by rcarkit etcd-bench: after a reboot the tmpfs under etcd is empty;",
        "# restore the latest snapshot before the kubelet starts etcd's static Pod.",
        "# Environment overrides: ETCD_DATA_DIR, SNAPSHOT_DIR, ETCD_MANIFEST, ETCD_NAME,",
        "# ETCD_PEER_URL.",
        "set -eu",
        *_default("DATA_DIR", "ETCD_DATA_DIR", data_dir),
        *_default("SNAPSHOT", "SNAPSHOT_DIR", snap, "/snapshot.db"),
        "MANIFEST=\"${ETCD_MANIFEST:-%s}\"" % ETCD_MANIFEST,
        "if [ -e \"$DATA_DIR/member\" ]; then echo \"etcd data present in $DATA_DIR\"; "
        "exit 0; fi",
        "if [ ! -f \"$SNAPSHOT\" ]; then echo \"no snapshot at $SNAPSHOT\"; exit 0; fi",
        "NAME=\"${ETCD_NAME:-$(sed -n 's/^ *- --name=//p' \"$MANIFEST\" | head -n 1)}\"",
        "PEER=\"${ETCD_PEER_URL:-$(sed -n 's/^ *- --initial-advertise-peer-urls=//p' "
        "\"$MANIFEST\" | head -n 1)}\"",
        "if [ -z \"$NAME\" ] || [ -z \"$PEER\" ]; then",
        "  echo \"cannot read --name and --initial-advertise-peer-urls from $MANIFEST\" >&2",
        "  exit 1",
        "fi",
        "TMP=\"$DATA_DIR/.rcarkit-restore\"",
        "rm -rf \"$TMP\"",
        "if command -v etcdutl >/dev/null 2>&1; then TOOL=etcdutl; "
        "else TOOL=etcdctl; export ETCDCTL_API=3; fi",
        "\"$TOOL\" snapshot restore \"$SNAPSHOT\" --data-dir \"$TMP\" --name \"$NAME\" \\",
        "  --initial-cluster \"$NAME=$PEER\" --initial-advertise-peer-urls \"$PEER\"",
        "mv \"$TMP/member\" \"$DATA_DIR/member\"",
        "rm -rf \"$TMP\"",
        "echo \"restored $SNAPSHOT into $DATA_DIR\"",
        "",
    ])


def render_snapshot_service(rec) -> str:
    return "\n".join([
        "# Generated by rcarkit etcd-bench (verdict tmpfs).",
        "[Unit]",
        "Description=Save an etcd snapshot to persistent storage (etcd runs on tmpfs)",
        "Documentation=https://etcd.io/docs/v3.5/op-guide/recovery/",
        "After=kubelet.service",
        "ConditionPathExists=%s/member" % (rec.data_dir or DEFAULT_ETCD_DATA_DIR),
        "",
        "[Service]",
        "Type=oneshot",
        "ExecStart=%s" % SNAPSHOT_SCRIPT,
        "",
    ])


def render_snapshot_timer(rec) -> str:
    return "\n".join([
        "# Generated by rcarkit etcd-bench (verdict tmpfs).",
        "[Unit]",
        "Description=Save an etcd snapshot every %s" % SNAPSHOT_INTERVAL,
        "",
        "[Timer]",
        "OnBootSec=%s" % SNAPSHOT_INTERVAL,
        "OnUnitActiveSec=%s" % SNAPSHOT_INTERVAL,
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ])


def render_restore_service(rec) -> str:
    where = rec.data_dir or DEFAULT_ETCD_DATA_DIR
    return "\n".join([
        "# Generated by rcarkit etcd-bench (verdict tmpfs).",
        "[Unit]",
        "Description=Restore etcd from the latest snapshot into the empty tmpfs",
        "RequiresMountsFor=%s" % where,
        "Before=kubelet.service",
        "ConditionPathExists=!%s/member" % where,
        "",
        "[Service]",
        "Type=oneshot",
        "ExecStart=%s" % RESTORE_SCRIPT,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ])


# --- README -------------------------------------------------------------------------

def render_readme(rec, api: str, files: List[str]) -> str:
    lines = [
        "Generated by rcarkit etcd-bench (kubeadm API %s)." % api,
        "",
        "Verdict: %s%s" % (rec.verdict, " -- %s" % rec.path if rec.path else ""),
        "etcd: --heartbeat-interval=%d --election-timeout=%d"
        % (rec.heartbeat_ms, rec.election_timeout_ms),
        "",
        "Why:",
    ]
    for w in rec.why:
        lines += textwrap.wrap(w, width=78, initial_indent="  - ", subsequent_indent="    ",
                               break_long_words=False, break_on_hyphens=False)
    lines += ["", "Files and how to apply them", "---------------------------", "",
              "%s" % KUBEADM_CONFIG,
              "  The whole kubeadm configuration for the first control plane, in ONE",
              "  file: kubeadm does not let --config be mixed with most other flags.",
              "  Add your own settings (kubernetesVersion, networking.podSubnet,",
              "  controlPlaneEndpoint, ...) to this same file, then run:",
              "      sudo kubeadm init --config %s" % KUBEADM_CONFIG,
              "  Check it first with: kubeadm config validate --config %s" % KUBEADM_CONFIG,
              ""]
    if rec.verdict in (LOCAL_DEFAULTS, LOCAL_RAISED) and rec.data_dir:
        lines += ["  etcd's data directory is %s; create it on the chosen disk first:"
                  % rec.data_dir,
                  "      sudo install -d -m 0700 %s" % rec.data_dir, ""]
    lines += ["%s" % KUBEADM_JOIN,
              "  For every further node. Replace the placeholders (the output of",
              "  'kubeadm token create --print-join-command' on the first control plane",
              "  has the endpoint, token and CA hash); for another control plane also",
              "  uncomment controlPlane.certificateKey. Then run:",
              "      sudo kubeadm join --config %s" % KUBEADM_JOIN,
              "  The etcd flags need no repetition on joining control planes: they are",
              "  stored in the cluster's kubeadm-config ConfigMap by kubeadm init.", ""]
    if rec.verdict == EXTERNAL:
        lines += ["External etcd"]
        lines += textwrap.wrap("%s points kubeadm at %s. Copy the etcd CA and an apiserver "
                               "client certificate/key from the etcd host to the paths in "
                               "etcd.external (placeholders). Run the external etcd members "
                               "with" % (KUBEADM_CONFIG, ", ".join(rec.external_endpoints)),
                               width=78, initial_indent="  ", subsequent_indent="  ",
                               break_long_words=False, break_on_hyphens=False)
        lines += [
                  "      --heartbeat-interval=%d --election-timeout=%d"
                  % (rec.heartbeat_ms, rec.election_timeout_ms),
                  "  and measure that host's disk with rcarkit etcd-bench as well.", ""]
    if rec.verdict == TMPFS:
        unit = mount_unit_name(rec.data_dir or DEFAULT_ETCD_DATA_DIR)
        lines += [
            "tmpfs: PERSISTENCE LOSS",
            "  etcd's data lives in RAM. Every reboot or power cut erases the whole",
            "  cluster state unless it is restored from a snapshot. Single control",
            "  plane only. Snapshots go to %s every %s;"
            % (rec.snapshot_dir or DEFAULT_SNAPSHOT_DIR, SNAPSHOT_INTERVAL),
            "  changes made after the last snapshot are lost.",
            "",
            "  Install BEFORE 'kubeadm init' (the directory must be empty and mounted",
            "  before etcd first starts):",
            "    sudo install -m 0644 %s etcd-snapshot.service \\" % unit,
            "        etcd-snapshot.timer etcd-restore.service /etc/systemd/system/",
            "    sudo install -m 0755 etcd-snapshot.sh %s" % SNAPSHOT_SCRIPT,
            "    sudo install -m 0755 etcd-restore.sh %s" % RESTORE_SCRIPT,
            "    sudo systemctl daemon-reload",
            "    sudo systemctl enable --now %s" % unit,
            "    sudo systemctl enable etcd-restore.service",
            "    sudo systemctl enable --now etcd-snapshot.timer",
            "  %s: the tmpfs; a mount unit must be named after its path:" % unit,
            "      systemd-escape -p --suffix=mount %s" % (rec.data_dir or DEFAULT_ETCD_DATA_DIR),
            "  etcd-snapshot.timer/.service: 'etcdctl snapshot save' via",
            "      %s" % SNAPSHOT_SCRIPT,
            "  etcd-restore.service: at boot, before the kubelet, restores the latest",
            "  snapshot into the empty tmpfs via %s" % RESTORE_SCRIPT,
            "  (needs etcdutl or etcdctl on the host: e.g. Debian's etcd-client).",
            "  Take a snapshot by hand before a planned reboot:",
            "      sudo systemctl start etcd-snapshot.service",
            "",
        ]
    lines += ["References:"]
    for tag, url in rec.references.items():
        lines += textwrap.wrap("[%s] %s" % (tag, url), width=78, initial_indent="  ",
                               subsequent_indent="      ", break_long_words=False,
                               break_on_hyphens=False)
    lines += [""] + textwrap.wrap("Files: " + ", ".join(sorted(files)), width=78) + [""]
    return "\n".join(lines)


def emit_files(rec, api: str = "v1beta4") -> Dict[str, str]:
    """``{relative file name: text}`` for ``rec`` (a Recommendation)."""
    if api not in KUBEADM_APIS:
        raise RcarkitError("--kubeadm-api must be one of %s, not %r"
                           % (", ".join(KUBEADM_APIS), api))
    from rcarkit.files import refuse_control_chars
    for what, value in (("the benchmarked PATH", rec.path), ("the data directory", rec.data_dir),
                        ("the snapshot directory", rec.snapshot_dir)):
        if value:  # written into units, scripts and YAML: one line each
            refuse_control_chars(value, what)
    for ep in getattr(rec, "external_endpoints", None) or ():
        refuse_control_chars(ep, "an etcd endpoint")
    files = {
        KUBEADM_CONFIG: render_kubeadm_config(rec, api),
        KUBEADM_JOIN: render_kubeadm_join(rec, api),
    }
    if rec.verdict == TMPFS:
        files[mount_unit_name(rec.data_dir or DEFAULT_ETCD_DATA_DIR)] = render_mount_unit(rec)
        files["etcd-snapshot.service"] = render_snapshot_service(rec)
        files["etcd-snapshot.timer"] = render_snapshot_timer(rec)
        files["etcd-snapshot.sh"] = render_snapshot_script(rec)
        files["etcd-restore.service"] = render_restore_service(rec)
        files["etcd-restore.sh"] = render_restore_script(rec)
    files[README] = render_readme(rec, api, list(files) + [README])
    return files


def _generated_name(name: str) -> bool:
    if name.endswith(NEW_SUFFIX):
        name = name[:-len(NEW_SUFFIX)]
    return (name in (KUBEADM_CONFIG, KUBEADM_JOIN, README) or name.endswith(".mount")
            or name.startswith("etcd-snapshot.") or name.startswith("etcd-restore."))


def check_emit_dir(out_dir, force: bool = False) -> None:
    """Refuse early (before a long measurement) when ``out_dir`` cannot take
    the files: it is not a directory, it (or the directory it would be made
    in) is read-only or not writable."""
    out_dir = os.fspath(out_dir)
    GeneratedTree(out_dir, force=force)  # raises if out_dir is a file
    existing = os.path.abspath(out_dir)
    while not os.path.exists(existing):       # the directory we would create it in
        existing = os.path.dirname(existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        read_only = os.statvfs(existing).f_flag & os.ST_RDONLY
        raise RcarkitError("%s; the files cannot be written" % (
            "is on a read-only filesystem" if read_only else "is not writable"),
            path=existing, hint="choose another --emit directory")
    # Files changed by hand are not a reason to refuse: write_emit_dir keeps
    # them and writes NAME.new beside them.


def _same_content(out_dir, name: str, text: str) -> bool:
    path = os.path.join(os.fspath(out_dir), name)
    try:
        return file_digest(path) == sha256_text(text)   # never reads a symlink/device
    except (OSError, RcarkitError):
        return False


def hand_edited(out_dir, names) -> List[str]:
    """The ``names`` under ``out_dir`` whose content differs from what the
    manifest recorded (edited by hand, or never written by rcarkit)."""
    tree = GeneratedTree(os.fspath(out_dir))
    edited = []
    for name in names:
        path = os.path.join(os.fspath(out_dir), name)
        digest = file_digest(path)      # a symlink/FIFO/device: refused, not read
        if digest is not None and tree.manifest.get(name) != digest:
            edited.append(name)
    return edited


def write_emit_dir(rec, out_dir, api: str = "v1beta4", force: bool = False) -> List[str]:
    """Write :func:`emit_files` under ``out_dir``; return the paths that changed
    (written, or removed: files of an earlier run no longer part of the set).

    A file changed by hand is kept (unless ``force``): its new content goes to
    ``NAME.new`` beside it; the returned path then ends in ``.new``.
    """
    files = emit_files(rec, api)
    if not force:
        edited = set(hand_edited(out_dir, [n for n, t in files.items()
                                           if not _same_content(out_dir, n, t)]))
        files = {(n + NEW_SUFFIX if n in edited else n): t for n, t in files.items()}
    modes = {name: 0o755 for name in files if name.endswith(".sh")}
    tree = GeneratedTree(os.fspath(out_dir), force=force)
    # prune: the tmpfs units of an earlier tmpfs verdict must not survive a
    # local-disk verdict in the same directory
    return tree.write(files, modes=modes, prune=True) + tree.removed
