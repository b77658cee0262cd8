"""What `libgate serve` tidies in the background, every ``ill_check_interval`` seconds:

* files of expired delivery links are deleted (the link rows stay, marked purged, for audit);
* emergency-access checkouts past their expiry end, so their print copies lend again;
* members' listed status (``members.status``, and the holdings of the union index) follows the
  status periods when one starts or ends on its own date;
* signature nonces older than twice ``signature_max_age`` are forgotten (they can no longer
  verify, so they cannot be replayed).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from config.settings import Settings
from gateway import access_links, etas, posture
from gateway.security.signatures import forget_old_nonces
from gateway.store import Store

log = logging.getLogger(__name__)


async def tidy(store: Store, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    now = now or datetime.now(UTC)
    async with store.begin() as conn:
        purged = await access_links.purge_expired(conn, now=now)
    async with store.begin() as conn:
        statuses = await posture.sync_status_mirror(conn, now.date())
    expired = await etas.expire_checkouts(store, now)
    forgotten = await forget_old_nonces(store, timedelta(seconds=settings.signature_max_age))
    return {"links_purged": purged, "checkouts_expired": expired, "nonces_forgotten": forgotten,
            "statuses_changed": len(statuses)}


async def run(store: Store, settings: Settings, interval: float) -> None:
    while True:
        try:
            done = await tidy(store, settings)
            if any(done.values()):
                log.info("housekeeping: %s", ", ".join(f"{k} {v}" for k, v in done.items()))
        except (OSError, sa.exc.SQLAlchemyError) as exc:
            log.error("housekeeping failed: %s", exc)
        await asyncio.sleep(interval)
