"""MARC 21 bytes → records: a streaming splitter, a tolerant decoder and the local record id.

    MarcStreamReader.feed(bytes) → [RawRecord]   split only; never decodes, never raises on data
    decode_record(RawRecord)     → DecodedRecord or MarcError(reason, detail)
    decode_marcxml_element(element, raw) → the same, for a MARCXML element already parsed
    marc_local_id(record, raw)   → 001, or "sha1-…" of the raw bytes

The reader sniffs the syntax from the first bytes (``<`` → MARCXML, else ISO 2709) and keeps
only the record it is in (constant memory, chunks of any size, the same records whatever the
chunking). ISO 2709 is split on the record terminator 0x1D, never on the leader's record
length: real exports count lengths in characters, put newlines between records, or pad the
file, and a length-driven reader loses every record after the first bad one. MARCXML is split
at the byte level on ``<(prefix:)record>`` … ``</(prefix:)record>``, so concatenated records
without a root element come out too; the namespace declarations and encoding seen outside the
records travel with each record in ``RawRecord.xml_context``.

``decode_record`` lets pymarc do the MARC work. A well-formed record costs one
``pymarc.Record(...)`` call plus a few byte checks. Anything pymarc would refuse or misread
goes through the repair path, which re-frames the fields itself and says what it did in
``DecodedRecord.repairs``.

Quarantine reasons (``MarcError.reason``):

    bad-leader            shorter than a leader, or a field terminator inside it
    bad-directory         no directory, or tags / field count that cannot be paired with the data
    no-fields             an empty directory in front of field data
    oversize              longer than the reader's ``max_record_bytes`` (kept truncated)
    unterminated          an ISO 2709 RawRecord without its 0x1D (only if built by hand)
    unterminated-trailer  bytes after the last record terminator (a truncated last record)
    xml                   a MARCXML record that is not well-formed, or not a MARC record

Character sets are sniffed, never taken from leader/09 on trust: UTF-8 under a MARC-8 leader
(Evergreen, Alma, Voyager exports), MARC-8 or cp1252 under a UTF-8 leader, Windows-1251 under
a MARC-8 leader all occur in member data. Every guess is named in ``repairs``.
"""

# Layout: types (constants and record types), stream (MarcStreamReader, read_records),
# iso2709 (ISO 2709 decoding and charset sniffing), marcxml (MARCXML decoding). The public API
# is re-exported here; decode_record and marc_local_id live here.

from __future__ import annotations

import hashlib

import pymarc

from protocols.errors import MarcError
from protocols.marc.iso2709 import _decode_iso2709
from protocols.marc.marcxml import _decode_marcxml, decode_marcxml_element
from protocols.marc.stream import MarcStreamReader, read_records
from protocols.marc.types import MAX_RECORD_BYTES, DecodedRecord, RawRecord, XmlContext
from protocols.xml import MARC_NS

__all__ = [
    "MARC_NS", "RawRecord", "DecodedRecord", "XmlContext", "MarcStreamReader",
    "decode_record", "decode_marcxml_element", "read_records", "marc_local_id",
    "MAX_RECORD_BYTES",
]


def decode_record(raw: RawRecord) -> DecodedRecord:
    """Decode one RawRecord into a pymarc.Record, or raise ``MarcError(reason, detail)``."""
    if raw.syntax == "iso2709":
        return _decode_iso2709(raw)
    if raw.syntax == "marcxml":
        return _decode_marcxml(raw)
    if raw.syntax == "trailer":
        raise MarcError(
            "unterminated-trailer",
            f"{len(raw.data)} bytes at offset {raw.offset} after the last record terminator "
            f"(a truncated record or junk): {raw.data[:40]!r}",
        )
    raise ValueError(f"unknown RawRecord syntax {raw.syntax!r}")


def marc_local_id(record: pymarc.Record, raw: bytes) -> str:
    """The member's record id: 001 stripped; if absent or blank, "sha1-" + 16 hex of sha1(raw)."""
    for control in record.get_fields("001"):
        value = getattr(control, "data", None)
        if value and value.strip():
            return value.strip()
        break
    return "sha1-" + hashlib.sha1(raw).hexdigest()[:16]
