"""The merged record of a cluster as metadata: MARC 21 slim (``marc21``) and ``oai_dc``.

    union_to_marcxml(record) → <marc:record>   leader, 001 = cluster id, 008, 010, 020, 022,
                                               035 (OCoLC), 041, 100/110, 245, 250, 264, 300,
                                               490, 650, 700/710, and one 852 per holding
    union_to_dc(record)      → <oai_dc:dc>

852 of a holding: $a member code, $b location, $h call number, $p barcode, $z a public note
that says whether the copy lends (and when the member is not open, or a digitized copy
exists). Both functions are pure; text that XML 1.0 cannot hold (C0 controls that slipped
through a member's record) is dropped rather than failing the whole page.
"""

from __future__ import annotations

import re

from lxml import etree

from protocols.union import UnionHolding, UnionRecord
from protocols.xml import DC_NS, MARC_NS, OAI_DC_NS, XSI_NS

__all__ = ["union_to_marcxml", "union_to_dc", "leader_for", "lendability_note"]

_MARC = f"{{{MARC_NS}}}"
_DC = f"{{{DC_NS}}}"
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# leader/06 (type of record) and /07 (bibliographic level) per union format
_LEADER_TYPE = {
    "book": "am", "ebook": "am", "serial": "as", "e-journal": "as", "article": "ab",
    "map": "em", "score": "cm", "video": "gm", "audio": "jm", "other": "pm",
}
_DC_TYPE = {
    "book": "Text", "ebook": "Text", "serial": "Text", "e-journal": "Text", "article": "Text",
    "map": "Image", "score": "Text", "video": "MovingImage", "audio": "Sound",
    "other": "PhysicalObject",
}


def _clean(text: str) -> str:
    return _XML_ILLEGAL.sub("", text)


def leader_for(record: UnionRecord) -> str:
    kind = _LEADER_TYPE.get(record.format, "pm")
    return f"00000n{kind} a2200000 i 4500"


def _fixed_008(record: UnionRecord) -> str:
    year = f"{record.year:04d}" if record.year is not None and 0 <= record.year <= 9999 else "uuuu"
    language = (record.languages[0] if record.languages else "und")[:3].ljust(3)
    # 00-05 date entered unknown, 06 's' single date, 15-17 country unknown ("xx "), 35-37 lang
    return f"      s{year}    xx {' ' * 17}{language} d"


def lendability_note(holding: UnionHolding) -> str:
    if holding.lendable is True:
        note = "Available for interlibrary loan"
    elif holding.lendable is False:
        note = "Not available for interlibrary loan"
    else:
        note = "Interlibrary loan availability not stated"
    if holding.member_status != "open":
        note += f"; member status: {holding.member_status}"
    if holding.digitized:
        note += "; digitized copy available"
    return note


class _MarcBuilder:
    def __init__(self) -> None:
        self.root = etree.Element(f"{_MARC}record", nsmap={"marc": MARC_NS, "xsi": XSI_NS})
        self.root.set(f"{{{XSI_NS}}}schemaLocation",
                      f"{MARC_NS} http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd")

    def leader(self, value: str) -> None:
        etree.SubElement(self.root, f"{_MARC}leader").text = value

    def control(self, tag: str, value: str) -> None:
        field = etree.SubElement(self.root, f"{_MARC}controlfield", tag=tag)
        field.text = _clean(value)

    def data(self, tag: str, ind1: str, ind2: str,
             subfields: list[tuple[str, str | None]]) -> None:
        present = [(code, _clean(value)) for code, value in subfields if value]
        present = [(code, value) for code, value in present if value.strip()]
        if not present:
            return
        field = etree.SubElement(self.root, f"{_MARC}datafield", tag=tag, ind1=ind1, ind2=ind2)
        for code, value in present:
            etree.SubElement(field, f"{_MARC}subfield", code=code).text = value


def union_to_marcxml(record: UnionRecord) -> etree._Element:
    """The cluster's merged record as one MARC 21 slim ``<marc:record>``."""
    marc = _MarcBuilder()
    marc.leader(leader_for(record))
    marc.control("001", str(record.cluster_id))
    marc.control("008", _fixed_008(record))
    marc.data("010", " ", " ", [("a", record.lccn)])
    for isbn in record.isbns:
        marc.data("020", " ", " ", [("a", isbn)])
    for issn in record.issns:
        marc.data("022", " ", " ", [("a", issn)])
    for oclc in record.oclc_numbers:
        marc.data("035", " ", " ", [("a", f"(OCoLC){oclc}")])
    if len(record.languages) > 1:
        marc.data("041", "0", " ", [("a", code) for code in record.languages])
    main_entry = False
    if record.authors:
        marc.data("100", "1", " ", [("a", record.authors[0])])
        main_entry = True
    elif record.corporate_authors:
        marc.data("110", "2", " ", [("a", record.corporate_authors[0])])
        main_entry = True
    title = record.title or "[Untitled]"
    marc.data("245", "1" if main_entry else "0", "0",
              [("a", title), ("b", record.subtitle), ("c", record.responsibility)])
    marc.data("250", " ", " ", [("a", record.edition)])
    marc.data("264", " ", "1", [("b", record.publisher),
                                ("c", str(record.year) if record.year is not None else None)])
    extent = record.extent or (f"{record.pages} pages" if record.pages else None)
    marc.data("300", " ", " ", [("a", extent)])
    for series in record.series:
        marc.data("490", "0", " ", [("a", series)])
    for subject in record.subjects:
        marc.data("650", " ", "4", [("a", subject)])
    for author in record.authors[1:]:
        marc.data("700", "1", " ", [("a", author)])
    corporate_added = record.corporate_authors[0 if record.authors else 1:]
    for corporate in corporate_added:
        marc.data("710", "2", " ", [("a", corporate)])
    for holding in record.holdings:
        marc.data("852", " ", " ", [
            ("a", holding.member), ("b", holding.location), ("h", holding.call_number),
            ("p", holding.barcode), ("z", lendability_note(holding))])
    return marc.root


def union_to_dc(record: UnionRecord) -> etree._Element:
    """The cluster's merged record as one ``<oai_dc:dc>``."""
    root = etree.Element(f"{{{OAI_DC_NS}}}dc",
                         nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation",
             f"{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd")

    def add(name: str, value: str | None) -> None:
        if value and (text := _clean(value)).strip():
            etree.SubElement(root, f"{_DC}{name}").text = text

    title = record.title
    if title and record.subtitle:
        title = f"{title} : {record.subtitle}"
    add("title", title or "[Untitled]")
    for author in record.authors:
        add("creator", author)
    for corporate in record.corporate_authors:
        add("creator", corporate)
    for subject in record.subjects:
        add("subject", subject)
    add("publisher", record.publisher)
    add("date", str(record.year) if record.year is not None else None)
    add("type", _DC_TYPE.get(record.format, "Text"))
    add("type", record.format)
    add("format", record.extent)
    for isbn in record.isbns:
        add("identifier", f"urn:isbn:{isbn}")
    for issn in record.issns:
        add("identifier", f"urn:issn:{issn}")
    for oclc in record.oclc_numbers:
        add("identifier", f"(OCoLC){oclc}")
    if record.lccn:
        add("identifier", f"lccn:{record.lccn}")
    for language in record.languages:
        add("language", language)
    for series in record.series:
        add("relation", series)
    for holding in record.holdings:
        where = ", ".join(part for part in (holding.location, holding.call_number) if part)
        add("description", f"Held by {holding.member}" + (f" ({where})" if where else "")
            + f": {lendability_note(holding)}")
    return root
