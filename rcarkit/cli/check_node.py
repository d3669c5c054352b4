"""The ``check-node`` command: is this running board ready for kubeadm?

The library is :mod:`rcarkit.node.check`; it is imported only when the command
runs (it pulls in pyelftools and psutil).
"""

import os
from pathlib import Path
from typing import List, Optional

import typer

from rcarkit.cli.common import (CNI_OPTION, PROFILE_OPTION, PROFILES_DIR_OPTION, PROXY_MODE_OPTION,
                         RUNTIME_OPTION, check_choice, choose_profiles, emit, fail, user_errors)

HELP = (
    "Check a running board (or a mounted image with --root) for what kubeadm, the "
    "kubelet and the CNI will trip over: =m modules missing from /lib/modules or built "
    "for another kernel, swap, cgroup v1 or a disabled memory controller, kernel "
    "command line, ip_forward and bridge-nf-call-iptables, overlay/br_netfilter, "
    "CPUs and memory per role, iptables backend and tools, busy ports, default "
    "hostnames and MACs. --emit DIR writes the fixes (sysctl.d, modules-load.d, "
    "kernel command line, Yocto snippet). Exit codes: 0 ready; 1 something to "
    "change; 2 bad input or usage (one line on stderr).")


def register(app):
    """Add ``check-node`` to the rcarkit app."""

    @app.command("check-node", help=HELP,
                 short_help="What kubeadm will trip over on this running board.")
    def check_node_cmd(
        root: Path = typer.Option(Path("/"), "--root",
                                  help="Read proc, sys, lib/modules, etc, boot from here."),
        role: str = typer.Option("control-plane", "--role",
                                 help="control-plane or worker."),
        profile: Optional[List[str]] = PROFILE_OPTION,
        cni: Optional[List[str]] = CNI_OPTION,
        runtime: Optional[List[str]] = RUNTIME_OPTION,
        proxy_mode: Optional[List[str]] = PROXY_MODE_OPTION,
        config: Optional[Path] = typer.Option(None, "--config",
                                              help="Kernel config (default: ROOT/proc/config.gz, "
                                                   "then ROOT/boot/config-<release>)."),
        kernel_release: Optional[str] = typer.Option(None, "--kernel-release",
                                                     help="Running release (default: "
                                                          "ROOT/proc/sys/kernel/osrelease)."),
        profiles_dir: Optional[Path] = PROFILES_DIR_OPTION,
        emit_dir: Optional[Path] = typer.Option(None, "--emit",
                                                help="Write the fixes as files under DIR."),
        force: bool = typer.Option(False, "--force", help="Overwrite files changed by hand."),
        fmt: str = typer.Option("table", "--format", "-f", help="table, json or markdown."),
        only_missing: bool = typer.Option(False, "--only-missing",
                                          help="Show only what fails."),
    ):
        check_choice(fmt, ("table", "json", "markdown"), "--format")
        check_choice(role, ("control-plane", "worker"), "--role")
        if not root.is_dir():
            fail("%s: --root is not a directory" % root)
        with user_errors():
            from rcarkit.node.check import check_node
            catalog, profiles = choose_profiles(profiles_dir, profile, cni, runtime, proxy_mode)
            result = check_node(root=str(root), role=role, profiles=profiles, catalog=catalog,
                                config_path=str(config) if config is not None else None,
                                kernel_release=kernel_release,
                                profiles_dir=str(profiles_dir) if profiles_dir else None)
            written = []
            if emit_dir is not None:
                from rcarkit.node.fixes import write_fixes
                written = write_fixes(result, str(emit_dir), force=force)
            from rcarkit.render import render
            emit(render(result.report, fmt, only_missing))
            for path in written:
                if os.path.exists(path):
                    typer.echo("wrote %s" % path, err=True)
                else:  # a file an earlier run generated, not needed any more
                    typer.echo("removed %s (not needed any more)" % path, err=True)
            raise typer.Exit(result.report.exit_code)

    return check_node_cmd
