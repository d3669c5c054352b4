"""Fleet checks on planted documents: what only a fleet shows (rcarkit.fleet.model).

The documents are check-kernel's and check-node's own output on fixture roots
(tests/fleet_fixtures.py) with one fact changed per test; the probe documents
are written here with known clock readings and round trips.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fleet_fixtures  # noqa: E402

REPO = HERE.parent


def rcarkit(*args):
    return subprocess.run([sys.executable, "-m", "rcarkit"] + [str(a) for a in args],
                          capture_output=True, text=True, cwd=str(REPO))


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """Three boards' documents, as the playbook lays them out (no probe yet)."""
    base = tmp_path_factory.mktemp("fleet")
    roots = fleet_fixtures.make_roots(base / "roots", 3)
    out = base / "collected"
    for root in roots:
        d = out / root.name
        d.mkdir(parents=True)
        for cmd, extra in (("check-kernel", [root / "proc" / "config.gz"]),
                           ("check-node", ["--root", root])):
            r = rcarkit(cmd, *extra, "--format", "json")
            assert r.returncode in (0, 1), r.stderr
            (d / ("%s.json" % cmd)).write_text(r.stdout)
    return out


def fleet_json(directory):
    r = rcarkit("report", "--fleet", directory, "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    return {c["check"]: c for c in json.loads(r.stdout)["checks"]}, r.returncode


def copy_with(collected, tmp_path, edit):
    target = tmp_path / "c"
    shutil.copytree(str(collected), str(target))
    edit(target)
    return target


def test_clean_fleet_passes(collected):
    checks, code = fleet_json(collected)
    assert code == 0 and all(c["status"] == "ok" for c in checks.values()), checks


def _edit_node(path, fn):
    doc = json.loads(path.read_text())
    fn(doc["node"])
    path.write_text(json.dumps(doc))


def test_cloned_image_mac_and_hostname(collected, tmp_path):
    def edit(d):
        _edit_node(d / "board-03" / "check-node.json", lambda n: n.update(
            hostname="board-01", interfaces=[{"name": "eth0", "address": "2E:09:0A:00:00:01",
                                              "addr_assign_type": "0"}]))
    checks, code = fleet_json(copy_with(collected, tmp_path, edit))
    assert code == 1
    assert checks["hostname"]["hosts"] == ["board-01", "board-03"]
    assert checks["mac"]["hosts"] == ["board-01", "board-03"]      # case does not hide it
    assert checks["product_uuid"]["status"] == "ok"


def test_clock_skew_and_unreachable_peer(collected, tmp_path):
    def edit(d):
        t = 1796000000.0
        for i, board in enumerate(("board-01", "board-02", "board-03")):
            skew = {"board-02": 5.0}.get(board, 0.2)
            probe = {"command": "fleet-probe", "host": board, "controller_before": t,
                     "controller_after": t + 0.4, "board_time": t + 0.2 + skew,
                     "rtt": [{"peer": "board-0%d" % ((i + 1) % 3 + 1), "address": "x:22",
                              "samples_ms": [] if board == "board-03" else [0.5] * 20,
                              "failures": 3 if board == "board-03" else 0}]}
            (d / board / "probe.json").write_text(json.dumps(probe))
    checks, code = fleet_json(copy_with(collected, tmp_path, edit))
    assert code == 1
    # 5 s off with +-0.2 s uncertainty: beyond etcd's 1 s; 0.2 s is within it
    assert checks["clock-skew"]["status"] == "fail" and checks["clock-skew"]["hosts"] == ["board-02"]
    assert checks["etcd-rtt"]["status"] == "fail" and checks["etcd-rtt"]["hosts"] == ["board-03"]


def test_kernel_release_skew_is_a_warning(collected, tmp_path):
    def edit(d):
        p = d / "board-02" / "check-node.json"
        doc = json.loads(p.read_text())
        doc["kernel_release"] = "6.6.0-rcar"
        p.write_text(json.dumps(doc))
    checks, code = fleet_json(copy_with(collected, tmp_path, edit))
    assert checks["kernel-version"]["status"] == "warn"
    assert "6.6.0-rcar on board-02" in checks["kernel-version"]["summary"]


def test_not_a_fleet_dir_is_exit_2(tmp_path):
    r = rcarkit("report", "--fleet", tmp_path / "nope", "-o", tmp_path / "o")
    assert r.returncode == 2 and "not a directory" in r.stderr
    (tmp_path / "empty").mkdir()
    r = rcarkit("report", "--fleet", tmp_path / "empty", "-o", tmp_path / "o")
    assert r.returncode == 2 and "no host directories" in r.stderr


def test_fleet_html_is_valid_and_links_each_board(collected, tmp_path):
    html5lib = pytest.importorskip("html5lib")
    out = tmp_path / "o"
    r = rcarkit("report", "--fleet", collected, "-o", out)
    assert r.returncode == 0, r.stderr
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    page = (out / "fleet.html").read_text()
    parser = html5lib.HTMLParser(strict=True)
    parser.parse(page)
    for board in ("board-01", "board-02", "board-03"):
        assert 'href="hosts/%s/report.html"' % board in page
        parser.parse((out / "hosts" / board / "report.html").read_text())
    assert "<script" not in page
