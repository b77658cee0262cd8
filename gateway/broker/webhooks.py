"""Webhooks: a member registers URLs to hear about its requests' state changes.

Each notification is a JSON POST signed like an ISO 18626 message (RFC 9421, LibGate's key
``libgate#gateway``, covering method, target URI, Content-Digest and Content-Type), so the
member verifies it with the key published at ``/.well-known/jwks.json`` — there is no shared
secret to store or leak. Delivery is best effort: one try, failures logged (without the URL's
credentials).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp
import sqlalchemy as sa

from gateway.registry import RegistryError, member_id, validate_url
from gateway.store import Store
from gateway.store.schema import ill_webhooks
from protocols.redaction import redact_url

if TYPE_CHECKING:
    from gateway.broker.engine import Broker
    from gateway.broker.state import Draft

log = logging.getLogger(__name__)


async def register(conn, member: str, url: str) -> dict[str, Any]:
    validate_url(url, "webhook")
    mid = await member_id(conn, member)
    new_id = (await conn.execute(ill_webhooks.insert().values(
        member_id=mid, url=url, created_at=datetime.now(UTC)).returning(ill_webhooks.c.id))
    ).scalar_one()
    return {"id": new_id, "member": member, "url": redact_url(url)}


async def remove(conn, member: str, webhook_id: int) -> None:
    mid = await member_id(conn, member)
    gone = await conn.execute(ill_webhooks.delete().where(
        (ill_webhooks.c.id == webhook_id) & (ill_webhooks.c.member_id == mid)))
    if not gone.rowcount:
        raise RegistryError(f"{member} has no webhook {webhook_id}")


async def listed(conn, member: str) -> list[dict[str, Any]]:
    mid = await member_id(conn, member)
    rows = (await conn.execute(sa.select(ill_webhooks).where(ill_webhooks.c.member_id == mid)
                               .order_by(ill_webhooks.c.id))).all()
    return [{"id": r.id, "member": member, "url": redact_url(r.url)} for r in rows]


class Webhooks:
    """Sends state changes to the URLs of the parties (cached list, reloaded every 30 s; one
    reload at a time, not one per concurrent notification)."""

    MAX_AGE = 30.0

    def __init__(self, store: Store, broker: Broker) -> None:
        self.store = store
        self.broker = broker
        self._urls: dict[int, list[str]] = {}
        self._loaded = 0.0
        self._loading: asyncio.Lock | None = None
        self._generation = 0

    def forget(self) -> None:
        self._loaded = 0.0
        self._generation += 1           # a reload running now may predate the change

    async def _targets(self, member_ids: set[int]) -> list[str]:
        if time.monotonic() - self._loaded > self.MAX_AGE:
            if self._loading is None:
                self._loading = asyncio.Lock()
            async with self._loading:
                asked = time.monotonic()
                if asked - self._loaded > self.MAX_AGE:     # not reloaded while waiting
                    generation = self._generation
                    async with self.store.connect() as conn:
                        rows = (await conn.execute(sa.select(ill_webhooks.c.member_id,
                                                             ill_webhooks.c.url))).all()
                    urls: dict[int, list[str]] = {}
                    for row in rows:
                        urls.setdefault(row.member_id, []).append(row.url)
                    self._urls = urls
                    self._loaded = asked if generation == self._generation else 0.0
        return [url for mid in member_ids for url in self._urls.get(mid, [])]

    def notify(self, draft: Draft) -> None:
        parties = {draft.row.requester_id}
        lender = draft.lender()
        if lender is not None:
            parties.add(lender.id)
        event = {"request": draft.row.id, "ref": draft.row.ref, "state": draft.get("state"),
                 "status": draft.txn.status.value if draft.txn.status else None,
                 "lender": lender.code if lender else None, "events": list(draft.events),
                 "at": draft.now.isoformat()}
        self.broker.spawn(self._send(parties, event))

    async def _send(self, parties: set[int], event: dict[str, Any]) -> None:
        session = self.broker.session
        targets = await self._targets(parties)
        if session is None or not targets:
            return
        body = json.dumps(event).encode()
        for url in targets:
            headers = self.broker.sign("POST", url, {"Content-Type": "application/json"}, body)
            try:
                async with session.post(url, data=body, headers=dict(headers)) as response:
                    if response.status >= 300:
                        log.warning("webhook %s answered HTTP %s", redact_url(url),
                                    response.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("webhook %s failed: %s", redact_url(url), exc.__class__.__name__)


__all__ = ["Webhooks", "register", "remove", "listed"]
