"""Starting and stopping the real peers of ../shared/peers (Catmandu OAI-PMH, Zebra SRU).

Where the peers (or their Debian packages) cannot be had, the tests skip with the reason —
except under CI=true, where that is a failure.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.shared_data import SHARED, require_shared

PEERS = SHARED / "peers"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@contextlib.contextmanager
def peer(kind: str, marc_file: Path, port: int | None = None, **env: str) -> Iterator[str]:
    """Run ``oai-provider`` or ``sru-zebra`` on a free port serving ``marc_file``; yield its URL."""
    require_shared()
    start, stop = PEERS / f"{kind}-start.sh", PEERS / f"{kind}-stop.sh"
    if not start.exists():
        _unavailable(f"{start} not found")
    port = port or free_port()
    result = subprocess.run(["bash", str(start), str(marc_file), str(port)],
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, **env})
    if result.returncode != 0:
        _unavailable(f"{kind} peer did not start: {result.stderr.strip()[-500:]}")
    try:
        yield result.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(stop), str(port)], capture_output=True, timeout=60)
