"""A defconfig is judged as its ``make olddefconfig`` expansion (issue 13 item 6).

The oracle is the kernel's own C Kconfig tools, run on Debian's kernel trees:

* Shared full configs of three architectures (arm64, arm, x86) are brought to
  Linux 6.1 with ``make olddefconfig`` and reduced with ``make savedefconfig``
  (results cached under ``RCARKIT_TEST_CACHE``). check-kernel on the
  defconfig, expanded with the shipped defaults (no tree) and with
  ``--kernel-src`` (Kconfiglib on the tree), gives the same status on every
  row as on the olddefconfig output, and the expansion gives every symbol of
  the shipped data the value olddefconfig wrote.
* The shared RPi bcm2711 defconfig against its expansion on Debian's 6.12.117
  tree (in ../shared, made with the C tools): the same, with the shipped data
  (no tree needed, so this part is fast) and with the 6.12 tree.
* The shipped data is what tools/gen_kernel_defaults.py makes from the trees.
"""

import fcntl
import os
import shutil
import subprocess
import sys

import pytest

from rcarkit.kernel.check import check_config
from rcarkit.kernel.config import load_config, parse_config_text
from rcarkit.kernel.defaults import (available, expand_defconfig, expand_with_data,
                                     load_data)
from rcarkit.kernel.profiles import load_catalog

from conftest import CACHE, REPO

RPI_DEFCONFIG = "rpi-bcm2711_defconfig_fed50901.defconfig"
RPI_EXPANDED = "rpi-bcm2711_defconfig_fed50901.expanded-on-debian-6.12.117.config"
#: shared full configs turned into 6.1 defconfigs: (file, ARCH)
SAVEDEFCONFIG_INPUTS = [
    ("rcar-gen3_bsp-v3.21.0_linux-4.14.75.config", "arm64"),
    ("debian10_aarch64_4.19.249_khc.config", "arm64"),
    ("ubuntu20.04_aarch64_5.4.0-26_khc.config", "arm64"),
    ("android15-gki_aarch64_6.6.102_khc.config", "arm64"),
    ("upstream-arm_shmobile_defconfig_6.12.117.expanded.config", "arm"),
    ("host_proc-config_6.18.44-fc-v595_x86_64.config.gz", "x86"),
]
CROSS = {"arm64": "aarch64-linux-gnu-", "arm": "arm-linux-gnueabihf-"}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _read(path):
    if str(path).endswith(".gz"):
        import gzip
        return gzip.decompress(path.read_bytes()).decode()
    return path.read_text()


def _statuses(report):
    return {(f.group, f.name): f.status for f in report.findings()}


def _same_rows(got, want):
    a, b = _statuses(got), _statuses(want)
    assert a.keys() == b.keys()
    diff = sorted((k, a[k], b[k]) for k in a if a[k] != b[k])
    assert not diff, diff
    assert got.exit_code == want.exit_code
    assert got.verdict().split(";")[0] == want.verdict().split(";")[0]


def _same_values(expanded, oracle, data, arch):
    wrong = []
    for name, rec in data["symbols"].items():
        if "arch" in rec and arch not in rec["arch"]:
            continue
        if (expanded.get(name) or "n") != (oracle.get(name) or "n"):
            wrong.append((name, expanded.get(name), oracle.get(name)))
    assert not wrong, wrong[:20]


# --- the RPi defconfig against its 6.12 expansion (shipped data: no tree) ----------

@pytest.mark.parametrize("version", ["6.12.117", None])
def test_rpi_defconfig_is_judged_as_its_expansion(configs_dir, catalog, version):
    profiles = list(catalog.profiles.values())
    oracle = load_config(configs_dir / RPI_EXPANDED)
    raw = load_config(configs_dir / RPI_DEFCONFIG, kernel_version=version)
    assert raw.is_provisional
    cfg = expand_defconfig(raw, catalog)
    assert cfg.expanded_from and not cfg.is_provisional, cfg.expansion_note
    assert "6.12" in cfg.expanded_from
    data = load_data(dict((str(v)[:-2], p) for v, p in available(catalog.directory))["6.12"])
    _same_values(cfg, oracle, data, "arm64")
    report = check_config(cfg, profiles, catalog)
    want = check_config(oracle, profiles, catalog)
    if version is not None:
        _same_rows(report, want)
    else:
        # version unknown (>= 6.7 from its symbols): rows that depend on the
        # release may be undecided, never ok where the expansion fails
        assert report.exit_code == want.exit_code or report.exit_code == 1
        failing = {(f.group, f.name) for f in want.failing(required=True)}
        assert failing <= {(f.group, f.name) for f in report.failing(required=True)}
        assert not [f for f in report.findings() if f.provisional]


def test_unexpanded_defconfig_stays_provisional(configs_dir, catalog):
    """A defconfig older than every shipped release is not given defaults it never had."""
    raw = load_config(configs_dir / RPI_DEFCONFIG, kernel_version="5.10")
    cfg = expand_defconfig(raw, catalog)
    assert cfg.is_provisional and "--kernel-src" in cfg.expansion_note
    report = check_config(cfg, list(catalog.profiles.values()), catalog)
    assert report.provisional and cfg.expansion_note in report.notes


def test_choice_and_arch_defaults_follow_the_architecture(catalog):
    """An empty defconfig: ARM64 is on for arm64 and absent for x86, and the
    page-size choice picks its default member (4K) on arm64."""
    empty = parse_config_text("# CONFIG_LOCALVERSION_AUTO is not set\n", source="empty",
                              kind="defconfig", kernel_version="6.1")
    arm64, _ = expand_with_data(empty, catalog.directory, arch="arm64")
    x86, _ = expand_with_data(empty, catalog.directory, arch="x86")
    assert arm64.get("ARM64") == "y" and x86.get("ARM64") is None
    assert x86.get("X86_64") == "y" or x86.get("X86_32") == "y"
    if arm64.get("ARM64_4K_PAGES") is not None:
        assert arm64.get("ARM64_4K_PAGES") == "y" and arm64.get("ARM64_64K_PAGES") in (None, "n")


# --- savedefconfig'd shared configs against olddefconfig on the 6.1 tree -------------

def _make(tree, out, arch, target):
    cross = CROSS.get(arch, "")
    if cross and not shutil.which(cross + "gcc"):
        cross = ""
    subprocess.run(["make", "-s", "-C", str(tree), "O=%s" % out, "ARCH=%s" % arch,
                    "CROSS_COMPILE=%s" % cross, target], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=900)


def oracle_pair(tree, configs_dir, name, arch):
    """(olddefconfig output, savedefconfig output) of a shared config on ``tree``,
    made once and cached under RCARKIT_TEST_CACHE."""
    base = CACHE / "defconfig-oracle" / ("%s-%s" % (tree.name, arch))
    done = base / (name + ".done")
    full, small = base / (name + ".full"), base / (name + ".defconfig")
    if done.exists():
        return full, small
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            work = base / "build"
            work.mkdir(exist_ok=True)
            (work / ".config").write_text(_read(configs_dir / name))
            os.chmod(work / ".config", 0o644)
            _make(tree, work, arch, "olddefconfig")
            shutil.copyfile(work / ".config", full)
            _make(tree, work, arch, "savedefconfig")
            shutil.copyfile(work / "defconfig", small)
            done.write_text("made with make olddefconfig + savedefconfig on %s\n" % tree)
    return full, small


@pytest.mark.slow
@pytest.mark.parametrize("name,arch", SAVEDEFCONFIG_INPUTS)
def test_savedefconfig_is_judged_as_olddefconfig(kernel_tree_61, configs_dir, catalog, name,
                                                 arch):
    if not shutil.which("make") or not shutil.which("gcc"):
        pytest.skip("make and gcc are needed to run the kernel's Kconfig tools")
    full_path, small_path = oracle_pair(kernel_tree_61, configs_dir, name, arch)
    profiles = list(catalog.profiles.values())
    oracle = load_config(full_path)
    assert oracle.version is not None and tuple(oracle.version)[:2] == (6, 1)
    want = check_config(oracle, profiles, catalog)
    small = load_config(small_path, kind="defconfig", kernel_version=str(oracle.version))
    small.arch = arch   # a defconfig names no architecture; the user knows it
    with_data = expand_defconfig(small, catalog)
    assert with_data.expanded_from and "shipped" in with_data.expanded_from
    data = load_data(dict((str(v)[:-2], p) for v, p in available(catalog.directory))["6.1"])
    _same_values(with_data, oracle, data, arch)
    _same_rows(check_config(with_data, profiles, catalog), want)
    with_tree = expand_defconfig(small, catalog, kernel_src=str(kernel_tree_61))
    assert str(kernel_tree_61) in with_tree.expanded_from
    _same_rows(check_config(with_tree, profiles, catalog), want)


@pytest.mark.slow
def test_rpi_defconfig_with_kernel_src_612(kernel_tree_612, configs_dir, catalog):
    profiles = list(catalog.profiles.values())
    oracle = load_config(configs_dir / RPI_EXPANDED)
    raw = load_config(configs_dir / RPI_DEFCONFIG)
    cfg = expand_defconfig(raw, catalog, kernel_src=str(kernel_tree_612))
    assert str(cfg.version).startswith("6.12")
    _same_rows(check_config(cfg, profiles, catalog), check_config(oracle, profiles, catalog))


@pytest.mark.slow
def test_cli_defconfig_with_kernel_src(kernel_tree_612, configs_dir):
    expanded = subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel", "--all-profiles",
                               str(configs_dir / RPI_EXPANDED)], capture_output=True, text=True,
                              cwd=str(REPO), timeout=600)
    proc = subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel", "--all-profiles",
                           str(configs_dir / RPI_DEFCONFIG), "--kernel-src",
                           str(kernel_tree_612)], capture_output=True, text=True, cwd=str(REPO),
                          timeout=600)
    assert proc.returncode == expanded.returncode, proc.stderr
    verdict = [l for l in proc.stdout.splitlines() if l.startswith("VERDICT")]
    want = [l for l in expanded.stdout.splitlines() if l.startswith("VERDICT")]
    assert verdict == want
    assert "expanded as 'make olddefconfig' does" in " ".join(proc.stdout.split())


# --- the shipped data is the generator's output ----------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("version", ["6.1", "6.12"])
def test_shipped_defaults_are_generated_from_the_tree(request, version):
    tree = request.getfixturevalue("kernel_tree_61" if version == "6.1" else "kernel_tree_612")
    sys.path.insert(0, str(REPO / "tools"))
    from gen_kernel_defaults import generate
    shipped = REPO / "kconfig_profiles" / ("kernel-defaults-%s.json" % version)
    assert generate(str(tree)) == shipped.read_text(), \
        "re-run tools/gen_kernel_defaults.py --kernel-src %s" % tree


# --- the command line ---------------------------------------------------------------------

def _verdict(proc):
    return [l for l in proc.stdout.splitlines() if l.startswith("VERDICT")]


def test_cli_defconfig_without_a_tree(configs_dir):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel", "--all-profiles"]
                              + list(args), capture_output=True, text=True, cwd=str(REPO),
                              timeout=300)
    want = run(str(configs_dir / RPI_EXPANDED))
    got = run(str(configs_dir / RPI_DEFCONFIG), "--kernel-version", "6.12.117")
    assert got.returncode == want.returncode, got.stderr
    assert _verdict(got) == _verdict(want)
    assert "Kconfig defaults of Linux 6.12" in " ".join(got.stdout.split())
    assert "MISSING?" not in got.stdout


def test_cli_kernel_src_that_is_not_a_tree(configs_dir, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel",
                           str(configs_dir / RPI_DEFCONFIG), "--kernel-src", str(tmp_path)],
                          capture_output=True, text=True, cwd=str(REPO), timeout=300)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path) in lines[0] and "kernel tree" in lines[0]


@pytest.mark.parametrize("damage", ['{"symbols": {}, ', '[1, 2]', '{"symbols": [], "choices": {}}',
                                    "[" * 100000 + "]" * 100000,
                                    '{"symbols": {"MODULES": {"t": "tristate", "v": ["&&", 5]}},'
                                    ' "choices": {}, "generated": {"arches": ["arm64"]}}'],
                         ids=["truncated", "a list", "symbols a list", "nested deeply",
                              "a bad expression"])
def test_damaged_defaults_data_is_one_line(configs_dir, tmp_path, damage):
    """A --profiles-dir with a broken kernel-defaults file: exit 2, one line naming it."""
    for name in os.listdir(load_catalog().directory):
        if name.endswith(".toml"):
            shutil.copy(os.path.join(load_catalog().directory, name), str(tmp_path))
    (tmp_path / "kernel-defaults-6.12.json").write_text(damage)
    proc = subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel", "--profiles-dir",
                           str(tmp_path), str(configs_dir / RPI_DEFCONFIG)],
                          capture_output=True, text=True, cwd=str(REPO), timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "kernel-defaults-6.12.json" in lines[0], proc.stderr
