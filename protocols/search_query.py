"""Search queries over the union index: the query language, parsed into a typed query.

Pure, no I/O. The same folding and word splitting (``search_words``) serve the parser and the
index (gateway/index/search.py), so a word is found exactly when the query and the record
fold to the same word — on SQLite FTS5 and on PostgreSQL alike.

    parse_query('title:"pride and prejudice" austen format:book year:1990-2000')
    parse_query('isbn:0-306-40615-2')        # the ISBN-13 9780306406157 finds it too
    parse_query('Éléments géométrie')        # == parse_query('elements GEOMETRIE')

Grammar (whitespace separates terms; every term must match, AND):

    word  "a phrase"  word*              keywords anywhere in the record; ``*`` is a prefix
    title: author: subject:              the same, restricted to one field
    isbn: issn: oclc:                    identifiers (ISBN-10 or -13, hyphens or not);
                                         several identifiers are alternatives (OR)
    format:book,ebook  language:fre      filters; repeated or comma-separated values are OR
    year:1990  year:1990-2000  year:-1800  year:1990-
    member:GB-UkDem                      held by that member
    lendable:true|false                  with a lendable copy (at ``member:`` if given)

Common words (``the``, ``of``, ``la``, ``und``: ``STOPWORDS``) are dropped from a query that
has other words; quoted phrases keep them. A bare number that is a valid ISBN is an ISBN
lookup. ``name:value`` with an unknown lowercase
``name`` is refused (``titel:emma`` is a typo, not two words); a colon followed by a blank or
after a capital (``Emma: a novel``) is ordinary text. Bad input raises :class:`QueryError`
naming the offending term.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from stdnum import isbn as stdnum_isbn
from stdnum import issn as stdnum_issn
from stdnum.exceptions import ValidationError

from protocols.errors import ProtocolError
from protocols.identifiers import fold_text, normalize_oclc
from protocols.records import FORMATS
from protocols.union import UnionRecord

__all__ = [
    "DEFAULT_LIMIT", "MAX_LIMIT", "TEXT_FIELDS", "Identifier", "QueryError", "SearchQuery",
    "SearchDocument", "TEXT_COLUMNS", "Term", "parse_query", "search_document", "search_words",
]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_QUERY_CHARS = 1000
MAX_TERMS = 32
TEXT_FIELDS = ("title", "author", "subject")
IDENTIFIER_FIELDS = ("isbn", "issn", "oclc")
FILTER_FIELDS = ("format", "language", "year", "member", "lendable")
FIELD_ALIASES = {"lang": "language", "subjects": "subject", "authors": "author",
                 "held": "member", "ti": "title", "au": "author", "su": "subject"}
ALL_FIELDS = TEXT_FIELDS + IDENTIFIER_FIELDS + FILTER_FIELDS
_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


class QueryError(ProtocolError):
    """A search query that cannot be parsed; ``term`` is the offending part of the query."""

    status_hint = 400

    def __init__(self, term: str, reason: str) -> None:
        super().__init__(f"bad search term {term!r}: {reason}")
        self.term = term
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Term:
    """Folded words that must occur, adjacent and in order when there are several (a phrase);
    ``field`` None means anywhere; ``prefix``: the last word may be the start of a word."""

    words: tuple[str, ...]
    field: str | None = None
    prefix: bool = False

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1


@dataclass(frozen=True, slots=True)
class Identifier:
    kind: str          # isbn (13 digits) | issn (NNNN-NNNC) | oclc (digits, no leading 0)
    value: str


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str = ""
    terms: tuple[Term, ...] = ()
    identifiers: tuple[Identifier, ...] = ()
    formats: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    lendable: bool | None = None
    page: int = 1
    limit: int = DEFAULT_LIMIT
    facets: bool = True

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    @property
    def has_filters(self) -> bool:
        return bool(self.formats or self.languages or self.members or self.lendable is not None
                    or self.year_from is not None or self.year_to is not None)


# --- words ------------------------------------------------------------------------------------

# letters and digits of any script; "_" and punctuation separate words, as FTS5's unicode61
_WORD = re.compile(r"[^\W_]+")
MAX_WORD_CHARS = 64


def search_words(text: str | None) -> list[str]:
    """The folded words of ``text`` as the index stores them: ``"L'Éducation"`` → l, education.

    Words longer than ``MAX_WORD_CHARS`` are cut (a run of digits in a note, not a word anyone
    types in full).
    """
    return list(_folded_words(text))


@functools.lru_cache(maxsize=32768)
def _folded_words(text: str | None) -> tuple[str, ...]:
    # subjects, authors, publishers and series repeat across a union catalogue: indexing a
    # cluster folds a dozen strings, most of them seen before
    words = _WORD.findall(fold_text(text))
    if len(text or "") > MAX_WORD_CHARS and max(map(len, words), default=0) > MAX_WORD_CHARS:
        return tuple(w[:MAX_WORD_CHARS] for w in words)
    return tuple(words)         # no word can be too long: no step per word (a third faster)


# Words too common to narrow a search: dropped from a query that has other words (never from
# a quoted phrase). They stay in the index, so "the who" and "title:\"the end\"" still work.
STOPWORDS = frozenset("""
a an and are as at be by for from in into is it of on or the to with
au aux d de des du en et l la le les un une
das dem den der des die ein eine im und von zu
del el la las los y
""".split())

# --- parsing ----------------------------------------------------------------------------------

# a term: optional name: then a quoted phrase (closing quote optional) or a run of non-blanks
_TOKEN = re.compile(r'\s*(?:([A-Za-z]+):(?=\S))?("([^"]*)"?|\S+)')
_ISBN_SHAPE = re.compile(r"^(?:[0-9][\-]?){9}[0-9Xx]$|^(?:[0-9][\-]?){12}[0-9]$")
_YEAR_RANGE = re.compile(r"^(\d{1,4})?\s*(-)?\s*(\d{1,4})?$")


def parse_query(text: str, *, filters: Iterable[tuple[str, str]] = (), page: int = 1,
                limit: int = DEFAULT_LIMIT, facets: bool = True) -> SearchQuery:
    """Parse the user's query text; raise :class:`QueryError` naming the bad term.

    ``filters`` are filters given apart from the text (API parameters such as
    ``("format", "book")``), read as if ``format:book`` were in the text.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(text[:40] + "…", f"longer than {MAX_QUERY_CHARS} characters")
    if page < 1:
        raise QueryError(f"page={page}", "pages count from 1")
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit={limit}", f"must be between 1 and {MAX_LIMIT}")
    builder = _Builder()
    for match in _TOKEN.finditer(text):
        if not match.group(2):
            continue
        builder.add(match.group(0).strip(), match.group(1), match.group(2), match.group(3))
    for name, value in filters:
        key = FIELD_ALIASES.get(name.lower(), name.lower())
        if key not in FILTER_FIELDS:
            raise QueryError(f"{name}={value}", f"unknown filter {name!r}; use one of "
                                                f"{', '.join(FILTER_FIELDS)}")
        builder._filter(f"{name}={value}", key, value)
    terms = builder.terms
    significant = [t for t in terms if t.is_phrase or t.prefix or t.words[0] not in STOPWORDS]
    if significant:
        terms = significant              # "the history of jazz" looks for history and jazz
    if not (terms or builder.identifiers or builder.has_filters()):
        raise QueryError(text.strip(), "nothing to search for: give words, an identifier "
                                       "or a filter")
    return SearchQuery(
        text=text.strip(), terms=tuple(terms), identifiers=tuple(builder.identifiers),
        formats=tuple(builder.formats), languages=tuple(builder.languages),
        members=tuple(builder.members), year_from=builder.year_from, year_to=builder.year_to,
        lendable=builder.lendable, page=page, limit=limit, facets=facets)


@dataclass(slots=True)
class _Builder:
    terms: list[Term] = field(default_factory=list)
    identifiers: list[Identifier] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None
    year_given: bool = False
    lendable: bool | None = None

    def has_filters(self) -> bool:
        return bool(self.formats or self.languages or self.members or self.year_given
                    or self.lendable is not None)

    def add(self, raw: str, name: str | None, body: str, quoted: str | None) -> None:
        phrase = quoted is not None
        value = quoted if phrase else body
        if name is not None:
            key = FIELD_ALIASES.get(name.lower(), name.lower())
            if key not in ALL_FIELDS:
                if name.islower():
                    raise QueryError(raw, f"unknown field {name!r}; use one of "
                                          f"{', '.join(ALL_FIELDS)}")
                self._text(raw, None, f"{name} {value}", phrase=False)   # "Emma:A novel"
                return
            if key in TEXT_FIELDS:
                self._text(raw, key, value, phrase)
            elif key in IDENTIFIER_FIELDS:
                self.identifiers.append(_identifier(raw, key, value))
            else:
                self._filter(raw, key, value)
            return
        if not phrase and _ISBN_SHAPE.match(value):
            isbn13 = _isbn13(value)
            if isbn13 is not None:
                self.identifiers.append(Identifier("isbn", isbn13))
                return
        self._text(raw, None, value, phrase)

    def _text(self, raw: str, field_name: str | None, value: str, phrase: bool) -> None:
        prefix = not phrase and value.endswith("*")
        words = search_words(value)
        if not words:
            if field_name is not None:
                raise QueryError(raw, f"{field_name}: needs a word")
            return                       # punctuation alone: nothing to look for
        if len(self.terms) >= MAX_TERMS:
            raise QueryError(raw, f"more than {MAX_TERMS} search terms")
        if prefix and len(words[-1]) < 2:
            raise QueryError(raw, "a prefix needs at least two letters before the *")
        self.terms.append(Term(tuple(words), field_name, prefix))

    def _filter(self, raw: str, key: str, value: str) -> None:
        values = [v.strip() for v in value.split(",") if v.strip()]
        if not values:
            raise QueryError(raw, f"{key}: needs a value")
        if key == "format":
            for v in values:
                if v.lower() not in FORMATS:
                    raise QueryError(raw, f"unknown format {v!r}; use one of "
                                          f"{', '.join(FORMATS)}")
                _append_new(self.formats, v.lower())
        elif key == "language":
            for v in values:
                if not (v.isascii() and v.isalpha() and 2 <= len(v) <= 3):
                    raise QueryError(raw, f"language {v!r} is not a language code "
                                          "(MARC, e.g. eng, fre, ger)")
                _append_new(self.languages, v.lower())
        elif key == "member":
            for v in values:
                _append_new(self.members, v)
        elif key == "lendable":
            if len(values) != 1 or values[0].lower() not in _TRUE + _FALSE:
                raise QueryError(raw, "lendable: takes true or false")
            self.lendable = values[0].lower() in _TRUE
        else:
            self._year(raw, value)

    def _year(self, raw: str, value: str) -> None:
        if self.year_given:
            raise QueryError(raw, "year: given twice; give one year or one range")
        m = _YEAR_RANGE.match(value.strip())
        if m is None or not (m.group(1) or m.group(3)):
            raise QueryError(raw, "year: takes a year (1990) or a range (1990-2000, -1800, "
                                  "1990-)")
        low = int(m.group(1)) if m.group(1) else None
        high = int(m.group(3)) if m.group(3) else None
        if m.group(2) is None:
            high = low                   # one year
        if low is not None and high is not None and low > high:
            raise QueryError(raw, f"year range runs backwards ({low} > {high})")
        self.year_given = True
        self.year_from, self.year_to = low, high


def _append_new(target: list[str], value: str) -> None:
    if value not in target:
        target.append(value)


def _isbn13(value: str) -> str | None:
    try:
        return stdnum_isbn.to_isbn13(stdnum_isbn.validate(value)).replace("-", "")
    except ValidationError:
        return None


def _identifier(raw: str, kind: str, value: str) -> Identifier:
    if kind == "isbn":
        isbn13 = _isbn13(value)
        if isbn13 is None:
            raise QueryError(raw, f"{value!r} is not a valid ISBN-10 or ISBN-13")
        return Identifier("isbn", isbn13)
    if kind == "issn":
        try:
            number = stdnum_issn.validate(value)
        except ValidationError:
            raise QueryError(raw, f"{value!r} is not a valid ISSN") from None
        return Identifier("issn", f"{number[:4]}-{number[4:]}")
    oclc = normalize_oclc(value if not value.isdigit() else f"(OCoLC){value}")
    if oclc is None:
        raise QueryError(raw, f"{value!r} is not an OCLC number")
    return Identifier("oclc", oclc)


# --- the indexed form of a union record -------------------------------------------------------

# text columns of the index, best first; the text index weighs them in this order
TEXT_COLUMNS = ("title", "author", "subject", "other")
LENDING_STATUSES = ("open", "limited")


@dataclass(slots=True)
class SearchDocument:
    """What the index keeps of one cluster. ``text`` maps each of ``TEXT_COLUMNS`` to its
    items (a title, an author, a subject), each item a list of folded words."""

    cluster_id: int
    text: dict[str, list[list[str]]]
    year: int | None
    format: str
    lendable: bool
    holders: list[tuple[str, bool]]          # (member, lends it)
    languages: list[str]
    identifiers: list[tuple[str, str]]       # (kind, value) as Identifier holds them


def search_document(union: UnionRecord) -> SearchDocument:
    """The searchable form of a union record (pure)."""
    lends: dict[str, bool] = dict.fromkeys((s.member for s in union.sources), False)
    for h in union.holdings:
        lending = bool(h.lendable) and h.member_status in LENDING_STATUSES
        lends[h.member] = lends.get(h.member, False) or lending
    identifiers = ([("isbn", v) for v in union.isbns] + [("issn", v) for v in union.issns]
                   + [("oclc", v) for v in union.oclc_numbers])
    return SearchDocument(
        cluster_id=union.cluster_id,
        text={"title": _items((union.title, union.subtitle)),
              "author": _items((union.authors, union.corporate_authors,
                                union.responsibility)),
              "subject": _items((union.subjects,)),
              "other": _items((union.series, union.publisher, union.edition))},
        year=union.year, format=union.format or "other", lendable=any(lends.values()),
        holders=list(lends.items()),
        languages=list(dict.fromkeys(lang.lower()[:8] for lang in union.languages if lang)),
        identifiers=list(dict.fromkeys((k, v[:64]) for k, v in identifiers if v)))


def _items(values: tuple[str | list[str] | None, ...]) -> list[list[str]]:
    """The folded words of each item (a string, or each string of a list) that has any."""
    out: list[list[str]] = []
    for value in values:
        if value is None or isinstance(value, str):
            if words := _folded_words(value):
                out.append(list(words))
            continue
        for one in value:
            if words := _folded_words(one):
                out.append(list(words))
    return out
