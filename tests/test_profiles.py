"""The profile format: validation errors, rule evaluation semantics, version rules."""

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rcarkit.kernel.check import check_config, select_profiles
from rcarkit.cli.app import app
from rcarkit.errors import ProfileError
from rcarkit.kernel.config import parse_config_text
from rcarkit.kernel.profiles import Expect, load_catalog, profiles_dir

SOURCES = '[doc]\ntitle = "A document"\nurl = "https://example.invalid/doc"\n'
SYMBOLS = ('[OLD_OPT]\nremoved = "4.19"\nreplaced_by = ["NEW_OPT"]\nnote = "merged"\n'
           'source = ["doc"]\n\n[NEW_OPT]\nadded = "4.19"\nsource = ["doc"]\n')
PROFILE = '''name = "demo"
kind = "cni"
summary = "a demo profile"
aliases = ["dm"]
min_kernel = "4.9"
min_kernel_reason = "needs 4.9"
min_kernel_source = "doc"

[[option]]
name = "PLAIN"
expect = "y"
reason = "plain breaks"
source = "doc"

[[option]]
any_of = ["OLD_OPT", "NEW_OPT"]
expect = "y/m"
reason = "either one"
source = ["doc"]

[[option]]
name = "BITS"
expect = ">=12"
reason = "hash table too small"
source = "doc"

[[option]]
name = "EXTRA"
expect = "y"
required = false
reason = "optional feature"
source = "https://example.invalid/extra"
'''


def make_dir(tmp_path, profile=PROFILE, sources=SOURCES, symbols=SYMBOLS, name="demo.toml"):
    d = tmp_path / "profiles"
    d.mkdir(exist_ok=True)
    (d / "sources.toml").write_text(sources)
    (d / "kernel-symbols.toml").write_text(symbols)
    (d / name).write_text(profile)
    return d


def run(tmp_path, text):
    catalog = load_catalog(str(make_dir(tmp_path)))
    config = parse_config_text(text, source="t.config")
    report = check_config(config, [catalog.profile("demo")], catalog)
    return {f.name: f for f in report.findings()}, report


def test_rule_semantics(tmp_path):
    rows, report = run(tmp_path, "# Linux/arm64 4.14.0 Kernel Configuration\n"
                                 "CONFIG_PLAIN=m\nCONFIG_OLD_OPT=m\nCONFIG_BITS=10\n")
    assert rows["KERNEL_VERSION"].status == "ok"
    assert rows["PLAIN"].status == "wrong-value" and rows["PLAIN"].actual == "m"
    assert rows["OLD_OPT | NEW_OPT"].status == "ok"
    assert "satisfied by OLD_OPT" in rows["OLD_OPT | NEW_OPT"].note
    assert rows["BITS"].status == "wrong-value"
    assert rows["EXTRA"].status == "missing" and not rows["EXTRA"].required
    assert report.exit_code == 1
    assert report.verdict().startswith("NOT READY: 2 wrong value (demo)")


def test_version_rules(tmp_path):
    rows, _ = run(tmp_path, "# Linux/arm64 4.4.0 Kernel Configuration\nCONFIG_PLAIN=y\n")
    assert rows["KERNEL_VERSION"].status == "wrong-value"
    # on 4.4 NEW_OPT does not exist yet, OLD_OPT does: the rule is judged on OLD_OPT
    assert rows["OLD_OPT | NEW_OPT"].status == "missing"
    assert "NEW_OPT" in rows["OLD_OPT | NEW_OPT"].note
    rows, _ = run(tmp_path, "# Linux/arm64 5.10.0 Kernel Configuration\nCONFIG_NEW_OPT=y\n"
                            "CONFIG_BITS=12\nCONFIG_PLAIN=y\n")
    assert rows["OLD_OPT | NEW_OPT"].status == "ok"
    assert rows["BITS"].status == "ok"


def test_fragment_symbol_of_an_any_of_rule_is_one_the_kernel_has(tmp_path):
    """OLD_OPT (removed 4.19) comes first in the rule; on 5.10 a fragment must
    set NEW_OPT, on 4.4 (before NEW_OPT was added) OLD_OPT."""
    from rcarkit.kernel.check import missing_symbols
    _, report = run(tmp_path, "# Linux/arm64 5.10.0 Kernel Configuration\nCONFIG_PLAIN=y\n")
    assert "NEW_OPT" in [s for s, _, _ in missing_symbols(report)]
    assert "OLD_OPT" not in [s for s, _, _ in missing_symbols(report)]
    _, report = run(tmp_path, "# Linux/arm64 4.4.0 Kernel Configuration\nCONFIG_PLAIN=y\n")
    assert "OLD_OPT" in [s for s, _, _ in missing_symbols(report)]
    assert "NEW_OPT" not in [s for s, _, _ in missing_symbols(report)]


def test_obsolete_and_not_yet(tmp_path):
    symbols = SYMBOLS
    profile = PROFILE.replace('any_of = ["OLD_OPT", "NEW_OPT"]', 'name = "OLD_OPT"')
    profile += '\n[[option]]\nname = "NEW_OPT"\nexpect = "y"\nreason = "r"\nsource = "doc"\n'
    catalog = load_catalog(str(make_dir(tmp_path, profile=profile, symbols=symbols)))
    old = parse_config_text("# Linux/arm64 4.9.0 Kernel Configuration\nCONFIG_A=y\n")
    new = parse_config_text("# Linux/arm64 5.4.0 Kernel Configuration\nCONFIG_A=y\n")
    r_old = {f.name: f.status for f in check_config(old, [catalog.profile("demo")], catalog).findings()}
    r_new = {f.name: f.status for f in check_config(new, [catalog.profile("demo")], catalog).findings()}
    assert r_old["OLD_OPT"] == "missing" and r_old["NEW_OPT"] == "not-applicable-for-version"
    assert r_new["OLD_OPT"] == "obsolete-skipped" and r_new["NEW_OPT"] == "missing"


def test_expect():
    assert Expect("y/m").matches("m") and Expect("y-or-m").matches("y")
    assert not Expect("y").matches("m") and Expect("m").matches("m")
    assert Expect("n").matches(None) and Expect("n").matches("n") and not Expect("n").matches("y")
    assert Expect(">=12").matches("0xc") and not Expect(">=12").matches("8")
    assert Expect('"abc"').matches('"abc"') and Expect("3").matches("3")


@pytest.mark.parametrize("mutate,needle", [
    (lambda p: p.replace('kind = "cni"', 'kind = "plugin"'), "kind is one of"),
    (lambda p: p.replace('name = "demo"', 'name = "other"'), 'set name = "demo"'),
    (lambda p: p.replace('reason = "plain breaks"\n', ''), "has no reason"),
    (lambda p: p.replace('source = "doc"', 'source = "nodoc"', 1), "not in sources.toml"),
    (lambda p: p.replace('name = "PLAIN"', 'name = "CONFIG_plain"'), "without CONFIG_"),
    (lambda p: p.replace('expect = ">=12"', 'expect = ">=twelve"'), "a number must follow"),
    (lambda p: p.replace('min_kernel_reason = "needs 4.9"\n', ''), "min_kernel needs"),
    (lambda p: p + "\n[[option]]\nname = \"PLAIN\"\nexpect = \"y\"\nreason = \"r\"\nsource = \"doc\"\n",
     "listed twice"),
    (lambda p: p.replace('summary = "a demo profile"', 'summary = "x"\ncolour = "red"'),
     "unknown top-level key"),
    (lambda p: p.replace('expect = "y"\nreason = "plain', 'expect = "y\nreason = "plain'),
     "invalid TOML"),
    (lambda p: p.replace('aliases = ["dm"]', 'aliases = ["dm"]\narches = ["aarch64"]\n'
                         'arches_reason = "r"\narches_source = "doc"'), "kernel's ARCH names"),
    (lambda p: p.replace('aliases = ["dm"]', 'aliases = ["dm"]\narches = ["arm64"]'),
     "arches needs arches_reason"),
    (lambda p: p.replace('aliases = ["dm"]', 'aliases = ["dm"]\narches_reason = "r"'),
     "without arches"),
    (lambda p: p.replace('reason = "plain breaks"', 'reason = "plain breaks"\n'
                         'served_by = ["OTHER"]'), "served_by needs served_by_reason"),
    (lambda p: p.replace('reason = "plain breaks"', 'reason = "plain breaks"\n'
                         'served_by_reason = "r"\nserved_by_source = "doc"'),
     "served_by_reason/served_by_source without served_by"),
    (lambda p: p.replace('reason = "plain breaks"', 'reason = "plain breaks"\n'
                         'served_by = ["OTHER"]\nserved_by_reason = "r"\n'
                         'served_by_source = "nodoc"'), "not in sources.toml"),
    (lambda p: p.replace('reason = "plain breaks"', 'reason = "plain breaks"\nsince = "2.0"\n'
                         'since_source = "doc"'), "since needs the profile's covers"),
    (lambda p: p.replace('aliases = ["dm"]', 'aliases = ["dm"]\ncovers = "demo 1 to 2"\n'
                         'covers_source = "doc"').replace(
        'reason = "plain breaks"', 'reason = "plain breaks"\nsince = "two"\n'
        'since_source = "doc"'), "not a release number"),
    (lambda p: p.replace('aliases = ["dm"]', 'aliases = ["dm"]\ncovers = "demo 1 to 2"'),
     "covers needs covers_source"),
    (lambda p: p.replace('aliases = ["dm"]', 'aliases = ["dm"]\nstatus = "dead"'),
     "status is one of"),
    (lambda p: p.replace('aliases = ["dm"]', 'aliases = ["dm"]\nstatus = "unmaintained"'),
     "needs status_note and status_source"),
    (lambda p: p.replace('aliases = ["dm"]', 'aliases = ["dm"]\nstatus_note = "gone"'),
     "status_note without status"),
    (lambda p: p.replace('reason = "plain breaks"', 'reason = "plain breaks"\n'
                         'since_source = "doc"'), "since_source without since"),
])
def test_profile_errors_name_file_and_fix(tmp_path, mutate, needle):
    d = make_dir(tmp_path, profile=mutate(PROFILE))
    with pytest.raises(ProfileError) as info:
        load_catalog(str(d))
    assert needle in str(info.value)
    assert "demo.toml" in str(info.value)


def test_bad_profiles_dir_via_cli_is_exit_2(tmp_path):
    d = make_dir(tmp_path, profile=PROFILE.replace('kind = "cni"', 'kind = "x"'))
    result = CliRunner().invoke(app, ["check-kernel", "--profiles-dir", str(d), "/proc/version"])
    assert result.exit_code == 2


def test_shipped_catalog_is_valid_and_complete():
    catalog = load_catalog()
    required = {"k8s-core", "containerd", "cri-o", "docker", "kube-proxy-iptables",
                "kube-proxy-ipvs", "kube-proxy-nftables", "flannel-vxlan", "flannel-host-gw",
                "flannel-wireguard", "calico-iptables", "calico-ebpf", "cilium", "weave",
                "storage", "canal", "k3s", "ipv6-dual-stack"}
    assert required <= set(catalog.profiles)
    for prof in catalog.profiles.values():
        for rule in prof.options:
            assert rule.reason and rule.sources
            for key in rule.sources:
                src = catalog.source(key)
                assert src.url.startswith("https://"), (prof.name, key)
    for name in ("cilium", "calico-ebpf", "kube-proxy-nftables"):
        assert catalog.profiles[name].min_kernel is not None, name
    assert Path(profiles_dir()).name == "kconfig_profiles"


def test_default_selection():
    catalog = load_catalog()
    names = [p.name for p in select_profiles(catalog)]
    assert names == ["k8s-core", "containerd", "kube-proxy-iptables", "flannel-vxlan"]
    names = [p.name for p in select_profiles(catalog, cni=["calico"], proxy_mode=["ipvs"])]
    assert names == ["k8s-core", "containerd", "kube-proxy-ipvs", "calico-iptables"]


ARCH_PROFILE = PROFILE.replace('aliases = ["dm"]', 'aliases = ["dm"]\narches = ["arm64", "x86"]\n'
                               'arches_reason = "no 32-bit images"\narches_source = "doc"')


@pytest.mark.parametrize("header,status,exit_code", [
    ("# Linux/arm64 5.10.0 Kernel Configuration\n", "ok", 0),
    ("# Linux/arm 5.10.0 Kernel Configuration\n", "unsupported-arch", 1),
    ("", "unknown", 0),
])
def test_arches_row(tmp_path, header, status, exit_code):
    catalog = load_catalog(str(make_dir(tmp_path, profile=ARCH_PROFILE)))
    text = header + "CONFIG_PLAIN=y\nCONFIG_NEW_OPT=y\nCONFIG_BITS=12\nCONFIG_EXTRA=y\n"
    report = check_config(parse_config_text(text, source="t.config", kernel_version="5.10"),
                          [catalog.profile("demo")], catalog)
    rows = {f.name: f for f in report.findings()}
    assert rows["ARCH"].status == status
    assert report.exit_code == exit_code
    if status == "unsupported-arch":
        assert report.verdict().startswith("NOT READY: unsupported on arm")
    assert catalog.profile("demo").to_dict()["arches"] == ["arm64", "x86"]


SERVED_PROFILE = PROFILE.replace('reason = "plain breaks"', 'reason = "plain breaks"\n'
                                 'served_by = ["ALIAS_HOST", "ALIAS_FEATURE"]\n'
                                 'served_by_reason = "the host driver does it"\n'
                                 'served_by_source = "doc"')


@pytest.mark.parametrize("extra,status", [
    ("CONFIG_ALIAS_HOST=y\nCONFIG_ALIAS_FEATURE=m\n", "ok"),
    ("CONFIG_ALIAS_HOST=y\n# CONFIG_ALIAS_FEATURE is not set\n", "missing"),
    ("CONFIG_ALIAS_FEATURE=y\n", "missing"),
    ("CONFIG_PLAIN=y\n", "ok"),
])
def test_served_by_needs_every_serving_symbol(tmp_path, extra, status):
    catalog = load_catalog(str(make_dir(tmp_path, profile=SERVED_PROFILE)))
    config = parse_config_text("CONFIG_NEW_OPT=y\nCONFIG_BITS=12\n" + extra, source="t.config")
    rows = {f.name: f for f in check_config(config, [catalog.profile("demo")], catalog).findings()}
    assert rows["PLAIN"].status == status
    assert ("served by ALIAS_HOST=y" in rows["PLAIN"].note) == (status == "ok" and
                                                                  "PLAIN" not in extra)


NEVER_SYMBOLS = SYMBOLS + ('\n[CT_NETLINK_TYPO]\nnever_existed = true\nreplaced_by = ["PLAIN"]\n'
                           'source = ["doc"]\n')
NEVER_PROFILE = PROFILE + '''
[[option]]
name = "CT_NETLINK_TYPO"
expect = "y"
reason = "a hand-made list asks for it"
source = "doc"
'''


@pytest.mark.parametrize("line", ["", "CONFIG_CT_NETLINK_TYPO=y\n"])
def test_never_existed_symbol_is_shown_as_such(tmp_path, line):
    """issue 13 item 9: a rule on a name no kernel defines is 'not-a-symbol' (not
    failing, never ok even when a hand-written config sets it), the note says
    what was meant, a config setting it gets a note, and the fragment omits it
    with a message."""
    from rcarkit.kernel.fragment import plan_fragment
    catalog = load_catalog(str(make_dir(tmp_path, profile=NEVER_PROFILE, symbols=NEVER_SYMBOLS)))
    config = parse_config_text("CONFIG_NEW_OPT=y\nCONFIG_BITS=12\n" + line, source="t.config")
    report = check_config(config, [catalog.profile("demo")], catalog)
    row = {f.name: f for f in report.findings()}["CT_NETLINK_TYPO"]
    assert row.status == "not-a-symbol" and not row.failing
    assert row.note == "CT_NETLINK_TYPO: not a kernel symbol in any version; probably meant PLAIN"
    assert any("sets CT_NETLINK_TYPO=y, but not a kernel symbol" in n
               for n in report.notes) == bool(line)
    plan = plan_fragment(report, catalog, config=config)
    assert plan.entry("CT_NETLINK_TYPO") is None
    assert "CONFIG_CT_NETLINK_TYPO" not in plan.render_cfg()
    assert any(n.startswith("left out (demo asks for it): CT_NETLINK_TYPO: not a kernel")
               for n in plan.notes)


ARCH_SYMBOLS = SYMBOLS + ('\n[PLAIN]\narches = ["x86"]\nsource = ["doc"]\n')


@pytest.mark.parametrize("header,status", [
    ("# Linux/arm64 6.1.0 Kernel Configuration\n", "unavailable"),
    ("# Linux/x86 6.1.0 Kernel Configuration\n", "missing"),
])
def test_symbol_of_another_architecture_is_unavailable(tmp_path, header, status):
    """kernel-symbols.toml ``arches``: a symbol only x86 defines is 'unavailable'
    on an arm64 config (olddefconfig would drop it), 'missing' on x86; the
    verdict counts it as required unavailable."""
    catalog = load_catalog(str(make_dir(tmp_path, symbols=ARCH_SYMBOLS)))
    config = parse_config_text(header + "CONFIG_NEW_OPT=y\nCONFIG_BITS=12\n", source="t.config")
    row = {f.name: f for f in check_config(config, [catalog.profile("demo")], catalog)
           .findings()}["PLAIN"]
    # PLAIN is required: a component that needs what the architecture cannot have fails
    assert row.status == status and row.failing
    if status == "unavailable":
        assert row.note == "PLAIN is defined only for x86, not arm64"
        report = check_config(config, [catalog.profile("demo")], catalog)
        assert "1 required unavailable here" in report.verdict()
