"""check-node on this machine, for real: its JSON against facts read independently.

The machine running the tests is a live Linux system (in CI a 6.18 x86_64 VM
with /proc/config.gz). The test does not predict the verdict; it checks that
what check-node reports matches what the test reads itself: swap from
/proc/swaps, the cgroup hierarchy from /proc/mounts, CPUs from
os.sched_getaffinity / os.cpu_count, memory from sysconf, the release from
uname, ip_forward from /proc/sys. Run through typer's CliRunner and as a
subprocess (``python3 -m rcarkit``).
"""

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or
                                not os.path.isfile("/proc/mounts"),
                                reason="needs a live Linux /proc")


def _by_name(data, group, name):
    rows = [o for o in data["options"] if o["profile"] == group and o["option"] == name]
    assert len(rows) == 1, (group, name)
    return rows[0]


@pytest.fixture(scope="module")
def live_json():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "rcarkit", "check-node", "--format", "json"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, cwd=str(REPO), timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    assert data["exit_code"] == proc.returncode
    return data


def test_release_and_root(live_json):
    assert live_json["kernel_release"] == os.uname().release
    assert live_json["live"] is True and live_json["root"] == "/"


def test_swap_matches_proc_swaps(live_json):
    with open("/proc/swaps") as fh:
        active = [line.split()[0] for line in fh.read().splitlines()[1:] if line.strip()]
    row = _by_name(live_json, "swap", "swap")
    assert row["status"] == ("wrong-value" if active else "ok")
    assert (live_json["node"]["swap"]["total_kb"] > 0) == bool(active)
    for dev in active:
        assert dev in row["actual"]


def test_cgroup_version_matches_proc_mounts(live_json):
    with open("/proc/mounts") as fh:
        entries = [line.split() for line in fh if line.strip()]
    v2_root = any(e[1] == "/sys/fs/cgroup" and e[2] == "cgroup2" for e in entries)
    v1 = any(e[2] == "cgroup" for e in entries)
    v2_any = any(e[2] == "cgroup2" for e in entries)
    expected = "v2" if v2_root else ("hybrid" if v1 and v2_any else ("v1" if v1 else None))
    assert live_json["node"]["cgroup"]["version"] == expected
    row = _by_name(live_json, "cgroups", "cgroup version")
    if expected == "v2":
        assert row["status"] == "ok"
    elif expected:
        assert row["status"] == "wrong-value"


def test_cpus_and_memory(live_json):
    cpus = live_json["node"]["cpus"]
    assert cpus["online"] == os.cpu_count()
    assert cpus["usable"] == len(os.sched_getaffinity(0))
    total_mb = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)
    assert abs(live_json["node"]["memory_mb"] - total_mb) <= 1
    row = _by_name(live_json, "resources", "CPUs")
    assert row["status"] == ("ok" if len(os.sched_getaffinity(0)) >= 2 else "wrong-value")


def test_ip_forward_matches_proc(live_json):
    with open("/proc/sys/net/ipv4/ip_forward") as fh:
        value = fh.read().strip()
    row = _by_name(live_json, "sysctl", "net.ipv4.ip_forward")
    assert row["actual"].split()[0] == value
    assert (row["status"] in ("ok", "warning")) == (value == "1")


def test_modules_group_follows_the_config(live_json):
    """/proc/config.gz =m options the profiles need each get a module row."""
    import gzip
    if not os.path.isfile("/proc/config.gz"):
        pytest.skip("no /proc/config.gz")
    with gzip.open("/proc/config.gz", "rt") as fh:
        m_symbols = set(line.split("=")[0][7:] for line in fh if line.rstrip().endswith("=m"))
    rows = [o for o in live_json["options"] if o["profile"] == "modules"]
    for o in rows:
        for sym in o["symbols"]:
            assert sym in m_symbols
    if not m_symbols:
        assert [o["actual"] for o in rows] == ["none needed"]


def test_cli_runner_agrees_with_subprocess(live_json):
    from typer.testing import CliRunner
    from rcarkit.cli.app import app
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    res = runner.invoke(app, ["check-node", "--format", "json"])
    assert res.exit_code == live_json["exit_code"]
    data = json.loads(res.stdout)
    assert data["node"]["cgroup"]["version"] == live_json["node"]["cgroup"]["version"]
    assert data["node"]["cpus"] == live_json["node"]["cpus"]


def test_table_fits_80_columns():
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="80")
    proc = subprocess.run([sys.executable, "-m", "rcarkit", "check-node", "--role", "worker"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, cwd=str(REPO), timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    assert "VERDICT:" in proc.stdout
    # the VERDICT line is the shared printer's (rcarkit.render) and may be longer
    table = [line for line in proc.stdout.splitlines() if not line.startswith("VERDICT:")]
    assert max(len(line) for line in table) <= 80
