"""rcarkit.kernel.tree: Kconfiglib on a real kernel tree (Debian linux-source-6.1)."""

import hashlib
import os

import pytest

from rcarkit.kernel.tree import (TreeError, Unsatisfiable, format_line, load_tree,
                                  parse_assignments, rewrite_kconfig_text)

kconfiglib = pytest.importorskip("kconfiglib")


@pytest.fixture(scope="module")
def tree(kernel_tree_61):
    return load_tree(str(kernel_tree_61), arch="arm64")


def _sha(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def test_rewrite_only_touches_bare_modules_lines():
    text = "config MODULES\n\tbool \"Enable loadable module support\"\n\tmodules\n" \
           "\thelp\n\t  Kernel modules are small pieces\n"
    out = rewrite_kconfig_text(text)
    assert "\toption modules\n" in out
    assert out.replace("\toption modules\n", "\tmodules\n") == text
    assert rewrite_kconfig_text("config FOO\n\tbool\n") == "config FOO\n\tbool\n"


def test_stock_kconfiglib_fails_on_the_tree(kernel_tree_61, tmp_path, monkeypatch):
    """The reason for the rewrite: kconfiglib 14.1.0 alone cannot parse a >= 5.13 tree."""
    monkeypatch.setenv("srctree", str(kernel_tree_61))
    monkeypatch.setenv("ARCH", "arm64")
    monkeypatch.setenv("SRCARCH", "arm64")
    monkeypatch.setenv("CC", "gcc")
    monkeypatch.setenv("LD", "ld")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(kconfiglib.KconfigError) as err:
        kconfiglib.Kconfig(os.path.join(str(kernel_tree_61), "Kconfig"), warn=False)
    assert "modules" in str(err.value)


def test_loading_leaves_the_tree_untouched(kernel_tree_61):
    module_kconfig = os.path.join(str(kernel_tree_61), "kernel/module/Kconfig")
    before = _sha(module_kconfig)
    load_tree(str(kernel_tree_61), arch="arm64")
    assert _sha(module_kconfig) == before
    assert not os.path.exists(os.path.join(str(kernel_tree_61), ".config"))


def test_tree_facts(tree, kernel_tree_61):
    with open(os.path.join(str(kernel_tree_61), "Makefile")) as fh:
        head = fh.read(400)
    assert tree.kernel_version.startswith("6.1.")
    assert "SUBLEVEL = %s" % tree.kernel_version.split(".")[2] in head
    assert tree.kconf.modules.name == "MODULES"       # the rewritten 'modules' took effect
    assert tree.defines("IP_VS")
    assert not tree.defines("NF_CONNTRACK_IPV4")       # merged into NF_CONNTRACK in 4.19
    # the expression as written in net/netfilter/ipvs/Kconfig (+ the enclosing menus)
    with open(os.path.join(str(kernel_tree_61), "net/netfilter/ipvs/Kconfig")) as fh:
        assert "depends on INET && NETFILTER" in fh.read()
    assert tree.depends_str("IP_VS").startswith("INET && NETFILTER")


def test_bad_trees_are_usage_errors(tmp_path, kernel_tree_61):
    with pytest.raises(TreeError) as err:
        load_tree(str(tmp_path), arch="arm64")
    assert str(tmp_path) in str(err.value)
    assert err.value.exit_code == 2
    with pytest.raises(TreeError):
        load_tree(str(kernel_tree_61), arch="no-such-arch")


def test_simulate_applies_merge_semantics(tree):
    sim = tree.simulate("CONFIG_NET=y\nCONFIG_INET=y\nCONFIG_NETFILTER=y\n",
                        ["CONFIG_IP_VS=m", "CONFIG_IP_VS=y"])
    assert sim.value("IP_VS") == "y"                  # last assignment wins
    assert sim.assigned["IP_VS"] == ("y", "CONFIG_IP_VS=y")
    assert "CONFIG_IP_VS=y" in sim.text.splitlines()
    assert sim.text.startswith("#\n# Automatically generated file; DO NOT EDIT.\n"
                               "# Linux/arm64 %s Kernel Configuration\n" % tree.kernel_version)


def test_fixes_add_the_missing_parents(tree):
    base = "CONFIG_NET=y\nCONFIG_INET=y\n# CONFIG_IP_VS is not set\n"
    tree.simulate(base, [])
    fixes = dict(tree.fixes("IP_VS_RR", "y"))
    assert fixes.get("IP_VS") == "y" and fixes.get("NETFILTER") == "y"
    sim = tree.simulate(base,
                        ["CONFIG_IP_VS_RR=y"] + [format_line(s, v) for s, v in fixes.items()])
    assert sim.value("IP_VS_RR") == "y"


def test_fixes_raise_y_through_a_module_parent(tree):
    """IP_VS_RR=y under IP_VS=m is limited to m; IP_VS must become y (and NF_CONNTRACK,
    because of 'depends on NF_CONNTRACK || NF_CONNTRACK=n')."""
    base = "CONFIG_MODULES=y\nCONFIG_NET=y\nCONFIG_INET=y\nCONFIG_NETFILTER=y\n" \
           "CONFIG_NF_CONNTRACK=m\nCONFIG_IP_VS=m\n"
    sim = tree.simulate(base, ["CONFIG_IP_VS_RR=y"])
    assert sim.value("IP_VS_RR") == "m"
    assert "limited to m" in tree.explain("IP_VS_RR", "y")
    fixes = dict(tree.fixes("IP_VS_RR", "y"))
    assert fixes == {"IP_VS": "y", "NF_CONNTRACK": "y"}
    sim = tree.simulate(base, ["CONFIG_IP_VS_RR=y", "CONFIG_IP_VS=y", "CONFIG_NF_CONNTRACK=y"])
    assert sim.value("IP_VS_RR") == "y"


def test_an_int_under_a_module_parent_needs_no_y(tree):
    """IP_VS_TAB_BITS (an int) is set whenever IP_VS is visible, m included:
    asking for it must not drag IP_VS up to y (the simulation shows the value
    is kept with IP_VS=m)."""
    base = "CONFIG_MODULES=y\nCONFIG_NET=y\nCONFIG_INET=y\nCONFIG_NETFILTER=y\n" \
           "CONFIG_NF_CONNTRACK=m\nCONFIG_IP_VS=m\n"
    sim = tree.simulate(base, ["CONFIG_IP_VS_TAB_BITS=15"])
    assert sim.value("IP_VS") == "m" and sim.value("IP_VS_TAB_BITS") == "15"
    assert tree.fixes("IP_VS_TAB_BITS", "15") == []
    base_off = "CONFIG_MODULES=y\nCONFIG_NET=y\nCONFIG_INET=y\n# CONFIG_IP_VS is not set\n"
    tree.simulate(base_off, [])
    fixes = dict(tree.fixes("IP_VS_TAB_BITS", "15"))
    assert fixes.get("IP_VS") in ("y", "m") and fixes.get("NETFILTER") == "y"
    sim = tree.simulate(base_off, ["CONFIG_IP_VS_TAB_BITS=15"]
                        + [format_line(sym, v) for sym, v in fixes.items()])
    assert sim.value("IP_VS_TAB_BITS") == "15"


def test_x86_only_options_are_impossible_on_arm64(tree, kernel_tree_61):
    with open(os.path.join(str(kernel_tree_61), "arch/x86/crypto/Kconfig")) as fh:
        assert "config CRYPTO_AES_NI_INTEL" in fh.read()
    tree.simulate("", [])
    with pytest.raises(Unsatisfiable) as err:
        tree.fixes("CRYPTO_AES_NI_INTEL", "y")
    assert err.value.arch_related
    assert "X86" in str(err.value)


def test_promptless_symbols_are_reached_through_a_selector(tree):
    """NF_NAT_FTP has no prompt: 'default NF_NAT && NF_CONNTRACK_FTP'."""
    sym = tree.symbol("NF_NAT_FTP")
    assert not tree.has_prompt(sym)
    base = "CONFIG_NET=y\nCONFIG_INET=y\nCONFIG_NETFILTER=y\nCONFIG_NF_CONNTRACK=y\n" \
           "# CONFIG_NF_NAT is not set\n" \
           "# CONFIG_NF_CONNTRACK_FTP is not set\n"
    tree.simulate(base, [])
    fixes = dict(tree.fixes("NF_NAT_FTP", "y"))
    assert set(fixes) >= {"NF_NAT", "NF_CONNTRACK_FTP"}
    sim = tree.simulate(base, [format_line(s, v) for s, v in fixes.items()])
    assert sim.value("NF_NAT_FTP") in ("y", "m")


def test_undefined_symbol_is_explained(tree):
    assert "not defined" in tree.explain("NF_CONNTRACK_IPV4", "y")
    with pytest.raises(Unsatisfiable):
        tree.fixes("NF_CONNTRACK_IPV4", "y")


def test_parse_assignments():
    text = "# comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x y\"\nCONFIG_D=0x10\n"
    assert parse_assignments(text) == [("A", "y", "CONFIG_A=y"),
                                       ("B", "n", "# CONFIG_B is not set"),
                                       ("C", '"x y"', 'CONFIG_C="x y"'),
                                       ("D", "0x10", "CONFIG_D=0x10")]
