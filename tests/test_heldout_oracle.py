"""Held-out oracle: rcarkit's verdicts on configs it was never tuned on, against
the upstream lists, option by option.

The configs are Debian's distribution kernel configs (packages
``linux-config-6.1`` and ``linux-config-6.12``, unpacked by .ci/run into
$RCARKIT_TEST_CACHE/linux-config for amd64, arm64 and armhf): 2 versions x
{amd64, arm64, armmp, armmp-lpae}; a slow test repeats it on all 19 configs the
packages ship (cloud, rt, arm64-16k too). None is in ../shared (checked).

The independent side (tests/data/upstream/):

* moby master ``contrib/check-config.sh``, run on each config (uname shimmed to
  the config's version) -> ``docker``;
* kubernetes/system-validators ``DefaultSysSpec`` -> ``k8s-core``;
* k3s ``contrib/util/check-config.sh`` lists -> ``k3s``;
* Cilium's system requirements -> ``cilium`` (and its architectures);
* calicoctl ``node checksystem``'s module list -> ``calico-iptables``;
* k0s's sysinfo worker probes -> ``k8s-core``.

A row is one upstream entry or one required rule of the profile on one
config. It disagrees when

* upstream requires it and the profile does not (optional, or absent and not
  a Kconfig dependency of a required rule: kernel-depends.toml ``needs``),
* the profile requires it and upstream does not (optional or absent), or the
  other way round, on a kernel where the rule applies,
* upstream lists it and the profile never asks for it because it is harmful
  (kconfig_profiles/not-recommended.toml carries the reason), or
* both judge it and the verdicts differ (set per upstream's ``y/m`` against
  rcarkit's ok), including the architecture.

Every disagreement must be carried as data: a ``[[differs_from]]`` entry of the
profile (list, symbol, theirs, ours, reason, source) or a not-recommended.toml
entry. A new, unexplained disagreement fails; so does an entry that no
held-out config shows any more (the disagreement is gone: delete it).
"""

import gzip
import lzma
import re
from collections import Counter
from pathlib import Path

import pytest

from rcarkit.kernel.check import check_config
from rcarkit.kernel.config import load_config
from rcarkit.kernel.profiles import load_catalog

from conftest import CACHE, CONFIGS, run_check_config_sh

DATA = Path(__file__).resolve().parent / "data" / "upstream"
VERSIONS = ("6.1", "6.12")
FLAVOURS = ("amd64_none_amd64", "arm64_none_arm64", "armhf_none_armmp", "armhf_none_armmp-lpae")
ROOTS = (Path("/usr/src"), CACHE / "linux-config" / "usr" / "src")
VERDICT_STATUSES = ("ok", "missing", "wrong-value")
SCRIPT_LINE = re.compile(r"^\s*- CONFIG_([A-Z0-9_]+): (enabled|enabled \(as module\)|missing)$")
ARCH_WORDS = {"x86": "x86", "x86_64": "x86", "arm64": "arm64", "arm": "arm"}


def _toml(path):
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python < 3.11
        import tomli as tomllib
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _lists():
    return _toml(DATA / "kconfig-lists.toml")


LISTS = _lists()
DEPENDS = _toml(Path(__file__).resolve().parents[1] / "kconfig_profiles" / "kernel-depends.toml")


def heldout_paths(every_flavour=False):
    """name -> config.*.xz: FLAVOURS of each version, or every config the packages ship."""
    found = {}
    for version in VERSIONS:
        for root in ROOTS:
            directory = root / ("linux-config-%s" % version)
            paths = (sorted(directory.glob("config.*.xz")) if every_flavour else
                     [directory / ("config.%s.xz" % flavour) for flavour in FLAVOURS])
            for path in paths:
                name = "%s-%s" % (version, path.name[len("config."):-len(".xz")])
                if path.is_file() and name not in found:
                    found[name] = path
    return found


def unpack(paths, out):
    """name -> decompressed config path (the script's zgrep cannot read xz)."""
    if len(paths) < len(VERSIONS) * len(FLAVOURS):
        pytest.skip("Debian linux-config-6.1/6.12 (amd64, arm64, armhf) not unpacked: "
                    "see .ci/run (apt-get download linux-config-6.1 linux-config-6.12 per "
                    "architecture, dpkg -x into %s)" % (CACHE / "linux-config"))
    configs = {}
    for name, path in sorted(paths.items()):
        configs[name] = out / ("config-" + name)
        configs[name].write_bytes(lzma.decompress(path.read_bytes()))
    return configs


@pytest.fixture(scope="module")
def heldout(tmp_path_factory):
    """The 8 main held-out configs: 6.1 and 6.12 x amd64, arm64, armmp, armmp-lpae."""
    return unpack(heldout_paths(), tmp_path_factory.mktemp("heldout"))


def config_version(path):
    with open(path) as fh:
        for line in fh:
            m = re.match(r"^# Linux/\S+ (\d+\.\d+\.\d+)\S* Kernel Configuration", line)
            if m:
                return m.group(1)
    raise AssertionError("%s: no version header" % path)


def version_tuple(text):
    return tuple(int(x) for x in text.split("."))


def gate_applies(gate, version):
    assert gate.startswith("<"), gate
    return version_tuple(version)[:2] < version_tuple(gate[1:])[:2]


def read_symbols(path):
    values = {}
    with open(path) as fh:
        for line in fh:
            m = re.match(r"^CONFIG_([A-Za-z0-9_]+)=(.*)$", line.strip())
            if m:
                values[m.group(1)] = m.group(2)
    return values


# -- the upstream side ----------------------------------------------------------

def run_moby_script(config, version, tmp_path):
    """{symbol: (level, set?)} from moby's check-config.sh run on ``config``."""
    stdout = run_check_config_sh(DATA / LISTS["moby-check-config"]["script"], config,
                                 tmp_path, uname_release=version)
    entries = {}
    level = None
    for raw in stdout.splitlines():
        line = raw.rstrip()
        if line == "Generally Necessary:":
            level = "required"
        elif line == "Optional Features:":
            level = "optional"
        elif line == "Limits:":
            level = None
        m = SCRIPT_LINE.match(line)
        if m and level and not m.group(1).startswith("LEGACY_VSYSCALL_"):
            entries.setdefault(m.group(1), ((m.group(1),), level, m.group(2) != "missing"))
    assert entries, "no verdicts parsed from moby check-config.sh:\n" + stdout[:2000]
    return list(entries.values())


def evaluate_list(spec, config, version):
    """[(names, level, set?)] for a copied list, judged as upstream judges."""
    values = read_symbols(config)
    accepts = spec["accepts"].split("/")
    rows = []
    for level in ("required", "optional"):
        for entry in spec.get(level, []):
            names = tuple(entry.split("|"))
            gate = spec.get("gated", {}).get(names[0])
            if gate and not gate_applies(gate, version):
                continue
            present = [values[n] for n in names if n in values]
            rows.append((names, level, bool(present) and present[0] in accepts))
    return rows


def upstream_rows(list_name, config, version, tmp_path):
    spec = LISTS[list_name]
    if "script" in spec:
        return run_moby_script(config, version, tmp_path)
    return evaluate_list(spec, config, version)


# -- the comparison ---------------------------------------------------------------

def compare(catalog, list_name, config, version, tmp_path):
    """(rows compared, rows both sides judged, [(symbol, theirs, ours)]) on one config."""
    spec = LISTS[list_name]
    profile = catalog.profile(spec["profile"])
    report = check_config(load_config(str(config)), [profile], catalog)
    by_symbol = {}
    arch_row = None
    for f in report.findings():
        if f.name == "ARCH":
            arch_row = f
        for sym in f.symbols:
            by_symbol.setdefault(sym, f)
    rules = {rule.names: rule for rule in profile.options}
    # what a required rule cannot be set without (Kconfig "depends on", from
    # kernel-depends.toml, generated from the kernel tree and tested against it)
    implied = set()
    for rule in profile.options:
        if rule.required and len(rule.names) == 1:
            implied.update(DEPENDS.get(rule.names[0], {}).get("needs", ()))
    found = []
    rows = judged = 0
    matched_rules = set()
    for names, level, is_set in upstream_rows(list_name, config, version, tmp_path):
        rows += 1
        symbol = names[0]
        finding = next((by_symbol[n] for n in names if n in by_symbol), None)
        if finding is None:
            if symbol in catalog.not_recommended:
                found.append((symbol, level, "not-recommended"))
            elif level == "required" and symbol not in implied:
                found.append((symbol, "required", "absent"))
            continue
        matched_rules.add(tuple(finding.symbols))
        ours_level = "required" if finding.required else "optional"
        if level != ours_level and finding.status in VERDICT_STATUSES:
            found.append((symbol, level, ours_level))
        if finding.status not in VERDICT_STATUSES:
            if is_set is False and finding.required:
                found.append((symbol, "y/m", finding.status))
            continue
        judged += 1
        if (finding.status == "ok") != is_set:
            found.append((symbol, "y/m", str(rules[tuple(finding.symbols)].expect)
                          if not rules[tuple(finding.symbols)].is_any_of else "any_of"))
    for rule in profile.options:
        if not rule.required or rule.names in matched_rules:
            continue
        finding = next(f for f in report.findings() if tuple(f.symbols) == rule.names)
        if finding.status not in VERDICT_STATUSES:
            continue  # not checked on this kernel (removed / not yet added)
        rows += 1
        found.append((rule.names[0], "absent", "required"))
    arches = spec.get("arches")
    if arches:
        rows += 1
        judged += 1
        arch = ARCH_WORDS.get(load_config(str(config)).arch or "", "?")
        theirs_ok = arch in arches
        ours_ok = arch_row is not None and arch_row.status == "ok"
        if theirs_ok != ours_ok:
            found.append(("ARCH", "supported" if theirs_ok else "unsupported",
                          arch_row.status if arch_row else "absent"))
    return rows, judged, found


def carried(catalog, list_name, symbol, theirs, ours):
    """Whether the data explains this disagreement."""
    profile = catalog.profile(LISTS[list_name]["profile"])
    if ours == "not-recommended":
        return symbol in catalog.not_recommended
    return any(d.key == (list_name, symbol, theirs, ours) for d in profile.differs_from)


# -- the tests --------------------------------------------------------------------

def test_heldout_configs_are_not_in_shared(heldout):
    shared = set()
    for path in CONFIGS.glob("*"):
        if path.is_file():
            data = path.read_bytes()
            shared.add((gzip.decompress(data) if path.suffix == ".gz" else data)[:1 << 20])
    for name, path in heldout.items():
        assert path.read_bytes()[:1 << 20] not in shared, name
    arches = Counter(load_config(str(p)).arch for p in heldout.values())
    versions = set(config_version(p).rsplit(".", 1)[0] for p in heldout.values())
    assert set(arches) >= {"x86", "arm64", "arm"} and versions == set(VERSIONS), (arches, versions)


def assert_carried(configs, list_name, tmp_path, catalog=None):
    catalog = catalog or load_catalog()
    seen = set()
    unexplained = []
    for name, config in sorted(configs.items()):
        _, _, found = compare(catalog, list_name, config, config_version(config), tmp_path)
        for symbol, theirs, ours in found:
            seen.add((list_name, symbol, theirs, ours))
            if not carried(catalog, list_name, symbol, theirs, ours):
                unexplained.append("%s: %s: %s says %s, %s says %s"
                                   % (name, symbol, list_name, theirs, LISTS[list_name]["profile"],
                                      ours))
    assert not unexplained, (
        "disagreements with %s not carried as [[differs_from]] data in %s.toml:\n  %s"
        % (list_name, LISTS[list_name]["profile"], "\n  ".join(sorted(set(unexplained)))))
    profile = catalog.profile(LISTS[list_name]["profile"])
    stale = [d for d in profile.differs_from if d.list == list_name and d.key not in seen]
    assert not stale, ("recorded differences no held-out config shows any more (gone: "
                       "delete them): %s" % [d.key for d in stale])


@pytest.mark.parametrize("list_name", sorted(LISTS))
def test_every_disagreement_is_carried_as_data(heldout, tmp_path, list_name):
    assert_carried(heldout, list_name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("list_name", sorted(LISTS))
def test_every_flavour_debian_ships(tmp_path_factory, tmp_path, list_name):
    """The same on all 19 configs of both packages (adds cloud, rt and arm64-16k)."""
    configs = unpack(heldout_paths(every_flavour=True), tmp_path_factory.mktemp("every"))
    assert len(configs) > len(VERSIONS) * len(FLAVOURS)
    assert_carried(configs, list_name, tmp_path)


def test_the_oracle_fails_on_an_unrecorded_or_a_stale_difference(heldout, tmp_path):
    """Drop one recorded difference, then add one that does not exist: both fail."""
    import shutil
    from rcarkit.kernel.profiles import profiles_dir
    one = {name: heldout[name] for name in sorted(heldout)[:1]}
    text = (Path(profiles_dir()) / "cilium.toml").read_text()
    start = text.index('[[differs_from]]\nlist = "cilium-system-requirements"\nsymbol = "GENEVE"')
    end = text.index("[[differs_from]]", start + 1)
    for case, edited in (("unrecorded", text[:start] + text[end:]),
                         ("stale", text + '\n[[differs_from]]\nlist = "cilium-system-requirements"\n'
                          'symbol = "BPF"\ntheirs = "required"\nours = "optional"\n'
                          'reason = "not so"\nsource = ["kernel-kconfig"]\n')):
        directory = tmp_path / case
        shutil.copytree(profiles_dir(), directory)
        (directory / "cilium.toml").write_text(edited)
        with pytest.raises(AssertionError, match="GENEVE" if case == "unrecorded" else "gone"):
            assert_carried(one, "cilium-system-requirements", tmp_path,
                           catalog=load_catalog(str(directory)))


def test_list_profiles_json_shows_the_recorded_differences():
    import json
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel", "--list-profiles",
                          "--format", "json"], capture_output=True, text=True, timeout=120,
                         cwd=str(Path(__file__).resolve().parents[1]))
    assert out.returncode == 0, out.stderr
    profiles = {p["name"]: p for p in json.loads(out.stdout)["profiles"]}
    geneve = [d for d in profiles["cilium"]["differs_from"] if d["symbol"] == "GENEVE"]
    assert geneve and geneve[0]["list"] == "cilium-system-requirements"
    assert geneve[0]["theirs"] == "required" and geneve[0]["ours"] == "optional"
    assert "VXLAN by default" in geneve[0]["reason"] and geneve[0]["source"]


def test_differences_name_a_compared_list():
    """A [[differs_from]] entry for a list the oracle does not compare could never go stale."""
    catalog = load_catalog()
    for profile in catalog.profiles.values():
        for diff in profile.differs_from:
            assert diff.list in LISTS, (profile.name, diff.key)
            assert LISTS[diff.list]["profile"] == profile.name, (profile.name, diff.key)


def test_loader_refuses_a_difference_without_reason_or_known_list(tmp_path):
    from rcarkit.errors import ProfileError
    from test_profiles import PROFILE, make_dir
    entry = ('\n[[differs_from]]\nlist = "doc"\nsymbol = "PLAIN"\ntheirs = "required"\n'
             'ours = "optional"\nsource = ["doc"]\n')
    for sub in ("good", "noreason", "unknown"):
        (tmp_path / sub).mkdir()
    good = make_dir(tmp_path / "good", profile=PROFILE + entry + 'reason = "why"\n')
    assert [d.key for d in load_catalog(str(good)).profile("demo").differs_from] == [
        ("doc", "PLAIN", "required", "optional")]
    with pytest.raises(ProfileError, match="has no reason"):
        load_catalog(str(make_dir(tmp_path / "noreason", profile=PROFILE + entry)))
    unknown = PROFILE + entry.replace('list = "doc"', 'list = "nowhere"') + 'reason = "why"\n'
    with pytest.raises(ProfileError, match="not in sources.toml"):
        load_catalog(str(make_dir(tmp_path / "unknown", profile=unknown)))


def agreement_figures(heldout, tmp_path):
    """{list: [rows, rows both judged, disagreeing rows, distinct disagreements]}."""
    catalog = load_catalog()
    figures = {}
    for list_name in LISTS:
        rows = judged = bad = 0
        distinct = set()
        for config in heldout.values():
            n, j, found = compare(catalog, list_name, config, config_version(config), tmp_path)
            rows, judged, bad = rows + n, judged + j, bad + len(found)
            distinct.update(found)
        figures[list_name] = [rows, judged, bad, len(distinct)]
    return figures


def main():
    """Print the README's figures: ``PYTHONPATH=. python3 tests/test_heldout_oracle.py``."""
    import tempfile
    tmp = Path(tempfile.mkdtemp())
    configs = {}
    for name, path in sorted(heldout_paths().items()):
        configs[name] = tmp / name
        configs[name].write_bytes(lzma.decompress(path.read_bytes()))
    figures = agreement_figures(configs, tmp)
    rows, judged, bad = (sum(f[i] for f in figures.values()) for i in range(3))
    print("%d configs x %d lists: %d rows, %d agree, %d disagree"
          % (len(configs), len(LISTS), rows, rows - bad, bad))
    for name, (n, j, b, distinct) in figures.items():
        print("  %-28s %-9s rows %4d  judged by both %4d  disagreeing %3d  distinct %d"
              % (name, LISTS[name]["profile"], n, j, b, distinct))


if __name__ == "__main__":
    main()
