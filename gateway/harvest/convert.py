"""Harvested records → records for the store, or quarantine entries (pure, no I/O)."""

from __future__ import annotations

from lxml import etree

from gateway.store.records import IncomingRecord, QuarantineEntry
from protocols.dublincore import normalize_dc
from protocols.errors import MarcError, NormalizationError, XmlError
from protocols.marc import RawRecord, decode_record, marc_local_id
from protocols.normalize import normalize_marc
from protocols.oaipmh import OaiRecord
from protocols.xml import parse_xml

MARC_NS = "http://www.loc.gov/MARC21/slim"
DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"


def marcxml_to_incoming(local_id: str | None, data: bytes, position: int | None,
                        datestamp: str | None = None) -> IncomingRecord | QuarantineEntry:
    """One MARCXML record (OAI-PMH metadata or SRU recordData) → stored form.

    Without ``local_id`` (SRU: Zebra sends no record identifier) the 001 is the id.
    """
    try:
        decoded = decode_record(RawRecord(position or 0, 0, data, "marcxml"))
        if local_id is None:
            local_id = marc_local_id(decoded.record, data)
        normalized = normalize_marc(decoded.record, local_id=local_id,
                                    repairs=list(decoded.repairs))
    except MarcError as exc:
        return QuarantineEntry(position=position, local_id=local_id, raw=data,
                               reason=exc.reason, detail=exc.detail)
    except NormalizationError as exc:
        return QuarantineEntry(position=position, local_id=local_id, raw=data,
                               reason="normalization", detail=str(exc))
    return IncomingRecord(local_id=local_id, normalized=normalized, raw=data,
                          raw_syntax="marcxml", datestamp=datestamp)


def oai_record_to_incoming(record: OaiRecord, position: int | None
                           ) -> IncomingRecord | QuarantineEntry:
    """An OAI-PMH record (marc21/marcxml or oai_dc) or deleted header → stored form."""
    header = record.header
    if header.deleted:
        return IncomingRecord(local_id=header.identifier, normalized=None, raw=record.raw,
                              raw_syntax="oai", datestamp=header.datestamp, deleted=True)
    if not record.metadata:
        return QuarantineEntry(position=position, local_id=header.identifier, raw=record.raw,
                               reason="no-metadata",
                               detail="record is not deleted but has no <metadata>")
    try:
        root = parse_xml(record.metadata)
    except XmlError as exc:
        return QuarantineEntry(position=position, local_id=header.identifier,
                               raw=record.raw, reason="xml", detail=str(exc))
    qname = etree.QName(root)
    if qname.localname == "record" and qname.namespace in (MARC_NS, None):
        return marcxml_to_incoming(header.identifier, record.metadata, position,
                                   header.datestamp)
    if qname.localname == "dc":
        try:
            normalized = normalize_dc(root, local_id=header.identifier)
        except NormalizationError as exc:
            return QuarantineEntry(position=position, local_id=header.identifier,
                                   raw=record.raw, reason="normalization", detail=str(exc))
        return IncomingRecord(local_id=header.identifier, normalized=normalized,
                              raw=record.metadata, raw_syntax="oai_dc",
                              datestamp=header.datestamp)
    return QuarantineEntry(position=position, local_id=header.identifier, raw=record.raw,
                           reason="unsupported-format",
                           detail=f"metadata root {qname.text!r} is neither MARCXML nor oai_dc")
