"""kernel-symbols.toml (the version history) checked against real kernel data.

* A symbol recorded as ``removed = V`` is written by no shared full config of
  version >= V, and one recorded as ``added = V`` by none older than V (a full
  config writes every visible symbol, even as ``# ... is not set``).
* Debian's linux-source-6.1 defines a symbol exactly when the history says it
  exists in 6.1 (``config SYMBOL`` anywhere in the tree's Kconfig files).
* Every claim has positive evidence too: a removed symbol did exist before
  (a config or the 6.1 tree has it), an added one exists afterwards.
* The version facts named in issue 2 are recorded as stated there.
* A profile that checks a symbol the kernel later dropped also checks what
  replaced it, so newer kernels are still judged on something.
"""

import re
import subprocess

import pytest

from rcarkit.kernel.config import KernelVersion, load_config
from rcarkit.kernel.profiles import load_catalog

from conftest import SHARED_CONFIGS

V61 = KernelVersion.parse("6.1")


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


@pytest.fixture(scope="session")
def full_configs(configs_dir):
    return [(name, load_config(configs_dir / name)) for name in sorted(SHARED_CONFIGS)]


@pytest.fixture(scope="session")
def defined_in_61(kernel_tree_61):
    """Every symbol with a ``config``/``menuconfig`` line in any Kconfig file of 6.1."""
    out = subprocess.run(
        ["grep", "-rhoE", "--include=Kconfig*", r"^\s*(menu)?config\s+[A-Za-z0-9_]+",
         str(kernel_tree_61)], capture_output=True, text=True, check=True).stdout
    names = {line.split()[-1] for line in out.splitlines()}
    assert {"IP_VS", "NF_CONNTRACK", "CGROUP_BPF"} <= names and len(names) > 10000
    return names


def written(config, symbol):
    return config.get(symbol) is not None


def history_items(catalog):
    return sorted(catalog.symbols.items())


def test_removed_symbols_are_absent_from_newer_configs(catalog, full_configs):
    wrong = []
    for name, hist in history_items(catalog):
        if hist.removed is None:
            continue
        for cname, config in full_configs:
            if config.version >= hist.removed and written(config, name):
                wrong.append((name, "removed %s" % (hist.removed,), cname, config.get(name)))
    assert not wrong, wrong


def test_added_symbols_are_absent_from_older_configs(catalog, full_configs):
    wrong = []
    for name, hist in history_items(catalog):
        if hist.added is None:
            continue
        for cname, config in full_configs:
            if config.version < hist.added and written(config, name):
                wrong.append((name, "added %s" % (hist.added,), cname, config.get(name)))
    assert not wrong, wrong


def test_the_61_tree_agrees_with_the_history(catalog, defined_in_61):
    wrong = []
    for name, hist in history_items(catalog):
        exists = hist.exists_in(V61)
        if exists != (name in defined_in_61):
            wrong.append((name, hist.describe() or "no version bounds",
                          "6.1 tree %s it" % ("defines" if name in defined_in_61 else "lacks")))
    assert not wrong, wrong


def never_a_symbol(hist):
    return hist.never_existed


def test_every_claim_has_positive_evidence(catalog, full_configs, defined_in_61):
    """removed: it existed before; added: it exists from then on (config or tree)."""
    unsupported = []
    for name, hist in history_items(catalog):
        if hist.removed is not None and not never_a_symbol(hist):
            before = [c for c, cfg in full_configs if cfg.version < hist.removed and written(cfg, name)]
            if not (before or (V61 < hist.removed and name in defined_in_61)):
                unsupported.append((name, "removed %s, but never seen before" % (hist.removed,)))
        if hist.added is not None:
            after = [c for c, cfg in full_configs if cfg.version >= hist.added and written(cfg, name)]
            if not (after or (V61 >= hist.added and name in defined_in_61)):
                unsupported.append((name, "added %s, but never seen since" % (hist.added,)))
    assert not unsupported, unsupported


def test_replacements_are_real_symbols(catalog, full_configs, defined_in_61):
    unknown = []
    for name, hist in history_items(catalog):
        for new in hist.replaced_by:
            if new in defined_in_61 or any(written(c, new) for _, c in full_configs):
                continue
            if catalog.history(new) is not None:
                continue
            unknown.append((name, new))
    assert not unknown, unknown


def test_not_a_symbol_entries_are_nowhere(catalog, full_configs, defined_in_61):
    for name, hist in history_items(catalog):
        if never_a_symbol(hist):
            assert name not in defined_in_61
            assert not any(written(c, name) for _, c in full_configs)


# Facts stated in issue 2 (typed from it): symbol -> (field, version or None).
ISSUE_FACTS = {
    "NF_CONNTRACK_IPV4": ("removed", "4.19"),
    "CFQ_GROUP_IOSCHED": ("removed", "5.0"),
    "NF_NAT_IPV4": ("removed", "5.1"),
    "MEMCG_SWAP_ENABLED": ("removed", None),
    "DEVPTS_MULTIPLE_INSTANCES": ("removed", None),
    "NETFILTER_XTABLES_LEGACY": ("added", None),
    "IP_NF_IPTABLES_LEGACY": ("added", None),
}


@pytest.mark.parametrize("symbol", sorted(ISSUE_FACTS))
def test_issue_facts_are_recorded(catalog, symbol):
    field, version = ISSUE_FACTS[symbol]
    hist = catalog.history(symbol)
    assert hist is not None, symbol
    value = getattr(hist, field)
    assert value is not None, (symbol, field)
    if version is not None:
        assert value == KernelVersion.parse(version)
    assert hist.sources and hist.note


def test_obsolete_rules_keep_a_successor(catalog, kernel_tree_61):
    """A rule on a symbol the kernel dropped is skipped on new kernels; the same
    profile must then check the replacement (or the rule offers it as any_of).
    A successor with no prompt in 6.1 (only ever selected) cannot be set by hand
    and needs no rule."""
    from test_profiles_data import parse_kconfig_tree
    kconfig = parse_kconfig_tree(str(kernel_tree_61))
    missing = []
    for prof in catalog.profiles.values():
        checked = {s for r in prof.options for s in r.names}
        for rule in prof.options:
            for sym in rule.names:
                hist = catalog.history(sym)
                if hist is None or hist.removed is None or not hist.replaced_by:
                    continue
                settable = [r for r in hist.replaced_by
                            if any(d.has_prompt for d in kconfig.get(r, []))]
                if settable and not set(settable) & checked:
                    missing.append((prof.name, sym, hist.replaced_by))
    assert not missing, missing


def test_history_table_is_well_formed(catalog):
    for name, hist in history_items(catalog):
        assert re.match(r"^[A-Z0-9_]+$", name)
        assert hist.added or hist.removed or hist.arches or hist.never_existed or \
            hist.unavailable_without, (
            name, "records nothing")
        assert hist.sources, name
        for key in hist.sources:
            assert key in catalog.sources or "://" in key, (name, key)


ARM32_CONFIG = "upstream-arm_shmobile_defconfig_6.12.117.expanded.config"


def unavailable_items(catalog):
    return [(h.name, arch, needs) for h in catalog.symbols.values()
            for arch, needs in sorted(h.unavailable_without.items())]


def test_unavailable_claims_hold_in_the_kernel_tree(catalog, kernel_tree_61, configs_dir):
    """issue 13 item 8: every ``unavailable_without`` claim, through the 6.1
    tree's own Kconfig (Kconfiglib, ARCH=arm) on the real 32-bit ARM config
    (ARM_LPAE off): asking for the symbol, olddefconfig drops it; with the
    listed symbols on too, it sticks."""
    from rcarkit.kernel.tree import load_tree
    items = unavailable_items(catalog)
    assert ("CGROUP_HUGETLB", "arm", ("ARM_LPAE",)) in items
    base = (configs_dir / ARM32_CONFIG).read_text()
    config = load_config(configs_dir / ARM32_CONFIG)
    tree = load_tree(str(kernel_tree_61), arch="arm")
    for name, arch, needs in items:
        assert arch == "arm", "only arm has a real config here; add one for %s" % arch
        assert any(config.get(s) != "y" for s in needs), (name, needs)
        dropped = tree.simulate(base, ["CONFIG_%s=y" % name])
        assert dropped.value(name) in (None, "n"), name
        # the tree's own way to enable it goes through the listed symbols
        # (ARM_LPAE: another memory model, a kernel for other CPUs, not a fix)
        fixes = tree.fixes(name, "y")
        assert set(needs) <= {sym for sym, _ in fixes}, (name, fixes)
        kept = tree.simulate(base, ["CONFIG_%s=%s" % fix for fix in fixes] +
                             ["CONFIG_%s=y" % name])
        assert kept.value(name) == "y", (name, fixes)


def test_unavailable_option_is_neither_missing_nor_in_the_fragment(catalog, configs_dir):
    """On the real armhf config without LPAE, CGROUP_HUGETLB is 'unavailable'
    (k8s-core and k3s ask for it, optional): not failing, not in a fragment
    even with --with-optional, and the fragment says why. On arm64 (HUGETLBFS
    is possible) an unset CGROUP_HUGETLB stays missing."""
    from rcarkit.kernel.check import check_config
    from rcarkit.kernel.fragment import plan_fragment
    config = load_config(configs_dir / ARM32_CONFIG)
    profiles = [catalog.profile("k8s-core"), catalog.profile("k3s")]
    report = check_config(config, profiles, catalog)
    rows = [f for f in report.findings() if f.name == "CGROUP_HUGETLB"]
    assert len(rows) == 2 and all(f.status == "unavailable" and not f.failing for f in rows)
    assert "without ARM_LPAE" in rows[0].note
    plan = plan_fragment(report, catalog, config=config, with_optional=True)
    assert plan.entry("CGROUP_HUGETLB") is None
    assert any(n.startswith("left out: CGROUP_HUGETLB cannot be enabled on arm") for n in plan.notes)
    assert "CONFIG_CGROUP_HUGETLB" not in plan.render_cfg()
    arm64 = load_config(configs_dir / "debian10_aarch64_4.19.249_khc.config")
    assert arm64.get("CGROUP_HUGETLB") == "n"
    rows = [f for f in check_config(arm64, profiles, catalog).findings()
            if f.name == "CGROUP_HUGETLB"]
    assert rows and all(f.status == "missing" for f in rows)
