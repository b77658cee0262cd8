"""Standard identifiers as they appear in member records: find, validate, normalize.

Pure functions, no I/O. Each ``normalize_*`` returns the canonical form or ``None`` — never
raises on odd input, because dirty member data is normal. Validation is python-stdnum's
(ISSN, ISMN, ISIL; for ISBNs the same check-digit arithmetic, inlined for speed and tested
against stdnum.isbn); the regexes here only find the candidate in a cataloguer's string
(``"0-679-45004-1 (pbk.)"``, ``"(OCoLC)ocm00012345"``) and keep the validators from being
called on values that cannot be one.

    normalize_isbn("0-679-45004-1 (acid-free paper)")  -> "9780679450047"
    normalize_issn("0028-0836")                        -> "0028-0836"
    normalize_oclc("(OCoLC)ocm00012345")               -> "12345"
    normalize_lccn("n78-89035")                        -> "n78089035"
    fold_text("Éléments de Géométrie")                 -> "elements de geometrie"
"""

from __future__ import annotations

import re
import unicodedata
from operator import mul

from stdnum import isil as _isil
from stdnum import ismn as _ismn
from stdnum import issn as _issn
from stdnum.exceptions import ValidationError

__all__ = [
    "fold_text",
    "is_valid_isil",
    "isbn_candidates",
    "looks_like_isil",
    "normalize_isbn",
    "normalize_ismn",
    "normalize_issn",
    "normalize_lccn",
    "normalize_oclc",
    "oclc_from_001",
]

# --- ISBN -------------------------------------------------------------------------------------

# A label some members put in front ("ISBN 0-...", "ISBN: ...", "urn:isbn:...").
_ISBN_LABEL = re.compile(r"^\s*(?:urn:)?isbn(?:-1[03])?\s*[:=]?\s*", re.IGNORECASE)
# Ten or thirteen digits (last may be X), optionally split by single hyphens or blanks.
_ISBN_HEAD = re.compile(r"^\s*([0-9](?:[\s\-]?[0-9]){7,11}[\s\-]?[0-9Xx])(?![0-9Xx])")
_ISBN_ANY = re.compile(r"(?<![0-9Xx])([0-9](?:[\s\-]?[0-9]){8,11}[\s\-]?[0-9Xx])(?![0-9Xx])")
_SEPARATORS = str.maketrans("", "", " -\t\n\r\f\v")
_ISBN10_WEIGHTS = (1, 2, 3, 4, 5, 6, 7, 8, 9)
_ASCII_ZERO = ord("0")


def _ean_check_digit(first12: str) -> str:
    # weights 1,3,1,3,... from the left; sums over the ASCII bytes, minus 24 weighted "0"s
    raw = first12.encode("ascii")
    total = sum(raw[0::2]) + 3 * sum(raw[1::2]) - 24 * _ASCII_ZERO
    return str(-total % 10)


def _valid_isbn13(candidate: str) -> str | None:
    """The ISBN-13 of a 9- (SBN), 10- or 13-character candidate with a valid check digit.

    The arithmetic is stdnum.isbn's (ISBN-10 mod 11, EAN-13 mod 10, prefix 978/979), written
    over the ASCII bytes: stdnum's per-character generators cost about 12 µs per ISBN, the
    largest single cost of normalizing an ISBN-rich record (this takes about 1.5 µs).
    tests/protocols/test_identifiers.py checks that it agrees with stdnum.isbn.
    """
    digits = candidate.translate(_SEPARATORS).upper()
    if len(digits) == 9:
        digits = "0" + digits           # a pre-1970 SBN, as stdnum.isbn reads it
    if len(digits) == 13:
        if digits.isascii() and digits.isdigit() and digits[:3] in ("978", "979") \
                and _ean_check_digit(digits[:12]) == digits[12]:
            return digits
        return None
    if len(digits) == 10 and digits.isascii() and digits[:9].isdigit():
        check = (sum(map(mul, _ISBN10_WEIGHTS, digits[:9].encode("ascii")))
                 - 45 * _ASCII_ZERO) % 11
        if digits[9] == ("X" if check == 10 else str(check)):
            body = "978" + digits[:9]
            return body + _ean_check_digit(body)
    return None


def normalize_isbn(text: str | None) -> str | None:
    """The valid ISBN at the start of a 020 $a-like string, as 13 digits; else None.

    A 9-digit SBN (UK Standard Book Number, before 1970) counts as the ISBN-10 "0" + SBN.
    Only the leading number counts: in ``"0679450041 (v. 1)"`` the ISBN is the head and the
    qualifier is ignored; a string that starts with something else is not an ISBN.
    """
    if not text:
        return None
    m = _ISBN_LABEL.match(text)
    if m:
        text = text[m.end():]
    m = _ISBN_HEAD.match(text)
    if m is None:
        return None
    found = _valid_isbn13(m.group(1))
    if found is None and " " in m.group(1):
        # "0679450041 0679450042": two numbers, the blank was a separator, not a digit group
        head = m.group(1).split(" ", 1)[0]
        found = _valid_isbn13(head)
    return found


def isbn_candidates(text: str | None) -> list[str]:
    """Every valid ISBN anywhere in ``text``, as ISBN-13, in order, without duplicates.

    For free text such as a Dublin Core identifier or a 500 note; 020 $a uses
    :func:`normalize_isbn`, which only trusts the head of the string.
    """
    if not text:
        return []
    out: list[str] = []
    for m in _ISBN_ANY.finditer(text):
        found = _valid_isbn13(m.group(1))
        if found is not None and found not in out:
            out.append(found)
    return out


# --- ISSN / ISMN ------------------------------------------------------------------------------

_ISSN_FIND = re.compile(
    r"(?<![0-9Xx])([0-9]{4})\s?[\-\u2010\u2011\u2013]?\s?([0-9]{3}[0-9Xx])(?![0-9Xx])"
)


def normalize_issn(text: str | None) -> str | None:
    """The first ISSN with a valid check digit in ``text``, as ``"0028-0836"``; else None."""
    if not text:
        return None
    for m in _ISSN_FIND.finditer(text):
        number = (m.group(1) + m.group(2)).upper()
        if _issn.is_valid(number):
            return f"{number[:4]}-{number[4:]}"
    return None


def normalize_ismn(text: str | None) -> str | None:
    """A valid ISMN (``M-...`` or ``979-0-...``) at the start of ``text``, as 13 digits."""
    if not text:
        return None
    head = text.strip().split(" ", 1)[0].rstrip(".,;:")
    if not head or not (head[0] in "Mm9"):
        return None
    try:
        return _ismn.to_ismn13(_ismn.validate(head.upper())).replace("-", "")
    except ValidationError:
        return None


# --- OCLC -------------------------------------------------------------------------------------

# "(OCoLC)ocm00012345", "(OCoLC)ocn123456789", "(OCoLC)on1234567890", "(OCoLC)12345" — and the
# bare prefixed forms some exports put in 035 without the org code ("ocn767498970").
_OCLC_035 = re.compile(
    r"^\s*(?:\(OCoLC\)\s*(?:ocm|ocn|on)?|ocm|ocn|on)\s*([0-9]+)\s*$", re.IGNORECASE
)
_OCLC_001 = re.compile(r"^\s*(?:ocm|ocn|on)?\s*([0-9]+)\s*$", re.IGNORECASE)
_OCLC_PREFIXED_001 = re.compile(r"^\s*(?:ocm|ocn|on)([0-9]+)\s*$")


def normalize_oclc(text: str | None) -> str | None:
    """The OCLC number of a 035 $a such as ``"(OCoLC)ocm00012345"``, as ``"12345"``.

    Other institutions' 035 prefixes (``"(NNC)5415173"``, ``"(OCoLC-I)..."``) give None, as does
    an all-zero number.
    """
    if not text:
        return None
    m = _OCLC_035.match(text)
    if m is None:
        return None
    return m.group(1).lstrip("0") or None


def oclc_from_001(control_number: str | None, org_code: str | None) -> str | None:
    """The OCLC number a 001 carries: any 001 with an ocm/ocn/on prefix, or digits when the
    003 says the number is OCLC's (``"OCoLC"``)."""
    if not control_number:
        return None
    m = _OCLC_PREFIXED_001.match(control_number)
    if m is None and org_code is not None and org_code.strip().upper() == "OCOLC":
        m = _OCLC_001.match(control_number)
    if m is None:
        return None
    return m.group(1).lstrip("0") or None


# --- LCCN -------------------------------------------------------------------------------------

# A normalized LCCN: up to three lowercase letters, then 8 digits (2-digit year) or 10 (4-digit).
_LCCN_NORMAL = re.compile(r"^[a-z]{0,3}(?:[0-9]{8}|[0-9]{10})$")


def normalize_lccn(text: str | None) -> str | None:
    """LC's LCCN normalization (loc.gov/marc/lccn-namespace.html); None if no LCCN results.

    Blanks removed, everything from a ``/`` on dropped, and a hyphen removed with the serial
    after it left-padded with zeros to six digits: ``"n78-89035"`` -> ``"n78089035"``,
    ``"   75425165 //r75"`` -> ``"75425165"``. The prefix is lower-cased.
    """
    if not text:
        return None
    value = "".join(text.split())
    value = value.split("/", 1)[0]
    if "-" in value:
        head, _, serial = value.partition("-")
        serial = serial.replace("-", "")
        if not (serial.isascii() and serial.isdigit()) or len(serial) > 6:
            return None
        value = head + serial.zfill(6)
    value = value.lower()
    return value if _LCCN_NORMAL.match(value) else None


# --- ISIL -------------------------------------------------------------------------------------

# ISO 15511 shape: a prefix of 1-4 letters (2 = ISO 3166 country), a hyphen, an identifier of
# letters, digits and "-/:", at most 16 characters in all.
_ISIL_SHAPE = re.compile(r"^[A-Za-z]{1,4}-[A-Za-z0-9:/\-]{1,11}$")


def looks_like_isil(code: str | None) -> bool:
    """True for a code with the ISIL shape (``"SE-UMU"``, ``"US-DLC"``), registered or not."""
    return bool(code) and len(code) <= 16 and _ISIL_SHAPE.match(code) is not None


def is_valid_isil(code: str | None) -> bool:
    """True when stdnum.isil accepts ``code``: ISIL shape *and* a prefix in stdnum's table of
    allocation agencies.

    That table follows the ISIL registration authority's list, which has no Swedish agency:
    ``is_valid_isil("SE-UMU")`` is False while ``looks_like_isil("SE-UMU")`` is True. Use
    :func:`looks_like_isil` to accept member codes.
    """
    return bool(code) and looks_like_isil(code) and _isil.is_valid(code)


# --- text folding -----------------------------------------------------------------------------

# Letters that NFKD does not decompose into base + mark but that readers treat as plain letters.
_FOLD_EXTRA = str.maketrans({
    "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ð": "d", "Ð": "d",
    "þ": "th", "Þ": "th", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ı": "i",
    "ʻ": "", "ʼ": "", "ʹ": "", "ʺ": "",   # ALA-LC romanization marks (ayn, alif, soft sign)
})


def fold_text(s: str | None) -> str:
    """Casefold, strip accents (NFKD minus combining marks) and collapse blanks.

    For match keys and search, never for display: ``"Čapek, Karel"`` -> ``"capek, karel"``.
    """
    if not s:
        return ""
    if s.isascii():          # most text: nothing to translate, decompose or strip
        return " ".join(s.casefold().split())
    decomposed = unicodedata.normalize("NFKD", s.translate(_FOLD_EXTRA))
    if not decomposed.isascii():
        decomposed = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(decomposed.casefold().split())
