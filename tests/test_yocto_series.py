"""--layer-series: the override syntax each Yocto release parses (issue 11 item 5).

Oracles:
* The Yocto Project migration guide for 3.4 (honister), "Override syntax
  changes" (https://docs.yoctoproject.org/migration-guides/migration-3.4.html
  #override-syntax-changes): from honister on, ``:`` separates overrides
  (``SRC_URI:append:qemux86``); before it, ``_`` did (``SRC_URI_append_qemux86``),
  and BitBake before 1.46 (dunfell) knows only that form. The rules are
  written out here as regular expressions, independent of rcarkit's table.
* BitBake 2.8 itself (poky scarthgap, ../shared/yocto): its datastore refuses
  the old form ("contains an operation using the old override syntax") and
  parses the new one to the expected SRC_URI for a machine with the override;
  tests/test_bitbake_parse.py parses the whole scarthgap layer with the BSPs.
* oelint-adv's per-release rule sets (--release dunfell / kirkstone /
  scarthgap): the layer written for a release is clean for that release, and
  the old-syntax layer is flagged when linted as kirkstone.
* Kernel-version warning: the symbol history in kconfig_profiles/
  (CFQ_GROUP_IOSCHED removed in 5.0, kernel commit f382fb0bcef4) and the
  LINUX_VERSION of the recipes in ../shared/yocto (read here from the archive).
"""

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from conftest import CONFIGS, REPO, SHARED

RCAR_414 = "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"
YOCTO = SHARED / "yocto"

# migration-3.4: the operations and the separator
_OLD = re.compile(r"^(FILESEXTRAPATHS_prepend|SRC_URI_append)_(?P<o>[a-z0-9-]+)\s*:?=")
_NEW = re.compile(r"^(FILESEXTRAPATHS:prepend|SRC_URI:append):(?P<o>[a-z0-9-]+)\s*:?=")
BEFORE_HONISTER = ("thud", "dunfell")
FROM_HONISTER = ("kirkstone", "scarthgap")


def _run(args, cwd):
    return subprocess.run([sys.executable, "-m", "rcarkit"] + args, cwd=str(cwd),
                          capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin",
                               "LC_ALL": "C.UTF-8"})


@pytest.fixture(scope="module")
def series_layers(tmp_path_factory, configs_dir):
    root = tmp_path_factory.mktemp("series")
    out = {}
    for series in BEFORE_HONISTER + FROM_HONISTER:
        proc = _run(["yocto-layer", str(CONFIGS / RCAR_414), "--proxy-mode", "ipvs",
                     "--with-optional", "--layer-series", series, "-o",
                     str(root / series / "meta-k8s"), "--format", "json"], root)
        assert proc.returncode == 0, proc.stderr
        out[series] = (root / series / "meta-k8s", json.loads(proc.stdout), proc.stderr)
    return out


def _assignments(layer):
    lines = []
    for app in sorted(layer.glob("**/*.bbappend")):
        lines += [l for l in app.read_text().splitlines()
                  if l.startswith(("FILESEXTRAPATHS", "SRC_URI"))]
    return lines


@pytest.mark.parametrize("series", BEFORE_HONISTER + FROM_HONISTER)
def test_override_syntax_follows_the_release(series_layers, series):
    layer, summary, _ = series_layers[series]
    lines = _assignments(layer)
    assert len(lines) == 8          # 4 R-Car BSP collections x 2 lines
    rule = _OLD if series in BEFORE_HONISTER else _NEW
    other = _NEW if series in BEFORE_HONISTER else _OLD
    assert all(rule.match(l) for l in lines), lines
    assert not any(other.match(l) for l in lines)
    assert {rule.match(l).group("o") for l in lines} == {"rcar-gen3", "rcar-gateway", "rcar",
                                                          "rcar-gen4"}
    conf = (layer / "conf" / "layer.conf").read_text()
    assert re.search(r'^LAYERSERIES_COMPAT_k8s = "%s"$' % series, conf, re.M)
    assert summary["layer_series"] == [series]
    assert summary["override_syntax"] == (":append" if series in FROM_HONISTER else "_append")
    # the README shows the same lines the bbappends carry
    readme = (layer / "README").read_text()
    assert all(l in readme for l in lines)


def test_unknown_series_is_refused_with_the_list(tmp_path, configs_dir):
    proc = _run(["yocto-layer", str(CONFIGS / RCAR_414), "--layer-series", "banana",
                 "-o", "meta-x"], tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "'banana'" in lines[0]
    for name in BEFORE_HONISTER + FROM_HONISTER + ("honister", "wrynose"):
        assert re.search(r"\b%s\b" % name, lines[0]), name
    assert not (tmp_path / "meta-x").exists()


def test_series_on_both_sides_of_honister_are_refused(tmp_path, configs_dir):
    proc = _run(["yocto-layer", str(CONFIGS / RCAR_414), "--layer-series", "dunfell kirkstone",
                 "-o", "meta-x"], tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "dunfell" in lines[0] and "kirkstone" in lines[0]
    assert not (tmp_path / "meta-x").exists()


def test_release_table_matches_the_migration_guide():
    from rcarkit.yocto.releases import RELEASES
    assert RELEASES["honister"].version == "3.4" and RELEASES["honister"].colon_overrides
    assert not RELEASES["hardknott"].colon_overrides
    assert (RELEASES["thud"].version, RELEASES["dunfell"].version,
            RELEASES["kirkstone"].version, RELEASES["scarthgap"].version) == \
        ("2.6", "3.1", "4.0", "5.0")
    names = list(RELEASES)
    assert names.index("honister") == names.index("hardknott") + 1
    assert all(r.colon_overrides == (names.index(n) >= names.index("honister"))
               for n, r in RELEASES.items())


@pytest.fixture(scope="module")
def bitbake_lib(tmp_path_factory):
    archive = YOCTO / "poky-scarthgap.tar.xz"
    if not archive.is_file():
        pytest.skip("../shared/yocto/poky-scarthgap.tar.xz not present")
    root = tmp_path_factory.mktemp("poky")
    with tarfile.open(str(archive)) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("poky/bitbake/lib/")]
        tar.extractall(str(root), members=members)
    return root / "poky" / "bitbake" / "lib"


_BB_PROBE = r'''
import logging, sys
logging.basicConfig(stream=sys.stderr)
sys.path.insert(0, sys.argv[1])
import bb.data, bb.parse.parse_py.ConfHandler as conf
d = bb.data.init()
d.setVar("OVERRIDES", "rcar-gen3")
try:
    conf.handle(sys.argv[2], d, True)
except BaseException as e:
    print("REFUSED", type(e).__name__)
else:
    print("SRC_URI=" + (d.getVar("SRC_URI") or ""))
'''


@pytest.mark.parametrize("series", ["dunfell", "scarthgap"])
def test_bitbake_28_refuses_the_old_syntax_and_parses_the_new(series_layers, bitbake_lib,
                                                              tmp_path, series):
    layer, _, _ = series_layers[series]
    app = next(layer.glob("dynamic-layers/rcar-gen3/**/*.bbappend"))
    conf = tmp_path / "append.conf"
    conf.write_text("\n".join(l for l in app.read_text().splitlines()
                              if l.startswith(("FILESEXTRAPATHS", "SRC_URI"))) + "\n")
    proc = subprocess.run([sys.executable, "-c", _BB_PROBE, str(bitbake_lib), str(conf)],
                          capture_output=True, text=True, timeout=120)
    if series == "scarthgap":
        assert "SRC_URI= file://rcarkit-k8s.cfg" in proc.stdout, proc.stdout + proc.stderr
    else:
        assert "REFUSED" in proc.stdout, proc.stdout + proc.stderr
        assert "old override syntax" in proc.stdout + proc.stderr


def _oelint():
    exe = shutil.which("oelint-adv")
    if exe:
        return [exe]
    pytest.importorskip("oelint_adv")
    return [sys.executable, "-m", "oelint_adv"]


@pytest.mark.parametrize("series,lint_as,clean", [
    ("dunfell", "dunfell", True), ("kirkstone", "kirkstone", True),
    ("scarthgap", "scarthgap", True), ("dunfell", "kirkstone", False)])
def test_oelint_per_release(series_layers, series, lint_as, clean):
    layer, _, _ = series_layers[series]
    apps = sorted(str(p) for p in layer.glob("**/*.bbappend"))
    proc = subprocess.run(_oelint() + ["--quiet", "--mode", "all", "--release", lint_as,
                                       "--jobs", "1", "--constantmods=+%s"
                                       % (layer / "oelint-constants.json")] + apps,
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    if clean:
        assert proc.returncode == 0 and not out.strip(), out
    else:
        assert proc.returncode != 0 and "SRC_URI_append_rcar-gen3" in out, out


def _linux_versions():
    """{layer: LINUX_VERSION} of linux-renesas_5.10.bb in the meta-renesas archive."""
    archive = YOCTO / "meta-renesas-scarthgap.tar.xz"
    if not archive.is_file():
        pytest.skip("../shared/yocto archives not present")
    out = {}
    with tarfile.open(str(archive)) as tar:
        for m in tar.getmembers():
            if m.name.endswith("recipes-kernel/linux/linux-renesas_5.10.bb"):
                text = tar.extractfile(m).read().decode()
                v = re.search(r'^LINUX_VERSION \?= "([^"]+)"', text, re.M)
                out[m.name.split("/")[1]] = v.group(1)
    return out


def test_recipe_versions_are_the_archives():
    from rcarkit.yocto.releases import RECIPE_KERNELS
    versions = _linux_versions()
    assert set(versions) == {"meta-rcar-gen3", "meta-rcar-gateway", "meta-rcar-bsp"}
    for k in RECIPE_KERNELS:
        if k.bsp in versions:
            assert k.version == versions[k.bsp], k


def test_warns_when_the_config_is_not_the_recipes_kernel(series_layers):
    _, summary, stderr = series_layers["scarthgap"]
    text = " ".join(summary["warnings"])
    assert "4.14.75" in text and "5.10.218" in text and "${B}/.config" in text
    # the 4.14 fragment asks for CFQ_GROUP_IOSCHED, which 5.10 does not have
    assert "CFQ_GROUP_IOSCHED=y" in (series_layers["scarthgap"][0] / "recipes-kernel/linux/"
                                     "files/rcarkit-k8s.cfg").read_text()
    assert re.search(r"CONFIG_CFQ_GROUP_IOSCHED .*5\.0", text)
    assert stderr.startswith("rcarkit: warning:") and "Traceback" not in stderr
    # on a release rcarkit knows no recipe version for, it says nothing
    assert series_layers["thud"][1]["warnings"] == []


def test_no_warning_when_the_versions_match(tmp_path, configs_dir):
    proc = _run(["yocto-layer", str(CONFIGS / RCAR_414), "--proxy-mode", "ipvs",
                 "--kernel-version", "5.10.218", "-o", "meta-x", "--format", "json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["warnings"] == [] and proc.stderr == ""


def test_check_kernel_emit_layer_is_the_yocto_layer(series_layers, tmp_path):
    """check-kernel --emit-layer gives the same tree as yocto-layer (with
    --with-rcarkit-recipe too) and the same kernel-version warning on stderr;
    --with-rcarkit-recipe without --emit-layer is a usage error."""
    common = [str(CONFIGS / RCAR_414), "--proxy-mode", "ipvs", "--with-optional",
              "--layer-series", "scarthgap", "--with-rcarkit-recipe"]
    ours = _run(["check-kernel"] + common + ["--emit-layer", "a/meta-k8s"], tmp_path)
    theirs = _run(["yocto-layer"] + common + ["-o", "b/meta-k8s"], tmp_path)
    assert ours.returncode == 1 and theirs.returncode == 0, ours.stderr + theirs.stderr

    def tree(root):
        return {str(p.relative_to(root)): p.read_bytes().replace(  # the README's regenerate line names -o
            ("%s/meta-k8s" % root.parent.name).encode(), b"@")
                for p in sorted(root.rglob("*"))
                if p.is_file() and p.name != ".rcarkit-manifest.json"}  # hashes the README
    a, b = tree(tmp_path / "a/meta-k8s"), tree(tmp_path / "b/meta-k8s")
    assert a == b and any("python3-rcarkit" in name for name in a)
    warning = [l for l in ours.stderr.splitlines() if not l.startswith("wrote ")]
    assert warning == theirs.stderr.splitlines()
    assert "5.10.218" in ours.stderr and "${B}/.config" in ours.stderr
    bad = _run(["check-kernel", str(CONFIGS / RCAR_414), "--with-rcarkit-recipe"], tmp_path)
    assert bad.returncode == 2 and "only used with --emit-layer" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
