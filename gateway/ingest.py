"""MARC file ingest: stream → decode → normalize → batched upsert, nothing silently lost.

Every record the file holds ends up stored or quarantined (with member, position, reason and
raw bytes); the run's report counts both. Re-ingesting the same file changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from connectors.marcfile import MarcFileConnector, is_url
from gateway.garbage_collection import fewer_full_collections
from gateway.index import recluster_records
from gateway.registry import member_id as lookup_member_id
from gateway.store import Store
from gateway.store.records import (
    BatchCounts, IncomingRecord, QuarantineEntry, add_quarantine, mark_absent_deleted,
    upsert_batch,
)
from gateway.store.runs import add_counts, finish_run, start_run
from gateway.workers import Offload, discard
from protocols.errors import MarcError, NormalizationError
from protocols.marc import MarcStreamReader, RawRecord, decode_record, marc_local_id
from protocols.normalize import normalize_marc
from protocols.redaction import redact_url

log = logging.getLogger(__name__)


@dataclass(slots=True)
class IngestReport:
    member: str
    source: str
    run_id: int
    status: str = "running"
    records_read: int = 0        # records the file holds: stored + quarantined
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0
    trailer_bytes: int = 0       # unterminated bytes after the last record (quarantined too)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def process_raw(raw: RawRecord) -> IncomingRecord | QuarantineEntry:
    """Decode and normalize one raw record; a failure becomes a quarantine entry (pure)."""
    if raw.syntax == "trailer":
        return QuarantineEntry(position=None, byte_offset=raw.offset, raw=raw.data,
                               reason="unterminated-trailer",
                               detail=f"{len(raw.data)} bytes after the last record terminator")
    try:
        decoded = decode_record(raw)
        local_id = marc_local_id(decoded.record, raw.data)
        normalized = normalize_marc(decoded.record, local_id=local_id,
                                    repairs=list(decoded.repairs))
    except MarcError as exc:
        return QuarantineEntry(position=raw.position, byte_offset=raw.offset, raw=raw.data,
                               reason=exc.reason, detail=exc.detail)
    except NormalizationError as exc:
        return QuarantineEntry(position=raw.position, byte_offset=raw.offset, raw=raw.data,
                               local_id=local_id, reason="normalization", detail=str(exc))
    return IncomingRecord(local_id=local_id, normalized=normalized, raw=raw.data,
                          raw_syntax=raw.syntax)


def convert_batch(raws: Sequence[RawRecord]) -> list[IncomingRecord | QuarantineEntry]:
    """``process_raw`` of a batch, with each record's JSON and match profile made too (in a
    worker process when there are cores, as a harvest page's are). A reader bug costs its
    record, never the night's ingest: it is quarantined with its bytes (``reader-bug``)."""
    out: list[IncomingRecord | QuarantineEntry] = []
    for raw in raws:
        try:
            outcome = process_raw(raw)
            if isinstance(outcome, IncomingRecord):
                outcome.prepare()
        except Exception as exc:  # noqa: BLE001 - a reader bug: keep the bytes
            # where it happened, since the traceback stays in the worker
            where = traceback.extract_tb(exc.__traceback__)[-1]
            outcome = QuarantineEntry(
                position=raw.position, byte_offset=raw.offset, raw=raw.data,
                reason="reader-bug", detail=f"{exc.__class__.__name__}: {exc} (at "
                f"{Path(where.filename).name}:{where.lineno} in {where.name})")
        out.append(outcome)
    return out


class Ingest:
    """One ingest run of one member's file."""

    def __init__(self, store: Store, member: str, source: str, *, replace: bool = False,
                 batch_size: int = 500, connector: MarcFileConnector | None = None,
                 progress: Callable[[IngestReport], None] | None = None,
                 endpoint_id: int | None = None, workers: int = 0) -> None:
        self.store = store
        self.workers = workers              # processes converting batches (harvest_workers)
        self.endpoint_id = endpoint_id
        self.member = member
        self.source = source
        self.replace = replace
        self.batch_size = batch_size
        self.connector = connector or MarcFileConnector()
        self.progress = progress
        self.shown_source = redact_url(source) if is_url(source) else source

    async def run(self) -> IngestReport:
        with fewer_full_collections():       # batches keep thousands of objects alive
            return await self._run()

    async def _run(self) -> IngestReport:
        started = time.perf_counter()
        async with self.store.begin() as conn:
            self.member_id = await lookup_member_id(conn, self.member)
            run_id = await start_run(conn, self.member_id, "ingest", self.shown_source,
                                     self.endpoint_id)
        report = IngestReport(member=self.member, source=self.shown_source, run_id=run_id)
        try:
            await self._stream(report)
            if self.replace:
                await self._replace(report)
        except Exception as exc:
            report.status = "failed"
            report.error = str(exc) or exc.__class__.__name__
            report.seconds = time.perf_counter() - started
            async with self.store.begin() as conn:
                await finish_run(conn, run_id, "failed", error=report.error)
            raise
        report.status = "succeeded"
        report.seconds = time.perf_counter() - started
        async with self.store.begin() as conn:
            await finish_run(conn, run_id, "succeeded")
        return report

    async def _stream(self, report: IngestReport) -> None:
        """Read the file in batches; each batch is converted (``convert_batch``, in worker
        processes when ``workers``) while the batches before it are written."""
        reader = MarcStreamReader()
        raws: list[RawRecord] = []
        in_flight: deque[tuple[asyncio.Future, list[RawRecord]]] = deque()
        with Offload(self.workers) as offload:
            depth = max(1, 2 * offload.workers)

            async def write_oldest() -> None:
                future, batch_raws = in_flight.popleft()
                batch: list[IncomingRecord] = []
                rejected: list[QuarantineEntry] = []
                for raw, outcome in zip(batch_raws, await future, strict=True):
                    self._sort(raw, outcome, batch, rejected, report)
                await self._flush(batch, rejected, report)

            try:
                async for chunk in self.connector.chunks(self.source):
                    for raw in reader.feed(chunk):
                        raws.append(raw)
                        if len(raws) >= self.batch_size:
                            in_flight.append((offload.submit(convert_batch, raws), raws))
                            raws = []
                            while len(in_flight) > depth:
                                await write_oldest()
                raws.extend(reader.close())
                if raws:
                    in_flight.append((offload.submit(convert_batch, raws), raws))
                while in_flight:
                    await write_oldest()
            finally:
                discard(future for future, _raws in in_flight)

    def _sort(self, raw: RawRecord, outcome: IncomingRecord | QuarantineEntry,
              batch: list[IncomingRecord], rejected: list[QuarantineEntry],
              report: IngestReport) -> None:
        if isinstance(outcome, QuarantineEntry):
            if outcome.reason == "reader-bug":
                log.error("reader bug on member %s record %s of %s: %s", self.member,
                          raw.position, self.shown_source, outcome.detail)
            else:
                log.warning("member %s: record %s of %s quarantined: %s (%s)", self.member,
                            outcome.position, self.shown_source, outcome.reason,
                            outcome.detail)
            if raw.syntax == "trailer":
                report.trailer_bytes += len(raw.data)
            rejected.append(outcome)
        else:
            batch.append(outcome)

    async def _flush(self, batch: list[IncomingRecord], rejected: list[QuarantineEntry],
                     report: IngestReport) -> None:
        if not batch and not rejected:
            return
        read = len(batch) + sum(1 for q in rejected if q.reason != "unterminated-trailer")
        async with self.store.begin_bulk() as conn:
            counts: BatchCounts = await upsert_batch(conn, self.member_id, report.run_id, batch,
                                                     endpoint_id=self.endpoint_id,
                                                     rename_duplicates=True)
            await add_quarantine(conn, self.member_id, report.run_id, self.shown_source, rejected)
            await recluster_records(conn, counts.touched, fresh=counts.fresh)
            await add_counts(conn, report.run_id, records_read=read, added=counts.added,
                             updated=counts.updated, unchanged=counts.unchanged,
                             quarantined=len(rejected))
        report.records_read += read
        report.added += counts.added
        report.updated += counts.updated
        report.unchanged += counts.unchanged
        report.quarantined += len(rejected)
        report.renamed.extend(counts.renamed)
        if self.progress:
            self.progress(report)

    async def _replace(self, report: IngestReport) -> None:
        stored = report.added + report.updated + report.unchanged
        if stored == 0:
            # an empty or unreadable export must never wipe a member's catalogue
            log.warning("member %s: --replace ignored, %s yielded no records", self.member,
                        self.shown_source)
            return
        async with self.store.begin_bulk() as conn:
            gone: list[int] = []
            report.deleted = await mark_absent_deleted(conn, self.member_id, report.run_id,
                                                       self.endpoint_id, touched=gone)
            await recluster_records(conn, gone)
            await add_counts(conn, report.run_id, deleted=report.deleted)


async def ingest(store: Store, member: str, source: str, **options) -> IngestReport:
    """Ingest a MARC file (path or URL) for ``member``; see :class:`Ingest`."""
    return await Ingest(store, member, source, **options).run()
