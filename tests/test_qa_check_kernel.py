"""QA regressions for check-kernel, yocto-layer and verify-fragment: each test
here failed before the fix it names."""

import gzip
import json
import subprocess
import sys

import pytest

from rcarkit.errors import ConfigError
from rcarkit.kernel.config import load_config
from rcarkit.report import Finding, Group, Report

from conftest import REPO

RCAR_414 = "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"


def run_subprocess(*args, cwd=None):
    env = dict(__import__("os").environ, PYTHONPATH=str(REPO), COLUMNS="80")
    return subprocess.run([sys.executable, "-m", "rcarkit"] + list(args),
                          cwd=str(cwd or REPO), capture_output=True, text=True, env=env,
                          timeout=120)


def grep_values(text):
    """The symbol -> value map, by a plain regex independent of our parser."""
    import re
    values = {}
    for line in text.splitlines():
        m = re.match(r"^CONFIG_(\w+)=(.*)$", line)
        if m:
            values[m.group(1)] = m.group(2)
        m = re.match(r"^# CONFIG_(\w+) is not set$", line)
        if m:
            values[m.group(1)] = "n"
    return values


# --- kconfig.py: a zImage whose compressed payload holds the markers verbatim ---

def test_zimage_with_ikconfig_markers_in_a_stored_block(tmp_path, configs_dir):
    """An arm32 zImage is a decompressor followed by the gzip'ed kernel. The
    kernel's embedded config is already gzip'ed, so deflate keeps it in a stored
    block and 'IKCFG_ST' + a gzip magic appear verbatim in the zImage; that
    false hit must not end the search (extract-ikconfig goes on when zcat fails)."""
    config = (configs_dir / RCAR_414).read_bytes()
    import random
    noise = random.Random(0)  # machine code compresses little; so does noise
    image = (bytes(noise.getrandbits(8) for _ in range(4096)) + b"IKCFG_ST"
             + gzip.compress(config, 9) + b"IKCFG_ED" + b"\0" * 4096)
    zimage = b"\x00\x00\xa0\xe1" * 256 + gzip.compress(image, 9)
    assert b"IKCFG_ST\x1f\x8b" in zimage  # the precondition of the bug
    path = tmp_path / "zImage"
    path.write_bytes(zimage)
    cfg = load_config(path)
    assert cfg.values == grep_values(config.decode())
    assert cfg.origin == "image"


def test_truncated_embedded_config_still_says_truncated(tmp_path, configs_dir):
    config = (configs_dir / RCAR_414).read_bytes()
    blob = gzip.compress(config, 9)
    image = b"\0" * 4096 + b"IKCFG_ST" + blob[:len(blob) // 2]
    path = tmp_path / "Image"
    path.write_bytes(image)
    with pytest.raises(ConfigError, match="truncated gzip"):
        load_config(path)


# --- report.py: the verdict line must fit 80 columns ------------------------

def test_verdict_fits_80_columns_with_many_profiles(configs_dir):
    result = run_subprocess("check-kernel", str(configs_dir / RCAR_414), "--all-profiles")
    assert result.returncode == 1, result.stderr
    last = [l for l in result.stdout.splitlines() if l.startswith("VERDICT: ")][-1]
    assert last.startswith("VERDICT: NOT READY")
    assert len(last) <= 80, last


def test_verdict_drops_profile_names_before_overflowing():
    groups = []
    for i in range(15):
        findings = [Finding("profile-%02d" % i, "OPT_%d_%d" % (i, j), "y", "n", "missing",
                            True, "r") for j in range(9)]
        findings += [Finding("profile-%02d" % i, "W_%d" % i, "y", "m", "wrong-value",
                             True, "r")]
        findings += [Finding("profile-%02d" % i, "O_%d_%d" % (i, j), "y", "n", "missing",
                             False, "r") for j in range(8)]
        groups.append(Group("profile-%02d" % i, "t", findings))
    report = Report("check-kernel", {}, groups)
    verdict = report.verdict()
    assert len("VERDICT: " + verdict) <= 80, verdict
    assert "135 required missing" in verdict and "15 wrong value" in verdict


# --- render.py: notes wrap at spaces, never inside a path --------------------

def test_notes_do_not_break_paths_at_hyphens(configs_dir):
    name = "rpi-bcm2711_defconfig_fed50901.defconfig"
    result = run_subprocess("check-kernel", str(configs_dir / name))
    assert result.returncode in (0, 1), result.stderr
    head = result.stdout.split("\n\n")[0]
    assert "no header in %s)" % (configs_dir / name) in " ".join(head.split()), head
    assert all(len(line) <= 80 for line in result.stdout.splitlines())


# --- check-kernel --emit-fragment + --emit-layer: refuse before writing -----

@pytest.mark.parametrize("layer_args", [
    ["--kernel-recipe", "linux-yocto"],                 # a bad layer option
    ["--layer-series", "Kirkstone"],
])
def test_emit_both_writes_nothing_when_the_layer_is_refused(tmp_path, configs_dir, layer_args):
    frag = tmp_path / "k8s.cfg"
    result = run_subprocess("check-kernel", str(configs_dir / RCAR_414), "--emit-fragment",
                            str(frag), "--emit-layer", str(tmp_path / "layer"), *layer_args)
    assert result.returncode == 2, result.stdout
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert not frag.exists() and not (tmp_path / "layer").exists()


def test_emit_both_writes_nothing_when_the_layer_dir_is_a_file(tmp_path, configs_dir):
    frag = tmp_path / "k8s.cfg"
    (tmp_path / "layer").write_text("not a directory\n")
    result = run_subprocess("check-kernel", str(configs_dir / RCAR_414), "--emit-fragment",
                            str(frag), "--emit-layer", str(tmp_path / "layer"))
    assert result.returncode == 2
    assert str(tmp_path / "layer") in result.stderr and "not a directory" in result.stderr
    assert not frag.exists()


def test_emit_both_writes_nothing_when_the_layer_has_hand_edits(tmp_path, configs_dir):
    cfg = str(configs_dir / RCAR_414)
    layer = tmp_path / "layer"
    assert run_subprocess("check-kernel", cfg, "--emit-layer", str(layer)).returncode == 1
    readme = layer / "README"
    readme.write_text(readme.read_text() + "my note\n")
    frag = tmp_path / "k8s.cfg"
    result = run_subprocess("check-kernel", cfg, "--emit-fragment", str(frag),
                            "--emit-layer", str(layer))
    assert result.returncode == 2
    assert str(readme) in result.stderr and "--force" in result.stderr
    assert not frag.exists()
    assert readme.read_text().endswith("my note\n")


def test_emit_fragment_twice_reports_no_second_write(tmp_path, configs_dir):
    cfg = str(configs_dir / RCAR_414)
    frag = tmp_path / "k8s.cfg"
    first = run_subprocess("check-kernel", cfg, "--emit-fragment", str(frag))
    assert "wrote %s" % frag in first.stderr
    again = run_subprocess("check-kernel", cfg, "--emit-fragment", str(frag))
    assert again.returncode == 1 and "wrote" not in again.stderr


# --- yocto-layer: the summary reads at 80 columns ----------------------------

def test_yocto_layer_summary_fits_80_columns(tmp_path, configs_dir):
    result = run_subprocess("yocto-layer", str(configs_dir / RCAR_414), "-o",
                            "yocto_layer/meta-rcarkit-k8s", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # the add-layer command is a path to paste whole; everything else must fit
    assert all(len(line) <= 80 for line in lines if "bitbake-layers" not in line), lines
    assert "rcar-gen3, rcar-gateway, rcar, rcar-gen4" in " ".join(result.stdout.split())


# --- verify-fragment: a malformed value is named, not blamed on dependencies --

VERIFY_BASE = """\
# Linux/arm64 6.1.0 Kernel Configuration
CONFIG_MODULES=y
CONFIG_NET=y
CONFIG_INET=y
CONFIG_NETFILTER=y
CONFIG_NF_CONNTRACK=m
CONFIG_IP_VS=m
"""


def _kconfig_text(tree, rel):
    return (tree / rel).read_text()


def test_verify_fragment_names_bad_values(tmp_path, kernel_tree_61):
    pytest.importorskip("kconfiglib")
    import re
    ipvs = _kconfig_text(kernel_tree_61, "net/netfilter/ipvs/Kconfig")
    # independent facts from the tree: IP_VS is a tristate, TAB_BITS an int in 8..27 on 64BIT
    assert re.search(r"^menuconfig IP_VS\n\s+tristate", ipvs, re.M)
    rng = re.search(r"^config\s+IP_VS_TAB_BITS\n(?:.*\n)*?\s+range (\d+) (\d+) if 64BIT", ipvs, re.M)
    low, high = int(rng.group(1)), int(rng.group(2))
    base = tmp_path / "base.config"
    base.write_text(VERIFY_BASE)
    frag = tmp_path / "k8s.cfg"
    frag.write_text("CONFIG_IP_VS=yes\nCONFIG_IP_VS_TAB_BITS=%d\n" % (high + 3))
    result = run_subprocess("verify-fragment", "--kernel-src", str(kernel_tree_61),
                            "--base", str(base), str(frag), "--format", "json")
    assert result.returncode == 1, result.stderr
    rows = {o["option"]: o for o in json.loads(result.stdout)["options"]}
    assert rows["IP_VS"]["status"] != "ok"
    assert "'yes' is not a tristate value" in rows["IP_VS"]["reason"]
    assert "depends on" not in rows["IP_VS"]["reason"]
    tab = rows["IP_VS_TAB_BITS"]
    assert tab["status"] == "wrong-value"
    assert "outside its range %d..%d" % (low, high) in tab["reason"], tab
    assert "limited to m" not in tab["reason"]


def test_verify_fragment_note_does_not_repeat_the_reason(tmp_path, kernel_tree_61):
    """A value no dependency can fix (a range error, or an m-only parent) gets
    a short fix, not the reason a second time."""
    pytest.importorskip("kconfiglib")
    base = tmp_path / "base.config"
    base.write_text(VERIFY_BASE)
    frag = tmp_path / "k8s.cfg"
    frag.write_text("CONFIG_IP_VS_TAB_BITS=99\n")
    result = run_subprocess("verify-fragment", "--kernel-src", str(kernel_tree_61),
                            "--base", str(base), str(frag), "--format", "json")
    row = json.loads(result.stdout)["options"][0]
    assert row["reason"] and row["reason"] not in row["note"], row


def test_verify_fragment_notes_a_base_from_another_kernel(tmp_path, kernel_tree_61):
    pytest.importorskip("kconfiglib")
    import re
    makefile = (kernel_tree_61 / "Makefile").read_text()
    major = int(re.search(r"^VERSION = (\d+)", makefile, re.M).group(1))
    minor = int(re.search(r"^PATCHLEVEL = (\d+)", makefile, re.M).group(1))
    frag = tmp_path / "k8s.cfg"
    frag.write_text("CONFIG_NF_CONNTRACK=m\n")
    notes = {}
    for name, version in (("same", "%d.%d.0" % (major, minor)),
                          ("other", "%d.%d.3" % (major, minor + 16))):
        base = tmp_path / ("%s.config" % name)
        base.write_text(VERIFY_BASE.replace("6.1.0", version))
        result = run_subprocess("verify-fragment", "--kernel-src", str(kernel_tree_61),
                                "--base", str(base), str(frag), "--format", "json")
        assert result.returncode == 0, result.stdout + result.stderr
        notes[name] = [n for n in json.loads(result.stdout)["notes"] if "the base is" in n]
    assert notes["same"] == []
    assert len(notes["other"]) == 1 and "%d.%d.3" % (major, minor + 16) in notes["other"][0]


# --- profiles.py: a typo in expect is an error, not a rule nothing can meet ----

@pytest.mark.parametrize("typo", ["yes", "Y", "module", "y/n"])
def test_profile_expect_typo_is_rejected(tmp_path, typo):
    import shutil
    profiles = tmp_path / "profiles"
    shutil.copytree(str(REPO / "kconfig_profiles"), str(profiles))
    docker = profiles / "docker.toml"
    text = docker.read_text()
    assert 'expect = "y"' in text
    docker.write_text(text.replace('expect = "y"', 'expect = "%s"' % typo, 1))
    config = tmp_path / "c.config"
    config.write_text("# Linux/arm64 6.1.0 Kernel Configuration\nCONFIG_NAMESPACES=y\n")
    result = run_subprocess("check-kernel", str(config), "--profiles-dir", str(profiles),
                            "-p", "docker")
    assert result.returncode == 2, result.stdout[-300:]
    assert result.stderr.count("\n") == 1 and str(docker) in result.stderr
    assert repr(typo) in result.stderr


def test_profile_expect_exact_values_still_work():
    from rcarkit.kernel.profiles import Expect
    assert Expect("3").matches("3") and Expect('"abc"').matches('"abc"')
    assert Expect("0x10").matches("0x10")


# --- kconfig.py: reading is capped for files without a size (FIFO, /dev/zero) --

def test_input_without_a_size_is_refused(tmp_path):
    """os.path.getsize is 0 for a FIFO or /dev/zero: such inputs are refused
    (issue 10 item 3), not read until memory runs out or a writer appears."""
    import os
    from rcarkit.kernel import config as kconfig
    fifo = tmp_path / "fifo"
    os.mkfifo(str(fifo))
    for path in (fifo, "/dev/zero"):
        with pytest.raises(ConfigError, match="not a regular file"):
            kconfig.load_config(path)


# --- files.py: a file where the layer needs a directory: refuse, write nothing --

@pytest.mark.parametrize("force", [False, True])
def test_layer_refuses_a_file_where_a_directory_goes(tmp_path, configs_dir, force):
    layer = tmp_path / "meta-k8s"
    layer.mkdir()
    (layer / "conf").write_text("a file, not the conf/ directory\n")
    args = ["yocto-layer", str(configs_dir / RCAR_414), "-o", str(layer)]
    result = run_subprocess(*(args + (["--force"] if force else [])))
    assert result.returncode == 2, result.stdout
    assert len(result.stderr.splitlines()) == 1
    assert str(layer / "conf") in result.stderr and "not a directory" in result.stderr
    assert sorted(p.name for p in layer.iterdir()) == ["conf"]   # nothing half-written


def test_layer_refuses_a_directory_where_a_file_goes(tmp_path, configs_dir):
    layer = tmp_path / "meta-k8s"
    (layer / "README").mkdir(parents=True)
    result = run_subprocess("yocto-layer", str(configs_dir / RCAR_414), "-o", str(layer),
                            "--force")
    assert result.returncode == 2
    assert str(layer / "README") in result.stderr and "is a directory" in result.stderr
    assert sorted(p.name for p in layer.iterdir()) == ["README"]



# --- fragment.py: an option the profile wants off is written as a setting ----

def test_fragment_writes_not_set_lines_with_their_prefix(tmp_path):
    """profiles.py allows expect = "n"; the fragment must then carry
    '# CONFIG_X is not set' (what merge_config.sh and Kconfig read), not the
    comment '# X is not set' that sets nothing."""
    import shutil
    profiles = tmp_path / "profiles"
    shutil.copytree(str(REPO / "kconfig_profiles"), str(profiles))
    with open(str(profiles / "storage.toml"), "a") as fh:
        fh.write('\n[[option]]\nname = "SECURITY_SELINUX_BOOTPARAM"\nexpect = "n"\n'
                 'required = true\nreason = "wanted off for this test"\n'
                 'source = ["moby-check-config"]\n')
    config = tmp_path / "board.config"
    config.write_text("# Linux/arm64 6.1.0 Kernel Configuration\nCONFIG_EXT4_FS=y\n"
                      "CONFIG_SECURITY_SELINUX_BOOTPARAM=y\n")
    frag = tmp_path / "k8s.cfg"
    result = run_subprocess("check-kernel", str(config), "--profiles-dir", str(profiles),
                            "-p", "storage", "--emit-fragment", str(frag))
    assert result.returncode in (0, 1), result.stderr
    text = frag.read_text()
    assert grep_values(text).get("SECURITY_SELINUX_BOOTPARAM") == "n", text
    # and still no comment that a Kconfig reader could take for a setting
    settings = [l for l in text.splitlines() if "CONFIG_" in l]
    assert all(grep_values(l) for l in settings), settings


# --- check-kernel: --kernel-version over a header says so ----------------------

def test_kernel_version_over_a_header_is_noted(configs_dir):
    path = str(configs_dir / RCAR_414)
    same = json.loads(run_subprocess("check-kernel", path, "-f", "json",
                                     "--kernel-version", "4.14.75").stdout)
    other = json.loads(run_subprocess("check-kernel", path, "-f", "json",
                                      "--kernel-version", "5.10").stdout)
    assert other["kernel_version"] == "5.10"
    assert not [n for n in same["notes"] if "--kernel-version" in n]
    noted = [n for n in other["notes"] if "--kernel-version" in n]
    assert len(noted) == 1 and "4.14.75" in noted[0], other["notes"]


def test_markdown_only_missing_says_nothing_missing(configs_dir):
    """The table says 'nothing missing' when --only-missing hides every row;
    Markdown said nothing at all between the header and the verdict."""
    name = "ubuntu20.04_aarch64_5.4.0-26_khc.config"
    table = run_subprocess("check-kernel", str(configs_dir / name), "--only-missing")
    assert table.returncode == 0 and "nothing missing" in table.stdout  # the premise
    md = run_subprocess("check-kernel", str(configs_dir / name), "--only-missing",
                        "-f", "markdown")
    assert md.returncode == 0 and "nothing missing" in md.stdout, md.stdout


@pytest.mark.parametrize("flags", [["--kernel-src", "/tmp"], ["--force"],
                                   ["--kernel-recipe", "linux-yocto"],
                                   ["--layer-series", "scarthgap", "--machine-override", "x"]])
def test_layer_flags_without_emit_are_a_usage_error(configs_dir, flags):
    """They would be silently ignored: say so instead (exit 2, one line)."""
    proc = run_subprocess("check-kernel", *flags,
                          str(configs_dir / "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"))
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--emit-fragment or --emit-layer" in lines[0]
    # --kernel-src also expands a defconfig; this config is a full one
    assert all(f in lines[0] for f in flags if f.startswith("--"))


def test_yocto_layer_all_profiles_and_the_no_op_layer(configs_dir, tmp_path):
    """--all-profiles reaches yocto-layer; a kernel lacking nothing gets a layer
    that says it adds nothing (the Raspberry Pi 6.12 config lacks nothing of the
    containerd profile, which check-kernel --only-missing confirms first)."""
    rpi = str(configs_dir / "rpi-bcm2711_defconfig_fed50901.expanded-on-debian-6.12.117.config")
    check = run_subprocess("check-kernel", "-p", "containerd", "--only-missing", "--format",
                           "json", rpi)
    failing = json.loads(check.stdout)["options"]
    proc = run_subprocess("yocto-layer", rpi, "-p", "containerd", "--kernel-recipe",
                          "linux-raspberrypi", "-o", str(tmp_path / "none"), cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    if not failing:
        assert "the layer adds no option" in proc.stdout
    else:
        assert "the layer adds no option" not in proc.stdout
    every = run_subprocess("yocto-layer", rpi, "--all-profiles", "--format", "json",
                           "--kernel-recipe", "linux-raspberrypi", "-o", str(tmp_path / "all"),
                           cwd=str(tmp_path))
    assert every.returncode == 0, every.stderr
    cfg = (tmp_path / "all" / "recipes-kernel" / "linux" / "files" / "rcarkit-k8s.cfg").read_text()
    some = (tmp_path / "none" / "recipes-kernel" / "linux" / "files" / "rcarkit-k8s.cfg").read_text()
    assert len(cfg.splitlines()) > len(some.splitlines())


def test_compressed_image_bomb_is_scanned_in_bounded_memory(tmp_path):
    """A gzip of 300 MiB of zeros looks like a compressed kernel image: it is
    scanned for IKCFG_ST as it decompresses, so rejecting it costs a few MiB,
    not the 256 MiB cap (the process measures its own peak RSS)."""
    bomb = tmp_path / "Image.gz"
    bomb.write_bytes(gzip.compress(b"\0" * (300 << 20), 1))
    # VmHWM: the peak RSS of this process image (ru_maxrss would start from the
    # parent's size at fork)
    code = ("import sys\n"
            "from rcarkit.kernel.config import load_config\n"
            "from rcarkit.errors import ConfigError\n"
            "try:\n    load_config(sys.argv[1])\nexcept ConfigError as exc:\n"
            "    print('ERROR', exc)\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
            "print('RSS_KB', hwm.split()[1])\n")
    proc = subprocess.run([sys.executable, "-c", code, str(bomb)], cwd=str(REPO),
                          capture_output=True, text=True, timeout=120)
    assert "decompression bomb" in proc.stdout, proc.stdout + proc.stderr
    rss_kb = int(proc.stdout.split("RSS_KB")[1])
    assert rss_kb < 100 * 1024, rss_kb
