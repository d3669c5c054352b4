"""Yocto output: a meta-layer (or a plain fragment) that adds the missing options.

``rcarkit yocto-layer CONFIG`` (and ``rcarkit check-kernel --emit-layer DIR``)
writes a complete layer, by default ``yocto_layer/meta-rcarkit-k8s`` under the
current directory::

    meta-rcarkit-k8s/
      conf/layer.conf                      BBFILE_COLLECTIONS, BBFILE_PATTERN, BBFILE_PRIORITY,
                                           BBFILES_DYNAMIC, LAYERVERSION, LAYERDEPENDS core,
                                           LAYERSERIES_COMPAT
      dynamic-layers/<collection>/recipes-kernel/linux/<recipe>_%.bbappend
                                           one per BSP collection that provides the
                                           recipe, scoped to that BSP's machine override
      recipes-kernel/linux/<recipe>_%.bbappend
                                           linux-yocto or a custom recipe (static)
      recipes-kernel/linux/files/rcarkit-k8s.cfg  the fragment (FragmentPlan.render_cfg)
      README                               what it adds and why, option by option
      COPYING.MIT
      .rcarkit-manifest.json               what rcarkit wrote (hand-edit guard)

The fragment comes from :func:`rcarkit.kernel.fragment.plan_fragment`: the missing and
wrong-valued options of the chosen profiles plus the dependencies they need to
survive ``olddefconfig``.

How the fragment takes effect. ``linux-renesas`` (meta-renesas) and
``linux-raspberrypi`` (meta-raspberrypi) both ``require
recipes-kernel/linux/linux-yocto.inc``, so kernel-yocto.bbclass configures
them: the recipe's defconfig is expanded with ``KCONFIG_MODE =
"--alldefconfig"`` and every ``.cfg`` in ``SRC_URI`` (``find_sccs`` picks
``.scc`` and ``.cfg``) is merged on top by ``do_kernel_configme``
(merge_config.sh), then olddefconfig runs. ``KERNEL_FEATURES`` is not needed:
it names ``.scc`` features of a kernel-cache repository. So the bbappend is
only::

    FILESEXTRAPATHS:prepend:rcar-gen3 := "${THISDIR}/files:"
    SRC_URI:append:rcar-gen3 = " file://rcarkit-k8s.cfg"

Both lines carry the machine override, so adding the layer changes nothing for
other machines (oelint-adv's ``oelint.vars.noncoreoverride``: a bbappend must
be specific to a custom MACHINE or DISTRO). The overrides come from the BSPs
(:data:`BSP_COLLECTIONS`, checked with the real parser in
tests/test_bitbake_parse.py): meta-rcar-gen3 machines carry ``rcar-gen3``,
meta-rcar-gateway (S4) ``rcar-gateway``, meta-rcar-bsp (V3x/V4x) ``rcar``,
the community meta-sparrow-hawk ``rcar-gen4`` (no meta-renesas machine sets
it), meta-raspberrypi ``rpi`` (linux-raspberrypi, -v7 and -dev). Each BSP
collection gets its own bbappend under ``dynamic-layers/<collection>/``, listed
in ``BBFILES_DYNAMIC``: BitBake reads it only when that collection is in the
build, so the layer in a build without meta-renesas does not break every parse
("No recipes available for ... linux-renesas_%.bbappend"), and
``BBFILE_PATTERN_IGNORE_EMPTY`` keeps such a build free of the "no files
matched" warning. linux-yocto builds every core machine (qemuarm64,
genericarm64, ...), so it, like any other recipe name, needs
``--machine-override`` (your MACHINE or your BSP's SOC_FAMILY) and gets a
static bbappend.

Regenerating with the same inputs gives byte-identical files (no timestamps,
everything sorted); a file changed by hand is refused unless ``force``
(:class:`rcarkit.files.GeneratedTree`). Generated files that a new run no
longer produces (a bbappend for another recipe) are removed when they are
still exactly as rcarkit wrote them.

``rcarkit check-kernel --emit-fragment FILE`` writes only the ``.cfg`` for
``scripts/kconfig/merge_config.sh``; both come from :func:`write_outputs`, which
checks every target before it writes anything.

Long because the layer writer checks every target before writing anything
(all-or-nothing), and that check needs the whole file list in one place.
"""

import os
import re
import textwrap
from dataclasses import dataclass
from typing import List, Tuple

from rcarkit.errors import RcarkitError

FRAGMENT_NAME = "rcarkit-k8s.cfg"
CHECK_CLASS = "rcarkit_kconfig_check"
CHECK_CLASS_PATH = "classes/%s.bbclass" % CHECK_CLASS
OELINT_CONSTANTS = "oelint-constants.json"
DEFAULT_LAYER_DIR = os.path.join("yocto_layer", "meta-rcarkit-k8s")
DEFAULT_LAYER_SERIES = ("scarthgap", "wrynose")
DEFAULT_KERNEL_RECIPE = "linux-renesas"
LAYER_PRIORITY = 6
LAYER_VERSION = 1
README_WIDTH = 78

_RECIPE_RE = re.compile(r"[a-z0-9][a-z0-9.+-]*")      # used with fullmatch: no "\n" at the end
_OVERRIDE_RE = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class KernelRecipe:
    """What rcarkit knows about a kernel recipe the layer can append to."""
    name: str
    overrides: Tuple[str, ...]      # default machine overrides; () = --machine-override needed
    layer: str                      # the layer that provides the recipe
    note: Tuple[str, ...]           # short comment lines for the bbappend
    doc: Tuple[str, ...]            # README paragraphs: how the .cfg takes effect
    defconfig: str = ""             # the recipe's KBUILD_DEFCONFIG (for the README)
    collections: Tuple[str, ...] = ()   # BSP collections (BSP_COLLECTIONS) that carry it


@dataclass(frozen=True)
class BspCollection:
    """A BSP layer, by its BBFILE_COLLECTIONS name, and what its machines carry.

    The layer's bbappend for a BSP recipe sits under
    ``dynamic-layers/<collection>/`` and is only read when that collection is
    in the build (``BBFILES_DYNAMIC``), so a build without the BSP still parses.
    The overrides are what the machines' SOC_FAMILY puts into MACHINEOVERRIDES,
    as ``bitbake -e`` prints it on scarthgap (tests/test_bitbake_parse.py)."""
    collection: str                 # BBFILE_COLLECTIONS in the BSP's conf/layer.conf
    layer: str                      # where it lives
    recipes: Tuple[str, ...]        # the kernel recipe names it provides
    overrides: Tuple[str, ...]      # default override(s) scoping the append
    machines: Tuple[str, ...]       # its MACHINE names
    why: str                        # why this override


_RPI_MACHINES = (
    "raspberrypi", "raspberrypi0", "raspberrypi0-wifi", "raspberrypi0-2w",
    "raspberrypi0-2w-64", "raspberrypi2", "raspberrypi3", "raspberrypi3-64",
    "raspberrypi4", "raspberrypi4-64", "raspberrypi5", "raspberrypi-cm",
    "raspberrypi-cm3", "raspberrypi-cm5-io-board", "raspberrypi-armv7",
    "raspberrypi-armv8")

BSP_COLLECTIONS = {
    "rcar-gen3": BspCollection(
        collection="rcar-gen3", layer="meta-renesas/meta-rcar-gen3",
        recipes=("linux-renesas",), overrides=("rcar-gen3",),
        machines=("h3ulcb", "m3ulcb", "m3nulcb", "salvator-x", "ebisu", "draak"),
        why="its SoC includes (r8a7795.inc, ...) put rcar-gen3 in SOC_FAMILY"),
    "rcar-gateway": BspCollection(
        collection="rcar-gateway", layer="meta-renesas/meta-rcar-gateway",
        recipes=("linux-renesas",), overrides=("rcar-gateway",),
        machines=("spider", "s4sk"),
        why="the R-Car S4 machines set SOC_FAMILY = \"rcar-gateway:r8a779f0\"; "
            "none of them carries rcar-gen4"),
    "rcar-bsp": BspCollection(
        collection="rcar-bsp", layer="meta-renesas/meta-rcar-bsp",
        recipes=("linux-renesas",), overrides=("rcar",),
        machines=("whitehawk", "grayhawk", "falcon", "condor", "eagle"),
        why="the V3x/V4x SoC includes prepend rcar:rcar-v3x or rcar:rcar-v4x to "
            "SOC_FAMILY; rcar covers both and no other Renesas layer sets it"),
    "sparrow-hawk": BspCollection(
        collection="sparrow-hawk", layer="meta-sparrow-hawk (rcar-community)",
        recipes=("linux-renesas",), overrides=("rcar-gen4",),
        machines=("sparrow-hawk",),
        why="the community Sparrow Hawk (V4H) machine prepends rcar-gen4 to SOC_FAMILY; "
            "it is the only layer that uses that override"),
    "raspberrypi": BspCollection(
        collection="raspberrypi", layer="meta-raspberrypi",
        recipes=("linux-raspberrypi", "linux-raspberrypi-v7", "linux-raspberrypi-dev"),
        overrides=("rpi",),
        machines=_RPI_MACHINES,
        why="every machine includes rpi-base.inc, which sets SOC_FAMILY = \"rpi\" "
            "(the kernel recipes' COMPATIBLE_MACHINE is ^rpi$)"),
}


_KERNEL_YOCTO_DOC = (
    "{recipe} requires recipes-kernel/linux/linux-yocto.inc, so "
    "kernel-yocto.bbclass configures it: do_kernel_configme expands the "
    "recipe's defconfig with KCONFIG_MODE = \"--alldefconfig\", merges every "
    ".cfg listed in SRC_URI on top with merge_config.sh and runs olddefconfig. "
    "That is why a SRC_URI entry is all it takes; KERNEL_FEATURES is not needed "
    "(it names .scc features of a kernel-cache repository).")

KERNEL_RECIPES = {
    "linux-renesas": KernelRecipe(
        name="linux-renesas",
        overrides=("rcar-gen3", "rcar-gateway", "rcar", "rcar-gen4"),
        layer="meta-renesas",
        note=("linux-renesas requires linux-yocto.inc: kernel-yocto merges every",
              ".cfg in SRC_URI onto the defconfig (do_kernel_configme)."),
        doc=(_KERNEL_YOCTO_DOC.format(recipe="linux-renesas (meta-renesas, meta-sparrow-hawk)"),
             "Four layers provide linux-renesas, and their machines carry different "
             "overrides: meta-rcar-gen3 (H3/M3/M3N/E3/D3: rcar-gen3), "
             "meta-rcar-gateway (S4: rcar-gateway), meta-rcar-bsp (V3x/V4x: "
             "rcar, with rcar-v3x or rcar-v4x) and the community meta-sparrow-hawk "
             "(V4H: rcar-gen4; no machine of meta-renesas sets rcar-gen4). Each "
             "gets its own bbappend under dynamic-layers/<collection>/, read only "
             "when that layer is in the build (BBFILES_DYNAMIC)."),
        defconfig="defconfig",
        collections=("rcar-gen3", "rcar-gateway", "rcar-bsp", "sparrow-hawk"),
    ),
    "linux-raspberrypi": KernelRecipe(
        name="linux-raspberrypi",
        overrides=("rpi",),
        layer="meta-raspberrypi",
        note=("linux-raspberrypi (meta-raspberrypi) requires linux-yocto.inc:",
              "kernel-yocto merges every .cfg in SRC_URI (do_kernel_configme)."),
        doc=(_KERNEL_YOCTO_DOC.format(recipe="linux-raspberrypi (meta-raspberrypi)"),
             "Every meta-raspberrypi machine includes rpi-base.inc, which sets "
             "SOC_FAMILY = \"rpi\" (the recipe's COMPATIBLE_MACHINE is ^rpi$). "
             "The append covers linux-raspberrypi, linux-raspberrypi-v7 (the "
             "raspberrypi-armv7 machine) and linux-raspberrypi-dev; "
             "its defconfig is KBUILD_DEFCONFIG, bcm2711_defconfig for "
             "raspberrypi4-64. To restrict the layer to one board, regenerate "
             "with --machine-override raspberrypi4-64."),
        defconfig="bcm2711_defconfig",
        collections=("raspberrypi",),
    ),
    "linux-yocto": KernelRecipe(
        name="linux-yocto",
        overrides=(),
        layer="openembedded-core",
        note=("linux-yocto (openembedded-core) inherits kernel-yocto, which merges",
              "every .cfg in SRC_URI onto the configuration (do_kernel_configme)."),
        doc=("linux-yocto (openembedded-core) is configured by kernel-yocto.bbclass: "
             "do_kernel_configme builds the configuration from the kernel-cache "
             "description of the machine (or a defconfig in SRC_URI), merges every "
             ".cfg listed in SRC_URI on top with merge_config.sh and runs "
             "olddefconfig. That is why a SRC_URI entry is all it takes; "
             "KERNEL_FEATURES is not needed (it names .scc features of the "
             "kernel-cache).",
             "linux-yocto builds every core machine (qemuarm64, genericarm64, "
             "qemux86-64, ...), so the append is scoped to the override given "
             "with --machine-override: your MACHINE, or your BSP's SOC_FAMILY."),
    ),
}


def _custom_recipe(name):
    return KernelRecipe(
        name=name, overrides=(), layer="(your BSP layer)",
        note=("%s must inherit kernel-yocto (require linux-yocto.inc): only" % name,
              "kernel-yocto's do_kernel_configme merges .cfg files from SRC_URI."),
        doc=("This layer assumes %s inherits kernel-yocto.bbclass (most BSP "
             "kernels do, through require recipes-kernel/linux/linux-yocto.inc, "
             "as linux-renesas and linux-raspberrypi): its do_kernel_configme "
             "merges every .cfg in SRC_URI onto the defconfig and runs "
             "olddefconfig. A recipe that inherits only kernel.bbclass ignores "
             "the fragment; check with: bitbake -e %s | grep '^KCONFIG_MODE='"
             % (name, name),
             "The append is scoped to the override given with --machine-override "
             "(your MACHINE, or your BSP's SOC_FAMILY)."),
    )


@dataclass
class LayerSpec:
    """The user's choices for one layer (validated by :func:`layer_spec`)."""
    directory: str
    kernel_recipe: str
    overrides: List[str]
    layer_series: List[str]
    collection: str
    recipe: KernelRecipe
    targets: List["AppendTarget"] = None
    with_rcarkit_recipe: bool = False

    @property
    def colon_overrides(self):
        """``:append:<override>`` (honister and later) or ``_append_<override>``."""
        from rcarkit.yocto.releases import syntax_of
        return syntax_of(self.layer_series)

    @property
    def override_sep(self):
        """``:`` (honister and later) or ``_`` (before), between a variable, its
        operation and its override."""
        return ":" if self.colon_overrides else "_"

    def op(self, var, operation, override):
        """``SRC_URI:append:rcar-gen3`` or, before honister, ``SRC_URI_append_rcar-gen3``."""
        return self.override_sep.join(w for w in (var, operation, override) if w)

    @property
    def layer_name(self):
        return os.path.basename(os.path.abspath(self.directory)) or "meta-rcarkit-k8s"

    @property
    def bbappend_name(self):
        return "%s_%%.bbappend" % self.kernel_recipe


@dataclass(frozen=True)
class AppendTarget:
    """One group of bbappends: for the recipes of one BSP collection (under
    ``dynamic-layers/<collection>/``) or, with ``collection`` empty, a static
    bbappend under ``recipes-kernel/linux/`` (linux-yocto, a custom recipe)."""
    collection: str
    bsp_layer: str
    recipes: Tuple[str, ...]
    overrides: Tuple[str, ...]
    machines: Tuple[str, ...]       # known machines carrying the override(s); () = yours
    why: str

    @property
    def directory(self):
        if self.collection:
            return "dynamic-layers/%s/recipes-kernel/linux" % self.collection
        return "recipes-kernel/linux"

    @property
    def files_path(self):
        """FILESEXTRAPATHS entry (relative to the bbappend) of the one shared .cfg."""
        if self.collection:
            return "${THISDIR}/../../../../recipes-kernel/linux/files"
        return "${THISDIR}/files"

    def bbappends(self):
        """``[(relative path, recipe)]``: ``name_%.bbappend``, or ``name.bbappend``
        for a recipe file without a version (linux-raspberrypi-dev.bb)."""
        out = []
        for r in self.recipes:
            name = "%s.bbappend" % r if r in UNVERSIONED_RECIPES else "%s_%%.bbappend" % r
            out.append((self.directory + "/" + name, r))
        return out

    def to_dict(self):
        return {"collection": self.collection or None, "bsp_layer": self.bsp_layer,
                "recipes": list(self.recipes), "overrides": list(self.overrides),
                "machines": list(self.machines), "why": self.why,
                "bbappends": [p for p, _ in self.bbappends()]}


# recipe files named without _<version> (a name_%.bbappend would not match them)
UNVERSIONED_RECIPES = ("linux-raspberrypi-dev",)


def append_targets(recipe, overrides, custom_overrides):
    """The bbappend groups for ``recipe`` (KernelRecipe): one per BSP
    collection that provides it, else one static group."""
    if not recipe.collections:
        return [AppendTarget(collection="", bsp_layer=recipe.layer, recipes=(recipe.name,),
                             overrides=tuple(overrides), machines=(),
                             why="--machine-override")]
    out = []
    for name in recipe.collections:
        bsp = BSP_COLLECTIONS[name]
        out.append(AppendTarget(
            collection=bsp.collection, bsp_layer=bsp.layer, recipes=bsp.recipes,
            overrides=tuple(overrides) if custom_overrides else bsp.overrides,
            machines=() if custom_overrides else bsp.machines,
            why="--machine-override" if custom_overrides else bsp.why))
    return out


@dataclass
class LayerResult:
    """What :func:`generate_layer` wrote."""
    spec: LayerSpec
    files: List[str]                 # relative paths of every generated file, sorted
    changed: List[str]               # paths written this run (unchanged files are skipped)
    removed: List[str]               # stale generated files removed this run
    plan: object                     # rcarkit.kernel.fragment.FragmentPlan
    warnings: List[str] = None       # kernel_warnings(): printed on stderr

    def to_dict(self):
        return {
            "schema_version": 1,
            "command": "yocto-layer",
            "layer": self.spec.directory,
            "layer_name": self.spec.layer_name,
            "collection": self.spec.collection,
            "kernel_recipe": self.spec.kernel_recipe,
            "machine_overrides": list(self.spec.overrides),
            "reaches": [t.to_dict() for t in self.spec.targets],
            "layer_series": list(self.spec.layer_series),
            "override_syntax": self.spec.override_sep + "append",
            "warnings": list(self.warnings or []),
            "rcarkit_recipe": self.spec.with_rcarkit_recipe,
            "files": list(self.files),
            "changed": list(self.changed),
            "removed": list(self.removed),
            "fragment": self.plan.to_dict(),
        }


def _split_words(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        value = " ".join(value)
    return [w for w in re.split(r"[\s,:]+", value) if w]


def _collection_name(directory):
    base = os.path.basename(os.path.abspath(directory)).lower()
    if base.startswith("meta-"):
        base = base[len("meta-"):]
    base = re.sub(r"[^a-z0-9-]+", "-", base).strip("-")
    return base or "rcarkit-k8s"


def layer_spec(directory=None, kernel_recipe=DEFAULT_KERNEL_RECIPE, machine_override=None,
               layer_series=None, with_rcarkit_recipe=False):
    """Validate the layer options; raise RcarkitError (one line) on a bad value."""
    directory = os.fspath(directory) if directory is not None else DEFAULT_LAYER_DIR
    from rcarkit.files import refuse_control_chars
    refuse_control_chars(directory, "the -o directory")   # it is written into the layer
    recipe_name = DEFAULT_KERNEL_RECIPE if kernel_recipe is None else kernel_recipe.strip()
    if not _RECIPE_RE.fullmatch(recipe_name):
        raise RcarkitError("--kernel-recipe %r is not a recipe name" % kernel_recipe,
                           hint="lowercase letters, digits, '.', '+', '-', e.g. linux-renesas")
    recipe = KERNEL_RECIPES.get(recipe_name) or _custom_recipe(recipe_name)
    overrides = _split_words(machine_override)
    for o in overrides:
        if not _OVERRIDE_RE.fullmatch(o):
            raise RcarkitError("--machine-override %r is not a valid override" % o,
                               hint="lowercase letters, digits and '-', e.g. h3ulcb or rcar-gen3")
    custom_overrides = bool(overrides)
    if not overrides:
        overrides = list(recipe.overrides)
    if not overrides:
        raise RcarkitError(
            "--kernel-recipe %s needs --machine-override: %s" % (
                recipe_name,
                "linux-yocto builds every core machine, the append must be scoped to yours"
                if recipe_name == "linux-yocto" else
                "rcarkit knows no machine override for this recipe"),
            hint="e.g. --machine-override raspberrypi4-64 (your MACHINE or SOC_FAMILY)")
    overrides = sorted(set(overrides), key=overrides.index)
    series = _split_words(layer_series) if layer_series is not None else list(DEFAULT_LAYER_SERIES)
    if not series:
        raise RcarkitError("--layer-series is empty", hint="e.g. --layer-series 'scarthgap wrynose'")
    from rcarkit.yocto.releases import RELEASES, syntax_of, valid_names
    for s in series:
        if s not in RELEASES:
            raise RcarkitError("--layer-series %r is not a Yocto release codename; valid: %s"
                               % (s, valid_names()))
    series = sorted(set(series), key=series.index)
    if syntax_of(series) is None:
        old = [s for s in series if not RELEASES[s].colon_overrides]
        new = [s for s in series if RELEASES[s].colon_overrides]
        raise RcarkitError(
            "--layer-series mixes releases before honister (%s: _append syntax) and from "
            "honister on (%s: :append syntax); one layer cannot serve both"
            % (" ".join(old), " ".join(new)),
            hint="generate one layer per side, e.g. --layer-series %s" % old[-1])
    if with_rcarkit_recipe:
        from rcarkit.yocto.recipe import check_series
        check_series(series)
    return LayerSpec(directory=directory, kernel_recipe=recipe_name, overrides=overrides,
                     layer_series=series, collection=_collection_name(directory), recipe=recipe,
                     targets=append_targets(recipe, overrides, custom_overrides),
                     with_rcarkit_recipe=bool(with_rcarkit_recipe))


#: The templates a layer is made of (all must be in the templates directory).
TEMPLATES = ("layer.conf.j2", "README.j2", "COPYING.MIT.j2", "kernel.bbappend.j2",
             "rcarkit_kconfig_check.bbclass.j2")


def templates_dir():
    """Where the layer templates are (source tree or installed package data)."""
    env = os.environ.get("RCARKIT_YOCTO_TEMPLATES")
    if env:
        if not os.path.isdir(env):
            raise RcarkitError("RCARKIT_YOCTO_TEMPLATES is not a directory", path=env,
                               hint="point it at a copy of yocto_layer/templates, or unset it")
        missing = [t for t in TEMPLATES if not os.path.isfile(os.path.join(env, t))]
        if missing:
            raise RcarkitError("RCARKIT_YOCTO_TEMPLATES has no %s" % ", ".join(missing),
                               path=env, hint="point it at a copy of yocto_layer/templates "
                               "(regular files), or unset it")
        return env
    # this module is rcarkit/<domain>/x.py: the package is one level up
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for candidate in (os.path.join(os.path.dirname(here), "yocto_layer", "templates"),
                      os.path.join(here, "yocto_layer", "templates")):
        if os.path.isfile(os.path.join(candidate, "kernel.bbappend.j2")):
            return candidate
    raise RcarkitError("yocto_layer/templates not found next to the rcarkit package",
                       hint="reinstall rcarkit or set RCARKIT_YOCTO_TEMPLATES to the directory")


def _environment():
    try:
        import jinja2
    except ImportError:  # pragma: no cover - jinja2 is a hard dependency
        raise RcarkitError("jinja2 is not installed", hint="pip install jinja2")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def _wrap(text, width=README_WIDTH, indent=""):
    return textwrap.wrap(" ".join(str(text).split()), width=width - len(indent),
                         break_long_words=False, break_on_hyphens=False) or [""]


def _entry_line(entry):
    if entry.kind in ("impossible", "obsolete"):
        return "CONFIG_%s (not set: %s)" % (entry.symbol, entry.kind)
    if entry.value == "n":
        return "# CONFIG_%s is not set" % entry.symbol
    return "CONFIG_%s=%s" % (entry.symbol, entry.value)


def _entry_why(entry):
    parts = []
    if entry.needed_by:
        parts.append("Needed by %s%s" % (", ".join(entry.needed_by),
                                         ":" if entry.reason else "."))
    if entry.reason:
        parts.append(entry.reason)
    if entry.kind == "requested" and len(entry.profiles) > 1:
        parts.append("(also %s)" % ", ".join(entry.profiles[1:]))
    if entry.note:
        parts.append("[%s]" % entry.note)
    text = " ".join(p.strip() for p in parts if p.strip())
    return _wrap(text, indent=" " * 6) if text else []


def readme_sections(plan):
    """The README's option list: requested (per profile), dependencies, left out."""
    requested = {}
    order = []
    deps, left_out = [], []
    for e in plan.entries:
        if e.kind == "requested":
            key = e.profiles[0] if e.profiles else "(no profile)"
            if key not in requested:
                requested[key] = []
                order.append(key)
            requested[key].append(e)
        elif e.kind == "dependency":
            deps.append(e)
        else:
            left_out.append(e)
    sections = []
    for key in order:
        sections.append({"title": "Asked for by %s:" % key,
                         "entries": [{"line": _entry_line(e), "why": _entry_why(e)}
                                     for e in requested[key]]})
    if deps:
        sections.append({"title": "Dependencies (set so the options above survive "
                                  "olddefconfig):",
                         "entries": [{"line": _entry_line(e), "why": _entry_why(e)}
                                     for e in deps]})
    if left_out:
        sections.append({"title": "Not in the fragment (comments only):",
                         "entries": [{"line": _entry_line(e), "why": _entry_why(e)}
                                     for e in left_out]})
    return sections


def _report_facts(report):
    subject = report.subject or {}
    config = subject.get("config") or {}
    source = config.get("source") or "<config>"
    facts = {
        "config_name": os.path.basename(str(source)) or str(source),
        "kernel_version": subject.get("kernel_version"),
        "arch": subject.get("arch"),
        "profiles": list(subject.get("profiles") or []),
    }
    # every one of these is written into the layer's files: no line breaks
    from rcarkit.files import refuse_control_chars
    refuse_control_chars(facts["config_name"], "the config file name", path=str(source))
    for key in ("kernel_version", "arch"):
        if facts[key] is not None:
            refuse_control_chars(str(facts[key]), "the config's %s" % key.replace("_", " "),
                                 path=str(source))
    for name in facts["profiles"]:
        refuse_control_chars(name, "a profile name")
    return facts


def _facts_lines(facts, plan, spec):
    """The README's "label: value" header, wrapped with a hanging indent."""
    rows = [("Generated from:", facts["config_name"]),
            ("Target kernel:", "Linux %s %s" % (facts["kernel_version"] or "(version unknown)",
                                                facts["arch"] or "(arch unknown)")),
            ("Dependencies:", "resolved with %s" % plan.resolved_with),
            ("Layer series:", " ".join(spec.layer_series))]
    out = []
    for label, value in rows:
        lines = textwrap.wrap(" ".join(str(value).split()), width=README_WIDTH - 17,
                              break_long_words=False, break_on_hyphens=False) or [""]
        out.append("%-16s %s" % (label, lines[0]))
        out.extend(" " * 17 + line for line in lines[1:])
    return out


def _command_lines(facts, spec, kernel_src=None):
    """The command that regenerates the layer, wrapped between options."""
    groups = [["rcarkit", "yocto-layer"], [facts["config_name"]]]
    for p in facts["profiles"]:
        groups.append(["-p", p])
    if facts["kernel_version"]:
        groups.append(["--kernel-version", facts["kernel_version"]])
    if kernel_src:
        groups.append(["--kernel-src", _Raw("<kernel tree>")])
    groups.append(["--kernel-recipe", spec.kernel_recipe])
    if list(spec.overrides) != list(spec.recipe.overrides):
        groups.append(["--machine-override", ",".join(spec.overrides)])
    if list(spec.layer_series) != list(DEFAULT_LAYER_SERIES):
        groups.append(["--layer-series", " ".join(spec.layer_series)])
    if os.path.isabs(spec.directory):
        groups.append(["-o", _placeholder_path(spec.layer_name)])
    elif os.path.normpath(spec.directory) != DEFAULT_LAYER_DIR:
        groups.append(["-o", spec.directory])
    return _wrap_command(groups)


class _Raw(str):
    """A word written as it is (a placeholder such as ``<kernel tree>``, or
    text already quoted); every other word is ``shlex.quote``-d."""


def _placeholder_path(name):
    """``<path to>/NAME``: the placeholder for the user's directory, NAME quoted."""
    import shlex
    return _Raw("<path to>/" + shlex.quote(name))


def _wrap_command(groups, width=70):
    """Shell command lines (continued with backslashes) from word groups;
    every word but a :class:`_Raw` one is ``shlex.quote``-d (a config named
    ``board$(touch X).config`` must not run anything when the line is pasted)."""
    import shlex
    lines, cur = [], ""
    for g in groups:
        text = " ".join(w if isinstance(w, _Raw) else shlex.quote(str(w)) for w in g)
        if cur and len(cur) + 1 + len(text) > width:
            lines.append(cur + " \\")
            cur = "    " + text
        else:
            cur = (cur + " " + text) if cur else text
    lines.append(cur)
    return lines


def _check_command(profiles, target):
    return _wrap_command([["rcarkit", "check-kernel"]] + [["-p", p] for p in profiles]
                         + [[target]])


def render_layer(plan, report, spec, kernel_src=None):
    """``{relative path: text}`` of every file of the layer (deterministic)."""
    import shlex
    env = _environment()
    facts = _report_facts(report)
    active = plan.active()
    context = dict(
        facts,
        layer_name=spec.layer_name,
        collection=spec.collection,
        priority=LAYER_PRIORITY,
        layer_version=LAYER_VERSION,
        layer_series=spec.layer_series,
        recipe=spec.kernel_recipe,
        overrides=spec.overrides,
        recipe_note=list(spec.recipe.note),
        recipe_doc=["\n".join(_wrap(p)) for p in spec.recipe.doc],
        fragment_name=FRAGMENT_NAME,
        check_class=CHECK_CLASS,
        oelint_constants=OELINT_CONSTANTS,
        rcarkit_recipe=spec.with_rcarkit_recipe,
        bbappend_name=spec.bbappend_name,
        active_count=len(active),
        resolved_with=plan.resolved_with,
        sections=readme_sections(plan),
        notes=["\n".join(_wrap(n)) for n in list(plan.notes) + kernel_warnings(plan, spec)],
        command=_command_lines(facts, spec, kernel_src),
        facts_lines=_facts_lines(facts, plan, spec),
        intro=_wrap("A Yocto/OpenEmbedded layer generated by rcarkit. It adds one kernel "
                    "configuration fragment, recipes-kernel/linux/files/%s, to the %s "
                    "kernel recipe so that the kernel has what these profiles need: %s."
                    % (FRAGMENT_NAME, spec.kernel_recipe,
                       ", ".join(facts["profiles"]) or "(none)")),
        adds=_wrap("The append reaches %s, and only machines whose MACHINEOVERRIDES "
                   "contain %s:" % (spec.kernel_recipe, " or ".join(spec.overrides))),
        targets=[_target_context(t, spec) for t in spec.targets],
        dynamic=[t.collection for t in spec.targets if t.collection],
        dynamic_recipes=["meta-python"] if spec.with_rcarkit_recipe else [],
        check_yocto=_check_command(facts["profiles"], _Raw(
            '"$(bitbake-getvar -r %s --value B)/.config"' % shlex.quote(spec.kernel_recipe))),
        check_plain=_check_command(facts["profiles"], ".config"),
        base_defconfig="arch/%s/configs/%s" % (facts["arch"] or "arm64",
                                               spec.recipe.defconfig or "<KBUILD_DEFCONFIG>"),
        make_arch=("ARCH=%s " % facts["arch"]) if facts["arch"] else "",
        layer_dir_hint=_placeholder_path(spec.layer_name),
    )
    files = {
        "conf/layer.conf": _render(env, "layer.conf.j2", context),
        "recipes-kernel/linux/files/" + FRAGMENT_NAME: plan.render_cfg(),
        "README": _render(env, "README.j2", context),
        "COPYING.MIT": _render(env, "COPYING.MIT.j2", context),
        CHECK_CLASS_PATH: _render(env, CHECK_CLASS + ".bbclass.j2", context),
        OELINT_CONSTANTS: oelint_constants(spec),
    }
    if spec.with_rcarkit_recipe:
        from rcarkit import __version__
        from rcarkit.yocto.recipe import recipe_files
        files.update(recipe_files(spec, __version__))
    for target in spec.targets:
        for path, recipe in target.bbappends():
            files[path] = _render(env, "kernel.bbappend.j2", dict(
                context, recipe=recipe, target=_target_context(target, spec),
                bbappend_head=_wrap("%s: add %s (%d kernel options for Kubernetes) to %s, "
                                    "only on machines with the override%s %s%s." % (
                                        spec.layer_name, FRAGMENT_NAME, len(active), recipe,
                                        "s" if len(target.overrides) > 1 else "",
                                        " or ".join(target.overrides),
                                        " (%s)" % ", ".join(target.machines[:4])
                                        + (", ..." if len(target.machines) > 4 else "")
                                        if target.machines else ""), width=78)))
    return files


def _render(env, name, context):
    """Template ``name`` rendered; a broken template (RCARKIT_YOCTO_TEMPLATES
    may name anyone's copy) is one error naming its file and line."""
    import jinja2
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise RcarkitError("template does not parse: %s" % exc.message,
                           path=exc.filename or os.path.join(templates_dir(), name),
                           line=exc.lineno)
    except (jinja2.TemplateError, UnicodeDecodeError, OSError) as exc:
        raise RcarkitError("template cannot be rendered: %s" % exc,
                           path=os.path.join(templates_dir(), name))


def _assignments(target, spec):
    """The two lines per override, in the syntax of the layer's releases."""
    out = []
    for o in target.overrides:
        out.append('%s := "%s:"' % (spec.op("FILESEXTRAPATHS", "prepend", o), target.files_path))
        out.append('%s = " file://%s"' % (spec.op("SRC_URI", "append", o), FRAGMENT_NAME))
    return out


def oelint_constants(spec):
    """oelint-adv ``--constantmods +oelint-constants.json``: the layer's overrides
    as known machines. oelint's ``oelint.vars.specific`` / ``oelint.func.specific``
    accept an override only when it is a MACHINE it knows or matches the
    recipe's COMPATIBLE_MACHINE; linux-renesas_5.10.bb has no rcar-gen3 there,
    so linted next to the real recipe the bbappend would be flagged."""
    import json
    overrides = sorted({o for t in spec.targets for o in t.overrides})
    return json.dumps({"replacements": {"machines": overrides}}, indent=2,
                      sort_keys=True) + "\n"


def _check_appends(target, spec):
    """``python do_kernel_configcheck:append:<override>()`` heads, one per override."""
    return ["python %s() {" % spec.op("do_kernel_configcheck", "append", o)
            for o in target.overrides]


def _target_context(target, spec):
    where = ("read only when the BSP collection %s (%s) is in the build (BBFILES_DYNAMIC)"
             % (target.collection, target.bsp_layer) if target.collection
             else "for %s (%s)" % (", ".join(target.recipes), target.bsp_layer))
    return {"collection": target.collection, "overrides": list(target.overrides),
            "assignments": _assignments(target, spec),
            "check_appends": _check_appends(target, spec),
            "files_path": target.files_path, "recipes": list(target.recipes),
            "bbappends": [p for p, _ in target.bbappends()],
            "where": _wrap(where, indent="  "),
            "machines": _wrap(", ".join(target.machines) if target.machines
                              else "(machines with that override)", indent=" " * 6),
            "why": _wrap(target.why, indent=" " * 6)}


def kernel_warnings(plan, spec, catalog=None):
    """Lines warning that the fragment was planned on another kernel than the one
    the recipe builds on the layer's releases (:func:`rcarkit.yocto.releases.kernel_mismatch`),
    with the fragment options that kernel does not have (kernel-symbols.toml)."""
    from rcarkit.kernel.config import KernelVersion
    from rcarkit.yocto.releases import kernel_mismatch
    found = kernel_mismatch(spec.kernel_recipe, spec.layer_series, plan.kernel_version)
    if found is None:
        return []
    version, known = found
    builds = ", ".join("%s %s (%s)" % (k.recipe, k.version, k.bsp) for k in known)
    out = ["the fragment was computed from a Linux %s config, but on %s the recipe builds %s: "
           "options differ between kernel versions; run rcarkit on the recipe's own "
           "${B}/.config (bitbake -c kernel_configme %s; then "
           "\"$(bitbake-getvar -r %s --value B)/.config\") and regenerate"
           % (version, " ".join(sorted({k.release for k in known})), builds, spec.kernel_recipe,
              spec.kernel_recipe)]
    symbols = getattr(catalog, "symbols", None) or {}
    for e in plan.active():
        hist = symbols.get(e.symbol)
        if hist is None:
            continue
        missing = [k for k in known if hist.exists_in(KernelVersion.parse(k.version)) is False]
        if missing:
            out.append("CONFIG_%s is in the fragment but not in Linux %s (%s)" % (
                e.symbol, ", ".join(sorted({k.version for k in missing}, key=KernelVersion.parse)),
                hist.describe()))
    return out


def plan_for(report, catalog, kernel_src=None, config=None, with_optional=False):
    """The FragmentPlan for ``report`` (lazy import of rcarkit.kernel.fragment).

    ``config`` is the checked KernelConfig; without it the fragment planner
    reads the config again from the path the report names."""
    from rcarkit.kernel.fragment import plan_fragment
    return plan_fragment(report, catalog, kernel_src=os.fspath(kernel_src) if kernel_src else None,
                         config=config, with_optional=with_optional)


def generate_layer(report, catalog, directory=None, kernel_recipe=DEFAULT_KERNEL_RECIPE,
                   machine_override=None, layer_series=None, kernel_src=None, force=False,
                   plan=None, with_optional=False, with_rcarkit_recipe=False):
    """Write the layer for ``report`` into ``directory``; return a LayerResult."""
    from rcarkit.files import GeneratedTree
    spec = layer_spec(directory, kernel_recipe, machine_override, layer_series,
                      with_rcarkit_recipe)
    if plan is None:
        plan = plan_for(report, catalog, kernel_src, with_optional=with_optional)
    files = render_layer(plan, report, spec, kernel_src=kernel_src)
    tree = GeneratedTree(spec.directory, force=force)
    # prune: generated files this run no longer produces (a bbappend for another
    # recipe) go, unless edited by hand
    changed = tree.write(files, prune=True)
    removed = list(tree.removed)
    return LayerResult(spec=spec, files=sorted(files), changed=changed, removed=removed,
                       plan=plan, warnings=kernel_warnings(plan, spec, catalog))


@dataclass
class EmittedOutputs:
    """What :func:`write_outputs` wrote, and the warnings to print (the layer's
    kernel-version mismatch, :func:`kernel_warnings`)."""
    written: List[str]
    warnings: List[str]


def write_outputs(report, catalog, fragment_path=None, layer_dir=None,
                  kernel_recipe=DEFAULT_KERNEL_RECIPE, machine_override=None,
                  layer_series=None, kernel_src=None, force=False, config=None,
                  with_optional=False, with_rcarkit_recipe=False) -> EmittedOutputs:
    """check-kernel --emit-fragment FILE / --emit-layer DIR: plan the fragment
    once, check every target (layer options, a file where the layer directory
    goes, hand edits, a directory where the fragment goes) and only then write,
    so a refusal leaves nothing half-written."""
    from rcarkit.files import GeneratedTree, check_single, write_single
    spec = None
    if layer_dir is not None:
        spec = layer_spec(layer_dir, kernel_recipe, machine_override, layer_series,
                          with_rcarkit_recipe)
    elif with_rcarkit_recipe:
        raise RcarkitError("--with-rcarkit-recipe is only used with --emit-layer")
        GeneratedTree(spec.directory, force=force)      # a file where the layer goes
    if fragment_path is not None and os.path.isdir(fragment_path):
        check_single(fragment_path, "", force)          # raises "is a directory"
    plan = plan_for(report, catalog, kernel_src, config, with_optional)
    cfg_text = plan.render_cfg()
    fragment_changes = fragment_path is not None and check_single(fragment_path, cfg_text,
                                                                  force)
    if spec is not None:
        GeneratedTree(spec.directory, force=force).check(
            render_layer(plan, report, spec, kernel_src=kernel_src))
    written, warnings = [], []
    if fragment_changes:
        written.append(write_single(fragment_path, cfg_text, force=force))
    if spec is not None:
        result = generate_layer(report, catalog, spec.directory, kernel_recipe=kernel_recipe,
                                machine_override=machine_override, layer_series=layer_series,
                                kernel_src=kernel_src, force=force, plan=plan,
                                with_rcarkit_recipe=with_rcarkit_recipe)
        written += list(result.changed) + ["%s (removed)" % p for p in result.removed]
        warnings = list(result.warnings or [])
    return EmittedOutputs(written=written, warnings=warnings)

