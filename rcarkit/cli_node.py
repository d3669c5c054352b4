"""Typer command(s) for node (stub: being built)."""


def register(app):
    """Add this module's command(s) to the rcarkit app."""
