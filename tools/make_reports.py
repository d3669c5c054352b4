#!/usr/bin/env python3
"""Regenerate reports/: what each real R-Car / Raspberry Pi config in ../shared lacks.

    python3 tools/make_reports.py [--out DIR] [--screenshot]

Writes one Markdown report per config (every profile, missing options only)
and reports/README.md indexing them with the verdicts. The reports are what
`rcarkit check-kernel --all-profiles --only-missing --format markdown` prints.

Board reports (``rcarkit report``) go to ``boards/NAME/``: the documents
(``documents/check-kernel.json`` as check-kernel prints it for the board's
config with the default profiles, ``documents/etcd-bench.json`` from the real
fio runs in ../shared/fio judged like ``etcd-bench --engine fio``) and what
``rcarkit report documents -o boards/NAME`` writes from them (report.html,
report.md, storage.svg). Paths under ../shared are written relative
(``../shared/...``) so every checkout makes the same bytes; tests/test_reports.py
regenerates everything and fails when reports/ differs. ``--screenshot`` also
renders the first board's HTML with headless Chromium to
``boards/NAME/report.png`` (not compared: Chromium's pixels vary by version).
"""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CONFIGS = SHARED / "configs"
FIO = SHARED / "fio"
BOARDS = [
    ("rcar-gen3_bsp-v2.9.0_linux-4.4.0.config", None),
    ("rcar-gen3_bsp-v2.23.1_linux-4.9.0.config", None),
    ("rcar-gen3_bsp-v3.9.0.1_linux-4.14.35.config", None),
    ("rcar-gen3_bsp-v3.21.0_linux-4.14.75.config", None),
    ("rpi-bcm2711_defconfig_fed50901.expanded-on-debian-6.12.117.config", None),
    ("upstream-arm64-defconfig-expanded_6.17.3_khc.config", None),
]


# What the fio runs in ../shared/fio measured (its README: a plain virtio disk,
# an ext4 loop device unthrottled and throttled to 200 write IOPS, tmpfs).
FIO_DEVICES = {
    "disk-vda": {"kind": "virtio", "fstype": "unknown", "device": "/dev/vda"},
    "loop-ext4-nothrottle": {"kind": "loop", "fstype": "ext4"},
    "loop-ext4-200iops": {"kind": "loop", "fstype": "ext4",
                          "notes": ["cgroup v1 blkio limit: 200 write IOPS"]},
    "tmpfs": {"kind": "tmpfs", "fstype": "tmpfs", "persistent": False},
}
# (directory, title, config, fio runs): a slow SD-card-like disk next to tmpfs on
# the R-Car BSP kernel, a fast disk on the Raspberry Pi kernel.
DOSSIERS = [
    ("rcar-h3-bsp-v3.21.0", "R-Car Gen3 BSP v3.21.0 (Linux 4.14.75), 200-IOPS storage",
     "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config", ["loop-ext4-200iops", "tmpfs"]),
    ("rpi4-6.12", "Raspberry Pi 4 (Linux 6.12.117), virtio disk",
     "rpi-bcm2711_defconfig_fed50901.expanded-on-debian-6.12.117.config", ["disk-vda"]),
    ("mainline-6.17", "Mainline arm64 defconfig (Linux 6.17.3), ext4 loop device",
     "upstream-arm64-defconfig-expanded_6.17.3_khc.config", ["loop-ext4-nothrottle"]),
]


def _relative(text):
    """Absolute ../shared paths as ``../shared/...``: the same bytes in every checkout."""
    return text.replace(str(SHARED), "../shared")


def make_dossiers(out_dir, catalog):
    """Write boards/NAME/ for every entry of DOSSIERS; return index rows."""
    import json
    from rcarkit.dossier.fio_doc import etcd_document_from_fio
    from rcarkit.dossier.load import load_documents
    from rcarkit.dossier.model import build_dossier
    from rcarkit.dossier.render import STATUS_WORD, dossier_files
    from rcarkit.files import atomic_write_text
    from rcarkit.kernel.check import check_config, select_profiles
    from rcarkit.kernel.config import load_config
    from rcarkit.render import render

    rows = []
    for name, title, config_name, runs in DOSSIERS:
        board_dir = out_dir / "boards" / name
        docs = board_dir / "documents"
        config = load_config(CONFIGS / config_name)
        report = check_config(config, select_profiles(catalog), catalog)
        kernel_json = _relative(render(report, "json"))
        etcd = etcd_document_from_fio([(FIO / run / "fio-etcd-recipe.json",
                                        # absolute: a relative PATH became the
                                        # checkout's directory in etcd's data dir
                                        dict(FIO_DEVICES[run], path="/mnt/" + run))
                                       for run in runs])
        etcd_json = _relative(json.dumps(etcd, indent=2) + "\n")
        atomic_write_text(docs / "check-kernel.json", kernel_json)
        atomic_write_text(docs / "etcd-bench.json", etcd_json)
        board = load_documents([str(docs / "check-kernel.json"), str(docs / "etcd-bench.json")])
        board.sources = {k: "documents/" + os.path.basename(v) for k, v in board.sources.items()}
        dossier = build_dossier(board, title=title)
        for rel, text in dossier_files(dossier).items():
            atomic_write_text(board_dir / rel, text)
        rows.append((name, title, ", ".join("%s %s" % (a.area, STATUS_WORD[a.status])
                                            for a in dossier.areas)))
    return rows


def screenshot(html, png):
    """Render ``html`` with headless Chromium to ``png`` (1200 px wide)."""
    import shutil
    import subprocess
    import tempfile
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        raise SystemExit("--screenshot needs chromium (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                        "--user-data-dir=" + profile, "--screenshot=" + str(png),
                        "--window-size=1200,1500", html.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "reports"),
                        help="directory to write (default: reports/)")
    parser.add_argument("--screenshot", action="store_true",
                        help="also render the first board report to report.png (chromium)")
    args = parser.parse_args(argv)
    os.environ["COLUMNS"] = "80"   # the Markdown wraps at the terminal width: pin it
    sys.path.insert(0, str(REPO))
    from rcarkit.kernel.check import check_config, select_profiles
    from rcarkit.kernel.config import load_config
    from rcarkit.kernel.profiles import load_catalog
    from rcarkit.render import render
    from rcarkit.files import atomic_write_text

    catalog = load_catalog()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    index = ["# Reports", "",
             "Generated by `tools/make_reports.py` from the real configs in `../shared/configs`:",
             "every profile, missing options only.", "",
             "| config | kernel | verdict |", "|---|---|---|"]
    links = [""]   # reference links keep the table rows short
    for name, version in BOARDS:
        config = load_config(CONFIGS / name, kernel_version=version)
        report = check_config(config, select_profiles(catalog, all_profiles=True), catalog)
        report.subject_line = report.subject_line.replace(str(CONFIGS), "../shared/configs")
        target = out_dir / (Path(name).stem + ".md")
        atomic_write_text(target, render(report, "markdown", only_missing=True))
        index.append("| [%s][%d] | %s | %s |" % (name, len(links), config.version,
                                                 report.verdict()))
        links.append("[%d]: %s" % (len(links), target.name))
    rows = make_dossiers(out_dir, catalog)
    index += ["", "Board reports made by `rcarkit report` from the check-kernel document of",
              "a config above and the real fio runs of etcd's recipe in `../shared/fio`",
              "(no check-node: these are configs, not running boards):", "",
              "| board | verdicts | what |", "|---|---|---|"]
    for i, (name, title, verdicts) in enumerate(rows, 1):
        index.append("| [%s][b%d] ([HTML][h%d]) | %s | %s |" % (name, i, i, verdicts, title))
        links += ["[b%d]: boards/%s/report.md" % (i, name),
                  "[h%d]: boards/%s/report.html" % (i, name)]
    atomic_write_text(out_dir / "README.md", "\n".join(index + links) + "\n")
    if args.screenshot:
        first = out_dir / "boards" / DOSSIERS[0][0]
        screenshot(first / "report.html", first / "report.png")
    print("wrote %d reports and %d board reports in %s" % (len(BOARDS), len(rows), out_dir))


if __name__ == "__main__":
    main()
