"""The ``rcarkit`` command line (typer). Commands live in thin modules:

* ``check-kernel`` here,
* ``yocto-layer`` and ``verify-fragment`` in :mod:`rcarkit.cli.yocto_layer`,
* ``etcd-bench`` in :mod:`rcarkit.cli.etcd_bench`,
* ``check-node`` in :mod:`rcarkit.cli.check_node`,
* ``report`` in :mod:`rcarkit.cli.report`.

Only typer and the standard library are imported at start-up; each command
imports its library when it runs, so ``check-kernel`` never pays for jinja2,
psutil or the benchmark.
"""

import sys
from pathlib import Path
from typing import List, Optional

import typer

from rcarkit.cli.common import (CNI_OPTION, DEFCONFIG_OPTION, FORCE_OPTION, KERNEL_RECIPE_OPTION,
                                KERNEL_SRC_OPTION, KERNEL_VERSION_OPTION, LAYER_SERIES_OPTION,
                                MACHINE_OVERRIDE_OPTION, NO_COLOR_OPTION, PROFILE_OPTION,
                                PROFILES_DIR_OPTION, PROXY_MODE_OPTION, RUNTIME_OPTION,
                                check_choice, choose_profiles, complete_format, emit, fail,
                                next_step_text, read_kernel_config, selection_units, use_color,
                                user_errors, warn, WITH_OPTIONAL_OPTION,
                                WITH_RCARKIT_RECIPE_OPTION)
from rcarkit.errors import EXIT_USAGE

EXIT_CODES_HELP = ("Exit codes: 0 all required options present; 1 required options missing; "
                   "2 bad input or usage (one line on stderr).")

app = typer.Typer(
    name="rcarkit",
    help="Get an embedded arm64 board (R-Car, Raspberry Pi, Yocto) ready for Kubernetes. "
         "Exit codes of every command: 0 ready, nothing to change; 1 the check found "
         "something to change; 2 bad input or usage (one line on stderr).",
    add_completion=True,   # typer's --install-completion / --show-completion
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool):
    if value:
        from rcarkit import __version__
        typer.echo("rcarkit %s" % __version__)
        raise typer.Exit(0)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version_callback,
                                       is_eager=True, help="Print the version and exit.")):
    """Get an embedded arm64 board ready for Kubernetes."""


@app.command("check-kernel", short_help="Which kernel options Kubernetes and the CNI lack.",
             help=(
    "Diff a kernel config against the option sets Kubernetes, the container runtime, "
    "kube-proxy and the CNI need, and explain every gap; several CONFIGs give one "
    "matrix (options x configs) to compare boards or BSP versions. CONFIG defaults to "
    "/proc/config.gz, then /boot/config-$(uname -r); it may be a .config, a defconfig, "
    "a gzip/xz/bzip2 file, a vmlinux or an Image/zImage/Image.gz with CONFIG_IKCONFIG. "
    "Default profiles: k8s-core, containerd, kube-proxy-iptables, flannel-vxlan. "
    + EXIT_CODES_HELP))
def check_kernel_cmd(
    configs: Optional[List[Path]] = typer.Argument(
        None, metavar="[CONFIG]...", show_default=False,
        help="Kernel config or kernel image; several: one matrix, options x configs."),
    profile: Optional[List[str]] = PROFILE_OPTION,
    cni: Optional[List[str]] = CNI_OPTION,
    runtime: Optional[List[str]] = RUNTIME_OPTION,
    proxy_mode: Optional[List[str]] = PROXY_MODE_OPTION,
    all_profiles: bool = typer.Option(False, "--all-profiles", help="Check every profile."),
    list_profiles: bool = typer.Option(False, "--list-profiles", help="List profiles and exit."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, json or markdown.",
                            autocompletion=complete_format),
    only_missing: bool = typer.Option(False, "--only-missing",
                                      help="Show only missing and wrong-valued options."),
    kernel_version: Optional[str] = KERNEL_VERSION_OPTION,
    defconfig: bool = DEFCONFIG_OPTION,
    profiles_dir: Optional[Path] = PROFILES_DIR_OPTION,
    emit_fragment: Optional[Path] = typer.Option(None, "--emit-fragment",
                                                 help="Write the missing options as a .cfg "
                                                      "fragment for merge_config.sh."),
    emit_layer: Optional[Path] = typer.Option(None, "--emit-layer",
                                              help="Write a Yocto layer adding the missing options."),
    kernel_recipe: Optional[str] = KERNEL_RECIPE_OPTION,
    machine_override: Optional[str] = MACHINE_OVERRIDE_OPTION,
    layer_series: Optional[str] = LAYER_SERIES_OPTION,
    kernel_src: Optional[Path] = KERNEL_SRC_OPTION,
    force: bool = FORCE_OPTION,
    with_optional: bool = WITH_OPTIONAL_OPTION,
    with_rcarkit_recipe: bool = WITH_RCARKIT_RECIPE_OPTION,
    no_color: bool = NO_COLOR_OPTION,
):
    check_choice(fmt, ("table", "json", "markdown"), "--format")
    color = use_color(fmt, no_color)
    configs = list(configs or [])
    if len(configs) > 1 and (emit_fragment is not None or emit_layer is not None):
        fail("--emit-fragment and --emit-layer take one config, not %d" % len(configs))
    if with_rcarkit_recipe and emit_layer is None:
        fail("--with-rcarkit-recipe is only used with --emit-layer")
    config = configs[0] if configs else None
    if emit_fragment is None and emit_layer is None:
        given = [flag for flag, value in (("--kernel-recipe", kernel_recipe),
                                          ("--machine-override", machine_override),
                                          ("--layer-series", layer_series),
                                          ("--force", force or None),
                                          ("--with-optional", with_optional or None))
                 if value is not None]
        if given:
            fail("%s %s only used with --emit-fragment or --emit-layer"
                 % (", ".join(given), "is" if len(given) == 1 else "are"))
    with user_errors():
        if list_profiles:
            from rcarkit.kernel.profiles import load_catalog
            emit(_render_profiles(load_catalog(str(profiles_dir) if profiles_dir else None), fmt))
            raise typer.Exit(0)
        from rcarkit.kernel.check import check_config
        catalog, profiles = choose_profiles(profiles_dir, profile, cni, runtime, proxy_mode,
                                            all_profiles)
        if len(configs) > 1:
            from rcarkit.render import render_matrix
            read = [read_kernel_config(path, kernel_version, defconfig, catalog, kernel_src)
                    for path in configs]
            _kernel_src_used(read, kernel_src, None, None)
            reports = [check_config(cfg, profiles, catalog) for cfg in read]
            emit(render_matrix([(str(path), report) for path, report in zip(configs, reports)],
                               fmt, only_missing, color))
            raise typer.Exit(max(report.exit_code for report in reports))
        cfg = read_kernel_config(config, kernel_version, defconfig, catalog, kernel_src)
        _kernel_src_used([cfg], kernel_src, emit_fragment, emit_layer)
        report = check_config(cfg, profiles, catalog)
        emitted = None
        if emit_fragment is not None or emit_layer is not None:
            from rcarkit.yocto import layer as yocto
            src = str(kernel_src) if kernel_src is not None else None
            emitted = yocto.write_outputs(report, catalog, fragment_path=emit_fragment,
                                          layer_dir=emit_layer, kernel_recipe=kernel_recipe,
                                          machine_override=machine_override,
                                          layer_series=layer_series, kernel_src=src,
                                          force=force, config=cfg, with_optional=with_optional,
                                          with_rcarkit_recipe=with_rcarkit_recipe)
        from rcarkit.render import render, width
        emit(render(report, fmt, only_missing, color))
        if fmt == "table" and report.exit_code != 0 and emit_fragment is None \
                and emit_layer is None:
            emit(next_step_text(selection_units(config, profile, cni, runtime, proxy_mode,
                                                all_profiles, kernel_version, defconfig,
                                                profiles_dir), width()))
        if emitted is not None:
            for line in emitted.warnings:
                warn(line)
            for item in emitted.written:
                typer.echo("wrote %s" % item, err=True)
        raise typer.Exit(report.exit_code)


def _kernel_src_used(configs, kernel_src, emit_fragment, emit_layer):
    """--kernel-src expands a defconfig and resolves a fragment; with neither it
    would be silently ignored: a usage error instead."""
    if kernel_src is None or emit_fragment is not None or emit_layer is not None:
        return
    if all(cfg.kind == "full" for cfg in configs):
        fail("--kernel-src is only used with a defconfig, --emit-fragment or --emit-layer")


def _render_profiles(catalog, fmt):
    rows = [p.to_dict() for p in catalog.profiles.values()]
    if fmt == "json":
        import json
        return json.dumps({"schema_version": 1, "profiles": rows}, indent=2) + "\n"
    order = {"core": 0, "runtime": 1, "proxy-mode": 2, "cni": 3, "policy": 4, "feature": 5,
             "storage": 6}
    rows.sort(key=lambda r: (order.get(r["kind"], 9), r["name"]))
    for r in rows:   # an unmaintained component says so before anything else
        if r["status"] != "maintained":
            r["summary"] = "[%s] %s" % (r["status"].upper(), r["summary"])
    if fmt == "markdown":
        from tabulate import tabulate
        return tabulate([[r["name"], r["kind"], r["min_kernel"] or "",
                          ", ".join(r["arches"] or ["any"]), r["options"],
                          r["summary"]] for r in rows],
                        headers=["profile", "kind", "min kernel", "arches", "options",
                                 "summary"],
                        tablefmt="github") + "\n"
    out = ["%-20s %-10s %-6s %4s  %s" % ("PROFILE", "KIND", "KERNEL", "OPTS", "SUMMARY")]
    for r in rows:
        line = "%-20s %-10s %-6s %4d  %s" % (r["name"], r["kind"], r["min_kernel"] or "-",
                                             r["options"], r["summary"])
        out.append(line if len(line) <= 80 else line[:77] + "...")
    return "\n".join(out) + "\n"


def _register_other_commands():
    from rcarkit.cli import etcd_bench as cli_etcd
    from rcarkit.cli import check_node as cli_node
    from rcarkit.cli import verify_fragment as cli_verify
    from rcarkit.cli import yocto_layer as cli_yocto
    from rcarkit.cli import report as cli_report
    for module in (cli_yocto, cli_verify, cli_etcd, cli_node, cli_report):
        module.register(app)


_register_other_commands()


def _usage_error_class():
    """The UsageError of the click that typer runs on: recent typer releases
    vendor their own copy as ``typer._click``; older ones use ``click``."""
    try:
        from typer._click.exceptions import UsageError
    except ImportError:
        from click.exceptions import UsageError
    return UsageError


def main(argv=None):
    """Console entry point: usage errors become one line on stderr and exit 2."""
    usage_error = _usage_error_class()
    command = typer.main.get_command(app)
    args = sys.argv[1:] if argv is None else list(argv)
    from rcarkit.files import remove_live_temps, signals_raise
    try:
        with signals_raise():   # SIGTERM/SIGHUP: temp files go, finally-blocks run
            try:
                code = command.main(args=args, prog_name="rcarkit", standalone_mode=False)
            finally:
                remove_live_temps()
    except typer.Exit as exc:
        code = exc.exit_code
    except usage_error as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `rcarkit`: the help
            # exit 2 is a usage error, so the help goes where errors go
            sys.stderr.write(exc.format_message().rstrip("\n") + "\n")
            sys.stderr.write("rcarkit: error: no command given (see 'rcarkit --help')\n")
            sys.exit(EXIT_USAGE)
        hint = ""
        if exc.ctx is not None:
            hint = " (see '%s --help')" % exc.ctx.command_path
        message = " ".join(exc.format_message().split())
        sys.stderr.write("rcarkit: error: %s%s\n" % (message, hint))
        code = EXIT_USAGE
    except typer.Abort:
        sys.stderr.write("rcarkit: interrupted\n")
        code = 130
    except KeyboardInterrupt:
        sys.stderr.write("rcarkit: interrupted\n")
        code = 130
    except BrokenPipeError:
        code = 0
    if code is None:
        code = 0
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
