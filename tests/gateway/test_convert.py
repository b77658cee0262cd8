"""Harvested records into the store's form: marc21 and oai_dc pages from real providers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gateway import registry
from gateway.harvest.convert import oai_record_to_incoming
from gateway.harvest.pages import convert_oai_page
from gateway.index import recluster_records
from gateway.store.records import IncomingRecord, QuarantineEntry, upsert_batch
from gateway.store.schema import match_keys, records
from protocols.matching.keys import profile_of
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


@pytest.mark.parametrize("path", [
    ("oai", "vufindharvest", "marc.xml"),
    ("oai", "oaipmh-scythe", "zenodo_ListRecords_metadataPrefix-oai_dc_http200.xml"),
    ("oai", "sickle", "ListRecords.xml"),
])
async def test_match_profiles_made_with_the_page_are_those_the_index_makes_from_the_store(
        store, path):
    """A harvest worker profiles each record with its JSON; the index takes that profile
    instead of making its own. It must be the one the store's copy of the record gives:
    same fields, same match keys stored."""
    page = convert_oai_page(require_shared("data", *path).read_bytes(), 0, 50 * 2**20)
    made = [item for item in page.items if item.profile is not None]
    assert made and all(item.profile.record_id == 0 for item in made)
    await registry.add_member(store, "US-HP", "US-HP")
    async with store.begin() as conn:
        member_id = await registry.member_id(conn, "US-HP")
        counts = await upsert_batch(conn, member_id, None, page.items)
        await recluster_records(conn, counts.touched, fresh=counts.fresh)
    async with store.connect() as conn:
        rows = (await conn.execute(sa.select(records.c.id, records.c.local_id,
                                             records.c.normalized).where(
            records.c.member_id == member_id))).all()
        stored_keys = set(map(tuple, (await conn.execute(sa.select(
            match_keys.c.record_id, match_keys.c.kind, match_keys.c.value))).all()))
    remade = {row.local_id: profile_of(row.normalized, record_id=row.id, member="US-HP",
                                       local_id=row.local_id) for row in rows}
    assert stored_keys == {(p.record_id, kind, value) for p in remade.values()
                           for kind, value in p.keys}
    for item in made:
        assert item.profile == remade[item.local_id]
