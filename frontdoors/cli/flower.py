"""``modelwatch flower``: Flower (Celery's web monitor) on this modelwatch's broker.

The same as ``celery -A workers.app flower``, with safer defaults: it listens on 127.0.0.1
unless told otherwise, and refuses to listen on any other address without basic auth
(``FLOWER_BASIC_AUTH=user:password``, read by Flower from the environment, so the password
never shows in the process list).
"""

from __future__ import annotations

import os
import sys

import click

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(main: click.Group) -> None:
    main.add_command(flower)


def flower_command(port: int, address: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "workers.app", "flower", f"--port={port}", f"--address={address}"]


@click.command()
@click.option("--port", default=5555, show_default=True, type=click.IntRange(1, 65535))
@click.option("--address", default="127.0.0.1", show_default=True, help="Interface to listen on.")
def flower(port: int, address: str) -> None:
    """Run Flower (tasks, workers, queues) for this modelwatch's broker."""
    if address not in LOOPBACK and not os.environ.get("FLOWER_BASIC_AUTH"):
        raise click.UsageError(f"refusing to serve Flower on {address} without a password: "
                               "set FLOWER_BASIC_AUTH=user:password (or listen on 127.0.0.1)")
    command = flower_command(port, address)
    click.echo(f"Flower on http://{address}:{port}/ (Ctrl-C stops it)", err=True)
    os.execv(command[0], command)
