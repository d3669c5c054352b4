"""Paths inside a board root, resolved the way a chroot would resolve them.

``check-node --root R`` usually runs as root on a mounted board image, and
the image's symlinks were made for the board, not for the machine reading
it: ``R/proc/config.gz -> /etc/shadow`` means the *board's* ``/etc/shadow``,
and ``R/lib/modules/x -> ../../../../..`` means no higher than ``R``.
:func:`resolve` walks a path one component at a time, like the kernel does
after ``chroot R``:

* a symlink is followed with its target interpreted inside ``R`` (an
  absolute target starts again at ``R``; a relative one from the link's
  directory);
* ``..`` never climbs above ``R`` (``R/..`` is ``R``);
* more than :data:`MAX_LINKS` symlinks on one path is a loop (``ELOOP``):
  the path counts as absent.

The result is a host path that is ``R`` or under it, whatever the links say.
A missing component ends the walk (the rest is appended without its ``..``
components: the kernel fails at the missing one too), so the result for a
path that does not exist is a path that does not exist inside ``R``.

:func:`valid_release` says whether a kernel release string (``uname -r``,
``proc/sys/kernel/osrelease``, a ``lib/modules`` entry) can be used as a path
component: letters, digits and ``. _ - + ~`` only, never ``.`` or ``..``.

:class:`rcarkit.node.probe.NodeRoot` and :mod:`rcarkit.node.modules` join
every path under a root through this module; nothing else in
:mod:`rcarkit.node` joins a root and a relative path itself.

The walk checks each component, then the caller opens the result: a
component swapped for a symlink in between would be followed by that open.
So every file read under a root is opened with ``within=`` the root's real
path (:func:`rcarkit.safe_read.open_regular`), which refuses a descriptor
that, once open, is not below the root (``/proc/self/fd``).
"""

import os
import re
import stat

#: Symlinks followed on one path before it is a loop (Linux: 40).
MAX_LINKS = 40

_RELEASE_RE = re.compile(r"[A-Za-z0-9._+~-]{1,64}")


def valid_release(text):
    """True when ``text`` is a kernel release usable as one path component."""
    return (isinstance(text, str) and _RELEASE_RE.fullmatch(text) is not None
            and text not in (".", ".."))


def resolve(root, rel):
    """The host path of ``rel`` (a path *inside* ``root``), every symlink re-rooted.

    ``root`` is an absolute host directory; ``rel`` may be absolute (``/proc``
    means ``root/proc``) or relative to ``root``. Returns None for a symlink
    loop or a name no file can have. The returned path is always ``root`` or
    below it.
    """
    root = os.path.abspath(os.fspath(root))
    done = []                       # resolved components below root
    todo = _parts(rel)[::-1]        # components still to walk, last first
    links = 0
    while todo:
        part = todo.pop()
        if part == "..":
            if done:
                done.pop()
            continue
        candidate = os.path.join(root, *done, part)
        try:
            mode = os.lstat(candidate).st_mode
        except ValueError:          # a NUL or unencodable character: no such file
            return None
        except OSError:             # absent (or not a directory): so is the rest
            done.append(part)
            done.extend(p for p in reversed(todo) if p != "..")
            break
        if not stat.S_ISLNK(mode):
            done.append(part)
            continue
        links += 1
        if links > MAX_LINKS:
            return None
        try:
            target = os.readlink(candidate)
        except OSError:
            return None
        if target.startswith("/"):
            done = []
        todo.extend(_parts(target)[::-1])
    return os.path.join(root, *done)


def _parts(path):
    return [p for p in os.fspath(path).split("/") if p and p != "."]
