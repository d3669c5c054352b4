"""check-node on fixture trees the tests build under --root.

Each test starts from a board that is ready for ``kubeadm init`` (every
runtime fact set the way kubeadm's preflight and the kubelet want it, every
``=m`` module installed as a real ELF ``.ko`` compiled by gcc) and breaks one
thing: swap on, cgroup v1, the memory controller off, a module missing or
built for another kernel, a busy port, too little memory. Expected values come
from the fixture itself and from kubeadm's documented thresholds
(cmd/kubeadm/app/preflight: 2 CPUs and 1700 MB for a control plane, ports
6443, 2379, 2380, 10250, 10257, 10259), not from rcarkit's output.

The kernel-modules.toml data is checked against the 6.1 kernel tree with
grep, and module files are cross-checked with kmod's ``modinfo``.
"""

import gzip
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

RELEASE = "6.1.0-rcar"
# The =m options of the fixture config and the module each builds: module names
# as `lsmod` shows them on any distribution kernel.
MODULE_SYMBOLS = {"BRIDGE_NETFILTER": "br_netfilter", "VXLAN": "vxlan", "OVERLAY_FS": "overlay",
                  "VETH": "veth"}
MODULE_PATHS = {"br_netfilter": "kernel/net/bridge/br_netfilter.ko",
                "vxlan": "kernel/drivers/net/vxlan/vxlan.ko",
                "overlay": "kernel/fs/overlayfs/overlay.ko",
                "veth": "kernel/drivers/net/veth.ko"}
TOOLS = ("ip", "iptables", "iptables-save", "iptables-restore", "mount", "nsenter", "ebtables",
         "ethtool", "socat", "tc", "touch", "conntrack", "containerd", "runc", "ipset", "ipvsadm",
         "nft", "iptables-nft")

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to build "
                                "the .ko fixtures: apt-get install gcc")


# -- fixture builders ---------------------------------------------------------

@pytest.fixture(scope="session")
def catalog():
    from rcarkit.kernel.profiles import load_catalog
    return load_catalog()


@pytest.fixture(scope="session")
def ko_factory(tmp_path_factory):
    """Compile (once per vermagic/name) a tiny ELF object with a .modinfo section."""
    cache = {}
    base = tmp_path_factory.mktemp("ko")

    def make(name, vermagic):
        key = (name, vermagic)
        if key not in cache:
            src = base / ("%s-%d.c" % (name, len(cache)))
            src.write_text('static const char __attribute__((section(".modinfo"), used)) '
                           'm[] = "vermagic=%s\\0name=%s\\0license=GPL";\n' % (vermagic, name))
            obj = src.with_suffix(".o")
            subprocess.run(["gcc", "-c", str(src), "-o", str(obj)], check=True)
            cache[key] = obj.read_bytes()
        return cache[key]
    return make


def write(root, rel, text, mode=None):
    path = Path(root) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    if mode is not None:
        path.chmod(mode)
    return path


def config_text(catalog, module_symbols=MODULE_SYMBOLS):
    """A config satisfying every rule of the default profiles; MODULE_SYMBOLS as m."""
    from rcarkit.kernel.profiles import DEFAULT_PROFILES
    values = {}
    for name in DEFAULT_PROFILES:
        for rule in catalog.profile(name).options:
            sym = rule.names[0]
            text = rule.expect.text
            if text == "n":
                continue
            if text in ("y", "y/m"):
                values[sym] = "y"
            elif text == "m":
                values[sym] = "m"
            elif text.startswith(">="):
                values[sym] = text[2:].strip()
            elif text.startswith("<="):
                values[sym] = text[2:].strip()
            else:
                values[sym] = text
    values.setdefault("NF_TABLES", "y")
    values.setdefault("NFT_COMPAT", "y")
    values.setdefault("IP_NF_IPTABLES", "y")
    for sym in module_symbols:
        values[sym] = "m"
    lines = ["# Linux/arm64 6.1.0 Kernel Configuration"]
    lines += ["CONFIG_%s=%s" % (k, v) for k, v in sorted(values.items())]
    return "\n".join(lines) + "\n"


def compress(data, suffix):
    if suffix == ".ko.xz":
        return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)
    if suffix == ".ko.gz":
        return gzip.compress(data)
    if suffix == ".ko.zst":
        return subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE,
                              check=True).stdout
    return data


def build_board(root, catalog, ko_factory, *, swap=False, cgroup="v2", controllers=None,
                cmdline="console=ttySC0,115200 root=/dev/mmcblk0p2 rw rootwait",
                ip_forward="1", bridge_nf="1", persisted=True, modules="all",
                suffixes=None, vermagic=None, not_in_dep=(), cpus="0-3", mem_kb=3997696,
                listen=(), hostname="rcar-node-01", mac="2e:09:0a:00:7c:01", mac_assign="0",
                tools=TOOLS, product_uuid=None, module_symbols=MODULE_SYMBOLS,
                loaded=("overlay", "br_netfilter")):
    """A board root directory; every keyword is one fact kubeadm looks at."""
    root = Path(root)
    write(root, "proc/sys/kernel/osrelease", RELEASE + "\n")
    write(root, "proc/sys/kernel/hostname", hostname + "\n")
    write(root, "proc/config.gz", gzip.compress(config_text(catalog, module_symbols).encode()))
    write(root, "proc/cmdline", cmdline + "\n")
    swaps = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
    if swap:
        swaps += "/dev/zram0                              partition\t524284\t\t0\t\t100\n"
    write(root, "proc/swaps", swaps)
    # cgroups
    if cgroup == "v2":
        mounts = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n"
        ctrl = controllers if controllers is not None else \
            ["cpuset", "cpu", "io", "memory", "hugetlb", "pids"]
        write(root, "sys/fs/cgroup/cgroup.controllers", " ".join(ctrl) + "\n")
    else:
        mounts = "tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,mode=755 0 0\n"
        ctrl = controllers if controllers is not None else \
            ["cpuset", "cpu", "cpuacct", "blkio", "memory", "devices", "freezer", "pids",
             "hugetlb"]
        lines = ["#subsys_name\thierarchy\tnum_cgroups\tenabled"]
        for i, name in enumerate(["cpuset", "cpu", "cpuacct", "blkio", "memory", "devices",
                                  "freezer", "net_cls", "perf_event", "pids", "hugetlb"]):
            lines.append("%s\t%d\t1\t%d" % (name, i + 1, 1 if name in ctrl or name in
                                             ("net_cls", "perf_event") else 0))
            if name in ctrl:
                mounts += "cgroup /sys/fs/cgroup/%s cgroup rw,nosuid,%s 0 0\n" % (name, name)
        if cgroup == "hybrid":
            mounts += "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev 0 0\n"
        write(root, "proc/cgroups", "\n".join(lines) + "\n")
    write(root, "proc/mounts", "/dev/mmcblk0p2 / ext4 rw,relatime 0 0\n" + mounts)
    # sysctls
    write(root, "proc/sys/net/ipv4/ip_forward", ip_forward + "\n")
    if bridge_nf is not None:
        write(root, "proc/sys/net/bridge/bridge-nf-call-iptables", bridge_nf + "\n")
        write(root, "proc/sys/net/bridge/bridge-nf-call-ip6tables", bridge_nf + "\n")
    if persisted:
        write(root, "etc/sysctl.d/99-k8s.conf", "net.ipv4.ip_forward = 1\n"
              "net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables=1\n")
    write(root, "proc/filesystems", "nodev\tsysfs\nnodev\tproc\n\text4\n"
          + ("nodev\toverlay\n" if "overlay" in loaded else ""))
    write(root, "proc/modules", "".join("%s 16384 0 - Live 0x0000000000000000\n" % m
                                        for m in loaded))
    # modules
    if modules != "none":
        moddir = root / "lib/modules" / RELEASE
        dep = []
        for i, (sym, name) in enumerate(sorted(module_symbols.items())):
            if modules != "all" and name not in modules:
                continue
            suffix = (suffixes or {}).get(name, ".ko")
            rel = MODULE_PATHS[name][:-3] + suffix
            magic = (vermagic or {}).get(name, "%s SMP preempt mod_unload aarch64" % RELEASE)
            write(moddir, rel, compress(ko_factory(name, magic), suffix))
            if name not in not_in_dep:
                dep.append("%s:\n" % rel)
        write(moddir, "modules.dep", "".join(dep))
        write(moddir, "modules.builtin", "kernel/net/ipv4/netfilter/ip_tables.ko\n")
    # resources
    write(root, "sys/devices/system/cpu/online", cpus + "\n")
    write(root, "proc/meminfo", "MemTotal:       %d kB\nMemFree:         1000000 kB\n" % mem_kb)
    # tools
    for tool in tools:
        write(root, "usr/sbin/" + tool, "#!/bin/sh\n", mode=0o755)
    if "iptables" in tools:
        (root / "usr/sbin/iptables").unlink()
        os.symlink("iptables-nft", str(root / "usr/sbin/iptables"))
    # ports (LISTEN = state 0A)
    tcp = ["  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"]
    tcp.append("   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1")
    for i, port in enumerate(listen):
        tcp.append("   %d: 0100007F:%04X 00000000:0000 0A 00000000:00000000 00:00000000 "
                   "00000000 0 0 %d" % (i + 1, port, 100 + i))
    write(root, "proc/net/tcp", "\n".join(tcp) + "\n")
    write(root, "proc/net/tcp6", tcp[0] + "\n")
    # identity
    write(root, "sys/class/net/eth0/address", mac + "\n")
    write(root, "sys/class/net/eth0/addr_assign_type", mac_assign + "\n")
    (root / "sys/class/net/eth0/device").mkdir(parents=True, exist_ok=True)
    write(root, "sys/class/net/lo/address", "00:00:00:00:00:00\n")
    if product_uuid is not None:
        write(root, "sys/class/dmi/id/product_uuid", product_uuid + "\n")
    return root


def run_check(root, role="control-plane", **kw):
    from rcarkit.node.check import check_node
    return check_node(root=str(root), role=role, **kw)


def rows(result, group):
    return {f.name: f for g in result.report.groups if g.name == group for f in g.findings}


@pytest.fixture
def board(tmp_path, catalog, ko_factory):
    def make(**kw):
        return build_board(tmp_path / "root", catalog, ko_factory, **kw)
    return make


# -- the ready board ------------------------------------------------------------

def test_ready_board_passes_every_required_check(board):
    root = board()
    result = run_check(root)
    failing = [(f.group, f.name, f.actual) for f in result.report.failing(required=True)]
    assert failing == []
    assert result.report.exit_code == 0
    mods = rows(result, "modules")
    assert set(mods) == set(MODULE_SYMBOLS.values())
    for name, f in mods.items():
        assert f.status == "ok", (name, f)
        assert f.note == MODULE_PATHS[name]
    facts = result.report.to_dict()["node"]
    assert facts["cgroup"]["version"] == "v2"
    assert facts["cpus"]["usable"] == 4
    assert facts["memory_mb"] == 3997696 // 1024
    assert facts["swap"]["total_kb"] == 0


def test_worker_role_checks_only_the_kubelet_port(board):
    result = run_check(board(listen=(6443,)), role="worker")
    assert set(rows(result, "ports")) == {"10250/tcp"}
    assert result.report.exit_code == 0


# -- swap -----------------------------------------------------------------------

def test_swap_on_is_wrong(board):
    result = run_check(board(swap=True))
    row = rows(result, "swap")["swap"]
    assert row.status == "wrong-value" and row.required
    assert "/dev/zram0" in row.actual
    assert result.report.exit_code == 1
    assert result.fixes.swap_off == ["/dev/zram0"]


def test_swap_in_fstab_is_a_warning(board):
    root = board()
    write(root, "etc/fstab", "/dev/mmcblk0p2 / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n")
    result = run_check(root)
    assert rows(result, "swap")["fstab swap"].status == "warning"
    assert result.report.exit_code == 0


# -- cgroups and command line -----------------------------------------------------

def test_cgroup_v1_fails_and_asks_for_unified_hierarchy(board):
    result = run_check(board(cgroup="v1"))
    cg = rows(result, "cgroups")
    assert cg["cgroup version"].status == "wrong-value"
    assert cg["cgroup version"].actual == "v1"
    for name in ("cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"):
        assert cg["cgroup %s" % name].status == "ok"
    assert "systemd.unified_cgroup_hierarchy=1" in result.fixes.cmdline_add
    assert result.report.exit_code == 1


def test_cgroup_hybrid_is_v1_for_the_kubelet(board):
    result = run_check(board(cgroup="hybrid"))
    assert rows(result, "cgroups")["cgroup version"].actual == "hybrid"
    assert result.report.to_dict()["node"]["cgroup"]["v2_mounts"] == ["/sys/fs/cgroup/unified"]


def test_v2_memory_controller_missing_raspberry_pi(board):
    root = board(controllers=["cpuset", "cpu", "io", "pids"],
                 cmdline="console=serial0,115200 root=PARTUUID=1 rootwait cgroup_disable=memory")
    result = run_check(root)
    cg = rows(result, "cgroups")
    assert cg["cgroup memory"].status == "missing" and cg["cgroup memory"].required
    assert cg["cgroup hugetlb"].status == "missing" and not cg["cgroup hugetlb"].required
    assert cg["kernel command line"].status == "wrong-value"
    assert result.fixes.cmdline_add == ["cgroup_enable=memory", "cgroup_memory=1"]
    assert result.fixes.cmdline_remove == ["cgroup_disable=memory"]
    assert result.report.exit_code == 1


def test_v1_controller_disabled_in_proc_cgroups(board):
    ctrl = ["cpuset", "cpu", "cpuacct", "blkio", "devices", "freezer", "pids", "hugetlb"]
    result = run_check(board(cgroup="v1", controllers=ctrl))
    assert rows(result, "cgroups")["cgroup memory"].actual == "disabled"


# -- sysctls, loaded modules ---------------------------------------------------------

def test_ip_forward_off_fails(board):
    result = run_check(board(ip_forward="0", persisted=False))
    row = rows(result, "sysctl")["net.ipv4.ip_forward"]
    assert (row.status, row.actual, row.required) == ("wrong-value", "0", True)
    assert "net.ipv4.ip_forward" in result.fixes.sysctls_wrong


def test_runtime_only_sysctl_is_a_warning(board):
    result = run_check(board(persisted=False))
    assert rows(result, "sysctl")["net.ipv4.ip_forward"].status == "warning"
    assert result.report.exit_code == 0


def test_br_netfilter_not_loaded_but_loadable(board):
    result = run_check(board(bridge_nf=None, loaded=("overlay",)))
    sysctl = rows(result, "sysctl")["net.bridge.bridge-nf-call-iptables"]
    assert sysctl.status == "missing" and "br_netfilter" in sysctl.note
    loaded = rows(result, "kernel-modules-loaded")["br_netfilter"]
    assert loaded.status == "warning" and loaded.actual == "loadable, not loaded"
    assert "br_netfilter" in result.fixes.modules_load


# -- modules ---------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".ko", ".ko.xz", ".ko.gz", ".ko.zst"])
def test_compressed_modules_are_read(board, suffix):
    if suffix == ".ko.zst" and shutil.which("zstd") is None:
        pytest.skip("zstd not installed")
    result = run_check(board(suffixes={n: suffix for n in MODULE_SYMBOLS.values()}))
    mods = rows(result, "modules")
    for name in MODULE_SYMBOLS.values():
        assert mods[name].status == "ok", mods[name]
        assert mods[name].note.endswith(suffix)


def test_missing_module_yocto_case(board):
    result = run_check(board(modules=("overlay", "veth", "vxlan"), loaded=("overlay",),
                             bridge_nf=None))
    row = rows(result, "modules")["br_netfilter"]
    assert row.status == "missing" and row.required
    assert row.symbols == ("BRIDGE_NETFILTER",)
    assert result.fixes.module_packages == ["kernel-module-br-netfilter"]
    assert result.report.exit_code == 1


def test_loaded_module_without_file_is_a_warning(board):
    result = run_check(board(modules=("overlay", "veth", "vxlan")))
    row = rows(result, "modules")["br_netfilter"]
    assert row.status == "warning" and row.actual == "loaded, no file"


def test_no_lib_modules_at_all(board):
    """One cause, one finding: the row names the directory and every module it takes away."""
    result = run_check(board(modules="none", loaded=()))
    mods = rows(result, "modules")
    assert list(mods) == ["/lib/modules/%s" % RELEASE]
    row = mods["/lib/modules/%s" % RELEASE]
    assert row.status == "missing" and row.required and row.actual == "absent"
    for name in MODULE_PATHS:           # every =m module the fixture's config has
        assert name in row.reason
    assert result.fixes.need_all_modules
    # the verdict counts the cause once in the modules area
    assert result.report.verdict().startswith("NOT READY: 2 required missing")  # + overlay/br_netfilter loaded


def test_no_lib_modules_text_is_short(board, tmp_path):
    """The CLI prints the cause once, not once per module (was 29 rows, 330 lines)."""
    from typer.testing import CliRunner
    from rcarkit.cli.app import app
    root = board(modules="none", loaded=())
    res = CliRunner().invoke(app, ["check-node", "--root", str(root)])
    assert res.exit_code == 1
    block = res.output.split("kernel modules for =m options")[1].split("\n\n")[0]
    assert len(block.splitlines()) <= 12, block         # header, one row and its reason
    doc = json.loads(CliRunner().invoke(app, ["check-node", "--root", str(root),
                                              "--format", "json"]).output)
    assert [o["option"] if "option" in o else o["name"] for o in doc["options"]
            if o["profile"] == "modules"] == ["/lib/modules/%s" % RELEASE]


def test_vermagic_mismatch(board):
    result = run_check(board(vermagic={"vxlan": "6.1.0-other SMP mod_unload aarch64"}))
    row = rows(result, "modules")["vxlan"]
    assert (row.status, row.actual) == ("wrong-value", "vermagic 6.1.0-other")
    assert rows(result, "modules")["veth"].status == "ok"
    assert result.report.exit_code == 1


def test_module_not_in_modules_dep(board):
    result = run_check(board(not_in_dep=("veth",)))
    row = rows(result, "modules")["veth"]
    assert row.status == "wrong-value" and "depmod" in row.reason


def test_module_dependency_missing(board):
    root = board()
    dep = root / "lib/modules" / RELEASE / "modules.dep"
    dep.write_text(dep.read_text().replace(
        "br_netfilter.ko:", "br_netfilter.ko: kernel/net/bridge/bridge.ko"))
    row = rows(run_check(root), "modules")["br_netfilter"]
    assert row.status == "wrong-value" and row.note == "kernel/net/bridge/bridge.ko"


def test_read_modinfo_agrees_with_kmod_modinfo(tmp_path, ko_factory):
    if shutil.which("modinfo") is None:
        pytest.skip("kmod's modinfo is not installed: apt-get install kmod")
    from rcarkit.node.modules import read_modinfo
    data = ko_factory("br_netfilter", "6.1.0 SMP mod_unload aarch64")
    for suffix in (".ko", ".ko.xz", ".ko.gz", ".ko.zst"):
        if suffix == ".ko.zst" and shutil.which("zstd") is None:
            continue
        path = write(tmp_path, "br_netfilter" + suffix, compress(data, suffix))
        proc = subprocess.run(["modinfo", "-F", "vermagic", str(path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True)
        if proc.returncode != 0:
            continue  # this kmod was built without that compression
        assert read_modinfo(str(path))["vermagic"] == proc.stdout.strip()


def test_zstd_module_without_zstd_is_unknown(board, monkeypatch):
    root = board(suffixes={"veth": ".ko.zst"})
    monkeypatch.setitem(sys.modules, "zstandard", None)  # import fails
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = run_check(root)
    row = rows(result, "modules")["veth"]
    assert row.status == "unknown" and "zstd" in row.note


def test_garbage_module_is_unknown_not_a_crash(board):
    root = board()
    write(root, "lib/modules/%s/%s" % (RELEASE, MODULE_PATHS["veth"]), b"not an elf file")
    assert rows(run_check(root), "modules")["veth"].status == "unknown"


def test_mounted_image_without_proc(tmp_path, catalog, ko_factory):
    """A Yocto rootfs directory (no /proc, /sys): release from lib/modules, config
    from boot/config-<release>; runtime facts are unknown, files are checked."""
    root = build_board(tmp_path / "img", catalog, ko_factory, modules=("overlay", "veth"))
    config = (root / "proc/config.gz").read_bytes()
    for top in ("proc", "sys"):
        shutil.rmtree(str(root / top))
    write(root, "boot/config-%s" % RELEASE, gzip.decompress(config))
    result = run_check(root)
    facts = result.report.to_dict()
    assert facts["kernel_release"] == RELEASE
    assert any("lib/modules" in n for n in facts["notes"])
    mods = rows(result, "modules")
    assert mods["overlay"].status == "ok" and mods["br_netfilter"].status == "missing"
    assert rows(result, "swap")["swap"].status == "unknown"
    assert rows(result, "sysctl")["net.ipv4.ip_forward"].status == "unknown"
    assert rows(result, "cgroups")["cgroup version"].status == "unknown"
    assert {f.status for f in rows(result, "ports").values()} == {"unknown"}
    assert result.report.exit_code == 1  # br_netfilter and vxlan are not in the image


def test_cgroup_v2_before_52_has_no_freezer(board):
    root = board()
    write(root, "proc/sys/kernel/osrelease", "4.19.94-rcar\n")
    result = run_check(root, kernel_release="4.19.94-rcar")
    assert rows(result, "cgroups")["cgroup freezer"].status == "missing"


# -- resources, tools, ports, identity ------------------------------------------------

def test_control_plane_minimums_are_kubeadms(board):
    # kubeadm: NumCPU >= 2, RAM >= 1700 MB (Totalram/1024/1024).
    result = run_check(board(cpus="0", mem_kb=1699 * 1024))
    res = rows(result, "resources")
    assert (res["CPUs"].status, res["CPUs"].actual) == ("wrong-value", "1")
    assert (res["memory"].status, res["memory"].actual) == ("wrong-value", "1699 MB")
    ok = rows(run_check(board(cpus="0-1", mem_kb=1700 * 1024)), "resources")
    assert ok["CPUs"].status == "ok" and ok["memory"].status == "ok"


def test_worker_has_no_kubeadm_minimum(board):
    res = rows(run_check(board(cpus="0", mem_kb=1024 * 1024), role="worker"), "resources")
    assert res["CPUs"].status == "ok"
    assert res["memory"].status == "warning" and not res["memory"].required


def test_missing_mandatory_tool(board):
    result = run_check(board(tools=[t for t in TOOLS if t not in ("nsenter", "socat")]))
    tools = rows(result, "tools")
    assert tools["nsenter"].status == "missing" and tools["nsenter"].required
    assert tools["socat"].status == "missing" and not tools["socat"].required
    assert "util-linux-nsenter" in result.fixes.tool_packages
    assert result.report.exit_code == 1


def test_ipvs_mode_needs_ipset(board, catalog):
    from rcarkit.kernel.check import select_profiles
    profiles = select_profiles(catalog, proxy_mode=["ipvs"])
    root = board(tools=[t for t in TOOLS if t != "ipset"])
    tools = rows(run_check(root, profiles=profiles, catalog=catalog), "tools")
    assert tools["ipset"].status == "missing"


def test_containerd_cgroup_driver(board):
    root = board()
    assert rows(run_check(root), "runtime-config")["SystemdCgroup"].status == "warning"
    write(root, "etc/containerd/config.toml",
          "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n"
          "  SystemdCgroup = true\n")
    assert rows(run_check(root), "runtime-config")["SystemdCgroup"].status == "ok"


def test_iptables_backend_from_symlink(board):
    assert rows(run_check(board()), "tools")["iptables backend"].actual == "nf_tables"


@pytest.mark.parametrize("port", [6443, 2379, 2380, 10250, 10257, 10259])
def test_busy_port(board, port):
    result = run_check(board(listen=(port,)))
    row = rows(result, "ports")["%d/tcp" % port]
    assert row.status == "wrong-value" and "127.0.0.1" in row.note


def test_default_hostname_and_random_mac(board):
    result = run_check(board(hostname="raspberrypi", mac="02:11:22:33:44:55", mac_assign="1",
                             product_uuid="03000200-0400-0500-0006-000700080009"))
    ident = rows(result, "identity")
    assert ident["hostname"].status == "warning"
    assert ident["MAC eth0"].status == "warning"
    assert ident["product_uuid"].status == "warning"
    assert "MAC lo" not in ident


@pytest.mark.parametrize("mac", ["00:00:00:00:00:00", "00:11:22:33:44:55", "01:00:5e:00:00:01"])
def test_placeholder_mac(board, mac):
    assert rows(run_check(board(mac=mac)), "identity")["MAC eth0"].status == "warning"


def test_invalid_hostname_fails(board):
    assert rows(run_check(board(hostname="RCar_Node")), "identity")["hostname"].status == \
        "wrong-value"


# -- emitted fixes ------------------------------------------------------------------------

def test_emit_files(board, tmp_path):
    from rcarkit.node.fixes import write_fixes
    root = board(ip_forward="0", bridge_nf=None, loaded=("overlay",), persisted=False,
                 controllers=["cpuset", "cpu", "io", "pids"],
                 cmdline="console=serial0,115200 cgroup_disable=memory",
                 modules=("overlay", "veth", "vxlan"),
                 tools=[t for t in TOOLS if t != "conntrack"])
    result = run_check(root)
    out = tmp_path / "fixes"
    written = write_fixes(result, out)
    assert written
    sysctl = (out / "etc/sysctl.d/99-kubernetes.conf").read_text()
    settings = dict(tuple(x.strip() for x in line.split("=")) for line in sysctl.splitlines()
                    if line and not line.startswith("#"))
    assert settings == {"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1",
                        "net.bridge.bridge-nf-call-ip6tables": "1"}
    mods = [l for l in (out / "etc/modules-load.d/k8s.conf").read_text().splitlines()
            if l and not l.startswith("#")]
    assert mods[:2] == ["overlay", "br_netfilter"]
    assert (out / "boot/cmdline-addition.txt").read_text().split() == \
        ["cgroup_enable=memory", "cgroup_memory=1"]
    variables = bitbake_variables(out / "yocto/k8s-node.conf", tmp_path)
    assert variables["KERNEL_MODULE_AUTOLOAD"][:2] == ["overlay", "br_netfilter"]
    packages = variables["IMAGE_INSTALL:append"]
    assert "kernel-module-br-netfilter" in packages
    assert "conntrack-tools" in packages
    assert "kernel-modules" not in packages  # /lib/modules exists, one module is missing
    assert variables["CMDLINE:append"] == ["cgroup_enable=memory", "cgroup_memory=1"]
    readme = (out / "README.txt").read_text()
    assert "cgroup_disable=memory" in readme
    # hand edits are kept unless --force
    (out / "etc/modules-load.d/k8s.conf").write_text("overlay\n# mine\n")
    from rcarkit.errors import RcarkitError
    with pytest.raises(RcarkitError):
        write_fixes(result, out)
    write_fixes(result, out, force=True)
    assert "# mine" not in (out / "etc/modules-load.d/k8s.conf").read_text()


def bitbake_variables(path, tmp_path):
    """Parse a BitBake snippet with oelint-parser (the parser oelint-adv uses)."""
    stash_mod = pytest.importorskip("oelint_parser.cls_stash")
    from oelint_parser.cls_item import Variable
    recipe = tmp_path / "snippet_1.0.bb"
    recipe.write_text(Path(path).read_text())
    stash = stash_mod.Stash()
    stash.AddFile(str(recipe))
    stash.Finalize()
    out = {}
    for var in stash.GetItemsFor(classifier=Variable.CLASSIFIER):
        name = var.VarName + (":" + var.SubItem if var.SubItem else "")
        out.setdefault(name, []).extend(var.get_items())
    return out


def test_no_cmdline_file_when_nothing_to_change(board, tmp_path):
    from rcarkit.node.fixes import render_fixes
    files = render_fixes(run_check(board()))
    assert "boot/cmdline-addition.txt" not in files


# -- CLI --------------------------------------------------------------------------------------

def cli(args):
    from typer.testing import CliRunner
    from rcarkit.cli.app import app
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    return runner.invoke(app, args)


def test_cli_json_and_exit_codes(board, tmp_path):
    root = board()
    res = cli(["check-node", "--root", str(root), "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["command"] == "check-node" and data["exit_code"] == 0
    assert data["kernel_release"] == RELEASE
    broken = board(swap=True)
    res = cli(["check-node", "--root", str(broken), "--format", "json", "--only-missing"])
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert [o["option"] for o in data["options"]] == ["swap"]


def test_cli_emit_and_table(board, tmp_path):
    root = board(ip_forward="0")
    res = cli(["check-node", "--root", str(root), "--emit", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert "VERDICT: NOT READY" in res.stdout
    assert (tmp_path / "out/etc/sysctl.d/99-kubernetes.conf").is_file()
    for line in res.stdout.splitlines():
        if not line.startswith("VERDICT:"):  # the shared printer's verdict line
            assert len(line) <= 80, line


def run_cli_subprocess(args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "rcarkit"] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, env=env, cwd=str(REPO))


@pytest.mark.parametrize("args", [
    ["check-node", "--root", "/nonexistent/board"],
    ["check-node", "--role", "master"],
    ["check-node", "--format", "yaml"],
    ["check-node", "--config", "/nonexistent/config"],
    ["check-node", "--cni", "no-such-cni"],
])
def test_bad_input_is_one_line_exit_2(args):
    proc = run_cli_subprocess(args)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr


def test_root_without_release_needs_kernel_release(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run_cli_subprocess(["check-node", "--root", str(tmp_path / "empty")])
    assert proc.returncode == 2 and "--kernel-release" in proc.stderr
    proc = run_cli_subprocess(["check-node", "--root", str(tmp_path / "empty"),
                               "--kernel-release", "6.1.0", "--format", "json"])
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    assert data["kernel_release"] == "6.1.0"


# -- kernel-modules.toml against the kernel tree ----------------------------------------------

def _load_map():
    from rcarkit.node.modules import ModuleMap
    return ModuleMap.load(str(REPO / "kconfig_profiles"))


def _logical_lines(path):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return []
    return text.replace("\\\n", " ").splitlines()


def test_module_map_matches_kernel_makefiles(kernel_tree_61):
    """Every entry names a module that a Makefile builds from that very symbol."""
    from rcarkit.kernel.profiles import _load_toml
    data = _load_toml(str(REPO / "kconfig_profiles/kernel-modules.toml"))
    assert data["generated"]["kernel"].startswith("6.1.")
    bad = []
    for sym, paths in data["symbols"].items():
        for mod in paths:
            found = False
            parts = mod.split("/")
            # the Makefile of the module's directory, or of a parent naming "sub/name.o"
            for up in range(1, min(3, len(parts)) + 1):
                directory = kernel_tree_61.joinpath(*parts[:-up]) if len(parts) > up \
                    else kernel_tree_61
                obj = "/".join(parts[-up:]) + ".o"
                for mk in ("Makefile", "Kbuild"):
                    for line in _logical_lines(directory / mk):
                        if "obj-$(CONFIG_%s)" % sym in line and \
                                re.search(r"(^|[\s=])%s(\s|$)" % re.escape(obj), line):
                            found = True
                if found:
                    break
            if not found:
                bad.append((sym, mod))
    assert bad == []


def test_module_map_knows_the_usual_modules():
    """Module names and paths as every distribution kernel installs them."""
    mm = _load_map()
    expected = {"BRIDGE_NETFILTER": "net/bridge/br_netfilter", "BRIDGE": "net/bridge/bridge",
                "OVERLAY_FS": "fs/overlayfs/overlay", "VXLAN": "drivers/net/vxlan/vxlan",
                "VETH": "drivers/net/veth", "IP_VS": "net/netfilter/ipvs/ip_vs",
                "NF_CONNTRACK": "net/netfilter/nf_conntrack", "NF_NAT": "net/netfilter/nf_nat",
                "IP_SET": "net/netfilter/ipset/ip_set",
                "NETFILTER_XT_MATCH_CONNTRACK": "net/netfilter/xt_conntrack",
                "IP_NF_IPTABLES": "net/ipv4/netfilter/ip_tables",
                "NF_CONNTRACK_IPV4": "net/ipv4/netfilter/nf_conntrack_ipv4"}
    for sym, path in expected.items():
        assert path in mm.modules_for(sym), sym
    for sym, name in MODULE_SYMBOLS.items():
        assert "kernel/%s.ko" % mm.modules_for(sym)[0] == MODULE_PATHS[name]


def test_removed_symbols_are_not_in_the_61_tree(kernel_tree_61):
    from rcarkit.kernel.profiles import _load_toml
    data = _load_toml(str(REPO / "kconfig_profiles/kernel-modules.toml"))
    makefiles = (kernel_tree_61 / "net/ipv4/netfilter/Makefile").read_text() + \
        (kernel_tree_61 / "net/ipv6/netfilter/Makefile").read_text()
    for sym in data["removed_symbols"]:
        assert "CONFIG_%s)" % sym not in makefiles, sym
        assert sym not in data["symbols"]


def test_every_profile_module_symbol_is_mapped(kernel_tree_61, catalog):
    """grep the tree for `obj-$(CONFIG_X) += ....o` of every profile symbol."""
    mm = _load_map()
    symbols = sorted(set(s for p in catalog.profiles.values() for r in p.options
                         for s in r.names))
    dirs = [d for d in ("net", "fs", "kernel", "lib", "crypto", "block", "security", "mm",
                        "drivers/net", "drivers/md", "drivers/block") if
            (kernel_tree_61 / d).is_dir()]
    proc = subprocess.run(["grep", "-rhoE", "--include=Makefile", "--include=Kbuild",
                           r"^obj-\$\(CONFIG_[A-Z0-9_]+\)\s*[+:]?=\s*[^#\\]*\.o\b"] + dirs,
                          cwd=str(kernel_tree_61), stdout=subprocess.PIPE,
                          universal_newlines=True)
    built = set(re.findall(r"CONFIG_([A-Z0-9_]+)\)", proc.stdout))
    missing = [s for s in symbols if s in built and not mm.modules_for(s)]
    assert missing == []
    assert len([s for s in symbols if s in built]) > 20


def _kconfig_blocks(tree, symbols):
    """``{symbol: text of its 'config SYMBOL' block}``, found with one grep."""
    proc = subprocess.run(["grep", "-rlE", "--include=Kconfig*",
                           "^config (%s)$" % "|".join(symbols), "."],
                          cwd=str(tree), stdout=subprocess.PIPE, universal_newlines=True)
    blocks = {}
    for rel in proc.stdout.split():
        text = (tree / rel).read_text(errors="replace")
        for m in re.finditer(r"^config (\w+)\n", text, re.M):
            if m.group(1) not in symbols:
                continue
            rest = text[m.end():]
            end = re.search(r"^(config|menuconfig|endmenu|menu|choice|if|endif)\b", rest, re.M)
            blocks[m.group(1)] = rest[:end.start() if end else len(rest)]
    return blocks


def test_selectors_match_kconfig(kernel_tree_61):
    """[selects] entries: tristate options whose Kconfig block selects the target."""
    from rcarkit.kernel.profiles import _load_toml
    data = _load_toml(str(REPO / "kconfig_profiles/kernel-modules.toml"))
    for sym in ("IP_NF_TARGET_MASQUERADE", "IP_NF_TARGET_REDIRECT", "NETFILTER_XT_MATCH_MARK",
                "NETFILTER_XT_TARGET_MARK"):
        assert sym in data["selects"], sym
    blocks = _kconfig_blocks(kernel_tree_61, set(data["selects"]))
    for sym, targets in data["selects"].items():
        block = blocks.get(sym, "")
        assert "tristate" in block, sym
        for target in targets:
            assert re.search(r"^\s*select %s\b" % target, block, re.M), (sym, target)


def test_selector_and_older_kernel_modules():
    """MASQUERADE: ipt_MASQUERADE before 5.2, xt_MASQUERADE (selected) after."""
    from rcarkit.kernel.config import KernelVersion, parse_config_text
    mm = _load_map()
    cfg = parse_config_text("CONFIG_IP_NF_TARGET_MASQUERADE=m\n"
                            "CONFIG_NETFILTER_XT_TARGET_MASQUERADE=m\n", kernel_version="6.1.0")
    assert mm.modules_for("IP_NF_TARGET_MASQUERADE", "arm64", KernelVersion.parse("6.1.0"),
                          cfg) == ["net/netfilter/xt_MASQUERADE"]
    assert mm.modules_for("IP_NF_TARGET_MASQUERADE", "arm64", KernelVersion.parse("4.14.75"),
                          cfg) == ["net/ipv4/netfilter/ipt_MASQUERADE"]
    builtin = parse_config_text("CONFIG_IP_NF_TARGET_MASQUERADE=m\n"
                                "CONFIG_NETFILTER_XT_TARGET_MASQUERADE=y\n")
    assert mm.modules_for("IP_NF_TARGET_MASQUERADE", "arm64", None, builtin) == []


def test_shipped_map_is_current(kernel_tree_61, tmp_path):
    out = tmp_path / "kernel-modules.toml"
    subprocess.run([sys.executable, str(REPO / "tools/gen_kernel_modules.py"),
                    str(kernel_tree_61), "-o", str(out)], check=True)
    assert out.read_text() == (REPO / "kconfig_profiles/kernel-modules.toml").read_text(), \
        "kernel-modules.toml is stale: re-run tools/gen_kernel_modules.py"
