"""k3s's datastore: SQLite with kine's settings (rcarkit.etcd.kine) and the
k3s line of the verdict.

The expected settings come from kine's source, not from our code: the DSN in
k3s-io/kine pkg/drivers/sqlite/sqlite.go (``_journal=WAL``,
``_busy_timeout=30000``) and the go-sqlite3 driver's default synchronous mode
(``NORMAL`` = 1, https://www.sqlite.org/pragma.html#pragma_synchronous).
"""

import os

from rcarkit.etcd import advice as ea
from rcarkit.etcd.bench import TEMP_PREFIX
from rcarkit.etcd.kine import KineMeasurement, measure_kine
from rcarkit.etcd.stats import FsyncStats
from test_etcd_advice import MS, measurement, stats


def test_commits_use_kines_pragmas_and_clean_up(tmp_path):
    seen = {}

    def progress(frac, text):
        # while running: our temp dir holds kine's database in WAL mode
        if "files" not in seen:
            sub = [p for p in os.listdir(tmp_path) if p.startswith(TEMP_PREFIX)]
            seen["files"] = sorted(os.listdir(tmp_path / sub[0])) if sub else []

    k = measure_kine(tmp_path, min_time=0.3, max_time=2.0, progress=progress)
    assert k.pragmas == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 30000}
    assert k.commits == k.stats.count > 0 and k.stats.ci_method == "batch means"
    assert "state.db" in seen["files"] and "state.db-wal" in seen["files"]
    assert os.listdir(tmp_path) == []
    d = k.to_dict()
    assert d["limit_p99_ms"] == 25.0 and d["stats"]["count"] == k.commits


def _kine(path, p99, ci, mx=None):
    st = FsyncStats(count=5000, p50=p99 / 10, p90=p99 / 5, p99=p99, p999=p99 * 2,
                    max=mx if mx is not None else p99 * 3, mean=p99 / 10, p99_ci=ci,
                    p999_ci=(float("nan"), float("nan")), histogram=[], engine="sqlite-kine",
                    slow_count=int((mx or 0) >= 1.0))
    return KineMeasurement(path=path, stats=st, elapsed=10.0, stopped_because="decided",
                           value_bytes=2300, commits=5000)


def test_etcd_missed_but_sqlite_fits_says_single_server_k3s():
    slow = measurement("/var/lib/rancher", stats(40 * MS, ci=(30 * MS, 50 * MS), mx=90 * MS),
                       kind="sd", dev="/dev/mmcblk0p2")
    rec = ea.recommend([slow], kine=[_kine("/var/lib/rancher", 3 * MS, (2 * MS, 4 * MS))])
    assert rec.verdict == ea.LOCAL_RAISED
    assert rec.k3s["fits"] is True and rec.k3s["etcd_verdict"] == ea.LOCAL_RAISED
    line = [w for w in rec.why if w.startswith("k3s:")][0]
    assert "SINGLE-SERVER k3s" in line and "etcd's limits are missed" in line
    assert "k3s-datastore" in rec.references


def test_sqlite_missing_too_is_said():
    slow = measurement("/d", stats(40 * MS, ci=(30 * MS, 50 * MS), mx=90 * MS))
    rec = ea.recommend([slow], kine=[_kine("/d", 60 * MS, (40 * MS, 80 * MS))])
    assert rec.k3s["fits"] is False
    assert any(w.startswith("k3s:") and "struggle" in w for w in rec.why)
    # a commit of a second or more fails it whatever the p99
    rec = ea.recommend([slow], kine=[_kine("/d", 3 * MS, (2 * MS, 4 * MS), mx=1.5)])
    assert rec.k3s["fits"] is False


def test_no_k3s_section_without_k3s():
    rec = ea.recommend([measurement("/d", stats(2 * MS, ci=(1 * MS, 3 * MS)))])
    assert rec.k3s is None and not any(w.startswith("k3s:") for w in rec.why)
    assert rec.to_dict()["k3s"] is None

