"""The ``rcarkit yocto-layer`` command: check a kernel config, write a meta-layer.

The library is :mod:`rcarkit.yocto.layer` (imported when the command runs, so
``check-kernel`` never pays for jinja2). The same layer comes out of
``rcarkit check-kernel --emit-layer DIR``.
"""

from pathlib import Path
from typing import List, Optional

import typer

from rcarkit.cli.common import (CNI_OPTION, DEFCONFIG_OPTION, FORCE_OPTION, KERNEL_RECIPE_OPTION,
                         KERNEL_SRC_OPTION, KERNEL_VERSION_OPTION, LAYER_SERIES_OPTION,
                         MACHINE_OVERRIDE_OPTION, PROFILES_DIR_OPTION, PROFILE_OPTION,
                         PROXY_MODE_OPTION, RUNTIME_OPTION, check_choice, choose_profiles, emit,
                         WITH_OPTIONAL_OPTION, WITH_RCARKIT_RECIPE_OPTION, read_kernel_config,
                         user_errors, warn)

HELP = (
    "Check a kernel config like check-kernel, then write a Yocto layer that adds "
    "the missing options: conf/layer.conf, a <recipe>_%.bbappend scoped to a "
    "machine override, rcarkit-k8s.cfg (the options plus the dependencies they "
    "need), a README (what and why) and COPYING.MIT. "
    "Recipes: linux-renesas (bbappends per BSP layer, read only when that layer "
    "is in the build: meta-rcar-gen3 rcar-gen3, meta-rcar-gateway rcar-gateway, "
    "meta-rcar-bsp rcar, meta-sparrow-hawk rcar-gen4), linux-raspberrypi (rpi; "
    "also -v7 and -dev), linux-yocto or any other with --machine-override. "
    "Prints which machines the append reaches. The same inputs "
    "give the same bytes; files changed by hand are kept unless --force. "
    "Exit codes: 0 layer written; 2 bad input or usage (one line on stderr).")


def register(app):
    """Add ``yocto-layer`` to the rcarkit app."""
    app.command("yocto-layer", help=HELP,
                short_help="Write a Yocto layer adding the missing options.")(yocto_layer_cmd)


def yocto_layer_cmd(
    config: Optional[Path] = typer.Argument(None, help="Kernel config or kernel image "
                                            "(default /proc/config.gz).", show_default=False),
    output: Path = typer.Option(Path("yocto_layer/meta-rcarkit-k8s"), "--output", "-o",
                                help="Layer directory to write."),
    profile: Optional[List[str]] = PROFILE_OPTION,
    cni: Optional[List[str]] = CNI_OPTION,
    runtime: Optional[List[str]] = RUNTIME_OPTION,
    proxy_mode: Optional[List[str]] = PROXY_MODE_OPTION,
    kernel_version: Optional[str] = KERNEL_VERSION_OPTION,
    defconfig: bool = DEFCONFIG_OPTION,
    profiles_dir: Optional[Path] = PROFILES_DIR_OPTION,
    kernel_recipe: Optional[str] = KERNEL_RECIPE_OPTION,
    machine_override: Optional[str] = MACHINE_OVERRIDE_OPTION,
    layer_series: Optional[str] = LAYER_SERIES_OPTION,
    kernel_src: Optional[Path] = KERNEL_SRC_OPTION,
    force: bool = FORCE_OPTION,
    with_optional: bool = WITH_OPTIONAL_OPTION,
    with_rcarkit_recipe: bool = WITH_RCARKIT_RECIPE_OPTION,
    all_profiles: bool = typer.Option(False, "--all-profiles", help="Use every profile."),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
):
    check_choice(fmt, ("table", "json"), "--format")
    with user_errors():
        from rcarkit.yocto import layer as yocto
        # validate the layer options before reading anything
        yocto.layer_spec(output, kernel_recipe, machine_override, layer_series,
                         with_rcarkit_recipe)
        if kernel_src is not None and not kernel_src.is_dir():
            from rcarkit.errors import RcarkitError
            raise RcarkitError("not a directory", path=kernel_src,
                               hint="--kernel-src takes a kernel source tree")
        from rcarkit.kernel.check import check_config
        catalog, profiles = choose_profiles(profiles_dir, profile, cni, runtime, proxy_mode,
                                            all_profiles)
        cfg = read_kernel_config(config, kernel_version, defconfig, catalog, kernel_src)
        report = check_config(cfg, profiles, catalog)
        from rcarkit.kernel.fragment import plan_fragment
        plan = plan_fragment(report, catalog, kernel_src=str(kernel_src) if kernel_src else None,
                             config=cfg, with_optional=with_optional)
        result = yocto.generate_layer(report, catalog, output, kernel_recipe=kernel_recipe,
                                      machine_override=machine_override,
                                      layer_series=layer_series, kernel_src=kernel_src,
                                      force=force, plan=plan,
                                      with_rcarkit_recipe=with_rcarkit_recipe)
        for line in result.warnings or []:
            warn(line)
        if fmt == "json":
            import json
            emit(json.dumps(result.to_dict(), indent=2) + "\n")
        else:
            emit(render_summary(result))
        raise typer.Exit(0)


def render_summary(result):
    """The table output: one line per file, the fragment counts, what to do next."""
    import os
    import textwrap
    spec = result.spec
    changed = set(result.changed)
    out = textwrap.wrap("%s: layer %s for %s (override%s %s)" % (
        spec.directory, spec.collection, spec.kernel_recipe,
        "s" if len(spec.overrides) > 1 else "", ", ".join(spec.overrides)),
        80, subsequent_indent="    ", break_on_hyphens=False)
    carried = "/python3-rcarkit/"
    for rel in result.files:
        if carried in rel:
            continue
        state = "written" if os.path.join(spec.directory, rel) in changed else "unchanged"
        out.extend(_file_row(state, rel))
    sources = [rel for rel in result.files if carried in rel]
    if sources:
        state = ("written" if any(os.path.join(spec.directory, r) in changed for r in sources)
                 else "unchanged")
        out.extend(_file_row(state, "%s%s (%d files: rcarkit, vendored typer)" % (
            sources[0].split(carried)[0], carried, len(sources))))
    for path in result.removed:
        out.append("  %-9s  %s (stale)" % ("removed", os.path.relpath(path, spec.directory)))
    out.extend(render_reach(spec.targets))
    counts = result.plan.to_dict()["counts"]
    out.append("fragment: %d option(s) set (%d requested, %d dependencies)\n"
               "          %d impossible, %d obsolete: comments only" % (
                   counts.get("requested", 0) + counts.get("dependency", 0),
                   counts.get("requested", 0), counts.get("dependency", 0),
                   counts.get("impossible", 0), counts.get("obsolete", 0)))
    if not result.plan.active():
        out.append("note: nothing is missing for these profiles; the layer adds no option")
        return "\n".join(out) + "\n"
    out.append("next: add it to the build (then see its README to check the result):")
    out.append("  bitbake-layers add-layer %s" % os.path.abspath(spec.directory))
    return "\n".join(out) + "\n"


def _file_row(state, rel):
    """``  state  path``; a path too long for 80 columns breaks after a '/'."""
    head, rest = "  %-9s  " % state, rel
    lines = []
    while len(head) + len(rest) > 80 and "/" in rest[:80 - len(head)]:
        cut = rest.rindex("/", 0, 80 - len(head)) + 1
        lines.append(head + rest[:cut])
        head, rest = " " * len(head), rest[cut:]
    return lines + [head + rest]


def render_reach(targets):
    """Which machines the append reaches: one row per BSP collection (80 columns)."""
    import textwrap
    rows = [(t.collection or "(static)", ",".join(t.overrides), ", ".join(t.machines)
             or "(machines with that override)") for t in targets]
    w1 = max(len("BSP collection"), max(len(r[0]) for r in rows))
    w2 = max(len("override"), max(len(r[1]) for r in rows))
    out = ["reaches (the .cfg is added where MACHINEOVERRIDES has the override):",
           "  %-*s  %-*s  %s" % (w1, "BSP collection", w2, "override", "machines")]
    indent = 2 + w1 + 2 + w2 + 2
    for coll, over, machines in rows:
        lines = textwrap.wrap(machines, max(20, 80 - indent), break_on_hyphens=False)
        out.append("  %-*s  %-*s  %s" % (w1, coll, w2, over, lines[0]))
        out.extend(" " * indent + line for line in lines[1:])
    return out
