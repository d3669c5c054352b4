"""The ``report`` command: one readable report per board, or per fleet.

``rcarkit report DOCS... -o DIR`` reads the ``--format json`` documents of
check-kernel, check-node and etcd-bench (files or directories; fio's own JSON
is accepted for storage) and writes ``DIR/report.html`` (self-contained) and
``DIR/report.md`` + ``DIR/storage.svg``; ``--format html|md|both|json`` (json
prints the dossier as data on stdout and writes nothing).

``--run`` makes the documents on this board first, by running
``check-kernel`` and ``check-node`` (``--root``, ``--role``, ``--config`` and
the profile options are passed to both) and, only when ``--etcd-path PATH``
is given, ``etcd-bench PATH`` with ``--etcd-max-time``: etcd-bench writes up
to 22 MiB into PATH and takes up to a minute per PATH, so it never runs
unasked. The documents are kept as ``DIR/documents/*.json``.

``--fleet DIR`` renders a fleet collected by ``ansible/fleet.yml`` (one
sub-directory per host): see :mod:`rcarkit.fleet`.

Files are written with :class:`rcarkit.files.GeneratedTree` (atomically; a
file edited by hand is kept unless ``--force``). Exit codes: 0 every checked
area is ready; 1 something to change; 2 bad input or usage.
"""

import os
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import typer

from rcarkit.cli.common import (CNI_OPTION, PROFILE_OPTION, PROXY_MODE_OPTION, RUNTIME_OPTION,
                                check_choice, emit, fail, user_errors)

HELP = (
    "One report per board from the --format json documents of check-kernel, check-node "
    "and etcd-bench (files or directories): verdict per area (kernel, node, storage), what "
    "to do in order with the exact commands and files, the details and the fdatasync "
    "latency picture, as self-contained HTML and as Markdown under -o DIR. --run makes "
    "the documents on this board first (etcd-bench only with --etcd-path, since it "
    "writes to the disk). --fleet DIR renders the documents ansible/fleet.yml collected "
    "from many boards, with the checks only a fleet can make. Exit codes: 0 ready; "
    "1 something to change; 2 bad input or usage (one line on stderr).")

FORMATS = ("html", "md", "both", "json")


def register(app):
    """Add ``report`` to the rcarkit app."""
    app.command("report", help=HELP,
                short_help="One readable report per board (or per fleet).")(report_cmd)


def report_cmd(
    docs: Optional[List[Path]] = typer.Argument(
        None, metavar="[DOC]...", show_default=False,
        help="JSON documents (or directories of them) of one board."),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="Directory to write."),
    fmt: str = typer.Option("both", "--format", "-f", help="html, md, both or json."),
    run: bool = typer.Option(False, "--run", help="Run the checks on this board first."),
    fleet: Optional[Path] = typer.Option(None, "--fleet", help="Directory collected by "
                                         "ansible/fleet.yml: one sub-directory per host."),
    title: Optional[str] = typer.Option(None, "--title", help="Title of the report."),
    root: Optional[Path] = typer.Option(None, "--root", help="--run: the board's root "
                                        "(check-node --root)."),
    role: Optional[str] = typer.Option(None, "--role", help="--run: control-plane or worker."),
    config: Optional[Path] = typer.Option(None, "--config", help="--run: kernel config "
                                          "(default /proc/config.gz, then /boot)."),
    profile: Optional[List[str]] = PROFILE_OPTION,
    cni: Optional[List[str]] = CNI_OPTION,
    runtime: Optional[List[str]] = RUNTIME_OPTION,
    proxy_mode: Optional[List[str]] = PROXY_MODE_OPTION,
    etcd_path: Optional[List[Path]] = typer.Option(None, "--etcd-path", help="--run: also "
                                                   "run etcd-bench on PATH (writes to it; "
                                                   "repeatable)."),
    etcd_max_time: float = typer.Option(60.0, "--etcd-max-time", help="--run: etcd-bench "
                                        "--max-time per PATH."),
    force: bool = typer.Option(False, "--force", help="Overwrite report files changed by hand."),
):
    check_choice(fmt, FORMATS, "--format")
    docs = list(docs or [])
    if fmt != "json" and out is None:
        fail("-o/--output DIR is required (or --format json)")
    if fleet is not None and (docs or run):
        fail("--fleet takes a directory alone, not with DOCs or --run")
    if run and docs:
        fail("--run makes the documents itself; give either DOCs or --run")
    run_only = [flag for flag, value in (("--root", root), ("--role", role),
                                         ("--config", config), ("--etcd-path", etcd_path or None))
                if value is not None]
    if run_only and not run:
        fail("%s only used with --run" % ", ".join(run_only))
    if fleet is None and not run and not docs:
        fail("give DOC files, --run or --fleet DIR (see 'rcarkit report --help')")
    with user_errors():
        if fleet is not None:
            from rcarkit.fleet.render import fleet_files
            from rcarkit.fleet.model import build_fleet
            report = build_fleet(str(fleet))
            if fmt == "json":
                import json
                emit(json.dumps(report.to_dict(), indent=2) + "\n")
                raise typer.Exit(report.exit_code)
            _write(out, fleet_files(report, _formats(fmt)), force)
            emit(report.summary_text())
            raise typer.Exit(report.exit_code)
        if run:
            docs = [_run_checks(out, root, role, config, profile, cni, runtime, proxy_mode,
                                etcd_path or [], etcd_max_time, force)]
        from rcarkit.dossier.load import load_documents
        from rcarkit.dossier.model import build_dossier
        dossier = build_dossier(load_documents([str(d) for d in docs]), title=title)
        if fmt == "json":
            import json
            emit(json.dumps(dossier.to_dict(), indent=2) + "\n")
            raise typer.Exit(dossier.exit_code)
        from rcarkit.dossier.render import STATUS_WORD, dossier_files
        _write(out, dossier_files(dossier, _formats(fmt)), force)
        emit("".join("%-8s %-11s %s\n" % (a.area, STATUS_WORD[a.status], a.verdict[:58])
                     for a in dossier.areas))
        raise typer.Exit(dossier.exit_code)


def _formats(fmt):
    return ("html", "md") if fmt == "both" else (fmt,)


def _write(out, files, force):
    from rcarkit.files import GeneratedTree
    tree = GeneratedTree(str(out), force=force)
    written = tree.write(files)
    for name in sorted(files):
        path = os.path.join(str(out), name)
        typer.echo("%s %s" % ("wrote" if path in written else "unchanged", path), err=True)


def _run_checks(out, root, role, config, profile, cni, runtime, proxy_mode, etcd_paths,
                etcd_max_time, force):
    """Run the three commands as ``python -m rcarkit ... --format json`` and keep
    their documents in OUT/documents/ (returned)."""
    selection = []
    for flag, values in (("-p", profile), ("--cni", cni), ("--runtime", runtime),
                         ("--proxy-mode", proxy_mode)):
        for value in values or []:
            selection += [flag, value]
    node_args = ["check-node"] + selection
    if root is not None:
        node_args += ["--root", str(root)]
    if role is not None:
        node_args += ["--role", role]
    kernel_args = ["check-kernel"] + selection
    if config is not None:
        kernel_args.append(str(config))
        node_args += ["--config", str(config)]
    elif root is not None and str(root) != "/":
        kernel_args += _root_config(str(root))
    runs = [("check-kernel", kernel_args), ("check-node", node_args)]
    if etcd_paths:
        runs.append(("etcd-bench", ["etcd-bench"] + [str(p) for p in etcd_paths]
                     + ["--max-time", repr(etcd_max_time)]))
    files = {}
    for name, args in runs:
        typer.echo("running rcarkit %s" % " ".join(args), err=True)
        proc = subprocess.run([sys.executable, "-m", "rcarkit"] + args + ["--format", "json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True)
        if proc.returncode not in (0, 1):
            line = (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[-1]
            fail("%s failed: %s" % (name, line))
        files["%s.json" % name] = proc.stdout
    from rcarkit.files import GeneratedTree
    directory = os.path.join(str(out), "documents")
    GeneratedTree(directory, force=force).write(files, prune=True)  # no stale etcd-bench.json
    return Path(directory)


def _root_config(root):
    """check-node's default kernel config under ROOT, for check-kernel: ``[path]`` or ``[]``."""
    from rcarkit.node.check import default_config_path
    from rcarkit.node.probe import NodeRoot, kernel_release
    node = NodeRoot(root)
    path = default_config_path(node, kernel_release(node))
    return [path] if path else []
