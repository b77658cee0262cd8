"""The record types and constants shared by the MARC reader and decoders: the ISO 2709
terminators, the leader length and the default record size limit, ``XmlContext`` (what a
MARCXML fragment carries from its document), ``RawRecord`` (bytes split off a stream) and
``DecodedRecord`` (a pymarc.Record plus the encoding used and the repairs made), and the
U+FFFD byte pattern and repair note that both decoders use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pymarc

RECORD_TERMINATOR = 0x1D
FIELD_TERMINATOR = 0x1E
LEADER_LEN = 24

# A record longer than this is reported truncated (reason "oversize") instead of buffered on.
# ISO 2709 caps a record at 99,999 bytes, but real exports exceed it (marc4j datos-…: 214 kB).
MAX_RECORD_BYTES = 4 * 2**20

_U_FFFD = "\N{REPLACEMENT CHARACTER}".encode()
_FFFD_UPSTREAM = "data already contains U+FFFD replacement characters (lossy conversion upstream)"


@dataclass(frozen=True, slots=True)
class XmlContext:
    """What a MARCXML record fragment needs from the document around it to parse alone."""

    namespaces: tuple[tuple[str, str], ...] = ()   # (prefix, uri); prefix "" is the default
    encoding: str | None = None                     # from the XML declaration


@dataclass(slots=True)
class RawRecord:
    position: int   # 1-based ordinal of the record in the stream
    offset: int     # byte offset of its first byte in the stream
    data: bytes     # exact raw bytes as found (ISO 2709 record incl. 0x1D; or the <record> element)
    syntax: str     # "iso2709" | "marcxml" | "trailer" (unterminated trailing bytes, not a record)
    # marcxml only: the namespace declarations and encoding from outside the record element
    xml_context: XmlContext | None = None


@dataclass(slots=True)
class DecodedRecord:
    raw: RawRecord
    record: pymarc.Record
    # "utf-8" | "marc-8" | "cp1252" | "cp1251" | "utf-8+cp1252" | "utf-8+replace" (bad sequences
    # → U+FFFD) for ISO 2709; the declared document encoding (default "utf-8") for MARCXML
    encoding: str
    repairs: list[str] = field(default_factory=list)
