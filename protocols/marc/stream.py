"""The sans-I/O splitter: ``MarcStreamReader`` (feed bytes in chunks of any size, get
``RawRecord``s out, constant memory) and ``read_records`` over a whole stream, with the regexes
they use. It sniffs ISO 2709 vs MARCXML, splits ISO 2709 on the 0x1D record terminator and
MARCXML on ``<(prefix:)record>`` … ``</(prefix:)record>`` at the byte level, and never decodes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from protocols.marc.types import LEADER_LEN, MAX_RECORD_BYTES, RawRecord, XmlContext

# Between ISO 2709 records: newlines (Aleph), space/NUL padding (fixed-block exports), DOS EOF.
_NOT_GAP = re.compile(rb"[^ \t\r\n\x0b\x0c\x00\x1a]")
_BOM = b"\xef\xbb\xbf"
_SNIFF_WINDOW = 4096

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
