"""SRU servers (e.g. Index Data Zebra): searchRetrieve through ``SruConnector._fetch``."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.errors import ConnectorError
from connectors.http import HttpClient
from protocols.redaction import redact_url
from protocols.sru import SruPage, parse_search_retrieve, search_retrieve_params


class SruConnector:
    def __init__(self, base_url: str, http: HttpClient, *, version: str = "1.2") -> None:
        self.base_url = base_url
        self.http = http
        self.version = version

    async def _fetch(self, params: Mapping[str, str]) -> bytes:
        """The seam: one SRU request → the response body."""
        response = await self.http.get(self.base_url, params)
        if response.status == 404:
            raise ConnectorError(f"{redact_url(self.base_url)} answered HTTP 404: wrong SRU "
                                 "base URL or database name")
        return response.body

    async def search(self, query: str, *, start_record: int = 1, maximum_records: int = 50,
                     record_schema: str = "marcxml") -> SruPage:
        params = search_retrieve_params(query, start_record=start_record,
                                        maximum_records=maximum_records,
                                        record_schema=record_schema, version=self.version)
        return parse_search_retrieve(await self._fetch(params))
