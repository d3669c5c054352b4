"""A config without its header: the kernel version range comes from its symbols
(issue 13 item 7).

The oracle is the header itself: every shared full config is checked twice,
as shipped and with its ``# Linux/<arch> <version> Kernel Configuration``
header (and the generator line) removed.

* The inferred range contains the version the header states.
* The header-less check is never more ready than the full one: every required
  row that fails with the header fails without it, and a header-less config
  is never READY where the full one is NOT READY.
* On the R-Car 4.4 config the version-dependent netfilter options
  (NF_CONNTRACK_IPV4, NF_NAT_IPV4, NF_NAT_NEEDED) stay failing, never
  skipped as obsolete.
"""

import pytest

from rcarkit.kernel.check import check_config, infer_version_range
from rcarkit.kernel.config import parse_config_text
from rcarkit.kernel.profiles import load_catalog

from conftest import SHARED_CONFIGS

RCAR_44 = "rcar-gen3_bsp-v2.9.0_linux-4.4.0.config"


def _read(path):
    if str(path).endswith(".gz"):
        import gzip
        return gzip.decompress(path.read_bytes()).decode()
    return path.read_text()


def _strip_header(text):
    return "\n".join(line for line in text.splitlines()
                     if not line.startswith(("# Linux/", "# Linux kernel version"))
                     and "Automatically generated" not in line) + "\n"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _pair(configs_dir, name):
    text = _read(configs_dir / name)
    full = parse_config_text(text, source=name)
    bare = parse_config_text(_strip_header(text), source=name + " (no header)", kind="full")
    assert full.version is not None and bare.version is None
    return full, bare


@pytest.mark.parametrize("name", sorted(SHARED_CONFIGS))
def test_inferred_range_contains_the_header_version(configs_dir, catalog, name):
    full, bare = _pair(configs_dir, name)
    vrange = infer_version_range(bare, catalog)
    assert not vrange.conflict
    assert vrange.low is None or full.version >= vrange.low, vrange.describe()
    assert vrange.high is None or full.version < vrange.high, vrange.describe()


@pytest.mark.parametrize("name", sorted(SHARED_CONFIGS))
def test_header_less_is_never_more_ready(configs_dir, catalog, name):
    full, bare = _pair(configs_dir, name)
    profiles = list(catalog.profiles.values())
    with_header = check_config(full, profiles, catalog)
    without = check_config(bare, profiles, catalog)
    failing = {(f.group, f.name) for f in with_header.failing(required=True)}
    still = {(f.group, f.name) for f in without.failing(required=True)}
    assert failing <= still, sorted(failing - still)
    if with_header.exit_code:
        assert without.exit_code == 1 and not without.verdict().startswith("READY")


def test_rcar_44_netfilter_rows_stay_failing(configs_dir, catalog):
    full, bare = _pair(configs_dir, RCAR_44)
    profiles = list(catalog.profiles.values())
    report = check_config(bare, profiles, catalog)
    rows = [f for f in report.findings()
            if set(f.symbols) & {"NF_CONNTRACK_IPV4", "NF_NAT_IPV4", "NF_NAT_NEEDED"}]
    assert {s for f in rows for s in f.symbols} >= {"NF_CONNTRACK_IPV4", "NF_NAT_IPV4",
                                                     "NF_NAT_NEEDED"}
    for f in rows:
        assert f.status not in ("ok", "obsolete-skipped", "not-applicable-for-version"), f
    assert report.exit_code == 1
    assert "kernel_version_range" in report.to_dict()
    assert any("kernel version unknown" in n for n in report.notes)


def test_a_range_that_straddles_a_removal_is_undecided(catalog):
    """Only IPVLAN (added 3.19) bounds this config: NF_CONNTRACK_IPV4 (removed
    4.19) may or may not exist, so its rows are undecided, never skipped."""
    bare = parse_config_text("CONFIG_ARM64=y\nCONFIG_IPVLAN=m\nCONFIG_NETFILTER=y\n",
                             source="bare", kind="full")
    report = check_config(bare, list(catalog.profiles.values()), catalog)
    rows = [f for f in report.findings() if f.symbols == ("NF_CONNTRACK_IPV4",)]
    assert rows and all(f.status == "undecided" and f.failing for f in rows)
    assert "undecided" in report.verdict()


@pytest.mark.parametrize("name", sorted(SHARED_CONFIGS))
def test_header_less_as_the_cli_reads_it(configs_dir, catalog, name):
    """Without its header a full config looks like a defconfig: the CLI expands
    it with the shipped defaults when they fit the inferred range. Still never
    more ready than with the header."""
    from rcarkit.kernel.defaults import expand_defconfig
    text = _read(configs_dir / name)
    full = parse_config_text(text, source=name)
    bare = parse_config_text(_strip_header(text), source=name + " (no header)")
    assert bare.kind == "defconfig"
    bare = expand_defconfig(bare, catalog)
    profiles = list(catalog.profiles.values())
    with_header = check_config(full, profiles, catalog)
    without = check_config(bare, profiles, catalog)
    failing = {(f.group, f.name) for f in with_header.failing(required=True)}
    assert failing <= {(f.group, f.name) for f in without.failing(required=True)}
    assert without.exit_code >= with_header.exit_code
