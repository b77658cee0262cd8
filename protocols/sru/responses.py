"""SRU searchRetrieve responses → ``SruPage``, for SRU 1.1/1.2 and 2.0.

    parse_search_retrieve(data, query=...) → SruPage(number_of_records, records,
                                                    next_position, diagnostics, bad_records)

* Both namespaces: ``http://www.loc.gov/zing/srw/`` (1.x) and
  ``http://docs.oasis-open.org/ns/search-ws/sruResponse`` (2.0); the diagnostics of either
  set are read by local name.
* Both packings: ``xml`` (the record is the element inside ``recordData``) and ``string``
  (escaped XML text — unescaped by the parser, then parsed alone with the hardened parser).
  ``SruRecord.data`` is always the record serialized with its namespaces declared.
  2.0 says ``recordXMLEscaping`` where 1.x says ``recordPacking``.
* Surrogate diagnostics (a diagnostic in place of one record) go to ``diagnostics``; a record
  whose string packing does not parse goes to ``bad_records`` (raw bytes, reason).
* A response without records whose diagnostics are all it says is fatal: the first
  diagnostic raises its ``SruError`` subclass (``DIAGNOSTICS``).
* YAZ never sends ``nextRecordPosition``; ``next_position`` then comes from the last
  ``recordPosition`` + 1 while that is within ``numberOfRecords`` (None without positions:
  page on with startRecord + number of records received).
* An HTML page (YAZ answers a wrong database path with an HTTP 404 HTML page) raises
  ``SruEndpointError`` saying the base URL / database is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from protocols.errors import XmlError, XmlTooLarge
from protocols.oaipmh.repair import describe_bytes, repair_xml_bytes
from protocols.sru.errors import SruEndpointError, SruError, sru_error
from protocols.xml import MAX_BYTES, SRU_NS, local_name, parse_xml

__all__ = [
    "SRU1_NS", "SRU2_NS", "SruDiagnostic", "SruRecord", "SruPage", "parse_search_retrieve",
]

SRU1_NS = "http://www.loc.gov/zing/srw/"
SRU2_NS = SRU_NS
DIAGNOSTIC_NAMESPACES = ("http://www.loc.gov/zing/srw/diagnostic/",
                         "http://docs.oasis-open.org/ns/search-ws/diagnostic")
_SURROGATE_SCHEMAS = {"info:srw/schema/1/diagnostics-v1.1",
                      "http://www.loc.gov/zing/srw/diagnostic/"}
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")


@dataclass(slots=True)
class SruDiagnostic:
    uri: str
    details: str
    message: str


@dataclass(slots=True)
class SruRecord:
    position: int | None
    schema: str | None
    data: bytes     # the record (e.g. <record xmlns="http://www.loc.gov/MARC21/slim">), standalone
    packing: str    # "xml" or "string": how it was packed in the response


@dataclass(slots=True)
class SruPage:
    number_of_records: int
    records: list[SruRecord]
    next_position: int | None
    diagnostics: list[SruDiagnostic]
    bad_records: list[tuple[bytes, str]] = field(default_factory=list)  # (raw, reason)


def parse_search_retrieve(data: bytes, *, query: str | None = None,
                          max_bytes: int = MAX_BYTES) -> SruPage:
    """One searchRetrieve response; ``query`` (else the echoed one) names a refused query."""
    root = _load(data, max_bytes)
    ns = etree.QName(root).namespace
    if local_name(root) != "searchRetrieveResponse" or ns not in (SRU1_NS, SRU2_NS):
        if local_name(root).lower() == "html":
            raise _html_error(root)
        raise SruEndpointError(f"not an SRU searchRetrieveResponse: the root element is "
                               f"{root.tag!r}; is the base URL an SRU endpoint?")

    sru = _Names(ns)
    diagnostics = _diagnostics(sru.child(root, "diagnostics"))
    page = SruPage(0, [], None, diagnostics)
    slots = 0
    positions: list[int] = []
    records = sru.child(root, "records")
    for record in records.iterfind(f"{{{ns}}}record") if records is not None else ():
        slots += 1
        position = _int(sru.text(record, "recordPosition"))
        if position is not None:
            positions.append(position)
        _read_record(record, sru, position, page, max_bytes)

    if slots == 0 and diagnostics:
        echoed = sru.child(root, "echoedSearchRetrieveRequest")
        if query is None and echoed is not None:
            query = sru.text(echoed, "query")
        first = diagnostics[0]
        raise sru_error(first.uri, first.details, first.message, query=query)
    count = sru.text(root, "numberOfRecords")
    number = _int(count)
    if number is None:
        raise SruError(f"searchRetrieveResponse has no valid numberOfRecords ({count!r})")
    page.number_of_records = number
    page.next_position = _int(sru.text(root, "nextRecordPosition"))
    if page.next_position is None and positions and max(positions) < number:
        page.next_position = max(positions) + 1
    return page


class _Names:
    """Children of SRU elements in the response's namespace (1.x or 2.0)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def child(self, parent: etree._Element, name: str) -> etree._Element | None:
        return parent.find(f"{{{self.namespace}}}{name}")

    def text(self, parent: etree._Element, name: str) -> str | None:
        element = self.child(parent, name)
        return element.text.strip() if element is not None and element.text else None


def _read_record(record: etree._Element, sru: _Names, position: int | None, page: SruPage,
                 max_bytes: int) -> None:
    schema = sru.text(record, "recordSchema")
    container = sru.child(record, "recordData")
    if container is None:
        page.bad_records.append((_raw(record), "record has no recordData"))
        return
    element = next((c for c in container if isinstance(c.tag, str)), None)
    packing = "xml"
    if element is None:
        # string packing: the parser has unescaped the record; it is parsed on its own
        packing = "string"
        escaped = _XML_DECL.sub("", container.text or "", count=1).strip()
        if not escaped:
            page.bad_records.append((_raw(record), "recordData is empty"))
            return
        try:
            element = parse_xml(escaped.encode("utf-8"), max_bytes=max_bytes)
        except XmlError as err:
            page.bad_records.append((escaped.encode("utf-8"),
                                     f"record {position} (string packing) does not parse: {err}"))
            return
    if schema in _SURROGATE_SCHEMAS or _is_diagnostic(element):
        page.diagnostics.extend(_diagnostics(element, surrogate=True))
        return
    page.records.append(SruRecord(position, schema, _raw(element), packing))


def _load(data: bytes, max_bytes: int) -> etree._Element:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"SRU responses are bytes, not {type(data).__name__}")
    data = bytes(data)
    if not data or data.isspace():
        raise SruEndpointError("empty response body where an SRU response was expected")
    try:
        return parse_xml(data, max_bytes=max_bytes)
    except XmlTooLarge:
        raise
    except XmlError as strict_error:
        found = describe_bytes(data)
        if found.startswith("found an HTML page"):
            raise SruEndpointError(f"the SRU server answered with an HTML page ({found}), not "
                                   "SRU: the base URL or database path is wrong") from None
        repaired, _ = repair_xml_bytes(data)
        if repaired != data:  # parse_xml refuses entity declarations again
            try:
                return parse_xml(repaired, max_bytes=max(max_bytes, len(repaired)))
            except XmlError:
                pass
        raise SruError(f"SRU response is not well-formed XML ({strict_error}); "
                       f"{found}") from None


def _html_error(root: etree._Element) -> SruEndpointError:
    title = next((e.text for e in root.iter() if isinstance(e.tag, str)
                  and local_name(e).lower() == "title" and e.text), None)
    body = " ".join(" ".join(root.itertext()).split())[:200]
    named = f" titled {title.strip()!r}" if title else ""
    return SruEndpointError(f"the SRU server answered with an HTML page{named} ({body!r}), not "
                            "SRU: the base URL or database path is wrong (YAZ answers an "
                            "unknown database with HTTP 404)")


def _is_diagnostic(element: etree._Element) -> bool:
    return (local_name(element) == "diagnostic"
            and etree.QName(element).namespace in DIAGNOSTIC_NAMESPACES)


def _diagnostics(container: etree._Element | None, *,
                 surrogate: bool = False) -> list[SruDiagnostic]:
    if container is None:
        return []
    items = [container] if surrogate else [c for c in container if isinstance(c.tag, str)
                                          and local_name(c) == "diagnostic"]
    found = []
    for item in items:
        parts = {local_name(c): (c.text or "").strip() for c in item if isinstance(c.tag, str)}
        found.append(SruDiagnostic(parts.get("uri", ""), parts.get("details", ""),
                                   parts.get("message", "")))
    return found


def _raw(element: etree._Element) -> bytes:
    return etree.tostring(element, encoding="utf-8", with_tail=False)


def _int(value: str | None) -> int | None:
    if value is None or not value.isascii() or not value.isdigit():
        return None
    return int(value)
