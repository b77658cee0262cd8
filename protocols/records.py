"""The normalized record: what every member format (MARC21, oai_dc) is mapped into.

Plain dataclasses, no I/O. ``to_dict``/``from_dict`` give the JSON form the store keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protocols.picklable import by_fields

FORMATS = (
    "book", "ebook", "serial", "e-journal", "article", "map", "score", "video", "audio", "other",
)


@by_fields
@dataclass(slots=True)
class Holding:
    """One institution's copy (852, or 9xx item data): where it is and whether it lends."""

    location: str | None = None
    call_number: str | None = None
    lendable: bool | None = None      # None: the record does not say
    barcode: str | None = None
    note: str | None = None
    source: str = "852"               # the field the holding was read from


@by_fields
@dataclass(slots=True)
class Link:
    url: str
    label: str | None = None


@by_fields
@dataclass(slots=True)
class NormalizedRecord:
    """One member's record of one bibliographic item, normalized.

    ``local_id`` is the member's own record id (MARC 001, OAI identifier). Lists are never
    None. ``isbns`` holds valid ISBNs as ISBN-13; ``invalid_isbns`` keeps what did not validate,
    as found. ``repairs`` lists what the reader had to fix (e.g. leader/09 that lied).
    """

    local_id: str
    source_format: str = "marc21"     # marc21 | oai_dc
    record_type: str = "bibliographic"  # bibliographic | holdings (MFHD) | authority | other
    holdings_of: str | None = None    # MFHD 004: the local id of the bib record it holds
    title: str | None = None
    subtitle: str | None = None
    responsibility: str | None = None
    authors: list[str] = field(default_factory=list)
    corporate_authors: list[str] = field(default_factory=list)
    isbns: list[str] = field(default_factory=list)
    invalid_isbns: list[str] = field(default_factory=list)
    issns: list[str] = field(default_factory=list)
    oclc_numbers: list[str] = field(default_factory=list)
    lccn: str | None = None
    other_ids: list[str] = field(default_factory=list)   # "015:...", "016:...", "024:..."
    publisher: str | None = None
    year: int | None = None
    edition: str | None = None
    languages: list[str] = field(default_factory=list)   # MARC language codes, first = main
    format: str = "other"
    pages: int | None = None
    extent: str | None = None                            # 300 $a as found
    series: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    holdings: list[Holding] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: equal to ``dataclasses.asdict(self)`` (a test holds them equal on
        real records), written out because ``asdict`` deep-copies every value and this runs
        once per stored record."""
        return {
            "local_id": self.local_id, "source_format": self.source_format,
            "record_type": self.record_type, "holdings_of": self.holdings_of,
            "title": self.title, "subtitle": self.subtitle,
            "responsibility": self.responsibility, "authors": list(self.authors),
            "corporate_authors": list(self.corporate_authors), "isbns": list(self.isbns),
            "invalid_isbns": list(self.invalid_isbns), "issns": list(self.issns),
            "oclc_numbers": list(self.oclc_numbers), "lccn": self.lccn,
            "other_ids": list(self.other_ids), "publisher": self.publisher, "year": self.year,
            "edition": self.edition, "languages": list(self.languages), "format": self.format,
            "pages": self.pages, "extent": self.extent, "series": list(self.series),
            "subjects": list(self.subjects),
            "links": [{"url": link.url, "label": link.label} for link in self.links],
            "holdings": [{"location": h.location, "call_number": h.call_number,
                          "lendable": h.lendable, "barcode": h.barcode, "note": h.note,
                          "source": h.source} for h in self.holdings],
            "repairs": list(self.repairs),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NormalizedRecord:
        data = dict(data)
        data["links"] = [Link(**link) for link in data.get("links", [])]
        data["holdings"] = [Holding(**h) for h in data.get("holdings", [])]
        return cls(**data)
