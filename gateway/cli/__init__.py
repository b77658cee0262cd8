"""The `libgate` command line. Every command takes --db URL and --config FILE."""

from gateway.cli import clusters, harvest, members, records, serve, store  # noqa: F401  (register commands)
from gateway.cli.base import main

__all__ = ["main"]
