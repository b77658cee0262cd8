"""MARC 21 bytes → records: a streaming splitter, a tolerant decoder and the local record id.

    MarcStreamReader.feed(bytes) → [RawRecord]   split only; never decodes, never raises on data
    decode_record(RawRecord)     → DecodedRecord or MarcError(reason, detail)
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

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import pymarc
from pymarc import Field, Indicators, Leader, Subfield
from pymarc.exceptions import PymarcException
from pymarc.marc8 import marc8_to_unicode
from pymarc.marc8_mapping import CODESETS
from pymarc.record import normalize_subfield_code

from protocols.errors import MarcError, XmlError, XmlTooLarge
from protocols.xml import MARC_NS, local_name, parse_xml

__all__ = [
    "MARC_NS", "RawRecord", "DecodedRecord", "XmlContext", "MarcStreamReader",
    "decode_record", "read_records", "marc_local_id", "MAX_RECORD_BYTES",
]

RECORD_TERMINATOR = 0x1D
FIELD_TERMINATOR = 0x1E
LEADER_LEN = 24

# A record longer than this is reported truncated (reason "oversize") instead of buffered on.
# ISO 2709 caps a record at 99,999 bytes, but real exports exceed it (marc4j datos-…: 214 kB).
MAX_RECORD_BYTES = 4 * 2**20

# Between ISO 2709 records: newlines (Aleph), space/NUL padding (fixed-block exports), DOS EOF.
_NOT_GAP = re.compile(rb"[^ \t\r\n\x0b\x0c\x00\x1a]")
_BOM = b"\xef\xbb\xbf"
_SNIFF_WINDOW = 4096

# Printable ASCII plus the MARC delimiters: bytes MARC-8 and UTF-8 decode identically.
_PLAIN_ASCII = bytes(range(0x20, 0x7F)) + b"\x1d\x1e\x1f"
_U_FFFD = "\N{REPLACEMENT CHARACTER}".encode()

# Bytes that can occur in MARC-8 without an escape sequence: ASCII plus the ANSEL (G1) set.
_ANSEL_BYTES = bytes(range(0x80)) + bytes(
    sorted(k for k in CODESETS[0x45] if k < 0x100)
)
# MARC-8 puts a combining diacritic (0xE0-0xFE) before its base letter.
_MARC8_COMBINING = re.compile(rb"[\xe0-\xfe][A-Za-z]")
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
# Cyrillic in Windows-1251 is whole words of 0xC0-0xFF bytes; Latin-1 accents come alone.
_HIGH_RUN = re.compile(rb"[\xc0-\xff]{3,}")


def _cp1252_fallback(err: UnicodeError) -> tuple[str, int]:
    """Codec error handler: read the bytes that are not UTF-8 as Windows-1252."""
    if not isinstance(err, UnicodeDecodeError):
        raise err
    bad = err.object[err.start:err.end]
    return bytes(bad).decode("cp1252", "replace"), err.end


_CP1252_FALLBACK = "libgate.marc.cp1252-fallback"
codecs.register_error(_CP1252_FALLBACK, _cp1252_fallback)


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


# --------------------------------------------------------------------------------------------
# The stream reader
# --------------------------------------------------------------------------------------------

_XML_DECL_ENCODING = re.compile(rb"""^<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_XMLNS = re.compile(rb"""\sxmlns(?::([A-Za-z_][\w.\-]*))?\s*=\s*(?:"([^"<]*)"|'([^'<]*)')""")
# A complete start tag, quote-aware: group 1 the qualified name, group 2 the attributes.
_START_TAG = re.compile(
    rb"""<([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)((?:[^>"']|"[^"]*"|'[^']*')*)>"""
)
_TAG_REST = re.compile(rb"""(?:[^>"']|"[^"]*"|'[^']*')*>""")
_DOCTYPE_END = re.compile(rb"\]\s*>")
_NAME_START = re.compile(rb"[A-Za-z_]")


@lru_cache(maxsize=64)
def _inside_pattern(qname: bytes) -> re.Pattern[bytes]:
    # Comments and CDATA are matched whole so a "</record>" inside them does not end the record.
    return re.compile(rb"<!--|<!\[CDATA\[|<(/?)" + re.escape(qname) + rb"(?=[\s/>])")


class MarcStreamReader:
    """Feed bytes in chunks of any size; get RawRecords out.

    Constant memory: only the current record is buffered (at most ``max_record_bytes``).

    The syntax is sniffed from the first non-whitespace bytes (a UTF-8 BOM is skipped):
    ``<`` → MARCXML, else ISO 2709. Feeding a stream whole or in chunks of any size gives
    the same RawRecords. ``close()`` flushes what is left: an unterminated ISO 2709 tail or an
    unclosed ``<record>`` comes out as one ``syntax="trailer"`` record, so nothing is lost.
    """

    def __init__(self, *, max_record_bytes: int = MAX_RECORD_BYTES) -> None:
        if max_record_bytes < LEADER_LEN + 1:
            raise ValueError(f"max_record_bytes must be at least {LEADER_LEN + 1}")
        self.max_record_bytes = max_record_bytes
        self.syntax: str | None = None     # "iso2709" | "marcxml" once sniffed
        self._buf = bytearray()
        self._base = 0                     # stream offset of self._buf[0]
        self._position = 0
        self._closed = False
        self._bom_checked = False
        # ISO 2709 state
        self._in_record = False            # self._buf[0] is the first byte of a record
        self._scan = 0                     # where to resume looking for 0x1D
        self._skipping = False             # discarding the rest of an oversize record
        # MARCXML state
        self._qname: bytes | None = None   # qualified name of the open <record>, None outside
        self._depth = 0
        self._discarding = False           # inside an oversize record already reported
        self._namespaces: dict[str, str] = {}
        self._encoding: str | None = None
        self._seen_decl = False
        self._context: XmlContext | None = None

    # -- public API -----------------------------------------------------------------------

    def feed(self, chunk: bytes) -> list[RawRecord]:
        """Add bytes; return the records completed by them (possibly none)."""
        if self._closed:
            raise ValueError("feed() after close()")
        if chunk:
            self._buf += chunk
        return self._process(final=False)

    def close(self) -> list[RawRecord]:
        """End of stream: return the last records and the unterminated trailer, if any."""
        if self._closed:
            return []
        out = self._process(final=True)
        self._closed = True
        buf = self._buf
        if self.syntax == "iso2709":
            if self._in_record and buf and not self._skipping:
                out.append(self._emit(0, len(buf), "trailer"))
        elif self.syntax == "marcxml":
            if self._qname is not None and not self._discarding and buf:
                out.append(self._emit(0, min(len(buf), self.max_record_bytes), "trailer"))
        self._buf = bytearray()
        return out

    # -- internals --------------------------------------------------------------------------

    def _emit(self, start: int, end: int, syntax: str) -> RawRecord:
        self._position += 1
        context = self._context if syntax == "marcxml" else None
        data = bytes(self._buf[start:end])
        return RawRecord(self._position, self._base + start, data, syntax, context)

    def _consume(self, count: int) -> None:
        if count:
            del self._buf[:count]
            self._base += count

    def _process(self, final: bool) -> list[RawRecord]:
        if self.syntax is None and not self._sniff(final):
            return []
        if self.syntax == "iso2709":
            return self._process_iso(final)
        return self._process_xml(final)

    def _sniff(self, final: bool) -> bool:
        """Decide the syntax from the first non-whitespace bytes; False while undecided."""
        buf = self._buf
        if not self._bom_checked:
            if len(buf) < 3 and _BOM.startswith(bytes(buf)) and not final:
                return False  # maybe a BOM still arriving
            self._bom_checked = True
            if buf[:3] == _BOM:
                self._consume(3)
        first = _NOT_GAP.search(buf)
        if first is None:
            self._consume(len(buf))  # leading whitespace belongs to no record
            if final:
                self.syntax = "iso2709"
            return final
        self._consume(first.start())
        byte = buf[0]
        if byte == 0x3C:  # "<"
            self.syntax = "marcxml"
        elif 0x30 <= byte <= 0x39:
            self.syntax = "iso2709"
        else:
            # Junk before an XML declaration (vufind invalid_marc_collection.xml starts with
            # "foo<?xml"): XML if a "<" comes before any MARC terminator in the first 4 kB.
            window = bytes(buf[:_SNIFF_WINDOW])
            marks = [i for i in map(window.find, (b"<", b"\x1d", b"\x1e")) if i >= 0]
            if not marks and len(buf) < _SNIFF_WINDOW and not final:
                return False
            self.syntax = "marcxml" if marks and window.find(b"<") == min(marks) else "iso2709"
        return True

    def _process_iso(self, final: bool) -> list[RawRecord]:
        out: list[RawRecord] = []
        buf = self._buf
        size = len(buf)
        limit = self.max_record_bytes
        pos = 0
        while pos < size:
            if self._skipping:
                end = buf.find(b"\x1d", pos)
                if end < 0:
                    pos = size
                    break
                pos = end + 1
                self._skipping = False
                continue
            if not self._in_record:
                first = _NOT_GAP.search(buf, pos)
                if first is None:
                    pos = size
                    break
                pos = first.start()
                self._in_record = True
                self._scan = pos
            end = buf.find(b"\x1d", self._scan)
            if end < 0 or end + 1 - pos > limit:
                if end < 0 and size - pos <= limit:
                    self._scan = size
                    break
                # Oversize: report the first `limit` bytes, drop the rest up to its terminator.
                out.append(self._emit(pos, pos + limit, "iso2709"))
                self._in_record = False
                self._skipping = True
                pos += limit
                continue
            out.append(self._emit(pos, end + 1, "iso2709"))
            pos = end + 1
            self._in_record = False
        self._consume(pos)
        if self._in_record:
            self._scan -= pos
        return out

    # MARCXML ------------------------------------------------------------------------------

    def _process_xml(self, final: bool) -> list[RawRecord]:
        out: list[RawRecord] = []
        pos = 0
        while True:
            if self._qname is None:
                pos, waiting = self._scan_outside(pos, final, out)
            else:
                pos, waiting = self._scan_inside(pos, final, out)
            if waiting:
                break
        self._consume(pos)
        if self._qname is not None:
            self._scan -= pos
        return out

    def _scan_outside(self, pos: int, final: bool, out: list[RawRecord]) -> tuple[int, bool]:
        """Skip markup between records, collecting namespace declarations; stop at a <record>.

        Returns (position, waiting). Every decision depends only on bytes already seen plus
        "end of stream" / "longer than max_record_bytes", so chunking cannot change the result.
        A comment, declaration or tag that never ends (or is longer than the limit) is given
        up on: its "<" is treated as text and scanning goes on after it.
        """
        buf = self._buf
        size = len(buf)
        limit = self.max_record_bytes
        while True:
            lt = buf.find(b"<", pos)
            if lt < 0:
                return size, True
            pos = lt
            if size - pos < 9 and not final:
                return pos, True  # too little to tell "<!--", "<![CDATA[" and "<record" apart
            give_up = final or size - pos > limit
            end = self._markup_end(pos)
            if end is None:  # not markup we skip whole: a start tag, or a stray "<"
                match = _START_TAG.match(buf, pos)
                if match is None:
                    if pos + 1 < size and _NAME_START.match(buf, pos + 1) and not give_up:
                        return pos, True  # a start tag still arriving
                    pos += 1  # a stray "<" in text, or a tag that never ends
                    continue
                if match.end() - pos > limit:
                    pos += 1
                    continue
                qname, attrs = match.group(1), match.group(2)
                if qname.rpartition(b":")[2] == b"record":
                    if attrs.rstrip().endswith(b"/"):  # <record/>: an empty record
                        out.append(self._emit(pos, match.end(), "marcxml"))
                        pos = match.end()
                        continue
                    self._qname = qname
                    self._depth = 1
                    self._discarding = False
                    self._scan = match.end()
                    return pos, False
                if b"xmlns" in attrs:
                    self._collect_namespaces(attrs)
                pos = match.end()
            elif end < 0 or end - pos > limit:
                if not give_up:
                    return pos, True  # wait for the rest of it
                pos += 1
            else:
                if not self._seen_decl and buf.startswith(b"<?xml", pos):
                    self._seen_decl = True
                    match = _XML_DECL_ENCODING.match(bytes(buf[pos:end]))
                    if match:
                        self._encoding = match.group(1).decode("ascii").lower()
                        self._update_context()
                pos = end

    def _markup_end(self, pos: int) -> int | None:
        """End (exclusive) of the comment/CDATA/PI/declaration/end tag at pos; -1 if not in the
        buffer yet; None if pos starts none of these."""
        buf = self._buf
        if buf.startswith(b"<!--", pos):
            end = buf.find(b"-->", pos + 4)
            return end + 3 if end >= 0 else -1
        if buf.startswith(b"<![CDATA[", pos):
            end = buf.find(b"]]>", pos + 9)
            return end + 3 if end >= 0 else -1
        if buf.startswith(b"<?", pos):
            end = buf.find(b"?>", pos + 2)
            return end + 2 if end >= 0 else -1
        if buf.startswith(b"<!", pos):
            # DOCTYPE and friends; an internal subset ends with "]>". It is only skipped:
            # records are parsed alone, so its entities are never in scope.
            gt = buf.find(b">", pos)
            bracket = buf.find(b"[", pos, gt if gt >= 0 else len(buf))
            if bracket >= 0:
                match = _DOCTYPE_END.search(buf, bracket)
                return match.end() if match else -1
            return gt + 1 if gt >= 0 else -1
        if buf.startswith(b"</", pos):
            end = buf.find(b">", pos)
            return end + 1 if end >= 0 else -1
        return None

    def _scan_inside(self, pos: int, final: bool, out: list[RawRecord]) -> tuple[int, bool]:
        """Find the end tag matching the open <record>, counting nested same-name elements."""
        buf = self._buf
        size = len(buf)
        start = pos  # == self._record_start after consumption; kept relative to buf
        qname = self._qname
        assert qname is not None
        pattern = _inside_pattern(qname)
        scan = self._scan
        limit = self.max_record_bytes
        overlap = max(len(qname) + 3, 9)
        while True:
            match = pattern.search(buf, scan)
            if match is None:
                scan = max(scan, size - overlap)
                break
            token = match.group(0)
            if token == b"<!--" or token == b"<![CDATA[":
                end = buf.find(b"-->" if token == b"<!--" else b"]]>", match.end())
                if end < 0:
                    scan = match.start()
                    break
                scan = end + 3
                continue
            rest = _TAG_REST.match(buf, match.end())
            if rest is None:
                scan = match.start()
                break
            tag_end = rest.end()
            if match.group(1):          # </record ...>
                self._depth -= 1
            elif buf[tag_end - 2] != 0x2F:  # <record ...> not self-closing
                self._depth += 1
            scan = tag_end
            if self._depth == 0:
                self._qname = None
                if not self._discarding:
                    if tag_end - start > limit:
                        out.append(self._emit(start, start + limit, "marcxml"))
                    else:
                        out.append(self._emit(start, tag_end, "marcxml"))
                self._discarding = False
                return tag_end, False
        # The record is not complete yet.
        if not self._discarding and size - start > limit:
            out.append(self._emit(start, start + limit, "marcxml"))
            self._discarding = True
        if self._discarding:
            # Keep only what the next scan needs; a comment that outgrows the limit too is
            # abandoned rather than buffered (memory stays bounded on hostile input).
            keep_from = max(start, min(scan, size - overlap))
            if size - keep_from > limit:
                keep_from = scan = size - overlap
            self._scan = scan
            return keep_from, True
        self._scan = scan
        return start, True

    def _collect_namespaces(self, attrs: bytes) -> None:
        changed = False
        for match in _XMLNS.finditer(attrs):
            prefix = (match.group(1) or b"").decode("ascii")
            uri_bytes = match.group(2) if match.group(2) is not None else match.group(3)
            uri = uri_bytes.decode("utf-8", "replace")
            if self._namespaces.get(prefix) != uri:
                self._namespaces[prefix] = uri
                changed = True
        if changed:
            self._update_context()

    def _update_context(self) -> None:
        self._context = XmlContext(tuple(sorted(self._namespaces.items())), self._encoding)


def read_records(data: bytes, *, max_record_bytes: int = MAX_RECORD_BYTES) -> Iterator[RawRecord]:
    """All RawRecords of a complete stream (convenience over ``MarcStreamReader``)."""
    reader = MarcStreamReader(max_record_bytes=max_record_bytes)
    view = memoryview(data)
    step = 1 << 20
    for start in range(0, len(view), step):
        yield from reader.feed(view[start:start + step])
    yield from reader.close()


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------

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


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_iso2709(raw: RawRecord) -> DecodedRecord:
    data = raw.data
    size = len(data)
    if not data or data[-1] != RECORD_TERMINATOR:
        # The reader only emits records ending in 0x1D, except a truncated oversize one.
        raise MarcError(
            "oversize" if size > 99999 else "unterminated",
            f"record at offset {raw.offset} has no record terminator within {size} bytes: "
            f"{data[:40]!r}",
        )
    # Fast path: a record whose leader, directory and terminators agree is pymarc's job alone.
    # The structural checks are what pymarc itself skips: it trusts the directory offsets even
    # when lengths were counted in characters, and silently slices fields wrongly.
    length, base = data[:5], data[12:17]
    if size > LEADER_LEN and length.isdigit() and base.isdigit() and int(length) == size:
        base_address = int(base)
        entries, remainder = divmod(base_address - LEADER_LEN - 1, 12)
        if (
            remainder == 0 and LEADER_LEN < base_address < size
            and data[base_address - 1] == FIELD_TERMINATOR
            and data.count(b"\x1e") == entries + 1
        ):
            try:
                decoded = _decode_fast(raw, data)
            except (PymarcException, ValueError, IndexError):
                decoded = None  # pymarc refused it: repair below
            if decoded is not None:
                return decoded
    return _decode_repairing(raw)


def _decode_fast(raw: RawRecord, data: bytes) -> DecodedRecord | None:
    """One pymarc.Record() call, after a charset sniff that costs a byte scan at most."""
    if data[9] == 0x61:  # leader/09 "a": UCS/Unicode
        record = pymarc.Record(data, to_unicode=True, utf8_handling="strict")
        if _U_FFFD in data:
            return DecodedRecord(raw, record, "utf-8", [_FFFD_UPSTREAM])
        return DecodedRecord(raw, record, "utf-8", [])
    if not data.translate(None, _PLAIN_ASCII):
        # Printable ASCII reads the same in MARC-8 and UTF-8, and pymarc's UTF-8 decoding is
        # C speed where its MARC-8 converter is a Python loop per byte (9/10 of jazz_1k.mrc).
        record = pymarc.Record(data, to_unicode=True, force_utf8=True)
        return DecodedRecord(raw, record, "marc-8", [])
    if data.isascii() or b"\x1b" in data:
        record = pymarc.Record(data, to_unicode=True, hide_utf8_warnings=True)
        return DecodedRecord(raw, record, "marc-8", [])
    if _is_utf8(data):
        # Evergreen/Alma/Voyager exports: UTF-8 data under a MARC-8 leader.
        record = pymarc.Record(data, to_unicode=True, force_utf8=True, hide_utf8_warnings=True)
        repairs = ["leader/09 blank (MARC-8) but data is UTF-8; decoded as UTF-8"]
        if _U_FFFD in data:
            repairs.append(_FFFD_UPSTREAM)
        return DecodedRecord(raw, record, "utf-8", repairs)
    if data.translate(None, _ANSEL_BYTES):
        return None  # neither UTF-8 nor MARC-8 (e.g. cp1251 under a MARC-8 leader): guess below
    record = pymarc.Record(data, to_unicode=True, hide_utf8_warnings=True)
    return DecodedRecord(raw, record, "marc-8", [])


_FFFD_UPSTREAM = "data already contains U+FFFD replacement characters (lossy conversion upstream)"
_LEADER_DEFAULTS = {10: "2", 11: "2", 20: "4", 21: "5", 22: "0", 23: "0"}
_Entry = tuple[str, int | None, int | None]  # tag, length, offset (None where unreadable)
_ENTRY_WIDTHS = ((4, 5), (5, 5), (4, 6), (5, 6), (4, 7))


def _decode_repairing(raw: RawRecord) -> DecodedRecord:
    """The slow path: re-frame the record from its terminators, repair, and say what was done."""
    data = raw.data
    body = data[:-1]  # without the record terminator
    repairs: list[str] = []
    if len(body) < LEADER_LEN:
        raise MarcError(
            "bad-leader", f"record is {len(data)} bytes, too short for a 24-byte leader: {data[:40]!r}"
        )
    inner = body.find(b"\x1e", 0, LEADER_LEN)
    if inner >= 0:
        raise MarcError("bad-leader", f"field terminator at leader/{inner:02d}: {body[:LEADER_LEN]!r}")
    leader = _repair_leader(body[:LEADER_LEN], repairs)
    directory_end = body.find(b"\x1e", LEADER_LEN)
    if directory_end < 0:
        raise MarcError(
            "bad-directory", f"no field terminator after the leader, so no directory: {body[:60]!r}"
        )
    base = directory_end + 1
    declared_base = body[12:17]
    if not declared_base.isdigit() or int(declared_base) != base:
        repairs.append(
            f"leader/12-16 base address {declared_base.decode('latin-1')!r} → {base:05d}"
        )
    declared_length = body[:5]
    if not declared_length.isdigit() or int(declared_length) != len(data):
        repairs.append(
            f"leader/00-04 record length {declared_length.decode('latin-1')!r} "
            f"but the record is {len(data)} bytes"
        )
    leader = f"{min(len(data), 99999):05d}{leader[5:12]}{min(base, 99999):05d}{leader[17:]}"

    entries = _parse_directory(body[LEADER_LEN:directory_end], repairs)
    fields = _locate_fields(body, base, entries, repairs)

    payload = body[base:]
    charset = _choose_charset(leader, payload, repairs)
    record = pymarc.Record(to_unicode=True)
    record.leader = Leader(leader)
    for tag, chunk in fields:
        record.add_field(_build_field(tag, chunk, charset, repairs))
    return DecodedRecord(raw, record, charset, repairs)


def _repair_leader(raw_leader: bytes, repairs: list[str]) -> str:
    chars = list(raw_leader.decode("latin-1"))
    for index, char in enumerate(chars):
        if not " " <= char <= "~":
            new = _LEADER_DEFAULTS.get(index, " ")
            repairs.append(f"leader/{index:02d} byte 0x{ord(char):02X} → {new!r}")
            chars[index] = new
    return "".join(chars)


def _parse_directory(directory: bytes, repairs: list[str]) -> list[_Entry]:
    """(tag, length, offset) per directory entry; lengths/offsets None where unreadable.

    Entries are 12 bytes by the standard, but real records carry 5-digit lengths (a field over
    9,999 bytes) or 6-digit offsets (a record over 99,999 bytes). Each entry's width is chosen
    so that its offset continues from the previous entry.
    """
    entries: list[_Entry] = []
    pos, size, expected = 0, len(directory), 0
    wide = 0
    while size - pos >= 12:
        tag_bytes = directory[pos:pos + 3]
        if not all(0x21 <= b <= 0x7E for b in tag_bytes):
            raise MarcError(
                "bad-directory",
                f"directory entry {len(entries) + 1} has tag {tag_bytes!r}: "
                f"{directory[pos:pos + 12]!r}",
            )
        width = (4, 5)
        length: int | None = None
        offset: int | None = None
        for lw, ow in _ENTRY_WIDTHS:
            digits = directory[pos + 3:pos + 3 + lw + ow]
            if len(digits) == lw + ow and digits.isdigit() and int(digits[lw:]) == expected:
                width, length, offset = (lw, ow), int(digits[:lw]), int(digits[lw:])
                break
        else:
            digits = directory[pos + 3:pos + 12]
            if digits[:4].isdigit():
                length = int(digits[:4])
            if digits[4:].isdigit():
                offset = int(digits[4:])
        if width != (4, 5):
            wide += 1
        entries.append((tag_bytes.decode("ascii"), length, offset))
        pos += 3 + sum(width)
        expected = offset + length if offset is not None and length is not None else -1
    if wide:
        repairs.append(
            f"directory has {wide} entries wider than 12 bytes "
            f"(field over 9,999 or record over 99,999 bytes)"
        )
    if pos < size:
        repairs.append(f"directory has {size - pos} stray byte(s) at its end: {directory[pos:]!r}")
    return entries


def _locate_fields(body: bytes, base: int, entries: list[_Entry],
                   repairs: list[str]) -> list[tuple[str, bytes]]:
    # 1. The directory as declared, if every entry lands on field terminators.
    located: list[tuple[str, bytes]] = []
    first_bad = None
    for index, (tag, length, offset) in enumerate(entries):
        if length is None or offset is None or length < 1:
            first_bad = index
            break
        start = base + offset
        end = start + length - 1
        if end >= len(body) or body[end] != FIELD_TERMINATOR or body[start - 1] != FIELD_TERMINATOR:
            first_bad = index
            break
        located.append((tag, body[start:end]))
    if first_bad is None:
        if not entries and len(body) > base:
            raise MarcError("no-fields", f"empty directory but {len(body) - base} bytes of field data")
        return located
    # 2. The directory's tags in order, paired with the data split on field terminators.
    chunks = body[base:].split(b"\x1e")
    if chunks and chunks[-1] == b"":
        chunks.pop()
    elif chunks:
        repairs.append(f"last field lacks a field terminator: {chunks[-1][:30]!r}")
    if len(chunks) != len(entries):
        if not entries and chunks:
            raise MarcError("no-fields", f"empty directory but {len(body) - base} bytes of field data")
        raise MarcError(
            "bad-directory",
            f"directory lists {len(entries)} fields but the data holds {len(chunks)}; "
            f"entry {first_bad + 1} {_entry_text(entries[first_bad])} does not match the data",
        )
    repairs.append(
        f"directory lengths/offsets do not match the data from entry {first_bad + 1} "
        f"{_entry_text(entries[first_bad])}; fields re-paired with the directory tags in order"
    )
    return [(tag, chunk) for (tag, _, _), chunk in zip(entries, chunks)]


def _entry_text(entry: _Entry) -> str:
    tag, length, offset = entry
    return f"(tag {tag}, length {length}, offset {offset})"


def _choose_charset(leader: str, payload: bytes, repairs: list[str]) -> str:
    if payload.isascii():
        return "utf-8" if leader[9] == "a" else "marc-8"
    has_esc = b"\x1b" in payload
    if leader[9] == "a":
        if _is_utf8(payload):
            if _U_FFFD in payload:
                repairs.append(_FFFD_UPSTREAM)
            return "utf-8"
        looks_marc8 = _MARC8_COMBINING.search(payload) and not payload.translate(None, _ANSEL_BYTES)
        if has_esc or looks_marc8:
            repairs.append(
                "leader/09 'a' (UTF-8) but data is not UTF-8 and looks like MARC-8; decoded as MARC-8"
            )
            return "marc-8"
        broken, single = _invalid_utf8_runs(payload)
        if broken >= single:
            # Mangled multi-byte sequences (lead byte + continuation bytes), not a code page.
            repairs.append(
                f"leader/09 'a' (UTF-8) but {broken + single} invalid UTF-8 sequence(s) "
                f"(e.g. {_first_invalid_utf8(payload)!r}); replaced with U+FFFD"
            )
            return "utf-8+replace"
        if _UTF8_MULTIBYTE.search(payload):
            repairs.append(
                f"leader/09 'a' (UTF-8) but {single} byte(s) are not UTF-8 "
                f"(e.g. {_first_invalid_utf8(payload)!r}); those were read as cp1252"
            )
            return "utf-8+cp1252"
        repairs.append("leader/09 'a' (UTF-8) but data is not UTF-8; decoded as cp1252")
        return "cp1252"
    if not has_esc and _is_utf8(payload):
        repairs.append("leader/09 blank (MARC-8) but data is UTF-8; decoded as UTF-8")
        if _U_FFFD in payload:
            repairs.append(_FFFD_UPSTREAM)
        return "utf-8"
    stray = payload.translate(None, _ANSEL_BYTES)
    if has_esc or not stray:
        return "marc-8"
    charset = "cp1251" if len(_HIGH_RUN.findall(payload)) >= 2 else "cp1252"
    repairs.append(
        f"leader/09 blank (MARC-8) but byte 0x{stray[0]:02X} is neither MARC-8 nor UTF-8; "
        f"decoded as {charset} (a guess)"
    )
    return charset


def _invalid_utf8_runs(payload: bytes, limit: int = 200) -> tuple[int, int]:
    """Count invalid UTF-8 spots: (broken multi-byte sequences, lone high bytes).

    A lone high byte between ASCII letters is a code-page character (cp1252 "’" = 0x92,
    Latin-1 "é" = 0xE9); a lead byte followed by continuation bytes is mangled UTF-8.
    """
    broken = single = 0
    pos = 0
    while pos < len(payload) and broken + single < limit:
        try:
            payload[pos:].decode("utf-8")
            break
        except UnicodeDecodeError as err:
            start, end = pos + err.start, pos + err.end
        following = payload[end:end + 1]
        previous = payload[start - 1:start] if start else b""
        if (payload[start] >= 0xC0 and following and 0x80 <= following[0] <= 0xBF) or (
            0x80 <= payload[start] <= 0xBF and previous and previous[0] >= 0x80
        ):
            broken += 1
        else:
            single += 1
        pos = end
    return broken, single


def _first_invalid_utf8(payload: bytes) -> bytes:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as err:
        return payload[max(0, err.start - 12):err.end + 12]
    return b""


def _decode_text(chunk: bytes, charset: str, where: str, repairs: list[str]) -> str:
    if charset == "marc-8":
        try:
            return marc8_to_unicode(chunk, True)
        except UnicodeDecodeError as err:
            repairs.append(
                f"{where}: invalid MARC-8 ({err.reason}); non-ASCII bytes replaced with U+FFFD"
            )
            return chunk.decode("ascii", "replace")
    if charset in ("utf-8", "utf-8+cp1252", "utf-8+replace"):
        try:
            return chunk.decode("utf-8")
        except UnicodeDecodeError:
            errors = "replace" if charset == "utf-8+replace" else _CP1252_FALLBACK
            return chunk.decode("utf-8", errors)
    text = chunk.decode(charset, "replace")
    if "\ufffd" in text:
        repairs.append(f"{where}: bytes undefined in {charset} replaced with U+FFFD")
    return text


def _build_field(tag: str, chunk: bytes, charset: str, repairs: list[str]) -> Field:
    """One field from its raw bytes, the way pymarc's decode_marc builds it."""
    if tag < "010" and tag.isdigit():
        if charset == "marc-8":
            # pymarc reads MARC-8 control fields as Latin-1; do the same for identical results.
            return Field(tag=tag, data=chunk.decode("iso8859-1"))
        return Field(tag=tag, data=_decode_text(chunk, charset, f"field {tag}", repairs))
    parts = chunk.split(b"\x1f")
    indicators = parts[0].decode("latin-1")
    if len(indicators) != 2 or not indicators.isascii():
        repairs.append(f"field {tag}: indicators {parts[0]!r} (expected 2 ASCII characters)")
        indicators = "".join(c if c.isascii() and c.isprintable() else " " for c in indicators)
    first = indicators[0] if len(indicators) > 0 else " "
    second = indicators[1] if len(indicators) > 1 else " "
    subfields = []
    for part in parts[1:]:
        if not part:
            continue
        code_byte = part[0]
        skip = 1
        if code_byte < 0x80:
            code = chr(code_byte)
        else:
            code, skip = normalize_subfield_code(part) if _has_ascii_fold(part) else ("?", 1)
            repairs.append(f"field {tag}: non-ASCII subfield code {part[:skip]!r} → {code!r}")
        value = _decode_text(part[skip:], charset, f"field {tag} ${code}", repairs)
        subfields.append(Subfield(code=code, value=value))
    return Field(tag=tag, indicators=Indicators(first, second), subfields=subfields)


def _has_ascii_fold(part: bytes) -> bool:
    """pymarc's normalize_subfield_code() fails on a code with no ASCII fold; check first."""
    try:
        text = part.decode("utf-8")
    except UnicodeDecodeError:
        text = part.decode("latin-1")
    folded = unicodedata.normalize("NFKD", text[:1]).encode("ascii", "ignore")
    return bool(folded)


# MARCXML ------------------------------------------------------------------------------------

_MARC_PREFIXES = ("marc", "marcxml", "slim", "mx", "ns0")
_PREFIX_USE = re.compile(rb"</?([A-Za-z_][\w.\-]*):|\s([A-Za-z_][\w.\-]*):[A-Za-z_][\w.\-]*\s*=")


@lru_cache(maxsize=32)
def _wrapper(context: XmlContext | None) -> tuple[bytes, bytes]:
    declaration = b""
    attrs = []
    if context is not None:
        if context.encoding and context.encoding.replace("_", "-") not in ("utf-8", "utf8"):
            declaration = f'<?xml version="1.0" encoding="{context.encoding}"?>'.encode("ascii")
        for prefix, uri in context.namespaces:
            name = f"xmlns:{prefix}" if prefix else "xmlns"
            attrs.append(f' {name}="{_xml_attr(uri)}"')
    head = declaration + f"<libgate-fragment{''.join(attrs)}>".encode("ascii", "xmlcharrefreplace")
    return head, b"</libgate-fragment>"


def _xml_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _decode_marcxml(raw: RawRecord) -> DecodedRecord:
    repairs: list[str] = []
    head, tail = _wrapper(raw.xml_context)
    try:
        root = parse_xml(head + raw.data + tail)
    except XmlTooLarge as err:
        raise MarcError("oversize", str(err)) from err
    except XmlError as err:
        if "Namespace prefix" not in str(err):
            raise MarcError("xml", f"record at offset {raw.offset}: {err}") from err
        # A fragment cut from a document whose declarations we did not see (e.g. re-decoded
        # from quarantine without its context): declare the prefixes it uses. Decoding goes by
        # local names, so the URIs do not matter.
        prefixes = sorted({(a or b).decode("ascii") for a, b in _PREFIX_USE.findall(raw.data)}
                          - {"xml", "xmlns"})
        declared = dict(raw.xml_context.namespaces) if raw.xml_context else {}
        missing = [p for p in prefixes if p not in declared]
        extra = "".join(
            f' xmlns:{p}="{MARC_NS if p in _MARC_PREFIXES else "urn:libgate:undeclared:" + p}"'
            for p in missing
        ).encode("ascii")
        try:
            root = parse_xml(head[:-1] + extra + b">" + raw.data + tail)
        except XmlError as err2:
            raise MarcError("xml", f"record at offset {raw.offset}: {err2}") from err2
        repairs.append(f"undeclared namespace prefix(es) {', '.join(missing)} declared")
    element = next((child for child in root if isinstance(child.tag, str)), None)
    if element is None:
        raise MarcError(
            "xml", f"record at offset {raw.offset}: no record element in {raw.data[:60]!r}"
        )
    namespace = element.tag.partition("}")[0][1:] if element.tag.startswith("{") else ""
    if namespace not in ("", MARC_NS):
        repairs.append(
            f"record element is in namespace {namespace!r}, not MARC21 slim; read by local names"
        )
    record = _record_from_element(element, repairs)
    if _U_FFFD in raw.data:
        repairs.append(_FFFD_UPSTREAM)
    encoding = raw.xml_context.encoding if raw.xml_context and raw.xml_context.encoding else "utf-8"
    return DecodedRecord(raw, record, encoding, repairs)


def _text(element) -> str:
    return "".join(element.itertext())


def _fit_leader(text: str, repairs: list[str]) -> str:
    leader = text
    if not leader.isascii() or not leader.isprintable():
        leader = "".join(c if c.isascii() and c.isprintable() else " " for c in leader)
        repairs.append(f"leader {text!r}: non-ASCII or control characters replaced by blanks")
    if len(leader) != LEADER_LEN:
        if len(leader) < LEADER_LEN and leader.endswith("4500"):
            # Squeezed runs of blanks (RecordManager2 MZK01-001101044): the entry map
            # "4500" belongs at 20-23, so the missing blanks go before it.
            fixed = leader[:-4].ljust(LEADER_LEN - 4) + leader[-4:]
        else:
            fixed = leader[:LEADER_LEN].ljust(LEADER_LEN)
        repairs.append(f"leader {text!r} is {len(text)} characters, not 24; fitted to {fixed!r}")
        leader = fixed
    return leader


def _record_from_element(element, repairs: list[str]) -> pymarc.Record:
    """A pymarc.Record from a MARCXML <record> element (any namespace, local names)."""
    leader_text: str | None = None
    fields: list[Field] = []
    marc_children = 0
    for index, child in enumerate(element, start=1):
        name = local_name(child)
        if not name:
            continue  # comment or processing instruction
        if name == "leader":
            marc_children += 1
            if leader_text is not None:
                repairs.append("second <leader> ignored")
                continue
            leader_text = _text(child)
        elif name == "controlfield":
            marc_children += 1
            tag = child.get("tag")
            value = _text(child)
            if not tag:
                repairs.append(
                    f"controlfield #{index} without a tag dropped (content {value[:40]!r})"
                )
                continue
            if len(tag) != 3:
                repairs.append(f"controlfield tag {tag!r} is not 3 characters")
            fields.append(Field(tag=tag, data=value))
        elif name == "datafield":
            marc_children += 1
            tag = child.get("tag")
            if not tag:
                content = _text(child).strip()[:40]
                repairs.append(f"datafield #{index} without a tag dropped (content {content!r})")
                continue
            if len(tag) != 3:
                repairs.append(f"datafield tag {tag!r} is not 3 characters")
            indicators = []
            for attr in ("ind1", "ind2"):
                value = child.get(attr)
                if value is None or len(value) != 1:
                    repairs.append(f"datafield {tag}: {attr} {value!r} read as ' '")
                    value = " "
                indicators.append(value)
            subfields = []
            for sub in child:
                sub_name = local_name(sub)
                if not sub_name:
                    continue
                if sub_name != "subfield":
                    repairs.append(
                        f"datafield {tag}: unknown element <{sub_name}> ignored ({_text(sub)[:40]!r})"
                    )
                    continue
                code = sub.get("code")
                if not code:
                    repairs.append(
                        f"datafield {tag}: subfield without a code dropped ({_text(sub)[:40]!r})"
                    )
                    continue
                subfields.append(Subfield(code=code, value=_text(sub)))
            fields.append(Field(tag=tag, indicators=Indicators(*indicators), subfields=subfields))
        else:
            repairs.append(f"unknown element <{name}> in record ignored")
    if not marc_children:
        raise MarcError(
            "xml", f"<{local_name(element)}> has no leader, controlfield or datafield children"
        )
    if leader_text is None:
        repairs.append("record has no <leader>; a blank one was used")
        leader = " " * 10 + "22" + " " * 8 + "4500"
    else:
        leader = _fit_leader(leader_text, repairs)
    record = pymarc.Record(to_unicode=True, force_utf8=True)
    record.leader = Leader(leader)
    for built in fields:
        record.add_field(built)
    return record


# --------------------------------------------------------------------------------------------
# Identity
# --------------------------------------------------------------------------------------------

def marc_local_id(record: pymarc.Record, raw: bytes) -> str:
    """The member's record id: 001 stripped; if absent or blank, "sha1-" + 16 hex of sha1(raw)."""
    for control in record.get_fields("001"):
        value = getattr(control, "data", None)
        if value and value.strip():
            return value.strip()
        break
    return "sha1-" + hashlib.sha1(raw).hexdigest()[:16]
