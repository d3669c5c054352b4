"""The generated layer through the real BitBake parser (poky scarthgap, BitBake 2.8).

Oracle: BitBake itself, on the real BSP layers of ../shared/yocto (archives and
commits in SOURCES.md), offline (BB_NO_NETWORK). Three build directories:

* ``rcar``: poky + meta-oe/meta-python/meta-networking + meta-rcar-gen3 +
  meta-rcar-gateway + meta-rcar-bsp + meta-sparrow-hawk + the linux-renesas
  layer, parsed fully for MACHINE = h3ulcb (with the BBMASK Renesas' sample
  local.conf needs);
* ``rpi``: poky + meta-raspberrypi + the linux-raspberrypi layer, parsed for
  raspberrypi4-64;
* ``nobsp``: poky + both generated layers and no BSP layer: must parse with no
  error and no warning (BBFILES_DYNAMIC).

Per build directory, ``bitbake-layers show-appends`` (a full parse) must list
our bbappends for the kernel recipes and print no WARNING/ERROR line naming our
layer; ``bitbake -e <recipe>`` (from the parse cache) must end SRC_URI with
file://rcarkit-k8s.cfg and start FILESEXTRAPATHS with the layer's files
directory. A full parse costs minutes and a MACHINE change invalidates the
whole parse cache, so the other machines (spider, whitehawk, sparrow-hawk,
raspberrypi4, raspberrypi-armv7, and qemuarm64 as the negative case) are read
with tinfoil: BitBake's own file collection and append matching
(CookerCollectFiles) and its parser on the one kernel recipe that machine builds,
plus the fetcher's FILESPATH lookup of the .cfg.

The build-time self-check (issue 11 item 4): ``bitbake -e linux-renesas`` shows
the class inherited (``def rcarkit_kconfig_dropped``) and do_kernel_configcheck
ending with ``rcarkit_kconfig_check(d)``; the probe shows that call exactly on
the machines that get the .cfg. python3-rcarkit (item 7; the rcar layer is
generated with --with-rcarkit-recipe): ``bitbake -e python3-rcarkit`` gives its
RDEPENDS and ``bitbake -g python3-rcarkit`` resolves every one of them to a
recipe file of poky or meta-python; in the nobsp build (no meta-python) the
recipe is not read and the parse stays clean.

Cost (Debian 12, 2 cores shared with other jobs): cold 8 min 12 s (unpack
under a minute, rcar full parse about 5 min for 2810 recipes, rpi about 2.7 min
for 961), warm 59 s (every parse from BitBake's cache; tinfoil probes about
2 s per machine). With the self-check and python3-rcarkit (VM shared with other
jobs, load 6 to 11): 22 min 26 s with the rcar and nobsp builds re-parsed,
warm 2 min 22 s (bitbake -g python3-rcarkit 41 s).
Everything lives in $RCARKIT_TEST_CACHE/yocto/src-<archive hash>/ (sources and
build directories, BitBake's parse cache in each build's cache/); the generated
layers sit at a fixed path in each build directory and are regenerated in
place (unchanged files keep their mtime), so BitBake re-parses only what the
layer changed; a changed layer.conf changes BitBake's configuration hash and
it re-parses everything by itself.
"""

import hashlib
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import CACHE, CONFIGS, REPO, SHARED

pytestmark = pytest.mark.slow

YOCTO = SHARED / "yocto"
BB_USER = "rcarkit-bb"
RCAR_414 = "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"
RPI_612 = "rpi-bcm2711_defconfig_fed50901.expanded-on-debian-6.12.117.config"

# SOURCES.md: without these masks meta-rcar-gen3 does not parse
BBMASK = ("gles-user-module|kernel-module-gles|wayland-kms|libgbm|kernel-module-uvcs-drv|"
          "omx-user-module|meta-rcar-gen3/recipes-graphics/cogl/")
POKY = ["poky/meta", "poky/meta-poky", "poky/meta-yocto-bsp"]
OE = ["meta-openembedded/meta-oe", "meta-openembedded/meta-python",
      "meta-openembedded/meta-networking"]
RCAR_BSPS = ["meta-renesas/meta-rcar-gen3", "meta-renesas/meta-rcar-gateway",
             "meta-renesas/meta-rcar-bsp", "meta-sparrow-hawk"]

# build dir -> (MACHINE of the full parse, source layers, generated layers)
BUILDS = {
    "rcar": ("h3ulcb", POKY + OE + RCAR_BSPS, ["rcar"]),
    "rpi": ("raspberrypi4-64", POKY + ["meta-raspberrypi"], ["rpi"]),
    "nobsp": ("qemuarm64", POKY, ["rcar", "rpi"]),
}
# generated layer -> (config, yocto-layer options)
LAYERS = {
    "rcar": (RCAR_414, ["--proxy-mode", "ipvs", "--kernel-recipe", "linux-renesas",
                        "--with-rcarkit-recipe"]),
    "rpi": (RPI_612, ["--proxy-mode", "ipvs", "--kernel-recipe", "linux-raspberrypi"]),
}

_REN = "recipes-kernel/linux/linux-renesas_%s.bb"
_RPI = "meta-raspberrypi/recipes-kernel/linux/"
# (build dir, MACHINE, recipe file the machine builds, the .cfg expected?)
MACHINES = [
    ("rcar", "h3ulcb", "meta-renesas/meta-rcar-gen3/" + _REN % "5.10", True),
    ("rcar", "spider", "meta-renesas/meta-rcar-gateway/" + _REN % "5.10", True),
    ("rcar", "whitehawk", "meta-renesas/meta-rcar-bsp/" + _REN % "5.10", True),
    ("rcar", "sparrow-hawk", "meta-sparrow-hawk/" + _REN % "6.18", True),
    # (meta-rcar-gen3's recipe cannot even expand SRC_URI for a machine without
    # SOC_FAMILY: its cas-control.inc splits it; sparrow-hawk's can)
    ("rcar", "qemuarm64", "meta-sparrow-hawk/" + _REN % "6.18", False),
    ("rpi", "raspberrypi4-64", _RPI + "linux-raspberrypi_6.6.bb", True),
    ("rpi", "raspberrypi4", _RPI + "linux-raspberrypi_6.6.bb", True),
    ("rpi", "raspberrypi4-64", _RPI + "linux-raspberrypi-dev.bb", True),
    ("rpi", "raspberrypi-armv7", _RPI + "linux-raspberrypi-v7_6.6.bb", True),
    ("rpi", "qemuarm64", _RPI + "linux-raspberrypi_6.6.bb", False),
]

PROBE = r'''
import json, os, sys
sys.path.insert(0, os.path.join(sys.argv[1], "bitbake", "lib"))
import bb.cooker, bb.fetch2, bb.tinfoil
out = {}
with bb.tinfoil.Tinfoil() as tinfoil:
    tinfoil.prepare(config_only=True, quiet=2)
    d = tinfoil.config_data
    collect = bb.cooker.CookerCollectFiles([])
    collect.collect_bbfiles(d, d)       # BBFILES (+ BBFILES_DYNAMIC), BBMASK, appends
    for fn in sys.argv[2:]:
        appends = list(collect.get_file_appends(fn))
        rd = tinfoil.parse_recipe_file(fn, appends=True, appendlist=appends)
        res = {"appends": appends}
        for v in ("SRC_URI", "FILESEXTRAPATHS", "MACHINEOVERRIDES", "__SKIPPED", "PV",
                  "do_kernel_configcheck"):
            res[v] = rd.getVar(v)
        uris = [u for u in (res["SRC_URI"] or "").split() if u.endswith("rcarkit-k8s.cfg")]
        if uris:
            res["localpath"] = bb.fetch2.Fetch(uris, rd).localpath(uris[0])
        out[fn] = res
print("PROBE-JSON " + json.dumps(out))
'''


def _archives():
    found = sorted(YOCTO.glob("*.tar.xz"))
    if len(found) < 5:
        pytest.skip("../shared/yocto archives not present")
    return found


def _archive_key(archives):
    h = hashlib.sha256()
    for a in archives:
        h.update(a.name.encode() + b"\0" + hashlib.sha256(a.read_bytes()).hexdigest().encode())
    return h.hexdigest()[:12]


def _as_user():
    """Command prefix: BitBake refuses root, so root runs it as an unprivileged user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(BB_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", BB_USER], check=True)
    return ["runuser", "-u", BB_USER, "--"]


@pytest.fixture(scope="module")
def yocto_root():
    if shutil.which("gawk") is None or shutil.which("chrpath") is None:
        pytest.skip("BitBake host tools missing (see .ci/run: gawk chrpath diffstat ...)")
    archives = _archives()
    root = CACHE / "yocto" / ("src-" + _archive_key(archives))
    if not (root / ".unpacked").is_file():
        root.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=str(root.parent), prefix=".unpack-"))
        for a in archives:
            subprocess.run(["tar", "-xJf", str(a), "-C", str(tmp)], check=True)
        (tmp / ".unpacked").write_text("\n".join(a.name for a in archives) + "\n")
        if root.exists():
            shutil.rmtree(root)
        tmp.rename(root)
    prefix = _as_user()
    if prefix:
        subprocess.run(["chown", "-R", BB_USER, str(root)], check=True)
    subprocess.run(["chmod", "-R", "a+rX", str(CACHE / "yocto")], check=True)
    return root, prefix


def _generate(layer_dir, name):
    config, opts = LAYERS[name]
    proc = subprocess.run([sys.executable, "-m", "rcarkit", "yocto-layer", str(CONFIGS / config),
                           "-o", str(layer_dir), "--force", "--format", "json"] + opts,
                          cwd=str(REPO), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _write_build(root, name):
    machine, sources, generated = BUILDS[name]
    build = root / ("build-" + name)
    (build / "conf").mkdir(parents=True, exist_ok=True)
    layers = {g: build / "layers" / ("meta-rcarkit-k8s-" + g) for g in generated}
    summaries = {g: _generate(path, g) for g, path in layers.items()}
    paths = [str(root / s) for s in sources] + [str(p) for p in layers.values()]
    files = {
        "bblayers.conf": 'POKY_BBLAYERS_CONF_VERSION = "2"\nBBPATH = "${TOPDIR}"\n'
                         'BBFILES ?= ""\nBBLAYERS = "%s"\n' % " ".join(paths),
        "local.conf": 'MACHINE ??= "%s"\nDISTRO = "poky"\nCONF_VERSION = "2"\n'
                      'BB_NO_NETWORK = "1"\nBBMASK = "%s"\n'
                      'DISTRO_FEATURES:append = " usrmerge systemd"\n'
                      'MACHINE_FEATURES:append:rcar-gen3 = " cas"\n'
                      # meta-sparrow-hawk's linux-renesas 6.12 also lists rcar-gen3:
                      # keep Gen3 on its own BSP's 5.10 as in a Gen3-only build
                      'PREFERRED_VERSION_linux-renesas:rcar-gen3 = "5.10%%"\n'
                      % (machine, BBMASK),
    }
    for fname, text in files.items():
        path = build / "conf" / fname
        if not path.is_file() or path.read_text() != text:   # keep mtimes: keep the cache
            path.write_text(text)
    return build, layers, summaries


def _bitbake(root, prefix, build, args, machine=None, timeout=1500):
    env = {"HOME": str(build), "LANG": "en_US.UTF-8", "LC_ALL": "en_US.UTF-8",
           "PATH": "%s:%s:/usr/bin:/bin" % (root / "poky/bitbake/bin", root / "poky/scripts"),
           "BB_ENV_PASSTHROUGH_ADDITIONS": "MACHINE"}
    if machine:
        env["MACHINE"] = machine
    if prefix:
        subprocess.run(["chown", "-R", BB_USER, str(build)], check=True)
    cmd = prefix + ["env", "-i"] + ["%s=%s" % kv for kv in sorted(env.items())] + list(args)
    return subprocess.run(cmd, cwd=str(build), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def parsed(yocto_root):
    """Each build directory parsed once: {name: (build, layers, summaries, show-appends)}."""
    root, prefix = yocto_root
    out = {}
    for name in BUILDS:
        build, layers, summaries = _write_build(root, name)
        if prefix:
            subprocess.run(["chown", "-R", BB_USER, str(build)], check=True)
        proc = _bitbake(root, prefix, build, ["bitbake-layers", "show-appends"])
        out[name] = (build, layers, summaries, proc)
    return out


def _appends(text):
    """{recipe file name: [bbappend paths]} from show-appends' output."""
    out, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^(\S+\.bb)( \(skipped\))?:$", line)
        if m:
            cur = out.setdefault(m.group(1), [])
        elif cur is not None and line.startswith("  /"):
            cur.append(line.strip())
    return out


def _our_problems(proc, layers):
    lines = (proc.stdout + proc.stderr).splitlines()
    return [l for l in lines if re.match(r"^(WARNING|ERROR)", l)
            and any(str(p) in l or p.name in l for p in layers.values())]


@pytest.mark.parametrize("name", sorted(BUILDS))
def test_build_parses_and_lists_our_appends(parsed, name):
    build, layers, summaries, proc = parsed[name]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not _our_problems(proc, layers)
    appends = _appends(proc.stdout)
    ours = {r: [a for a in apps if any(a.startswith(str(p) + "/") for p in layers.values())]
            for r, apps in appends.items()}
    ours = {r: a for r, a in ours.items() if a}
    if name == "nobsp":
        # no BSP collection: BBFILES_DYNAMIC reads none of our bbappends, and
        # nothing at all is wrong (no "No recipes available for" error, no warning)
        assert ours == {}
        assert not [l for l in (proc.stdout + proc.stderr).splitlines()
                    if re.match(r"^(WARNING|ERROR)", l)]
        return
    want = {"rcar": ["linux-renesas_5.10.bb", "linux-renesas_6.18.bb", "linux-renesas_6.12.bb"],
            "rpi": ["linux-raspberrypi_6.6.bb", "linux-raspberrypi-v7_6.6.bb",
                    "linux-raspberrypi-dev.bb"]}[name]
    for recipe in want:
        assert recipe in ours, (recipe, sorted(ours))
    # and only kernel recipes
    assert all(r.startswith(("linux-renesas_", "linux-raspberrypi")) for r in ours), ours


def _var(env_text, name):
    m = re.search(r'^%s="(.*)"$' % re.escape(name), env_text, re.M)
    return m.group(1) if m else None


def _assert_cfg_from_layer(src_uri, fextra, layer, expected):
    uris = (src_uri or "").split()
    if not expected:
        assert "file://rcarkit-k8s.cfg" not in uris
        assert str(layer) not in (fextra or "")
        return
    assert uris[-1] == "file://rcarkit-k8s.cfg", uris[-3:]
    first = fextra.split(":")[0]
    assert os.path.realpath(first) == str((layer / "recipes-kernel/linux/files").resolve())


@pytest.mark.parametrize("name,recipe", [("rcar", "linux-renesas"), ("rpi", "linux-raspberrypi")])
def test_bitbake_e_for_the_parsed_machine(parsed, yocto_root, name, recipe):
    root, prefix = yocto_root
    build, layers, _, _ = parsed[name]
    proc = _bitbake(root, prefix, build, ["bitbake", "-e", recipe])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not _our_problems(proc, layers)
    layer = list(layers.values())[0]
    _assert_cfg_from_layer(_var(proc.stdout, "SRC_URI"), _var(proc.stdout, "FILESEXTRAPATHS"),
                           layer, True)
    # the self-check: the class is inherited (its functions are defined) and
    # kernel-yocto's do_kernel_configcheck ends by calling it
    assert re.search(r"^def rcarkit_kconfig_dropped\(fragment, config\):$", proc.stdout, re.M)
    body = re.search(r"^python do_kernel_configcheck \(\) \{\n(.*?)^\}$", proc.stdout,
                     re.M | re.S)
    assert body and body.group(1).rstrip().endswith("rcarkit_kconfig_check(d)"), \
        (body.group(1)[-300:] if body else proc.stdout[-2000:])


@pytest.fixture(scope="module")
def probes(parsed, yocto_root):
    root, prefix = yocto_root
    out = {}
    for name in ("rcar", "rpi"):
        build = parsed[name][0]
        (build / "rcarkit-probe.py").write_text(PROBE)
        for machine in sorted({m for b, m, _, _ in MACHINES if b == name}):
            files = sorted({str(root / f) for b, m, f, _ in MACHINES if (b, m) == (name, machine)})
            proc = _bitbake(root, prefix, build, ["python3", str(build / "rcarkit-probe.py"),
                                                  str(root / "poky")] + files, machine=machine)
            assert proc.returncode == 0, proc.stderr[-3000:]
            line = [l for l in proc.stdout.splitlines() if l.startswith("PROBE-JSON ")]
            assert line, proc.stdout[-2000:] + proc.stderr[-2000:]
            out[(name, machine)] = json.loads(line[-1][len("PROBE-JSON "):])
    return out


@pytest.mark.parametrize("build,machine,recipe,expected", MACHINES,
                         ids=["%s-%s" % (m[1], Path(m[2]).name) for m in MACHINES])
def test_each_machine_gets_the_cfg_from_the_layer(parsed, probes, yocto_root, build, machine,
                                                  recipe, expected):
    root, _ = yocto_root
    layers = parsed[build][1]
    layer = list(layers.values())[0]
    res = probes[(build, machine)][str(root / recipe)]
    if expected:
        # the machine builds this recipe (COMPATIBLE_MACHINE) and carries the override
        # (linux-raspberrypi-dev is skipped unless PREFERRED_PROVIDER selects it)
        assert res["__SKIPPED"] is None or (recipe.endswith("-dev.bb") and "preferred "
                                            "provider" in res["__SKIPPED"]), res["__SKIPPED"]
        assert any(a.startswith(str(layer) + "/") for a in res["appends"]), res["appends"]
        # the fetcher finds the .cfg in the layer through FILESPATH
        assert os.path.realpath(res["localpath"]) == str(
            (layer / "recipes-kernel/linux/files/rcarkit-k8s.cfg").resolve())
    # the build-time self-check runs in do_kernel_configcheck exactly where the .cfg is
    assert ("rcarkit_kconfig_check(d)" in (res["do_kernel_configcheck"] or "")) == expected
    _assert_cfg_from_layer(res["SRC_URI"], res["FILESEXTRAPATHS"], layer, expected)


def test_the_summary_names_the_machines_bitbake_reaches(parsed):
    """What yocto-layer says it reaches covers every machine proven above."""
    reached = {}
    for name in ("rcar", "rpi"):
        for summary in parsed[name][2].values():
            for r in summary["reaches"]:
                reached.update({m: r["overrides"] for m in r["machines"]})
    for build, machine, _, expected in MACHINES:
        assert (machine in reached) == expected, machine


# python3-rcarkit: what its RDEPENDS must resolve to -> (recipe PN, the recipe file
# providing it in poky + meta-openembedded scarthgap); independent of rcarkit's own
# table: file names as found in the unpacked layers
RDEPENDS_PROVIDERS = {
    "python3-modules": ("python3", "poky/meta/recipes-devtools/python/python3_"),
    "python3-jinja2": ("python3-jinja2", "poky/meta/recipes-devtools/python/python3-jinja2_"),
    "python3-psutil": ("python3-psutil", "poky/meta/recipes-devtools/python/python3-psutil_"),
    "python3-pyelftools": ("python3-pyelftools",
                           "poky/meta/recipes-devtools/python/python3-pyelftools_"),
    "python3-click": ("python3-click", "poky/meta/recipes-devtools/python/python3-click_"),
    "python3-typing-extensions": ("python3-typing-extensions",
                                  "poky/meta/recipes-devtools/python/python3-typing-extensions_"),
    "python3-tabulate": ("python3-tabulate", "meta-openembedded/meta-python/recipes-devtools/"
                                             "python/python3-tabulate_"),
    "python3-kconfiglib": ("python3-kconfiglib", "meta-openembedded/meta-python/"
                                                 "recipes-devtools/python/python3-kconfiglib_"),
    "python3-rich": ("python3-rich", "meta-openembedded/meta-python/recipes-extended/"
                                     "python-rich/python3-rich_"),
    "python3-shellingham": ("python3-shellingham", "meta-openembedded/meta-python/"
                                                   "recipes-devtools/python/python3-shellingham_"),
}
# measured: in an R-Car Gen3 build, meta-rcar-gen3 (higher priority) provides its
# own python3-pyelftools 0.26 instead of oe-core's 0.30
BSP_PROVIDERS = {"python3-pyelftools":
                 "meta-renesas/meta-rcar-gen3/recipes-devtools/python/python3-pyelftools_"}


def test_python3_rcarkit_resolves_in_oe_core_and_meta_python(parsed, yocto_root):
    """bitbake -e python3-rcarkit parses (meta-python is in the rcar build) and
    bitbake -g resolves every RDEPENDS to a recipe; each has a recipe in oe-core
    or meta-python (typer is vendored, so it is not among them)."""
    root, prefix = yocto_root
    build, layers, summaries, _ = parsed["rcar"]
    assert summaries["rcar"]["rcarkit_recipe"] is True
    env = _bitbake(root, prefix, build, ["bitbake", "-e", "python3-rcarkit"])
    assert env.returncode == 0, env.stderr[-3000:]
    assert not _our_problems(env, layers)
    rdepends = (_var(env.stdout, "RDEPENDS:python3-rcarkit") or "").split()
    assert sorted(rdepends) == sorted(RDEPENDS_PROVIDERS), rdepends
    assert not any("typer" in r for r in rdepends)
    graph = _bitbake(root, prefix, build, ["bitbake", "-g", "python3-rcarkit"])
    assert graph.returncode == 0, graph.stdout[-3000:] + graph.stderr[-3000:]
    assert not _our_problems(graph, layers)
    buildlist = (build / "pn-buildlist").read_text().split()
    dot = (build / "task-depends.dot").read_text()
    for rdep, (pn, recipe) in RDEPENDS_PROVIDERS.items():
        assert list(root.glob(recipe + "*.bb")), recipe       # oe-core / meta-python has it
        assert pn in buildlist, (rdep, pn)
        m = re.search(r'^"%s\.do_\w+" \[label="[^"]*\\n(/[^"\\]+\.bb)"' % re.escape(pn),
                      dot, re.M)
        assert m, pn
        used = os.path.relpath(m.group(1), str(root))
        assert used.startswith(recipe) or used.startswith(BSP_PROVIDERS.get(rdep, recipe)), \
            (rdep, used)
