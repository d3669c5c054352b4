"""Errors that reach the user as one line on stderr and a documented exit code.

Every user mistake (a missing file, garbage input, a bad option value) is raised
as a :class:`RcarkitError` by the library and turned into exactly one line on
stderr by the CLI, never a traceback.

Exit codes shared by every command:

====  =====================================================================
0     everything required is present / storage fits etcd with defaults
1     the check ran and found something to change (missing options, ...)
2     bad input or usage: unreadable, empty or garbage file, bad option
====  =====================================================================
"""

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class RcarkitError(Exception):
    """A user-facing error: ``str(err)`` is the one line printed on stderr."""

    exit_code = EXIT_USAGE

    def __init__(self, message, path=None, line=None, hint=None):
        self.message = message
        self.path = path
        self.line = line
        self.hint = hint
        super().__init__(self.render())

    def render(self):
        where = ""
        if self.path is not None:
            where = str(self.path)
            if self.line is not None:
                where += ":%d" % self.line
            where += ": "
        text = where + self.message
        if self.hint:
            text += " (" + self.hint + ")"
        return text


class ConfigError(RcarkitError):
    """A kernel configuration could not be read or understood."""


class ProfileError(RcarkitError):
    """A file in kconfig_profiles/ is malformed, or a profile name is unknown."""


class OutputError(RcarkitError):
    """A generated file or output directory cannot be written safely: a
    symlink, device or FIFO where a file goes, a symlinked directory inside
    an output tree, another rcarkit writing the same tree, a control
    character in a name."""


class ManifestError(OutputError):
    """``.rcarkit-manifest.json`` in an output directory is malformed or lists
    a path outside that directory."""
