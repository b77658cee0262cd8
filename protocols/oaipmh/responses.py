"""OAI-PMH responses → typed results: harvest pages, Identify, formats, sets, GetRecord.

    parse_list_page(data, verb="ListRecords") → ListPage   (ListRecords / ListIdentifiers)
    parse_identify(data)                      → Identify
    parse_metadata_formats(data)              → [MetadataFormat]
    parse_sets(data)                          → ([OaiSet], ResumptionToken | None)
    parse_get_record(data)                    → OaiRecord

Every page goes through ``protocols.xml.parse_xml`` strictly first. When that fails the
lenient path repairs the bytes (``repair.repair_xml_bytes``: illegal characters, non-UTF-8
bytes) and parses again; a list page that still fails is salvaged record by record
(``salvage``). What the lenient path did is listed in ``ListPage.repairs``.

An ``<error>`` raises its typed ``OAIError`` — except ``noRecordsMatch`` in
``parse_list_page``, which is an empty result (token None), not a failure. Error bodies come
with any HTTP status (Zenodo answers 422); the caller passes the bytes whatever the status.
A page that is not OAI-PMH, or cannot be read at all, raises ``HarvestPageError`` saying what
was found instead — never an empty page (Sickle's bug #55 ends harvests silently that way).
"""

from __future__ import annotations

import re

from lxml import etree

from protocols.errors import XmlError, XmlTooLarge
from protocols.oaipmh.errors import HarvestPageError, NoRecordsMatch, oai_error
from protocols.oaipmh.model import (
    BadRecord, Identify, ListPage, MetadataFormat, OaiRecord, OaiSet, ResumptionToken, oai,
    note_missing_datestamps, read_header, read_record, read_token, serialize, text_of,
)
from protocols.oaipmh.repair import describe_bytes, repair_xml_bytes
from protocols.oaipmh.salvage import salvage_list_page
from protocols.xml import MAX_BYTES, local_name, parse_xml

__all__ = [
    "LIST_VERBS", "parse_list_page", "parse_identify", "parse_metadata_formats", "parse_sets",
    "parse_get_record", "load_document",
]

LIST_VERBS = ("ListRecords", "ListIdentifiers")

# libxml2 refuses a single text node over 10 MB (a base64 payload, a giant MARC field)
# unless huge_tree is set; only a page larger than that can hold one.
_HUGE_FROM = 10_000_000

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


class Unparseable(Exception):
    """Internal: the page is not well-formed even after repairs (carries the repaired bytes)."""

    def __init__(self, error: XmlError, data: bytes, repairs: list[str]) -> None:
        super().__init__(str(error))
        self.error = error
        self.data = data
        self.repairs = repairs


def parse_list_page(data: bytes, *, verb: str = "ListRecords",
                    max_bytes: int = MAX_BYTES) -> ListPage:
    """One page of ListRecords or ListIdentifiers.

    Unreadable records go to ``bad_records`` with their raw bytes; the page fails only when
    nothing can be read (``HarvestPageError``) or the repository answered an error
    (``OAIError``). A page cut short whose resumptionToken is lost raises
    ``HarvestPageError`` with the salvaged records in ``partial``.
    """
    if verb not in LIST_VERBS:
        raise ValueError(f"parse_list_page reads {' or '.join(LIST_VERBS)}, not {verb!r}")
    try:
        root, repairs = load_document(data, max_bytes=max_bytes)
    except Unparseable as failed:
        return salvage_list_page(failed.data, verb=verb, max_bytes=max_bytes,
                                 reason=str(failed.error), repairs=failed.repairs)
    response_date = _envelope(root, data, repairs)
    if _raise_errors(root, verb, empty_ok=True):
        return ListPage(response_date, [], [], None, [], repairs)
    container = _container(root, verb)
    page = ListPage(response_date, [], [], None, [], repairs)
    item_tag = oai("record") if verb == "ListRecords" else oai("header")
    token_tag = oai("resumptionToken")
    # Payload elements stay attached so the converter need not parse them again (they keep
    # the tree alive until it has converted the page), unless the page needed huge_tree:
    # their bytes alone would meet limits the page did not, and must keep meeting them.
    keep_payload = len(data) <= _HUGE_FROM
    unexpected: list[str] = []
    # children are visited, never listed: only the payloads outlive their records (memory)
    for element in container:
        tag = element.tag
        if tag == item_tag:
            _read_item(element, verb, page, keep_payload)
        elif tag == token_tag:
            page.token = read_token(element)
        elif isinstance(tag, str):
            unexpected.append(tag)
    if unexpected:
        # e.g. records in a namespace the repository got wrong: say so, never drop silently
        repairs.append(f"ignored {len(unexpected)} unexpected element(s) in <{verb}>: "
                       f"{sorted(set(unexpected))[:5]}")
    return note_missing_datestamps(page)


def _read_item(element: etree._Element, verb: str, page: ListPage,
               keep_payload: bool = False) -> None:
    try:
        if verb == "ListIdentifiers":
            page.headers.append(read_header(element))
        else:
            page.records.append(read_record(element, keep_payload=keep_payload))
    except BadRecord as bad:
        page.bad_records.append((serialize(element), bad.reason))


def parse_identify(data: bytes, *, max_bytes: int = MAX_BYTES) -> Identify:
    root, repairs = _load_or_fail(data, max_bytes)
    response_date = _envelope(root, data, repairs)
    _raise_errors(root, "Identify")
    element = _container(root, "Identify")
    compression = [c.text.strip() for c in element.iterfind(oai("compression")) if c.text]
    emails = [e.text.strip() for e in element.iterfind(oai("adminEmail")) if e.text]
    return Identify(
        repository_name=" ".join(text_of(element, oai("repositoryName")).split()),
        base_url=text_of(element, oai("baseURL")),
        protocol_version=text_of(element, oai("protocolVersion")),
        earliest_datestamp=text_of(element, oai("earliestDatestamp")),
        deleted_record=text_of(element, oai("deletedRecord")),
        granularity=text_of(element, oai("granularity")),
        compression=compression,
        admin_emails=emails,
        response_date=response_date,
    )


def parse_metadata_formats(data: bytes, *, max_bytes: int = MAX_BYTES) -> list[MetadataFormat]:
    root, repairs = _load_or_fail(data, max_bytes)
    _envelope(root, data, repairs)
    _raise_errors(root, "ListMetadataFormats")
    element = _container(root, "ListMetadataFormats")
    return [MetadataFormat(text_of(f, oai("metadataPrefix")), text_of(f, oai("schema")),
                           text_of(f, oai("metadataNamespace")))
            for f in element.iterfind(oai("metadataFormat"))]


def parse_sets(data: bytes, *,
               max_bytes: int = MAX_BYTES) -> tuple[list[OaiSet], ResumptionToken | None]:
    root, repairs = _load_or_fail(data, max_bytes)
    _envelope(root, data, repairs)
    _raise_errors(root, "ListSets")
    element = _container(root, "ListSets")
    sets = [OaiSet(text_of(s, oai("setSpec")), " ".join(text_of(s, oai("setName")).split()))
            for s in element.iterfind(oai("set"))]
    token_element = element.find(oai("resumptionToken"))
    return sets, read_token(token_element) if token_element is not None else None


def parse_get_record(data: bytes, *, max_bytes: int = MAX_BYTES) -> OaiRecord:
    root, repairs = _load_or_fail(data, max_bytes)
    _envelope(root, data, repairs)
    _raise_errors(root, "GetRecord")
    element = _container(root, "GetRecord")
    record = element.find(oai("record"))
    if record is None:
        raise HarvestPageError("GetRecord response holds no <record>")
    try:
        return read_record(record)
    except BadRecord as bad:
        raise HarvestPageError(f"GetRecord: the record cannot be read: {bad.reason}") from None


# --- loading -----------------------------------------------------------------------------

def load_document(data: bytes, *, max_bytes: int) -> tuple[etree._Element, list[str]]:
    """Root of ``data`` and the repairs made: strict parse, else the repaired bytes parsed
    again; ``Unparseable`` (carrying the repaired bytes) when that fails too."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"OAI-PMH pages are bytes, not {type(data).__name__}")
    data = bytes(data)
    if not data or data.isspace():
        raise HarvestPageError("empty response body where an OAI-PMH page was expected")
    huge = len(data) > _HUGE_FROM
    try:
        return parse_xml(data, max_bytes=max_bytes, huge=huge), []
    except XmlTooLarge:
        raise
    except XmlError as strict_error:
        if _DOCTYPE.search(data) and _ENTITY_DECL.search(data):
            # never salvage around a refused DTD: the page is hostile or broken beyond repair
            raise HarvestPageError(f"page refused: {strict_error}") from strict_error
        repaired, repairs = repair_xml_bytes(data)
        if repaired == data:
            raise Unparseable(strict_error, data, repairs) from None
        try:
            # repairs may grow the page (cp1252 → UTF-8); the caller's cap was checked above
            root = parse_xml(repaired, max_bytes=max(max_bytes, len(repaired)), huge=huge)
        except XmlError as error:
            raise Unparseable(error, repaired, repairs) from None
        return root, repairs


def _load_or_fail(data: bytes, max_bytes: int) -> tuple[etree._Element, list[str]]:
    try:
        return load_document(data, max_bytes=max_bytes)
    except Unparseable as failed:
        raise HarvestPageError(f"page is not well-formed XML even after repairs "
                               f"({failed.error}); {describe_bytes(data)}") from None


def _envelope(root: etree._Element, data: bytes, repairs: list[str]) -> str:
    """The responseDate of an OAI-PMH root; HarvestPageError for any other document."""
    if root.tag != oai("OAI-PMH"):
        if local_name(root).lower() == "html":
            raise HarvestPageError(f"not an OAI-PMH response: {describe_bytes(data)}")
        raise HarvestPageError(f"not an OAI-PMH response: the root element is {root.tag!r} "
                               f"(expected {oai('OAI-PMH')!r})")
    response_date = text_of(root, oai("responseDate"))
    if not response_date:
        repairs.append("the envelope has no responseDate")
    return response_date


def _raise_errors(root: etree._Element, verb: str, *, empty_ok: bool = False) -> bool:
    """Raise the page's first OAI-PMH error; True when it only says noRecordsMatch (empty_ok)."""
    errors = [(e.get("code", "").strip(), (e.text or "").strip())
              for e in root.iterfind(oai("error"))]
    if not errors:
        return False
    for code, text in errors:
        if not (empty_ok and code == NoRecordsMatch.code):
            raise oai_error(code, text, verb=verb)
    return True


def _container(root: etree._Element, verb: str) -> etree._Element:
    element = root.find(oai(verb))
    if element is None:
        found = [local_name(c) for c in root if isinstance(c.tag, str)]
        raise HarvestPageError(f"OAI-PMH response holds no <{verb}> and no <error>; "
                               f"its elements are {found}")
    return element
