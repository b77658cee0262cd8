"""The one hardened XML parser for every document that comes from outside.

Every OAI-PMH page, SRU answer, ISO 18626 message and MARCXML record goes through
``parse_xml`` (whole documents) or ``PullParser`` (documents fed in chunks). Both:

* check a byte cap before libxml2 sees a single byte (``XmlTooLarge``);
* refuse a DOCTYPE that declares entities — XXE and billion laughs are refused, never
  expanded (``XmlError``); a DOCTYPE without entity declarations is harmless and allowed;
* never resolve entities, load a DTD, validate against one or touch the network;
* keep libxml2's depth/size limits unless the caller asks for ``huge=True``.

No I/O: bytes in, ``lxml`` elements out.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from lxml import etree

from protocols.errors import XmlError, XmlTooLarge

__all__ = [
    "MARC_NS", "OAI_NS", "OAI_DC_NS", "DC_NS", "XSI_NS", "SRU_NS", "MAX_BYTES",
    "parse_xml", "make_pull_parser", "PullParser", "local_name",
]

MARC_NS = "http://www.loc.gov/MARC21/slim"
OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SRU_NS = "http://docs.oasis-open.org/ns/search-ws/sruResponse"

MAX_BYTES = 50 * 2**20

_PARSER_OPTIONS: dict[str, Any] = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    remove_blank_text=False,
    recover=False,
)

# lxml parsers keep per-parse state and must not be shared between threads.
_local = threading.local()

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


def _parser(huge: bool) -> etree.XMLParser:
    attr = "huge" if huge else "normal"
    parser = getattr(_local, attr, None)
    if parser is None:
        parser = etree.XMLParser(huge_tree=huge, **_PARSER_OPTIONS)
        setattr(_local, attr, parser)
    return parser


def _ascii_view(data: bytes) -> bytes:
    """The document as ASCII-compatible bytes, so byte patterns like ``<!ENTITY`` can be seen.

    UTF-16/32 documents (BOM or NUL-interleaved) are transcoded for the check only.
    """
    head = data[:4]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) == 4 and (head[0] == 0) != (head[1] == 0)):
        for codec in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
            try:
                return data.decode(codec).encode("utf-8", "replace")
            except UnicodeDecodeError:
                continue
    return data


def _refuse_entity_declarations(data: bytes) -> None:
    view = _ascii_view(data)
    doctype = _DOCTYPE.search(view)
    if doctype is None:
        return
    entity = _ENTITY_DECL.search(view, doctype.end())
    if entity is not None:
        raise XmlError(
            f"DOCTYPE at byte {doctype.start()} declares entities (<!ENTITY at byte "
            f"{entity.start()}); entity declarations are refused (XXE / entity expansion)"
        )


def _check_dtd(tree: etree._ElementTree) -> None:
    # Second line of defence for encodings the byte check cannot see through.
    dtd = tree.docinfo.internalDTD
    if dtd is not None:
        names = [entity.name for entity in dtd.iterentities()]
        if names:
            raise XmlError(
                f"DOCTYPE declares entities ({', '.join(names[:5])}); entity declarations are refused"
            )


def parse_xml(data: bytes, *, max_bytes: int = MAX_BYTES, huge: bool = False) -> etree._Element:
    """Parse one complete XML document from outside and return its root element.

    Raises ``XmlTooLarge`` when ``data`` exceeds ``max_bytes`` (checked before parsing) and
    ``XmlError`` for anything the hardened parser refuses, with the reason in the message.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"parse_xml takes bytes, not {type(data).__name__}")
    size = len(data)
    if size > max_bytes:
        raise XmlTooLarge(f"XML document is {size} bytes; the limit is {max_bytes}")
    if not isinstance(data, bytes):
        data = bytes(data)
    _refuse_entity_declarations(data)
    try:
        root = etree.fromstring(data, parser=_parser(huge))
    except etree.XMLSyntaxError as err:
        raise XmlError(f"not well-formed XML: {err}") from err
    if root is None:  # lxml returns None for some recoverable empty inputs
        raise XmlError("XML document has no root element")
    _check_dtd(root.getroottree())
    return root


class PullParser:
    """A hardened ``lxml.etree.XMLPullParser`` for documents fed in chunks.

    The same rules as ``parse_xml``: byte cap counted over everything fed, entity
    declarations refused (the check looks across chunk borders), no network, no DTD.
    Use ``read_events()`` as with lxml; ``close()`` returns the root element.
    """

    def __init__(self, events: tuple[str, ...] = ("end",), *, tag: Any = None,
                 max_bytes: int = MAX_BYTES, huge: bool = False) -> None:
        self._parser = etree.XMLPullParser(events=events, tag=tag, huge_tree=huge,
                                           **_PARSER_OPTIONS)
        self._max_bytes = max_bytes
        self._fed = 0
        self._seen_doctype = False
        self._tail = b""  # last bytes of the previous chunk, for patterns split by a border

    def feed(self, chunk: bytes) -> None:
        self._fed += len(chunk)
        if self._fed > self._max_bytes:
            raise XmlTooLarge(f"XML document exceeds the limit of {self._max_bytes} bytes")
        window = self._tail + bytes(chunk)
        if not self._seen_doctype and _DOCTYPE.search(window):
            self._seen_doctype = True
        if self._seen_doctype and _ENTITY_DECL.search(window):
            raise XmlError("DOCTYPE declares entities; entity declarations are refused")
        self._tail = window[-16:]
        try:
            self._parser.feed(chunk)
        except etree.XMLSyntaxError as err:
            raise XmlError(f"not well-formed XML: {err}") from err

    def read_events(self) -> Any:
        return self._parser.read_events()

    def close(self) -> etree._Element:
        try:
            root = self._parser.close()
        except etree.XMLSyntaxError as err:
            raise XmlError(f"not well-formed XML: {err}") from err
        _check_dtd(root.getroottree())
        return root


def make_pull_parser(events: tuple[str, ...] = ("end",), *, tag: Any = None,
                     max_bytes: int = MAX_BYTES, huge: bool = False) -> PullParser:
    """A hardened pull parser (see ``PullParser``)."""
    return PullParser(events, tag=tag, max_bytes=max_bytes, huge=huge)


def local_name(element: etree._Element) -> str:
    """The tag of ``element`` without its namespace ('' for comments and PIs)."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]
