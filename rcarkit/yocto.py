"""Yocto meta-layer output (being built)."""

from .errors import RcarkitError


def write_fragment(report, catalog, path, force=False):
    raise RcarkitError("--emit-fragment is not implemented yet")


def write_layer(report, catalog, directory, kernel_recipe="linux-renesas", machine_override=None,
                force=False):
    raise RcarkitError("--emit-layer is not implemented yet")
