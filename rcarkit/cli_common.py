"""Helpers shared by the typer commands: one-line errors, output, format checks.

The CLI layer only parses arguments, calls the library and renders; every
:class:`rcarkit.errors.RcarkitError` becomes one line on stderr and its exit
code, never a traceback.
"""

import contextlib
import sys

import typer

from .errors import EXIT_USAGE, RcarkitError


@contextlib.contextmanager
def user_errors():
    """Turn library errors into ``rcarkit: error: ...`` and the right exit code."""
    try:
        yield
    except RcarkitError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("rcarkit: interrupted", err=True)
        raise typer.Exit(130)
    except BrokenPipeError:
        raise typer.Exit(0)


def fail(message, code=EXIT_USAGE):
    """Print one error line on stderr and exit with ``code``."""
    typer.echo("rcarkit: error: %s" % " ".join(str(message).split()), err=True)
    raise typer.Exit(code)


def check_choice(value, choices, option):
    if value not in choices:
        fail("%s must be one of %s, not %r" % (option, ", ".join(choices), value))
    return value


def emit(text):
    """Write ``text`` to stdout (already newline-terminated)."""
    sys.stdout.write(text)
    sys.stdout.flush()
