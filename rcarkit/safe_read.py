"""Read input files with a cap, refusing anything that is not a regular file.

Every file rcarkit reads from a user (a kernel config, a profile TOML, a
Kconfig, a Makefile, a fragment, a file under ``check-node --root``) goes
through :func:`read_capped`:

* the file is opened with ``O_NONBLOCK`` (a FIFO without a writer does not
  hang the open) and checked with ``fstat`` on the open descriptor, so a FIFO,
  a character device (``/dev/zero``), a socket or a symlink to one of these is
  refused with one line (exit 2) before a byte is read;
* at most ``limit`` bytes are read; a larger file is an error, never an
  out-of-memory kill;
* ``-`` means standard input (whatever it is: a pipe is the point), read with
  the same cap;
* ``within=DIR`` (``check-node --root``): after the open, the file the
  descriptor really is (``/proc/self/fd/N``) must lie under ``DIR``, else it
  is refused. :mod:`rcarkit.node.rootfs` resolves a path before it is opened;
  this closes the window in which a component could be swapped for a symlink
  leading out of the root between that check and the open. Without procfs
  (``/proc/self/fd`` unreadable) the resolution alone stands.

:func:`decompress_capped` inflates gzip, xz, bzip2 and zstd streams in 1 MiB
steps and stops past its cap while it streams, so a decompression bomb costs
the cap, not the machine.
"""

import errno
import os
import stat
import sys

from rcarkit.errors import RcarkitError

_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISDIR, "a directory"))


def _kind(mode):
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def fd_within(fd, directory):
    """False when open descriptor ``fd`` is a file outside ``directory`` (a real
    path, no symlinks); True inside it, or when procfs cannot tell."""
    try:
        actual = os.readlink("/proc/self/fd/%d" % fd)
    except OSError:
        return True
    top = directory.rstrip("/")
    return actual == top or actual.startswith(top + "/")


def open_regular(path, error=RcarkitError, within=None):
    """An open binary file object for the regular file at ``path``.

    Raises ``error`` (an :class:`RcarkitError` class) naming the path for a
    missing, unreadable or non-regular file, or (``within``) one that is not
    below that real directory once open.
    """
    path = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error("no such file", path=path)
    except PermissionError:
        raise error("permission denied", path=path, hint="run as a user that can read it")
    except IsADirectoryError:
        raise error("is a directory, not a file", path=path)
    except OSError as exc:
        if exc.errno == errno.ENXIO:   # a socket, or a FIFO opened for writing
            raise error("is not a regular file", path=path)
        raise error("cannot read: %s" % (exc.strerror or exc), path=path)
    try:
        mode = os.fstat(fd).st_mode
    except OSError as exc:  # pragma: no cover - fstat on an open fd
        os.close(fd)
        raise error("cannot read: %s" % exc.strerror, path=path)
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise error("is %s, not a regular file" % _kind(mode), path=path,
                    hint="pass a regular file")
    if within is not None and not fd_within(fd, within):
        os.close(fd)
        raise error("led out of %s when opened (a symlink changed under it)" % within,
                    path=path, hint="is something changing the tree while it is read?")
    return os.fdopen(fd, "rb")


def read_capped(path, limit, error=RcarkitError, what="file", within=None):
    """The bytes of the regular file at ``path`` (``-``: standard input), at most
    ``limit`` (``within``: see :func:`open_regular`)."""
    path = os.fspath(path)
    if path == "-":
        fh, name, close = sys.stdin.buffer, "<stdin>", False
    else:
        fh, name, close = open_regular(path, error, within), path, True
    try:
        data = fh.read(limit + 1)
    except OSError as exc:
        raise error("cannot read: %s" % (exc.strerror or exc), path=name)
    finally:
        if close:
            fh.close()
    if len(data) > limit:
        raise error("%s is larger than %s; refusing to read it" % (what, _size(limit)),
                    path=name)
    return data


def read_text_capped(path, limit, error=RcarkitError, what="file"):
    """:func:`read_capped` decoded as UTF-8; other bytes are an error naming the line."""
    data = read_capped(path, limit, error, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error("not UTF-8 text (byte 0x%02x)" % data[exc.start], path=os.fspath(path),
                    line=line, hint="save the file as UTF-8")


def _size(n):
    return "%d MiB" % (n >> 20) if n >= 1 << 20 else "%d KiB" % max(1, n >> 10)


def decompressed_chunks(data, how, step=1 << 20, status=None):
    """Decompress the stream at the start of ``data`` in ``step``-sized pieces.

    ``how`` is ``gzip``, ``xz``, ``lzma``, ``bzip2`` or ``zstd``. Memory stays at
    one piece at a time. ``status["end"]`` tells how it ended: ``eof``,
    ``damaged`` (``status["error"]`` says why) or ``truncated``.
    """
    status = {} if status is None else status
    status["end"] = "truncated"
    if how == "zstd":
        yield from _zstd_chunks(data, step, status)
        return
    import zlib
    if how == "gzip":
        dec, errors = zlib.decompressobj(16 + zlib.MAX_WBITS), (zlib.error,)
    elif how in ("xz", "lzma"):
        import lzma
        fmt = lzma.FORMAT_XZ if how == "xz" else lzma.FORMAT_ALONE
        dec, errors = lzma.LZMADecompressor(format=fmt), (lzma.LZMAError,)
    else:
        import bz2
        dec, errors = bz2.BZ2Decompressor(), (OSError, ValueError)
    view = memoryview(data)
    pos = 0
    pending = b""
    try:
        while True:
            # input goes in in bounded slices: zlib's unconsumed_tail is a copy
            if how == "gzip":
                if not pending:
                    pending = view[pos:pos + _IN_STEP]
                    pos += len(pending)
                chunk = dec.decompress(pending, step)
                pending = dec.unconsumed_tail
            else:
                piece = b""
                if dec.needs_input:
                    piece = view[pos:pos + _IN_STEP]
                    pos += len(piece)
                    if not piece:
                        return
                chunk = dec.decompress(piece, max_length=step)
            if chunk:
                yield chunk
            if dec.eof:
                status["end"] = "eof"
                return
            if how == "gzip" and not chunk and not pending and pos >= len(view):
                return
    except errors + (EOFError,) as exc:
        status["end"] = "damaged"
        status["error"] = str(exc)


_IN_STEP = 256 * 1024


def _zstd_chunks(data, step, status):
    import io
    try:
        import zstandard
    except ImportError:  # pragma: no cover - zstandard is a dependency
        status["end"] = "damaged"
        status["error"] = "the zstandard module is not installed"
        return
    # zstandard's decompressobj has no output limit: feed it 256-byte slices,
    # so one call yields at most ~85 blocks (~11 MiB) whatever the ratio
    obj = zstandard.ZstdDecompressor().decompressobj()
    view = memoryview(data)
    try:
        for pos in range(0, len(view), 256):
            chunk = obj.decompress(view[pos:pos + 256].tobytes())
            if chunk:
                yield chunk
            if getattr(obj, "eof", False):
                status["end"] = "eof"
                return
    except zstandard.ZstdError as exc:
        status["end"] = "damaged"
        status["error"] = str(exc)
        return
    if not hasattr(obj, "eof"):  # pragma: no cover - old zstandard without .eof
        status["end"] = "eof"


def decompress_capped(data, how, limit, error=RcarkitError, path=None):
    """The whole decompressed ``data``; ``error`` past ``limit`` bytes or on damage."""
    status = {}
    out = bytearray()
    for chunk in decompressed_chunks(data, how, status=status):
        out += chunk
        if len(out) > limit:
            raise error("%s data expands past %s (decompression bomb?)" % (how, _size(limit)),
                        path=path)
    if status["end"] == "damaged":
        raise error("corrupt %s data: %s" % (how, status["error"]), path=path)
    if status["end"] != "eof":
        raise error("truncated %s data" % how, path=path)
    return bytes(out)
