"""The kernel is the oracle: generated fragments survive merge_config.sh + olddefconfig.

With Debian's linux-source-6.1 (the ``kernel_tree_61`` fixture) and the kernel's
own C tools (``scripts/kconfig/conf`` through ``make``, ``merge_config.sh``):

1. Two bases, expanded by the tree itself (``O=`` output directories, the
   shared tree stays clean): ``make ARCH=arm64 defconfig`` and the Raspberry Pi
   ``bcm2711_defconfig`` from ../shared/configs (``make olddefconfig``).
2. check-kernel on each base with k8s-core + containerd + kube-proxy-ipvs +
   flannel-vxlan + calico-iptables; the fragment is planned with the data in
   kconfig_profiles/ and, separately, with the tree (Kconfiglib).
3. Each fragment is merged the way kernel-yocto.bbclass does it
   (``merge_config.sh -m`` then ``make olddefconfig``) and, separately, with
   plain ``merge_config.sh`` (alldefconfig + its "Value requested for ... not in
   final .config" audit).
4. Assertions: check-kernel on the result finds no required option missing;
   merge_config.sh reports no dropped fragment value (base values may only be
   raised by a ``select``, never lowered); verify-fragment agrees (exit 0); the
   Kconfiglib result equals the C tools' .config line for line.
5. A fragment with a deliberately unmet dependency and an obsolete option:
   verify-fragment names exactly the symbols merge_config.sh printed.

Expensive steps run once per session; the two plain merge_config.sh runs (its
audit greps every line of the base, ~40 s each) run in parallel in the
background while the rest proceeds.
"""

import os
import re
import shutil
import subprocess

import pytest

from conftest import CONFIGS

PROFILES = ["k8s-core", "containerd", "kube-proxy-ipvs", "flannel-vxlan", "calico-iptables"]
RPI_DEFCONFIG = "rpi-bcm2711_defconfig_fed50901.defconfig"
BASES = ("arm64-defconfig", "rpi-bcm2711")
MODES = ("data", "tree")
CROSS = "aarch64-linux-gnu-"
_VALUE_REQ = re.compile(r"^Value requested for CONFIG_(\w+) not in final \.config$")


def _cross_compile():
    return CROSS if shutil.which(CROSS + "gcc") else ""


def _strip_header(text):
    """A .config without its leading comment header (the C tools' banner)."""
    lines = text.splitlines()
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return lines


def merge_config_report(log):
    """``{symbol: (requested line, actual line)}`` from merge_config.sh's audit."""
    out = {}
    lines = log.splitlines()
    for i, line in enumerate(lines):
        m = _VALUE_REQ.match(line.strip())
        if m:
            req = lines[i + 1].split(":", 1)[1].strip() if i + 1 < len(lines) else ""
            act = lines[i + 2].split(":", 1)[1].strip() if i + 2 < len(lines) else ""
            out[m.group(1)] = (req, act)
    return out


def _tri(line):
    if line.startswith("# ") or not line:
        return 0
    value = line.split("=", 1)[1]
    return {"m": 1, "y": 2}.get(value, -1)


class KernelOracle:
    """make/merge_config.sh in O= directories of the shared tree (which stays clean)."""

    def __init__(self, tree, work):
        self.tree = str(tree)
        self.work = str(work)
        self.cross = _cross_compile()
        self.env = dict(os.environ, ARCH="arm64", CROSS_COMPILE=self.cross, LC_ALL="C")
        for name in ("KCONFIG_CONFIG", "KCONFIG_ALLCONFIG", "O", "KBUILD_OUTPUT"):
            self.env.pop(name, None)

    def make(self, odir, *targets):
        proc = subprocess.run(["make", "-s", "-C", self.tree, "O=%s" % odir] + list(targets),
                              env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True)
        assert proc.returncode == 0, proc.stdout[-2000:]
        return proc.stdout

    def odir(self, name):
        path = os.path.join(self.work, name)
        os.makedirs(path, exist_ok=True)
        return path

    def clone(self, src, name):
        """A copy of an O= dir (its built scripts/kconfig/conf included)."""
        dst = os.path.join(self.work, name)
        if os.path.exists(dst):
            shutil.rmtree(dst)
        shutil.copytree(src, dst, symlinks=True)
        return dst

    def merge_cmd(self, odir, base, fragment, merge_only):
        cmd = ["bash", os.path.join(self.tree, "scripts/kconfig/merge_config.sh")]
        if merge_only:
            cmd.append("-m")
        return cmd + ["-O", odir, base, fragment]

    def merge_yocto(self, odir, base, fragment):
        """kernel-yocto.bbclass: merge_config.sh -m, then make olddefconfig."""
        proc = subprocess.run(self.merge_cmd(odir, base, fragment, True), cwd=self.tree,
                              env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True)
        assert proc.returncode == 0, proc.stdout[-2000:]
        self.make(odir, "olddefconfig")
        with open(os.path.join(odir, ".config")) as fh:
            return fh.read()

    def start_merge_audit(self, odir, base, fragment):
        """Plain merge_config.sh (alldefconfig + audit) in the background."""
        log = open(os.path.join(odir, "merge_config.log"), "w")
        proc = subprocess.Popen(self.merge_cmd(odir, base, fragment, False), cwd=self.tree,
                                env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return proc, log


@pytest.fixture(scope="session")
def oracle(kernel_tree_61, tmp_path_factory):
    if shutil.which("make") is None or shutil.which("gcc") is None or shutil.which("bison") is None \
            or shutil.which("flex") is None:
        pytest.skip("make, gcc, flex and bison are needed to build scripts/kconfig/conf")
    pytest.importorskip("kconfiglib")
    return KernelOracle(kernel_tree_61, tmp_path_factory.mktemp("fragment-oracle"))


@pytest.fixture(scope="session")
def catalog():
    from rcarkit.kernel.profiles import load_catalog
    return load_catalog()


@pytest.fixture(scope="session")
def expanded_bases(oracle):
    """{name: (O= dir with conf built, path of the expanded base .config)}."""
    out = {}
    odir = oracle.odir("arm64-defconfig")
    oracle.make(odir, "defconfig")
    out["arm64-defconfig"] = odir
    rpi = os.path.join(str(CONFIGS), RPI_DEFCONFIG)
    if not os.path.isfile(rpi):
        pytest.skip("%s is missing from ../shared/configs" % RPI_DEFCONFIG)
    odir = oracle.clone(out["arm64-defconfig"], "rpi-bcm2711")
    shutil.copyfile(rpi, os.path.join(odir, ".config"))
    oracle.make(odir, "olddefconfig")
    out["rpi-bcm2711"] = odir
    result = {}
    for name, odir in out.items():
        base = os.path.join(oracle.work, "%s.base.config" % name)
        shutil.copyfile(os.path.join(odir, ".config"), base)
        result[name] = (odir, base)
    return result


@pytest.fixture(scope="session")
def merges(oracle, expanded_bases, catalog, kernel_tree_61):
    """Every (base, mode): the fragment, the plan, the C result, the audit log."""
    from rcarkit.kernel.check import check_config, select_profiles
    from rcarkit.kernel.fragment import plan_fragment
    from rcarkit.kernel.config import load_config
    profiles = select_profiles(catalog, PROFILES)
    cases = {}
    running = []
    for name in BASES:
        odir, base = expanded_bases[name]
        config = load_config(base)
        report = check_config(config, profiles, catalog)
        for mode in MODES:
            # with the optional options too: the most a fragment asks of olddefconfig
            plan = plan_fragment(report, catalog, config=config, with_optional=True,
                                 kernel_src=str(kernel_tree_61) if mode == "tree" else None)
            frag = os.path.join(oracle.work, "%s.%s.cfg" % (name, mode))
            with open(frag, "w") as fh:
                fh.write(plan.render_cfg())
            case = {"base": base, "fragment": frag, "plan": plan, "report": report}
            if mode == "tree":
                audit_dir = oracle.clone(odir, "%s.%s.audit" % (name, mode))
                case["audit"] = oracle.start_merge_audit(audit_dir, base, frag)
                case["audit_dir"] = audit_dir
                running.append(case)
            ydir = oracle.clone(odir, "%s.%s.yocto" % (name, mode))
            case["final_c"] = oracle.merge_yocto(ydir, base, frag)
            cases[(name, mode)] = case
    for case in running:
        proc, log = case.pop("audit")
        proc.wait()
        log.close()
        with open(os.path.join(case["audit_dir"], "merge_config.log")) as fh:
            case["audit_log"] = fh.read()
        assert proc.returncode == 0, case["audit_log"][-2000:]
        with open(os.path.join(case["audit_dir"], ".config")) as fh:
            case["final_alldefconfig"] = fh.read()
    return cases


@pytest.fixture(scope="session")
def verified(merges, kernel_tree_61):
    from rcarkit.kernel.verify import verify_fragment
    return {key: verify_fragment(str(kernel_tree_61), case["base"], case["fragment"])
            for key, case in merges.items()}


CASES = [(b, m) for b in BASES for m in MODES]


@pytest.mark.parametrize("base,mode", CASES)
def test_fragment_fixes_every_required_option(merges, catalog, base, mode):
    """check-kernel on the merged + olddefconfig'ed result: nothing required missing."""
    from rcarkit.kernel.check import check_config, select_profiles
    from rcarkit.kernel.config import parse_config_text
    case = merges[(base, mode)]
    assert case["report"].failing(required=True), "the base should need the fragment"
    after = check_config(parse_config_text(case["final_c"], source="merged"),
                         select_profiles(catalog, PROFILES), catalog)
    skipped = {e.symbol for e in case["plan"].skipped()}
    left = [(f.group, f.name, f.actual) for f in after.failing(required=True)
            if not set(f.symbols) & skipped]
    assert left == []
    assert [f.name for f in after.failing(required=False)] == [], \
        "optional options of the profiles should be fixed too"


@pytest.mark.parametrize("base,mode", CASES)
def test_every_fragment_line_survives_yocto_merge(merges, base, mode):
    case = merges[(base, mode)]
    final = set(case["final_c"].splitlines())
    lines = [e.config_line() for e in case["plan"].active()]
    assert lines
    assert [line for line in lines if line not in final] == []


@pytest.mark.parametrize("base", BASES)
def test_merge_config_reports_no_dropped_value(merges, base):
    """merge_config.sh's own audit: no fragment value dropped, no base value lowered."""
    case = merges[(base, "tree")]
    audit = merge_config_report(case["audit_log"])
    fragment = {e.symbol for e in case["plan"].active()}
    assert {s: v for s, v in audit.items() if s in fragment} == {}
    lowered = {s: v for s, v in audit.items() if _tri(v[1]) < _tri(v[0])}
    assert lowered == {}
    # the alldefconfig route ends where the kernel-yocto route ends
    assert _strip_header(case["final_alldefconfig"]) == _strip_header(case["final_c"])


@pytest.mark.parametrize("base,mode", CASES)
def test_kconfiglib_agrees_with_c_tools(merges, verified, base, mode):
    case = merges[(base, mode)]
    report = verified[(base, mode)]
    assert report.exit_code == 0, report.verdict()
    assert _strip_header(report.final_text) == _strip_header(case["final_c"])


def test_data_and_tree_plans_agree_on_survival(merges):
    """Both ways of resolving give fragments whose requested lines all survive."""
    for base in BASES:
        data = {e.symbol for e in merges[(base, "data")]["plan"].entries if e.kind == "requested"}
        tree = {e.symbol for e in merges[(base, "tree")]["plan"].entries if e.kind == "requested"}
        assert data == tree


@pytest.fixture(scope="session")
def broken_case(oracle, expanded_bases, kernel_tree_61):
    """A fragment with an unmet dependency (IP_SET off in the base) and an obsolete option,
    merged by plain merge_config.sh onto the unexpanded arm64 defconfig."""
    odir = oracle.clone(expanded_bases["arm64-defconfig"][0], "broken")
    base = os.path.join(str(kernel_tree_61), "arch/arm64/configs/defconfig")
    with open(os.path.join(expanded_bases["arm64-defconfig"][1])) as fh:
        expanded = fh.read()
    assert "# CONFIG_IP_SET is not set" in expanded
    frag = os.path.join(oracle.work, "broken.cfg")
    with open(frag, "w") as fh:
        fh.write("# a line whose parent (IP_SET) is off in the base\n"
                 "CONFIG_IP_SET_HASH_IPPORT=y\n"
                 "# merged into NF_CONNTRACK in 4.19\n"
                 "CONFIG_NF_CONNTRACK_IPV4=y\n"
                 "# fine\n"
                 "CONFIG_DUMMY=y\n")
    proc, log = oracle.start_merge_audit(odir, base, frag)
    proc.wait()
    log.close()
    with open(os.path.join(odir, "merge_config.log")) as fh:
        text = fh.read()
    assert proc.returncode == 0, text[-2000:]
    with open(os.path.join(odir, ".config")) as fh:
        final = fh.read()
    return {"base": base, "fragment": frag, "log": text, "final": final}


def test_verify_fragment_names_what_merge_config_drops(broken_case, kernel_tree_61):
    from rcarkit.report import MISSING, OBSOLETE, OK
    from rcarkit.kernel.verify import verify_fragment
    audit = merge_config_report(broken_case["log"])
    fragment_syms = {"IP_SET_HASH_IPPORT", "NF_CONNTRACK_IPV4", "DUMMY"}
    printed = {s for s in audit if s in fragment_syms}
    assert printed == {"IP_SET_HASH_IPPORT", "NF_CONNTRACK_IPV4"}
    report = verify_fragment(str(kernel_tree_61), broken_case["base"], broken_case["fragment"])
    assert report.exit_code == 1
    status = {f.name: f for f in report.findings()}
    assert set(report.merge_config_would_report()) == printed
    assert status["IP_SET_HASH_IPPORT"].status == MISSING
    assert "IP_SET" in status["IP_SET_HASH_IPPORT"].reason       # the unmet dependency
    assert "CONFIG_IP_SET=y" in status["IP_SET_HASH_IPPORT"].note  # the fix
    assert status["NF_CONNTRACK_IPV4"].status == OBSOLETE
    assert status["DUMMY"].status == OK
    assert _strip_header(report.final_text) == _strip_header(broken_case["final"])


def test_suggested_fix_makes_merge_config_happy(oracle, broken_case, expanded_bases,
                                                kernel_tree_61):
    """Applying verify-fragment's fix: the kernel keeps the line (C tools)."""
    from rcarkit.kernel.verify import verify_fragment
    report = verify_fragment(str(kernel_tree_61), broken_case["base"], broken_case["fragment"])
    fix = [f.note for f in report.findings() if f.name == "IP_SET_HASH_IPPORT"][0]
    added = re.findall(r"CONFIG_\w+=\w+", fix)
    assert added
    frag = os.path.join(oracle.work, "fixed.cfg")
    with open(frag, "w") as fh:
        fh.write("CONFIG_IP_SET_HASH_IPPORT=y\n" + "".join(a + "\n" for a in added))
    odir = oracle.clone(expanded_bases["arm64-defconfig"][0], "fixed")
    final = oracle.merge_yocto(odir, broken_case["base"], frag)
    assert "CONFIG_IP_SET_HASH_IPPORT=y" in final.splitlines()


def test_kconfiglib_expands_bases_like_the_c_tools(oracle, expanded_bases, kernel_tree_61):
    from rcarkit.kernel.tree import load_tree
    tree = load_tree(str(kernel_tree_61), arch="arm64", cross_compile=oracle.cross)
    inputs = {"arm64-defconfig": os.path.join(str(kernel_tree_61), "arch/arm64/configs/defconfig"),
              "rpi-bcm2711": os.path.join(str(CONFIGS), RPI_DEFCONFIG)}
    for name, path in inputs.items():
        with open(path) as fh:
            sim = tree.simulate(fh.read(), [])
        with open(expanded_bases[name][1]) as fh:
            c_text = fh.read()
        assert _strip_header(sim.text) == _strip_header(c_text), name


def test_cli_flow_without_yocto(oracle, expanded_bases, merges, tmp_path):
    """The README flow for a board without Yocto: check-kernel --emit-fragment, the kernel's
    merge_config.sh + olddefconfig, check-kernel again: exit 1, then 0."""
    import sys
    from conftest import REPO
    odir, base = expanded_bases["arm64-defconfig"]
    frag = tmp_path / "rcarkit-k8s.cfg"
    args = [a for p in PROFILES for a in ("-p", p)]
    proc = subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel", base] + args +
                          ["--emit-fragment", str(frag), "--with-optional"], cwd=str(REPO),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 1, proc.stderr
    assert frag.read_text() == merges[("arm64-defconfig", "data")]["plan"].render_cfg()
    ydir = oracle.clone(odir, "cli-flow")
    final = oracle.merge_yocto(ydir, base, str(frag))
    merged = tmp_path / "merged.config"
    merged.write_text(final)
    proc = subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel", str(merged)] + args,
                          cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
