"""End to end: ``rcarkit yocto-layer`` and ``check-kernel --emit-layer/--emit-fragment``
on the real configs in ../shared/configs.

The oracle for the fragment's content is check-kernel's own JSON read
independently here: the profile sections of the .cfg must set exactly the
options the JSON reports ``missing`` / ``wrong-value`` (one symbol per option,
with a value that satisfies ``expected``, judged by code written here), never
a symbol the JSON reports ``obsolete-skipped`` or ``not-applicable-for-version``,
and every dependency line must change something the base config (read here
with a plain regex) does not already have.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CONFIGS, REPO

RPI_612 = "rpi-bcm2711_defconfig_fed50901.expanded-on-debian-6.12.117.config"
CASES = {
    # id: (config, extra check-kernel options, kernel recipe, --kernel-src 6.1 tree)
    "rcar-gen3-4.14.75-ipvs": ("rcar-gen3_bsp-v3.21.0_linux-4.14.75.config",
                               ["--proxy-mode", "ipvs"], "linux-renesas", False),
    "rpi4-6.12-calico": (RPI_612, ["--cni", "calico", "--runtime", "cri-o"],
                         "linux-raspberrypi", False),
    "rpi4-6.12-ipvs-kernel-src": (RPI_612, ["--proxy-mode", "ipvs", "--cni", "flannel"],
                                  "linux-raspberrypi", True),
}

_SET = re.compile(r"^CONFIG_([A-Za-z0-9_]+)=(.*)$")
_UNSET = re.compile(r"^# CONFIG_([A-Za-z0-9_]+) is not set$")


def _cli(args, cwd):
    from typer.testing import CliRunner
    from rcarkit.cli.app import app
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:       # click >= 8.2 always separates stderr
        runner = CliRunner()
    old = os.getcwd()
    os.chdir(str(cwd))
    try:
        return runner.invoke(app, args, catch_exceptions=False)
    finally:
        os.chdir(old)


def _run(args, cwd):
    return subprocess.run([sys.executable, "-m", "rcarkit"] + args, cwd=str(cwd),
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))


def read_settings(path):
    """``{symbol: value}`` of a .config or fragment (``n`` for 'is not set')."""
    out = {}
    for line in Path(path).read_text().splitlines():
        m = _SET.match(line)
        if m:
            out[m.group(1)] = m.group(2)
            continue
        m = _UNSET.match(line)
        if m:
            out[m.group(1)] = "n"
    return out


def read_fragment_sections(path):
    """``{section title: {symbol: value}}`` from the ``# === title ===`` headers."""
    sections, current = {}, None
    for line in Path(path).read_text().splitlines():
        m = re.match(r"^# === (.+?) ===$", line)
        if m:
            current = m.group(1)
            sections.setdefault(current, {})
            continue
        m = _SET.match(line) or _UNSET.match(line)
        if m:
            assert current is not None, "setting before any section: %r" % line
            sections[current][m.group(1)] = m.group(2) if _SET.match(line) else "n"
        else:
            assert line == "" or line.startswith("#"), "unexpected line %r" % line
            assert "CONFIG_" not in line, "comment that Kconfig could read: %r" % line
    return sections


def satisfies(value, expected):
    """Judge a value against check-kernel's ``expected`` text (written here)."""
    if expected in ("y", "m", "n"):
        return value == expected
    if expected == "y/m":
        return value in ("y", "m")
    m = re.match(r"^(>=|<=)\s*(-?\d+)$", expected)
    if m:
        try:
            number = int(value, 0)
        except ValueError:
            return False
        return number >= int(m.group(2)) if m.group(1) == ">=" else number <= int(m.group(2))
    return value == expected


def _level(value):
    return {"n": 0, "m": 1, "y": 2}.get(value)


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request, tmp_path_factory, configs_dir):
    config_name, extra, recipe, with_tree = CASES[request.param]
    config = configs_dir / config_name
    work = tmp_path_factory.mktemp(request.param)
    check = _run(["check-kernel", str(config), "--format", "json"] + extra, work)
    assert check.returncode in (0, 1), check.stderr
    report = json.loads(check.stdout)
    layer_extra = []
    if with_tree:
        layer_extra = ["--kernel-src", str(request.getfixturevalue("kernel_tree_61"))]
    res = _cli(["yocto-layer", str(config), "--kernel-recipe", recipe, "--format", "json"]
               + extra + layer_extra, work)
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    layer = work / "yocto_layer" / "meta-rcarkit-k8s"
    return dict(config=config, extra=extra, recipe=recipe, work=work, report=report,
                kernel_src=layer_extra[1] if layer_extra else None, emit_extra=layer_extra,
                summary=summary, layer=layer,
                cfg=layer / "recipes-kernel" / "linux" / "files" / "rcarkit-k8s.cfg")


def test_fragment_sets_exactly_the_failing_options(case):
    report = case["report"]
    # by default a fragment holds what required rules ask for (issue 13)
    failing = [o for o in report["options"] if o["status"] in ("missing", "wrong-value")
               and o["option"] != "KERNEL_VERSION" and o["required"]]
    assert "(optional)" not in case["cfg"].read_text()
    sections = read_fragment_sections(case["cfg"])
    profile_names = set(report["profiles"])
    requested = {}
    for title, settings in sections.items():
        if title in profile_names:
            for sym, val in settings.items():
                assert sym not in requested, "%s set twice" % sym
                requested[sym] = val
        else:
            assert title.startswith("dependencies") or title.startswith("not set"), title
    # every failing option is fixed by one of its symbols, with a satisfying value
    used = set()
    for opt in failing:
        hits = [s for s in opt["symbols"] if s in requested]
        assert hits, "%s (%s) is not in the fragment" % (opt["option"], opt["profile"])
        good = [s for s in hits if satisfies(requested[s], opt["expected"])]
        assert good, (opt, {s: requested[s] for s in hits})
        used.update(good)
    # ... and nothing else is requested
    assert set(requested) == used


def test_fragment_never_sets_what_the_kernel_does_not_have(case):
    report = case["report"]
    dead = set()
    for o in report["options"]:
        if o["status"] in ("obsolete-skipped", "not-applicable-for-version"):
            dead.update(o["symbols"])
    settings = read_settings(case["cfg"])
    assert not dead & set(settings), dead & set(settings)


def test_dependencies_change_something(case):
    base = read_settings(case["config"])
    sections = read_fragment_sections(case["cfg"])
    deps = {}
    for title, settings in sections.items():
        if title.startswith("dependencies"):
            deps.update(settings)
    for sym, val in deps.items():
        have = base.get(sym, "n")
        if _level(val) is not None and _level(have) is not None:
            assert _level(val) > _level(have), "%s=%s already %s in the base" % (sym, val, have)
        else:
            assert val != have, sym


def test_json_summary_matches_the_files(case):
    s = case["summary"]
    assert s["schema_version"] == 1 and s["command"] == "yocto-layer"
    assert s["kernel_recipe"] == case["recipe"]
    assert sorted(s["files"]) == sorted(
        str(p.relative_to(case["layer"])) for p in case["layer"].rglob("*")
        if p.is_file() and p.name != ".rcarkit-manifest.json")
    active = {e["symbol"]: e["line"] for e in s["fragment"]["entries"] if e["line"]}
    settings = read_settings(case["cfg"])
    assert set(active) == set(settings)
    for sym, line in active.items():
        assert line in ("CONFIG_%s=%s" % (sym, settings[sym]), "# CONFIG_%s is not set" % sym)


def test_kernel_src_is_used_and_recorded(case):
    readme = (case["layer"] / "README").read_text()
    cfg = case["cfg"].read_text()
    if case["kernel_src"]:
        assert case["summary"]["fragment"]["resolved_with"] == case["kernel_src"]
        assert "--kernel-src <kernel tree>" in readme
        assert "resolved with: %s" % case["kernel_src"] in cfg
    else:
        assert "kernel-depends.toml" in case["summary"]["fragment"]["resolved_with"]
        assert "--kernel-src" not in readme.split("What it adds")[0]


def test_check_kernel_emit_layer_and_fragment_agree(case, tmp_path):
    extra = case["extra"] + case["emit_extra"]  # --kernel-src reaches check-kernel too
    frag = tmp_path / "k8s.cfg"
    layer = tmp_path / "meta-board"
    proc = _run(["check-kernel", str(case["config"]), "--kernel-recipe", case["recipe"],
                 "--emit-layer", str(layer), "--emit-fragment", str(frag)] + extra,
                tmp_path)
    assert proc.returncode == case["report"]["exit_code"], proc.stderr
    assert "wrote %s" % frag in proc.stderr
    cfg = layer / "recipes-kernel" / "linux" / "files" / "rcarkit-k8s.cfg"
    assert frag.read_bytes() == cfg.read_bytes() == case["cfg"].read_bytes()
    # the config on stdin gives the same fragment (the planner gets the parsed config)
    piped = tmp_path / "piped.cfg"
    with open(str(case["config"]), "rb") as fh:
        proc = subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel", "-",
                               "--emit-fragment", str(piped)] + extra,
                              stdin=fh, cwd=str(tmp_path), capture_output=True, text=True,
                              timeout=300, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == case["report"]["exit_code"], proc.stderr
    assert piped.read_bytes() == frag.read_bytes()
    assert list(layer.glob("dynamic-layers/*/recipes-kernel/linux/%s_%%.bbappend"
                           % case["recipe"]))
    assert (layer / "conf" / "layer.conf").is_file()
    # regenerating is a no-op; a changed fragment file is refused in one line
    again = _run(["check-kernel", str(case["config"]), "--emit-fragment", str(frag)]
                 + extra, tmp_path)
    assert again.returncode == case["report"]["exit_code"]
    frag.write_text(frag.read_text() + "CONFIG_LOCAL=y\n")
    refused = _run(["check-kernel", str(case["config"]), "--emit-fragment", str(frag)]
                   + extra, tmp_path)
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "--force" in lines[0] and "Traceback" not in refused.stderr
    forced = _run(["check-kernel", str(case["config"]), "--emit-fragment", str(frag),
                   "--force"] + extra, tmp_path)
    assert forced.returncode == case["report"]["exit_code"]
    assert frag.read_bytes() == cfg.read_bytes()


def test_table_summary_reads_at_80_columns(tmp_path, configs_dir):
    config, extra, recipe, _ = CASES["rcar-gen3-4.14.75-ipvs"]
    proc = _run(["yocto-layer", str(configs_dir / config), "-o", "meta-k8s"] + extra, tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("meta-k8s: layer k8s for linux-renesas")
    assert any("rcarkit-k8s.cfg" in l and "written" in l for l in lines)
    long = [l for l in lines if len(l) > 80 and str(tmp_path) not in l]
    assert not long, long
    again = _run(["yocto-layer", str(configs_dir / config), "-o", "meta-k8s"] + extra, tmp_path)
    assert again.returncode == 0
    assert "written" not in again.stdout and again.stdout.count("unchanged") == 10


def test_reach_table_and_json_name_the_machines(tmp_path, configs_dir):
    """The reach (collection, override, machines) as the table and the JSON say it;
    that the real machines do get the .cfg is tests/test_bitbake_parse.py's job."""
    config, extra, _, _ = CASES["rcar-gen3-4.14.75-ipvs"]
    table = _run(["yocto-layer", str(configs_dir / config), "-o", "meta-k8s"] + extra,
                 tmp_path).stdout
    data = json.loads(_run(["yocto-layer", str(configs_dir / config), "-o", "meta-k8s",
                            "--format", "json"] + extra, tmp_path).stdout)
    reach = {r["collection"]: r for r in data["reaches"]}
    assert set(reach) == {"rcar-gen3", "rcar-gateway", "rcar-bsp", "sparrow-hawk"}
    for coll, override, machine in [("rcar-gen3", "rcar-gen3", "h3ulcb"),
                                    ("rcar-gateway", "rcar-gateway", "spider"),
                                    ("rcar-bsp", "rcar", "whitehawk"),
                                    ("sparrow-hawk", "rcar-gen4", "sparrow-hawk")]:
        assert reach[coll]["overrides"] == [override] and machine in reach[coll]["machines"]
        assert re.search(r"^  %s +%s +.*\b%s\b" % (coll, override, machine), table, re.M), coll
        for path in reach[coll]["bbappends"]:
            assert (tmp_path / "meta-k8s" / path).is_file()


def test_unreadable_config_is_one_line_exit_2(tmp_path):
    proc = _run(["yocto-layer", str(tmp_path / "nope.config")], tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "yocto_layer").exists()
    proc = _run(["yocto-layer", str(CONFIGS / CASES["rcar-gen3-4.14.75-ipvs"][0]),
                 "--kernel-src", str(tmp_path / "no-tree")], tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_check_kernel_emit_layer_needs_an_override_for_unknown_recipes(tmp_path, configs_dir):
    proc = _run(["check-kernel", str(CONFIGS / CASES["rcar-gen3-4.14.75-ipvs"][0]),
                 "--emit-layer", "meta-x", "--kernel-recipe", "linux-imx"], tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--machine-override" in lines[0]
    assert not (tmp_path / "meta-x").exists()
    ok = _run(["check-kernel", str(CONFIGS / CASES["rcar-gen3-4.14.75-ipvs"][0]),
               "--emit-layer", "meta-x", "--kernel-recipe", "linux-imx",
               "--machine-override", "imx8mp-board"], tmp_path)
    assert ok.returncode in (0, 1), ok.stderr
    assert (tmp_path / "meta-x" / "recipes-kernel" / "linux" / "linux-imx_%.bbappend").is_file()


def test_with_rcarkit_recipe(tmp_path, configs_dir):
    """--with-rcarkit-recipe: the recipe, the sources it carries, meta-python only;
    the real parser proof is tests/test_bitbake_parse.py (bitbake -e / -g)."""
    config = str(configs_dir / CASES["rcar-gen3-4.14.75-ipvs"][0])
    proc = _run(["yocto-layer", config, "-o", "meta-k8s", "--with-rcarkit-recipe",
                 "--format", "json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["rcarkit_recipe"] is True
    layer = tmp_path / "meta-k8s"
    base = layer / "dynamic-layers/meta-python/recipes-devtools/python"
    recipe = (base / "python3-rcarkit_0.1.0.bb").read_text()
    # every file the recipe installs is in the layer, and it is this rcarkit
    src = base / "python3-rcarkit"
    for rel in ("rcarkit/__main__.py", "rcarkit/kconfig_profiles/k8s-core.toml",
                "rcarkit/yocto_layer/templates/kernel.bbappend.j2", "vendor/typer/__init__.py",
                "vendor/annotated_doc/__init__.py", "rcarkit.sh"):
        assert (src / rel).is_file(), rel
    assert (src / "rcarkit/kernel/check.py").read_text() == \
        (Path(__file__).resolve().parents[1] / "rcarkit/kernel/check.py").read_text()
    assert not list(src.glob("**/__pycache__")) and not list(src.glob("**/*.pyc"))
    import hashlib
    for dist in ("typer", "annotated-doc"):
        md5 = hashlib.md5((src / "vendor" / ("LICENSE." + dist)).read_bytes()).hexdigest()
        assert "file://vendor/LICENSE.%s;md5=%s" % (dist, md5) in recipe
    rdep = re.search(r'^RDEPENDS:\$\{PN\} = "(.*?)"$', recipe, re.M | re.S).group(1)
    assert "typer" not in rdep and "python3-tabulate" in rdep.split()
    conf = (layer / "conf" / "layer.conf").read_text()
    assert "meta-python:${LAYERDIR}/dynamic-layers/meta-python/*/*/*.bb" in conf
    # the table names the carried sources in one row
    table = _run(["yocto-layer", config, "-o", "meta-k8s", "--with-rcarkit-recipe"], tmp_path)
    assert table.returncode == 0 and "unchanged" in table.stdout and "written" not in table.stdout
    assert len([l for l in table.stdout.splitlines() if "python3-rcarkit/" in l]) == 1
    # too old a release for the recipe: one line, exit 2, nothing written
    old = _run(["yocto-layer", config, "-o", "meta-old", "--with-rcarkit-recipe",
                "--layer-series", "kirkstone"], tmp_path)
    assert old.returncode == 2 and len(old.stderr.strip().splitlines()) == 1
    assert "kirkstone" in old.stderr and not (tmp_path / "meta-old").exists()
