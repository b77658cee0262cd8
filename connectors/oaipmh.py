"""OAI-PMH data providers: every request of a harvest goes through ``OaiPmhConnector._fetch``.

The connector knows HTTP and the verbs; parsing is protocols.oaipmh's, and what to do with a
page (store, checkpoint, resume) is gateway.harvest's.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.errors import ConnectorError
from connectors.http import HttpClient
from protocols.oaipmh import (
    Identify, MetadataFormat, OaiSet, maybe_decompress, parse_identify,
    parse_metadata_formats, parse_sets,
)
from protocols.oaipmh.requests import (
    identify_params, list_identifiers_params, list_metadata_formats_params, list_records_params,
    list_sets_params, resume_params,
)
from protocols.redaction import redact_url


class OaiPmhConnector:
    """One member's OAI-PMH base URL, reached through the gateway's HTTP client."""

    def __init__(self, base_url: str, http: HttpClient, *, max_bytes: int = 64 * 2**20) -> None:
        self.base_url = base_url
        self.http = http
        self.max_bytes = max_bytes

    async def _fetch(self, params: Mapping[str, str]) -> bytes:
        """The seam: one OAI-PMH request → the response body (decompressed)."""
        response = await self.http.get(self.base_url, params)
        if response.status >= 400 and b"OAI-PMH" not in response.body[:2048]:
            raise ConnectorError(f"{redact_url(self.base_url)} answered HTTP {response.status} "
                                 f"to verb={params.get('verb')}, not an OAI-PMH response")
        return maybe_decompress(response.body)

    async def identify(self) -> Identify:
        return parse_identify(await self._fetch(identify_params()))

    async def metadata_formats(self) -> list[MetadataFormat]:
        return parse_metadata_formats(await self._fetch(list_metadata_formats_params()))

    async def sets(self) -> list[OaiSet]:
        found: list[OaiSet] = []
        params = list_sets_params()
        seen: set[str] = set()
        while True:
            page, token = parse_sets(await self._fetch(params))
            found.extend(page)
            if token is None or token.value in seen:
                return found
            seen.add(token.value)
            params = resume_params("ListSets", token.value)

    async def list_page_bytes(self, metadata_prefix: str, *, from_: str | None = None,
                              set_spec: str | None = None, token: str | None = None,
                              verb: str = "ListRecords") -> bytes:
        """One page of a list verb, unparsed: the harvester parses it with
        ``gateway.harvest.pages.convert_oai_page`` (in a worker process, if configured)."""
        if token:
            params = resume_params(verb, token)
        else:
            build = list_identifiers_params if verb == "ListIdentifiers" else list_records_params
            params = build(metadata_prefix, from_=from_, set_spec=set_spec)
        return await self._fetch(params)
