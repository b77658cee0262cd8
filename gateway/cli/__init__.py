"""The `libgate` command line. Every command takes --db URL and --config FILE."""

from gateway.cli import (  # noqa: F401  (register commands)
    eresources,
    harvest,
    ill,
    members,
    records,
    security,
    serve,
    store,
)
from gateway.cli.base import main

__all__ = ["main"]
