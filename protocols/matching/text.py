"""Text folding for match keys and comparisons: Unicode folding, mojibake detection, edit distance.

Pure functions, no I/O. ``fold`` is what every title/author comparison sees: NFKD, combining
marks dropped, casefolded, punctuation turned into single spaces — so "Mémoires" and "MEMOIRES"
and "Memoires," fold alike.
"""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+")

# UTF-8 bytes read as Latin-1 / Windows-1252: "Ã©" for "é", "â€™" for "’", "Ä›" for "ě"
_LATIN1_MOJIBAKE = re.compile("[ÃÂÄÅ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e"
                              "\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026"
                              "\u2030\u2039\u203a\u20ac\u2122]|â€")
# UTF-8 bytes read as MARC-8 (ANSEL): a lead byte 0xC0-0xC8 shows as ° ℓ ℗ © ♯ ¿ ¡ ß €, the
# continuation byte 0x80-0xBF as one of ANSEL's special letters — "Fran©ʹois" for "François"
_ANSEL_LEADS = "°ℓ℗©♯¿¡ß€"
_ANSEL_CONTINUATIONS = "ŁØĐÞÆŒʹ·♭®±ƠƯʼʻłøđþæœʺı£ðơư"
_MARC8_MOJIBAKE = re.compile(f"[{_ANSEL_LEADS}][{_ANSEL_CONTINUATIONS}]")
_C1_CONTROLS = re.compile("[\u0080-\u009f]")


def fold(text: str | None) -> str:
    """Unicode-folded text: NFKD, no combining marks, casefolded, punctuation → one space."""
    if not text:
        return ""
    if not text.isascii():           # ASCII text has nothing to decompose or strip
        text = unicodedata.normalize("NFKD", text)
        if not text.isascii():
            text = "".join(c for c in text if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", text.casefold()).strip()


def looks_garbled(text: str | None) -> bool:
    """True when ``text`` shows the marks of a wrong decoding (mojibake).

    Replacement characters (U+FFFD), C1 control characters, UTF-8 read as Latin-1/CP1252 and
    UTF-8 read as MARC-8 all count. A garbled title must not produce a title key: it would
    match nothing it should and could match what it should not.
    """
    if not text:
        return False
    return ("\ufffd" in text or bool(_C1_CONTROLS.search(text))
            or bool(_LATIN1_MOJIBAKE.search(text)) or bool(_MARC8_MOJIBAKE.search(text)))


def is_all_caps(text: str | None) -> bool:
    """True for text shouted in capitals ("PRIDE AND PREJUDICE"): at least 4 letters, no lower."""
    if not text:
        return False
    if text.isascii() and text.upper() != text:
        return False                 # an ASCII lower-case letter (most text: no scan below)
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 4 and not any(c.islower() for c in letters) and any(
        c.isupper() for c in letters)


def numbers_in(text: str) -> tuple[str, ...]:
    """The digit runs of ``text`` without leading zeros, sorted ("v. 02 part 1" → ("1", "2"))."""
    return tuple(sorted(n.lstrip("0") or "0" for n in _DIGITS.findall(text)))


def surname(name: str | None) -> str:
    """The folded surname of a personal name heading: "Chabon, Michael, 1963-" → "chabon";
    a name without a comma ("Homer", "Voltaire") is its own surname."""
    if not name:
        return ""
    head = name.split(",", 1)[0]
    return fold(head)


def within_distance(a: str, b: str, limit: int) -> bool:
    """Levenshtein distance of ``a`` and ``b`` is at most ``limit`` (banded; cheap for small
    limits, which is the only way it is called)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > limit or limit <= 0:
        return False
    # only the differing middle matters: strip the common prefix and suffix
    start = 0
    end = min(len(a), len(b))
    while start < end and a[start] == b[start]:
        start += 1
    a, b = a[start:], b[start:]
    while a and b and a[-1] == b[-1]:
        a, b = a[:-1], b[:-1]
    if not a or not b:
        return max(len(a), len(b)) <= limit
    if len(a) > len(b):
        a, b = b, a
    big = limit + 1
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        lo, hi = max(1, i - limit), min(len(b), i + limit)
        current = [big] * (len(b) + 1)
        current[0] = i if i <= limit else big
        ca = a[i - 1]
        best = current[0]
        for j in range(lo, hi + 1):
            cost = 0 if ca == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            current[j] = value
            if value < best:
                best = value
        if best > limit:
            return False
        previous = current
    return previous[len(b)] <= limit
