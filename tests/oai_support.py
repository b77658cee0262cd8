"""Shared by the OAI-PMH provider tests: the local schemas, and union records from real MARC.

    validate_oai(xml)        the response against OAI-PMH.xsd; <metadata> content strictly
                             against MARC21slim.xsd / oai_dc.xsd (all read from ../shared/specs,
                             imports mapped to the local files: no network)
    union_records(n)         UnionRecords made by normalizing real records of
                             ../shared/data/marc, some clusters with two members' records
"""

from __future__ import annotations

import contextlib
import io
import warnings
from functools import lru_cache

import xmlschema

from protocols.errors import ProtocolError
from protocols.marc import decode_record, read_records
from protocols.normalize import normalize_marc
from protocols.records import NormalizedRecord
from protocols.union import SourceRef, UnionHolding, UnionRecord
from protocols.xml import DC_NS, MARC_NS, OAI_DC_NS
from tests.shared_data import require_shared

XML_NS = "http://www.w3.org/XML/1998/namespace"
MEMBERS = ("SE-UMU", "SE-LNU", "US-DLC")
MARC_SAMPLE = ("marc4j", "pride-and-prejudice-fixed.mrc")


@lru_cache(maxsize=None)
def _schemas() -> dict[str, xmlschema.XMLSchema]:
    specs = require_shared("specs")
    locations = [(MARC_NS, str(specs / "MARC21slim.xsd")), (OAI_DC_NS, str(specs / "oai_dc.xsd")),
                 (DC_NS, str(specs / "simpledc20021212.xsd")), (XML_NS, str(specs / "xml.xsd"))]
    return {
        "oai": xmlschema.XMLSchema(str(specs / "OAI-PMH.xsd"), locations=locations),
        "marc21": xmlschema.XMLSchema(str(specs / "MARC21slim.xsd")),
        "oai_dc": xmlschema.XMLSchema(str(specs / "oai_dc.xsd"), locations=locations[2:]),
    }


def schema(name: str) -> xmlschema.XMLSchema:
    require_shared("specs")
    return _schemas()[name]


def validate_oai(xml: bytes | str) -> None:
    """Raise xmlschema's error when ``xml`` is not a valid OAI-PMH response."""
    schema("oai").validate(xml.decode() if isinstance(xml, bytes) else xml)


@lru_cache(maxsize=None)
def _normalized() -> tuple[NormalizedRecord, ...]:
    path = require_shared("data", "marc", *MARC_SAMPLE)
    found = []
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for position, raw in enumerate(read_records(path.read_bytes())):
            try:
                decoded = decode_record(raw)
                record = normalize_marc(decoded.record, local_id=f"pp-{position}")
            except ProtocolError:
                continue
            if record.title:
                found.append(record)
    return tuple(found)


def _holdings(member: str, record: NormalizedRecord) -> list[UnionHolding]:
    return [UnionHolding(member=member, local_id=record.local_id, location=h.location,
                         call_number=h.call_number, lendable=h.lendable, barcode=h.barcode)
            for h in record.holdings]


def union_of(cluster_id: int, parts: list[tuple[str, NormalizedRecord]]) -> UnionRecord:
    """A merged record as the index would make it: fields of the first, ids and holdings of all."""
    member, best = parts[0]
    union = UnionRecord(
        cluster_id=cluster_id, title=best.title, subtitle=best.subtitle,
        responsibility=best.responsibility, authors=list(best.authors),
        corporate_authors=list(best.corporate_authors), lccn=best.lccn,
        publisher=best.publisher, year=best.year, edition=best.edition,
        languages=list(best.languages), format=best.format, pages=best.pages,
        extent=best.extent, series=list(best.series), subjects=list(best.subjects))
    for record_id, (member, record) in enumerate(parts, start=cluster_id * 10):
        for target, values in ((union.isbns, record.isbns), (union.issns, record.issns),
                               (union.oclc_numbers, record.oclc_numbers)):
            target.extend(v for v in values if v not in target)
        union.sources.append(SourceRef(record_id=record_id, member=member,
                                       local_id=record.local_id))
        union.holdings.extend(_holdings(member, record))
    return union


def union_records(count: int) -> list[UnionRecord]:
    """``count`` clusters (ids 1..count); every third holds a second member's record too."""
    records = _normalized()
    if len(records) < 2 * count:
        raise ValueError(f"{MARC_SAMPLE} has {len(records)} usable records, {2 * count} asked")
    unions = []
    for cluster_id in range(1, count + 1):
        first = (MEMBERS[cluster_id % 3], records[2 * cluster_id - 2])
        parts = [first]
        if cluster_id % 3 == 0:
            parts.append((MEMBERS[(cluster_id + 1) % 3], records[2 * cluster_id - 1]))
        unions.append(union_of(cluster_id, parts))
    return unions
