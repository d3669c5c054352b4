"""Helpers shared by the typer commands: one-line errors, output, format checks.

The CLI layer only parses arguments, calls the library and renders; every
:class:`rcarkit.errors.RcarkitError` becomes one line on stderr and its exit
code, never a traceback.
"""

import contextlib
import sys

import typer

from rcarkit.errors import EXIT_USAGE, RcarkitError


@contextlib.contextmanager
def user_errors():
    """Turn library errors into ``rcarkit: error: ...`` and the right exit code."""
    try:
        yield
    except RcarkitError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("rcarkit: interrupted", err=True)
        raise typer.Exit(130)
    except BrokenPipeError:
        raise typer.Exit(0)


def fail(message, code=EXIT_USAGE):
    """Print one error line on stderr and exit with ``code``."""
    typer.echo("rcarkit: error: %s" % " ".join(str(message).split()), err=True)
    raise typer.Exit(code)


def check_choice(value, choices, option):
    if value not in choices:
        fail("%s must be one of %s, not %r" % (option, ", ".join(choices), value))
    return value


def emit(text):
    """Write ``text`` to stdout (already newline-terminated)."""
    sys.stdout.write(text)
    sys.stdout.flush()


# --- the profile selection every kernel-checking command shares -------------
# (typer reads these OptionInfo objects from the signatures; sharing them keeps
# the flags and their help identical in check-kernel, yocto-layer, check-node)

PROFILE_OPTION = typer.Option(None, "--profile", "-p", help="Profile to check (repeatable).")
CNI_OPTION = typer.Option(None, "--cni", help="CNI shortcut: flannel, calico, cilium, weave, "
                                              "... (repeatable).")
RUNTIME_OPTION = typer.Option(None, "--runtime", help="Runtime: containerd, cri-o, docker.")
PROXY_MODE_OPTION = typer.Option(None, "--proxy-mode",
                                 help="kube-proxy mode: iptables, ipvs, nftables.")
PROFILES_DIR_OPTION = typer.Option(None, "--profiles-dir",
                                   help="Use option sets from this directory.")
KERNEL_VERSION_OPTION = typer.Option(None, "--kernel-version",
                                     help="Kernel version when the config has no header "
                                          "(it overrides the header's).")
DEFCONFIG_OPTION = typer.Option(False, "--defconfig",
                                help="Treat the input as a defconfig (absent = default).")


def choose_profiles(profiles_dir, profile, cni, runtime, proxy_mode, all_profiles=False):
    """Load the catalog and resolve the profile options: ``(catalog, profiles)``."""
    from rcarkit.kernel.check import select_profiles
    from rcarkit.kernel.profiles import load_catalog
    catalog = load_catalog(str(profiles_dir) if profiles_dir else None)
    return catalog, select_profiles(catalog, profile, cni=cni, runtime=runtime,
                                    proxy_mode=proxy_mode, all_profiles=all_profiles)


def read_kernel_config(config, kernel_version=None, defconfig=False):
    """The KernelConfig at ``config`` (default: /proc/config.gz, then /boot)."""
    from rcarkit.kernel.config import default_config_path, load_config
    path = str(config) if config is not None else default_config_path()
    return load_config(path, kernel_version=kernel_version,
                       kind="defconfig" if defconfig else None)


# --- the layer options check-kernel --emit-* and yocto-layer share ----------

KERNEL_RECIPE_OPTION = typer.Option(
    None, "--kernel-recipe", help="Kernel recipe the layer appends to: linux-renesas "
    "(default; overrides rcar-gen3, rcar-gen4), linux-raspberrypi (rpi), linux-yocto "
    "or another with --machine-override.")
MACHINE_OVERRIDE_OPTION = typer.Option(
    None, "--machine-override", help="Override(s) the append is scoped to (MACHINE or "
    "SOC_FAMILY; comma-separated).")
LAYER_SERIES_OPTION = typer.Option(
    None, "--layer-series", help="LAYERSERIES_COMPAT release codenames (default: "
    "scarthgap wrynose).")
KERNEL_SRC_OPTION = typer.Option(
    None, "--kernel-src", help="Kernel tree: resolve the fragment's dependencies from "
    "its Kconfig (Kconfiglib).")
FORCE_OPTION = typer.Option(False, "--force", help="Overwrite files changed by hand.")
