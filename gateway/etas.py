"""Emergency temporary access (as HathiTrust's ETAS): during an emergency, a user of a closed
(or digital-only) member may read a digitized copy of a work the member holds in print — one concurrent reader per
print copy held — while those print copies count as unavailable for loan.

A checkout takes a numbered slot (1..print copies); the unique index on live slots
(``uq_etas_live_slot``) is what makes two readers racing for the last copy end with exactly one
winner, on SQLite and PostgreSQL alike. Each slot attempt is its own transaction, so a lost race
never aborts anything else. Checkouts expire (and may be renewed); every one is kept for the
consortium's report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.posture import current_emergency, effective_statuses
from gateway.registry import RegistryError, member_id
from gateway.store import Store
from gateway.store.schema import (
    cluster_records,
    digitized_records,
    etas_checkouts,
    holdings,
    members,
    records,
)


ACCESS_STATUSES = ("closed", "digital-only")   # members whose print collection is out of reach


class AccessRefused(RegistryError):
    status_hint = 409


@dataclass(slots=True, frozen=True)
class Checkout:
    id: int
    member: str
    cluster_id: int
    slot: int
    reader: str
    digital_member: str
    expires_at: datetime

    def to_json(self) -> dict:
        return {"id": self.id, "member": self.member, "cluster": self.cluster_id,
                "slot": self.slot, "reader": self.reader, "digital_member": self.digital_member,
                "expires_at": self.expires_at.isoformat()}


async def mark_digitized(conn: AsyncConnection, member: str, local_ids: list[str],
                         url: str | None = None) -> int:
    mid = await member_id(conn, member)
    existing = set((await conn.execute(sa.select(digitized_records.c.local_id).where(
        (digitized_records.c.member_id == mid)
        & digitized_records.c.local_id.in_(local_ids)))).scalars())
    new = [lid for lid in dict.fromkeys(local_ids) if lid not in existing]
    if new:
        now = datetime.now(UTC)
        await conn.execute(digitized_records.insert(), [
            {"member_id": mid, "local_id": lid, "url": url, "added_at": now} for lid in new])
    return len(new)


async def print_copies(conn: AsyncConnection, mid: int, cluster_id: int) -> int:
    """Copies the member holds of the work (its holdings on records of the cluster)."""
    return await conn.scalar(
        sa.select(sa.func.count()).select_from(
            holdings.join(cluster_records, cluster_records.c.record_id == holdings.c.record_id))
        .where((cluster_records.c.cluster_id == cluster_id) & (holdings.c.member_id == mid))) or 0


async def active_checkouts(conn: AsyncConnection, mid: int, cluster_id: int,
                           now: datetime) -> int:
    return await conn.scalar(sa.select(sa.func.count()).select_from(etas_checkouts).where(
        (etas_checkouts.c.member_id == mid) & (etas_checkouts.c.cluster_id == cluster_id)
        & etas_checkouts.c.live.is_(True) & (etas_checkouts.c.expires_at > now))) or 0


async def copies_available_for_loan(conn: AsyncConnection, mid: int, cluster_id: int,
                                    now: datetime | None = None) -> int:
    """Print copies minus those blocked by live digital checkouts (what the rota may lend)."""
    now = now or datetime.now(UTC)
    return max(0, await print_copies(conn, mid, cluster_id)
               - await active_checkouts(conn, mid, cluster_id, now))


async def _digital_source(conn: AsyncConnection, mid: int, cluster_id: int) -> str | None:
    """A member (not the reader's) that holds a digitized copy of the work."""
    return await conn.scalar(
        sa.select(members.c.code).select_from(
            cluster_records.join(records, records.c.id == cluster_records.c.record_id)
            .join(digitized_records, (digitized_records.c.member_id == records.c.member_id)
                  & (digitized_records.c.local_id == records.c.local_id))
            .join(members, members.c.id == records.c.member_id))
        .where((cluster_records.c.cluster_id == cluster_id) & (records.c.member_id != mid)
               & records.c.deleted.is_(False))
        .order_by(members.c.code).limit(1))


async def expire_checkouts(store: Store, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    async with store.begin() as conn:
        result = await conn.execute(etas_checkouts.update().where(
            etas_checkouts.c.live.is_(True) & (etas_checkouts.c.expires_at <= now)
        ).values(live=None, ended_at=etas_checkouts.c.expires_at))
    return result.rowcount or 0


async def checkout(store: Store, member: str, cluster_id: int, reader: str, *,
                   hours: float = 24.0, now: datetime | None = None) -> Checkout:
    """Lend a digital copy to ``reader`` of closed (or digital-only) member ``member``, or
    AccessRefused (why)."""
    now = now or datetime.now(UTC)
    await expire_checkouts(store, now)
    async with store.connect() as conn:
        emergency = await current_emergency(conn, now.date())
        if emergency is None or not emergency["in_force"]:
            raise AccessRefused("emergency temporary access needs a declared emergency")
        mid = await member_id(conn, member)
        status = (await effective_statuses(conn, now.date(), [member]))[member]
        # digital-only members keep digital access (issue 6): their print is out of reach too
        if status.status not in ACCESS_STATUSES:
            raise AccessRefused(f"{member} is {status.status}: emergency temporary access is "
                                "for users of closed or digital-only members")
        copies = await print_copies(conn, mid, cluster_id)
        if copies == 0:
            raise AccessRefused(f"{member} holds no print copy of work {cluster_id}")
        source = await _digital_source(conn, mid, cluster_id)
        if source is None:
            raise AccessRefused(f"no member offers a digitized copy of work {cluster_id}")
    expires = now + timedelta(hours=hours)
    for slot in range(1, copies + 1):
        try:
            async with store.begin() as conn:
                result = await conn.execute(etas_checkouts.insert().values(
                    member_id=mid, cluster_id=cluster_id, slot=slot, reader=reader,
                    digital_member_id=sa.select(members.c.id).where(
                        members.c.code == source).scalar_subquery(),
                    started_at=now, expires_at=expires, live=True
                ).returning(etas_checkouts.c.id))
                new_id = result.scalar_one()
        except sa.exc.IntegrityError:
            continue                  # another reader holds this copy: try the next one
        return Checkout(new_id, member, cluster_id, slot, reader, source, expires)
    raise AccessRefused(f"all {copies} print copies of work {cluster_id} held by {member} are "
                        "in use by digital readers")


async def renew(store: Store, checkout_id: int, *, hours: float = 24.0,
                now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    expires = now + timedelta(hours=hours)
    async with store.begin() as conn:
        result = await conn.execute(etas_checkouts.update().where(
            (etas_checkouts.c.id == checkout_id) & etas_checkouts.c.live.is_(True)
            & (etas_checkouts.c.expires_at > now)).values(expires_at=expires))
    if not result.rowcount:
        raise AccessRefused(f"checkout {checkout_id} is not active (returned or expired)")
    return expires


async def return_checkout(store: Store, checkout_id: int, *, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    async with store.begin() as conn:
        result = await conn.execute(etas_checkouts.update().where(
            (etas_checkouts.c.id == checkout_id) & etas_checkouts.c.live.is_(True)
        ).values(live=None, ended_at=now))
    if not result.rowcount:
        raise AccessRefused(f"checkout {checkout_id} is not active")


async def report(conn: AsyncConnection, since: dt.date | None = None) -> list[dict]:
    """Checkouts per member: how many, how many live now — for the consortium's report."""
    query = (sa.select(members.c.code, sa.func.count().label("checkouts"),
                       sa.func.count(etas_checkouts.c.live).label("live"))
             .select_from(etas_checkouts.join(members, members.c.id == etas_checkouts.c.member_id))
             .group_by(members.c.code).order_by(members.c.code))
    if since is not None:
        query = query.where(etas_checkouts.c.started_at >= datetime.combine(since, dt.time(),
                                                                            tzinfo=UTC))
    return [{"member": r.code, "checkouts": r.checkouts, "live": r.live}
            for r in (await conn.execute(query)).all()]


async def checkout_member(conn: AsyncConnection, checkout_id: int) -> str | None:
    """The member whose user holds checkout ``checkout_id`` (tenant check of the views)."""
    return await conn.scalar(sa.select(members.c.code).select_from(
        etas_checkouts.join(members, members.c.id == etas_checkouts.c.member_id))
        .where(etas_checkouts.c.id == checkout_id))
