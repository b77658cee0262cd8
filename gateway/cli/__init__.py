"""The `libgate` command line. Every command takes --db URL and --config FILE."""

from gateway.cli import (  # noqa: F401  (register commands)
    clusters,
    eresources,
    harvest,
    ill,
    members,
    oai,
    records,
    search,
    security,
    serve,
    store,
)
from gateway.cli.base import main

__all__ = ["main"]
