"""rcarkit.etcd.fio against real fio output.

* The fixtures in ../shared/fio/*/fio-etcd-recipe.json (Debian fio 3.33, etcd's
  recipe) are read in place; expected numbers are read from them with plain
  ``json`` here, independently of the parser.
* A run of the installed fio with ``--output-format=json+``: fio's own
  percentiles are cross-checked against order statistics computed here from
  the per-bin counts (fio's definition: rank ceil(p/100 * N)).
* Older fio units (microsecond ``lat``/``clat``) and broken documents.
"""

import copy
import json
import math
import shutil
import subprocess
import tempfile

import pytest

from rcarkit.errors import RcarkitError
from rcarkit.etcd.fio import fio_sync_stats, load_fio_json, parse_fio_json, percentile_rank
from rcarkit.etcd.stats import ci_ranks

FIXTURE_NAMES = ["disk-vda", "loop-ext4-200iops", "loop-ext4-nothrottle", "tmpfs"]


@pytest.fixture(params=FIXTURE_NAMES)
def fixture_path(request, fio_dir):
    p = fio_dir / request.param / "fio-etcd-recipe.json"
    if not p.exists():
        pytest.skip("fixture %s missing" % p)
    return p


def test_real_fixtures_parse_to_their_own_numbers(fixture_path):
    raw = json.loads(fixture_path.read_text())
    job = raw["jobs"][0]
    lat = job["sync"]["lat_ns"]
    res = load_fio_json(fixture_path)
    assert res.version == raw["fio version"] == "fio-3.33"
    assert res.sync.unit == "ns"
    assert res.sync.count == lat["N"]
    assert res.bytes_written == job["write"]["io_bytes"]
    assert res.job.runtime_s == pytest.approx(job["job_runtime"] / 1000.0)
    for key, ns in lat["percentile"].items():
        assert res.sync.percentile(float(key)) == pytest.approx(ns * 1e-9, rel=1e-12)
    stats = fio_sync_stats(res)
    assert stats.engine == "fio"
    assert stats.p99 == pytest.approx(lat["percentile"]["99.000000"] * 1e-9)
    assert stats.p999 == pytest.approx(lat["percentile"]["99.900000"] * 1e-9)
    assert stats.max == pytest.approx(lat["max"] * 1e-9)
    assert stats.mean == pytest.approx(lat["mean"] * 1e-9)
    # conservative CI from the default percentile list brackets p99
    low, high = stats.p99_ci
    assert low <= stats.p99 <= high
    # write clat is there too and in seconds
    assert res.job.write_clat.count == job["write"]["clat_ns"]["N"]


def test_throttled_fixture_is_slow_and_tmpfs_fast(fio_dir):
    slow = fio_sync_stats(load_fio_json(fio_dir / "loop-ext4-200iops" / "fio-etcd-recipe.json"))
    fast = fio_sync_stats(load_fio_json(fio_dir / "tmpfs" / "fio-etcd-recipe.json"))
    assert slow.p99 > 0.010 > fast.p99


def _to_microsecond_format(raw):
    """Rewrite a fio 3.x document the way older fio wrote it (us, no _ns)."""
    old = copy.deepcopy(raw)
    for job in old["jobs"]:
        for section, keys in (("sync", ("lat_ns",)), ("write", ("clat_ns", "lat_ns", "slat_ns"))):
            for key in keys:
                block = job[section].pop(key)
                us = {k: (v / 1000.0 if isinstance(v, (int, float)) and k not in ("N",) else v)
                      for k, v in block.items() if k != "percentile"}
                if "percentile" in block:
                    us["percentile"] = {k: v / 1000.0 for k, v in block["percentile"].items()}
                job[section][key[:-3]] = us
    return old


def test_microsecond_units_of_older_fio(fio_dir):
    raw = json.loads((fio_dir / "loop-ext4-200iops" / "fio-etcd-recipe.json").read_text())
    new = parse_fio_json(json.dumps(raw))
    old = parse_fio_json(json.dumps(_to_microsecond_format(raw)))
    assert old.sync.unit == "us" and new.sync.unit == "ns"
    assert old.sync.percentile(99.0) == pytest.approx(new.sync.percentile(99.0))
    assert old.job.write_clat.mean == pytest.approx(new.job.write_clat.mean)


def test_notes_before_json_are_skipped(fio_dir):
    text = (fio_dir / "tmpfs" / "fio-etcd-recipe.json").read_text()
    res = parse_fio_json("note: both iodepth >= 1 and synchronous I/O engine are selected\n" + text)
    assert res.sync.count == 10029
    assert res.notes and "iodepth" in res.notes[0]


def test_multiple_jobs(fio_dir):
    raw = json.loads((fio_dir / "tmpfs" / "fio-etcd-recipe.json").read_text())
    second = copy.deepcopy(raw["jobs"][0])
    second["jobname"] = "other"
    raw["jobs"].append(second)
    res = parse_fio_json(json.dumps(raw))
    assert len(res.jobs) == 2 and res.job.name == raw["jobs"][0]["jobname"]
    assert any("2 jobs" in n for n in res.notes)


# --- broken input ----------------------------------------------------------------

def test_truncated_json_names_source_and_line(fio_dir, tmp_path):
    text = (fio_dir / "disk-vda" / "fio-etcd-recipe.json").read_text()
    bad = tmp_path / "cut.json"
    bad.write_text(text[: len(text) // 2])
    with pytest.raises(RcarkitError) as e:
        load_fio_json(bad)
    msg = str(e.value)
    assert str(bad) in msg and "malformed fio JSON" in msg
    assert e.value.line is not None and e.value.line > 1
    assert "\n" not in msg


@pytest.mark.parametrize("text,needle", [
    ("", "no JSON object"),
    ("fio: engine libaio not loadable\n", "no JSON object"),
    ("[1, 2]", "no JSON object"),
    ("{\n  \"jobs\": [1]\n}", "jobs[0] is not an object"),
    ('{"fio version": "fio-3.33"}', "no 'jobs' array"),
    ('{"jobs": []}', "empty 'jobs'"),
    ('{"jobs": [{"jobname": "x", "error": 5}]}', "failed with error 5"),
    ('{"jobs": [{"jobname": "x", "sync": {"lat_ns": {"N": "many"}}}]}', "non-numeric"),
])
def test_broken_documents(text, needle):
    with pytest.raises(RcarkitError) as e:
        parse_fio_json(text, source="x.json")
    assert needle in str(e.value) and "x.json" in str(e.value)


def test_no_sync_section_is_explained():
    res = parse_fio_json('{"fio version": "fio-2.2", "jobs": [{"jobname": "a", "write": {}}]}')
    with pytest.raises(RcarkitError) as e:
        fio_sync_stats(res)
    assert "fdatasync" in str(e.value)


# --- a fresh run of the installed fio ---------------------------------------------

@pytest.fixture(scope="module")
def fio_jsonplus_run():
    if shutil.which("fio") is None:
        pytest.skip("fio is not installed (apt install fio)")
    tmp = tempfile.mkdtemp(prefix="rcarkit-test-fio-", dir="/dev/shm" if
                           shutil.os.path.isdir("/dev/shm") else None)
    try:
        n_expected = (2 * 1024 * 1024) // 2300
        lo, hi = ci_ranks(n_expected, 0.99, 0.95)
        plist = "50:90:99:99.9:%.6f:%.6f" % (100.0 * (lo - 0.5) / n_expected,
                                             100.0 * (hi - 0.5) / n_expected)
        out = subprocess.run(
            ["fio", "--name=etcd", "--rw=write", "--ioengine=sync", "--fdatasync=1",
             "--size=2m", "--bs=2300", "--directory=" + tmp, "--output-format=json+",
             "--percentile_list=" + plist],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, check=True)
        return out.stdout.decode()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_fresh_fio_percentiles_match_bins(fio_jsonplus_run):
    raw = json.loads(fio_jsonplus_run)
    lat = raw["jobs"][0]["sync"]["lat_ns"]
    # independent order statistics from fio's bins
    bins = sorted((int(k), v) for k, v in lat["bins"].items())
    n = sum(c for _, c in bins)
    assert n == lat["N"] == (2 * 1024 * 1024) // 2300

    def order_stat(rank):
        acc = 0
        for value, count in bins:
            acc += count
            if acc >= rank:
                return value
        raise AssertionError

    for key, ns in lat["percentile"].items():
        rank = max(1, math.ceil(float(key) / 100.0 * n - 1e-7))
        assert order_stat(rank) == ns, key
    res = parse_fio_json(fio_jsonplus_run)
    stats = fio_sync_stats(res)
    assert stats.p99 == pytest.approx(lat["percentile"]["99.000000"] * 1e-9)
    lo, hi = ci_ranks(n, 0.99, 0.95)
    assert stats.p99_ci[0] == pytest.approx(order_stat(lo) * 1e-9)
    assert stats.p99_ci[1] == pytest.approx(order_stat(hi) * 1e-9)
    assert sum(c for _, c in stats.histogram) == n
    # the requested rank-percentiles come out at exactly those ranks
    for key in lat["percentile"]:
        if float(key) not in (50.0, 90.0, 99.0, 99.9):
            assert percentile_rank(float(key), n) in (lo, hi)
