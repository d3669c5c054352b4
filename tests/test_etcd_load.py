"""etcd-bench --load etcd: the WAL writer and the bbolt-style committer together.

Fast checks on a directory under /dev/shm (tmpfs) or the test's tmp_path;
the calibration against a real etcd is tests/test_etcd_calibration.py (slow).
Expected values come from etcd's and bbolt's sources (cited in
rcarkit/etcd/load.py), not from our own output.
"""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rcarkit.etcd import load as etcd_load
from rcarkit.etcd.bench import measure_path
from rcarkit.etcd.stats import FsyncStats

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def work_dir(tmp_path):
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) \
        else str(tmp_path)
    import tempfile
    d = tempfile.mkdtemp(prefix="rcarkit-test-load-", dir=base)
    yield d
    import shutil
    shutil.rmtree(d, ignore_errors=True)


def test_model_constants_are_etcds():
    # etcd server/storage/wal/wal.go SegmentSizeBytes; backend.go defaults; bbolt
    # db.go DefaultAllocSize; etcd FAQ limits.
    assert etcd_load.WAL_SEGMENT_BYTES == 64 * 1000 * 1000
    assert etcd_load.BATCH_INTERVAL_S == 0.1 and etcd_load.BATCH_LIMIT == 10000
    assert etcd_load.BBOLT_ALLOC_SIZE == 16 * 1024 * 1024
    assert (etcd_load.WAL_P99_MAX_S, etcd_load.BACKEND_P99_MAX_S) == (0.010, 0.025)


def test_paced_writers_follow_the_schedule(work_dir):
    seen = {}

    def stop_check(wal, backend, elapsed):
        # look at the files while the writers run (the caller removes them after)
        if elapsed > 1.0 and not seen:
            member = os.path.join(work_dir, "member")
            seen["wal"] = os.path.getsize(os.path.join(
                member, "wal", "0000000000000000-0000000000000000.wal"))
            seen["db"] = os.path.getsize(os.path.join(member, "snap", "db"))
        return False

    run = etcd_load.run_etcd_load(work_dir, etcd_load.EtcdLoadConfig(write_rate=40.0),
                                  max_time=3.0, stop_check=stop_check)
    assert run.stopped_because == "max-time"
    # open-loop arrivals at 40/s for ~3 s; tmpfs never falls behind, so one
    # fdatasync per request
    assert 100 <= run.requests <= 130, run.requests
    assert len(run.wal_samples) == run.requests
    assert run.wal_bytes == run.requests * 2300
    # one commit per 100 ms batch interval at most (40 requests/s > 10 commits/s)
    assert 20 <= run.commits <= 32, run.commits
    assert len(run.backend_samples) == run.commits
    # the WAL segment is preallocated to SegmentSizeBytes, the db file grown by
    # bbolt's 16 MiB allocation step past its 4 initial pages
    assert seen["wal"] == 64 * 1000 * 1000
    assert seen["db"] >= 16 * 1024 * 1024
    # each commit writes at least a leaf, tree_pages and the meta page
    assert run.backend_pages >= run.commits * (1 + etcd_load.TREE_PAGES + 1)


def test_saturated_mode_has_no_pauses(work_dir):
    run = etcd_load.run_etcd_load(work_dir, etcd_load.EtcdLoadConfig(write_rate=None),
                                  max_time=1.0)
    assert run.requests > 200  # tmpfs: thousands per second, never paced
    assert run.commits <= 12


def test_writer_error_reaches_the_caller(work_dir):
    os.makedirs(os.path.join(work_dir, "member", "wal"))  # makedirs in the run fails
    with pytest.raises(OSError):
        etcd_load.run_etcd_load(work_dir, max_time=1.0)
    assert threading.active_count() < 10


def test_measure_path_etcd_load_fields(work_dir):
    m = measure_path(work_dir, load="etcd", write_rate=50.0, max_time=2.0)
    d = m.to_dict()
    assert d["load"] == "etcd" and d["write_rate"] == 50.0
    assert d["backend_stats"]["count"] == m.backend_stats.count > 0
    assert d["stats"]["count"] == d["load_details"]["wal_syncs"]
    assert set(d["backend_thresholds_decided"]) == {"25ms"}
    assert not [n for n in os.listdir(work_dir) if n.startswith("rcarkit-etcd-bench-")]


def test_resolve_load_auto():
    need = etcd_load.etcd_load_seconds(10.0)
    assert etcd_load.resolve_load("auto", "rcarkit", 10.0, need + 1, need) == "auto"
    assert etcd_load.resolve_load("auto", "rcarkit", 10.0, 2.0, need) == "saturated"
    assert etcd_load.resolve_load("auto", "fio", 10.0, 600, need) == "saturated"
    assert etcd_load.resolve_load("saturated", "rcarkit", 10.0, 600, need) == "saturated"
    # backend commits come at most every 100 ms, so a faster request rate does
    # not make the decision faster than the commit rate allows
    assert etcd_load.etcd_load_seconds(1000.0) == etcd_load.etcd_load_seconds(10.0)
    assert etcd_load.etcd_load_seconds(1.0) == 10 * etcd_load.etcd_load_seconds(10.0)


def test_auto_choice_against_a_fifth_of_fios_recipe():
    # the probe wrote 1000 blocks of 2300 B in 10 s: fio's 22 MiB (23068672 B)
    # would take 23068672 / 230000 = 100.3 s; a fifth (20.1 s) cannot hold the
    # probe plus etcd's load (528 commits at 10/s = 52.8 s)
    c = etcd_load.auto_choice(10.0, 2300 * 1000, 10.0, 60.0)
    assert c["load"] == "saturated"
    assert abs(c["fio_projected_s"] - 100.3) < 0.05 and c["etcd_load_s"] == 52.8
    # 30 write IOPS-like: 100 blocks in 10 s -> fio ~1003 s, a fifth ~200 s
    assert etcd_load.auto_choice(10.0, 2300 * 100, 10.0, 60.0)["load"] == "etcd"
    # ... unless --max-time leaves etcd's load too little time
    assert etcd_load.auto_choice(10.0, 2300 * 100, 10.0, 30.0)["load"] == "saturated"
    # a slower request rate means fewer commits per second: more time needed
    assert etcd_load.auto_choice(10.0, 2300 * 100, 1.0, 60.0)["load"] == "saturated"


def _measurement(wal, backend):
    from rcarkit.etcd.bench import PathMeasurement
    from rcarkit.etcd.device import StorageDevice
    dev = StorageDevice(path="/data", mountpoint="/", fstype="ext4", mount_options=[],
                        device="/dev/nvme0n1p1", kind="ssd", rotational=False, model=None,
                        persistent=True)
    return PathMeasurement(path="/data", device=dev, stats=FsyncStats.from_samples(wal),
                           block_size=2300, bytes_written=0, elapsed=60.0,
                           stopped_because="decided", thresholds_decided={},
                           load="etcd", write_rate=10.0,
                           backend_stats=FsyncStats.from_samples(backend))


def test_backend_commits_over_25ms_block_local_defaults():
    from rcarkit.etcd import advice
    wal = [0.001] * 600                      # WAL fits easily
    fast = advice.recommend([_measurement(wal, [0.005] * 600)])
    slow = advice.recommend([_measurement(wal, [0.040] * 600)])
    assert fast.verdict == advice.LOCAL_DEFAULTS
    assert slow.verdict != advice.LOCAL_DEFAULTS
    assert any("backend commit p99 40.00 ms" in w for w in slow.why)
    assert any("rests on etcd's load at 10 writes/s" in w for w in slow.why)


def _cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "rcarkit", "etcd-bench", *map(str, args)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(REPO),
                          timeout=timeout)


def test_cli_short_run_falls_back_to_saturated_and_says_so(work_dir):
    r = _cli("--max-time", "2", work_dir, "--format", "json")
    assert r.returncode in (0, 1), r.stderr.decode()
    doc = json.loads(r.stdout)
    assert doc["measurements"][0]["load"] == "saturated"
    assert doc["measurements"][0]["backend_stats"] is None
    assert any("saturated single writer" in w for w in doc["recommendation"]["why"])


def test_cli_load_etcd_table_shows_both(work_dir):
    r = _cli("--max-time", "2", "--load", "etcd", "--write-rate", "50", work_dir)
    assert r.returncode in (0, 1), r.stderr.decode()
    out = r.stdout.decode()
    assert "etcd load at 50 writes/s" in out
    assert "  WAL " in out and "  commit " in out
    assert max(len(line) for line in out.splitlines()) <= 80


@pytest.mark.parametrize("args,word", [
    (["--write-rate", "-1"], "--write-rate"),
    (["--load", "bogus"], "--load"),
    (["--load", "etcd", "--engine", "fio"], "--engine"),
])
def test_cli_bad_load_options(tmp_path, args, word):
    r = _cli(tmp_path, *args)
    assert r.returncode == 2
    err = r.stderr.decode().strip().splitlines()
    assert len(err) == 1 and word in err[0], err
