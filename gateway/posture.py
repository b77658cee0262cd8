"""Members' service status and the consortium's emergency posture.

A member's admin sets its status (``open``, ``limited``, ``closed``, ``digital-only``) with an
optional reason and date range; routing reads the **effective** status of the day: the latest
period that covers the day, else ``open``. The consortium office can declare an emergency (one at
a time) and end it. ``posture`` summarizes who is closed and how much of the union catalogue can
still be lent physically.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.registry import RegistryError, member_id
from gateway.store.schema import (
    MEMBER_STATUSES,
    cluster_records,
    clusters,
    digitized_records,
    emergencies,
    eresource_identifiers,
    holdings,
    match_keys,
    member_status_periods,
    members,
    records,
)


@dataclass(slots=True, frozen=True)
class MemberStatus:
    member: str
    status: str
    reason: str | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None

    def to_json(self) -> dict:
        return {"member": self.member, "status": self.status, "reason": self.reason,
                "starts_on": self.starts_on.isoformat() if self.starts_on else None,
                "ends_on": self.ends_on.isoformat() if self.ends_on else None}


async def set_status(conn: AsyncConnection, member: str, status: str, *, reason: str | None = None,
                     starts_on: dt.date | None = None, ends_on: dt.date | None = None,
                     set_by: str | None = None, today: dt.date | None = None) -> MemberStatus:
    """Record a status period for ``member``; every way of setting a status (``members
    status``, ``members update --status``, the API, the consortium file) comes here, because
    routing reads the periods, not ``members.status``."""
    if status not in MEMBER_STATUSES:
        raise RegistryError(f"status {status!r}; expected one of {', '.join(MEMBER_STATUSES)}")
    if starts_on and ends_on and ends_on < starts_on:
        raise RegistryError(f"the status period ends ({ends_on}) before it starts ({starts_on})")
    mid = await member_id(conn, member)
    await conn.execute(member_status_periods.insert().values(
        member_id=mid, status=status, reason=reason, starts_on=starts_on, ends_on=ends_on,
        set_by=set_by, created_at=datetime.now(UTC)))
    await sync_status_mirror(conn, today or datetime.now(UTC).date(), [member])
    return MemberStatus(member, status, reason, starts_on, ends_on)


async def sync_status_mirror(conn: AsyncConnection, day: dt.date,
                             codes: list[str] | None = None) -> list[str]:
    """Make ``members.status`` (what listings and the union index's holdings show) the
    effective status of ``day``; returns the members whose status changed. Run when a status
    is set and daily by housekeeping, since a dated period starts or ends with no one acting."""
    effective = await effective_statuses(conn, day, codes)
    query = sa.select(members.c.id, members.c.code, members.c.status, members.c.status_reason)
    if codes is not None:
        query = query.where(members.c.code.in_(codes))
    changed = []
    for row in (await conn.execute(query)).all():
        now = effective[row.code]
        if (row.status, row.status_reason) == (now.status, now.reason):
            continue
        await conn.execute(members.update().where(members.c.id == row.id).values(
            status=now.status, status_reason=now.reason, updated_at=datetime.now(UTC)))
        if row.status != now.status:
            # the union index shows each holder's service status in its merged records
            from gateway.index.engine import member_cluster_ids, refresh_clusters
            await refresh_clusters(conn, await member_cluster_ids(conn, row.id))
            changed.append(row.code)
    return changed


async def effective_statuses(conn: AsyncConnection, day: dt.date,
                             codes: list[str] | None = None) -> dict[str, MemberStatus]:
    """Each member's status on ``day``: the latest period covering it, else open."""
    query = (sa.select(members.c.code, member_status_periods)
             .select_from(members.outerjoin(
                 member_status_periods, member_status_periods.c.member_id == members.c.id))
             .order_by(members.c.code, member_status_periods.c.id))
    if codes is not None:
        query = query.where(members.c.code.in_(codes))
    found: dict[str, MemberStatus] = {}
    for row in (await conn.execute(query)).all():
        found.setdefault(row.code, MemberStatus(row.code, "open"))
        if row.status is None:
            continue
        if (row.starts_on is None or row.starts_on <= day) and \
                (row.ends_on is None or day <= row.ends_on):
            found[row.code] = MemberStatus(row.code, row.status, row.reason, row.starts_on,
                                           row.ends_on)
    return found


async def declare_emergency(conn: AsyncConnection, starts_on: dt.date, note: str | None,
                            declared_by: str | None = None) -> int:
    current = await current_emergency(conn)
    if current is not None:
        raise RegistryError(f"an emergency is already declared (since {current['starts_on']}); "
                            "end it first")
    result = await conn.execute(emergencies.insert().values(
        starts_on=starts_on, note=note, declared_by=declared_by,
        declared_at=datetime.now(UTC)).returning(emergencies.c.id))
    return result.scalar_one()


async def end_emergency(conn: AsyncConnection) -> None:
    result = await conn.execute(emergencies.update().where(emergencies.c.ended_at.is_(None))
                                .values(ended_at=datetime.now(UTC)))
    if not result.rowcount:
        raise RegistryError("no emergency is declared")


async def current_emergency(conn: AsyncConnection, day: dt.date | None = None) -> dict | None:
    row = (await conn.execute(sa.select(emergencies).where(emergencies.c.ended_at.is_(None))
                              .order_by(emergencies.c.id.desc()))).first()
    if row is None:
        return None
    return {"id": row.id, "starts_on": row.starts_on.isoformat(), "note": row.note,
            "declared_by": row.declared_by,
            "in_force": day is None or row.starts_on <= day}


async def posture(conn: AsyncConnection, day: dt.date) -> dict:
    """Who is closed, and what share of the union catalogue is still lendable physically (a
    lendable copy at an open or limited member), available digitally (a digitized copy, or an
    e-resource holding by ISBN/ISSN), or not at all."""
    statuses = await effective_statuses(conn, day)
    by_status: dict[str, list[str]] = {s: [] for s in MEMBER_STATUSES}
    for status in statuses.values():
        by_status[status.status].append(status.member)
    lending = [code for code, s in statuses.items() if s.status in ("open", "limited")]
    total = await conn.scalar(sa.select(sa.func.count()).select_from(clusters)
                              .where(clusters.c.deleted.is_(False))) or 0
    # no member lends: an IN () that matches nothing, said plainly
    lends = members.c.code.in_(lending) if lending else sa.false()
    physical_ids = (
        sa.select(cluster_records.c.cluster_id)
        .select_from(cluster_records
                     .join(holdings, holdings.c.record_id == cluster_records.c.record_id)
                     .join(members, members.c.id == holdings.c.member_id))
        .where(holdings.c.lendable.is_(True) & lends))
    # digitally: a member offers a digitized copy, or holds the title as an e-resource
    digital_ids = sa.union(
        sa.select(cluster_records.c.cluster_id).select_from(
            cluster_records.join(records, records.c.id == cluster_records.c.record_id)
            .join(digitized_records, (digitized_records.c.member_id == records.c.member_id)
                  & (digitized_records.c.local_id == records.c.local_id))),
        sa.select(cluster_records.c.cluster_id).select_from(
            cluster_records.join(match_keys, match_keys.c.record_id == cluster_records.c.record_id)
            .join(eresource_identifiers, eresource_identifiers.c.value == match_keys.c.value))
        .where(match_keys.c.kind.in_(("isbn", "issn"))))
    digital_set = digital_ids.subquery()

    async def count(ids) -> int:
        return await conn.scalar(sa.select(sa.func.count(sa.distinct(ids.c.cluster_id)))) or 0
    physical = await count(physical_ids.subquery())
    digital = await count(digital_set)
    both = await count(physical_ids.where(
        cluster_records.c.cluster_id.in_(sa.select(digital_set.c.cluster_id))).subquery())
    neither = total - (physical + digital - both)
    return {
        "date": day.isoformat(),
        "emergency": await current_emergency(conn, day),
        "members": {s: sorted(codes) for s, codes in by_status.items()},
        "statuses": [s.to_json() for s in sorted(statuses.values(), key=lambda s: s.member)],
        "clusters": total,
        "lendable_physically": physical,
        "available_digitally": digital,
        "not_available": neither,
        "share_lendable_physically": round(physical / total, 4) if total else None,
        "share_available_digitally": round(digital / total, 4) if total else None,
        "share_not_available": round(neither / total, 4) if total else None,
    }
