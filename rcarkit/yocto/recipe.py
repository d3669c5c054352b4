"""``yocto-layer --with-rcarkit-recipe``: a python3-rcarkit recipe in the layer.

So that ``check-node``, ``etcd-bench`` and ``check-kernel`` run on the booted
image (``IMAGE_INSTALL:append = " python3-rcarkit"``), the layer carries::

    dynamic-layers/meta-python/recipes-devtools/python/
      python3-rcarkit_<version>.bb
      python3-rcarkit/rcarkit/...          this rcarkit, in installed layout
      python3-rcarkit/vendor/typer/...     vendored (see below)
      python3-rcarkit/vendor/annotated_doc/...
      python3-rcarkit/vendor/LICENSE.typer, LICENSE.annotated-doc
      python3-rcarkit/rcarkit.sh           the /usr/bin/rcarkit entry point

Under ``dynamic-layers/meta-python`` (``BBFILES_DYNAMIC``): the recipe is read
only when meta-python is in the build, because its RDEPENDS need it.

Runtime dependencies and where they come from (scarthgap; the file names
are those in ../shared/yocto, proven by tests/test_bitbake_parse.py with
``bitbake -g python3-rcarkit``):

* oe-core: python3-modules (the standard library), python3-jinja2,
  python3-psutil, python3-pyelftools, python3-click, python3-typing-extensions;
* meta-python: python3-tabulate, python3-kconfiglib, python3-rich,
  python3-shellingham;
* typer has no recipe in oe-core or meta-python, and typer 0.12.5 (the
  newest whose build backend a scarthgap recipe could use without a new class)
  does not run rcarkit's CLI; so the recipe vendors the typer this rcarkit
  runs with, and annotated-doc (typer's one dependency without a recipe),
  both MIT, as copied from the running interpreter's site-packages.
* in an R-Car Gen3 build meta-rcar-gen3 provides its own python3-pyelftools
  0.26 (measured with ``bitbake -g``), older than the 0.29 rcarkit's
  pyproject.toml asks for; ``PREFERRED_VERSION_python3-pyelftools = "0.30"``
  in local.conf selects oe-core's.
* tomli is not needed: Python 3.11 and later have tomllib, so the recipe is
  written only for mickledore (4.2, Python 3.11) and later.

The sources are copied, not fetched: the layer builds offline and exactly the
rcarkit that wrote it.
"""

import hashlib
import os

from rcarkit.errors import RcarkitError

RECIPE_DIR = "dynamic-layers/meta-python/recipes-devtools/python"
META_PYTHON = "meta-python"
OLDEST_SERIES = "mickledore"

RDEPENDS_CORE = ("python3-modules", "python3-jinja2", "python3-psutil", "python3-pyelftools",
                 "python3-click", "python3-typing-extensions")
RDEPENDS_META_PYTHON = ("python3-tabulate", "python3-kconfiglib", "python3-rich",
                        "python3-shellingham")
VENDORED = ("typer", "annotated_doc")
_SKIP_DIRS = {"__pycache__"}
_SKIP_EXT = (".pyc", ".pyo")


def _text_files(top, prefix):
    """{prefix/relative path: text} of the text files under ``top``."""
    out = {}
    for dirpath, dirnames, names in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(names):
            if name.endswith(_SKIP_EXT):
                continue
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as fh:
                data = fh.read()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise RcarkitError("not a text file; cannot carry it in the layer", path=path)
            out[prefix + "/" + os.path.relpath(path, top).replace(os.sep, "/")] = text
    return out


def rcarkit_sources():
    """The running rcarkit in installed layout: {rcarkit/...: text}. From a source
    checkout, kconfig_profiles/ and yocto_layer/ sit next to the package and
    go inside it, as pyproject.toml's package-dir does."""
    import rcarkit
    pkg = os.path.dirname(os.path.abspath(rcarkit.__file__))
    files = {k: v for k, v in _text_files(pkg, "rcarkit").items()
             if not k.startswith("rcarkit/yocto_layer/") or k.startswith(
                 "rcarkit/yocto_layer/templates/")}
    root = os.path.dirname(pkg)
    # only the templates of yocto_layer/: generated layers may sit next to them
    for data in ("kconfig_profiles", "yocto_layer/templates"):
        inside = os.path.join(pkg, data)
        if not os.path.isdir(inside) and os.path.isdir(os.path.join(root, data)):
            files.update(_text_files(os.path.join(root, data), "rcarkit/" + data))
    return files


def _dist_license(module):
    """The LICENSE text of an installed distribution's module (dist-info)."""
    from importlib import metadata
    dist = {"annotated_doc": "annotated-doc"}.get(module, module)
    try:
        d = metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        raise RcarkitError("%s is not installed; --with-rcarkit-recipe vendors it" % dist,
                           hint="pip install %s" % dist)
    for f in d.files or ():
        if os.path.basename(str(f)).upper().startswith("LICENSE"):
            return d.version, d.locate_file(f).read_text()
    raise RcarkitError("%s has no LICENSE file in its dist-info" % dist)


def vendored_sources():
    """{vendor/<module>/...: text, vendor/LICENSE.<dist>: text}, {dist: version}."""
    import importlib
    files, versions = {}, {}
    for module in VENDORED:
        mod = importlib.import_module(module)
        files.update(_text_files(os.path.dirname(os.path.abspath(mod.__file__)),
                                 "vendor/" + module))
        version, licence = _dist_license(module)
        dist = module.replace("_", "-")
        versions[dist] = version
        files["vendor/LICENSE." + dist] = licence
    return files, versions


def check_series(series):
    from rcarkit.yocto.releases import RELEASES
    names = list(RELEASES)
    old = [s for s in series if names.index(s) < names.index(OLDEST_SERIES)]
    if old:
        raise RcarkitError("--with-rcarkit-recipe needs Python 3.11 (tomllib): %s is older "
                           "than %s" % (" ".join(old), OLDEST_SERIES),
                           hint="--layer-series scarthgap, or install rcarkit by hand")


def recipe_files(spec, version):
    """{layer-relative path: text} of the recipe and everything it carries."""
    check_series(spec.layer_series)
    src = {}
    src.update(rcarkit_sources())
    vendored, versions = vendored_sources()
    src.update(vendored)
    src["rcarkit.sh"] = ("#!/usr/bin/env python3\n"
                         "# /usr/bin/rcarkit (python3-rcarkit, generated by rcarkit)\n"
                         "from rcarkit.__main__ import run\n\nrun()\n")
    md5 = {dist: hashlib.md5(src["vendor/LICENSE." + dist].encode()).hexdigest()
           for dist in versions}
    base = "%s/python3-rcarkit" % RECIPE_DIR
    files = {"%s/%s" % (base, rel): text for rel, text in src.items()}
    rdep = spec.op("RDEPENDS", "", "${PN}")
    lines = [
        "# python3-rcarkit: rcarkit on the board (check-node, etcd-bench,",
        "# check-kernel on /proc/config.gz). Generated by rcarkit %s; regenerate" % version,
        "# instead of editing (see the layer's README). Add it to an image with",
        '#     %s = " python3-rcarkit"' % spec.op("IMAGE_INSTALL", "append", ""),
        "#",
        "# The sources are in python3-rcarkit/ (copied from the rcarkit that wrote",
        "# the layer). typer has no recipe in oe-core or meta-python: the typer",
        "# rcarkit runs with (%s) and its dependency annotated-doc (%s, no recipe"
        % (versions.get("typer"), versions.get("annotated-doc")),
        "# either) are vendored in python3-rcarkit/vendor/ (both MIT). tomli is not",
        "# needed: Python 3.11 and later have tomllib. meta-rcar-gen3 brings its own",
        "# python3-pyelftools 0.26 (rcarkit asks for 0.29 or later): set",
        '# PREFERRED_VERSION_python3-pyelftools = "0.30" in local.conf to use oe-core\'s.',
        "",
        'SUMMARY = "Kubernetes readiness checks for embedded arm64 boards"',
        'DESCRIPTION = "rcarkit check-node, etcd-bench and check-kernel on the target"',
        'LICENSE = "MIT"',
        'LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302 \\',
        '                    file://vendor/LICENSE.typer;md5=%s \\' % md5["typer"],
        '                    file://vendor/LICENSE.annotated-doc;md5=%s"' % md5["annotated-doc"],
        "",
        'SRC_URI = "file://rcarkit;subdir=rcarkit-src \\',
        '           file://vendor;subdir=rcarkit-src \\',
        '           file://rcarkit.sh;subdir=rcarkit-src"',
        "# UNPACKDIR from styhead (5.1) on, WORKDIR before",
        "S = \"${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}/rcarkit-src\"",
        "",
        "inherit python3-dir",
        "",
        'do_configure[noexec] = "1"',
        'do_compile[noexec] = "1"',
        "",
        "do_install() {",
        "    install -d ${D}${PYTHON_SITEPACKAGES_DIR} ${D}${bindir}",
        "    cp -R --no-preserve=ownership ${S}/rcarkit ${S}/vendor/typer \\",
        "        ${S}/vendor/annotated_doc ${D}${PYTHON_SITEPACKAGES_DIR}/",
        "    install -m 0755 ${S}/rcarkit.sh ${D}${bindir}/rcarkit",
        "}",
        "",
        '%s = "${PYTHON_SITEPACKAGES_DIR}/rcarkit ${PYTHON_SITEPACKAGES_DIR}/typer \\'
        % spec.op("FILES", "", "${PN}"),
        '    ${PYTHON_SITEPACKAGES_DIR}/annotated_doc ${bindir}/rcarkit"',
        "# oe-core: the standard library (python3-modules), jinja2, psutil,",
        "# pyelftools, click and typing-extensions (for the vendored typer);",
        "# meta-python: tabulate, kconfiglib, rich and shellingham (typer's)",
        '%s = "%s \\' % (rdep, " ".join(RDEPENDS_CORE[:3])),
        '    %s \\' % " ".join(RDEPENDS_CORE[3:]),
        '    %s"' % " ".join(RDEPENDS_META_PYTHON),
        "",
    ]
    files["%s/python3-rcarkit_%s.bb" % (RECIPE_DIR, version)] = "\n".join(lines)
    return files
