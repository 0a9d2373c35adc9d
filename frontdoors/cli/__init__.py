"""The ``modelwatch`` command line."""

from frontdoors.cli.main import main

__all__ = ["main"]
