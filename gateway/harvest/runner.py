"""Harvest many members at once, in one asyncio process; one failing never stops the others."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import sqlalchemy as sa

from config.settings import Settings
from connectors.errors import ConnectorError
from connectors.http import HostLimiter, HttpClient, RetryPolicy, make_session
from connectors.marcfile import MarcFileConnector
from connectors.oaipmh import OaiPmhConnector
from connectors.sru import SruConnector
from gateway.harvest.oai import OaiHarvest
from gateway.harvest.pages import PageConverter
from gateway.harvest.report import HarvestReport
from gateway.harvest.sru import SruHarvest
from gateway.ingest import Ingest
from gateway.logs import current_member
from gateway.metrics import HarvestMetrics
from gateway.registry import MemberNotFound
from gateway.store import Store
from gateway.store.schema import endpoints, members

log = logging.getLogger(__name__)

HARVESTABLE = ("oai-pmh", "sru", "marc-file")


@dataclass(slots=True)
class Target:
    member: str
    member_id: int
    endpoint: sa.Row


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(attempts=settings.retry_attempts, max_delay=settings.retry_max_delay,
                       max_retry_after=settings.retry_max_after,
                       deadline=settings.retry_deadline)


async def targets(store: Store, codes: list[str] | None,
                  endpoint_id: int | None = None) -> list[Target]:
    """The harvestable endpoints of the named members (all members when none named)."""
    query = (sa.select(endpoints, members.c.code.label("member_code"))
             .join(members, members.c.id == endpoints.c.member_id)
             .where(endpoints.c.type.in_(HARVESTABLE) & endpoints.c.enabled.is_(True)))
    if endpoint_id is not None:
        query = query.where(endpoints.c.id == endpoint_id)
    async with store.connect() as conn:
        rows = (await conn.execute(query.order_by(members.c.code, endpoints.c.id))).all()
        if codes:
            known = set((await conn.execute(sa.select(members.c.code).where(
                members.c.code.in_(codes)))).scalars())
            missing = [c for c in codes if c not in known]
            if missing:
                raise MemberNotFound(f"no member with code {missing[0]!r}")
            rows = [r for r in rows if r.member_code in codes]
    return [Target(r.member_code, r.member_id, r) for r in rows]


class Harvester:
    """Shared HTTP session, per-host limits and retry policy for a batch of harvests."""

    def __init__(self, store: Store, settings: Settings, *,
                 metrics: HarvestMetrics | None = None,
                 session: aiohttp.ClientSession | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.store = store
        self.sleep = sleep      # tests record the backoff instead of waiting it out
        self.settings = settings
        self.metrics = metrics or HarvestMetrics.disabled()
        self.session = session
        self.limiter = HostLimiter(settings.harvest_per_host, settings.harvest_delay)
        self.converter = PageConverter(settings.harvest_workers)

    async def harvest(self, target: Target, *, full: bool = False,
                      progress: Callable[[HarvestReport], None] | None = None) -> HarvestReport:
        current_member.set(target.member)
        endpoint = target.endpoint
        session = self.session or make_session(self.settings.http_timeout)
        try:
            if endpoint.type == "marc-file":
                return await self._ingest(target, session, progress)
            job: OaiHarvest | SruHarvest
            http = HttpClient(session, retry_policy(self.settings),
                              max_bytes=self.settings.max_xml_bytes, limiter=self.limiter,
                              sleep=self.sleep)
            common = dict(lease_seconds=self.settings.harvest_lease, metrics=self.metrics,
                          progress=progress)
            if endpoint.type == "oai-pmh":
                connector = OaiPmhConnector(endpoint.url, http,
                                            max_bytes=self.settings.max_xml_bytes)
                job = OaiHarvest(self.store, target.member, target.member_id, endpoint,
                                 connector, full=full, overlap=self.settings.harvest_overlap,
                                 converter=self.converter, **common)
            else:
                job = SruHarvest(self.store, target.member, target.member_id, endpoint,
                                 SruConnector(endpoint.url, http), **common)
            http.on_retry = job.note_retry
            return await job.run()
        finally:
            if self.session is None:
                await session.close()

    async def _ingest(self, target: Target, session: aiohttp.ClientSession,
                      progress: Callable[[HarvestReport], None] | None) -> HarvestReport:
        """A scheduled MARC export is a full snapshot: ingest it with --replace semantics."""
        endpoint = target.endpoint
        report = HarvestReport(member=target.member, endpoint_id=endpoint.id,
                               endpoint_type="marc-file", full=True)
        connector = MarcFileConnector(timeout=self.settings.http_timeout, session=session)
        job = Ingest(self.store, target.member, endpoint.url or endpoint.path, replace=True,
                     batch_size=self.settings.ingest_batch_size, connector=connector,
                     endpoint_id=endpoint.id, workers=self.settings.harvest_workers)
        try:
            result = await job.run()
        except ConnectorError as exc:   # unreadable export: reported, the others go on
            report.status, report.error = "failed", f"{exc.__class__.__name__}: {exc}"
            self.metrics.failure(target.member)
            return report
        for name in ("run_id", "status", "records_read", "added", "updated", "unchanged",
                     "deleted", "quarantined", "seconds"):
            setattr(report, name, getattr(result, name))
        self.metrics.page(target.member, result.records_read)
        self.metrics.success(target.member)
        if progress:
            progress(report)
        return report

    async def harvest_all(self, chosen: list[Target], *, full: bool = False,
                          progress_for: Callable[[Target], Callable[[HarvestReport], None]]
                          | None = None) -> list[HarvestReport]:
        """Every target concurrently; the per-host limiter keeps each server's load polite."""
        own = self.session is None
        if own:
            self.session = make_session(self.settings.http_timeout)
        try:
            return list(await asyncio.gather(*(
                self.harvest(t, full=full, progress=progress_for(t) if progress_for else None)
                for t in chosen)))
        finally:
            if own:
                await self.session.close()
                self.session = None
                self.close()

    def close(self) -> None:
        """Stop the page-conversion workers (they start again when needed)."""
        self.converter.close()
