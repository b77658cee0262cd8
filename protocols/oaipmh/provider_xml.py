"""OAI-PMH 2.0 response documents of our repository, built with lxml.

    envelope(base_url, response_date, request)     → (<OAI-PMH>, its <request>)
    error_response(base_url, now, exc, request)    → bytes, <error code=…> answers
    identify / metadata_formats / sets / header / record / resumption_token → elements

``request`` is the validated request, or None when the request itself was at fault
(badVerb, badArgument): the protocol then wants a bare ``<request>`` without attributes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from protocols.oaipmh.dates import SECONDS, format_datestamp
from protocols.oaipmh.errors import BadArgument, BadVerb, OAIError
from protocols.oaipmh.provider import MetadataFormatSpec, OaiRequest
from protocols.xml import OAI_NS, XSI_NS

__all__ = [
    "RepositoryInfo", "OaiHeader", "envelope", "to_bytes", "error_response", "identify",
    "metadata_formats", "sets", "verb_element", "header", "record", "resumption_token",
]

_OAI = f"{{{OAI_NS}}}"
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SCHEMA_LOCATION = f"{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"


@dataclass(frozen=True, slots=True)
class RepositoryInfo:
    name: str
    base_url: str
    admin_emails: tuple[str, ...]
    earliest_datestamp: datetime
    compression: tuple[str, ...] = ()      # Content-Encodings the endpoint answers with


@dataclass(frozen=True, slots=True)
class OaiHeader:
    identifier: str
    datestamp: datetime
    set_specs: tuple[str, ...] = ()
    deleted: bool = False


def _sub(parent: etree._Element, name: str, text: str | None = None,
         **attributes: str) -> etree._Element:
    child = etree.SubElement(parent, f"{_OAI}{name}", **attributes)
    if text is not None:
        # a member's name or an error message quoting odd input must not turn into a 500
        child.text = _XML_ILLEGAL.sub("", text)
    return child


def envelope(base_url: str, response_date: datetime,
             request: OaiRequest | None) -> tuple[etree._Element, etree._Element]:
    root = etree.Element(f"{_OAI}OAI-PMH", nsmap={None: OAI_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", _SCHEMA_LOCATION)
    _sub(root, "responseDate", format_datestamp(response_date.astimezone(UTC), SECONDS))
    echoed = _sub(root, "request", base_url)
    if request is not None:
        echoed.set("verb", request.verb)
        for name, value in request.arguments.items():
            echoed.set(name, value)
    return root, echoed


def to_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def error_response(base_url: str, response_date: datetime, error: OAIError,
                   request: OaiRequest | None) -> bytes:
    echo = None if isinstance(error, (BadVerb, BadArgument)) else request
    root, _ = envelope(base_url, response_date, echo)
    _sub(root, "error", str(error), code=error.code)
    return to_bytes(root)


def verb_element(root: etree._Element, verb: str) -> etree._Element:
    """The element named after the verb that holds the answer (``<ListRecords>``, …)."""
    return _sub(root, verb)


def identify(root: etree._Element, info: RepositoryInfo) -> None:
    answer = _sub(root, "Identify")
    _sub(answer, "repositoryName", info.name)
    _sub(answer, "baseURL", info.base_url)
    _sub(answer, "protocolVersion", "2.0")
    for email in info.admin_emails:
        _sub(answer, "adminEmail", email)
    _sub(answer, "earliestDatestamp", format_datestamp(info.earliest_datestamp, SECONDS))
    _sub(answer, "deletedRecord", "persistent")
    _sub(answer, "granularity", SECONDS)
    for encoding in info.compression:
        _sub(answer, "compression", encoding)


def metadata_formats(root: etree._Element, formats: Iterable[MetadataFormatSpec]) -> None:
    answer = _sub(root, "ListMetadataFormats")
    for spec in formats:
        entry = _sub(answer, "metadataFormat")
        _sub(entry, "metadataPrefix", spec.prefix)
        _sub(entry, "schema", spec.schema)
        _sub(entry, "metadataNamespace", spec.namespace)


def sets(root: etree._Element, entries: Iterable[tuple[str, str]]) -> None:
    answer = _sub(root, "ListSets")
    for spec, name in entries:
        entry = _sub(answer, "set")
        _sub(entry, "setSpec", spec)
        _sub(entry, "setName", name)


def header(parent: etree._Element, item: OaiHeader) -> etree._Element:
    element = _sub(parent, "header")
    if item.deleted:
        element.set("status", "deleted")
    _sub(element, "identifier", item.identifier)
    _sub(element, "datestamp", format_datestamp(item.datestamp, SECONDS))
    for spec in item.set_specs:
        _sub(element, "setSpec", spec)
    return element


def record(parent: etree._Element, item: OaiHeader,
           metadata: etree._Element | None) -> etree._Element:
    """A ``<record>``; a deleted record has a header only, whatever ``metadata`` says."""
    element = _sub(parent, "record")
    header(element, item)
    if not item.deleted and metadata is not None:
        _sub(element, "metadata").append(metadata)
    return element


def resumption_token(parent: etree._Element, token: str | None, *, cursor: int,
                     complete_list_size: int | None,
                     expires: datetime | None) -> etree._Element:
    """The token of an incomplete list; ``token`` None gives the empty one of the last page."""
    element = _sub(parent, "resumptionToken", token or "")
    if expires is not None and token:
        element.set("expirationDate", format_datestamp(expires, SECONDS))
    if complete_list_size is not None:
        element.set("completeListSize", str(complete_list_size))
    element.set("cursor", str(cursor))
    return element
