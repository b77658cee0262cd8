"""Harvesting one member's SRU endpoint by searchRetrieve paging.

YAZ/Zebra never sends nextRecordPosition, so paging is startRecord += page size until
numberOfRecords. SRU has no deletions and no datestamps: every harvest is full, and records
no longer returned are marked deleted — never when the harvest returned none.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from connectors.sru import SruConnector
from gateway.harvest.base import EndpointHarvest, HarvestFailed
from gateway.harvest.convert import marcxml_to_incoming
from gateway.store.records import IncomingRecord, QuarantineEntry
from protocols.sru import SruQueryError

DEFAULT_QUERY = "cql.allRecords=1"
PAGE_SIZE = 50


class SruHarvest(EndpointHarvest):
    endpoint_type = "sru"

    def __init__(self, store: Any, member: str, member_id: int, endpoint: sa.Row,
                 connector: SruConnector, **kwargs: Any) -> None:
        kwargs["full"] = True
        super().__init__(store, member, member_id, endpoint, **kwargs)
        self.connector = connector
        options = endpoint.options or {}
        self.query = options.get("query") or DEFAULT_QUERY
        self.page_size = int(options.get("page_size") or PAGE_SIZE)

    async def _harvest(self) -> None:
        checkpoint = await self._resume_or_start(
            lambda _previous: {"start": 1, "full": True, "query": self.query},
            lambda saved: saved.get("query") == self.query)
        while True:
            start = checkpoint["start"]
            try:
                page = await self.connector.search(self.query, start_record=start,
                                                   maximum_records=self.page_size)
            except SruQueryError as exc:
                raise HarvestFailed(
                    f"the server refused the harvest query {self.query!r} ({exc}); some SRU "
                    "servers need an explicit query: set one with `libgate members update "
                    f"{self.member} --sru-query CQL`") from None
            if page.number_of_records and start > page.number_of_records:
                break
            items: list[IncomingRecord] = []
            rejected: list[QuarantineEntry] = []
            for offset, record in enumerate(page.records):
                outcome = marcxml_to_incoming(None, record.data, record.position or start + offset)
                (rejected if isinstance(outcome, QuarantineEntry) else items).append(outcome)
            following = start + len(page.records)
            done = not page.records or following > page.number_of_records
            checkpoint = {**checkpoint, "start": following}
            await self._commit_page(items, rejected, checkpoint, None)
            if done:
                break
        await self._finish(diff_deletions=True)
