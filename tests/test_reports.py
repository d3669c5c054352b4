"""reports/ is what tools/make_reports.py makes now: regenerate it and compare.

Fails when a profile, the renderer or the report command changed and nobody
ran ``python3 tools/make_reports.py`` (about 10 s: six configs, three board
reports). The screenshot ``report.png`` is left out (Chromium's pixels vary
by version); test_dossier checks a rendering.
"""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _files(root):
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*")
            if p.is_file() and p.suffix != ".png"}


def test_reports_are_fresh(tmp_path):
    r = subprocess.run([sys.executable, str(REPO / "tools" / "make_reports.py"), "--out",
                        str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    made, kept = _files(tmp_path), _files(REPO / "reports")
    assert sorted(made) == sorted(kept), "run python3 tools/make_reports.py"
    stale = [name for name in made if made[name].read_bytes() != kept[name].read_bytes()]
    assert not stale, "stale (run python3 tools/make_reports.py): %s" % stale


def test_board_reports_show_the_fio_verdicts():
    """The board report's storage row agrees with fio's own p99 of the same run."""
    import json
    shared = REPO.parent / "shared" / "fio"
    md = (REPO / "reports" / "boards" / "rcar-h3-bsp-v3.21.0" / "report.md").read_text()
    job = json.loads((shared / "loop-ext4-200iops" / "fio-etcd-recipe.json").read_text())["jobs"][0]
    p99_ms = job["sync"]["lat_ns"]["percentile"]["99.000000"] / 1e6
    assert p99_ms > 10
    assert "loop-ext4-200iops slow" in md
    assert "| storage | **NOT READY** |" in md or "| storage | **READY** |" in md
