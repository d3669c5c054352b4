"""rcarkit verify-fragment: library and CLI (Kconfiglib on Debian's linux-source-6.1)."""

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

from rcarkit.errors import ConfigError
from rcarkit.kernel.verify import read_fragment, verify_fragment

pytest.importorskip("kconfiglib")

BASE = """\
# Linux/arm64 6.1.0 Kernel Configuration
CONFIG_MODULES=y
CONFIG_NET=y
CONFIG_INET=y
CONFIG_NETFILTER=y
CONFIG_NF_CONNTRACK=m
CONFIG_IP_VS=m
# CONFIG_IP_SET is not set
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    path = tmp_path_factory.mktemp("verify") / "base.config"
    path.write_text(BASE)
    return path


def _frag(tmp_path, text, name="k8s.cfg"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "rcarkit", "verify-fragment"] + [str(a) for a in args],
                          cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)


def test_read_fragment_last_assignment_wins(tmp_path):
    path = _frag(tmp_path, "# c\nCONFIG_A=m\n\nCONFIG_B=y\nCONFIG_A=y\n# CONFIG_C is not set\n")
    assert read_fragment(str(path)) == [("A", "y", "CONFIG_A=y"), ("B", "y", "CONFIG_B=y"),
                                        ("C", "n", "# CONFIG_C is not set")]


@pytest.mark.parametrize("text,what", [
    ("", "sets no option"),
    ("# only comments\n", "sets no option"),
    ("CONFIG_A=y\nthis is not kconfig\n", "not a Kconfig assignment"),
])
def test_read_fragment_rejects_garbage(tmp_path, text, what):
    path = _frag(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        read_fragment(str(path))
    assert what in str(err.value) and str(path) in str(err.value)


def test_surviving_fragment(kernel_tree_61, base, tmp_path):
    frag = _frag(tmp_path, "CONFIG_IP_VS_PROTO_TCP=y\nCONFIG_IP_VS_RR=m\n# CONFIG_IP_VS_SH is not set\n")
    report = verify_fragment(str(kernel_tree_61), str(base), str(frag))
    assert report.exit_code == 0
    assert [f.status for f in report.findings()] == ["ok", "ok", "ok"]
    assert report.verdict().startswith("OK: all 3")
    assert "CONFIG_IP_VS_RR=m" in report.final_text.splitlines()


def test_dropped_values_say_why_and_how_to_fix(kernel_tree_61, base, tmp_path):
    frag = _frag(tmp_path, "CONFIG_IP_VS_RR=y\nCONFIG_IP_SET_HASH_IP=y\n"
                           "CONFIG_NF_CONNTRACK_IPV4=y\n# CONFIG_IP_SET_HASH_NET is not set\n")
    report = verify_fragment(str(kernel_tree_61), str(base), str(frag))
    rows = {f.name: f for f in report.findings()}
    assert report.exit_code == 1
    # y under an m parent: limited to m
    assert rows["IP_VS_RR"].status == "wrong-value" and rows["IP_VS_RR"].actual == "m"
    assert "IP_VS=m" in rows["IP_VS_RR"].reason
    assert "CONFIG_IP_VS=y" in rows["IP_VS_RR"].note
    # unmet parent
    assert rows["IP_SET_HASH_IP"].status == "missing"
    assert "IP_SET" in rows["IP_SET_HASH_IP"].reason
    assert "CONFIG_IP_SET=y" in rows["IP_SET_HASH_IP"].note
    # not in 6.1 at all
    assert rows["NF_CONNTRACK_IPV4"].status == "obsolete-skipped"
    # off, as asked, but not written: merge_config.sh would print it, not a failure
    assert rows["IP_SET_HASH_NET"].status == "warning"
    assert set(report.merge_config_would_report()) == {"IP_VS_RR", "IP_SET_HASH_IP",
                                                       "NF_CONNTRACK_IPV4", "IP_SET_HASH_NET"}
    assert {f.name for f in report.dropped()} == {"IP_VS_RR", "IP_SET_HASH_IP",
                                                  "NF_CONNTRACK_IPV4"}


def test_applying_the_fixes_makes_it_survive(kernel_tree_61, base, tmp_path):
    import re
    frag = _frag(tmp_path, "CONFIG_IP_VS_RR=y\nCONFIG_IP_SET_HASH_IP=y\n")
    report = verify_fragment(str(kernel_tree_61), str(base), str(frag))
    added = [a for f in report.dropped() for a in re.findall(r"CONFIG_\w+=\w+", f.note)]
    frag2 = _frag(tmp_path, frag.read_text() + "".join(a + "\n" for a in added), "fixed.cfg")
    assert verify_fragment(str(kernel_tree_61), str(base), str(frag2)).exit_code == 0


def test_cli_table_json_and_exit_codes(kernel_tree_61, base, tmp_path):
    bad = _frag(tmp_path, "CONFIG_IP_SET_HASH_IP=y\nCONFIG_NF_CONNTRACK_IPV4=y\n")
    proc = _cli("--kernel-src", kernel_tree_61, "--base", base, bad)
    assert proc.returncode == 1, proc.stderr
    assert "IP_SET_HASH_IP" in proc.stdout and "VERDICT: DROPPED" in proc.stdout
    assert all(len(line) <= 80 for line in proc.stdout.splitlines())
    proc = _cli("--kernel-src", kernel_tree_61, "--base", base, "--format", "json", bad)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["command"] == "verify-fragment" and data["exit_code"] == 1
    assert data["dropped"] == ["IP_SET_HASH_IP", "NF_CONNTRACK_IPV4"]
    good = _frag(tmp_path, "CONFIG_IP_VS_PROTO_TCP=y\n", "good.cfg")
    out = tmp_path / "final.config"
    proc = _cli("--kernel-src", kernel_tree_61, "--base", base, "--write-config", out, good)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "CONFIG_IP_VS_PROTO_TCP=y" in out.read_text().splitlines()


@pytest.mark.parametrize("case", ["no-base", "no-fragment", "garbage", "not-a-tree", "format"])
def test_cli_bad_input_is_one_line_exit_2(kernel_tree_61, base, tmp_path, case):
    frag = _frag(tmp_path, "CONFIG_IP_VS_PROTO_TCP=y\n")
    args = {"no-base": ["--kernel-src", kernel_tree_61, "--base", tmp_path / "nope", frag],
            "no-fragment": ["--kernel-src", kernel_tree_61, "--base", base, tmp_path / "nope.cfg"],
            "garbage": ["--kernel-src", kernel_tree_61, "--base", base,
                        _frag(tmp_path, "\x00\x01binary\n", "bin.cfg")],
            "not-a-tree": ["--kernel-src", tmp_path, "--base", base, frag],
            "format": ["--kernel-src", kernel_tree_61, "--base", base, "--format", "xml", frag]}
    proc = _cli(*args[case])
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr


def test_other_architecture_options_are_named_as_such(kernel_tree_61, base, tmp_path):
    """X86_X2APIC is defined in arch/x86/Kconfig only: dropped on arm64 and said why;
    NF_CONNTRACK_IPV4 is defined nowhere in 6.1: obsolete."""
    with open(os.path.join(str(kernel_tree_61), "arch/x86/Kconfig")) as fh:
        assert "config X86_X2APIC" in fh.read()
    frag = _frag(tmp_path, "CONFIG_X86_X2APIC=y\nCONFIG_NF_CONNTRACK_IPV4=m\n")
    report = verify_fragment(str(kernel_tree_61), str(base), str(frag))
    rows = {f.name: f for f in report.findings()}
    assert rows["X86_X2APIC"].status == "missing"
    assert "only for x86" in rows["X86_X2APIC"].reason
    assert rows["NF_CONNTRACK_IPV4"].status == "obsolete-skipped"
    assert "not defined in Linux 6.1" in rows["NF_CONNTRACK_IPV4"].reason


def test_a_symbol_no_kernel_defines_is_named_as_such(kernel_tree_61, base, tmp_path):
    """issue 13 item 9: IP_VS_CT_NETLINK (the R-Car team's hand-added list) is in
    no Kconfig; the tree itself confirms it is undefined, and the row says it
    never existed and what was probably meant, not 'removed or renamed'."""
    from rcarkit.kernel.tree import load_tree
    assert not load_tree(str(kernel_tree_61), arch="arm64").defines("IP_VS_CT_NETLINK")
    frag = tmp_path / "never.cfg"
    frag.write_text("CONFIG_IP_VS_CT_NETLINK=y\n")
    report = verify_fragment(str(kernel_tree_61), str(base), str(frag))
    row = {f.name: f for f in report.findings()}["IP_VS_CT_NETLINK"]
    assert row.status == "obsolete-skipped" and report.exit_code == 1
    assert row.reason.startswith("not a kernel symbol in any version; probably meant IP_VS_NFCT")
