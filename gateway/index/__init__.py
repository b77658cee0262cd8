"""The union index: clusters of member records that describe one work.

* :mod:`gateway.index.engine` — ``recluster_records(conn, ids)``, the incremental path called
  by ingest and harvest in the record change's own transaction
* :mod:`gateway.index.rebuild` — the bulk path (`libgate clusters rebuild`) and ``check``
* :mod:`gateway.index.merge` — the merged record (UnionRecord) of a cluster
* :mod:`gateway.index.explain` — what `libgate clusters show|explain` and the API return
* :mod:`gateway.index.decisions` — staff split / merge decisions that survive re-harvests
* :mod:`gateway.index.hooks` — ``clusters_changed(conn, ids)``, the seam for search and OAI
* :mod:`gateway.index.search` — search over the clusters (FTS5 / tsvector); its statements in
  :mod:`gateway.index.search_statements`, the dialect-specific text index in
  :mod:`gateway.index.search_sql`
The rules themselves are pure and live in :mod:`protocols.matching`.

The names below are imported when first asked for: a rebuild's worker process imports
``gateway.index.rebuild_work`` (pure) and must not pay for SQLAlchemy by way of this package.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"recluster_records": "gateway.index.engine", "ClusterPolicy": "gateway.index.policy",
         "configure": "gateway.index.policy", "current_policy": "gateway.index.policy"}

__all__ = ["ClusterPolicy", "configure", "current_policy", "recluster_records"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gateway.index' has no attribute {name!r}")
