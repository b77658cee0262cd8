"""Turning a fetched page into store-ready records — in a worker process when there are cores.

Parsing and normalizing a page is CPU work; committing it is database work. The harvester
hands each page's bytes to ``PageConverter`` (a process pool on a machine with more than one
core) and commits the previous page meanwhile, so both cores work during a harvest. The
conversion itself is one pure function, the same in-process and in a worker.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from gateway.harvest.convert import oai_record_to_incoming
from gateway.store.records import IncomingRecord, QuarantineEntry
from gateway.workers import spawn_pool
from protocols.oaipmh import parse_list_page


@dataclass(slots=True)
class ConvertedPage:
    response_date: str
    token: str | None
    items: list[IncomingRecord]
    rejected: list[QuarantineEntry]


def convert_oai_page(body: bytes, position: int, max_bytes: int) -> ConvertedPage:
    """Parse one ListRecords page and convert its records; ``position`` counts before it."""
    page = parse_list_page(body, max_bytes=max_bytes)
    items: list[IncomingRecord] = []
    rejected: list[QuarantineEntry] = []
    for record in page.records:
        position += 1
        outcome = oai_record_to_incoming(record, position)
        if isinstance(outcome, QuarantineEntry):
            rejected.append(outcome)
        else:
            outcome.prepare()             # JSON and match profile, off the committing process
            items.append(outcome)
    for raw, reason in page.bad_records:
        position += 1
        rejected.append(QuarantineEntry(position=position, raw=raw, reason="xml", detail=reason))
    return ConvertedPage(page.response_date, page.token.value if page.token else None,
                         items, rejected)


class PageConverter:
    """Runs ``convert_oai_page`` in worker processes (``workers`` > 0) or in-process (0)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: workers inherit none of the event loop's threads and sockets, and are
            # children of this process, so they can watch it (forkserver's are not)
            self._pool = spawn_pool(self.workers)
        return self._pool

    def worker_pids(self) -> list[int]:
        """The pids of the running workers (for tests and diagnostics)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return list(processes)

    async def oai(self, body: bytes, position: int, max_bytes: int) -> ConvertedPage:
        if self.workers <= 0:
            return convert_oai_page(body, position, max_bytes)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), convert_oai_page, body, position,
                                          max_bytes)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
