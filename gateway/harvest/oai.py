"""Harvesting one member's OAI-PMH endpoint: incremental, checkpointed, resumable.

* The next ``from`` is the server's own responseDate of the last complete run, minus an
  overlap, in the server's granularity — never the client's clock.
* Each page's records, quarantine entries, counters and the checkpoint (token, window) are
  committed in one transaction, so a killed harvest resumes at the next page with no record
  lost or stored twice.
* badResumptionToken (expired token, restarted server) restarts the window from its ``from``;
  a repeated token stops the member with an error; a page that cannot be parsed fails the run
  loudly — never an early "end of list".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from connectors.oaipmh import OaiPmhConnector
from gateway.harvest.base import EndpointHarvest, HarvestFailed
from gateway.harvest.pages import ConvertedPage, PageConverter
from gateway.store.schema import endpoints
from protocols.oaipmh import BadResumptionToken
from protocols.oaipmh.dates import next_from

log = logging.getLogger(__name__)

MAX_WINDOW_RESTARTS = 3
DEFAULT_GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"


class OaiHarvest(EndpointHarvest):
    """One harvest run of one ``oai-pmh`` endpoint."""

    endpoint_type = "oai-pmh"

    def __init__(self, store: Any, member: str, member_id: int, endpoint: sa.Row,
                 connector: OaiPmhConnector, *, overlap: float = 120.0,
                 converter: PageConverter | None = None, **kwargs: Any) -> None:
        super().__init__(store, member, member_id, endpoint, **kwargs)
        self.connector = connector
        self.overlap = timedelta(seconds=overlap)
        self.converter = converter or PageConverter(workers=0)

    async def _options(self) -> dict[str, Any]:
        """The endpoint's Identify facts (probed at registration; fetched now if missing)."""
        options = dict(self.endpoint.options or {})
        if "granularity" not in options:
            identify = await self.connector.identify()
            options.update(granularity=identify.granularity,
                           deleted_record=identify.deleted_record,
                           earliest_datestamp=identify.earliest_datestamp)
            async with self.store.begin() as conn:
                await conn.execute(endpoints.update().where(endpoints.c.id == self.endpoint.id)
                                   .values(options=options))
        return options

    def _new_checkpoint(self, previous: sa.Row | None, granularity: str) -> dict[str, Any]:
        from_ = None
        if not self.full and previous is not None and previous.response_date:
            from_ = next_from(previous.response_date, granularity, self.overlap)
        return {"from": from_, "token": None, "full": from_ is None, "restarts": 0,
                "prefix": self.endpoint.metadata_prefix or "marc21",
                "set": self.endpoint.set_spec}

    async def _fetch_and_convert(self, checkpoint: dict[str, Any],
                                 position: int) -> ConvertedPage:
        body = await self.connector.list_page_bytes(
            checkpoint["prefix"], from_=checkpoint["from"], set_spec=checkpoint["set"],
            token=checkpoint["token"])
        return await self.converter.oai(body, position, self.connector.max_bytes)

    async def _harvest(self) -> None:
        options = await self._options()
        granularity = options.get("granularity") or DEFAULT_GRANULARITY
        checkpoint = await self._resume_or_start(
            lambda previous: self._new_checkpoint(previous, granularity),
            lambda saved: not self.full or bool(saved.get("full")))
        tokens_seen: set[str] = {checkpoint["token"]} if checkpoint["token"] else set()
        # while page N commits, page N+1 is fetched and converted (another core, if any)
        ahead: asyncio.Task[ConvertedPage] | None = None
        try:
            while True:
                try:
                    page = await (ahead or self._fetch_and_convert(checkpoint,
                                                                   self.report.records_read))
                except BadResumptionToken as exc:
                    ahead = None
                    if (checkpoint["token"] is None
                            or checkpoint["restarts"] >= MAX_WINDOW_RESTARTS):
                        raise
                    checkpoint = {**checkpoint, "token": None,
                                  "restarts": checkpoint["restarts"] + 1}
                    self.report.restarts = checkpoint["restarts"]
                    tokens_seen.clear()
                    log.warning("member %s: %s; restarting the window from %s", self.member,
                                exc, checkpoint["from"] or "the beginning")
                    continue
                ahead = None
                if page.token is not None and page.token in tokens_seen:
                    raise HarvestFailed(f"the server repeated resumption token {page.token!r} "
                                        f"after page {self.report.pages + 1}: stopping this "
                                        "member rather than looping")
                checkpoint = {**checkpoint, "token": page.token}
                if page.token is not None:
                    tokens_seen.add(page.token)
                    following = self.report.records_read + len(page.items) + len(page.rejected)
                    ahead = asyncio.create_task(self._fetch_and_convert(checkpoint, following))
                await self._commit_page(page.items, page.rejected, checkpoint,
                                        page.response_date)
                if page.token is None:
                    break
        finally:
            if ahead is not None and not ahead.done():
                ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await ahead
        await self._finish(diff_deletions=self.full and options.get("deleted_record") == "no")
