"""Reading the ``--format json`` documents a board produced, and telling them apart.

``load_documents(paths)`` takes files and directories (every ``*.json`` file
directly inside a directory, sorted) and returns a :class:`BoardDocuments`
with at most one document of each kind:

``check-kernel``  ``"command": "check-kernel"``, or the shape: ``options`` +
                  ``kernel_version`` + ``config`` and no ``node``. A matrix
                  (``"kind": "matrix"``, several configs) is refused: a board
                  runs one kernel.
``check-node``    ``"command": "check-node"``, or ``node`` + ``fixes`` + ``options``.
``etcd-bench``    ``"command": "etcd-bench"``, or ``measurements`` + ``recommendation``.
``fio``           fio's own ``--output-format=json`` (``"fio version"`` + ``jobs``):
                  turned into an etcd-bench document by :mod:`rcarkit.dossier.fio_doc`
                  (a board measured with etcd's fio recipe by hand).
``fleet-probe``   the fleet playbook's probe (``"command": "fleet-probe"``:
                  clock readings and TCP round trips), used by :mod:`rcarkit.fleet`.

Hostile input: only regular files (no FIFOs, devices, or symlinks to them),
at most ``MAX_BYTES`` each, JSON objects only. Every refusal is one
:class:`rcarkit.errors.RcarkitError` naming the file and the fix.
"""

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from rcarkit.dossier.reading import read_json_file
from rcarkit.errors import RcarkitError
KINDS = ("check-kernel", "check-node", "etcd-bench", "fio", "fleet-probe")


@dataclass
class BoardDocuments:
    """The documents of one board, by kind; ``sources`` maps kind -> file."""

    kernel: Optional[dict] = None
    node: Optional[dict] = None
    etcd: Optional[dict] = None
    probe: Optional[dict] = None
    sources: Dict[str, str] = field(default_factory=dict)

    def empty(self):
        return not (self.kernel or self.node or self.etcd)


def detect_kind(doc) -> Optional[str]:
    """The kind of a parsed JSON document (see the module doc), or None."""
    if not isinstance(doc, dict):
        return None
    command = doc.get("command")
    if command in ("check-kernel", "check-node", "etcd-bench", "fleet-probe"):
        return command
    if "fio version" in doc and isinstance(doc.get("jobs"), list):
        return "fio"
    if "measurements" in doc and "recommendation" in doc:
        return "etcd-bench"
    if "options" in doc and "node" in doc and "fixes" in doc:
        return "check-node"
    if doc.get("kind") == "matrix" or ("options" in doc and "kernel_version" in doc
                                      and "config" in doc):
        return "check-kernel"
    return None


def _expand(paths):
    files = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            found = sorted(os.path.join(p, n) for n in os.listdir(p)
                           if n.endswith(".json") and not n.startswith("."))
            files.extend(f for f in found if os.path.isfile(f))
        else:
            files.append(p)
    return files


def load_documents(paths, fio_label=None) -> BoardDocuments:
    """Load and sort the documents of one board (see the module doc).

    Raises RcarkitError for an unreadable file, an unknown shape, two
    documents of one kind, or nothing to report on.
    """
    files = _expand(paths)
    if not files:
        raise RcarkitError("no JSON documents in %s" % ", ".join(map(os.fspath, paths)),
                           hint="run check-kernel, check-node, etcd-bench with --format json "
                                "and save the output as .json files")
    board = BoardDocuments()
    fio_files = []
    for path in files:
        doc = read_json_file(path)
        kind = detect_kind(doc)
        if kind is None:
            raise RcarkitError("not a check-kernel, check-node, etcd-bench or fio document",
                               path=path, hint="write it with --format json")
        if kind == "check-kernel" and doc.get("kind") == "matrix":
            raise RcarkitError("a check-kernel matrix (several configs); a board report "
                               "takes the document of one config", path=path,
                               hint="run check-kernel with the board's config alone")
        if kind == "fio":
            fio_files.append(path)
            continue
        attr = {"check-kernel": "kernel", "check-node": "node", "etcd-bench": "etcd",
                "fleet-probe": "probe"}[kind]
        if getattr(board, attr) is not None:
            raise RcarkitError("a second %s document (the first is %s)"
                               % (kind, board.sources[kind]), path=path,
                               hint="give the documents of one board")
        setattr(board, attr, doc)
        board.sources[kind] = path
    if fio_files:
        if board.etcd is not None:
            raise RcarkitError("both an etcd-bench document (%s) and fio output"
                               % board.sources["etcd-bench"], path=fio_files[0],
                               hint="give one storage measurement")
        from rcarkit.dossier.fio_doc import etcd_document_from_fio
        board.etcd = etcd_document_from_fio([(path, None) for path in fio_files])
        board.sources["etcd-bench"] = ", ".join(fio_files)
    if board.empty():
        raise RcarkitError("no check-kernel, check-node or etcd-bench document among %s"
                           % ", ".join(files))
    return board
