"""Holdings and item data in MARC 21 records: 852 and the local 9xx item fields of real ILSs.

One table (``ITEM_LAYOUTS``) says, per system, which field holds an item and which subfield
plays which role. Every layout is checked against real exports in ../shared/data/marc:

    system    tag(s)          where seen (tests/protocols/test_normalize.py)
    marc21    852             MFHD evergreen/serials_mfhd.xml, stanford-solrmarc/mhld*.mrc;
                              Evergreen export flags in evergreen/map_data.mrc
    koha      952             recordmanager-natlibfi/record/marc_dewey.xml (942 + 999$c$d + 952)
    symphony  999             marc4j/selectedRecs.mrc, marc4j/u335.mrc, openlibrary lincolncentenary
    unicorn   949             evergreen/jazz_1k.mrc, evergreen/lul_fre_100.mrc (SirsiDynix Unicorn)
    iii       945             openlibrary 880_table_of_contents / ocm00400866, evergreen/hebrew.marc
    aleph     Z30 876 930     Aleph Z30 item export (indicators "-1"): openlibrary
                              13dipolarcycload00burk (930), marc4j/pride-and-prejudice-fixed (876)
    mzk       996             recordmanager2-mzk/records/MZK01-000087310.xml (Aleph, knihovny.cz)
    utl       926             openlibrary flatlandromanceo00abbouoft, 1733mmoiresdel00vill

The same tag means different things in different systems (999 is a Symphony item, Koha's
biblionumber, or III bib fixed fields; 952 is a Koha item or a free-text LC note), so each
layout names the subfields that prove a field is one of its items (``evidence``) — "999 $c5 $d5"
from Koha is not an item.

``lendable`` comes only from explicit codes (``LoanRule``): True or False when a rule fires,
None when nothing in the field says. What means "not lendable":

    koha      $7 notforloan other than 0 (absent or 0: lendable); $0 withdrawn or $1 lost != 0
    symphony  $r circulate flag N (Y: lendable); $k current location LOST*, MISSING*, DISCARD*,
    unicorn   WITHDRAWN; home location $l / item type $t with a not-for-loan word (below)
    iii       $s status o (library use only), m (missing), n / $ (billed / lost), w (withdrawn),
              z (claims returned); "-" (available): lendable
    aleph     $F status text with a not-for-loan word; text with "loan" / "circulat": lendable
    marc21    852 $x Evergreen flags "reference" / "noncirculating" ("circulating": lendable);
              $z status text Lost / Missing / Discarded; $b $c location with a not-for-loan word
    mzk       $r collection with a not-for-loan word; otherwise unknown (the $s codes A, P, N,
              ZP are not documented where we could check them). $q "0" = hidden item: skipped
    utl       $b location/status LOST*, MISSING*; $b or $d item type with a not-for-loan word

Not-for-loan words (whole tokens, case-insensitive): REF, Reference, NONCIRC*, Non-circulating,
Library use (only), In-library use, Not for loan, No loan, Rare*, Reading room, Lesesaal,
Präsenz*, Prezen* (Czech "prezenčně": in-library use), Studovn* (Czech reading room).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from protocols.records import Holding

__all__ = [
    "ALL_LAYOUTS", "ITEM_LAYOUTS", "ItemLayout", "LoanRule", "holdings_from_fields",
    "layouts_by_tag",
]

_NOT_FOR_LOAN = re.compile(
    r"(?:^|[\s_\-./(])(?:ref|reference|non-?circ\w*|lib(?:rary)?[\s_\-]use\w*(?: only)?"
    r"|in[\s_\-]library[\s_\-]use|not for loan|no loan|rare\w*|reading room|lesesaal"
    r"|präsenz\w*|prezen\w*|studovn\w*)(?=$|[\s_\-./),])"
)
_LOST_STATUS = re.compile(
    r"(?:^|[\s_\-./(])(?:lost\w*|missing\w*|discard\w*|withdrawn|weeded)(?=$|[\s_\-./),])"
)
_LOAN_WORDS = re.compile(r"\bloan|circulat")


@dataclass(frozen=True, slots=True)
class LoanRule:
    """One explicit source of "lendable": the values of ``codes`` in the item field.

    ``not_lendable`` / ``lendable`` are searched in the casefolded value; a hit on
    ``not_lendable`` anywhere in the field wins. ``absent_lendable``: no value at all for
    ``codes`` means lendable (Koha leaves $7 out when notforloan is 0).
    """

    codes: str
    not_lendable: re.Pattern[str] | None = None
    lendable: re.Pattern[str] | None = None
    absent_lendable: bool = False


@dataclass(frozen=True, slots=True)
class ItemLayout:
    """Which subfield of an item field plays which role in one system's export."""

    system: str
    tags: tuple[str, ...]
    evidence: str                     # the field is an item only if one of these is present
    location: str                     # values joined " / " in this order, repeats dropped
    call_number: tuple[str, ...]      # alternatives; the first that yields text wins
    barcode: str = ""
    note: str = ""
    rules: tuple[LoanRule, ...] = ()
    indicators: str | None = None     # both indicators required, e.g. "-1" for Aleph Z30
    hidden: tuple[str, str] | None = None   # (code, value): the item is suppressed, skip it


_WORDS = _NOT_FOR_LOAN
_KOHA_NONZERO = re.compile(r"^(?!0+$)-?\d+$")

ITEM_LAYOUTS: tuple[ItemLayout, ...] = (
    ItemLayout(
        "marc21", ("852",), evidence="abchijkp", location="abc", call_number=("khim", "j"),
        barcode="p", note="z",
        rules=(
            LoanRule("x", re.compile(r"^(?:reference|noncirculating)$"),
                     re.compile(r"^circulating$")),
            LoanRule("z", _LOST_STATUS),
            LoanRule("bc", _WORDS),
        ),
    ),
    ItemLayout(
        "koha", ("952",), evidence="bop79y", location="abc", call_number=("o",),
        barcode="p", note="z",
        rules=(
            LoanRule("7", _KOHA_NONZERO, re.compile(r"^0*$"), absent_lendable=True),
            LoanRule("01", _KOHA_NONZERO),
            LoanRule("cy", _WORDS),
        ),
    ),
    ItemLayout(
        "symphony", ("999",), evidence="ilm", location="ml", call_number=("a",), barcode="i",
        rules=(
            LoanRule("r", re.compile(r"^n$"), re.compile(r"^y$")),
            LoanRule("k", _LOST_STATUS),
            LoanRule("ltk", _WORDS),
        ),
    ),
    ItemLayout(
        "unicorn", ("949",), evidence="mw", location="ml", call_number=("a",), barcode="i",
        rules=(
            LoanRule("r", re.compile(r"^n$"), re.compile(r"^y$")),
            LoanRule("k", _LOST_STATUS),
            LoanRule("ltk", _WORDS),
        ),
    ),
    ItemLayout(
        "iii", ("945",), evidence="ily", location="l", call_number=("a",), barcode="i",
        rules=(LoanRule("s", re.compile(r"^[omnw$z]$"), re.compile(r"^-$")),),
    ),
    ItemLayout(
        "aleph", ("Z30", "876", "930"), evidence="5h1", location="Aa12Bb",
        call_number=("hi",), barcode="5", indicators="-1",
        rules=(LoanRule("F", _WORDS, _LOAN_WORDS), LoanRule("Bb", _WORDS)),
    ),
    ItemLayout(
        "mzk", ("996",), evidence="bc", location="lr", call_number=("cd",), barcode="b",
        rules=(LoanRule("r", _WORDS),), hidden=("q", "0"),
    ),
    ItemLayout(
        "utl", ("926",), evidence="c", location="ab", call_number=("c",),
        rules=(LoanRule("b", _LOST_STATUS), LoanRule("bd", _WORDS)),
    ),
)


def layouts_by_tag(systems: Iterable[str] | None = None) -> dict[str, tuple[ItemLayout, ...]]:
    """tag -> the layouts to try on it; ``systems`` limits them (a member's ILS), None = all.

    Tables are cached and shared: read them, don't change them. Raises ValueError for a system
    name not in ``ITEM_LAYOUTS`` (a configuration error, not bad data).
    """
    if systems is None:
        return ALL_LAYOUTS
    return _cached_table(frozenset(systems))


@lru_cache(maxsize=64)
def _cached_table(systems: frozenset[str]) -> dict[str, tuple[ItemLayout, ...]]:
    return _build(systems)


def _build(wanted: frozenset[str] | None) -> dict[str, tuple[ItemLayout, ...]]:
    if wanted is not None:
        unknown = wanted - {layout.system for layout in ITEM_LAYOUTS}
        if unknown:
            known = ", ".join(layout.system for layout in ITEM_LAYOUTS)
            raise ValueError(f"unknown item systems {sorted(unknown)!r}; expected some of {known}")
    table: dict[str, tuple[ItemLayout, ...]] = {}
    for layout in ITEM_LAYOUTS:
        if wanted is None or layout.system in wanted:
            for tag in layout.tags:
                table[tag] = table.get(tag, ()) + (layout,)
    return table


ALL_LAYOUTS = _build(None)


def _subfield_map(field) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for code, value in field.subfields:
        if value and (value := value.strip()):
            if not value.isascii():
                value = unicodedata.normalize("NFC", value)
            lst = values.get(code)
            if lst is None:
                values[code] = [value]
            else:
                lst.append(value)
    return values


def _lendable(rules: tuple[LoanRule, ...], sub: dict[str, list[str]]) -> bool | None:
    verdict: bool | None = None
    for rule in rules:
        seen = False
        for code in rule.codes:
            for value in sub.get(code, ()):
                seen = True
                folded = value.casefold()
                if rule.not_lendable is not None and rule.not_lendable.search(folded):
                    return False
                if rule.lendable is not None and rule.lendable.search(folded):
                    verdict = True
        if not seen and rule.absent_lendable:
            verdict = True
    return verdict


def _holding(layout: ItemLayout, field, sub: dict[str, list[str]]) -> Holding | None:
    if layout.hidden is not None and layout.hidden[1] in sub.get(layout.hidden[0], ()):
        return None
    parts: list[str] = []
    for code in layout.location:
        for value in sub.get(code, ()):
            if value not in parts:
                parts.append(value)
    call_number = None
    for codes in layout.call_number:
        pieces = [v for code in codes for v in sub.get(code, ())]
        if pieces:
            call_number = " ".join(pieces)
            break
    barcode = sub[layout.barcode][0] if layout.barcode and layout.barcode in sub else None
    note = "; ".join(sub[layout.note]) if layout.note and layout.note in sub else None
    return Holding(
        location=" / ".join(parts) or None,
        call_number=call_number,
        lendable=_lendable(layout.rules, sub),
        barcode=barcode,
        note=note,
        source=field.tag,
    )


def holdings_from_fields(
    fields: Iterable,
    table: dict[str, tuple[ItemLayout, ...]] = ALL_LAYOUTS,
    statements: Iterable = (),
) -> list[Holding]:
    """Holdings from the item fields among ``fields``; other tags are passed over.

    ``statements`` are MFHD textual holdings (866/867/868): their $a (and $z) go into the note
    of the 852 they belong to — by $8 link number, or the record's only 852.
    """
    holdings: list[Holding] = []
    by_link: dict[str, Holding] = {}
    located: list[Holding] = []
    for field in fields:
        layouts = table.get(field.tag)
        if not layouts:
            continue
        sub = None
        for layout in layouts:
            if layout.indicators is not None:
                ind = field.indicators
                if ind is None or (ind[0] or " ") + (ind[1] or " ") != layout.indicators:
                    continue
            if sub is None:
                sub = _subfield_map(field)
            if not any(code in sub for code in layout.evidence):
                continue
            holding = _holding(layout, field, sub)
            if holding is not None:
                holdings.append(holding)
                if field.tag == "852":
                    located.append(holding)
                    for link in sub.get("8", ()):
                        by_link.setdefault(link.split(".", 1)[0], holding)
            break
    if located:
        for field in statements:
            _attach_statement(field, by_link, located)
    return holdings


def _attach_statement(field, by_link: dict[str, Holding], located: list[Holding]) -> None:
    sub = _subfield_map(field)
    text = "; ".join(sub.get("a", []) + sub.get("z", []))
    if not text:
        return
    target = None
    for link in sub.get("8", ()):
        target = by_link.get(link.split(".", 1)[0])
        if target is not None:
            break
    if target is None and len(located) == 1:
        target = located[0]
    if target is not None:
        target.note = f"{target.note}; {text}" if target.note else text
