"""The seam between the union index and what is built on it (search, OAI-PMH sets).

After clusters change, the index calls ``await clusters_changed(conn, changed_ids)`` in the
same transaction. The search rows (``gateway.index.search.reindex_clusters``) and the OAI-PMH
set memberships (``gateway.oai_provider.refresh_sets``) are the standing listeners, wired here
once (imported lazily: both modules read the index's tables, and the index must not import
them at load time). Other parts may :func:`register` more coroutine functions
``(conn, ids) -> None``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping

from sqlalchemy.ext.asyncio import AsyncConnection

from protocols.union import UnionRecord

ClustersChanged = Callable[[AsyncConnection, Collection[int]], Awaitable[None]]

_LISTENERS: list[ClustersChanged] = []
_STANDING: list[Callable[..., Awaitable[None]]] = []   # also take merged=…


def _standing() -> list[Callable[..., Awaitable[None]]]:
    if not _STANDING:
        from gateway.index.search import reindex_clusters
        from gateway.oai_provider import refresh_sets
        _STANDING.extend([reindex_clusters, refresh_sets])
    return _STANDING


def register(listener: ClustersChanged) -> None:
    """Call ``listener(conn, cluster_ids)`` whenever clusters change (idempotent)."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def unregister(listener: ClustersChanged) -> None:
    if listener in _LISTENERS:
        _LISTENERS.remove(listener)


async def clusters_changed(conn: AsyncConnection, changed_ids: Collection[int], *,
                           standing: bool = True,
                           merged: Mapping[int, UnionRecord] | None = None,
                           created: Collection[int] = ()) -> None:
    """Tell every registered listener which clusters changed (added, updated or deleted).

    ``standing=False``: the caller has already rewritten these clusters' search rows and OAI
    sets in bulk (`libgate clusters rebuild`); only the other registered listeners run.
    ``merged``: the merged records just written (live clusters only): the standing listeners
    take them from here instead of reading ``clusters.merged`` back. ``created``: clusters
    made in this transaction, which have no search rows or sets to remove first."""
    if not changed_ids:
        return
    if standing:
        for listener in _standing():
            await listener(conn, changed_ids, merged=merged, created=created)
    for listener in _LISTENERS:
        await listener(conn, changed_ids)
