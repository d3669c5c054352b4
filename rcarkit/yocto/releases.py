"""Yocto Project releases and the kernels their BSP recipes build (data).

:data:`RELEASES`: every release codename rcarkit writes layers for, with its
version, year and override syntax. Yocto 3.4 (honister, BitBake 1.52) replaced
``_`` with ``:`` as the override separator and rejects the old form; releases
before it only understand ``SRC_URI_append_rcar-gen3`` (Yocto Project
migration guide 3.4, "Override syntax changes":
https://docs.yoctoproject.org/migration-guides/migration-3.4.html#override-syntax-changes).
One layer file cannot serve both sides, so a ``--layer-series`` list that
mixes them is refused. Names and versions: the Yocto Project releases page
(https://wiki.yoctoproject.org/wiki/Releases). Releases before pyro (2.3)
are not listed: the layer relies on ``BBFILES_DYNAMIC``, which BitBake gained
in 2017 (poky commit 337bea6573; morty's BitBake lacks it).

:data:`RECIPE_KERNELS`: the kernel version each BSP's recipe builds on a
release, read from the recipes in ../shared/yocto (``LINUX_VERSION`` in
``linux-renesas_5.10.bb`` of meta-rcar-gen3, meta-rcar-gateway, meta-rcar-bsp;
meta-sparrow-hawk's ``linux-renesas_6.18.bb``; meta-raspberrypi's
``linux-raspberrypi_6.{1,6,12}.bb``; commits in ../shared/yocto/SOURCES.md).
:func:`kernel_mismatch` compares them with the kernel the fragment was
computed from: a fragment planned on a 4.14 config carries options a 5.10
kernel no longer has (CFQ_GROUP_IOSCHED, removed in 5.0), and misses what
5.10 needs instead.
"""

from dataclasses import dataclass
from typing import Optional, Tuple


@dataclass(frozen=True)
class Release:
    name: str
    version: str
    year: int
    colon_overrides: bool       # honister (3.4) and later: SRC_URI:append:<override>


_TABLE = (
    ("pyro", "2.3", 2017), ("rocko", "2.4", 2017), ("sumo", "2.5", 2018),
    ("thud", "2.6", 2018), ("warrior", "2.7", 2019), ("zeus", "3.0", 2019),
    ("dunfell", "3.1", 2020), ("gatesgarth", "3.2", 2020), ("hardknott", "3.3", 2021),
    ("honister", "3.4", 2021), ("kirkstone", "4.0", 2022), ("langdale", "4.1", 2022),
    ("mickledore", "4.2", 2023), ("nanbield", "4.3", 2023), ("scarthgap", "5.0", 2024),
    ("styhead", "5.1", 2024), ("walnascar", "5.2", 2025), ("whinlatter", "5.3", 2025),
    ("wrynose", "6.0", 2026),
)

#: codename -> Release, oldest first
RELEASES = {name: Release(name, version, year,
                          tuple(int(x) for x in version.split(".")) >= (3, 4))
            for name, version, year in _TABLE}


@dataclass(frozen=True)
class RecipeKernel:
    recipe: str
    release: str
    bsp: str                    # the layer whose recipe it is
    version: str                # LINUX_VERSION
    recipe_file: str            # where it is written
    default: bool = True        # what the BSP's machines build without PREFERRED_VERSION


RECIPE_KERNELS = (
    RecipeKernel("linux-renesas", "scarthgap", "meta-rcar-gen3", "5.10.218",
                 "meta-renesas/meta-rcar-gen3/recipes-kernel/linux/linux-renesas_5.10.bb"),
    RecipeKernel("linux-renesas", "scarthgap", "meta-rcar-gateway", "5.10.41",
                 "meta-renesas/meta-rcar-gateway/recipes-kernel/linux/linux-renesas_5.10.bb"),
    RecipeKernel("linux-renesas", "scarthgap", "meta-rcar-bsp", "5.10.147",
                 "meta-renesas/meta-rcar-bsp/recipes-kernel/linux/linux-renesas_5.10.bb"),
    RecipeKernel("linux-renesas", "scarthgap", "meta-sparrow-hawk", "6.18.20",
                 "meta-sparrow-hawk/recipes-kernel/linux/linux-renesas_6.18.bb"),
    RecipeKernel("linux-raspberrypi", "scarthgap", "meta-raspberrypi", "6.6.63",
                 "meta-raspberrypi/recipes-kernel/linux/linux-raspberrypi_6.6.bb"),
    RecipeKernel("linux-raspberrypi", "scarthgap", "meta-raspberrypi", "6.1.77",
                 "meta-raspberrypi/recipes-kernel/linux/linux-raspberrypi_6.1.bb",
                 default=False),
    RecipeKernel("linux-raspberrypi", "scarthgap", "meta-raspberrypi", "6.12.93",
                 "meta-raspberrypi/recipes-kernel/linux/linux-raspberrypi_6.12.bb",
                 default=False),
)


def valid_names():
    return " ".join(RELEASES)


def syntax_of(series):
    """True for ``:`` overrides, False for ``_``; ``series`` are known names that
    must all be on one side of honister (the caller reports the error)."""
    sides = {RELEASES[s].colon_overrides for s in series}
    if len(sides) != 1:
        return None
    return sides.pop()


def _major_minor(version):
    parts = str(version).split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def recipe_kernels(recipe, series):
    return [k for k in RECIPE_KERNELS if k.recipe == recipe and k.release in series]


def kernel_mismatch(recipe, series, kernel_version) -> Optional[Tuple[str, list]]:
    """``(kernel_version, [RecipeKernel])`` when the fragment's kernel (major.minor)
    is none of the versions ``recipe`` builds on ``series``; None when it matches,
    when the version is unknown, or when rcarkit knows no version for the recipe."""
    known = recipe_kernels(recipe, series)
    mine = _major_minor(kernel_version) if kernel_version else None
    if not known or mine is None:
        return None
    if any(_major_minor(k.version) == mine for k in known):
        return None
    return str(kernel_version), known
