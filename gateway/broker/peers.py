"""The members on a request (its requester and rota) as the broker needs them, cached.

Every received message needs its request's peers (endpoint, ISO 18626 version, response
deadline, today's service status); they change rarely, so they are kept ``ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gateway.policy import LendingPolicy
from gateway.posture import effective_statuses
from gateway.store import Store
from gateway.store.schema import endpoints, members
from protocols.iso18626.codes import Version

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Peer:
    """A member on the rota (or the requester) as the broker needs it."""

    id: int
    code: str
    url: str | None                    # its ISO 18626 endpoint; None: served inside LibGate
    version: Version
    response_hours: float
    status: str                        # service status today


async def load_peers(conn: Any, member_ids: list[int], day) -> dict[int, Peer]:
    rows = (await conn.execute(sa.select(members.c.id, members.c.code, members.c.policy)
                               .where(members.c.id.in_(member_ids)))).all()
    urls = {r.member_id: r for r in (await conn.execute(
        sa.select(endpoints.c.member_id, endpoints.c.url, endpoints.c.options)
        .where(endpoints.c.member_id.in_(member_ids) & (endpoints.c.type == "iso18626")
               & endpoints.c.enabled.is_(True)).order_by(endpoints.c.id.desc()))).all()}
    statuses = await effective_statuses(conn, day, [r.code for r in rows])
    peers = {}
    for r in rows:
        endpoint = urls.get(r.id)
        version = Version((endpoint.options or {}).get("version", "1.2")) if endpoint \
            else Version.V1_2
        policy = LendingPolicy.from_json(r.policy, f"policy of {r.code}")
        peers[r.id] = Peer(r.id, r.code, endpoint.url if endpoint else None, version,
                           policy.response_hours,
                           statuses[r.code].status if r.code in statuses else "open")
    return peers


class PeerCache:
    """Peers by member id, kept ``ttl`` seconds (every received message needs them; a member's
    endpoint, policy or status changes rarely). ``forget`` after a known change.

    One load at a time: concurrent messages that miss the same peers wait for one load
    instead of each running the same three queries. And messages do not wait for a refresh:
    entries past ``ttl`` are still used (up to ``STALE`` ttls) while one background refresh
    runs — every 5 s, all messages in flight used to stop for a load through aiosqlite."""

    STALE = 3

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._peers: dict[int, tuple[float, Peer]] = {}
        self._loading: asyncio.Lock | None = None
        self._generation = 0
        self._refresh: asyncio.Task | None = None

    def forget(self) -> None:
        self._peers.clear()
        self._generation += 1           # a load running now must not store what it read

    async def get(self, conn: Any, ids: list[int], day) -> dict[int, Peer]:
        return await self._get(ids, day, lambda missing: load_peers(conn, missing, day))

    async def load(self, store: Store, ids: list[int], day) -> dict[int, Peer]:
        """Like ``get``, opening a connection only if the peers are still missing once this
        caller's turn to load comes."""
        async def from_store(missing: list[int]) -> dict[int, Peer]:
            async with store.connect() as conn:
                return await load_peers(conn, missing, day)
        return await self._get(ids, day, from_store)

    async def _get(self, ids: list[int], day, load) -> dict[int, Peer]:
        found = self._fresh(ids)
        if len(found) == len(ids):
            return found
        if self._loading is None:
            self._loading = asyncio.Lock()
        async with self._loading:
            found = self._fresh(ids)     # loaded meanwhile by the caller before this one
            missing = [i for i in ids if i not in found]
            if missing:
                now, generation = time.monotonic(), self._generation
                loaded = await load(missing)
                if generation == self._generation:
                    for i, peer in loaded.items():
                        self._peers[i] = (now, peer)
                found.update(loaded)
        return found

    def _fresh(self, ids: list[int]) -> dict[int, Peer]:
        now = time.monotonic()
        return {i: p for i, (at, p) in ((i, self._peers.get(i, (0.0, None))) for i in ids)
                if p is not None and now - at < self.ttl}

    def fresh(self, ids: list[int]) -> dict[int, Peer] | None:
        """The peers if all are cached and fresh, else None (no I/O)."""
        found = self._fresh(ids)
        return found if len(found) == len(ids) else None

    def usable(self, ids: list[int], store: Store, day) -> dict[int, Peer] | None:
        """The peers if all are cached and fresh; if some are past ``ttl`` (but not past
        ``STALE`` ttls) these still, with a refresh started in the background; else None."""
        now, found, stale = time.monotonic(), {}, False
        for i in ids:
            at, peer = self._peers.get(i, (0.0, None))
            if peer is None or now - at >= self.STALE * self.ttl:
                return None
            stale = stale or now - at >= self.ttl
            found[i] = peer
        if stale and (self._refresh is None or self._refresh.done()):
            self._refresh = asyncio.get_running_loop().create_task(self.load(store, ids, day))
            self._refresh.add_done_callback(_log_failure)
        return found


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("ILL peer refresh failed: %s", task.exception())


__all__ = ["Peer", "PeerCache", "load_peers"]
