"""Writing generated files safely: atomically, and never over a user's edits.

:func:`atomic_write_text` writes to a temporary file in the target directory
and renames it into place, so a reader (or a crash) never sees half a file.

:class:`GeneratedTree` writes a set of generated files under one directory and
keeps ``.rcarkit-manifest.json`` there with the SHA-256 of every file it wrote.
On the next run a file whose content no longer matches the manifest was edited
by hand (or was never ours), and it is not overwritten unless ``force`` is
given; the refusal is a :class:`rcarkit.errors.RcarkitError` naming the file and
``--force``. Regenerating with the same inputs rewrites nothing.
"""

import hashlib
import json
import os
import tempfile

from rcarkit.errors import RcarkitError

MANIFEST = ".rcarkit-manifest.json"


def atomic_write_text(path, text, mode=0o644):
    """Write ``text`` to ``path`` atomically (temp file + rename in the same dir)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    except OSError as exc:
        raise RcarkitError("cannot write: %s" % (exc.strerror or exc), path=path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise RcarkitError("cannot write: %s" % (exc.strerror or exc), path=path)
        raise
    return path


def sha256_text(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sha256_file(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


class GeneratedTree:
    """Generated files under ``root``, protected against overwriting hand edits."""

    def __init__(self, root, force=False):
        self.root = os.fspath(root)
        self.force = force
        self.manifest_path = os.path.join(self.root, MANIFEST)
        self.manifest = {}
        self.removed = []
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise RcarkitError("exists and is not a directory", path=self.root,
                               hint="choose another output directory")
        if os.path.isfile(self.manifest_path):
            try:
                with open(self.manifest_path, encoding="utf-8") as fh:
                    self.manifest = json.load(fh).get("files", {})
            except (OSError, ValueError, AttributeError):
                self.manifest = {}

    def check(self, files):
        """Refuse (before writing anything) if any target was edited by hand, or
        if a file stands where a directory must go (or the reverse): even
        ``force`` does not replace those."""
        for rel in files:
            parts = rel.split("/")
            for depth in range(1, len(parts)):
                parent = os.path.join(self.root, *parts[:depth])
                if os.path.exists(parent) and not os.path.isdir(parent):
                    raise RcarkitError("exists and is not a directory", path=parent,
                                       hint="move it away: %s goes inside it" % rel)
            if os.path.isdir(os.path.join(self.root, rel)):
                raise RcarkitError("is a directory", path=os.path.join(self.root, rel),
                                   hint="move it away: rcarkit writes a file there")
        if self.force:
            return
        for rel, text in files.items():
            path = os.path.join(self.root, rel)
            if not os.path.exists(path):
                continue
            current = _sha256_file(path)
            if current == sha256_text(text):
                continue
            if self.manifest.get(rel) != current:
                raise RcarkitError("was changed by hand (or not written by rcarkit); "
                                   "not overwriting it", path=path,
                                   hint="pass --force to replace it")

    def write(self, files, modes=None, prune=False):
        """Write ``{relative path: text}``; return the paths that changed.

        ``prune``: also delete the files an earlier run generated (listed in
        the manifest, unchanged since) that are no longer part of ``files``,
        so a stale one cannot be applied by mistake; they are listed in
        :attr:`removed`. A stale file edited by hand is left alone.
        """
        self.check(files)
        self.removed = []
        if prune:
            for rel in sorted(set(self.manifest) - set(files)):
                path = os.path.join(self.root, rel)
                try:
                    if _sha256_file(path) != self.manifest[rel]:
                        continue  # edited by hand: the user's now
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise RcarkitError("cannot remove: %s" % (exc.strerror or exc), path=path)
                else:
                    self.removed.append(path)
                del self.manifest[rel]
        changed = []
        for rel in sorted(files):
            text = files[rel]
            path = os.path.join(self.root, rel)
            if os.path.exists(path) and _sha256_file(path) == sha256_text(text):
                self.manifest[rel] = sha256_text(text)
                continue
            atomic_write_text(path, text, mode=(modes or {}).get(rel, 0o644))
            self.manifest[rel] = sha256_text(text)
            changed.append(path)
        manifest = json.dumps({"generator": "rcarkit", "files": dict(sorted(self.manifest.items()))},
                              indent=2, sort_keys=True) + "\n"
        if not os.path.exists(self.manifest_path) or \
                _sha256_file(self.manifest_path) != sha256_text(manifest):
            atomic_write_text(self.manifest_path, manifest)
        return changed


def write_single(path, text, force=False):
    """One generated file outside a tree: refuse to replace different content
    unless ``force``; identical content is left untouched."""
    path = os.fspath(path)
    if not check_single(path, text, force):
        return path
    return atomic_write_text(path, text)


def check_single(path, text, force=False):
    """Raise what :func:`write_single` would refuse, before anything is written;
    return False when ``path`` already holds ``text`` (nothing to write)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise RcarkitError("is a directory", path=path, hint="give a file name")
    if os.path.exists(path):
        if _sha256_file(path) == sha256_text(text):
            return False
        if not force:
            raise RcarkitError("exists with other content; not overwriting it", path=path,
                               hint="pass --force to replace it")
    return True
