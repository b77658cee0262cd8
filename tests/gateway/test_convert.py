"""Harvested records into the store's form: marc21 and oai_dc pages from real providers."""

from __future__ import annotations

import pytest

from gateway.harvest.convert import oai_record_to_incoming
from gateway.store.records import IncomingRecord, QuarantineEntry
from protocols.oaipmh import parse_list_page
from tests.shared_data import require_shared


@pytest.mark.parametrize(("path", "count", "fmt"), [
    (("oai", "oaipmh-scythe", "zenodo_ListRecords_metadataPrefix-oai_dc_http200.xml"), 3,
     "oai_dc"),
    (("oai", "vufindharvest", "marc.xml"), None, "marcxml"),
])
def test_real_pages_convert_to_normalized_records(path, count, fmt):
    page = parse_list_page(require_shared("data", *path).read_bytes())
    outcomes = [oai_record_to_incoming(r, n) for n, r in enumerate(page.records, 1)]
    stored = [o for o in outcomes if isinstance(o, IncomingRecord)]
    assert not [o for o in outcomes if isinstance(o, QuarantineEntry)]
    if count is not None:
        assert len(stored) == count
    assert stored and all(o.raw_syntax == fmt and o.normalized.title for o in stored)
    assert all(o.local_id == r.header.identifier for o, r in zip(stored, page.records))


def test_deleted_header_becomes_a_tombstone():
    page = parse_list_page(require_shared("data", "oai", "sickle", "ListRecords.xml").read_bytes())
    deleted = [r for r in page.records if r.header.deleted]
    assert deleted
    for record in deleted:
        outcome = oai_record_to_incoming(record, 1)
        assert isinstance(outcome, IncomingRecord) and outcome.deleted
        assert outcome.normalized is None and outcome.local_id == record.header.identifier
