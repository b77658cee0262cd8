"""Record-by-record salvage of a list page that is not well-formed even after repairs.

The page is cut at the byte level, never parsed as a whole:

* the envelope must be there: an ``<OAI-PMH>`` start tag binding the OAI-PMH namespace and a
  ``<responseDate>``, else the page is not an OAI-PMH response (``HarvestPageError``);
* an OAI record starts where ``<record>`` is followed by ``<header`` — so a MARCXML
  ``<record xmlns="...MARC21/slim">`` inside the metadata is never taken for one — and
  runs to the start of the next; it ends at its last ``</record>`` (none: cut off);
  ListIdentifiers headers are cut the same way on ``<header``;
* each piece is wrapped in the page's own ``<OAI-PMH ...><ListRecords ...>`` start tags
  (they carry the namespace declarations) and parsed alone with the hardened parser;
  a piece that still fails goes to ``bad_records`` with its bytes and the parser's reason;
* the resumptionToken is looked for after the last record. A page cut short (no
  ``</OAI-PMH>``) without a token cannot tell whether the list goes on, so it raises
  ``HarvestPageError`` carrying the salvaged page in ``partial``.
"""

from __future__ import annotations

import re

from lxml import etree

from protocols.errors import XmlError
from protocols.oaipmh.errors import HarvestPageError, NoRecordsMatch, oai_error
from protocols.oaipmh.model import (
    BadRecord, ListPage, ResumptionToken, note_missing_datestamps, oai, read_header, read_record,
    read_token, serialize,
)
from protocols.oaipmh.repair import describe_bytes
from protocols.xml import parse_xml

__all__ = ["salvage_list_page"]

_ROOT_START = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?OAI-PMH(?=[\s>/])[^>]*>")
_OAI_NS = rb"http://www\.openarchives\.org/OAI/2\.0/"


def salvage_list_page(data: bytes, *, verb: str, max_bytes: int, reason: str,
                      repairs: list[str]) -> ListPage:
    root_start = _ROOT_START.search(data)
    if root_start is None:
        raise HarvestPageError(f"not an OAI-PMH response and not well-formed XML ({reason}); "
                               f"{describe_bytes(data)}")
    root_tag = root_start.group(0)
    prefix = root_start.group(1) or b""
    binding = rb"xmlns" + (b":" + re.escape(prefix) if prefix else b"")
    if root_tag.endswith(b"/>") or not re.search(
            binding + rb"\s*=\s*([\"'])" + _OAI_NS + rb"\1", root_tag):
        raise HarvestPageError(f"not well-formed XML ({reason}) and its root start tag "
                               f"{root_tag[:200]!r} does not bind the OAI-PMH namespace")
    p = re.escape(prefix + b":") if prefix else b""
    cut = _Cutter(data, root_tag, prefix, p, verb.encode("ascii"), max_bytes)

    date = re.search(rb"<" + p + rb"responseDate\s*>\s*([^<]*?)\s*</" + p + rb"responseDate\s*>",
                     data)
    if date is None:
        raise HarvestPageError(f"not well-formed XML ({reason}) and no responseDate found: "
                               "nothing can be salvaged from this page")
    response_date = date.group(1).decode("utf-8", "replace")

    notes = [*repairs, f"page is not well-formed XML ({reason}); salvaged record by record"]
    page = ListPage(response_date, [], [], None, [], notes)
    if verb == "ListRecords":
        anchor = re.compile(rb"<" + p + rb"record(?:\s[^>]*)?>\s*(?:<!--.*?-->\s*)*<" + p
                            + rb"header(?=[\s>/])", re.DOTALL)
        closing = re.compile(rb"</" + p + rb"record\s*>")
    else:
        anchor = re.compile(rb"<" + p + rb"header(?=[\s>/])")
        closing = re.compile(rb"</" + p + rb"header\s*>")
    starts = [m.start() for m in anchor.finditer(data)]
    list_end = re.compile(rb"<" + p + rb"resumptionToken(?=[\s>/])|</" + p + verb.encode()
                          + rb"\s*>|</" + p + rb"OAI-PMH\s*>")
    last_end = 0
    for index, start in enumerate(starts):
        if index + 1 < len(starts):
            stop = starts[index + 1]
        else:
            end_mark = list_end.search(data, start)
            stop = end_mark.start() if end_mark else len(data)
        piece = data[start:stop]
        closes = list(closing.finditer(piece))
        if not closes:
            page.bad_records.append((piece.strip(), f"{verb} item is cut off: no closing tag"))
            continue
        piece = piece[:closes[-1].end()]
        last_end = start + len(piece)
        _read_piece(cut, piece, verb, page)

    if not starts:
        error = re.search(rb"<" + p + rb"error\b[^>]*?\bcode\s*=\s*([\"'])(.*?)\1[^>]*>([^<]*)",
                          data)
        if error is not None:
            code = error.group(2).decode("utf-8", "replace")
            if code == NoRecordsMatch.code:
                return page
            raise oai_error(code, error.group(3).decode("utf-8", "replace"), verb=verb)
        raise HarvestPageError(f"not well-formed XML ({reason}) and no {verb} item found in it; "
                               "nothing can be salvaged from this page")

    token_match = re.search(rb"<" + p + rb"resumptionToken(?=[\s>/])[^>]*?(?:/>|>[^<]*</" + p
                            + rb"resumptionToken\s*>)", data[last_end:])
    truncated = re.compile(rb"</" + p + rb"OAI-PMH\s*>").search(data, last_end) is None
    if token_match is not None:
        try:
            page.token = cut.token(token_match.group(0))
        except XmlError as err:
            raise HarvestPageError(f"the resumptionToken of a salvaged page cannot be read "
                                   f"({err}); the list cannot go on from here",
                                   partial=page) from None
    elif truncated:
        raise HarvestPageError(
            f"page is cut short after {len(page.records) + len(page.headers)} readable "
            f"item(s) and its resumptionToken is lost, so it cannot be told whether the list "
            f"goes on ({reason})", partial=page)
    return note_missing_datestamps(page)


class _Cutter:
    """Wraps a piece of the page in the page's own start tags and parses it alone."""

    def __init__(self, data: bytes, root_tag: bytes, prefix: bytes, p: bytes, verb: bytes,
                 max_bytes: int) -> None:
        name = prefix + b":" if prefix else b""
        container = re.search(rb"<" + p + verb + rb"(?:\s[^>]*)?>", data)
        self.head = root_tag + (container.group(0) if container else b"<" + name + verb + b">")
        self.tail = b"</" + name + verb + b"></" + name + b"OAI-PMH>"
        self.container_tag = oai(verb.decode("ascii"))
        self.max_bytes = max_bytes

    def container(self, piece: bytes) -> etree._Element:
        """The page's <ListRecords> (or <ListIdentifiers>) holding only ``piece``."""
        wrapped = self.head + piece + self.tail
        root = parse_xml(wrapped, max_bytes=max(self.max_bytes, len(wrapped)))
        container = root.find(self.container_tag)
        if container is None:
            raise XmlError(f"{piece[:200]!r} closes the page's <{self.container_tag}> early")
        return container

    def token(self, piece: bytes) -> ResumptionToken | None:
        element = self.container(piece).find(oai("resumptionToken"))
        if element is None:
            raise XmlError(f"{piece[:200]!r} holds no OAI-PMH resumptionToken")
        return read_token(element)


def _read_piece(cut: _Cutter, piece: bytes, verb: str, page: ListPage) -> None:
    """Read the item(s) of one piece: usually one, more when an anchor was missed."""
    tag = oai("record") if verb == "ListRecords" else oai("header")
    try:
        container = cut.container(piece)
    except XmlError as err:
        page.bad_records.append((piece, f"not well-formed: {err}"))
        return
    items = container.findall(tag)
    if not items:  # e.g. a prefix mix-up: the piece is not the element we cut for
        page.bad_records.append((piece, f"not an OAI-PMH {verb} item"))
    for element in items:
        try:
            if verb == "ListRecords":
                page.records.append(read_record(element))
            else:
                page.headers.append(read_header(element))
        except BadRecord as bad:
            page.bad_records.append((piece if len(items) == 1 else serialize(element),
                                     bad.reason))
