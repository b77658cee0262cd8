"""What every endpoint harvest shares: the lease, the run row, committing a page with its
checkpoint, the deletion diff, the report and the metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from connectors.errors import ConnectorError
from gateway.garbage_collection import fewer_full_collections
from gateway.harvest.lease import acquire, new_owner, release, renew
from gateway.index import recluster_records
from gateway.harvest.report import HarvestReport, last_run
from gateway.logs import current_member, current_run
from gateway.metrics import HarvestMetrics
from gateway.store import Store
from gateway.store.records import (
    IncomingRecord, QuarantineEntry, add_quarantine, mark_absent_deleted, upsert_batch,
)
from gateway.store.runs import add_counts, finish_run, get_run, start_run
from gateway.store.schema import harvest_runs
from protocols.errors import ProtocolError
from protocols.redaction import redact_url

log = logging.getLogger(__name__)


class HarvestFailed(Exception):
    """The member's run cannot go on; the message says why (secrets redacted)."""


class EndpointHarvest:
    """One harvest run of one endpoint; subclasses implement ``_harvest``."""

    endpoint_type = "?"

    def __init__(self, store: Store, member: str, member_id: int, endpoint: sa.Row, *,
                 full: bool = False, lease_seconds: float = 900.0,
                 metrics: HarvestMetrics | None = None,
                 progress: Callable[[HarvestReport], None] | None = None) -> None:
        self.store = store
        self.member = member
        self.member_id = member_id
        self.endpoint = endpoint
        self.full = full
        self.lease_seconds = lease_seconds
        self.metrics = metrics or HarvestMetrics.disabled()
        self.progress = progress
        self.owner = new_owner()
        self.pending_retries = 0
        self.shown_url = redact_url(endpoint.url)
        self.report = HarvestReport(member=member, endpoint_id=endpoint.id,
                                    endpoint_type=self.endpoint_type, full=full)

    def note_retry(self, cause: str, delay: float) -> None:
        """The HTTP client's on_retry hook: counted with the next committed page."""
        self.pending_retries += 1
        self.report.retries += 1
        self.metrics.retry(self.member)
        log.warning("member %s: retrying in %.1fs after %s", self.member, delay, cause)

    async def run(self) -> HarvestReport:
        with fewer_full_collections():       # pages keep thousands of objects alive
            return await self._run()

    async def _run(self) -> HarvestReport:
        current_member.set(self.member)
        started = time.perf_counter()
        holder = await acquire(self.store, self.endpoint.id, self.owner, self.lease_seconds)
        if holder is not None:
            self.report.status = "busy"
            self.report.error = f"endpoint {self.endpoint.id} is being harvested by {holder}"
            return self.report
        try:
            await self._harvest()
            self.report.status = "succeeded"
            self.metrics.success(self.member)
        except (HarvestFailed, ConnectorError, ProtocolError) as exc:
            self.report.status = "failed"
            self.report.error = f"{exc.__class__.__name__}: {exc}"
            self.metrics.failure(self.member)
            log.error("member %s: harvest of %s failed: %s", self.member, self.shown_url,
                      self.report.error)
            if self.report.run_id is not None:
                async with self.store.begin() as conn:
                    await add_counts(conn, self.report.run_id, retries=self.pending_retries)
                    await finish_run(conn, self.report.run_id, "failed", error=self.report.error)
        finally:
            await release(self.store, self.endpoint.id, self.owner)
            self.report.seconds = time.perf_counter() - started
        return self.report

    async def _harvest(self) -> None:
        raise NotImplementedError

    async def _resume_or_start(self, new_checkpoint: Callable[[sa.Row | None], dict[str, Any]],
                               resumable: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Resume the endpoint's unfinished run, or open a new run with ``new_checkpoint``
        (given the last succeeded run)."""
        async with self.store.begin() as conn:
            unfinished = await last_run(conn, self.endpoint.id, succeeded=False)
            if unfinished is not None and unfinished.checkpoint and resumable(
                    unfinished.checkpoint):
                await conn.execute(harvest_runs.update().where(
                    harvest_runs.c.id == unfinished.id).values(status="running", error=None))
                self.report.run_id = unfinished.id
                self.report.resumed = True
                self.report.load_counts(unfinished)
                self.report.response_date = unfinished.response_date
                log.info("member %s: resuming run %s after page %s", self.member,
                         unfinished.id, unfinished.pages)
                checkpoint = dict(unfinished.checkpoint)
            else:
                checkpoint = new_checkpoint(await last_run(conn, self.endpoint.id,
                                                           succeeded=True))
                self.report.run_id = await start_run(conn, self.member_id, "harvest",
                                                     self.shown_url, self.endpoint.id)
                await conn.execute(harvest_runs.update().where(
                    harvest_runs.c.id == self.report.run_id).values(checkpoint=checkpoint))
        self.full = self.report.full = bool(checkpoint.get("full"))
        self.report.from_ = checkpoint.get("from")
        current_run.set(str(self.report.run_id))
        return checkpoint

    async def _commit_page(self, items: list[IncomingRecord], rejected: list[QuarantineEntry],
                           checkpoint: dict[str, Any], response_date: str | None) -> None:
        """A page's records, quarantine, counters and checkpoint: one transaction."""
        for entry in rejected:
            log.warning("member %s: record %s quarantined: %s (%s)", self.member,
                        entry.local_id or entry.position, entry.reason, entry.detail)
        if self.report.response_date is None:
            self.report.response_date = response_date
        read = len(items) + len(rejected)
        retries, self.pending_retries = self.pending_retries, 0
        async with self.store.begin_bulk() as conn:
            counts = await upsert_batch(conn, self.member_id, self.report.run_id, items,
                                        endpoint_id=self.endpoint.id)
            await add_quarantine(conn, self.member_id, self.report.run_id, self.shown_url,
                                 rejected)
            await recluster_records(conn, counts.touched, fresh=counts.fresh)
            await add_counts(conn, self.report.run_id, pages=1, records_read=read,
                             added=counts.added, updated=counts.updated,
                             unchanged=counts.unchanged, deleted=counts.deleted,
                             quarantined=len(rejected), retries=retries)
            await conn.execute(harvest_runs.update().where(
                harvest_runs.c.id == self.report.run_id).values(
                checkpoint=checkpoint, response_date=self.report.response_date))
            await renew(conn, self.endpoint.id, self.owner, self.lease_seconds)
        self.report.pages += 1
        self.report.records_read += read
        self.report.added += counts.added
        self.report.updated += counts.updated
        self.report.unchanged += counts.unchanged
        self.report.deleted += counts.deleted
        self.report.quarantined += len(rejected)
        self.metrics.page(self.member, read)
        if self.progress:
            self.progress(self.report)

    async def _finish(self, *, diff_deletions: bool) -> None:
        """Close the run; with ``diff_deletions`` (full harvest of a server that does not keep
        deletions) records not seen by this run are marked deleted — unless it saw none."""
        async with self.store.begin_bulk() as conn:
            if diff_deletions:
                # the run row, not this process's report: a resumed run counts earlier pages
                run = await get_run(conn, self.report.run_id)
                if run.added + run.updated + run.unchanged > 0:
                    deleted_ids: list[int] = []
                    gone = await mark_absent_deleted(conn, self.member_id, self.report.run_id,
                                                     self.endpoint.id, touched=deleted_ids)
                    await recluster_records(conn, deleted_ids)
                    await add_counts(conn, self.report.run_id, deleted=gone)
                else:
                    # an empty answer proves nothing: never delete a whole catalogue on it
                    log.warning("member %s: full harvest returned no records; nothing is "
                                "marked deleted", self.member)
            await finish_run(conn, self.report.run_id, "succeeded",
                             response_date=self.report.response_date, checkpoint=None)
            self.report.load_counts(await get_run(conn, self.report.run_id))
