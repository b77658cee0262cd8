"""The cron scheduler: due endpoints start, a running endpoint never starts twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from gateway import registry
from gateway.harvest.report import HarvestReport
from gateway.registry import EndpointSpec
from gateway.scheduler import Scheduler


class BlockingHarvester:
    def __init__(self) -> None:
        self.started: list[int] = []
        self.release = asyncio.Event()

    async def harvest(self, target, **_kw) -> HarvestReport:
        self.started.append(target.endpoint.id)
        await self.release.wait()
        return HarvestReport(target.member, target.endpoint.id, target.endpoint.type,
                             status="succeeded")


async def test_due_endpoints_start_once_until_done(store):
    await registry.add_member(store, "US-DLC", "LC", endpoint_specs=[
        EndpointSpec("oai-pmh", url="https://oai.loc.example/oai", schedule="0 2 * * *"),
        EndpointSpec("sru", url="https://sru.loc.example/db"),        # no schedule
        EndpointSpec("iso18626", url="https://ill.loc.example/")])    # not harvestable
    harvester = BlockingHarvester()
    later = datetime.now(UTC) + timedelta(days=1, hours=3)            # past the next 02:00
    scheduler = Scheduler(store, harvester, interval=1, clock=lambda: later)
    assert [t.endpoint.type for t in await scheduler.due(datetime.now(UTC))] == []
    first = await scheduler.tick()
    await asyncio.sleep(0)
    second = await scheduler.tick()
    assert len(first) == 1 and second == []
    assert len(harvester.started) == 1
    assert scheduler.alive()
    harvester.release.set()
    await asyncio.gather(*first)
    assert scheduler.running == {}
