"""``rcarkit report``: the board dossier, checked as a person sees it.

The documents are made by the real commands (check-kernel on the real R-Car
BSP config in ../shared/configs) and fio's own JSON in ../shared/fio; the
expected p99 values come from fio's JSON itself (``sync.lat_ns.percentile``),
not from our output. The HTML is parsed by html5lib (strict: any parse error
fails) and rendered by headless Chromium (Debian ``chromium``, about 3 s per
page): the screenshot must not be blank and the DOM Chromium built must hold
the title, the verdicts and a plot with non-empty lines.
"""

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
RCAR = SHARED / "configs" / "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"
FIO = {name: SHARED / "fio" / name / "fio-etcd-recipe.json"
       for name in ("disk-vda", "loop-ext4-200iops", "loop-ext4-nothrottle", "tmpfs")}


def rcarkit(*args, **kw):
    return subprocess.run([sys.executable, "-m", "rcarkit"] + [str(a) for a in args],
                          cwd=str(REPO), capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def kernel_doc(tmp_path_factory):
    path = tmp_path_factory.mktemp("docs") / "kernel.json"
    r = rcarkit("check-kernel", RCAR, "--format", "json")
    assert r.returncode == 1, r.stderr
    path.write_text(r.stdout)
    return path


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory, kernel_doc):
    out = tmp_path_factory.mktemp("report")
    r = rcarkit("report", kernel_doc, *FIO.values(), "-o", out, "--title", "R-Car H3 test")
    assert r.returncode == 1, r.stderr        # the BSP kernel lacks required options
    return out


def fio_p99_ms(path):
    job = json.loads(path.read_text())["jobs"][0]
    return job["sync"]["lat_ns"]["percentile"]["99.000000"] / 1e6


def test_html_is_valid_html5(report_dir):
    html5lib = pytest.importorskip("html5lib")
    parser = html5lib.HTMLParser(strict=True)
    parser.parse((report_dir / "report.html").read_text())   # raises on any parse error
    assert not parser.errors


def test_html_is_self_contained(report_dir):
    html = (report_dir / "report.html").read_text()
    assert "<script" not in html
    assert not re.search(r'\ssrc=|<link|@import|url\(', html), "a resource the page would load"
    assert all(tag.startswith("<a ") for tag in re.findall(r"<\w+[^>]*\shref=", html))
    assert "<style>" in html and "<svg" in html


def test_verdicts_and_todo_from_the_documents(report_dir, kernel_doc):
    md = (report_dir / "report.md").read_text()
    kernel = json.loads(kernel_doc.read_text())
    assert "| kernel | **NOT READY** | %s |" % kernel["verdict"] in md
    assert "| node | **not checked** |" in md
    # the exact fix command for the same config and profiles, and its file
    assert "--emit-fragment k8s.cfg" in md and str(RCAR) in md
    missing = [o["option"] for o in kernel["options"]
               if o["status"] == "missing" and o["required"]]
    assert missing[0] in md
    # the storage verdict comes from the fio runs: the 200-IOPS loop device is
    # above etcd's 10 ms, the others below (fio's own p99)
    assert fio_p99_ms(FIO["loop-ext4-200iops"]) > 10 > fio_p99_ms(FIO["disk-vda"])
    assert "loop-ext4-200iops slow" in md and "disk-vda fits" in md


def _x_of(svg, css_class, label=None):
    if label is None:
        m = re.search(r'<line class="%s" x1="([\d.]+)"' % css_class, svg)
        return float(m.group(1))
    m = re.search(r'<circle class="p99" cx="([\d.]+)" cy="[\d.]+" r="4" fill="#\w+"><title>%s p99'
                  % re.escape(label), svg)
    return float(m.group(1))


def test_plot_marks_etcd_limit_and_p99(report_dir):
    svg = (report_dir / "storage.svg").read_text()
    assert svg.count('class="series"') == 4
    x10 = _x_of(svg, "etcd-limit")
    for name, path in FIO.items():
        side = fio_p99_ms(path) > 10
        assert (_x_of(svg, "p99", name) > x10) == side, name
    assert svg.count('class="p99-interval"') == 4


def test_bad_documents_are_one_line_exit_2(tmp_path, kernel_doc):
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    r = rcarkit("report", bad, "-o", tmp_path / "o")
    assert r.returncode == 2 and "bad.json" in r.stderr and len(r.stderr.splitlines()) == 1
    r = rcarkit("report", kernel_doc, kernel_doc, "-o", tmp_path / "o")
    assert r.returncode == 2 and "a second check-kernel document" in r.stderr
    r = rcarkit("report", "/dev/null", "-o", tmp_path / "o")
    assert r.returncode == 2 and "not a regular file" in r.stderr
    r = rcarkit("report", kernel_doc)
    assert r.returncode == 2 and "-o" in r.stderr


def test_hand_edited_report_is_kept(tmp_path, kernel_doc):
    out = tmp_path / "o"
    assert rcarkit("report", kernel_doc, "-o", out, "-f", "md").returncode == 1
    (out / "report.md").write_text("my notes\n")
    r = rcarkit("report", kernel_doc, "-o", out, "-f", "md")
    assert r.returncode == 2 and "--force" in r.stderr
    assert (out / "report.md").read_text() == "my notes\n"
    assert rcarkit("report", kernel_doc, "-o", out, "-f", "md", "--force").returncode == 1


def chromium(*args, timeout=120):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "Debian's chromium is needed (.ci/run installs it)"
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu",
                               "--disable-quic", "--no-first-run",
                               "--disable-background-networking", "--disable-component-update",
                               "--disable-sync", "--user-data-dir=" + profile] + list(args),
                              capture_output=True, text=True, timeout=timeout)


def png_is_not_blank(path):
    """Decode the PNG with zlib (no imaging library) and count distinct pixels."""
    import struct
    import zlib
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, bpp = 8, b"", 0, 0, 4
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            bpp = {2: 3, 6: 4, 0: 1, 4: 2}[color] * depth // 8
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp + 1
    colors = set()
    for row in range(0, height, 7):   # the filter byte makes rows differ; sample bytes
        line = raw[row * stride + 1:(row + 1) * stride]
        colors.update(line[i:i + bpp] for i in range(0, len(line), bpp * 13))
    return width, height, len(colors)


def test_chromium_renders_the_report(report_dir, tmp_path):
    png = tmp_path / "shot.png"
    url = (report_dir / "report.html").resolve().as_uri()
    r = chromium("--screenshot=%s" % png, "--window-size=1200,2400", url)
    assert png.is_file(), r.stderr[-2000:]
    width, height, colors = png_is_not_blank(png)
    assert (width, height) == (1200, 2400)
    assert colors > 20, "a blank page"
    dom = chromium("--dump-dom", url).stdout
    assert "<title>R-Car H3 test</title>" in dom
    for area, word in (("kernel", "NOT READY"), ("node", "not checked"), ("storage", "READY")):
        m = re.search(r'id="verdict-%s">\s*<h3>%s</h3>\s*<div class="status">([^<]+)</div>'
                      % (area, area), dom)
        assert m and m.group(1) == word, area
    paths = re.findall(r'<path class="series" d="([^"]*)"', dom)
    assert len(paths) == 4 and all(len(d.split("L")) > 3 for d in paths)


def test_run_makes_the_documents_then_the_report(tmp_path):
    """--run on a board root (a fixture board without VXLAN), etcd-bench on a
    directory given with --etcd-path: the three documents are kept and the
    report shows the missing option and a measured storage path."""
    sys.path.insert(0, str(REPO / "tests"))
    import fleet_fixtures
    root = fleet_fixtures.make_roots(tmp_path / "roots", 1, drop_option=(1, "VXLAN"))[0]
    data = tmp_path / "etcd-data"
    data.mkdir()
    out = tmp_path / "report"
    r = rcarkit("report", "--run", "--root", root, "--etcd-path", data, "--etcd-max-time", "2",
                "-o", out)
    assert r.returncode == 1, r.stderr
    docs = sorted(p.name for p in (out / "documents").glob("[!.]*.json"))
    assert docs == ["check-kernel.json", "check-node.json", "etcd-bench.json"]
    md = (out / "report.md").read_text()
    assert "| kernel | **NOT READY** |" in md and "VXLAN" in md
    assert str(data) in md and (out / "storage.svg").is_file()
    assert not list(data.iterdir()), "etcd-bench left its file behind"
    # without --etcd-path nothing is written to a disk, and the stale etcd-bench
    # document of the first run is gone
    r = rcarkit("report", "--run", "--root", root, "-o", out)
    assert r.returncode == 1, r.stderr
    assert not (out / "documents" / "etcd-bench.json").exists()
    assert "| storage | **not checked** |" in (out / "report.md").read_text()
    r = rcarkit("report", "--root", root, "-o", out)
    assert r.returncode == 2 and "only used with --run" in r.stderr
