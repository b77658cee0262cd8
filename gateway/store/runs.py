"""Harvest and ingest runs: one row per run, counts updated as batches commit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.schema import harvest_runs

COUNTERS = ("records_read", "added", "updated", "unchanged", "deleted", "quarantined", "pages",
            "retries")


async def start_run(conn: AsyncConnection, member_id: int, kind: str, source: str | None,
                    endpoint_id: int | None = None) -> int:
    result = await conn.execute(harvest_runs.insert().values(
        member_id=member_id, endpoint_id=endpoint_id, kind=kind, source=source,
        status="running", started_at=datetime.now(UTC)))
    return result.inserted_primary_key[0]


async def add_counts(conn: AsyncConnection, run_id: int, **deltas: int) -> None:
    """Add to the run's counters in the same transaction as the records they count."""
    values: dict[str, Any] = {name: getattr(harvest_runs.c, name) + delta
                              for name, delta in deltas.items() if delta}
    if values:
        await conn.execute(harvest_runs.update().where(harvest_runs.c.id == run_id)
                           .values(**values))


async def finish_run(conn: AsyncConnection, run_id: int, status: str,
                     error: str | None = None, **fields: Any) -> None:
    await conn.execute(harvest_runs.update().where(harvest_runs.c.id == run_id).values(
        status=status, error=error, finished_at=datetime.now(UTC), **fields))


async def get_run(conn: AsyncConnection, run_id: int) -> sa.Row:
    return (await conn.execute(sa.select(harvest_runs).where(harvest_runs.c.id == run_id))).one()
