"""The harvest scheduler of `libgate serve`: each endpoint's cron schedule (croniter).

Two runs of one endpoint never overlap: this process keeps one task per endpoint, and the
endpoint lease (gateway.harvest.lease) keeps other workers sharing the database out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from croniter import croniter

from gateway.harvest.lease import aware
from gateway.harvest.runner import HARVESTABLE, Harvester, Target
from gateway.store import Store
from gateway.store.schema import endpoints, harvest_runs, members

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, store: Store, harvester: Harvester, *, interval: float = 30.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.harvester = harvester
        self.interval = interval
        self.clock = clock
        self.running: dict[int, asyncio.Task] = {}
        self.last_tick: datetime | None = None

    def alive(self) -> bool:
        if self.last_tick is None:
            return False
        return (self.clock() - self.last_tick).total_seconds() < 3 * self.interval + 5

    async def due(self, now: datetime) -> list[Target]:
        """Endpoints whose next cron time after their last run (or registration) has come."""
        last_start = (sa.select(sa.func.max(harvest_runs.c.started_at))
                      .where(harvest_runs.c.endpoint_id == endpoints.c.id)
                      .scalar_subquery())
        query = (sa.select(endpoints, members.c.code.label("member_code"),
                           last_start.label("last_start"))
                 .join(members, members.c.id == endpoints.c.member_id)
                 .where(endpoints.c.schedule.is_not(None) & endpoints.c.enabled.is_(True)
                        & endpoints.c.type.in_(HARVESTABLE)))
        async with self.store.connect() as conn:
            rows = (await conn.execute(query)).all()
        chosen = []
        for row in rows:
            base = aware(row.last_start) or aware(row.created_at)
            if croniter(row.schedule, base).get_next(datetime) <= now:
                chosen.append(Target(row.member_code, row.member_id, row))
        return chosen

    async def tick(self) -> list[asyncio.Task]:
        now = self.clock()
        self.last_tick = now
        started = []
        for target in await self.due(now):
            if target.endpoint.id in self.running:
                continue                 # still harvesting since the last time it was due
            task = asyncio.create_task(self._harvest(target))
            self.running[target.endpoint.id] = task
            started.append(task)
        return started

    async def _harvest(self, target: Target) -> None:
        try:
            report = await self.harvester.harvest(target)
            log.info("scheduled harvest of %s endpoint %s: %s", target.member,
                     target.endpoint.id, report.status)
        finally:
            self.running.pop(target.endpoint.id, None)

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except (OSError, sa.exc.SQLAlchemyError):
                log.exception("scheduler tick failed; trying again in %ss", self.interval)
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
