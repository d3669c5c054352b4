"""The ``rcarkit verify-fragment`` command: does a .cfg fragment survive olddefconfig?

The library is :mod:`rcarkit.kernel.verify` (imported when the command runs;
it needs Kconfiglib and a kernel tree).
"""

from pathlib import Path
from typing import Optional

import typer

from rcarkit.cli.common import check_choice, emit, user_errors

HELP = (
    "Simulate what kernel-yocto.bbclass and merge_config.sh do with a configuration "
    "fragment: merge FRAGMENT onto the --base config (last assignment wins, "
    "KCONFIG_MODE=alldefconfig), run olddefconfig with the tree's own Kconfig "
    "(Kconfiglib), and report every requested value that did not survive, with the "
    "unmet dependency and the symbols that would fix it; options the tree does not "
    "define are reported as obsolete. "
    "Exit codes: 0 every value survives; 1 something is dropped or obsolete; "
    "2 bad input or usage (one line on stderr).")


def register(app):
    """Add ``verify-fragment`` to the rcarkit app."""
    app.command("verify-fragment", help=HELP,
                short_help="Does a .cfg fragment survive olddefconfig? Why not.")(verify_fragment_cmd)


def verify_fragment_cmd(
    fragment: Path = typer.Argument(..., help="The .cfg fragment to check."),
    kernel_src: Path = typer.Option(..., "--kernel-src",
                                    help="Kernel source tree (its Kconfig is the judge)."),
    base: Path = typer.Option(..., "--base", help="Base .config (or defconfig) the fragment "
                                                  "is merged onto."),
    arch: str = typer.Option("arm64", "--arch", help="Kernel ARCH (a directory in arch/)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, json or markdown."),
    write_config: Optional[Path] = typer.Option(None, "--write-config",
                                      help="Also write the resulting .config here."),
    force: bool = typer.Option(False, "--force", help="Overwrite a --write-config file "
                                                      "with other content."),
):
    check_choice(fmt, ("table", "json", "markdown"), "--format")
    with user_errors():
        from rcarkit.kernel.verify import verify_fragment
        if write_config is not None:
            from rcarkit.files import check_single
            check_single(write_config, "", force=True)  # a directory, symlink, device: refuse early
        report = verify_fragment(kernel_src, base, fragment, arch=arch)
        if write_config is not None:
            from rcarkit.files import write_single
            write_single(write_config, report.final_text, force=force)
        from rcarkit.render import render
        emit(render(report, fmt))
        raise typer.Exit(report.exit_code)
