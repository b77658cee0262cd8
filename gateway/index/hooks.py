"""The seam between the union index and what is built on it (search, OAI-PMH sets).

After clusters change, the index calls ``await clusters_changed(conn, changed_ids)`` in the
same transaction. Other parts register a coroutine function ``(conn, ids) -> None`` with
:func:`register` (e.g. ``register(search.reindex_clusters)``); the integrator wires them in
one place. With nothing registered this is a no-op.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from sqlalchemy.ext.asyncio import AsyncConnection

ClustersChanged = Callable[[AsyncConnection, Collection[int]], Awaitable[None]]

_LISTENERS: list[ClustersChanged] = []


def register(listener: ClustersChanged) -> None:
    """Call ``listener(conn, cluster_ids)`` whenever clusters change (idempotent)."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def unregister(listener: ClustersChanged) -> None:
    if listener in _LISTENERS:
        _LISTENERS.remove(listener)


async def clusters_changed(conn: AsyncConnection, changed_ids: Collection[int]) -> None:
    """Tell every registered listener which clusters changed (added, updated or deleted)."""
    if not changed_ids:
        return
    for listener in list(_LISTENERS):
        await listener(conn, changed_ids)
