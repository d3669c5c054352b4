"""--emit DIR: kubeadm YAML parsed back and checked against kubeadm's documented
field names, systemd unit names against systemd-escape, and the tmpfs
snapshot/restore scripts against a real etcd."""

import configparser
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

yaml = pytest.importorskip("yaml")
from hypothesis import given, settings, strategies as st  # noqa: E402

from rcarkit.etcd import advice as ea  # noqa: E402
from rcarkit.etcd import emit as ee  # noqa: E402
from rcarkit.errors import RcarkitError  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from test_etcd_advice import MS, measurement, rtt, stats  # noqa: E402

# Field names as documented in "kubeadm Configuration (v1beta4)",
# https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/
# (tables of InitConfiguration, ClusterConfiguration, JoinConfiguration, Etcd,
# LocalEtcd (+ embedded ImageMeta), ExternalEtcd, Arg, Timeouts, Discovery,
# BootstrapTokenDiscovery, JoinControlPlane).
V1BETA4 = {
    "InitConfiguration": {"apiVersion", "kind", "bootstrapTokens", "dryRun", "nodeRegistration",
                          "localAPIEndpoint", "certificateKey", "skipPhases", "patches",
                          "timeouts"},
    "ClusterConfiguration": {"apiVersion", "kind", "etcd", "networking", "kubernetesVersion",
                             "controlPlaneEndpoint", "apiServer", "controllerManager",
                             "scheduler", "dns", "proxy", "certificatesDir", "imageRepository",
                             "featureGates", "clusterName", "encryptionAlgorithm",
                             "certificateValidityPeriod", "caCertificateValidityPeriod"},
    "JoinConfiguration": {"apiVersion", "kind", "dryRun", "nodeRegistration", "caCertPath",
                          "discovery", "controlPlane", "skipPhases", "patches", "timeouts"},
    "Etcd": {"local", "external"},
    "LocalEtcd": {"imageRepository", "imageTag", "dataDir", "extraArgs", "extraEnvs",
                  "serverCertSANs", "peerCertSANs"},
    "ExternalEtcd": {"endpoints", "caFile", "certFile", "keyFile"},
    "Arg": {"name", "value"},
    "Timeouts": {"controlPlaneComponentHealthCheck", "kubeletHealthCheck", "kubernetesAPICall",
                 "etcdAPICall", "tlsBootstrap", "discovery", "upgradeManifests"},
    "Discovery": {"bootstrapToken", "file", "tlsBootstrapToken"},
    "BootstrapTokenDiscovery": {"token", "apiServerEndpoint", "caCertHashes",
                                "unsafeSkipCAVerification"},
}
# "kubeadm Configuration (v1beta3)",
# https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta3/
V1BETA3 = {
    "InitConfiguration": {"apiVersion", "kind", "bootstrapTokens", "nodeRegistration",
                          "localAPIEndpoint", "certificateKey", "skipPhases", "patches"},
    "ClusterConfiguration": {"apiVersion", "kind", "etcd", "networking", "kubernetesVersion",
                             "controlPlaneEndpoint", "apiServer", "controllerManager",
                             "scheduler", "dns", "certificatesDir", "imageRepository",
                             "featureGates", "clusterName"},
    "JoinConfiguration": {"apiVersion", "kind", "nodeRegistration", "caCertPath", "discovery",
                          "controlPlane", "skipPhases", "patches"},
    "APIServer": {"extraArgs", "extraVolumes", "certSANs", "timeoutForControlPlane"},
    "Etcd": {"local", "external"},
    "LocalEtcd": {"imageRepository", "imageTag", "dataDir", "extraArgs", "serverCertSANs",
                  "peerCertSANs"},
    "ExternalEtcd": {"endpoints", "caFile", "certFile", "keyFile"},
    "Discovery": {"bootstrapToken", "file", "tlsBootstrapToken", "timeout"},
    "BootstrapTokenDiscovery": {"token", "apiServerEndpoint", "caCertHashes",
                                "unsafeSkipCAVerification"},
}
GO_DURATION = re.compile(r"^(\d+h)?(\d+m)?(\d+s)$")


def go_seconds(text):
    m = re.match(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$", text)
    h, mi, s = (int(g) if g else 0 for g in m.groups())
    return h * 3600 + mi * 60 + s


def rec_raised():
    return ea.recommend([measurement("/var/lib/etcd",
                                     stats(30 * MS, ci=(25 * MS, 35 * MS), mx=150 * MS),
                                     kind="emmc", dev="/dev/mmcblk0p2")])


def rec_defaults():
    return ea.recommend([measurement("/mnt/nvme", stats(2 * MS, ci=(1 * MS, 3 * MS)),
                                     kind="nvme", dev="/dev/nvme0n1p1")])


def rec_tmpfs():
    return ea.recommend([measurement("/var/lib/etcd", stats(300 * MS, ci=(200 * MS, 400 * MS),
                                                            p999=1.5, mx=2.0), kind="sd")])


def rec_external():
    return ea.recommend([measurement("/var/lib/etcd", stats(300 * MS, ci=(200 * MS, 400 * MS),
                                                            p999=1.5, mx=2.0))],
                        peer=rtt(150 * MS, ci=(120 * MS, 200 * MS)),
                        peer_address="10.1.2.3:2380")


def docs(text):
    return {d["kind"]: d for d in yaml.safe_load_all(text) if d}


def check_keys(obj, allowed, where):
    extra = set(obj) - allowed
    assert not extra, "%s: fields not in the kubeadm documentation: %s" % (where, extra)


# --- v1beta4 --------------------------------------------------------------------

@pytest.mark.parametrize("make", [rec_raised, rec_defaults, rec_tmpfs, rec_external])
def test_v1beta4_fields_are_documented(make):
    rec = make()
    files = ee.emit_files(rec, "v1beta4")
    init = docs(files[ee.KUBEADM_CONFIG])
    assert set(init) == {"InitConfiguration", "ClusterConfiguration"}
    for kind, doc in init.items():
        assert doc["apiVersion"] == "kubeadm.k8s.io/v1beta4"
        check_keys(doc, V1BETA4[kind], kind)
    check_keys(init["InitConfiguration"]["timeouts"], V1BETA4["Timeouts"], "Timeouts")
    etcd = init["ClusterConfiguration"]["etcd"]
    check_keys(etcd, V1BETA4["Etcd"], "Etcd")
    assert len(etcd) == 1  # "local and external are mutually exclusive"
    if rec.verdict == ea.EXTERNAL:
        check_keys(etcd["external"], V1BETA4["ExternalEtcd"], "ExternalEtcd")
        assert etcd["external"]["endpoints"] == ["https://10.1.2.3:2379"]
        assert all(etcd["external"][k] for k in ("caFile", "certFile", "keyFile"))
    else:
        local = etcd["local"]
        check_keys(local, V1BETA4["LocalEtcd"], "LocalEtcd")
        assert local["dataDir"] == rec.data_dir
        assert isinstance(local["extraArgs"], list)
        for arg in local["extraArgs"]:
            assert set(arg) == V1BETA4["Arg"]
            assert isinstance(arg["value"], str)          # Arg.value is a string
        args = {a["name"]: a["value"] for a in local["extraArgs"]}
        assert args["heartbeat-interval"] == str(rec.heartbeat_ms)
        assert args["election-timeout"] == str(rec.election_timeout_ms)
    join = docs(files[ee.KUBEADM_JOIN])
    assert set(join) == {"JoinConfiguration"}
    jc = join["JoinConfiguration"]
    check_keys(jc, V1BETA4["JoinConfiguration"], "JoinConfiguration")
    check_keys(jc["discovery"], V1BETA4["Discovery"], "Discovery")
    check_keys(jc["discovery"]["bootstrapToken"], V1BETA4["BootstrapTokenDiscovery"],
               "BootstrapTokenDiscovery")
    assert jc["timeouts"] == init["InitConfiguration"]["timeouts"]


def test_v1beta4_timeouts_are_go_durations_and_defaults_match_the_docs():
    t = docs(ee.emit_files(rec_defaults())[ee.KUBEADM_CONFIG])["InitConfiguration"]["timeouts"]
    for value in t.values():
        assert GO_DURATION.match(value), value
    # kubeadm v1beta4 Timeouts "Default:" values.
    assert {k: go_seconds(v) for k, v in t.items()} == {
        "controlPlaneComponentHealthCheck": 240, "kubeletHealthCheck": 240,
        "kubernetesAPICall": 60, "etcdAPICall": 120, "tlsBootstrap": 300, "discovery": 300}


def test_raised_timeouts_scale_the_etcd_bound_ones():
    rec = rec_raised()
    t = docs(ee.emit_files(rec)[ee.KUBEADM_CONFIG])["InitConfiguration"]["timeouts"]
    assert go_seconds(t["etcdAPICall"]) > 120
    assert go_seconds(t["kubeletHealthCheck"]) == 240


def test_timeouts_never_in_cluster_configuration_v1beta4():
    text = ee.emit_files(rec_raised())[ee.KUBEADM_CONFIG]
    cluster = docs(text)["ClusterConfiguration"]
    assert "timeouts" not in cluster and "apiServer" not in cluster


# --- v1beta3 --------------------------------------------------------------------

@pytest.mark.parametrize("make", [rec_raised, rec_tmpfs, rec_external])
def test_v1beta3_fields_are_documented(make):
    rec = make()
    files = ee.emit_files(rec, "v1beta3")
    init = docs(files[ee.KUBEADM_CONFIG])
    for kind, doc in init.items():
        assert doc["apiVersion"] == "kubeadm.k8s.io/v1beta3"
        check_keys(doc, V1BETA3[kind], kind)
    cluster = init["ClusterConfiguration"]
    check_keys(cluster["apiServer"], V1BETA3["APIServer"], "APIServer")
    assert cluster["apiServer"]["timeoutForControlPlane"] == \
        rec.kubeadm_timeouts["controlPlaneComponentHealthCheck"]
    if rec.verdict != ea.EXTERNAL:
        local = cluster["etcd"]["local"]
        check_keys(local, V1BETA3["LocalEtcd"], "LocalEtcd")
        assert isinstance(local["extraArgs"], dict)       # v1beta3: map[string]string
        assert local["extraArgs"]["heartbeat-interval"] == str(rec.heartbeat_ms)
        assert local["extraArgs"]["election-timeout"] == str(rec.election_timeout_ms)
    jc = docs(files[ee.KUBEADM_JOIN])["JoinConfiguration"]
    check_keys(jc, V1BETA3["JoinConfiguration"], "JoinConfiguration")
    check_keys(jc["discovery"], V1BETA3["Discovery"], "Discovery")
    assert jc["discovery"]["timeout"] == rec.kubeadm_timeouts["discovery"]


def test_unknown_api_refused():
    with pytest.raises(RcarkitError):
        ee.emit_files(rec_raised(), "v1beta2")


# --- files per verdict, README ---------------------------------------------------------

def test_tmpfs_emits_units_and_readme_states_the_loss():
    rec = rec_tmpfs()
    files = ee.emit_files(rec)
    assert set(files) == {ee.KUBEADM_CONFIG, ee.KUBEADM_JOIN, "README.txt", "var-lib-etcd.mount",
                          "etcd-snapshot.service", "etcd-snapshot.timer", "etcd-snapshot.sh",
                          "etcd-restore.service", "etcd-restore.sh"}
    readme = files["README.txt"]
    assert "PERSISTENCE LOSS" in readme
    assert "kubeadm init --config kubeadm-config.yaml" in readme
    assert "systemctl enable --now var-lib-etcd.mount" in readme
    for name in ("var-lib-etcd.mount", "etcd-snapshot.service", "etcd-snapshot.timer",
                 "etcd-restore.service"):
        assert name in readme
    assert max(len(line) for line in readme.splitlines()
               if "://" not in line) <= 80


def _unit(text):
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    cp.read_string(text)
    return cp


def test_mount_unit_name_matches_where_and_systemd_escape():
    rec = rec_tmpfs()
    files = ee.emit_files(rec)
    unit = _unit(files["var-lib-etcd.mount"])
    assert unit["Mount"]["Where"] == rec.data_dir
    assert unit["Mount"]["Type"] == "tmpfs"
    assert "kubelet.service" in unit["Unit"]["Before"]
    tool = shutil.which("systemd-escape")
    if tool:
        out = subprocess.run([tool, "-p", "--suffix=mount", rec.data_dir],
                             capture_output=True, text=True, check=True).stdout.strip()
        assert out == "var-lib-etcd.mount"
    timer = _unit(files["etcd-snapshot.timer"])
    assert timer["Timer"]["OnUnitActiveSec"] == ee.SNAPSHOT_INTERVAL
    svc = _unit(files["etcd-snapshot.service"])
    assert svc["Service"]["ExecStart"] == ee.SNAPSHOT_SCRIPT
    restore = _unit(files["etcd-restore.service"])
    assert "kubelet.service" in restore["Unit"]["Before"]


def test_systemd_analyze_verify_accepts_the_units(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze not installed (apt-get install systemd)")
    rec = rec_tmpfs()
    ee.write_emit_dir(rec, tmp_path)
    units = ["var-lib-etcd.mount", "etcd-snapshot.service", "etcd-snapshot.timer",
             "etcd-restore.service"]
    r = subprocess.run([tool, "verify"] + ["./" + u for u in units], cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=60)
    complaints = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]
    # The scripts are installed by the user (README): their absence is the only
    # thing systemd may point out here. A wrong mount unit name, a bad timer
    # value or an unknown key would show up as other lines.
    others = [c for c in complaints
              if not (("rcarkit-etcd-snapshot" in c or "rcarkit-etcd-restore" in c)
                      and "not executable" in c)]
    if any("Failed to" in c and "manager" in c for c in others):
        pytest.skip("systemd-analyze cannot run here: %s" % others[0])
    assert others == [], others


def test_non_tmpfs_verdicts_emit_no_units():
    for rec in (rec_raised(), rec_defaults(), rec_external()):
        names = set(ee.emit_files(rec))
        assert names == {ee.KUBEADM_CONFIG, ee.KUBEADM_JOIN, "README.txt"}


@pytest.mark.parametrize("path", ["/var/lib/etcd", "/", "/tmp//waldi/foobar/", "/a-b/c d",
                                  "/.hidden/x", "/x/.y", "/\u00e9/\u00fc", "/a\\b", "/a:b_c.d",
                                  "/a/./b", "relative/path", "/a+b@c", "/-"])
def test_systemd_escape_matches_the_tool(path):
    tool = shutil.which("systemd-escape")
    if tool is None:
        pytest.skip("systemd-escape not installed (apt-get install systemd)")
    out = subprocess.run([tool, "-p", path], capture_output=True, text=True, check=True)
    assert ee.systemd_escape_path(path) == out.stdout.strip()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(alphabet="abZ09-_.:/ \\\u00e9@+", min_size=1, max_size=12)
                .filter(lambda s: ".." not in s.split("/") and s.strip("/.") != ""),
                min_size=1, max_size=8))
def test_systemd_escape_matches_the_tool_on_generated_paths(paths):
    tool = shutil.which("systemd-escape")
    if tool is None:
        pytest.skip("systemd-escape not installed")
    paths = ["/" + p for p in paths]
    out = subprocess.run([tool, "-p", "--"] + paths, capture_output=True, text=True)
    if out.returncode != 0:
        # systemd refuses some (e.g. over-long or '..'); we must refuse or agree per path.
        return
    assert out.stdout.split() == [ee.systemd_escape_path(p) for p in paths]


def test_systemd_escape_refuses_dotdot():
    with pytest.raises(RcarkitError):
        ee.systemd_escape_path("/a/../b")


# --- writing: atomic, no overwrite of hand edits ------------------------------------------

def test_write_twice_then_keep_hand_edit_and_write_new_beside_it(tmp_path):
    out = tmp_path / "emit"
    rec = rec_tmpfs()
    written = ee.write_emit_dir(rec, out)
    assert {os.path.basename(p) for p in written} == set(ee.emit_files(rec))
    assert os.access(out / "etcd-restore.sh", os.X_OK)
    assert ee.write_emit_dir(rec, out) == []            # same inputs: nothing rewritten
    cfg = out / ee.KUBEADM_CONFIG
    # what our README tells the user to do: add their settings to this file
    cfg.write_text(cfg.read_text() + "  podSubnet: \"10.244.0.0/16\"  # my edit\n")
    written = ee.write_emit_dir(rec_raised(), out)
    assert str(cfg) + ".new" in written and str(cfg) not in written
    assert "# my edit" in cfg.read_text()               # the user's file is kept
    new = (out / (ee.KUBEADM_CONFIG + ".new")).read_text()
    assert "# my edit" not in new and "heartbeat-interval" in new
    # a third run with the same inputs rewrites nothing and still keeps the edit
    assert ee.write_emit_dir(rec_raised(), out) == []
    assert "# my edit" in cfg.read_text()
    assert ee.write_emit_dir(rec_raised(), out, force=True)
    assert "# my edit" not in cfg.read_text()
    assert not (out / (ee.KUBEADM_CONFIG + ".new")).exists()   # stale .new pruned


def test_emit_into_a_file_is_refused(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(RcarkitError):
        ee.write_emit_dir(rec_raised(), f)


# --- the tmpfs scripts against a real etcd -------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_etcd(data_dir, name, client, peer):
    proc = subprocess.Popen(
        ["etcd", "--name", name, "--data-dir", str(data_dir),
         "--listen-client-urls", "http://127.0.0.1:%d" % client,
         "--advertise-client-urls", "http://127.0.0.1:%d" % client,
         "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
         "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
         "--initial-cluster", "%s=http://127.0.0.1:%d" % (name, peer)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc


def _etcdctl(client, *args, check=True):
    env = dict(os.environ, ETCDCTL_API="3")
    return subprocess.run(["etcdctl", "--endpoints=http://127.0.0.1:%d" % client,
                           "--dial-timeout=2s", "--command-timeout=5s"] + list(args),
                          capture_output=True, text=True, env=env, check=check)


def _wait_ready(client, proc):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if _etcdctl(client, "endpoint", "health", check=False).returncode == 0:
            return True
        time.sleep(0.2)
    return False


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_snapshot_and_restore_scripts_with_real_etcd(tmp_path):
    if not (shutil.which("etcd") and shutil.which("etcdctl") and shutil.which("sh")):
        pytest.skip("etcd and etcdctl needed (apt-get install etcd-server etcd-client)")
    rec = rec_tmpfs()
    out = tmp_path / "emit"
    ee.write_emit_dir(rec, out)
    client, peer = _free_port(), _free_port()
    proc = _start_etcd(tmp_path / "orig", "node1", client, peer)
    try:
        assert _wait_ready(client, proc), "etcd did not start"
        _etcdctl(client, "put", "/registry/rcarkit", "kept-across-reboot")
        env = dict(os.environ, ETCD_ENDPOINT="http://127.0.0.1:%d" % client,
                   SNAPSHOT_DIR=str(tmp_path / "snaps"))
        r = subprocess.run(["sh", str(out / "etcd-snapshot.sh")], env=env,
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "snaps" / "snapshot.db").stat().st_size > 0
    finally:
        _stop(proc)
    # "Reboot": an empty tmpfs directory, the manifest kubeadm would have written.
    new_dir = tmp_path / "tmpfs"
    new_dir.mkdir()
    client2, peer2 = _free_port(), _free_port()
    manifest = tmp_path / "etcd.yaml"
    manifest.write_text("spec:\n  containers:\n  - command:\n    - etcd\n"
                        "    - --name=node1\n"
                        "    - --initial-advertise-peer-urls=http://127.0.0.1:%d\n" % peer2)
    env = dict(os.environ, ETCD_DATA_DIR=str(new_dir), SNAPSHOT_DIR=str(tmp_path / "snaps"),
               ETCD_MANIFEST=str(manifest))
    r = subprocess.run(["sh", str(out / "etcd-restore.sh")], env=env, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (new_dir / "member").is_dir()
    assert not (new_dir / ".rcarkit-restore").exists()
    # A second run leaves the restored data alone.
    r2 = subprocess.run(["sh", str(out / "etcd-restore.sh")], env=env, capture_output=True,
                        text=True)
    assert r2.returncode == 0 and "present" in r2.stdout
    proc = _start_etcd(new_dir, "node1", client2, peer2)
    try:
        assert _wait_ready(client2, proc), "restored etcd did not start"
        got = _etcdctl(client2, "get", "/registry/rcarkit", "--print-value-only")
        assert got.stdout.strip() == "kept-across-reboot"
    finally:
        _stop(proc)


@pytest.mark.parametrize("make", [rec_raised, rec_defaults, rec_tmpfs, rec_external])
def test_readme_reads_at_80_columns(make):
    files = ee.emit_files(make())
    readme = files["README.txt"]
    assert "kubeadm init --config kubeadm-config.yaml" in readme
    assert "kubeadm join --config kubeadm-join.yaml" in readme
    for line in readme.splitlines():
        if "://" not in line:          # a URL cannot be broken
            assert len(line) <= 80, line
    for name in files:
        assert name in readme          # every emitted file is named in the README
