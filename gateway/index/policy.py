"""The clustering knobs, read from the settings table (config/settings.py).

The write paths (ingest, harvest) call ``recluster_records(conn, ids)`` without settings at
hand, so the process-wide policy is set once where settings are loaded (`create_app`, the CLI)
with :func:`configure`; until then the defaults of the settings table apply.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from protocols.matching import MatchPolicy

DEFAULT_REBUILD_WORKERS = min(2, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class ClusterPolicy:
    key_limit: int = 50            # cluster_key_limit: a key held by more records finds none
    max_size: int = 500            # cluster_max_size: no automatic join past this many records
    ignored: frozenset[str] = frozenset()   # cluster_ignore_keys: "isbn:978…" never evidence
    neighbourhood_limit: int = 20000
    rebuild_workers: int = DEFAULT_REBUILD_WORKERS   # cluster_rebuild_workers

    @property
    def match_policy(self) -> MatchPolicy:
        return MatchPolicy(ignored=self.ignored)


def parse_ignored(text: str) -> frozenset[str]:
    """"isbn:9780000000002, oclc:1" → {"isbn:9780000000002", "oclc:1"}."""
    return frozenset(part.strip() for part in text.replace("\n", ",").split(",") if part.strip())


_current = ClusterPolicy()


def configure(settings) -> ClusterPolicy:  # settings: config.settings.Settings
    """Take the cluster_* settings as the process-wide policy."""
    global _current
    _current = ClusterPolicy(key_limit=settings.cluster_key_limit,
                             max_size=settings.cluster_max_size,
                             ignored=parse_ignored(settings.cluster_ignore_keys),
                             rebuild_workers=settings.cluster_rebuild_workers)
    return _current


def current_policy() -> ClusterPolicy:
    return _current
