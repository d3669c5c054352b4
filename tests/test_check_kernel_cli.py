"""check-kernel end to end: CliRunner and a real subprocess on every shared config."""

import gzip
import json
import os
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from typer.testing import CliRunner

from rcarkit.cli.app import app
from rcarkit.errors import ConfigError
from rcarkit.kernel.config import load_config
from rcarkit.kernel.profiles import load_catalog

from conftest import REPO, SHARED_CONFIGS, SHARED_DEFCONFIGS
from test_kconfig import grep_values, read_text

ALL_CONFIGS = sorted(SHARED_CONFIGS) + SHARED_DEFCONFIGS
runner = CliRunner()


def run_cli(*args):
    try:
        return runner.invoke(app, list(args), catch_exceptions=False)
    except TypeError:  # pragma: no cover
        return runner.invoke(app, list(args))


def run_subprocess(*args, env=None):
    return subprocess.run([sys.executable, "-m", "rcarkit"] + list(args), cwd=str(REPO),
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("name", ALL_CONFIGS)
def test_json_report_on_every_shared_config(configs_dir, name):
    result = run_cli("check-kernel", str(configs_dir / name), "--all-profiles", "--format", "json")
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1
    assert doc["exit_code"] == result.exit_code
    values = grep_values(read_text(configs_dir / name))
    statuses = {"ok", "missing", "wrong-value", "obsolete-skipped", "not-applicable-for-version"}
    if name in SHARED_DEFCONFIGS:  # no header: version-dependent rows are undecided
        statuses.add("undecided")
    header = re.search(r"^# Linux/(\S+) ", read_text(configs_dir / name), re.M)
    for row in doc["options"]:
        assert row["reason"] and row["source"], row
        if row["option"] == "ARCH":
            # the architecture the file's own header names (the defconfig has none)
            assert row["actual"] == (header.group(1) if header else row["actual"])
            arch_ok = row["actual"] in row["expected"].split(",")
            want = "unknown" if row["actual"] is None else "ok" if arch_ok else "unsupported-arch"
            assert row["status"] == want, row
            continue
        if row["status"] == "unavailable":
            # only where the file itself shows the blocker: 32-bit ARM without LPAE
            assert header and header.group(1) == "arm" and values.get("ARM_LPAE") != "y", row
            assert all(values.get(s) in (None, "n") for s in row["symbols"])
            continue
        assert row["status"] in statuses
        if row["option"] == "KERNEL_VERSION":
            continue
        # the actual value reported is the one in the file (independent reading)
        if row["status"] == "ok" and len(row["symbols"]) == 1 and \
                (name not in SHARED_DEFCONFIGS or row["symbols"][0] in values):
            # (a defconfig's absent option has its Kconfig default: test_kernel_defaults)
            assert values.get(row["symbols"][0]) == row["actual"]
        if row["status"] == "missing":
            assert all(values.get(s) in (None, "n") for s in row["symbols"])
    required_missing = [r for r in doc["options"] if r["required"]
                        and r["status"] in ("missing", "wrong-value", "unsupported-arch",
                                            "undecided")]
    assert (result.exit_code == 1) == bool(required_missing)
    if name in SHARED_DEFCONFIGS:
        assert doc["config"]["kind"] == "defconfig"
        assert any("defconfig" in n for n in doc["notes"])
    else:
        assert doc["kernel_version"] == SHARED_CONFIGS[name]


@pytest.mark.parametrize("name", ALL_CONFIGS)
def test_subprocess_table_and_markdown(configs_dir, name):
    proc = run_subprocess("check-kernel", str(configs_dir / name))
    assert proc.returncode in (0, 1), proc.stderr
    lines = proc.stdout.splitlines()
    verdict = [l for l in lines if l.startswith("VERDICT: ")]
    assert len(verdict) == 1
    # the verdict ends the table; after NOT READY come the commands to run next
    assert (lines[-1] == verdict[0]) == (proc.returncode == 0)
    # 80 columns, but for a command line holding one word longer (a config's path)
    assert all(len(l) <= 80 or len(l.rstrip(" \\").split()) == 1 for l in lines), \
        [l for l in lines if len(l) > 80]
    for prof in ("k8s-core", "containerd", "kube-proxy-iptables", "flannel-vxlan"):
        assert any(l.startswith(prof + ":") for l in lines), prof
    md = run_subprocess("check-kernel", str(configs_dir / name), "--format", "markdown")
    assert md.returncode == proc.returncode
    assert "| option" in md.stdout and "**Verdict:**" in md.stdout
    js = json.loads(run_subprocess("check-kernel", str(configs_dir / name), "--format",
                                   "json").stdout)
    assert js["exit_code"] == proc.returncode
    assert verdict[0] == "VERDICT: " + js["verdict"]


def test_stdin_input(configs_dir):
    path = configs_dir / "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"
    proc = subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel", "-", "--format",
                           "json"], input=path.read_bytes(), capture_output=True, cwd=str(REPO))
    doc = json.loads(proc.stdout)
    assert doc["config"]["source"] == "<stdin>" and doc["kernel_version"] == "4.14.75"


def test_only_missing_lists_exactly_the_failing_rows(configs_dir):
    path = str(configs_dir / "rcar-gen3_bsp-v2.9.0_linux-4.4.0.config")
    full = json.loads(run_cli("check-kernel", path, "--format", "json").stdout)
    only = json.loads(run_cli("check-kernel", path, "--format", "json", "--only-missing").stdout)
    failing = [r for r in full["options"] if r["status"] in ("missing", "wrong-value")]
    assert only["options"] == failing and failing


def test_default_config_is_proc_config_gz():
    if not os.path.exists("/proc/config.gz"):
        pytest.skip("this machine has no /proc/config.gz")
    result = run_cli("check-kernel", "--format", "json")
    doc = json.loads(result.stdout)
    assert doc["config"]["source"] == "/proc/config.gz"
    with gzip.open("/proc/config.gz", "rt") as fh:
        header = [fh.readline() for _ in range(4)]
    assert any(doc["kernel_version"] in line for line in header)
    assert doc["profiles"] == ["k8s-core", "containerd", "kube-proxy-iptables", "flannel-vxlan"]


def test_shortcuts_replace_the_default_of_their_kind(configs_dir):
    path = str(configs_dir / "upstream-arm64-defconfig-expanded_6.17.3_khc.config")
    doc = json.loads(run_cli("check-kernel", path, "--format", "json", "--cni", "cilium",
                             "--proxy-mode", "ipvs", "--runtime", "cri-o").stdout)
    assert doc["profiles"] == ["k8s-core", "kube-proxy-ipvs", "cri-o", "cilium"] or \
        set(doc["profiles"]) == {"k8s-core", "kube-proxy-ipvs", "cri-o", "cilium"}
    doc = json.loads(run_cli("check-kernel", path, "--format", "json", "-p", "docker").stdout)
    assert doc["profiles"] == ["docker"]


def test_list_profiles(tmp_path):
    catalog = load_catalog()
    result = run_cli("check-kernel", "--list-profiles", "--format", "json")
    assert result.exit_code == 0
    names = {p["name"] for p in json.loads(result.stdout)["profiles"]}
    assert names == set(catalog.profiles)
    text = run_cli("check-kernel", "--list-profiles").stdout
    assert all(len(l) <= 80 for l in text.splitlines())


@pytest.mark.parametrize("args,needle", [
    (["check-kernel", "/nonexistent/.config"], "no such file"),
    (["check-kernel", "."], "is a directory"),
    (["check-kernel", "--format", "yaml", "/proc/version"], "--format must be one of"),
    (["check-kernel", "-p", "no-such-profile", "/proc/version"], "unknown profile"),
    (["check-kernel", "--cni", "nope", "/proc/version"], "unknown cni"),
    (["check-kernel", "--bogus-flag"], "No such option"),
])
def test_bad_input_is_one_line_and_exit_2(args, needle):
    proc = run_subprocess(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("rcarkit: error: ") and needle in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_bad_files_exit_2_via_cli(tmp_path):
    cases = {"empty": b"", "garbage": os.urandom(4096) + b"\0",
             "cut.gz": gzip.compress(b"CONFIG_A=y\n" * 1000)[:40],
             "text": b"hello\n"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        result = run_cli("check-kernel", str(tmp_path / name))
        assert result.exit_code == 2, (name, result.output)
        assert result.stdout == ""


# --- property-based: only documented errors come out of the parser -----------

@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096))
def test_random_bytes_only_raise_config_error(tmp_path, data):
    path = tmp_path / "random.bin"
    path.write_bytes(data)
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path))
    else:
        assert len(cfg) > 0


LINE = st.one_of(
    st.from_regex(r"CONFIG_[A-Z0-9_]{1,20}=(y|m|n|[0-9]{1,5}|0x[0-9a-f]{1,8}|\"[a-z ,=]{0,20}\")",
                  fullmatch=True),
    st.from_regex(r"# CONFIG_[A-Z0-9_]{1,20} is not set", fullmatch=True),
    st.sampled_from(["", "#", "# Linux/arm64 4.14.75 Kernel Configuration", "\r", "   "]),
    st.text(max_size=30),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, max_size=40), eol=st.sampled_from(["\n", "\r\n"]),
       compress=st.booleans())
def test_near_valid_configs(tmp_path, lines, eol, compress):
    text = eol.join(lines)
    data = text.encode("utf-8")
    if compress:
        data = gzip.compress(data)
    path = tmp_path / "near.config"
    path.write_bytes(data)
    try:
        cfg = load_config(path)
    except ConfigError:
        return
    except UnicodeEncodeError:  # pragma: no cover - surrogates are not valid file bytes
        return
    # Whatever parsed agrees with the independent reading of the same text.
    assert cfg.values == grep_values(text.replace("\r\n", "\n"))


def test_check_kernel_does_not_import_heavy_modules(configs_dir):
    """jinja2, psutil, tabulate, kconfiglib and the benchmark stay out of check-kernel."""
    code = ("import sys\nfrom rcarkit.cli.app import main\n"
            "try:\n    main(['check-kernel', '--all-profiles', %r])\nexcept SystemExit:\n    pass\n"
            "heavy = {'jinja2', 'psutil', 'tabulate', 'kconfiglib', 'yaml', 'pydantic'}\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy\n"
            "                or m.startswith(('rcarkit.etcd.bench', 'rcarkit.node.check', "
            "'rcarkit.yocto.layer')))\n"
            "sys.stderr.write('LOADED=%%r\\n' %% loaded)\n"
            % str(configs_dir / "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"))
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(REPO), capture_output=True,
                          text=True, timeout=60)
    assert "LOADED=[]" in proc.stderr, proc.stderr


@pytest.mark.parametrize("ext", ["", ".xz", ".zst"])
def test_absent_proc_config_with_configs_module_says_modprobe(tmp_path, ext):
    """Raspberry Pi OS builds IKCONFIG_PROC as a module: /proc/config.gz appears
    only after 'modprobe configs' (issue 13 item 10)."""
    from rcarkit.kernel.config import default_config_path
    release = "6.12.34+rpt-rpi-v8"
    module = tmp_path / "lib/modules" / release / "kernel/kernel" / ("configs.ko" + ext)
    module.parent.mkdir(parents=True)
    module.write_bytes(b"\x7fELF")
    (tmp_path / "proc").mkdir()
    with pytest.raises(ConfigError) as err:
        default_config_path(release, str(tmp_path))
    line = str(err.value)
    assert "modprobe configs" in line and str(module) in line and "\n" not in line
    module.unlink()
    with pytest.raises(ConfigError) as err:
        default_config_path(release, str(tmp_path))
    assert "modprobe" not in str(err.value) and "IKCONFIG_PROC=y" in str(err.value)


def test_configs_module_path_is_where_kbuild_puts_it(kernel_tree_61):
    """kernel/configs.c builds kernel/configs.ko (kernel/Makefile: obj-$(CONFIG_IKCONFIG)
    += configs.o; init/Kconfig: IKCONFIG_PROC makes /proc/config.gz), installed
    under lib/modules/RELEASE/kernel/ like every in-tree module."""
    from rcarkit.kernel.config import CONFIGS_MODULE_NAMES
    makefile = (kernel_tree_61 / "kernel/Makefile").read_text()
    assert re.search(r"^obj-\$\(CONFIG_IKCONFIG\)\s*\+=\s*configs\.o", makefile, re.M)
    assert (kernel_tree_61 / "kernel/configs.c").is_file()
    assert CONFIGS_MODULE_NAMES[0] == "kernel/" + "kernel/configs.ko"
