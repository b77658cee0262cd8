"""The typed results of OAI-PMH responses, and the readers of their elements.

The readers take ``lxml`` elements already parsed by the hardened parser; a record the
harvest cannot use raises ``BadRecord`` (its reason goes to quarantine with the raw bytes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from protocols.xml import OAI_NS

__all__ = [
    "Header", "OaiRecord", "ResumptionToken", "ListPage", "Identify", "MetadataFormat",
    "OaiSet", "BadRecord", "read_record", "read_header", "read_token",
    "serialize", "text_of", "oai", "note_missing_datestamps",
]


def oai(name: str) -> str:
    """Clark name of an OAI-PMH element: ``oai("record")`` → '{http://...OAI/2.0/}record'."""
    return f"{{{OAI_NS}}}{name}"


@dataclass(slots=True)
class Header:
    identifier: str
    datestamp: str          # '' when the repository left it out (kept; noted in ListPage.repairs)
    set_specs: list[str]
    deleted: bool


@dataclass(slots=True)
class OaiRecord:
    header: Header
    # the first element inside <metadata> (<marc:record>, <oai_dc:dc>, ...) serialized with
    # every namespace in scope declared, so it parses on its own; None for a deleted record
    metadata: bytes | None
    # the whole <record> element, serialized the same way (``raw``); with keep_payload it is
    # serialized from ``_element`` when first asked for — a stored record never needs it,
    # only tombstones and quarantine do
    _raw: bytes | None = field(default=None, repr=False, compare=False)
    # that first element itself, still in the page's tree, when the page was read with
    # read_record(..., keep_payload=True): the converter decodes it instead of parsing
    # ``metadata`` again, and drops it (it keeps the whole page tree alive)
    metadata_element: etree._Element | None = field(default=None, repr=False, compare=False)
    _element: etree._Element | None = field(default=None, repr=False, compare=False)

    @property
    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = serialize(self._element) if self._element is not None else b""
            self._element = None
        return self._raw


@dataclass(slots=True)
class ResumptionToken:
    value: str
    cursor: int | None
    complete_list_size: int | None
    expiration_date: str | None


@dataclass(slots=True)
class ListPage:
    response_date: str
    records: list[OaiRecord]                 # ListRecords
    headers: list[Header]                    # ListIdentifiers
    token: ResumptionToken | None            # None: the list is complete
    bad_records: list[tuple[bytes, str]] = field(default_factory=list)  # (raw, reason)
    repairs: list[str] = field(default_factory=list)  # what the lenient path had to fix


@dataclass(slots=True)
class Identify:
    repository_name: str
    base_url: str
    protocol_version: str
    earliest_datestamp: str
    deleted_record: str
    granularity: str
    compression: list[str]
    admin_emails: list[str]
    response_date: str


@dataclass(slots=True)
class MetadataFormat:
    prefix: str
    schema: str
    namespace: str


@dataclass(slots=True)
class OaiSet:
    spec: str
    name: str


class BadRecord(Exception):
    """A record (or header) the harvest cannot use; ``reason`` says why. Internal."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def serialize(element: etree._Element) -> bytes:
    """``element`` as UTF-8 without its tail; lxml declares every namespace in scope on it."""
    return etree.tostring(element, encoding="utf-8", with_tail=False)


def text_of(parent: etree._Element, tag: str) -> str:
    """Stripped text of the first child ``tag`` ('' when absent)."""
    child = parent.find(tag)
    if child is None or child.text is None:
        return ""
    return child.text.strip()


def read_header(element: etree._Element) -> Header:
    """A <header>; without an identifier it cannot be stored (a missing datestamp is kept)."""
    identifier = text_of(element, oai("identifier"))
    if not identifier:
        raise BadRecord("header has no identifier")
    datestamp = text_of(element, oai("datestamp"))
    set_specs = [spec.text.strip() for spec in element.iterfind(oai("setSpec"))
                 if spec.text and spec.text.strip()]
    return Header(identifier, datestamp, set_specs, element.get("status") == "deleted")


def read_record(element: etree._Element, *, keep_payload: bool = False) -> OaiRecord:
    """A <record>: its header, its metadata payload (None when deleted) and itself, serialized.

    ``keep_payload`` also keeps the payload element (``OaiRecord.metadata_element``).
    """
    header_element = element.find(oai("header"))
    if header_element is None:
        raise BadRecord("record has no header")
    header = read_header(header_element)
    if header.deleted:
        return OaiRecord(header, None, serialize(element))
    container = element.find(oai("metadata"))
    if container is None:
        raise BadRecord(f"record {header.identifier!r} is not deleted but has no metadata")
    payload = next((c for c in container if isinstance(c.tag, str)), None)
    if payload is None:
        raise BadRecord(f"record {header.identifier!r}: <metadata> holds no element")
    if keep_payload:
        return OaiRecord(header, serialize(payload), None, payload, element)
    return OaiRecord(header, serialize(payload), serialize(element))


def read_token(element: etree._Element) -> ResumptionToken | None:
    """The token, or None when its text is empty (the last page of a list)."""
    value = (element.text or "").strip()
    if not value:
        return None
    expiration = element.get("expirationDate")
    return ResumptionToken(value, _int(element.get("cursor")),
                           _int(element.get("completeListSize")),
                           expiration.strip() if expiration else None)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() else None


def note_missing_datestamps(page: ListPage) -> ListPage:
    """One note for the headers kept without a datestamp (some repositories omit them all)."""
    headers = page.headers or [r.header for r in page.records]
    missing = [h.identifier for h in headers if not h.datestamp]
    if missing:
        page.repairs.append(f"{len(missing)} header(s) without a datestamp kept with datestamp "
                            f"'' (first {missing[0]!r})")
    return page
