"""The report of one member endpoint's harvest, and the run bookkeeping shared by harvesters."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.schema import harvest_runs


@dataclass(slots=True)
class HarvestReport:
    member: str
    endpoint_id: int
    endpoint_type: str
    run_id: int | None = None
    status: str = "running"        # running | succeeded | failed | busy
    full: bool = False
    resumed: bool = False
    from_: str | None = None
    pages: int = 0
    records_read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0
    retries: int = 0
    restarts: int = 0              # windows restarted after badResumptionToken
    response_date: str | None = None
    error: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_counts(self, row: sa.Row) -> None:
        for name in ("pages", "records_read", "added", "updated", "unchanged", "deleted",
                     "quarantined", "retries"):
            setattr(self, name, getattr(row, name))


async def last_run(conn: AsyncConnection, endpoint_id: int, *, succeeded: bool) -> sa.Row | None:
    """The newest succeeded run of the endpoint, or the newest run if it did not succeed."""
    query = sa.select(harvest_runs).where((harvest_runs.c.endpoint_id == endpoint_id)
                                          & (harvest_runs.c.kind == "harvest"))
    if succeeded:
        query = query.where(harvest_runs.c.status == "succeeded")
    row = (await conn.execute(query.order_by(harvest_runs.c.id.desc()).limit(1))).first()
    if row is None or (not succeeded and row.status == "succeeded"):
        return None
    return row
