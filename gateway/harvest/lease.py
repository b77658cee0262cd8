"""Endpoint leases: two harvests of one endpoint never overlap, across every worker.

A lease is a (owner, until) pair on the endpoint row, taken by compare-and-set and renewed
with each page. A worker that died leaves its lease to expire; on the same host a lease whose
process is gone is taken over at once (so a killed harvest resumes without waiting).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store import Store
from gateway.store.schema import endpoints

HOST = socket.gethostname()


def new_owner() -> str:
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _owner_is_dead(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid = rest.split(":", 1)[0]
    if host != HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


async def acquire(store: Store, endpoint_id: int, owner: str, seconds: float) -> str | None:
    """Take the endpoint's lease; None on success, else who holds it (for the message)."""
    now = datetime.now(UTC)
    async with store.begin() as conn:
        row = (await conn.execute(sa.select(endpoints.c.lease_owner, endpoints.c.lease_until)
                                  .where(endpoints.c.id == endpoint_id))).one()
        holder, until = row.lease_owner, aware(row.lease_until)
        if holder and holder != owner and until and until > now and not _owner_is_dead(holder):
            return holder
        condition = (endpoints.c.lease_owner.is_(None) if holder is None
                     else endpoints.c.lease_owner == holder)
        taken = await conn.execute(endpoints.update().where(
            (endpoints.c.id == endpoint_id) & condition).values(
            lease_owner=owner, lease_until=now + timedelta(seconds=seconds)))
        return None if taken.rowcount == 1 else "another worker (lost the race)"


async def renew(conn: AsyncConnection, endpoint_id: int, owner: str, seconds: float) -> None:
    await conn.execute(endpoints.update().where(
        (endpoints.c.id == endpoint_id) & (endpoints.c.lease_owner == owner)).values(
        lease_until=datetime.now(UTC) + timedelta(seconds=seconds)))


async def release(store: Store, endpoint_id: int, owner: str) -> None:
    async with store.begin() as conn:
        await conn.execute(endpoints.update().where(
            (endpoints.c.id == endpoint_id) & (endpoints.c.lease_owner == owner)).values(
            lease_owner=None, lease_until=None))
