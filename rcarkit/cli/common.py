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
    except RecursionError:
        fail("input nested too deeply to evaluate (expressions, 'if' blocks or "
             "dependency chains thousands of levels deep)")


def fail(message, code=EXIT_USAGE):
    """Print one error line on stderr and exit with ``code``."""
    typer.echo("rcarkit: error: %s" % " ".join(str(message).split()), err=True)
    raise typer.Exit(code)


def check_choice(value, choices, option):
    if value not in choices:
        fail("%s must be one of %s, not %r" % (option, ", ".join(choices), value))
    return value


NO_COLOR_OPTION = typer.Option(False, "--no-color",
                               help="No colour (also NO_COLOR=1; never when not a terminal).")


def use_color(fmt, no_color=False, stream=None):
    """Colour only for a table written to a terminal, and not with --no-color,
    a non-empty NO_COLOR (no-color.org) or TERM=dumb."""
    import os
    stream = sys.stdout if stream is None else stream
    if fmt != "table" or no_color or os.environ.get("NO_COLOR") \
            or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def emit(text):
    """Write ``text`` to stdout (already newline-terminated)."""
    sys.stdout.write(text)
    sys.stdout.flush()


# --- the profile selection every kernel-checking command shares -------------
# (typer reads these OptionInfo objects from the signatures; sharing them keeps
# the flags and their help identical in check-kernel, yocto-layer, check-node)

def _completer(kind=None):
    """Shell completion (TAB) of profile names, or of the names and aliases of
    one kind; the catalog is read only when a TAB asks."""
    def complete(incomplete):
        try:
            from rcarkit.kernel.profiles import load_catalog
            profiles = load_catalog().profiles.values()
        except Exception:           # a broken --profiles-dir must not break TAB
            return []
        names = sorted(set(n for p in profiles if kind is None or p.kind == kind
                           for n in ((p.name,) + (p.aliases if kind else ()))))
        return [n for n in names if n.startswith(incomplete)]
    return complete


def complete_format(incomplete):
    return [f for f in ("table", "json", "markdown") if f.startswith(incomplete)]


PROFILE_OPTION = typer.Option(None, "--profile", "-p", help="Profile to check (repeatable).",
                              autocompletion=_completer())
CNI_OPTION = typer.Option(None, "--cni", help="CNI shortcut: flannel, calico, cilium, weave, "
                                              "... (repeatable).", autocompletion=_completer("cni"))
RUNTIME_OPTION = typer.Option(None, "--runtime", help="Runtime: containerd, cri-o, docker.",
                              autocompletion=_completer("runtime"))
PROXY_MODE_OPTION = typer.Option(None, "--proxy-mode",
                                 help="kube-proxy mode: iptables, ipvs, nftables.",
                                 autocompletion=_completer("proxy-mode"))
PROFILES_DIR_OPTION = typer.Option(None, "--profiles-dir",
                                   help="Use option sets from this directory.")
WITH_OPTIONAL_OPTION = typer.Option(
    False, "--with-optional",
    help="Also put options only optional rules ask for into the fragment "
         "(marked optional in its comments); by default a fragment holds what is required.")
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


def read_kernel_config(config, kernel_version=None, defconfig=False, catalog=None,
                       kernel_src=None):
    """The KernelConfig at ``config`` (default: /proc/config.gz, then /boot);
    with a ``catalog``, a defconfig comes back expanded with its Kconfig
    defaults (from the tree at ``kernel_src``, else the shipped data)."""
    from rcarkit.kernel.config import default_config_path, load_config
    path = str(config) if config is not None else default_config_path()
    cfg = load_config(path, kernel_version=kernel_version,
                      kind="defconfig" if defconfig else None)
    if catalog is not None and cfg.kind != "full":
        from rcarkit.kernel.defaults import expand_defconfig
        cfg = expand_defconfig(cfg, catalog, str(kernel_src) if kernel_src else None)
    return cfg


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
    "scarthgap wrynose); before honister the layer uses _append syntax.")
KERNEL_SRC_OPTION = typer.Option(
    None, "--kernel-src", help="Kernel tree: expand a defconfig with its Kconfig "
    "defaults and resolve the fragment's dependencies from its Kconfig (Kconfiglib).")
FORCE_OPTION = typer.Option(False, "--force", help="Overwrite files changed by hand.")
WITH_RCARKIT_RECIPE_OPTION = typer.Option(
    False, "--with-rcarkit-recipe",
    help="Also write a python3-rcarkit recipe into the layer (read when meta-python is in "
         "the build; typer vendored) so check-node and etcd-bench run on the image.")


def warn(text):
    """One ``rcarkit: warning:`` paragraph on stderr (wrapped at 80 columns)."""
    import sys
    import textwrap
    sys.stderr.write("\n".join(textwrap.wrap("rcarkit: warning: " + text, 80,
                                              subsequent_indent="  ",
                                              break_on_hyphens=False)) + "\n")


# --- the next step printed after a NOT READY check --------------------------

def program_words():
    """How the user ran rcarkit, as words of a command they can run again:
    ``rcarkit`` when that is on PATH, else the script's own path; for
    ``python -m rcarkit`` that interpreter (``python3`` when it is on PATH)."""
    import os
    import shutil

    def same(found, path):
        return bool(found) and os.path.realpath(found) == os.path.realpath(path)

    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "rcarkit"
    if os.path.basename(argv0) != "rcarkit":
        python = "python3" if same(shutil.which("python3"), sys.executable) else sys.executable
        return [python, "-m", "rcarkit"]
    return ["rcarkit"] if same(shutil.which("rcarkit"), argv0) else [argv0]


def shell_command(units, width=80, indent="  "):
    """One shell command from ``units`` (a word, or a list of words such as an
    option and its value, kept on one line), every word quoted (shlex) and
    wrapped with backslash-newlines to stay within ``width`` while still
    pasting as one command; a unit longer than the line is left whole."""
    import shlex
    texts = [" ".join(shlex.quote(str(w)) for w in ([u] if isinstance(u, str) else u))
             for u in units]
    lines, line = [], indent + texts[0]
    for text in texts[1:]:
        if len(line) + 1 + len(text) + 2 > width:   # room for " \"
            lines.append(line + " \\")
            line = indent + "    " + text
        else:
            line += " " + text
    lines.append(line)
    return lines


def selection_units(config, profile=None, cni=None, runtime=None, proxy_mode=None,
                    all_profiles=False, kernel_version=None, defconfig=False,
                    profiles_dir=None):
    """The config and profile-selection arguments as given, to repeat them:
    units for :func:`shell_command` (an option stays with its value)."""
    units = [str(config)] if config is not None else []
    for flag, values in (("--profile", profile), ("--cni", cni), ("--runtime", runtime),
                         ("--proxy-mode", proxy_mode)):
        for value in values or ():
            units.append([flag, value])
    if all_profiles:
        units.append("--all-profiles")
    if kernel_version:
        units.append(["--kernel-version", kernel_version])
    if defconfig:
        units.append("--defconfig")
    if profiles_dir is not None:
        units.append(["--profiles-dir", str(profiles_dir)])
    return units


def next_step_text(selection, width=80):
    """What to run after NOT READY: the same check writing the fix as a
    fragment for a kernel tree, or the Yocto layer; exact commands, quoted."""
    program = [program_words()]
    out = ["", "Next: write the missing options as a fragment for merge_config.sh:"]
    out += shell_command(program + ["check-kernel"] + selection
                         + [["--emit-fragment", "k8s.cfg"]], width)
    out += ["or as a Yocto layer (default recipe linux-renesas; see --kernel-recipe):"]
    out += shell_command(program + ["yocto-layer"] + selection, width)
    return "\n".join(out) + "\n"
