"""The command line: a thin typer layer, one module per command, that only
parses options, calls the library and renders (:mod:`rcarkit.cli.app` holds the
application and ``check-kernel``; :mod:`rcarkit.cli.common` the shared options).
Nothing below ``rcarkit.cli`` is imported by the library.
"""
