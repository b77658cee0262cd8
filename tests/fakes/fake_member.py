"""A fake member library: an aiohttp OAI-PMH data provider on port 0 with named fault scenarios.

For fault tests only — the integration tests harvest the real peers in ../shared/peers.
The records it serves are real MARC records (from ../shared/data) given by the test.

    async with FakeMember(records, scenario="503-storm") as member:
        ... harvest member.url ...
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web

OAI_NS = "http://www.openarchives.org/OAI/2.0/"

SCENARIOS = (
    "ok", "503-storm", "503-storm-date", "429", "reset-mid-body", "truncated-body",
    "token-loop", "bad-token-at-2", "huge-page", "undeclared-gzip", "invalid-xml-chars",
    "latin1-as-utf8", "out-of-order", "deleted-no", "html-error-page", "empty-first-page",
)


@dataclass
class FakeRecord:
    identifier: str
    datestamp: str                 # YYYY-MM-DDThh:mm:ssZ
    metadata: str                  # MARCXML record element (text), namespaced
    deleted: bool = False


@dataclass
class FakeMember:
    records: list[FakeRecord]
    scenario: str = "ok"
    page_size: int = 10
    granularity: str = "YYYY-MM-DDThh:mm:ssZ"
    deleted_record: str = "persistent"
    response_date: str = "2026-11-20T02:00:00Z"
    storm_length: int = 3          # faulty answers before a good one
    requests: list[dict[str, str]] = field(default_factory=list)
    _faults_left: int = 0
    _bad_token_done: bool = False

    def __post_init__(self) -> None:
        assert self.scenario in SCENARIOS, self.scenario
        self._faults_left = self.storm_length

    # --- lifecycle ---------------------------------------------------------------------------
    async def __aenter__(self) -> FakeMember:
        app = web.Application()
        app.router.add_get("/oai", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/oai"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()

    # --- OAI-PMH ------------------------------------------------------------------------------
    def envelope(self, request_attrs: str, body: str) -> str:
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="{OAI_NS}" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                f'xsi:schemaLocation="{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">'
                f"<responseDate>{self.response_date}</responseDate>"
                f"<request {request_attrs}>{escape(self.url)}</request>{body}</OAI-PMH>")

    def error(self, code: str, text: str) -> str:
        return self.envelope("", f'<error code="{code}">{escape(text)}</error>')

    def selected(self, from_: str | None) -> list[FakeRecord]:
        chosen = [r for r in self.records if from_ is None or r.datestamp >= from_]
        if self.scenario != "out-of-order":
            chosen.sort(key=lambda r: r.datestamp)
        return chosen

    def record_xml(self, record: FakeRecord) -> str:
        status = ' status="deleted"' if record.deleted else ""
        header = (f"<header{status}><identifier>{escape(record.identifier)}</identifier>"
                  f"<datestamp>{record.datestamp}</datestamp></header>")
        if record.deleted:
            return f"<record>{header}</record>"
        return f"<record>{header}<metadata>{record.metadata}</metadata></record>"

    def list_records(self, params: dict[str, str]) -> str:
        token = params.get("resumptionToken")
        if token:
            offset_text, _, from_ = token.partition("|")
            offset = int(offset_text)
            from_ = from_ or None
            page_number = offset // self.page_size + 1
            if self.scenario == "bad-token-at-2" and page_number == 2 and not self._bad_token_done:
                self._bad_token_done = True
                return self.error("badResumptionToken", f"token {token} has expired")
        else:
            offset, from_ = 0, params.get("from")
            if params.get("metadataPrefix") != "marc21":
                return self.error("cannotDisseminateFormat", "only marc21")
            if self.scenario == "empty-first-page":
                # some servers answer the first request with a token and no records yet
                token_xml = f"<resumptionToken>0|{escape(from_ or '')}</resumptionToken>"
                return self.envelope('verb="ListRecords"',
                                     f"<ListRecords>{token_xml}</ListRecords>")
        chosen = self.selected(from_)
        if not chosen:
            return self.error("noRecordsMatch", "no records match")
        size = len(chosen) if self.scenario == "huge-page" else self.page_size
        page = chosen[offset:offset + size]
        following = offset + size
        if following < len(chosen):
            value = f"{following}|{from_ or ''}"
            if self.scenario == "token-loop" and offset > 0:
                value = f"{offset}|{from_ or ''}"          # the same token again
            token_xml = (f'<resumptionToken completeListSize="{len(chosen)}" '
                         f'cursor="{offset}">{escape(value)}</resumptionToken>')
        else:
            token_xml = f'<resumptionToken completeListSize="{len(chosen)}" cursor="{offset}"/>'
        body = "".join(self.record_xml(r) for r in page) + token_xml
        return self.envelope('verb="ListRecords"', f"<ListRecords>{body}</ListRecords>")

    def identify(self) -> str:
        earliest = min((r.datestamp for r in self.records), default="2000-01-01T00:00:00Z")
        return self.envelope('verb="Identify"', (
            "<Identify><repositoryName>Fake member</repositoryName>"
            f"<baseURL>{escape(self.url)}</baseURL><protocolVersion>2.0</protocolVersion>"
            "<adminEmail>oai@fake.example</adminEmail>"
            f"<earliestDatestamp>{earliest}</earliestDatestamp>"
            f"<deletedRecord>{self.deleted_record}</deletedRecord>"
            f"<granularity>{self.granularity}</granularity></Identify>"))

    def formats(self) -> str:
        return self.envelope('verb="ListMetadataFormats"', (
            "<ListMetadataFormats><metadataFormat><metadataPrefix>marc21</metadataPrefix>"
            "<schema>http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd</schema>"
            "<metadataNamespace>http://www.loc.gov/MARC21/slim</metadataNamespace>"
            "</metadataFormat></ListMetadataFormats>"))

    def sets(self) -> str:
        return self.envelope('verb="ListSets"', (
            "<ListSets><set><setSpec>books</setSpec><setName>Books</setName></set></ListSets>"))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        params = dict(request.query)
        self.requests.append(params)
        verb = params.get("verb")
        listing = verb == "ListRecords"
        if listing and self._faults_left > 0:
            fault = await self.fault(request)
            if fault is not None:
                self._faults_left -= 1
                return fault
        if verb == "Identify":
            text = self.identify()
        elif verb == "ListMetadataFormats":
            text = self.formats()
        elif verb == "ListSets":
            text = self.sets()
        elif listing:
            text = self.list_records(params)
        else:
            text = self.error("badVerb", f"illegal verb {verb!r}")
        return self.encode(text, listing)

    def encode(self, text: str, listing: bool) -> web.Response:
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        if listing and self.scenario == "invalid-xml-chars":
            text = text.replace("</subfield>", "\x0b\x01</subfield>", 3)
        if listing and self.scenario == "latin1-as-utf8":
            return web.Response(body=text.encode("latin-1", errors="replace"), headers=headers)
        body = text.encode("utf-8")
        if listing and self.scenario == "undeclared-gzip":
            body = gzip.compress(body)     # compressed, and no Content-Encoding said so
        return web.Response(body=body, headers=headers)

    async def fault(self, request: web.Request) -> web.StreamResponse | None:
        if self.scenario == "503-storm":
            return web.Response(status=503, text="reindexing", headers={"Retry-After": "2"})
        if self.scenario == "503-storm-date":
            when = datetime.now(UTC) + timedelta(seconds=3)
            return web.Response(status=503, text="reindexing",
                                headers={"Retry-After": format_datetime(when, usegmt=True)})
        if self.scenario == "429":
            return web.Response(status=429, text="slow down", headers={"Retry-After": "1"})
        if self.scenario == "html-error-page":
            return web.Response(status=200, content_type="text/html",
                                text="<html><body><h1>Service Unavailable</h1></body></html>")
        if self.scenario in ("reset-mid-body", "truncated-body"):
            response = web.StreamResponse(headers={"Content-Type": "text/xml",
                                                   "Content-Length": "100000"})
            await response.prepare(request)
            await response.write(b'<?xml version="1.0"?><OAI-PMH xmlns="' + OAI_NS.encode()
                                 + b'"><responseDate>2026')
            if request.transport is not None:
                request.transport.close()          # reset: the body never completes
            return response
        return None
