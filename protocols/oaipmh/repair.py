"""Byte-level repairs for pages that members send dirty, and transparent decompression.

    repair_xml_bytes(data) → (utf8_bytes, ["what was fixed", ...])
    maybe_decompress(data) → data, gunzipped/inflated when it starts with gzip/zlib magic

``repair_xml_bytes`` is the lenient path's first step, run only after a strict parse failed:

* bytes that are not UTF-8 in a page declared (or assumed) UTF-8 are read as cp1252, byte by
  byte where they occur — a mostly-UTF-8 page with one Latin-1 record keeps its good UTF-8
  (re-decoding the whole page would garble every other record); a cp1252 byte that cp1252
  leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) is read as Latin-1;
* a page declared in another encoding (ISO-8859-1, UTF-16, ...) is decoded with it;
* characters XML 1.0 forbids are removed: C0 controls other than tab/CR/LF, lone surrogates
  (also CESU-style UTF-8 surrogate bytes), U+FFFE/U+FFFF, and character references to them
  (``&#x0;``, ``&#27;``);
* the result is UTF-8 with its XML declaration saying so.

No I/O; every step is linear in the page size.
"""

from __future__ import annotations

import codecs
import re
import zlib

from protocols.errors import XmlTooLarge
from protocols.oaipmh.errors import HarvestPageError
from protocols.xml import MAX_BYTES

__all__ = ["repair_xml_bytes", "maybe_decompress", "declared_encoding", "describe_bytes"]

_ILLEGAL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?\?>")
_HTML = re.compile(rb"<(?:!doctype\s+html|html[\s>])", re.IGNORECASE)
_TITLE = re.compile(rb"<title[^>]*>([^<]{0,200})", re.IGNORECASE)
_ENCODING_ATTR = re.compile(rb"""encoding\s*=\s*(["'])([A-Za-z0-9._:-]*)\1""")
_UTF8_NAMES = {"utf-8", "utf8", "utf_8", "u8"}
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
# ED A0..BF xx: a UTF-16 surrogate written as UTF-8 (CESU-8 / Java "modified UTF-8")
_SURROGATE_BYTES = re.compile(rb"\xed[\xa0-\xbf][\x80-\xbf]")



def _decode_utf8_leniently(data: bytes) -> tuple[str, int, int, int]:
    """UTF-8 text of ``data`` where every byte that is not UTF-8 is read as cp1252.

    Returns (text, bytes re-decoded, offset of the first, surrogates dropped). Only the
    offending byte is re-read, so a valid UTF-8 sequence right after it stays UTF-8; slices
    of a memoryview keep the whole decode linear.
    """
    view = memoryview(data)
    parts: list[str] = []
    pos, redecoded, first, surrogates = 0, 0, -1, 0
    while pos < len(data):
        try:
            parts.append(codecs.utf_8_decode(view[pos:], "strict", True)[0])
            break
        except UnicodeDecodeError as err:
            bad = pos + err.start
            parts.append(codecs.utf_8_decode(view[pos:bad], "strict", True)[0])
        surrogate = _SURROGATE_BYTES.match(data, bad)
        if surrogate is not None:
            surrogates += 1
            pos = surrogate.end()
            continue
        byte = data[bad:bad + 1]
        try:
            parts.append(byte.decode("cp1252"))
        except UnicodeDecodeError:
            parts.append(byte.decode("latin-1"))
        if first < 0:
            first = bad
        redecoded += 1
        pos = bad + 1
    return "".join(parts), redecoded, first, surrogates


def declared_encoding(data: bytes) -> str | None:
    """The encoding named by a BOM or the XML declaration, lower-cased; None when neither."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    decl = _XML_DECL.match(data[:512])
    if decl is not None:
        enc = _ENCODING_ATTR.search(decl.group(0))
        if enc is not None:
            return enc.group(2).decode("ascii").lower()
    return None


def repair_xml_bytes(data: bytes) -> tuple[bytes, list[str]]:
    """``data`` as UTF-8 with the repairs listed in the module docstring, and what was done."""
    repairs: list[str] = []
    encoding = declared_encoding(data)
    text = _decode(data, encoding, repairs)

    removed = 0

    def drop_reference(match: re.Match[str]) -> str:
        nonlocal removed
        hex_digits, dec_digits = match.groups()
        point = int(hex_digits, 16) if hex_digits else int(dec_digits)
        if _xml_char_allowed(point):
            return match.group(0)
        removed += 1
        return ""

    if "&#" in text:
        text = _CHAR_REF.sub(drop_reference, text)
    if removed:
        repairs.append(f"removed {removed} character reference(s) to characters XML 1.0 forbids")
    text, count = _ILLEGAL_CHARS.subn("", text)
    if count:
        repairs.append(f"removed {count} character(s) XML 1.0 forbids (control characters, "
                       "lone surrogates, U+FFFE/U+FFFF)")
    out = text.encode("utf-8", "surrogatepass")
    decl = _XML_DECL.match(out[:512])
    if decl is not None:
        head = decl.group(0)
        fixed = _ENCODING_ATTR.sub(b'encoding="UTF-8"', head, count=1)
        if fixed != head:
            out = fixed + out[len(head):]
    return out, repairs


def _decode(data: bytes, encoding: str | None, repairs: list[str]) -> str:
    if (encoding is not None and encoding.startswith(("utf-16", "utf-32", "ucs"))
            and not data.startswith(tuple(bom for bom, _ in _BOMS))):
        # a UTF-16/32 declaration readable as ASCII bytes is false: the page is 8-bit
        repairs.append(f"the declared encoding {encoding!r} is false (no BOM, ASCII "
                       "declaration): read as UTF-8")
        encoding = None
    if encoding is not None and encoding not in _UTF8_NAMES and encoding != "utf-8-sig":
        try:
            # LookupError also for bytes-to-bytes codecs (base64, zlib...), not text encodings
            text = data.decode(encoding, "replace")
        except (LookupError, UnicodeError, ValueError):
            repairs.append(f"unknown declared encoding {encoding!r}: read as UTF-8")
        else:
            repairs.append(f"decoded from the declared encoding {encoding!r} and re-encoded "
                           "as UTF-8")
            return text.lstrip("\ufeff")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    text, redecoded, first, surrogates = _decode_utf8_leniently(data)
    if redecoded:
        repairs.append(f"{redecoded} byte(s) that are not UTF-8 (first at byte offset {first}) "
                       "re-decoded as cp1252 (Latin-1 where cp1252 has no character)")
    if surrogates:
        repairs.append(f"removed {surrogates} UTF-8-encoded surrogate(s) (CESU-8)")
    return text


def _xml_char_allowed(point: int) -> bool:
    return (point in (0x9, 0xA, 0xD) or 0x20 <= point <= 0xD7FF
            or 0xE000 <= point <= 0xFFFD or 0x10000 <= point <= 0x10FFFF)


_GZIP_MAGIC = b"\x1f\x8b"
_ZLIB_MAGIC = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")


def maybe_decompress(data: bytes, *, max_bytes: int = MAX_BYTES) -> bytes:
    """Gunzip / inflate ``data`` when it starts with gzip or zlib magic, else return it as is.

    For servers that compress without a Content-Encoding header (an XML page never starts
    with these bytes). The decompressed size is capped at ``max_bytes`` (``XmlTooLarge``);
    a stream that is corrupt or ends early raises ``HarvestPageError``.
    """
    if data[:2] == _GZIP_MAGIC:
        kind, wbits = "gzip", 16 + zlib.MAX_WBITS
    elif data[:2] in _ZLIB_MAGIC:
        kind, wbits = "zlib", zlib.MAX_WBITS
    else:
        return data
    inflater = zlib.decompressobj(wbits)
    try:
        # max_length + 1: one byte over the cap proves the cap is exceeded without inflating more
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as err:
        raise HarvestPageError(f"body starts with {kind} magic bytes but does not decompress: "
                               f"{err}") from None
    if len(out) > max_bytes:
        raise XmlTooLarge(f"{kind} body decompresses to more than {max_bytes} bytes")
    if not inflater.eof:
        raise HarvestPageError(f"{kind} body ends early ({len(data)} compressed bytes gave "
                               f"{len(out)} bytes before the stream was cut off)")
    return out


def describe_bytes(data: bytes) -> str:
    """What a page that is not OAI-PMH looks like, for an error message."""
    head = bytes(data[:2048])
    if _HTML.search(head):
        title = _TITLE.search(head)
        named = f" titled {title.group(1).decode('utf-8', 'replace').strip()!r}" if title else ""
        return f"found an HTML page{named}"
    return f"first bytes: {head[:80]!r}"
