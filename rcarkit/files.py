"""Writing generated files safely: atomically, never over a user's edits,
never outside the directory the user named.

:func:`atomic_write_text` writes to a temporary file ``.NAME.XXXXXXXX`` in
the target directory and renames it into place, so a reader (or a crash)
never sees half a file. The temporary file is registered while it exists:
:func:`signals_raise` (installed by the CLI for every command) turns SIGTERM
and SIGHUP into ``SystemExit(128 + signal)`` after removing every registered
temporary file or directory, and the CLI removes them again on any way out.

:class:`GeneratedTree` writes a set of generated files under one directory and
keeps ``.rcarkit-manifest.json`` there with the SHA-256 of every file it wrote.
On the next run a file whose content no longer matches the manifest was edited
by hand (or was never ours), and it is not overwritten unless ``force`` is
given; the refusal is a :class:`rcarkit.errors.RcarkitError` naming the file and
``--force``. Regenerating with the same inputs rewrites nothing.

What is refused (:class:`rcarkit.errors.OutputError`, exit 2), even with
``force``:

* a symlink, FIFO, device or socket where a generated file goes (it is never
  opened, read, hashed or replaced: a FIFO would hang, /dev/zero never ends);
* a symlinked directory inside an output tree (``L/conf -> /elsewhere``);
  directories are walked with ``O_NOFOLLOW`` directory descriptors, so
  nothing is written through one (the tree's root itself may be a symlink:
  the user named it);
* a control character (newline, NUL, ...) in an output path;
* a malformed manifest (:class:`rcarkit.errors.ManifestError`): it must be a
  regular file of at most ``MAX_MANIFEST_BYTES``, ``{"files": {PATH: SHA256}}``
  with every PATH relative, without ``.``/``..``/empty parts, control
  characters or a part longer than NAME_MAX (255 bytes); pruning deletes only regular files inside the root whose
  content still matches;
* a second writer: the whole check-and-write holds ``flock`` on the output
  directory itself (no lock file is left); another rcarkit waits up to
  ``LOCK_WAIT`` seconds, then exits 2 with "another rcarkit is writing DIR".

Long because every output path goes through here: the dir-fd walk, the
manifest validation, the lock and the signal cleanup belong together.
"""

import contextlib
import fcntl
import os
import re
import shutil
import signal
import stat
import threading
import time

from rcarkit.errors import ManifestError, OutputError, RcarkitError

MANIFEST = ".rcarkit-manifest.json"
MAX_MANIFEST_BYTES = 1 << 20        # ours are a few hundred bytes
MAX_GENERATED_BYTES = 16 << 20      # a bigger file is not one we generated
LOCK_WAIT = 10.0                    # seconds a second writer waits for the tree

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHA256 = re.compile(r"[0-9a-f]{64}")

# --- temporary files removed on a signal ------------------------------------

_LIVE_TEMPS = set()


def register_temp(path):
    """Remember a temporary file or directory to remove if a signal stops us."""
    _LIVE_TEMPS.add(os.path.abspath(os.fspath(path)))


def forget_temp(path):
    _LIVE_TEMPS.discard(os.path.abspath(os.fspath(path)))


def remove_live_temps():
    """Remove every registered temporary file or directory (signal handler and
    the CLI's last step; never follows a symlink)."""
    for path in list(_LIVE_TEMPS):
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass
        _LIVE_TEMPS.discard(path)


@contextlib.contextmanager
def signals_raise():
    """During the block SIGTERM and SIGHUP (the ssh session or serial console
    went away) remove the registered temporary files and raise
    ``SystemExit(128 + signal)``, so finally-blocks run; a signal the caller
    ignores (``nohup``) stays ignored. SIGINT already raises KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        remove_live_temps()
        raise SystemExit(128 + signum)

    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


# --- names ---------------------------------------------------------------

def refuse_control_chars(text, what, path=None):
    """Raise OutputError when ``text`` (a name written into a file or used as
    a path) holds a control character such as a newline."""
    found = _CONTROL.search(str(text))
    if found:
        raise OutputError("%s contains a control character (%r); refusing to write it"
                          % (what, found.group()), path=path if path is not None else None,
                          hint="rename it")
    return text


def _kind(mode):
    for test, name in ((stat.S_ISLNK, "a symlink"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def _refuse_special(st, path):
    if not stat.S_ISREG(st.st_mode):
        raise OutputError("is %s; rcarkit never replaces or writes through one" % _kind(st.st_mode),
                          path=path, hint="remove it or choose another path")


def _lstat(name, dir_fd=None):
    try:
        return os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return None


def _digest_fd(fd):
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        return None
    if st.st_size > MAX_GENERATED_BYTES:
        return "too-large"                  # matches no sha256: never ours
    import hashlib   # here, not at the top: every command imports this module
    digest = hashlib.sha256()
    left = MAX_GENERATED_BYTES + 1
    while left > 0:
        chunk = os.read(fd, min(1 << 20, left))
        if not chunk:
            break
        digest.update(chunk)
        left -= len(chunk)
    return digest.hexdigest() if left > 0 else "too-large"


def _digest_at(name, dir_fd=None, path=None):
    """SHA-256 of the regular file ``name``, or None when there is none; a
    symlink, FIFO or device raises OutputError without being opened."""
    st = _lstat(name, dir_fd)
    if st is None:
        return None
    _refuse_special(st, path or name)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError("cannot read: %s" % (exc.strerror or exc), path=path or name)
    try:
        digest = _digest_fd(fd)
    finally:
        os.close(fd)
    if digest is None:
        raise OutputError("is not a regular file; rcarkit never replaces one", path=path or name)
    return digest


def file_digest(path):
    """SHA-256 of the regular file at ``path`` (None when missing); a symlink,
    FIFO or device raises OutputError without being opened."""
    return _digest_at(os.fspath(path))


def sha256_text(text):
    import hashlib
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- directories walked without following symlinks ------------------------

def _open_dir(directory, parts, create, shown):
    """A descriptor of ``directory/parts...``, every part opened with
    O_NOFOLLOW (a symlinked directory raises OutputError), created when
    ``create``; ``directory`` itself may be a symlink (the user named it)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
    fd = os.open(directory, flags)
    try:
        done = directory
        for name in parts:
            done = os.path.join(done, name)
            if create:
                try:
                    os.mkdir(name, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
            try:
                nfd = os.open(name, flags | os.O_NOFOLLOW, dir_fd=fd)
            except OSError:
                st = _lstat(name, fd)
                if st is not None and stat.S_ISLNK(st.st_mode):
                    raise OutputError("is a symlink; rcarkit does not write through a "
                                      "symlinked directory", path=done,
                                      hint="remove it: %s goes inside it" % shown)
                if st is not None and not stat.S_ISDIR(st.st_mode):
                    raise OutputError("exists and is not a directory", path=done,
                                      hint="move it away: %s goes inside it" % shown)
                raise
            os.close(fd)
            fd = nfd
        return fd
    except BaseException:
        os.close(fd)
        raise


def _write_at(dir_fd, dirpath, name, text, mode):
    """Atomic write of ``name`` in the directory ``dir_fd`` (``dirpath``)."""
    path = os.path.join(dirpath, name)
    _, _, tail = name.rpartition("/")
    import secrets
    tmpname = ".%s.%s" % (tail, secrets.token_hex(4))
    tmppath = os.path.join(dirpath, tmpname)
    register_temp(tmppath)
    try:
        fd = os.open(tmpname, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                     | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
        try:
            data = text.encode("utf-8")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        st = _lstat(name, dir_fd)
        if st is not None:
            _refuse_special(st, path)
        os.replace(tmpname, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException as exc:
        try:
            os.unlink(tmpname, dir_fd=dir_fd)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OutputError("cannot write: %s" % (exc.strerror or exc), path=path)
        raise
    finally:
        forget_temp(tmppath)
    return path


def atomic_write_text(path, text, mode=0o644):
    """Write ``text`` to ``path`` atomically (temp file + rename in the same
    dir); a symlink, FIFO or device at ``path`` is refused, never replaced."""
    path = os.fspath(path)
    refuse_control_chars(path, "the output path", path=repr(path))
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise OutputError("cannot write: %s" % (exc.strerror or exc), path=path)
    try:
        _write_at(dir_fd, directory, os.path.basename(path), text, mode)
    finally:
        os.close(dir_fd)
    return path


# --- the manifest ----------------------------------------------------------

def check_relative(rel, manifest_path):
    """A manifest key (or generated name) must be a plain relative path."""
    def bad(why):
        raise ManifestError("lists %r: %s" % (rel, why), path=manifest_path,
                            hint="delete the manifest (rcarkit then treats every file as "
                                 "possibly edited) or fix that entry")
    if not isinstance(rel, str) or not rel:
        bad("not a file name")
    if _CONTROL.search(rel):
        bad("a control character in the name")
    if rel.startswith("/"):
        bad("an absolute path, outside the output directory")
    if any(part in ("", ".", "..") for part in rel.split("/")):
        bad("'..', '.' or an empty part: not a path inside the output directory")
    try:
        encoded = os.fsencode(rel)
    except UnicodeEncodeError:
        bad("characters no file name can hold")
    if any(len(part) > 255 for part in encoded.split(b"/")):
        bad("a name longer than 255 bytes (NAME_MAX)")
    return rel


def read_manifest(root, manifest_path):
    """``{relative path: sha256}`` from ``manifest_path`` ({} when absent)."""
    st = _lstat(manifest_path)
    if st is None:
        return {}
    if not stat.S_ISREG(st.st_mode):
        raise ManifestError("is %s, not the manifest rcarkit writes" % _kind(st.st_mode),
                            path=manifest_path, hint="remove it")
    if st.st_size > MAX_MANIFEST_BYTES:
        raise ManifestError("is larger than %d bytes; not a manifest rcarkit wrote"
                            % MAX_MANIFEST_BYTES, path=manifest_path, hint="remove it")
    try:
        fd = os.open(manifest_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as fh:
            raw = fh.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise ManifestError("cannot read: %s" % (exc.strerror or exc), path=manifest_path)
    hint = "delete it (rcarkit then treats every file as possibly edited) or restore it"
    try:
        import json
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ManifestError("is not valid JSON (%s)" % " ".join(str(exc).split())[:80],
                            path=manifest_path, hint=hint)
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise ManifestError('is not {"files": {PATH: SHA256, ...}}', path=manifest_path,
                            hint=hint)
    if not isinstance(data.get("generator", "rcarkit"), str):
        raise ManifestError('"generator" is not a string', path=manifest_path, hint=hint)
    files = {}
    real_root = os.path.realpath(root)
    for rel, digest in data["files"].items():
        check_relative(rel, manifest_path)
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ManifestError("lists %r with %r, not a SHA-256 hex digest" % (rel, digest),
                                path=manifest_path, hint=hint)
        inside = os.path.realpath(os.path.join(real_root, os.path.dirname(rel)))  # its directory
        if os.path.commonpath([real_root, inside]) != real_root:
            raise ManifestError("lists %r, which resolves outside %s" % (rel, root),
                                path=manifest_path, hint=hint)
        files[rel] = digest
    return files


# --- the tree -------------------------------------------------------------

class GeneratedTree:
    """Generated files under ``root``, protected against overwriting hand edits."""

    def __init__(self, root, force=False, lock_wait=LOCK_WAIT):
        self.root = os.fspath(root)
        refuse_control_chars(self.root, "the output directory", path=repr(self.root))
        self.force = force
        self.lock_wait = lock_wait
        self.manifest_path = os.path.join(self.root, MANIFEST)
        self.manifest = {}
        self.removed = []
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise OutputError("exists and is not a directory", path=self.root,
                              hint="choose another output directory")
        self.manifest = read_manifest(self.root, self.manifest_path)

    @contextlib.contextmanager
    def locked(self):
        """Hold ``flock`` on the output directory (created if missing)."""
        try:
            os.makedirs(self.root, exist_ok=True)
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise OutputError("cannot create: %s" % (exc.strerror or exc), path=self.root)
        try:
            deadline = time.monotonic() + self.lock_wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise OutputError("another rcarkit is writing %s" % self.root,
                                          hint="wait for it to finish, then run again")
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)            # releases the lock

    def _parts(self, rel):
        check_relative(rel, "generated file name")
        return rel.split("/")

    def check(self, files):
        """Refuse (before writing anything) if any target was edited by hand, or
        if a file stands where a directory must go (or the reverse), or a
        symlink, device or FIFO stands anywhere on the way: even ``force``
        does not replace those."""
        for rel in files:
            parts = self._parts(rel)
            for depth in range(1, len(parts)):
                parent = os.path.join(self.root, *parts[:depth])
                st = _lstat(parent)
                if st is None:
                    break
                if stat.S_ISLNK(st.st_mode):
                    raise OutputError("is a symlink; rcarkit does not write through a "
                                      "symlinked directory", path=parent,
                                      hint="remove it: %s goes inside it" % rel)
                if not stat.S_ISDIR(st.st_mode):
                    raise OutputError("exists and is not a directory", path=parent,
                                      hint="move it away: %s goes inside it" % rel)
            path = os.path.join(self.root, rel)
            st = _lstat(path)
            if st is not None and stat.S_ISDIR(st.st_mode):
                raise OutputError("is a directory", path=path,
                                  hint="move it away: rcarkit writes a file there")
            if st is not None:
                _refuse_special(st, path)
        if self.force:
            return
        for rel, text in files.items():
            path = os.path.join(self.root, rel)
            current = _digest_at(path)
            if current is None or current == sha256_text(text):
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
        :attr:`removed`. A stale file edited by hand, a symlink or anything
        not a regular file is left alone. The whole call holds the lock.
        """
        with self.locked():
            self.manifest = read_manifest(self.root, self.manifest_path)
            self.check(files)
            self.removed = []
            if prune:
                for rel in sorted(set(self.manifest) - set(files)):
                    self._prune(rel)
                    del self.manifest[rel]
            changed = []
            for rel in sorted(files):
                text = files[rel]
                if self._write(rel, text, (modes or {}).get(rel, 0o644)):
                    changed.append(os.path.join(self.root, rel))
                self.manifest[rel] = sha256_text(text)
            import json
            manifest = json.dumps({"generator": "rcarkit",
                                   "files": dict(sorted(self.manifest.items()))},
                                  indent=2, sort_keys=True) + "\n"
            self._write(MANIFEST, manifest, 0o644)
        return changed

    def _write(self, rel, text, mode):
        """Write one file unless it already holds ``text``; True if written."""
        parts = rel.split("/")
        dirpath = os.path.join(self.root, *parts[:-1])
        try:
            dir_fd = _open_dir(self.root, parts[:-1], True, rel)
        except OSError as exc:
            raise OutputError("cannot write: %s" % (exc.strerror or exc), path=dirpath)
        try:
            if _digest_at(parts[-1], dir_fd, os.path.join(dirpath, parts[-1])) \
                    == sha256_text(text):
                return False
            _write_at(dir_fd, dirpath, parts[-1], text, mode)
            return True
        finally:
            os.close(dir_fd)

    def _prune(self, rel):
        """Delete a stale generated file: only a regular file inside the root,
        reached without symlinks, whose content still matches the manifest."""
        parts = rel.split("/")
        path = os.path.join(self.root, rel)
        try:
            dir_fd = _open_dir(self.root, parts[:-1], False, rel)
        except (OSError, OutputError):
            return                      # gone, or behind a symlink: not ours to touch
        try:
            st = _lstat(parts[-1], dir_fd)
            if st is None or not stat.S_ISREG(st.st_mode):
                return
            if _digest_at(parts[-1], dir_fd, path) != self.manifest[rel]:
                return                  # edited by hand: the user's now
            try:
                os.unlink(parts[-1], dir_fd=dir_fd)
            except FileNotFoundError:
                return
            except OSError as exc:
                raise OutputError("cannot remove: %s" % (exc.strerror or exc), path=path)
            self.removed.append(path)
        finally:
            os.close(dir_fd)


def write_single(path, text, force=False):
    """One generated file outside a tree: refuse to replace different content
    unless ``force``; identical content is left untouched."""
    path = os.fspath(path)
    if not check_single(path, text, force):
        return path
    return atomic_write_text(path, text)


def check_single(path, text, force=False):
    """Raise what :func:`write_single` would refuse, before anything is written;
    return False when ``path`` already holds ``text`` (nothing to write).
    A symlink, FIFO or device is refused whatever ``force`` says."""
    path = os.fspath(path)
    refuse_control_chars(path, "the output path", path=repr(path))
    st = _lstat(path)
    if st is None:
        return True
    if stat.S_ISDIR(st.st_mode):
        raise OutputError("is a directory", path=path, hint="give a file name")
    _refuse_special(st, path)
    if _digest_at(path) == sha256_text(text):
        return False
    if not force:
        raise RcarkitError("exists with other content; not overwriting it", path=path,
                           hint="pass --force to replace it")
    return True
