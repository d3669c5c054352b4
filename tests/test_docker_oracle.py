"""The `docker` profile against moby's own contrib/check-config.sh (the oracle).

Debian's docker.io package ships the script; .ci/run unpacks it (no daemon) into
$RCARKIT_TEST_CACHE/docker.io. For every full config in ../shared/configs, the
script's "Generally Necessary" verdicts must equal our docker profile's
required verdicts, option by option.

check-config.sh takes the kernel version from `uname -r` of the machine it runs
on, not from the config it reads. So:

* with a `uname` shim that reports the config's own version, the script's
  version rules apply to the right kernel and we must agree on every option;
* run as users run it (on this 6.18 host, against an older board's config), the
  script silently skips its version-gated checks; those options are the only
  disagreements allowed, each named below with the reason.
"""

import re
from pathlib import Path

import pytest

from rcarkit.kernel.check import check_config
from rcarkit.kernel.config import load_config
from rcarkit.kernel.profiles import load_catalog

from conftest import CACHE, SHARED_CONFIGS, run_check_config_sh

SCRIPT_CANDIDATES = [
    Path("/usr/share/docker.io/contrib/check-config.sh"),
    CACHE / "docker.io" / "usr/share/docker.io/contrib/check-config.sh",
]
LINE = re.compile(r"^- CONFIG_([A-Z0-9_]+): (enabled|enabled \(as module\)|missing)$")

# Options check-config.sh checks only when `uname -r` (not the config) is old
# enough: on a newer host it skips them; rcarkit applies the rule to the config's
# own version (kconfig_profiles/kernel-symbols.toml).
VERSION_GATED = {
    "DEVPTS_MULTIPLE_INSTANCES": "script checks it only if uname -r < 4.8; removed in 4.7",
    "NF_NAT_IPV4": "script checks it only if uname -r <= 5.1; merged into NF_NAT in 5.1",
    "NF_NAT_NEEDED": "script checks it only if uname -r <= 5.2; removed in 5.2",
}


@pytest.fixture(scope="module")
def check_config_sh():
    for path in SCRIPT_CANDIDATES:
        if path.is_file():
            return path
    pytest.skip("moby check-config.sh not found: apt-get download docker.io && "
                "dpkg -x docker.io_*.deb %s" % (CACHE / "docker.io"))


def run_script(script, config, tmp_path, uname_release=None):
    stdout = run_check_config_sh(script, config, tmp_path, uname_release)
    verdicts = {}
    section = None
    for raw in stdout.splitlines():
        line = raw.rstrip()
        if line.endswith(":") and not line.startswith("-"):
            section = line[:-1]
            continue
        m = LINE.match(line)
        if m and section == "Generally Necessary":
            verdicts[m.group(1)] = m.group(2) != "missing"
    assert verdicts, "no verdicts parsed from check-config.sh:\n" + stdout[:2000]
    return verdicts


def our_verdicts(config_path):
    """Our required verdicts on the options Docker 20.10 needs (no ``since``):
    the Debian script is 20.10's."""
    catalog = load_catalog()
    prof = catalog.profile("docker")
    later = {r.label for r in prof.options if r.since}
    report = check_config(load_config(config_path), [prof], catalog)
    ours = {}
    for f in report.findings():
        if not f.required or f.name == "KERNEL_VERSION" or f.name in later:
            continue
        assert len(f.symbols) == 1, "docker rules mirror the script one symbol each"
        if f.status in ("ok", "missing", "wrong-value"):
            ours[f.symbols[0]] = f.status == "ok"
    return ours


@pytest.mark.parametrize("name", sorted(SHARED_CONFIGS))
def test_agrees_with_check_config_sh_at_the_configs_version(check_config_sh, configs_dir,
                                                            tmp_path, name):
    path = configs_dir / name
    theirs = run_script(check_config_sh, path, tmp_path, uname_release=SHARED_CONFIGS[name])
    ours = our_verdicts(path)
    assert ours == theirs


@pytest.mark.parametrize("name", sorted(SHARED_CONFIGS))
def test_agrees_with_check_config_sh_as_users_run_it(check_config_sh, configs_dir, tmp_path,
                                                     name):
    path = configs_dir / name
    theirs = run_script(check_config_sh, path, tmp_path, uname_release="6.18.44")
    ours = our_verdicts(path)
    disagreements = {k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k)}
    assert disagreements <= set(VERSION_GATED), disagreements
    for option in disagreements:
        # the script did not check it at all (skipped by its uname rule), we did
        assert option not in theirs and option in ours, (option, VERSION_GATED[option])


def script_rows(script, config, tmp_path, uname_release):
    """Every ``- CONFIG_X: ...`` row the script prints, any section: {symbol: enabled}."""
    stdout = run_check_config_sh(script, config, tmp_path, uname_release)
    rows = {}
    for raw in stdout.splitlines():
        m = LINE.match(raw.strip())
        if m:
            rows[m.group(1)] = m.group(2) != "missing"
    return rows


@pytest.mark.parametrize("name", sorted(SHARED_CONFIGS))
def test_ext3_options_are_judged_as_moby_judges_them(check_config_sh, configs_dir, tmp_path,
                                                     name):
    """issue 13 item 3: moby's script checks EXT3_FS_POSIX_ACL/EXT3_FS_SECURITY only
    when EXT4_USE_FOR_EXT2 is not set (the ext4 driver then serves ext3). Where it
    skips them, storage's rows must be ok through served_by; where it checks them,
    the verdicts must be the script's. Debian 10 is the served case."""
    path = configs_dir / name
    theirs = script_rows(check_config_sh, path, tmp_path, SHARED_CONFIGS[name])
    catalog = load_catalog()
    config = load_config(path)
    report = check_config(config, [catalog.profile("storage")], catalog)
    rows = {f.name: f for f in report.findings() if f.name.startswith("EXT3_")}
    assert set(rows) == {"EXT3_FS_POSIX_ACL", "EXT3_FS_SECURITY"}
    for option, row in rows.items():
        if row.status == "obsolete-skipped":   # 6.18+: the aliases are gone
            continue
        if option not in theirs:
            assert row.status == "ok" and row.note.startswith("served by EXT4_USE_FOR_EXT2="), \
                (option, row.status, row.note)
        else:
            assert (row.status == "ok") == theirs[option], (option, row.status)
            assert "served by" not in row.note
    if name.startswith("debian10"):
        assert all(r.status == "ok" and "served by" in r.note for r in rows.values())
        assert "EXT3_FS_POSIX_ACL" not in theirs


# moby master contrib/check-config.sh "Generally Necessary", typed from the file
# (github.com/moby/moby, commit 00148c88eaeb, read 2026-12): the unconditional
# list, the cgroup-v1-only list, and the kernel-version-gated checks.
MOBY_MASTER_NECESSARY = """
NAMESPACES NET_NS PID_NS IPC_NS UTS_NS CGROUPS CGROUP_SCHED KEYS VETH BRIDGE
BRIDGE_NETFILTER IP_NF_FILTER IP_NF_MANGLE IP_NF_TARGET_MASQUERADE IP6_NF_FILTER
IP6_NF_MANGLE IP6_NF_TARGET_MASQUERADE NETFILTER_XT_MATCH_ADDRTYPE
NETFILTER_XT_MATCH_CONNTRACK NETFILTER_XT_MATCH_IPVS NETFILTER_XT_MARK IP_NF_RAW
IP_NF_NAT NF_NAT IP6_NF_RAW IP6_NF_NAT POSIX_MQUEUE
""".split()
MOBY_MASTER_CGROUP_V1 = "CGROUP_FREEZER CGROUP_DEVICE CPUSETS CGROUP_CPUACCT MEMCG".split()
MOBY_MASTER_GATED = {"DEVPTS_MULTIPLE_INSTANCES": "< 4.8", "NF_NAT_IPV4": "<= 5.1",
                     "NF_NAT_NEEDED": "<= 5.2", "CGROUP_BPF": ">= 4.15"}


def test_required_list_is_moby_masters():
    """issue 13 item 4: the docker profile is today's Docker, not 20.10's."""
    prof = load_catalog().profile("docker")
    required = {r.label for r in prof.options if r.required}
    assert required == set(MOBY_MASTER_NECESSARY) | set(MOBY_MASTER_CGROUP_V1) | set(
        MOBY_MASTER_GATED)
    assert prof.covers.startswith("Docker Engine 20.10")


def test_since_is_exactly_what_20_10_lacks(check_config_sh, configs_dir, tmp_path):
    """The version history as data, held to the 20.10 script Debian ships: the
    required options without ``since`` are exactly the ones it checks (on a
    config of each gated era), the ones with ``since`` it never checks."""
    text = check_config_sh.read_text()
    changelog = check_config_sh.parents[2] / "doc/docker.io/changelog.Debian.gz"
    if changelog.is_file():   # the package says which Docker the script is
        import gzip
        with gzip.open(str(changelog), "rt") as fh:
            assert fh.readline().startswith("docker.io (20.10.")
    checked = set()
    for name, version in (("rcar-gen3_bsp-v2.9.0_linux-4.4.0.config", "4.4.0"),
                          ("upstream-arm64-defconfig-expanded_6.17.3_khc.config", "4.19.0")):
        checked |= set(run_script(check_config_sh, configs_dir / name, tmp_path,
                                  uname_release=version))
    prof = load_catalog().profile("docker")
    for rule in prof.options:
        if not rule.required:
            continue
        if rule.since:
            assert rule.label not in checked and rule.label not in text, rule.label
            assert tuple(int(x) for x in rule.since.split(".")) > (20, 10), rule.label
        else:
            assert rule.label in checked, rule.label


def test_docker_28_row_says_since_on_the_rcar_config(configs_dir):
    """R-Car 4.14.75 has '# CONFIG_IP_NF_RAW is not set': Docker >= 28 cannot
    publish ports there (moby#49557); the row says which Docker needs it."""
    catalog = load_catalog()
    report = check_config(load_config(configs_dir / "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"),
                          [catalog.profile("docker")], catalog)
    rows = {f.name: f for f in report.findings()}
    assert rows["IP_NF_RAW"].status == "missing" and rows["IP_NF_RAW"].required
    assert rows["IP_NF_RAW"].note.startswith("needed since docker 28.0")
    assert report.exit_code == 1
