"""Area ``kernel-config``: the kernel config against the chosen profiles
(failing rows only, one per option; ``rcarkit check-kernel`` explains them)."""

from rcarkit.report import Finding, OK, UNKNOWN


def check_kernel_config(ctx):
    g = ctx.group("kernel-config", "kernel config vs profiles (details: rcarkit check-kernel)")
    if ctx.config is None:
        ctx.finding(g, "kernel config", "readable", None, UNKNOWN, False,
                     "no kernel config found (/proc/config.gz, /boot/config-<release>): "
                     "built-in options and =m modules cannot be checked",
                     note="pass --config, or build with CONFIG_IKCONFIG_PROC=y")
        return
    from rcarkit.kernel.check import check_config
    ctx.kernel_report = report = check_config(ctx.config, ctx.profiles, ctx.catalog)
    failing = [f for f in report.findings() if f.failing]
    merged = {}
    for f in failing:  # one row per option, naming every profile that wants it
        if f.name in merged:
            row, groups = merged[f.name]
            groups.append(f.group)
            row.required = row.required or f.required
            continue
        row = Finding(group=g.name, name=f.name, expected=f.expected, actual=f.actual,
                      status=f.status, required=f.required, reason=f.reason,
                      sources=f.sources, note=f.note, symbols=f.symbols,
                      provisional=f.provisional)
        merged[f.name] = (row, [f.group])
        g.findings.append(row)
    for row, groups in merged.values():
        row.note = "; ".join(x for x in (", ".join(groups), row.note) if x)
    if not any(f.required for f in failing):
        total = sum(1 for f in report.findings() if f.required and f.status == OK)
        ctx.finding(g, "profiles %s" % ", ".join(p.name for p in ctx.profiles),
                     "all required", "%d ok" % total, OK, True,
                     "every required option of the chosen profiles is set")
