"""rcarkit.kernel.fragment: planning and rendering the .cfg, and kernel-depends.toml."""

import os
import re
import sys

import pytest

from conftest import CONFIGS, REPO

from rcarkit.kernel.check import check_config, select_profiles
from rcarkit.errors import ProfileError
from rcarkit.kernel.fragment import (DEPENDENCY, FragmentEntry, FragmentPlan, IMPOSSIBLE, OBSOLETE,
                              REQUESTED, load_depends, plan_fragment, value_for)
from rcarkit.kernel.config import KernelVersion, load_config, parse_config_text
from rcarkit.kernel.profiles import load_catalog

PROFILES = ["k8s-core", "containerd", "kube-proxy-ipvs", "flannel-vxlan", "calico-iptables"]
RCAR_414 = "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def profiles(catalog):
    return select_profiles(catalog, PROFILES)


def _plan_for(config, catalog, profiles, **kw):
    report = check_config(config, profiles, catalog)
    return report, plan_fragment(report, catalog, config=config, **kw)


# -- kernel-depends.toml ------------------------------------------------------------

def test_kernel_depends_matches_the_tree(kernel_tree_61):
    """The shipped data is what tools/gen_kernel_depends.py makes from the 6.1 Kconfig."""
    pytest.importorskip("kconfiglib")
    sys.path.insert(0, os.path.join(str(REPO), "tools"))
    try:
        import gen_kernel_depends
    finally:
        sys.path.pop(0)
    text = gen_kernel_depends.generate(str(kernel_tree_61), "arm64",
                                       os.path.join(str(REPO), "kconfig_profiles"))
    with open(os.path.join(str(REPO), "kconfig_profiles", "kernel-depends.toml")) as fh:
        shipped = fh.read()
    assert shipped == text, "re-run tools/gen_kernel_depends.py --kernel-src %s" % kernel_tree_61


def test_kernel_depends_covers_every_profile_symbol(catalog):
    data = load_depends(catalog.directory)
    assert data.kernel.startswith("6.1.") and data.arch == "arm64"
    for prof in catalog.profiles.values():
        for rule in prof.options:
            for sym in rule.names:
                hist = catalog.history(sym)
                if hist is not None and hist.exists_in(KernelVersion.parse(data.kernel)) is False:
                    continue
                if sym in data.symbols:
                    continue
                # a symbol 6.1 does not define must be documented as such
                assert hist is not None, "%s (%s) is neither in kernel-depends.toml nor in " \
                    "kernel-symbols.toml" % (sym, prof.name)


def test_kernel_depends_spot_checks(catalog):
    """Dependencies as the issue and the Kconfig files state them."""
    data = load_depends(catalog.directory)
    assert {"NET", "INET", "NETFILTER"} <= set(data.get("IP_VS").needs)
    assert {"IP_VS", "NETFILTER_XTABLES"} <= set(data.get("NETFILTER_XT_MATCH_IPVS").needs)
    assert "NF_CONNTRACK" in data.get("IP_VS").limits     # NF_CONNTRACK || NF_CONNTRACK=n
    assert data.get("NF_NAT_FTP").prompt is False


def test_malformed_depends_file_names_the_file(tmp_path, catalog):
    (tmp_path / "kernel-depends.toml").write_text("[IP_VS]\nneeds = [1\n")
    with pytest.raises(ProfileError) as err:
        load_depends(str(tmp_path))
    assert "kernel-depends.toml" in str(err.value)
    (tmp_path / "kernel-depends.toml").write_text("[IP_VS]\nwhatever = 1\n")
    with pytest.raises(ProfileError):
        load_depends(str(tmp_path))


# -- planning -------------------------------------------------------------------

def test_value_for():
    assert value_for("y") == "y"
    assert value_for("y/m") == "y"
    assert value_for(">=32") == "32"
    assert value_for("n") == "n"


@pytest.mark.parametrize("with_optional", [False, True])
def test_fragment_has_exactly_the_failing_options(configs_dir, catalog, profiles, with_optional):
    """By default the failing required rules; with_optional adds the failing
    optional ones, each marked optional (issue 13: fragments hold what is required)."""
    config = load_config(str(configs_dir / RCAR_414))
    report, plan = _plan_for(config, catalog, profiles, with_optional=with_optional)
    wanted = report.failing(True) + (report.failing(False) if with_optional else [])
    failing = {f.symbols[0] if len(f.symbols) == 1 else f.name for f in
               wanted if f.name != "KERNEL_VERSION"}
    requested = [e for e in plan.entries if e.kind in (REQUESTED, IMPOSSIBLE, OBSOLETE)]
    assert len(requested) == len({e.symbol for e in requested})
    # every requested symbol comes from a failing rule, and every failing rule is there
    for f in wanted:
        if f.name == "KERNEL_VERSION":
            continue
        assert any(e.symbol in f.symbols for e in requested), f.name
    required_syms = {s for f in report.failing(True) for s in f.symbols}
    for e in requested:
        assert any(e.symbol in f.symbols for f in wanted)
        assert e.optional == (e.symbol not in required_syms), e.symbol
    only_optional = {s for f in report.failing(False) for s in f.symbols[:1]} - required_syms
    assert only_optional, "the R-Car 4.14.75 config lacks optional options"
    text = plan.render_cfg()
    for sym in only_optional:
        assert ("CONFIG_%s=" % sym in text) == with_optional, sym
    assert ("(optional)" in text) == with_optional
    assert failing
    # nothing that passes is touched
    ok = {s for f in report.findings() if f.status == "ok" for s in f.symbols}
    assert not {e.symbol for e in plan.entries if e.kind == REQUESTED} & ok


def test_never_an_option_the_kernel_version_lacks(configs_dir, catalog, profiles):
    """On 4.14 no symbol added later (WIREGUARD 5.6, ...); on 6.1 no removed one."""
    config = load_config(str(configs_dir / RCAR_414))
    _, plan = _plan_for(config, catalog, profiles)
    for e in plan.active():
        hist = catalog.history(e.symbol)
        assert hist is None or hist.exists_in(config.version) is not False, e.symbol
    assert "WIREGUARD" not in {e.symbol for e in plan.active()}


def test_dependencies_come_with_their_needers(catalog, profiles):
    """A bare 6.1 config without netfilter: the fragment brings NETFILTER & co."""
    config = parse_config_text("# Linux/arm64 6.1.0 Kernel Configuration\nCONFIG_NET=y\n"
                               "CONFIG_INET=y\nCONFIG_MODULES=y\n", source="tiny")
    _, plan = _plan_for(config, catalog, profiles)
    deps = {e.symbol: e for e in plan.entries if e.kind == DEPENDENCY}
    assert "NETFILTER" in deps
    assert "NET" not in deps and "INET" not in deps        # already set in the base
    assert all(e.needed_by for e in deps.values())
    requested = {e.symbol for e in plan.entries if e.kind == REQUESTED}
    for dep in deps.values():
        for needer in dep.needed_by:
            assert needer in requested or needer in deps


def test_without_base_config_every_dependency_is_listed(catalog, profiles):
    config = parse_config_text("CONFIG_NET=y\n", source="-", kernel_version="6.1")
    report = check_config(config, profiles, catalog)
    plan = plan_fragment(report, catalog)        # "-" cannot be re-read
    assert any("base configuration not available" in n for n in plan.notes)
    assert "NET" in {e.symbol for e in plan.entries if e.kind == DEPENDENCY}


def test_render_is_deterministic_grouped_and_commented(configs_dir, catalog, profiles):
    config = load_config(str(configs_dir / RCAR_414))
    _, plan1 = _plan_for(config, catalog, profiles, with_optional=True)
    _, plan2 = _plan_for(config, catalog, profiles, with_optional=True)
    text = plan1.render_cfg()
    assert text == plan2.render_cfg()
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines)
    settings = [i for i, line in enumerate(lines) if not line.startswith("#") and line]
    assert len(settings) == len(plan1.active())
    for i in settings:
        assert lines[i - 1].startswith("# "), "no reason comment above %s" % lines[i]
        assert re.match(r"^CONFIG_[A-Z0-9_]+=", lines[i])
    for line in lines:
        if line.startswith("#"):
            assert "CONFIG_" not in line or re.match(r"^# CONFIG_\w+ is not set$", line)
    sections = [line for line in lines if line.startswith("# === ")]
    order = [p.name for p in select_profiles(catalog, PROFILES)]
    named = [s[6:].split(" ")[0] for s in sections if s[6:].split(" ")[0] in order]
    assert named == [p for p in order if p in named]
    assert "# === dependencies" in text
    for e in plan1.entries:
        if e.kind == DEPENDENCY:
            assert "needed by %s" % e.needed_by[0] in text.replace("\n# ", " ")


def test_skipped_entries_are_comments_only():
    plan = FragmentPlan(entries=[
        FragmentEntry("IP_VS", "y", REQUESTED, ["kube-proxy-ipvs"], "ipvs"),
        FragmentEntry("CRYPTO_AES_NI_INTEL", "y", IMPOSSIBLE, ["x"], "fast aes",
                      note="depends on X86"),
        FragmentEntry("NF_CONNTRACK_IPV4", "y", OBSOLETE, ["x"], "ct",
                      note="removed in 4.19"),
        FragmentEntry("NETFILTER", "y", DEPENDENCY, [], "", needed_by=["IP_VS"]),
    ], kernel_version="6.1.0", arch="arm64", profiles=["kube-proxy-ipvs"])
    text = plan.render_cfg()
    settings = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert settings == ["CONFIG_IP_VS=y", "CONFIG_NETFILTER=y"]
    assert "CRYPTO_AES_NI_INTEL (impossible" in text
    assert "NF_CONNTRACK_IPV4 (obsolete" in text
    data = plan.to_dict()
    assert data["counts"] == {"requested": 1, "dependency": 1, "impossible": 1, "obsolete": 1}
    assert [e["line"] for e in data["entries"]] == ["CONFIG_IP_VS=y", None, None,
                                                   "CONFIG_NETFILTER=y"]


def test_nothing_missing_gives_an_empty_fragment(catalog):
    from rcarkit.report import Report
    report = Report(command="check-kernel", subject={"kernel_version": "6.1.0", "arch": "arm64",
                                                     "profiles": ["k8s-core"]}, groups=[])
    plan = plan_fragment(report, catalog, config=parse_config_text("CONFIG_NET=y\n"))
    assert plan.active() == []
    assert "nothing to change" in plan.render_cfg()


def test_data_plan_survives_kconfiglib_olddefconfig(kernel_tree_61, catalog, profiles):
    """Without a tree the data must be enough: simulated on the 6.1 Kconfig, every line stays
    (the C tools confirm it in test_fragment_oracle.py)."""
    pytest.importorskip("kconfiglib")
    from rcarkit.kernel.tree import load_tree
    tree = load_tree(str(kernel_tree_61), arch="arm64")
    with open(os.path.join(str(kernel_tree_61), "arch/arm64/configs/defconfig")) as fh:
        sim = tree.simulate(fh.read(), [])
    config = parse_config_text(sim.text, source="arm64 defconfig (kconfiglib)")
    _, plan = _plan_for(config, catalog, profiles)
    lines = [e.config_line() for e in plan.active()]
    final = tree.simulate(sim.text, lines)
    assert [line for line in lines if final.line(line.split("=")[0][7:]) != line] == []
    _, tree_plan = _plan_for(config, catalog, profiles, kernel_src=str(kernel_tree_61))
    assert tree_plan.resolved_with == str(kernel_tree_61)
    lines = [e.config_line() for e in tree_plan.active()]
    final = tree.simulate(sim.text, lines)
    assert [line for line in lines if final.line(line.split("=")[0][7:]) != line] == []


def _report_wanting(symbols, version="6.1.0"):
    """A check-kernel Report in which ``symbols`` (name -> expected) failed."""
    from rcarkit.report import Finding, Group, Report
    group = Group(name="test-profile", title="test-profile: test")
    for name, expected in symbols.items():
        names = tuple(name.split("|"))
        group.findings.append(Finding(group="test-profile", name=" | ".join(names),
                                      expected=expected, actual=None, status="missing",
                                      required=True, reason="%s is needed" % name,
                                      symbols=names))
    return Report(command="check-kernel", groups=[group],
                  subject={"kernel_version": version, "arch": "arm64",
                           "profiles": ["test-profile"]})


def test_tree_marks_arch_impossible_and_undefined_options(kernel_tree_61, catalog):
    """CRYPTO_AES_NI_INTEL lives in arch/x86/crypto/Kconfig: impossible on arm64; a name the
    tree does not define is obsolete; both are comments only and explained."""
    pytest.importorskip("kconfiglib")
    with open(os.path.join(str(kernel_tree_61), "arch/x86/crypto/Kconfig")) as fh:
        assert "config CRYPTO_AES_NI_INTEL" in fh.read()
    report = _report_wanting({"CRYPTO_AES_NI_INTEL": "y", "RCARKIT_NO_SUCH_OPTION": "y",
                              "IP_VS_RR": "y", "X86_X2APIC": "y"})
    config = parse_config_text("CONFIG_NET=y\nCONFIG_INET=y\n", source="tiny",
                               kernel_version="6.1")
    plan = plan_fragment(report, catalog, kernel_src=str(kernel_tree_61), config=config)
    kinds = {e.symbol: e for e in plan.entries}
    assert kinds["CRYPTO_AES_NI_INTEL"].kind == IMPOSSIBLE
    assert "X86" in kinds["CRYPTO_AES_NI_INTEL"].note
    assert kinds["RCARKIT_NO_SUCH_OPTION"].kind == OBSOLETE
    assert kinds["X86_X2APIC"].kind == IMPOSSIBLE           # arch/x86/Kconfig only
    assert "x86" in kinds["X86_X2APIC"].note
    assert kinds["IP_VS_RR"].kind == REQUESTED
    assert {"IP_VS", "NETFILTER"} <= {e.symbol for e in plan.entries if e.kind == DEPENDENCY}
    text = plan.render_cfg()
    assert "CRYPTO_AES_NI_INTEL (impossible" in text
    assert "CONFIG_CRYPTO_AES_NI_INTEL" not in text
    assert "CONFIG_IP_VS=y" in text.splitlines()


def test_promptless_option_brings_what_turns_it_on(kernel_tree_61, catalog):
    """NF_NAT_FTP has no prompt ('default NF_NAT && NF_CONNTRACK_FTP'): both ways of planning
    add what turns it on, and the result keeps it on."""
    pytest.importorskip("kconfiglib")
    from rcarkit.kernel.tree import load_tree
    base = "CONFIG_MODULES=y\nCONFIG_NET=y\nCONFIG_INET=y\nCONFIG_NETFILTER=y\n"
    config = parse_config_text(base, source="tiny", kernel_version="6.1")
    report = _report_wanting({"NF_NAT_FTP": "y/m"})
    tree = load_tree(str(kernel_tree_61), arch="arm64")
    for src in (None, str(kernel_tree_61)):
        plan = plan_fragment(report, catalog, kernel_src=src, config=config)
        lines = [e.config_line() for e in plan.active()]
        assert tree.simulate(base, lines).value("NF_NAT_FTP") in ("y", "m"), (src, lines)


def test_any_of_falls_back_to_an_alternative_the_tree_has(kernel_tree_61, catalog):
    """A 4.14 board config (CFQ exists there) planned against the 6.1 tree: CFQ is gone,
    so BFQ_GROUP_IOSCHED is written instead, with its parent IOSCHED_BFQ."""
    pytest.importorskip("kconfiglib")
    report = _report_wanting({"CFQ_GROUP_IOSCHED|BFQ_GROUP_IOSCHED": "y"}, version="4.14.75")
    config = parse_config_text("# Linux/arm64 4.14.75 Kernel Configuration\nCONFIG_BLOCK=y\n"
                               "CONFIG_CGROUPS=y\nCONFIG_BLK_CGROUP=y\n", source="tiny")
    plan = plan_fragment(report, catalog, kernel_src=str(kernel_tree_61), config=config)
    active = {e.symbol: e for e in plan.active()}
    assert "CFQ_GROUP_IOSCHED" not in active
    assert active["BFQ_GROUP_IOSCHED"].kind == REQUESTED
    assert "instead of CFQ_GROUP_IOSCHED" in active["BFQ_GROUP_IOSCHED"].note
    assert active["IOSCHED_BFQ"].kind == DEPENDENCY
    assert any("4.14.75" in n and "6.1" in n for n in plan.notes)
    # the data (4.14 history: CFQ still exists) keeps CFQ for a 4.14 kernel
    data_plan = plan_fragment(report, catalog, config=config)
    assert "CFQ_GROUP_IOSCHED" in {e.symbol for e in data_plan.active()}
