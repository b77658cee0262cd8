"""oai_dc (simple Dublin Core) -> the normalized record.

The input is an lxml ``<oai_dc:dc>`` element (or an element that contains one, such as the
OAI ``<metadata>``) parsed by the hardened parser elsewhere; nothing here parses bytes.

    dc:title          title; "Title: subtitle" is split at the first ": ", trailing " /:;,.="
                      trimmed as in MARC
    dc:creator        authors (in order), then dc:contributor
    dc:subject        subjects
    dc:publisher      publisher (the first)
    dc:date           year: the first 4-digit year of the first date that has one, 1400..next
                      year; decades ("1950s") and eu-repo embargo dates give none
    dc:identifier     ISBN ("urn:isbn:…", "ISBN …", or a bare hyphenated / 978-979 number)
                      -> isbns (labelled but invalid -> invalid_isbns); ISSN ("issn:…",
                      "ISSN …", bare "1566-5283") -> issns; "(OCoLC)…" -> oclc_numbers;
                      DOI / handle / URN -> other_ids "doi:…", "hdl:…", "urn:…";
                      http(s) URLs -> links
    dc:language       languages as MARC codes: ISO 639-1 ("en", "en_US") and 639-2/T ("fra",
                      "slk") mapped to MARC (639-2/B: "eng", "fre", "slo"); "other" dropped
    dc:type/format    format (table ``_TYPE_RULES``); "book" becomes "ebook" and "serial"
                      "e-journal" when a MIME dc:format or an http(s) identifier says the
                      resource is online
    dc:relation       identifiers of related resources -> other_ids "relation:ISSN:…",
                      "relation:ISBN:…", "relation:doi:…" (never issns/isbns: a related journal
                      is not this item)

``NormalizationError`` only for an element with no Dublin Core text at all.
"""

from __future__ import annotations

import re
from datetime import date

from lxml import etree

from protocols.errors import NormalizationError
from protocols.identifiers import normalize_isbn, normalize_issn, normalize_oclc
from protocols.records import Link, NormalizedRecord

__all__ = ["normalize_dc", "to_marc_language"]

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NAMESPACES = frozenset({"http://purl.org/dc/elements/1.1/", "http://purl.org/dc/terms/"})
_DC_ROOT = f"{{{OAI_DC_NS}}}dc"

_ISO639_1 = dict(pair.split(":") for pair in """
aa:aar ab:abk ae:ave af:afr ak:aka am:amh an:arg ar:ara as:asm av:ava ay:aym az:aze ba:bak
be:bel bg:bul bh:bih bi:bis bm:bam bn:ben bo:tib br:bre bs:bos ca:cat ce:che ch:cha co:cos
cr:cre cs:cze cu:chu cv:chv cy:wel da:dan de:ger dv:div dz:dzo ee:ewe el:gre en:eng eo:epo
es:spa et:est eu:baq fa:per ff:ful fi:fin fj:fij fo:fao fr:fre fy:fry ga:gle gd:gla gl:glg
gn:grn gu:guj gv:glv ha:hau he:heb hi:hin ho:hmo hr:hrv ht:hat hu:hun hy:arm hz:her ia:ina
id:ind ie:ile ig:ibo ii:iii ik:ipk io:ido is:ice it:ita iu:iku ja:jpn jv:jav ka:geo kg:kon
ki:kik kj:kua kk:kaz kl:kal km:khm kn:kan ko:kor kr:kau ks:kas ku:kur kv:kom kw:cor ky:kir
la:lat lb:ltz lg:lug li:lim ln:lin lo:lao lt:lit lu:lub lv:lav mg:mlg mh:mah mi:mao mk:mac
ml:mal mn:mon mr:mar ms:may mt:mlt my:bur na:nau nb:nob nd:nde ne:nep ng:ndo nl:dut nn:nno
no:nor nr:nbl nv:nav ny:nya oc:oci oj:oji om:orm or:ori os:oss pa:pan pi:pli pl:pol ps:pus
pt:por qu:que rm:roh rn:run ro:rum ru:rus rw:kin sa:san sc:srd sd:snd se:sme sg:sag si:sin
sk:slo sl:slv sm:smo sn:sna so:som sq:alb sr:srp ss:ssw st:sot su:sun sv:swe sw:swa ta:tam
te:tel tg:tgk th:tha ti:tir tk:tuk tl:tgl tn:tsn to:ton tr:tur ts:tso tt:tat tw:twi ty:tah
ug:uig uk:ukr ur:urd uz:uzb ve:ven vi:vie vo:vol wa:wln wo:wol xh:xho yi:yid yo:yor za:zha
zh:chi zu:zul""".split())
# ISO 639-2 terminology codes whose MARC (bibliographic) code differs.
_ISO639_2T = dict(pair.split(":") for pair in """
sqi:alb hye:arm eus:baq mya:bur zho:chi ces:cze nld:dut fra:fre kat:geo deu:ger ell:gre
isl:ice mkd:mac mri:mao msa:may fas:per ron:rum slk:slo bod:tib cym:wel""".split())

# (keyword in a dc:type, format), most specific first. Keywords are matched against the
# casefolded type with blanks, "-" and "_" removed, so "Working Paper" -> "workingpaper".
_TYPE_RULES = (
    ("article", "article"), ("conferencepaper", "article"), ("contributiontoperiodical",
                                                              "article"),
    ("bookpart", "article"), ("preprint", "article"),
    ("periodical", "serial"), ("journal", "serial"), ("newspaper", "serial"),
    ("cartographic", "map"), ("map", "map"),
    ("score", "score"), ("notatedmusic", "score"), ("musicalnotation", "score"),
    ("movingimage", "video"), ("video", "video"), ("film", "video"),
    ("sound", "audio"), ("audio", "audio"),
    ("book", "book"), ("monograph", "book"), ("thesis", "book"), ("report", "book"),
    ("workingpaper", "book"), ("proceedings", "book"), ("text", "book"),
)
_TYPE_SQUASH = str.maketrans("", "", " -_")
_MIME = re.compile(r"^(?:application|text|image|audio|video)/[\w.+\-]+", re.IGNORECASE)
_YEAR = re.compile(r"(?<![0-9])([0-9]{4})(?![0-9]|'?s\b)")
_BARE_ISBN = re.compile(r"^(?:97[89][0-9]{10}|[0-9][0-9 \-]{8,15}[0-9Xx])$")
_BARE_ISSN = re.compile(r"^[0-9]{4}-[0-9]{3}[0-9Xx]$")
_DOI = re.compile(r"^(?:doi:|info:doi/|https?://(?:dx\.)?doi\.org/)(10\.\S+)$", re.IGNORECASE)
_HANDLE = re.compile(r"^(?:hdl:|info:hdl/|https?://hdl\.handle\.net/)(\S+)$", re.IGNORECASE)
_ISSN_LABEL = re.compile(r"^\s*(?:urn:)?issn\b", re.IGNORECASE)
_ISBN_LABEL = re.compile(r"^\s*(?:urn:)?isbn\b", re.IGNORECASE)


def to_marc_language(code: str | None) -> str | None:
    """A language as MARC code: "en" / "en_US" / "EN-gb" -> "eng", "fra" -> "fre"."""
    if not code:
        return None
    value = code.strip().lower().replace("_", "-").split("-", 1)[0]
    if len(value) == 2:
        return _ISO639_1.get(value)
    if len(value) == 3 and value.isalpha():
        return _ISO639_2T.get(value, value)
    return None


def _trim(value: str) -> str | None:
    return value.strip().rstrip(" /:;,.=") or None


def _text(element: etree._Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _dc_values(root: etree._Element) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for child in root:
        tag = child.tag
        if not isinstance(tag, str) or not tag.startswith("{"):
            continue                       # comments, processing instructions, no namespace
        namespace, _, name = tag[1:].partition("}")
        if namespace not in DC_NAMESPACES:
            continue                       # DPLA and other extensions inside oai_dc:dc
        text = _text(child)
        if text:
            values.setdefault(name, []).append(text)
    return values


def _find_dc(element: etree._Element) -> etree._Element:
    if element.tag == _DC_ROOT:
        return element
    found = element.find(f".//{_DC_ROOT}")
    return found if found is not None else element


def normalize_dc(element: etree._Element, *, local_id: str) -> NormalizedRecord:
    """Map one oai_dc record to a :class:`NormalizedRecord` (``source_format="oai_dc"``)."""
    values = _dc_values(_find_dc(element))
    if not values:
        raise NormalizationError(f"record {local_id!r} has no Dublin Core elements with text")
    out = NormalizedRecord(local_id=local_id, source_format="oai_dc")

    titles = values.get("title", [])
    if titles:
        title, sep, subtitle = titles[0].partition(": ")
        if sep and title.strip() and subtitle.strip():
            out.title, out.subtitle = _trim(title), _trim(subtitle)
        else:
            out.title = _trim(titles[0])
    seen: set[str] = set()
    for name in values.get("creator", []) + values.get("contributor", []):
        if name.casefold() not in seen:
            seen.add(name.casefold())
            out.authors.append(name)
    seen = set()
    for subject in values.get("subject", []):
        if subject.casefold() not in seen:
            seen.add(subject.casefold())
            out.subjects.append(subject)
    if values.get("publisher"):
        out.publisher = values["publisher"][0]
    out.year = _year(values.get("date", []))
    for code in values.get("language", []):
        marc = to_marc_language(code)
        if marc and marc not in out.languages:
            out.languages.append(marc)

    online = any(_MIME.match(value) for value in values.get("format", []))
    for identifier in values.get("identifier", []):
        online = _map_identifier(out, identifier) or online
    for relation in values.get("relation", []):
        _map_relation(out, relation)
    out.format = _format(values.get("type", []), values.get("format", []), online)
    return out


def _year(dates: list[str]) -> int | None:
    max_year = date.today().year + 1
    for value in dates:
        if value.startswith("info:eu-repo/date/"):
            continue                       # embargo end, not publication
        for m in _YEAR.finditer(value):
            year = int(m.group(1))
            if 1400 <= year <= max_year:
                return year
    return None


def _map_identifier(out: NormalizedRecord, value: str) -> bool:
    """Map one dc:identifier; True when it shows the resource is online (an http URL)."""
    if m := _DOI.match(value):
        out.other_ids.append(f"doi:{m.group(1)}")
        if value.lower().startswith("http"):
            out.links.append(Link(url=value))
        return value.lower().startswith("http")
    if m := _HANDLE.match(value):
        out.other_ids.append(f"hdl:{m.group(1)}")
    if value.lower().startswith(("http://", "https://")):
        out.links.append(Link(url=value))
        return True
    if value.lower().startswith("urn:") and not _ISBN_LABEL.match(value) \
            and not _ISSN_LABEL.match(value):
        out.other_ids.append(value)
        return False
    if _ISSN_LABEL.match(value) or _BARE_ISSN.match(value):
        if (issn := normalize_issn(value)) and issn not in out.issns:
            out.issns.append(issn)
        return False
    if (oclc := normalize_oclc(value)) and oclc not in out.oclc_numbers:
        out.oclc_numbers.append(oclc)
        return False
    labelled = _ISBN_LABEL.match(value) is not None
    if labelled or _BARE_ISBN.match(value):
        isbn = normalize_isbn(value)
        if isbn is not None:
            if isbn not in out.isbns:
                out.isbns.append(isbn)
        elif labelled and value not in out.invalid_isbns:
            out.invalid_isbns.append(value)
    return False


def _map_relation(out: NormalizedRecord, value: str) -> None:
    if m := _DOI.match(value):
        out.other_ids.append(f"relation:doi:{m.group(1)}")
    elif _ISSN_LABEL.match(value) or _BARE_ISSN.match(value):
        if issn := normalize_issn(value):
            out.other_ids.append(f"relation:ISSN:{issn}")
    elif _ISBN_LABEL.match(value) or _BARE_ISBN.match(value):
        if isbn := normalize_isbn(value):
            out.other_ids.append(f"relation:ISBN:{isbn}")


def _format(types: list[str], formats: list[str], online: bool) -> str:
    squashed = [t.casefold().translate(_TYPE_SQUASH) for t in types]
    kind = "other"
    for keyword, fmt in _TYPE_RULES:
        if any(keyword in t for t in squashed):
            kind = fmt
            break
    else:
        for value in formats:
            major = value.split("/", 1)[0].casefold()
            if _MIME.match(value) and major in ("audio", "video"):
                kind = major
                break
    if online and kind == "book":
        return "ebook"
    if online and kind == "serial":
        return "e-journal"
    return kind
