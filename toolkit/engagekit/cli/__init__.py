"""The ``engagekit`` command line (Typer), split by command group."""

from engagekit.cli.app import app, main

__all__ = ["app", "main"]
