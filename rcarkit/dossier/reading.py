"""Reading report inputs safely: regular files only, at most ``MAX_BYTES``, JSON objects.

Every refusal is one :class:`rcarkit.errors.RcarkitError` naming the file and the fix.
"""

import json
import os
import stat

from rcarkit.errors import RcarkitError

MAX_BYTES = 16 * 1024 * 1024


def read_text_file(path, max_bytes=MAX_BYTES):
    """The text of one regular file of at most ``max_bytes`` (see the module doc)."""
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise RcarkitError("cannot read: %s" % (exc.strerror or exc), path=path)
    if not stat.S_ISREG(st.st_mode):
        raise RcarkitError("not a regular file", path=path,
                           hint="give the JSON files written with --format json")
    if st.st_size > max_bytes:
        raise RcarkitError("too large for a report document (%d bytes, at most %d)"
                           % (st.st_size, max_bytes), path=path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise RcarkitError("cannot read: %s" % (exc.strerror or exc), path=path)
    return data.decode("utf-8", errors="replace")


def read_json_file(path, max_bytes=MAX_BYTES):
    """Parse one JSON file with the hostile-input rules of the module doc."""
    text = read_text_file(path, max_bytes)
    start = text.find("{")
    if start > 0 and "fio" in text[:start]:   # fio may print notes before its JSON
        text = text[start:]
    try:
        return json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise RcarkitError("not JSON: %s" % getattr(exc, "msg", exc), path=path, line=line,
                           hint="write it with --format json")
