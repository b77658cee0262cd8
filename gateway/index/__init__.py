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
"""

from gateway.index.engine import recluster_records
from gateway.index.policy import ClusterPolicy, configure, current_policy

__all__ = ["ClusterPolicy", "configure", "current_policy", "recluster_records"]
