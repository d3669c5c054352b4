"""The generated Yocto layer: lint-clean, parseable, deterministic, edit-safe.

Oracles:
* oelint-adv (PyPI), the OpenEmbedded style/compatibility linter, over every
  layer variant (linux-renesas, linux-raspberrypi, linux-yocto, a custom
  recipe), for every release in LAYERSERIES_COMPAT; a deliberately unscoped
  bbappend shows the same run does report problems.
* layer.conf and the bbappend read back with a small BitBake assignment parser
  written here (line continuations, =, +=, .=, :=, overrides), checked against
  what BitBake needs: BBFILES must match the bbappend, the SRC_URI file must
  exist where FILESEXTRAPATHS points.
"""

import fnmatch
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CONFIGS, REPO, SHARED

RCAR_414 = "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"
RPI_612 = "rpi-bcm2711_defconfig_fed50901.expanded-on-debian-6.12.117.config"

# variant -> (config, kernel recipe, machine override, expected overrides); the
# R-Car overrides are what bitbake -e shows the real machines carry
# (../shared/yocto/SOURCES.md; tests/test_bitbake_parse.py proves the reach)
VARIANTS = {
    "linux-renesas": (RCAR_414, "linux-renesas", None,
                      ["rcar-gen3", "rcar-gateway", "rcar", "rcar-gen4"]),
    "linux-raspberrypi": (RPI_612, "linux-raspberrypi", None, ["rpi"]),
    "linux-yocto": (RPI_612, "linux-yocto", "my-arm64-board", ["my-arm64-board"]),
    "custom": (RCAR_414, "linux-vendor-bsp", "h3ulcb,m3ulcb", ["h3ulcb", "m3ulcb"]),
}


def _oelint():
    exe = shutil.which("oelint-adv")
    if exe:
        return [exe]
    try:
        import oelint_adv  # noqa: F401
    except ImportError:
        pytest.skip("oelint-adv is not installed: pip install oelint-adv")
    return [sys.executable, "-m", "oelint_adv"]


def _report(config_name, proxy_mode=("ipvs",)):
    from rcarkit.kernel.check import check_config, select_profiles
    from rcarkit.kernel.config import load_config
    from rcarkit.kernel.profiles import load_catalog
    catalog = load_catalog()
    profiles = select_profiles(catalog, None, proxy_mode=list(proxy_mode))
    config = load_config(str(CONFIGS / config_name))
    return check_config(config, profiles, catalog), catalog, config


def _generate(directory, variant, force=False, **kw):
    from rcarkit.kernel.fragment import plan_fragment
    from rcarkit.yocto.layer import generate_layer
    config_name, recipe, override, _ = VARIANTS[variant]
    report, catalog, config = _report(config_name)
    plan = plan_fragment(report, catalog, config=config)
    return generate_layer(report, catalog, directory, kernel_recipe=recipe,
                          machine_override=override, force=force, plan=plan, **kw)


@pytest.fixture(scope="session")
def layers(tmp_path_factory, configs_dir):
    root = tmp_path_factory.mktemp("layers")
    return {v: _generate(root / v / "meta-rcarkit-k8s", v) for v in VARIANTS}


def _tree_bytes(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, root)] = fh.read()
    return out


# --------------------------------------------------------------------------
# a small BitBake assignment reader (independent of rcarkit)

_ASSIGN = re.compile(r'^(?P<var>[A-Za-z0-9_${}/.:+-]+?)\s*(?P<op>\?\?=|\?=|:=|\+=|=\+|\.=|=\.|=)'
                     r'\s*"(?P<val>.*)"\s*$')


def parse_bitbake(path):
    """[(variable with overrides, operator, value)] of a .conf/.bbappend."""
    text = Path(path).read_text()
    assert "\t" not in text
    logical, cur = [], ""
    in_function = False
    for line in text.splitlines():
        # inherit lines and function bodies (python do_x:append:o() { ... }) are
        # not assignments
        if in_function:
            in_function = line != "}"
            continue
        if re.match(r"^python [\w:.${}-]+\(\) \{$", line):
            in_function = True
            continue
        if re.match(r"^inherit [a-z0-9_ -]+$", line):
            continue
        if cur:
            cur += " " + line.strip()
        else:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            cur = line.strip()
        if cur.endswith("\\"):
            cur = cur[:-1].rstrip()
            continue
        logical.append(cur)
        cur = ""
    assert not cur, "dangling line continuation in %s" % path
    out = []
    for line in logical:
        m = _ASSIGN.match(line)
        assert m, "not a BitBake assignment: %r (%s)" % (line, path)
        out.append((m.group("var"), m.group("op"), " ".join(m.group("val").split())))
    return out


def _vars(assignments):
    return {var: (op, val) for var, op, val in assignments}


# --------------------------------------------------------------------------
# oelint-adv

@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_oelint_reports_nothing(layers, variant):
    result = layers[variant]
    root = Path(result.spec.directory)
    bbappends = sorted(str(p) for p in root.glob("**/*.bbappend"))
    assert len(bbappends) == {"linux-renesas": 4, "linux-raspberrypi": 3}.get(variant, 1)
    files = ([str(root / "conf" / "layer.conf")] + bbappends
             + [str(p) for p in root.glob("classes/*.bbclass")])
    for release in result.spec.layer_series:
        proc = subprocess.run(_oelint() + ["--quiet", "--mode", "all", "--release", release,
                                           "--jobs", "1",
                                           # nargs="+": the = keeps it off the files
                                           "--constantmods=+%s" % (root / "oelint-constants.json")]
                                          + files,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0 and not proc.stdout.strip() and not proc.stderr.strip(), \
            "oelint-adv --release %s:\n%s%s" % (release, proc.stdout, proc.stderr)


def _archive_recipes(tmp_path, archive, members):
    """Extract recipe files from one of ../shared/yocto's layer archives."""
    import tarfile
    path = SHARED / "yocto" / archive
    if not path.is_file():
        pytest.skip("../shared/yocto archives not present")
    with tarfile.open(str(path)) as tar:
        tar.extractall(str(tmp_path), members=[tar.getmember(m) for m in members])
    return [tmp_path / m for m in members]


# (variant, archive, the real recipe, our bbappend next to it)
REAL_RECIPES = [
    ("linux-renesas", "meta-renesas-scarthgap.tar.xz",
     "meta-renesas/meta-rcar-gen3/recipes-kernel/linux/linux-renesas_5.10.bb",
     "dynamic-layers/rcar-gen3/recipes-kernel/linux/linux-renesas_%.bbappend"),
    ("linux-renesas", "meta-renesas-scarthgap.tar.xz",
     "meta-renesas/meta-rcar-gateway/recipes-kernel/linux/linux-renesas_5.10.bb",
     "dynamic-layers/rcar-gateway/recipes-kernel/linux/linux-renesas_%.bbappend"),
    ("linux-renesas", "meta-renesas-scarthgap.tar.xz",
     "meta-renesas/meta-rcar-bsp/recipes-kernel/linux/linux-renesas_5.10.bb",
     "dynamic-layers/rcar-bsp/recipes-kernel/linux/linux-renesas_%.bbappend"),
    ("linux-renesas", "meta-sparrow-hawk-scarthgap.tar.xz",
     "meta-sparrow-hawk/recipes-kernel/linux/linux-renesas_6.18.bb",
     "dynamic-layers/sparrow-hawk/recipes-kernel/linux/linux-renesas_%.bbappend"),
    ("linux-raspberrypi", "meta-raspberrypi-scarthgap.tar.xz",
     "meta-raspberrypi/recipes-kernel/linux/linux-raspberrypi_6.6.bb",
     "dynamic-layers/raspberrypi/recipes-kernel/linux/linux-raspberrypi_%.bbappend"),
]


@pytest.mark.parametrize("variant,archive,recipe,bbappend", REAL_RECIPES,
                         ids=[r[2].split("/")[-4 if "meta-renesas" in r[2] else 0]
                              for r in REAL_RECIPES])
def test_oelint_next_to_the_real_recipe(layers, tmp_path, variant, archive, recipe, bbappend):
    """Linted with the BSP's own recipe, oelint checks our overrides against its
    COMPATIBLE_MACHINE and its known machines: without the layer's constants it
    flags them (oelint.vars.specific), with them it reports nothing in our files."""
    root = Path(layers[variant].spec.directory)
    real = _archive_recipes(tmp_path, archive, [recipe])[0]
    text = real.read_text()
    # its includes next to it (linux-raspberrypi.inc sets COMPATIBLE_MACHINE)
    for inc in re.findall(r"^require (\S+\.inc)$", text, re.M):
        if "/" not in inc:
            text += _archive_recipes(tmp_path, archive,
                                     [recipe.rsplit("/", 1)[0] + "/" + inc])[0].read_text()
    ours = root / bbappend
    cmd = _oelint() + ["--quiet", "--mode", "all", "--release", "scarthgap", "--jobs", "1"]

    def our_findings(extra):
        proc = subprocess.run(cmd + extra + [str(real), str(ours)],
                              capture_output=True, text=True, timeout=300)
        return [l for l in (proc.stdout + proc.stderr).splitlines() if str(root) in l]

    # oelint's rule: an override must be a known MACHINE or match COMPATIBLE_MACHINE
    compatible = re.search(r'^COMPATIBLE_MACHINE\S* \??= "([^"]+)"', text, re.M).group(1)
    override = layers[variant].spec.targets[[t.collection for t in layers[variant].spec.targets]
                                            .index(bbappend.split("/")[1])].overrides[0]
    without = our_findings([])
    if re.match(compatible, override):
        assert without == []
    else:
        assert any("oelint.vars.specific" in l for l in without), without
    assert our_findings(["--constantmods=+%s" % (root / "oelint-constants.json")]) == []


def test_oelint_run_does_catch_an_unscoped_append(layers, tmp_path):
    """The same invocation flags the unscoped form the layer deliberately avoids."""
    src = Path(layers["linux-renesas"].spec.directory)
    bad = tmp_path / "meta-bad"
    shutil.copytree(src, bad)
    app = bad / "recipes-kernel" / "linux" / "linux-renesas_%.bbappend"
    app.write_text('FILESEXTRAPATHS:prepend := "${THISDIR}/files:"\n'
                   'SRC_URI:append = " file://rcarkit-k8s.cfg"\n')
    proc = subprocess.run(_oelint() + ["--quiet", "--mode", "all", "--release", "scarthgap",
                                       "--jobs", "1", str(bad / "conf" / "layer.conf"),
                                       str(app)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "oelint.vars.noncoreoverride" in proc.stdout + proc.stderr


# --------------------------------------------------------------------------
# layer.conf and bbappend read back

@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_layer_conf_variables(layers, variant):
    result = layers[variant]
    root = Path(result.spec.directory)
    v = _vars(parse_bitbake(root / "conf" / "layer.conf"))
    coll = v["BBFILE_COLLECTIONS"][1].split()
    assert len(coll) == 1 and v["BBFILE_COLLECTIONS"][0] == "+="
    name = coll[0]
    assert name == "rcarkit-k8s"        # meta-rcarkit-k8s without "meta-"
    assert v["BBFILE_PATTERN_" + name][1] == "^${LAYERDIR}/"
    assert int(v["BBFILE_PRIORITY_" + name][1]) > 0
    assert int(v["LAYERVERSION_" + name][1]) >= 1
    assert "core" in v["LAYERDEPENDS_" + name][1].split()
    assert v["LAYERSERIES_COMPAT_" + name][1].split() == ["scarthgap", "wrynose"]
    assert v["BBPATH"] == (".=", ":${LAYERDIR}")
    # BitBake must find the bbappend through BBFILES (or BBFILES_DYNAMIC, keyed
    # on the BSP collection), and BBFILE_PATTERN must match it
    globs = [g.replace("${LAYERDIR}", str(root)) for g in v["BBFILES"][1].split()]
    dynamic = [w.split(":", 1) for w in v.get("BBFILES_DYNAMIC", ("", ""))[1].split()]
    for app in root.glob("**/*.bbappend"):
        rel = app.relative_to(root).parts
        if rel[0] == "dynamic-layers":
            pats = [g.replace("${LAYERDIR}", str(root)) for c, g in dynamic if c == rel[1]]
            assert pats and all(fnmatch.fnmatch(str(app), g) for g in pats), (app, dynamic)
            assert not any(fnmatch.fnmatch(str(app), g) for g in globs), (app, globs)
        else:
            assert any(fnmatch.fnmatch(str(app), g) for g in globs), (app, globs)
        assert re.match(v["BBFILE_PATTERN_" + name][1].replace("${LAYERDIR}", re.escape(str(root))),
                        str(app))


def test_layer_series_override(tmp_path, configs_dir):
    result = _generate(tmp_path / "meta-k8s", "linux-renesas", layer_series="styhead walnascar")
    v = _vars(parse_bitbake(tmp_path / "meta-k8s" / "conf" / "layer.conf"))
    assert v["LAYERSERIES_COMPAT_k8s"][1] == "styhead walnascar"
    assert result.spec.collection == "k8s"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_bbappend_adds_the_cfg_that_exists_scoped_to_the_override(layers, variant):
    result = layers[variant]
    _, recipe, _, overrides = VARIANTS[variant]
    root = Path(result.spec.directory)
    seen = set()
    apps = sorted(root.glob("**/*.bbappend"))
    assert apps and all(a.name.startswith(recipe) for a in apps)
    for app in apps:
        seen |= _check_bbappend(root, app, overrides)
    assert seen == {(b, o) for b in ("FILESEXTRAPATHS", "SRC_URI") for o in overrides}


def _check_bbappend(root, app, overrides):
    assignments = parse_bitbake(app)
    seen = set()
    for var, op, val in assignments:
        parts = var.split(":")
        base, mods = parts[0], parts[1:]
        assert base in ("FILESEXTRAPATHS", "SRC_URI"), var
        assert "_append" not in var and "_prepend" not in var     # modern syntax only
        override = [m for m in mods if m not in ("append", "prepend")]
        assert len(override) == 1 and override[0] in overrides, var
        if base == "FILESEXTRAPATHS":
            assert mods[0] == "prepend" and op == ":=" and val.startswith("${THISDIR}/")
            # ... and it is the layer's one files directory
            assert (Path(val.rstrip(":").replace("${THISDIR}", str(app.parent))).resolve()
                    == (root / "recipes-kernel/linux/files").resolve())
        else:
            assert mods[0] == "append" and op == "="
            uris = val.split()
            assert uris == ["file://rcarkit-k8s.cfg"]
            # FILESEXTRAPATHS for the same override points at the file
            fep = [v for n, o, v in assignments
                   if n == "FILESEXTRAPATHS:prepend:%s" % override[0]]
            assert fep, "no FILESEXTRAPATHS for %s" % override[0]
            where = fep[0].rstrip(":").replace("${THISDIR}", str(app.parent))
            cfg = Path(where) / uris[0][len("file://"):]
            assert cfg.is_file() and cfg.read_text().strip()
        seen.add((base, override[0]))
    return seen


def test_cfg_is_the_fragment_plan(layers):
    from rcarkit.kernel.fragment import plan_fragment
    report, catalog, config = _report(RCAR_414)
    plan = plan_fragment(report, catalog, config=config)
    cfg = Path(layers["linux-renesas"].spec.directory) / "recipes-kernel/linux/files/rcarkit-k8s.cfg"
    assert cfg.read_text() == plan.render_cfg()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_readme_lists_every_option_with_a_reason(layers, variant):
    result = layers[variant]
    root = Path(result.spec.directory)
    readme = (root / "README").read_text()
    for entry in result.plan.active():
        line = ("# CONFIG_%s is not set" % entry.symbol if entry.value == "n"
                else "CONFIG_%s=%s" % (entry.symbol, entry.value))
        at = readme.index("\n  " + line + "\n")
        why = readme[at:].split("\n")[2]            # the indented reason under it
        assert why.startswith("      ") and why.strip(), (line, why)
    assert "merge_config.sh" in readme and "COPYING.MIT" in readme
    for o in VARIANTS[variant][3]:
        assert 'SRC_URI:append:%s = " file://rcarkit-k8s.cfg"' % o in readme
    config_name = VARIANTS[variant][0]
    for name in ["README", "conf/layer.conf"] + [
            str(p.relative_to(root)) for p in root.glob("**/*.bbappend")]:
        for line in (root / name).read_text().splitlines():
            # a FILESEXTRAPATHS value cannot be wrapped (a continuation would
            # put blanks into the path)
            assert len(line) <= 80 or config_name in line or "FILESEXTRAPATHS" in line, \
                (name, line)
    copying = (root / "COPYING.MIT").read_text()
    assert copying.startswith("Permission is hereby granted, free of charge")


# --------------------------------------------------------------------------
# determinism, hand edits, --force

def test_same_inputs_same_bytes(tmp_path, configs_dir):
    a = _generate(tmp_path / "a" / "meta-rcarkit-k8s", "linux-renesas")
    b = _generate(tmp_path / "b" / "meta-rcarkit-k8s", "linux-renesas")
    ta, tb = _tree_bytes(a.spec.directory), _tree_bytes(b.spec.directory)
    # 4 bbappends, layer.conf, .cfg, README, COPYING.MIT, the check class, the
    # oelint constants, the manifest
    assert sorted(ta) == sorted(tb) and len(ta) == 11
    assert ta == tb
    mtimes = {p: os.stat(os.path.join(a.spec.directory, p)).st_mtime_ns for p in ta}
    again = _generate(tmp_path / "a" / "meta-rcarkit-k8s", "linux-renesas")
    assert again.changed == [] and again.removed == []
    assert _tree_bytes(a.spec.directory) == ta
    assert {p: os.stat(os.path.join(a.spec.directory, p)).st_mtime_ns for p in ta} == mtimes


def _cli(args, cwd=None):
    from typer.testing import CliRunner
    from rcarkit.cli.app import app
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:       # click >= 8.2 always separates stderr
        runner = CliRunner()
    old = os.getcwd()
    if cwd:
        os.chdir(cwd)
    try:
        return runner.invoke(app, args, catch_exceptions=False)
    finally:
        os.chdir(old)


def test_hand_edit_refused_then_force_replaces(tmp_path, configs_dir):
    config = str(configs_dir / RCAR_414)
    args = ["yocto-layer", config, "--proxy-mode", "ipvs"]
    first = _cli(args, cwd=tmp_path)
    assert first.exit_code == 0, first.stderr
    layer = tmp_path / "yocto_layer" / "meta-rcarkit-k8s"     # default, under the cwd
    cfg = layer / "recipes-kernel" / "linux" / "files" / "rcarkit-k8s.cfg"
    fresh = cfg.read_bytes()
    cfg.write_text(fresh.decode() + "CONFIG_MY_OWN_OPTION=y\n")
    edited = cfg.read_bytes()
    before = _tree_bytes(layer)
    refused = _cli(args, cwd=tmp_path)
    assert refused.exit_code == 2
    err = refused.stderr.strip()
    assert len(err.splitlines()) == 1 and "rcarkit-k8s.cfg" in err and "--force" in err
    assert "Traceback" not in refused.stderr + refused.stdout
    assert _tree_bytes(layer) == before and cfg.read_bytes() == edited
    forced = _cli(args + ["--force"], cwd=tmp_path)
    assert forced.exit_code == 0, forced.stderr
    assert cfg.read_bytes() == fresh
    # and the manifest now trusts the file again: a plain rerun is a no-op
    assert _cli(args, cwd=tmp_path).exit_code == 0


def test_switching_recipe_removes_the_stale_bbappend(tmp_path, configs_dir):
    root = tmp_path / "meta-rcarkit-k8s"
    _generate(root, "linux-renesas")
    renesas = root / "dynamic-layers/rcar-gen3/recipes-kernel/linux/linux-renesas_%.bbappend"
    assert renesas.is_file()
    result = _generate(root, "custom")
    assert not renesas.exists() and str(renesas) in result.removed
    custom = root / "recipes-kernel/linux/linux-vendor-bsp_%.bbappend"
    custom.write_text(custom.read_text() + "# mine\n")
    _generate(root, "linux-renesas")            # the edited stale file is kept
    assert custom.read_text().endswith("# mine\n")


@pytest.mark.parametrize("extra,needle", [
    (["--kernel-recipe", "linux-vendor"], "--machine-override"),
    (["--kernel-recipe", "linux-yocto"], "--machine-override"),
    (["--kernel-recipe", "Linux_Bad"], "--kernel-recipe"),
    (["--machine-override", "Bad_Machine"], "--machine-override"),
    (["--layer-series", "Scarthgap!"], "--layer-series"),
    (["--format", "yaml"], "--format"),
])
def test_bad_layer_options_one_line_exit_2(tmp_path, configs_dir, extra, needle):
    res = _cli(["yocto-layer", str(configs_dir / RCAR_414)] + extra, cwd=tmp_path)
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in res.stderr
    assert not (tmp_path / "yocto_layer").exists()


def test_templates_found_as_installed_package_data(tmp_path, configs_dir):
    """Lay the package out as pip installs it (rcarkit/yocto_layer/templates)."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "rcarkit", site / "rcarkit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "yocto_layer", site / "rcarkit" / "yocto_layer")
    # the catalog is not under test here: the same directory as in-process
    from rcarkit.kernel.profiles import profiles_dir
    env = dict(os.environ, PYTHONPATH=str(site), RCARKIT_PROFILES=profiles_dir())
    env.pop("RCARKIT_YOCTO_TEMPLATES", None)
    code = ("import rcarkit.yocto.layer as y; print(y.templates_dir())")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=str(tmp_path),
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(site / "rcarkit" / "yocto_layer" / "templates")
    proc = subprocess.run([sys.executable, "-m", "rcarkit", "yocto-layer",
                           str(configs_dir / RCAR_414), "--proxy-mode", "ipvs",
                           "-o", "meta-x", "--format", "json"],
                          env=env, cwd=str(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    ref = _generate(tmp_path / "ref" / "meta-x", "linux-renesas")
    got = _tree_bytes(tmp_path / "meta-x")
    want = _tree_bytes(ref.spec.directory)
    # the README's regenerate line names -o as given, and the manifest hashes it
    skip = ("README", ".rcarkit-manifest.json")
    assert {k: v for k, v in got.items() if k not in skip} == \
        {k: v for k, v in want.items() if k not in skip}
    assert sorted(got) == sorted(want)
