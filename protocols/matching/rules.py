"""The cluster rules: may two records be shown as one work, and on what evidence?

``compare(a, b)`` tries the rules in order and returns the first :class:`Match` — the rule and
the values compared — or None. The order follows NatLibFi RecordManager's DedupHandler
(format, then shared ISBN, then other shared ids, ISSN, year, pages ±10, series numbering 490$v,
title edit distance < 10 %, author), with these differences:

* an identifier match is not taken blindly: volume numbers in the titles and the series
  numbering must agree and the titles must not contradict each other, so a series ISBN or an
  OCLC number shared by the volumes of a set does not make them one work;
* two records of the **same member** match only on strong evidence: identical content
  (a re-submission under a new id), a shared OCLC number, or a shared ISBN with matching title
  and year. Fuzzy title/author similarity never joins a member's own records;
* a garbled (mojibake) title is never compared: such a record matches by identifiers only;
* keys on the ``ignored`` list or ``blocked`` by the key-frequency guard are no evidence.

Rules, strongest first (``RULES``): staff-merge (a staff decision, made in gateway/index),
same-content, oclc, isbn, id (LCCN, 015/016/024 numbers), issn, title-author.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from protocols.matching.keys import Profile
from protocols.matching.text import numbers_in, within_distance

RULES = ("staff-merge", "same-content", "oclc", "isbn", "id", "issn", "title-author")
RULE_PRIORITY = {rule: i for i, rule in enumerate(RULES)}
SAME_MEMBER_RULES = frozenset({"staff-merge", "same-content", "oclc", "isbn"})
PAGES_TOLERANCE = 10
TITLE_DISTANCE_RATIO = 0.10


@dataclass(frozen=True, slots=True)
class Match:
    """Why two records are one work: the rule, and the values it compared."""

    rule: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def priority(self) -> int:
        return RULE_PRIORITY[self.rule]


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    """Knobs of the rules: ``ignored`` keys are never evidence ("isbn:9780000000002")."""

    ignored: frozenset[str] = frozenset()


DEFAULT_POLICY = MatchPolicy()


def titles_similar(a: str, b: str) -> bool:
    """Edit distance below 10 % of the longer title (RecordManager's title check)."""
    if a == b:
        return True
    longest = max(len(a), len(b))
    limit = int(longest * TITLE_DISTANCE_RATIO - 1e-9)   # strictly below 10 %
    return within_distance(a, b, limit)


def _titles_compatible(a: Profile, b: Profile) -> bool:
    """For identifier rules: the titles do not contradict (unknown or garbled counts as fine)."""
    if not a.title or not b.title:
        return True
    if a.title.startswith(b.title) or b.title.startswith(a.title):
        return True
    return titles_similar(a.title, b.title)


def _volume_conflict(a: Profile, b: Profile) -> str | None:
    """Different volumes or parts: numbers in the titles or 490 $v numbering differ."""
    if a.title and b.title and a.title_numbers != b.title_numbers:
        return "title-numbers"
    if a.series_numbers and b.series_numbers and a.series_numbers != b.series_numbers:
        return "series-numbering"
    return None


def _shared(kind: str, left: Collection[str], right: Collection[str],
            excluded: Collection[str]) -> list[str]:
    if not left or not right:
        return []
    return sorted(v for v in set(left).intersection(right) if f"{kind}:{v}" not in excluded)


def id_key(value: str) -> str:
    """The ``kind:value`` key of a Profile.ids entry ("lccn:…" or an 015/016/024 number)."""
    return value if value.startswith("lccn:") else f"id:{value}"


def _id_evidence(a: Profile, b: Profile, **values: Any) -> dict[str, Any]:
    return {**values, "titles": [a.title, b.title], "years": [a.year, b.year]}


def compare(a: Profile, b: Profile, policy: MatchPolicy = DEFAULT_POLICY,
            blocked: Collection[str] = ()) -> Match | None:
    """The first rule that makes ``a`` and ``b`` one work, or None.

    ``blocked`` holds ``"kind:value"`` keys the key-frequency guard turned off.
    """
    if a.record_id == b.record_id:
        return None
    same_member = a.member == b.member
    excluded = policy.ignored | frozenset(blocked) if blocked else policy.ignored
    if a.content == b.content and a.title and f"content:{a.content}" not in excluded:
        return Match("same-content", {"content": a.content, "title": a.title})
    if a.format != b.format:
        return None
    volume = _volume_conflict(a, b)
    if volume is not None:
        return None
    if oclc := _shared("oclc", a.oclc, b.oclc, excluded):
        if _titles_compatible(a, b):
            return Match("oclc", _id_evidence(a, b, oclc=oclc[0]))
        return None
    if isbn := _shared("isbn", a.isbns, b.isbns, excluded):
        if same_member:
            # a member's two records share an ISBN: one work only if title and year agree too
            if (a.title and b.title and titles_similar(a.title, b.title)
                    and a.year is not None and a.year == b.year):
                return Match("isbn", _id_evidence(a, b, isbn=isbn[0], same_member=True))
            return None
        if _titles_compatible(a, b):
            return Match("isbn", _id_evidence(a, b, isbn=isbn[0]))
        return None
    if same_member:
        return None
    if ids := sorted(v for v in a.ids & b.ids if id_key(v) not in excluded):
        if _titles_compatible(a, b):
            return Match("id", _id_evidence(a, b, id=ids[0]))
        return None
    if a.issns and b.issns:
        if issn := _shared("issn", a.issns, b.issns, excluded):
            if a.title and b.title and titles_similar(a.title, b.title):
                return Match("issn", _id_evidence(a, b, issn=issn[0]))
        return None
    return _title_author(a, b)


def _title_author(a: Profile, b: Profile) -> Match | None:
    """The fuzzy rule: RecordManager's checks, each one able to say no."""
    if a.garbled or b.garbled or not a.title or not b.title:
        return None
    if a.year is not None and b.year is not None and a.year != b.year:
        return None
    if a.pages is not None and b.pages is not None and abs(a.pages - b.pages) > PAGES_TOLERANCE:
        return None
    if a.edition_numbers and b.edition_numbers and a.edition_numbers != b.edition_numbers:
        return None
    if not titles_similar(a.title, b.title):
        return None
    if a.subtitle and b.subtitle and (not titles_similar(a.subtitle, b.subtitle)
                                      or numbers_in(a.subtitle) != numbers_in(b.subtitle)):
        # one title proper, different subtitles: datasets, parts, "…: a history" vs "…: a guide"
        return None
    if a.author or b.author:
        if a.author != b.author:
            return None
    elif not (a.year is not None and a.year == b.year
              and ((a.publisher and a.publisher == b.publisher)
                   or (a.pages is not None and a.pages == b.pages))):
        # no author on either side: a bare title ("Annual report") needs year + publisher/pages
        return None
    return Match("title-author", {
        "titles": [a.title, b.title], "subtitles": [a.subtitle, b.subtitle], "authors": [a.author, b.author],
        "years": [a.year, b.year], "pages": [a.pages, b.pages], "format": a.format})
