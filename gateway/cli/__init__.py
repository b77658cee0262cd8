"""The `libgate` command line. Every command takes --db URL and --config FILE."""

from gateway.cli import harvest, members, records, serve, store  # noqa: F401  (register commands)
from gateway.cli import oai  # noqa: F401  (registers `libgate oai`)
from gateway.cli.base import main

__all__ = ["main"]
