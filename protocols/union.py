"""The merged (union) record of a cluster: what search, the OAI-PMH provider and the broker read.

Pure dataclasses, no I/O. The index (gateway/index) builds one ``UnionRecord`` per cluster from
its member records and keeps ``to_dict()`` in ``clusters.merged``; ``from_dict`` reads it back.

Field values come from the best source record (most complete, not ALL-CAPS); ``provenance``
says which source each field came from (``"MEMBER:local_id"``); identifiers and subjects are
the union over all sources; ``holdings`` lists every institution's copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class SourceRef:
    """One member record inside a cluster."""

    record_id: int
    member: str                        # member code (ISIL)
    local_id: str
    rule: str | None = None            # the rule that attached it to the cluster (None: seed)


@dataclass(slots=True)
class UnionHolding:
    """One institution's copy as the union catalogue shows it."""

    member: str                        # member code (ISIL)
    local_id: str                      # the member's record the holding came from
    location: str | None = None
    call_number: str | None = None
    lendable: bool | None = None       # None: the member's record does not say
    barcode: str | None = None
    digitized: bool = False            # a digitized copy is available through this member
    member_status: str = "open"        # open | limited | closed | digital-only, when merged


@dataclass(slots=True)
class UnionRecord:
    cluster_id: int
    title: str | None = None
    subtitle: str | None = None
    responsibility: str | None = None
    authors: list[str] = field(default_factory=list)
    corporate_authors: list[str] = field(default_factory=list)
    isbns: list[str] = field(default_factory=list)          # ISBN-13, union over sources
    issns: list[str] = field(default_factory=list)
    oclc_numbers: list[str] = field(default_factory=list)
    lccn: str | None = None
    other_ids: list[str] = field(default_factory=list)
    publisher: str | None = None
    year: int | None = None
    edition: str | None = None
    languages: list[str] = field(default_factory=list)
    format: str = "other"
    pages: int | None = None
    extent: str | None = None
    series: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    provenance: dict[str, str] = field(default_factory=dict)  # field name -> "MEMBER:local_id"
    sources: list[SourceRef] = field(default_factory=list)
    holdings: list[UnionHolding] = field(default_factory=list)

    @property
    def members(self) -> list[str]:
        """Codes of the members that hold a record in this cluster, in source order."""
        return list(dict.fromkeys(s.member for s in self.sources))

    @property
    def lendable_members(self) -> list[str]:
        return list(dict.fromkeys(h.member for h in self.holdings if h.lendable))

    def to_dict(self) -> dict[str, Any]:
        # what dataclasses.asdict gives (tests/protocols/test_union.py), written out: the index
        # writes one per cluster, and asdict's deep copies, then a loop of getattr over the
        # fields, were a large share of a rebuild's time
        return {
            "cluster_id": self.cluster_id, "title": self.title, "subtitle": self.subtitle,
            "responsibility": self.responsibility, "authors": list(self.authors),
            "corporate_authors": list(self.corporate_authors), "isbns": list(self.isbns),
            "issns": list(self.issns), "oclc_numbers": list(self.oclc_numbers),
            "lccn": self.lccn, "other_ids": list(self.other_ids), "publisher": self.publisher,
            "year": self.year, "edition": self.edition, "languages": list(self.languages),
            "format": self.format, "pages": self.pages, "extent": self.extent,
            "series": list(self.series), "subjects": list(self.subjects),
            "provenance": dict(self.provenance),
            "sources": [{"record_id": s.record_id, "member": s.member, "local_id": s.local_id,
                         "rule": s.rule} for s in self.sources],
            "holdings": [{"member": h.member, "local_id": h.local_id, "location": h.location,
                          "call_number": h.call_number, "lendable": h.lendable,
                          "barcode": h.barcode, "digitized": h.digitized,
                          "member_status": h.member_status} for h in self.holdings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnionRecord:
        data = dict(data)
        data["sources"] = [SourceRef(**s) for s in data.get("sources", [])]
        data["holdings"] = [UnionHolding(**h) for h in data.get("holdings", [])]
        return cls(**data)


