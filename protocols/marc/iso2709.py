"""ISO 2709 record decoding: ``_decode_iso2709`` tries the fast path (one ``pymarc.Record``
call once the leader, directory and terminators agree) and otherwise the repair path, which
re-frames the fields from their terminators, repairs the leader and directory, and names every
repair. It also holds the character-set sniffing (UTF-8, MARC-8, cp1252, cp1251, whatever
leader/09 claims) and registers the ``libgate.marc.cp1252-fallback`` codec error handler on
import.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

import pymarc
from pymarc import Field, Indicators, Leader, Subfield
from pymarc.exceptions import PymarcException
from pymarc.marc8 import marc8_to_unicode
from pymarc.marc8_mapping import CODESETS
from pymarc.record import normalize_subfield_code

from protocols.errors import MarcError
from protocols.marc.types import (
    _FFFD_UPSTREAM,
    _U_FFFD,
    FIELD_TERMINATOR,
    LEADER_LEN,
    RECORD_TERMINATOR,
    DecodedRecord,
    RawRecord,
)

# Printable ASCII plus the MARC delimiters: bytes MARC-8 and UTF-8 decode identically.
_PLAIN_ASCII = bytes(range(0x20, 0x7F)) + b"\x1d\x1e\x1f"

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
