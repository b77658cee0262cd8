"""Match keys: what a record is filed under so that its possible duplicates can be found.

A :class:`Profile` holds what matching reads from a normalized record, folded once. Its
``keys`` are ``(kind, value)`` pairs, stored in the ``match_keys`` table:

    isbn      every valid ISBN-13 (020 $a)
    issn      every valid ISSN (022 $a)
    oclc      OCLC numbers (035, 001/003)
    lccn      LC control number (010)
    id        the other standard numbers: 015 national bibliography, 016 national agency,
              024 (ISRC, UPC, ISMN, EAN, DOI...) as "015:…", "016:…", "024:…"
    title     folded title ($a), cut to TITLE_KEY_LENGTH characters, "|" and the folded surname
              of the first author — none when the title or author text is garbled (mojibake)
    content   a digest of the bibliographic content (not the local id, not the holdings): an
              exact re-submission of the same record under a new id shares it

These are the keys RecordManager uses (ISBN-13, the 010/015/016/024/035 id set, a truncated
folded title plus author), with the content digest added for same-member re-submissions.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from protocols.matching.text import fold, looks_garbled, numbers_in, surname

TITLE_KEY_LENGTH = 30
SUBTITLE_LENGTH = 200
MAX_KEY_LENGTH = 255
ID_KINDS = ("isbn", "issn", "oclc", "lccn", "id")
KEY_KINDS = (*ID_KINDS, "title", "content")

_CONTENT_FIELDS = ("title", "subtitle", "responsibility", "authors", "corporate_authors",
                   "isbns", "issns", "oclc_numbers", "lccn", "other_ids", "publisher", "year",
                   "edition", "languages", "format", "pages", "extent", "series", "subjects",
                   "source_format", "record_type")


_NONE: frozenset[str] = frozenset()


@dataclass(slots=True)
class Profile:
    """What the rules compare, read once from a normalized record."""

    record_id: int
    member: str                      # member code
    local_id: str
    format: str
    year: int | None
    pages: int | None
    title: str                       # folded 245 $a ("" when missing or garbled)
    subtitle: str                    # folded 245 $b, cut to SUBTITLE_LENGTH
    title_numbers: tuple[str, ...]   # digit runs of the title: volume / part numbers
    garbled: bool                    # title or first author look like mojibake
    author: str                      # folded surname of the first author ("" if none/garbled)
    publisher: str
    edition_numbers: tuple[str, ...]
    series_numbers: tuple[str, ...]  # 490 $v numbering of every series statement
    content: str
    # every key, flat: kind, value, kind, value... The identifiers are read from here (kept
    # once, and without a tuple per key: a rebuild holds a profile of every record in memory,
    # and the pairs cost ~200 bytes a record, a tenth of a 500,000-record rebuild's peak)
    key_items: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[tuple[str, str], ...]:
        """Every ``(kind, value)`` key, in KEY_KINDS order."""
        items = self.key_items
        return tuple(zip(items[::2], items[1::2]))

    def _values(self, kind: str) -> frozenset[str]:
        items = self.key_items
        if kind not in items:        # most records have no ISSN, LCCN... (a C-level scan)
            return _NONE
        return frozenset(items[i + 1] for i in range(0, len(items), 2) if items[i] == kind)

    @property
    def isbns(self) -> frozenset[str]:
        return self._values("isbn")

    @property
    def issns(self) -> frozenset[str]:
        return self._values("issn")

    @property
    def oclc(self) -> frozenset[str]:
        return self._values("oclc")

    @property
    def ids(self) -> frozenset[str]:
        """"lccn:…" and the 015/016/024 numbers."""
        items = self.key_items
        if "lccn" not in items and "id" not in items:
            return _NONE
        return frozenset(f"lccn:{v}" if k == "lccn" else v for k, v in self.keys
                         if k in ("lccn", "id"))

    @property
    def sort_key(self) -> tuple[str, str]:
        """The order rules are applied in: (member, local id) — never the arrival order."""
        return (self.member, self.local_id)

    @property
    def label(self) -> str:
        return f"{self.member}:{self.local_id}"


def content_digest(normalized: Mapping[str, Any]) -> str:
    """Digest of a record's bibliographic content; the same for a re-submission under a new id."""
    text = repr(tuple(map(normalized.get, _CONTENT_FIELDS)))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def _series_numbers(series: list[str]) -> tuple[str, ...]:
    found: list[str] = []
    for statement in series:
        if ";" in statement:
            found.extend(numbers_in(statement.rsplit(";", 1)[1]))
    return tuple(sorted(found))


# publishers and edition statements repeat across a catalogue ("Penguin", "2nd ed."): a
# rebuild folds each distinct one once
_fold_repeated = functools.lru_cache(maxsize=16384)(fold)


@functools.lru_cache(maxsize=4096)
def _edition_numbers(edition: str | None) -> tuple[str, ...]:
    return numbers_in(fold(edition))


def profile_of(normalized: Mapping[str, Any], *, record_id: int, member: str,
               local_id: str | None = None) -> Profile:
    """Build the :class:`Profile` (and its keys) of a record from its normalized dict."""
    raw_title = normalized.get("title") or ""
    authors = normalized.get("authors") or []
    first_author = authors[0] if authors else ""
    garbled = looks_garbled(raw_title) or looks_garbled(first_author)
    title = "" if garbled else fold(raw_title)
    author = "" if garbled else surname(first_author)
    profile = Profile(
        record_id=record_id, member=member,
        local_id=local_id if local_id is not None else str(normalized.get("local_id") or ""),
        format=sys.intern(normalized.get("format") or "other"),
        year=normalized.get("year"), pages=normalized.get("pages"),
        title=title, title_numbers=numbers_in(title), garbled=garbled, author=author,
        subtitle="" if garbled else fold(normalized.get("subtitle"))[:SUBTITLE_LENGTH],
        publisher=_fold_repeated(normalized.get("publisher")),
        edition_numbers=_edition_numbers(normalized.get("edition")),
        series_numbers=_series_numbers(normalized.get("series") or []),
        content=content_digest(normalized),
    )
    profile.key_items = tuple(part for key in match_keys(profile, normalized) for part in key)
    return profile


# The stored form of a profile (records.match_profile) says which profile_of made it: change
# what profile_of or the keys give and this number must change with it, so that profiles
# stored before are made again, not trusted. tests/protocols/test_matching_profiles.py holds
# the fingerprint of today's profiles of the real records, and fails until both change.
PROFILE_VERSION = 1


def stored_profile(profile: Profile) -> list[Any]:
    """``profile`` as a plain list (JSON-ready) without what the store row holds anyway
    (record id, member, local id), ``PROFILE_VERSION`` first."""
    return [PROFILE_VERSION, profile.format, profile.year, profile.pages, profile.title,
            profile.subtitle, profile.title_numbers, profile.garbled, profile.author,
            profile.publisher, profile.edition_numbers, profile.series_numbers,
            profile.content, profile.key_items]


def profile_from_stored(items: Any, *, record_id: int, member: str, local_id: str
                        ) -> Profile | None:
    """The profile ``stored_profile`` gave (lists read back as tuples), or None when it was
    made by another ``PROFILE_VERSION`` or is not a stored profile at all: the caller makes
    it again from the record."""
    if not isinstance(items, list) or len(items) != 14 or items[0] != PROFILE_VERSION:
        return None
    (_version, format_, year, pages, title, subtitle, title_numbers, garbled, author,
     publisher, edition_numbers, series_numbers, content, key_items) = items
    # one string object per key kind and publisher, as profile_of gives (a rebuild holds
    # every profile: a string apiece would add ~250 bytes a record)
    keys = list(key_items)
    keys[::2] = [_KIND_STRINGS.get(kind, kind) for kind in keys[::2]]
    return Profile(record_id=record_id, member=member, local_id=local_id,
                   format=sys.intern(format_), year=year, pages=pages, title=title,
                   subtitle=subtitle, title_numbers=tuple(title_numbers), garbled=garbled,
                   author=author, publisher=sys.intern(publisher),
                   edition_numbers=tuple(edition_numbers),
                   series_numbers=tuple(series_numbers), content=content,
                   key_items=tuple(keys))


_KIND_STRINGS = {kind: kind for kind in KEY_KINDS}


def title_key(profile: Profile) -> str | None:
    """Folded, truncated title + "|" + author surname; None without a usable title."""
    compact = profile.title[:TITLE_KEY_LENGTH].strip()
    if len(compact.replace(" ", "")) < 3:
        return None
    return f"{compact}|{profile.author}"


def match_keys(profile: Profile, normalized: Mapping[str, Any]
               ) -> tuple[tuple[str, str], ...]:
    """Every ``(kind, value)`` key of a record, in KEY_KINDS order, values ≤ 255 chars."""
    keys: list[tuple[str, str]] = []
    keys.extend(("isbn", v) for v in sorted(set(normalized.get("isbns") or ())))
    keys.extend(("issn", v) for v in sorted(set(normalized.get("issns") or ())))
    keys.extend(("oclc", v) for v in sorted(set(normalized.get("oclc_numbers") or ())))
    if lccn := normalized.get("lccn"):
        keys.append(("lccn", lccn))
    # 022 ISSN-L, 773 host ISSN and 776 other-format numbers are related, not the record's
    keys.extend(("id", v) for v in sorted(set(normalized.get("other_ids") or ()))
                if v.startswith(("015:", "016:", "024:")))
    if (title := title_key(profile)) is not None:
        keys.append(("title", title))
    keys.append(("content", profile.content))
    return tuple((kind, value[:MAX_KEY_LENGTH]) for kind, value in keys)
