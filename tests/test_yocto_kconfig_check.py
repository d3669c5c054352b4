"""The layer's build-time self-check against real kernel merges (issue 11 item 4).

The generated ``classes/rcarkit_kconfig_check.bbclass`` holds the logic that
do_kernel_configcheck runs on the final ``${B}/.config``
(``rcarkit_kconfig_dropped``, ``rcarkit_kconfig_message``). These tests run
exactly those functions, cut out of the generated class, on what the kernel's
own tools produce.

Oracle: Debian's linux-source-6.1 (``kernel_tree_61``) and its
``scripts/kconfig/merge_config.sh`` run the way kernel-yocto's
do_kernel_configme runs it (``KCONFIG_MODE = "--alldefconfig"``: plain
merge_config.sh, which ends with its own audit, "Value requested for CONFIG_X
not in final .config"). The base is ``make ARCH=arm64 allnoconfig``, so
networking is off and ``CONFIG_IP_VS`` (``depends on NET && NETFILTER``,
net/netfilter/ipvs/Kconfig) is dropped; ``NF_CONNTRACK_IPV4`` does not exist
in 6.1 (removed in 4.19, kconfig_profiles/kernel-symbols.toml). The check
must name exactly the options merge_config.sh names (minus m raised to y, which
is honoured), with the fragment's reason for each. The syntax of the class and
the append is proven by the real BitBake parser in tests/test_bitbake_parse.py.
"""

import os
import re
import shutil
import subprocess

import pytest

from conftest import CONFIGS

RCAR_414 = "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"
_VALUE_REQ = re.compile(r"^Value requested for CONFIG_(\w+) not in final \.config$")

FRAGMENT = """\
# rcarkit kernel configuration fragment (generated; regenerate, do not edit)
# profiles: test

# === k8s-core ===
# cgroups: every pod and container is a cgroup
CONFIG_CGROUPS=y
# memory limits: the kubelet sets memory.max per container
CONFIG_MEMCG=y

# === kube-proxy-ipvs ===
# kube-proxy in IPVS mode programs Services as IPVS virtual servers
CONFIG_IP_VS=y
# IPv4 connection tracking for IPVS NAT [removed in 4.19]
CONFIG_NF_CONNTRACK_IPV4=y

# === dependencies: without these olddefconfig drops the options above ===
# needed by MEMCG: the memory controller counts pages per cgroup
# CONFIG_EMBEDDED is not set
"""


@pytest.fixture(scope="module")
def check_functions(tmp_path_factory, configs_dir):
    """The check's functions, cut out of a generated layer's bbclass and run."""
    from rcarkit.kernel.check import check_config, select_profiles
    from rcarkit.kernel.config import load_config
    from rcarkit.kernel.profiles import load_catalog
    from rcarkit.yocto.layer import CHECK_CLASS_PATH, generate_layer
    catalog = load_catalog()
    config = load_config(str(CONFIGS / RCAR_414))
    report = check_config(config, select_profiles(catalog, None, proxy_mode=["ipvs"]), catalog)
    layer = tmp_path_factory.mktemp("check") / "meta-k8s"
    generate_layer(report, catalog, layer)
    text = (layer / CHECK_CLASS_PATH).read_text()
    namespace = {}
    for name in ("rcarkit_kconfig_dropped", "rcarkit_kconfig_message"):
        # a BitBake def block: from "def name(" to the first unindented line
        m = re.search(r"^def %s\(.*?(?=^\S)" % name, text, re.M | re.S)
        assert m, name
        exec(compile(m.group(0), CHECK_CLASS_PATH, "exec"), namespace)
    # the bbappend calls it from do_kernel_configcheck, scoped to the override
    app = (layer / "dynamic-layers/rcar-gen3/recipes-kernel/linux/linux-renesas_%.bbappend")
    assert re.search(r"^inherit rcarkit_kconfig_check$", app.read_text(), re.M)
    assert re.search(r"^python do_kernel_configcheck:append:rcar-gen3\(\) \{\n"
                     r"    rcarkit_kconfig_check\(d\)\n\}$", app.read_text(), re.M)
    return namespace


@pytest.fixture(scope="module")
def merged(kernel_tree_61, tmp_path_factory):
    """merge_config.sh (alldefconfig, as kernel-yocto) of FRAGMENT onto allnoconfig."""
    for tool in ("make", "gcc", "flex", "bison"):
        if shutil.which(tool) is None:
            pytest.skip("%s is needed to build scripts/kconfig/conf" % tool)
    work = tmp_path_factory.mktemp("merge")
    odir = work / "out"
    odir.mkdir()
    cross = "aarch64-linux-gnu-" if shutil.which("aarch64-linux-gnu-gcc") else ""
    env = dict(os.environ, ARCH="arm64", CROSS_COMPILE=cross, LC_ALL="C")
    for name in ("KCONFIG_CONFIG", "KCONFIG_ALLCONFIG", "O", "KBUILD_OUTPUT"):
        env.pop(name, None)
    proc = subprocess.run(["make", "-s", "-C", str(kernel_tree_61), "O=%s" % odir,
                           "allnoconfig"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    base = work / "base.config"
    shutil.copy(str(odir / ".config"), str(base))
    frag = work / "rcarkit-k8s.cfg"
    frag.write_text(FRAGMENT)
    proc = subprocess.run(["bash", str(kernel_tree_61 / "scripts/kconfig/merge_config.sh"),
                           "-O", str(odir), str(base), str(frag)], cwd=str(kernel_tree_61),
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    reported = {}
    lines = proc.stdout.splitlines()
    for i, line in enumerate(lines):
        m = _VALUE_REQ.match(line.strip())
        if m:
            reported[m.group(1)] = (lines[i + 1].split(":", 1)[1].strip(),
                                    lines[i + 2].split(":", 1)[1].strip())
    return (odir / ".config").read_text(), reported


def test_check_names_what_merge_config_reports(check_functions, merged):
    final, reported = merged
    # merge_config.sh's own audit is the oracle; m raised to y is honoured
    expected = {s for s, (req, act) in reported.items()
                if not (req.endswith("=m") and act.endswith("=y"))}
    assert {"IP_VS", "NF_CONNTRACK_IPV4"} <= expected, reported
    dropped = check_functions["rcarkit_kconfig_dropped"](FRAGMENT, final)
    assert {d[0] for d in dropped} == expected
    by_symbol = {d[0]: d for d in dropped}
    # the fragment's reason and line travel with the option
    assert "IPVS virtual servers" in by_symbol["IP_VS"][4]
    assert FRAGMENT.splitlines()[by_symbol["IP_VS"][3] - 1] == "CONFIG_IP_VS=y"
    msg = check_functions["rcarkit_kconfig_message"](*by_symbol["IP_VS"],
                                                     fragment="rcarkit-k8s.cfg")
    assert msg.startswith("CONFIG_IP_VS=y (rcarkit-k8s.cfg line ")
    assert "Wanted because: kube-proxy in IPVS mode" in msg
    # what survived is not named
    assert "CGROUPS" not in by_symbol and re.search(r"^CONFIG_CGROUPS=y$", final, re.M)


def test_check_on_a_lowered_and_a_forced_value(check_functions, merged):
    """The cases allnoconfig cannot produce: y that became m, n that a select set."""
    final, _ = merged
    fragment = "# wanted built in\nCONFIG_CGROUPS=y\n# must stay off\n# CONFIG_MEMCG is not set\n"
    dropped = check_functions["rcarkit_kconfig_dropped"](fragment, final.replace(
        "CONFIG_CGROUPS=y", "CONFIG_CGROUPS=m"))
    assert [(d[0], d[1], d[2], d[4]) for d in dropped] == [
        ("CGROUPS", "y", "m", "wanted built in"), ("MEMCG", "n", "y", "must stay off")]
    assert "lowered to m" in check_functions["rcarkit_kconfig_message"](*dropped[0],
                                                                        fragment="f.cfg")
    assert check_functions["rcarkit_kconfig_dropped"]("CONFIG_CGROUPS=m\n", final) == []
