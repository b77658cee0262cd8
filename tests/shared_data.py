"""Where the shared test data lives, and how a test asks for it.

    from tests.shared_data import SHARED, require_shared

``SHARED`` is the ``shared/`` folder beside the repository (``../shared`` from the repo root).
Tests read real data from there and never copy it into the repo. ``require_shared()`` skips
a test when the folder is missing on a developer's machine, but fails it in CI (``CI=true``),
where a missing data folder is a broken setup, not a reason to go green.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DATA = SHARED / "data"


def require_shared(*parts: str) -> Path:
    """Return ``SHARED / parts...``; skip the test if it is missing (fail when CI == "true")."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"../shared not found: {path} does not exist"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: the shared data must be there)")
        pytest.skip(message)
    return path
