"""MARC 21 -> the normalized record (protocols.records.NormalizedRecord).

``normalize_marc`` runs on every ingested record, so it makes one pass over ``record.fields``
to group them by tag and then reads only the tags it maps; regexes are compiled once and
the identifier validators only see strings that look like a number.

Mapping (each rule has a test on a real record in tests/protocols/test_normalize.py):

    title / subtitle /      245 $a (else $k) / $b / $c, trailing ISBD punctuation " /:;,.="
    responsibility          trimmed
    authors                 100, 700: $a $b $c $q $d as catalogued ("Chabon, Michael, 1963-"),
                            final punctuation trimmed (an initial's period kept), no relators
    corporate_authors       110/710 $a $b $c $d $n, 111/711 $a $c $d $e $n $q
    isbns / invalid_isbns   020 $a valid -> ISBN-13; 020 $a that does not validate and every
                            020 $z -> invalid_isbns as found
    issns                   022 $a with a valid check digit. 022 $l, 773 $x, 776 $x (and 776 $z
                            ISBNs) are *related* numbers — the ISSN-L, the host journal of an
                            article, the other format of a serial — and go to other_ids as
                            "022:ISSN-L:…", "773:ISSN:…", "776:ISSN:…", "776:ISBN:…" so that
                            matching on issns never merges an article with its journal
    oclc_numbers            035 $a "(OCoLC)…" / ocm / ocn / on; 001 when ocm/ocn/on-prefixed
                            or when 003 is OCoLC
    lccn                    010 $a, LC-normalized
    other_ids               "015:<$2>:<$a>", "016:<agency>:<$a>", "024:<type>:<$a>" (type from
                            ind1: ISRC UPC ISMN EAN SICI, or $2 for ind1 7; ISMNs as 13 digits)
    publisher               264 ind2 1 $b, else 260 $b; cataloguer's brackets removed
                            ("[Science Council of Japan]"); "[s.n.]" / "publisher not
                            identified" -> None
    year                    264#1 $c, 260 $c, 264#4 $c: the first 4-digit year ("c1999",
                            "[1999?]"; a decade "[199-?]" gives none) — unless the 008/07-10
                            year is among that field's years ("2021 [1964]", "1990 [i.e.
                            1991]"), then that one; else 008/07-10 when digits. Only years
                            1400..next year count
    edition                 250 $a
    languages               008/35-37, then 041 $a (packed "engfre" split); blanks, "|||"
                            and 041 with ind2 7 (non-MARC codes) ignored
    format                  protocols.marc_format.detect_format
    pages / extent          first number before p./pp./pages/leaves/l./S./s./Seiten/sivua/
                            sidor/sider/stran/str./f./feuillets in 300 $a / 300 $a as found
                            (trailing " :;+" cut)
    series                  490 $a ; $v, then 440 and 830 when they add a title
    subjects                600 610 611 630 650 651 655: name/title part, then $v $x $y $z,
                            joined " -- "
    links                   856 $u, label $y else $3 else $z
    record_type             leader/06 (protocols.marc_format.record_type_of)
    holdings_of             004 of a holdings record
    holdings                852 and the item layouts of protocols.marc_items

A field missing in the romanized form but present as an 880 (e.g. an unlinked "260-00"
publisher) is read from the 880. Text is returned in Unicode NFC (MARC-8 decoding and many
UTF-8 exports are decomposed).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date

import pymarc

from protocols.errors import NormalizationError
from protocols.identifiers import (
    normalize_isbn,
    normalize_ismn,
    normalize_issn,
    normalize_lccn,
    normalize_oclc,
    oclc_from_001,
)
from protocols.marc_format import detect_format, record_type_of
from protocols.marc_items import ALL_LAYOUTS, holdings_from_fields, layouts_by_tag
from protocols.records import Link, NormalizedRecord

__all__ = ["normalize_marc"]

_ISBD_TRAILING = " /:;,.="
_NAME_TRAILING = " /:;,="
# A name ending in an initial ("Bliss, E. E.") or a standard abbreviation keeps its period.
_KEEP_PERIOD = re.compile(
    r"(?:^|[\s.,\-(])(?:\w|jr|sr|inc|ltd|co|corp|bros|dept|esq|etc|ca|fl)\.$", re.IGNORECASE
)
_YEAR = re.compile(r"(?<![0-9])([0-9]{4})(?![0-9])")
_PAGES = re.compile(
    r"(\d+)\s*\]?\s*(?:p\b|pp\b|pages?\b|leaves\b|leaf\b|l\.|s\.|seiten\b|sivua\b|sidor\b"
    r"|sider\b|stran\b|str\.|feuillets\b|f\.)",
    re.IGNORECASE,
)
_SINE_NOMINE = frozenset({"s.n.", "sn", "s. n.", "s.n", "sine nomine", "publisher not identified",
                          "name of publisher not identified", "verlag nicht ermittelbar",
                          "éditeur non identifié"})
# Tags whose 880 stands in when the romanized field is absent.
_ALT_SCRIPT_TAGS = frozenset({"100", "110", "111", "245", "250", "260", "264", "300", "490",
                              "700", "710", "711"})
_SUBJECT_HEADS = {"600": "abcdqt", "610": "abcdnt", "611": "acdenqt", "630": "adfnp",
                  "650": "ab", "651": "a", "655": "a"}
_SUBJECT_SUBDIVISIONS = frozenset("vxyz")
_024_TYPES = {"0": "ISRC", "1": "UPC", "2": "ISMN", "3": "EAN", "4": "SICI"}


# --- small helpers (hot path: keep them plain) -------------------------------------------------


def _first(field: pymarc.Field, code: str) -> str | None:
    for sub_code, value in field.subfields:
        if sub_code == code and value:
            return value
    return None


def _all(field: pymarc.Field, code: str) -> list[str]:
    return [value for sub_code, value in field.subfields if sub_code == code and value]


def _joined(field: pymarc.Field, codes: str) -> str:
    return " ".join(value for code, value in field.subfields if code in codes and value)


def _nfc(value: str) -> str:
    # MARC-8 decoding and many UTF-8 exports give decomposed text (NFD); store composed
    if value.isascii() or unicodedata.is_normalized("NFC", value):
        return value
    return unicodedata.normalize("NFC", value)


def _trim(value: str | None, chars: str = _ISBD_TRAILING) -> str | None:
    if not value:
        return None
    value = _nfc(value.strip().rstrip(chars))
    return value or None


def _trim_name(value: str | None) -> str | None:
    if not value:
        return None
    value = _nfc(value.strip().rstrip(_NAME_TRAILING))
    if value.endswith(".") and not _KEEP_PERIOD.search(value):
        value = value[:-1].rstrip(_NAME_TRAILING)
    return value or None


def _add(target: list[str], value: str | None, seen: set[str]) -> None:
    if value:
        key = value.casefold()
        if key not in seen:
            seen.add(key)
            target.append(value)


def _control(by_tag: dict[str, list[pymarc.Field]], tag: str) -> str:
    fields = by_tag.get(tag)
    if not fields:
        return ""
    data = fields[0].data
    return data if isinstance(data, str) else ""


def _years_in(text: str, max_year: int) -> list[int]:
    years = []
    for m in _YEAR.finditer(text):
        year = int(m.group(1))
        if 1400 <= year <= max_year:
            years.append(year)
    return years


def _has_content(field: pymarc.Field) -> bool:
    if field.data:
        return True
    return any(value and value.strip() for _, value in field.subfields)


# --- the mapping -------------------------------------------------------------------------------


def normalize_marc(
    record: pymarc.Record,
    *,
    local_id: str,
    repairs: list[str] | None = None,
    item_systems: Iterable[str] | None = None,
) -> NormalizedRecord:
    """Map one decoded MARC 21 record to a :class:`NormalizedRecord`.

    Missing or odd fields give None / empty lists, never an exception. The only error is
    :class:`NormalizationError`, for a record with nothing to map: no fields at all, or only
    fields without any data. ``repairs`` (what the reader had to fix) is copied onto the
    result. ``item_systems`` limits the 9xx item layouts read to a member's ILS (names in
    ``protocols.marc_items.ITEM_LAYOUTS``, e.g. ``["koha"]``); None tries all of them, each
    guarded by the subfields that identify it.
    """
    fields = record.fields
    if not fields:
        raise NormalizationError(f"record {local_id!r} has no fields")
    by_tag: dict[str, list[pymarc.Field]] = {}
    for field in fields:
        group = by_tag.get(field.tag)
        if group is None:
            by_tag[field.tag] = [field]
        else:
            group.append(field)
    if not any(_has_content(field) for field in fields):
        raise NormalizationError(f"record {local_id!r} has only empty fields")

    if "880" in by_tag:
        _fill_from_880(by_tag)

    leader = str(record.leader) if record.leader is not None else ""
    out = NormalizedRecord(local_id=local_id, record_type=record_type_of(leader))
    out.repairs = list(repairs) if repairs else []
    f008 = _control(by_tag, "008")
    get = by_tag.get

    if out.record_type == "holdings":
        out.holdings_of = _control(by_tag, "004").strip() or None
    _map_titles(out, get("245"), get("250"))
    _map_names(out, by_tag)
    _map_identifiers(out, by_tag)
    _map_publication(out, get("264"), get("260"), f008)
    _map_languages(out, f008, get("041"))
    _map_description(out, by_tag)

    has_856_resource = False
    for field in get("856", ()):
        if field.indicators is not None and field.indicators[1] == "0":
            has_856_resource = True
        label = _trim(_first(field, "y") or _first(field, "3") or _first(field, "z"), " :;,")
        for url in _all(field, "u"):
            url = url.strip()
            if url:
                out.links.append(Link(url=url, label=label))

    if out.record_type == "bibliographic":
        f006s = [f.data for f in get("006", ()) if isinstance(f.data, str)]
        f007s = [f.data for f in get("007", ()) if isinstance(f.data, str)]
        out.format = detect_format(leader, f008, f006s, f007s, has_856_resource)

    table = ALL_LAYOUTS if item_systems is None else layouts_by_tag(item_systems)
    item_fields = [f for tag in table if tag in by_tag for f in by_tag[tag]]
    if item_fields:
        statements = [f for tag in ("866", "867", "868") for f in get(tag, ())]
        out.holdings = holdings_from_fields(item_fields, table, statements)
    return out


def _fill_from_880(by_tag: dict[str, list[pymarc.Field]]) -> None:
    alternates: dict[str, list[pymarc.Field]] = {}
    for field in by_tag["880"]:
        link = _first(field, "6")
        tag = link[:3] if link else ""
        if tag in _ALT_SCRIPT_TAGS and tag not in by_tag:
            alternates.setdefault(tag, []).append(field)
    by_tag.update(alternates)


def _map_titles(out: NormalizedRecord, f245s, f250s) -> None:
    if f245s:
        field = f245s[0]
        out.title = _trim(_first(field, "a") or _first(field, "k"))
        out.subtitle = _trim(_first(field, "b"))
        out.responsibility = _trim(_first(field, "c"))
    if f250s:
        out.edition = _trim(_first(f250s[0], "a"), " /:;,=")


def _map_names(out: NormalizedRecord, by_tag: dict[str, list[pymarc.Field]]) -> None:
    seen: set[str] = set()
    for tag in ("100", "700"):
        for field in by_tag.get(tag, ()):
            _add(out.authors, _trim_name(_joined(field, "abcqd")), seen)
    seen = set()
    for tag, codes in (("110", "abcdn"), ("111", "acdenq"), ("710", "abcdn"), ("711", "acdenq")):
        for field in by_tag.get(tag, ()):
            _add(out.corporate_authors, _trim_name(_joined(field, codes)), seen)


def _map_identifiers(out: NormalizedRecord, by_tag: dict[str, list[pymarc.Field]]) -> None:
    get = by_tag.get
    for field in get("020", ()):
        for code, value in field.subfields:
            if not value or code not in ("a", "z"):
                continue
            found = normalize_isbn(value) if code == "a" else None
            if found is not None:
                if found not in out.isbns:
                    out.isbns.append(found)
            else:
                raw = value.strip()
                if raw and raw not in out.invalid_isbns:
                    out.invalid_isbns.append(raw)
    for field in get("022", ()):
        for code, value in field.subfields:
            if code == "a" and (issn := normalize_issn(value)) and issn not in out.issns:
                out.issns.append(issn)
            elif code == "l" and (issn := normalize_issn(value)):
                out.other_ids.append(f"022:ISSN-L:{issn}")
    for tag in ("773", "776"):
        for field in get(tag, ()):
            for code, value in field.subfields:
                if code == "x" and (issn := normalize_issn(value)):
                    out.other_ids.append(f"{tag}:ISSN:{issn}")
                elif code == "z" and tag == "776" and (isbn := normalize_isbn(value)):
                    out.other_ids.append(f"776:ISBN:{isbn}")

    oclc = oclc_from_001(_control(by_tag, "001"), _control(by_tag, "003") or None)
    if oclc:
        out.oclc_numbers.append(oclc)
    for field in get("035", ()):
        for value in _all(field, "a"):
            if (oclc := normalize_oclc(value)) and oclc not in out.oclc_numbers:
                out.oclc_numbers.append(oclc)
    for field in get("010", ()):
        if out.lccn is None:
            out.lccn = normalize_lccn(_first(field, "a"))

    for field in get("015", ()):
        source = _first(field, "2")
        prefix = f"015:{source.strip()}:" if source and source.strip() else "015:"
        out.other_ids.extend(prefix + v.strip() for v in _all(field, "a") if v.strip())
    for field in get("016", ()):
        ind1 = field.indicators[0] if field.indicators is not None else " "
        agency = (_first(field, "2") or "").strip() if ind1 == "7" else "LAC" if ind1 == " " else ""
        prefix = f"016:{agency}:" if agency else "016:"
        out.other_ids.extend(prefix + v.strip() for v in _all(field, "a") if v.strip())
    for field in get("024", ()):
        ind1 = field.indicators[0] if field.indicators is not None else " "
        kind = _024_TYPES.get(ind1) or ((_first(field, "2") or "").strip() if ind1 == "7" else "")
        for value in _all(field, "a"):
            value = value.strip()
            if not value:
                continue
            if kind == "ISMN":
                value = normalize_ismn(value) or value
            out.other_ids.append(f"024:{kind}:{value}" if kind else f"024:{value}")


def _map_publication(out: NormalizedRecord, f264s, f260s, f008: str) -> None:
    published = [f for f in f264s or () if f.indicators is not None and f.indicators[1] == "1"]
    copyright_ = [f for f in f264s or () if f.indicators is not None and f.indicators[1] == "4"]
    for field in published + list(f260s or ()):
        publisher = _trim(_first(field, "b"), " /:;,=")
        if publisher:
            if publisher[0] == "[" and publisher[-1] == "]" and "[" not in publisher[1:]:
                publisher = publisher[1:-1].strip()     # supplied by the cataloguer
            out.publisher = None if publisher.casefold() in _SINE_NOMINE else publisher or None
            break
    # 26x $c first; 008/07-10 only breaks ties: "2021 [1964]" (Vikram Samvat, then Gregorian)
    # and "1990 [i.e. 1991]" both hold the 008 year among their candidates.
    max_year = date.today().year + 1
    date1 = f008[7:11]
    fixed = int(date1) if date1.isascii() and date1.isdigit() else None
    if fixed is not None and not 1400 <= fixed <= max_year:
        fixed = None
    for field in published + list(f260s or ()) + copyright_:
        for value in _all(field, "c"):
            years = _years_in(value, max_year)
            if years:
                out.year = fixed if fixed in years else years[0]
                return
    out.year = fixed


def _map_languages(out: NormalizedRecord, f008: str, f041s) -> None:
    seen: set[str] = set()
    code = f008[35:38].strip().lower()
    if len(code) == 3 and code.isalpha():
        seen.add(code)
        out.languages.append(code)
    for field in f041s or ():
        if field.indicators is not None and field.indicators[1] == "7":
            continue              # codes from another list ($2), not MARC language codes
        for value in _all(field, "a"):
            value = value.strip().lower()
            if len(value) % 3 or not value.isalpha():
                continue
            for i in range(0, len(value), 3):
                code = value[i:i + 3]
                if code not in seen:
                    seen.add(code)
                    out.languages.append(code)


def _map_description(out: NormalizedRecord, by_tag: dict[str, list[pymarc.Field]]) -> None:
    get = by_tag.get
    for field in get("300", ()):
        extent = _first(field, "a")
        if extent:
            out.extent = _nfc(extent.strip().rstrip(" :;+")) or None
            m = _PAGES.search(extent)
            if m and 0 < int(m.group(1)) < 100000:
                out.pages = int(m.group(1))
            break

    seen: set[str] = set()
    for tag, title_codes in (("490", "a"), ("440", "anp"), ("830", "anp")):
        for field in get(tag, ()):
            title = _trim(_joined(field, title_codes), " /:;,.=")
            if not title or title.casefold() in seen:
                continue
            seen.add(title.casefold())
            volume = _trim(_first(field, "v"))
            out.series.append(f"{title} ; {volume}" if volume else title)

    seen = set()
    for tag, head_codes in _SUBJECT_HEADS.items():
        for field in get(tag, ()):
            head: list[str] = []
            parts: list[str] = []
            for code, value in field.subfields:
                if not value:
                    continue
                if code in _SUBJECT_SUBDIVISIONS:
                    if (part := _trim(value)) is not None:
                        parts.append(part)
                elif code in head_codes and not parts:
                    head.append(value)
            heading = _trim_name(" ".join(head)) if head else None
            if heading:
                parts.insert(0, heading)
            if parts:
                _add(out.subjects, " -- ".join(parts), seen)
