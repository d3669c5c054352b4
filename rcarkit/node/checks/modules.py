"""Areas ``modules`` and ``kernel-modules-loaded``: every ``=m`` option the
profiles need has its module in ``/lib/modules/<release>`` with the running
kernel's vermagic; ``overlay`` and ``br_netfilter`` are loaded or loadable."""

from rcarkit.report import OK, MISSING, WRONG, WARNING, UNKNOWN
from rcarkit.node.checks.context import add_once, src
from rcarkit.errors import RcarkitError


def module_symbols(ctx):
    """``[(symbol, required, profile)]`` of rules satisfied by an ``=m`` symbol."""
    from rcarkit.kernel.profiles import Expect
    wanted = []
    seen = {}
    if ctx.kernel_report is None:
        return wanted
    for f in ctx.kernel_report.findings():
        if f.status != OK or not f.symbols:
            continue
        expect = Expect(f.expected)
        for sym in f.symbols:
            value = ctx.config.get(sym)
            if value is not None and expect.matches(value):
                if value == "m":
                    if sym in seen:
                        i = seen[sym]
                        wanted[i] = (sym, wanted[i][1] or f.required, wanted[i][2])
                    else:
                        seen[sym] = len(wanted)
                        wanted.append((sym, f.required, f.group))
                break
    return wanted


def check_modules(ctx):
    g = ctx.group("modules", "kernel modules for =m options (/lib/modules/%s)"
                   % (ctx.release or "?"))
    wanted = module_symbols(ctx)
    ctx.facts["modules_needed"] = len(wanted)
    if ctx.config is None:
        return
    if not wanted:
        ctx.finding(g, "=m options", "modules installed", "none needed", OK, True,
                     "no option the profiles need is built as a module")
        return
    tree = ctx.tree
    if tree is None or not tree.exists:
        _no_module_tree(ctx, g, wanted)
        return
    for sym, required, profile in wanted:
        paths = ctx.modmap.modules_for(sym, ctx.config.arch or ctx.arch,
                                        ctx.config.version, ctx.config)
        if not paths and sym in ctx.modmap.selects:
            targets = ctx.modmap.selects[sym]
            ctx.finding(g, "CONFIG_%s=m" % sym, "installed", "selects only", OK, required,
                         "builds no module itself; selects %s, built in here" % ", ".join(
                             "%s=%s" % (t, ctx.config.get(t) or "unset") for t in targets),
                         sources=src("kernel-modules-toml"), symbols=(sym,))
            continue
        if not paths:
            ctx.finding(g, "CONFIG_%s=m" % sym, "module installed", None, UNKNOWN, False,
                         "no module known for this symbol in kernel-modules.toml",
                         sources=src("kernel-modules-toml"), symbols=(sym,),
                         note="regenerate with tools/gen_kernel_modules.py on this kernel's tree")
            continue
        for modpath in paths:
            _check_one_module(ctx, g, sym, required, profile, modpath)
            if sym.startswith("IP_VS") and "ipvs" in ctx.proxy_modes():
                add_once(ctx.fixes.modules_load, ctx.nm.module_name(modpath))


def _no_module_tree(ctx, g, wanted):
    """No ``/lib/modules/<release>`` at all: one finding for the one cause.

    Every ``=m`` module is missing for the same reason, so the area reports
    the cause once (listing the modules it takes away) instead of a row per
    module; modules loaded right now are named as such (they are gone after a
    reboot all the same).
    """
    ctx.fixes.need_all_modules = True
    names, symbols, loaded, required = [], [], [], False
    for sym, req, profile in wanted:
        paths = ctx.modmap.modules_for(sym, ctx.config.arch or ctx.arch,
                                       ctx.config.version, ctx.config)
        for modpath in paths:
            name = ctx.nm.module_name(modpath)
            if name in names:
                continue
            names.append(name)
            symbols.append(sym)
            required = required or req
            if ctx.loaded is not None and name in ctx.loaded:
                loaded.append(name)
            else:
                add_once(ctx.fixes.module_packages, ctx.nm.yocto_package(name))
    directory = "/lib/modules/%s" % (ctx.release or "?")
    missing = [n for n in names if n not in loaded]
    reason = ("%d option(s) the profiles need are =m, and the image has no %s: modprobe "
              "fails for every one of them (%s)" % (len(wanted), directory,
                                                   ", ".join(missing or names)))
    note = "Yocto: add kernel-modules to IMAGE_INSTALL (or install the kernel's modules)"
    if loaded:
        note = "loaded now, gone after a reboot: %s; %s" % (", ".join(loaded), note)
    ctx.finding(g, directory, "present", "absent", MISSING if missing else WARNING,
                required if missing else False, reason, note=note,
                sources=src("kernel-modules-toml", "yocto-kernel-modules"),
                symbols=tuple(symbols))


def _check_one_module(ctx, g, sym, required, profile, modpath):
    name = ctx.nm.module_name(modpath)
    expected = "installed"
    base = dict(group=g, name=name, expected=expected, required=required,
                symbols=(sym,), sources=src("kernel-modules-toml", "yocto-kernel-modules"))
    why_missing = ("CONFIG_%s=m (%s) but the module is not in the image: modprobe %s "
                   "fails and whatever needs it breaks" % (sym, profile, name))
    tree = ctx.tree
    how, rel = tree.find(name)
    if how == "builtin":
        ctx.finding(actual="builtin", status=OK, reason="linked into the kernel image",
                     note="modules.builtin lists it although the config says m", **base)
        return
    if how is None:
        loaded = ctx.loaded is not None and name in ctx.loaded
        if loaded:
            ctx.finding(actual="loaded, no file", status=WARNING,
                         reason="loaded now but no module file: it cannot be loaded again "
                                "after a reboot", **dict(base, required=False))
            return
        ctx.finding(actual="missing", status=MISSING, reason=why_missing,
                     note="not in modules.dep, no %s.ko* under %s" % (name, tree.directory),
                     **base)
        add_once(ctx.fixes.module_packages, ctx.nm.yocto_package(name))
        return
    try:
        info = tree.modinfo(rel)
    except RcarkitError as exc:
        ctx.finding(actual="unreadable", status=UNKNOWN,
                     reason="module file %s found, vermagic unreadable" % rel,
                     note=exc.message + (" (%s)" % exc.hint if exc.hint else ""),
                     **dict(base, required=False))
        return
    magic = info.get("vermagic", "")
    got = ctx.nm.vermagic_release(magic)
    if got != ctx.release:
        ctx.finding(actual="vermagic %s" % (got or "none"), status=WRONG,
                     reason="%s was built for another kernel: modprobe refuses it "
                            "('Exec format error' / 'disagrees about version')" % rel,
                     note="vermagic '%s'; install the modules of the running kernel "
                          "(same build as the Image)" % magic, **base)
        add_once(ctx.fixes.module_packages, ctx.nm.yocto_package(name))
        return
    if how == "file":
        ctx.finding(actual="not in dep", status=WRONG, note=rel,
                     reason="the file is there but modules.dep does not list it: modprobe "
                            "(and systemd-modules-load) cannot find it until "
                            "'depmod -a %s'" % ctx.release, **base)
        ctx.fixes.other.append("run 'depmod -a %s' on the board (Yocto runs depmod when "
                                "it builds the rootfs: rebuild the image)" % ctx.release)
        return
    lost = tree.missing_dependencies(name)
    if lost:
        ctx.finding(actual="deps missing", status=WRONG, note=", ".join(lost),
                     reason="modules.dep says %s needs modules the image lacks: "
                            "modprobe %s fails" % (name, name), **base)
        for dep in lost:
            add_once(ctx.fixes.module_packages,
                 ctx.nm.yocto_package(ctx.nm.module_name(dep)))
        return
    ctx.finding(actual="installed", status=OK, note=rel,
                 reason="in modules.dep, vermagic %s matches" % got, **base)


def check_loaded(ctx):
    g = ctx.group("kernel-modules-loaded", "overlay and br_netfilter (loaded or loadable)")
    fss = ctx.node_probe.filesystems(ctx.node)
    items = (
        ("overlay", "OVERLAY_FS", "containerd's overlayfs snapshotter cannot mount image "
         "layers: every container fails to start", lambda: "overlay" in fss),
        ("br_netfilter", "BRIDGE_NETFILTER", "bridge-nf-call-iptables does not exist "
         "until br_netfilter is loaded (bridge does not load it)",
         lambda: ctx.node.isdir("proc/sys/net/bridge")),
    )
    for name, sym, reason, present in items:
        req = ctx.profile_requires(sym)
        required = True if req is None else req
        srcs = src("container-runtimes")
        if present() or ctx.node_probe.module_loaded(ctx.node, name, ctx.loaded):
            ctx.finding(g, name, "loaded", "loaded", OK, required, reason, sources=srcs,
                         symbols=(sym,))
            add_once(ctx.fixes.modules_load, name)
            continue
        how = None
        if ctx.tree is not None and ctx.tree.exists:
            how, rel = ctx.tree.find(name)
        cfg = ctx.config.get(sym) if ctx.config is not None else None
        add_once(ctx.fixes.modules_load, name)
        broken = ctx.module_problem(name)
        if how in ("dep", "file") and broken is not None:
            # the file is there, but the modules check found why modprobe
            # refuses it (another kernel's vermagic, not in modules.dep, ...)
            ctx.finding(g, name, "loaded", "not loadable", broken.status, required,
                         reason, sources=srcs, symbols=(sym,),
                         note="module file: %s (see kernel modules above)" % broken.actual)
        elif how in ("dep", "file"):
            ctx.finding(g, name, "loaded", "loadable, not loaded", WARNING, False, reason,
                         sources=srcs, symbols=(sym,),
                         note="modprobe %s; etc/modules-load.d/k8s.conf loads it at boot"
                              % name)
        elif cfg == "y" or how == "builtin":
            ctx.finding(g, name, "loaded", "built in", OK, required, reason,
                         sources=srcs, symbols=(sym,))
        else:
            note = "CONFIG_%s=%s" % (sym, cfg or "unset")
            if cfg == "m":
                note += "; module file missing (see modules)"
                add_once(ctx.fixes.module_packages, ctx.nm.yocto_package(name))
            ctx.finding(g, name, "loaded", "not available", MISSING, required, reason,
                         sources=srcs, symbols=(sym,), note=note)
