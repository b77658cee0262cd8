"""Harvested records → records for the store, or quarantine entries (pure, no I/O)."""

from __future__ import annotations

from lxml import etree

from gateway.store.records import IncomingRecord, QuarantineEntry
from protocols.dublincore import normalize_dc
from protocols.errors import MarcError, NormalizationError, XmlError
from protocols.marc import RawRecord, decode_marcxml_element, decode_record, marc_local_id
from protocols.normalize import normalize_marc
from protocols.oaipmh import OaiRecord
from protocols.xml import MAX_BYTES, parse_xml

MARC_NS = "http://www.loc.gov/MARC21/slim"
DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"


def marcxml_to_incoming(local_id: str | None, data: bytes, position: int | None,
                        datestamp: str | None = None, *,
                        element: etree._Element | None = None
                        ) -> IncomingRecord | QuarantineEntry:
    """One MARCXML record (OAI-PMH metadata or SRU recordData) → stored form.

    Without ``local_id`` (SRU: Zebra sends no record identifier) the 001 is the id.
    ``element``, when given, is ``data`` already parsed (an OAI-PMH payload) and is decoded
    instead of ``data``; the result is the same.
    """
    try:
        if element is not None:
            decoded = decode_marcxml_element(element, data, position=position or 0)
        else:
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
    """An OAI-PMH record (marc21/marcxml or oai_dc) or deleted header → stored form.

    The payload element the page reader kept (``record.metadata_element``) is used instead
    of parsing ``record.metadata`` again, and dropped from ``record``: once a page's records
    are converted and let go, nothing holds its tree any more.
    """
    header = record.header
    element, record.metadata_element = record.metadata_element, None
    if header.deleted:
        return IncomingRecord(local_id=header.identifier, normalized=None, raw=record.raw,
                              raw_syntax="oai", datestamp=header.datestamp, deleted=True)
    if not record.metadata:
        return QuarantineEntry(position=position, local_id=header.identifier, raw=record.raw,
                               reason="no-metadata",
                               detail="record is not deleted but has no <metadata>")
    # a payload the bytes path would refuse as too large stays on that path, refused the same
    if element is not None and len(record.metadata) <= MAX_BYTES:
        root = element
    else:
        element = None
        try:
            root = parse_xml(record.metadata)
        except XmlError as exc:
            return QuarantineEntry(position=position, local_id=header.identifier,
                                   raw=record.raw, reason="xml", detail=str(exc))
    qname = etree.QName(root)
    if qname.localname == "record" and qname.namespace in (MARC_NS, None):
        return marcxml_to_incoming(header.identifier, record.metadata, position,
                                   header.datestamp, element=element)
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
