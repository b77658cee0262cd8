"""Integration: harvest the real peers (Catmandu OAI-PMH, Index Data Zebra SRU) serving a real
MARC file, and compare the store with the file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pymarc
import pytest
import sqlalchemy as sa

from gateway import registry
from gateway.harvest.runner import Harvester, targets
from gateway.registry import EndpointSpec
from gateway.ingest import ingest
from gateway.store.schema import members, records
from tests.peers import free_port, peer
from tests.shared_data import SHARED

SOURCE = "marc/folio/CornellFOLIOExemplars.mrc"     # 62 records of many formats, unique 001s


def file_records() -> dict[str, pymarc.Record]:
    with (SHARED / "data" / SOURCE).open("rb") as handle:
        return {r["001"].data.strip(): r for r in pymarc.MARCReader(handle, to_unicode=True)}


async def normalized_by_001(store, code: str) -> dict[str, dict]:
    """Normalized records of one member keyed by 001, without what depends on the source."""
    async with store.connect() as conn:
        rows = (await conn.execute(
            sa.select(records.c.normalized).join(members, members.c.id == records.c.member_id)
            .where(members.c.code == code))).scalars().all()
    out = {}
    for row in rows:
        row = dict(row)
        local_id = row.pop("local_id")
        row.pop("repairs")
        out[local_id.rsplit(":", 1)[-1]] = row
    return out


async def file_as_ingested(store) -> dict[str, dict]:
    """The same file through `libgate ingest`: what the harvest must reproduce."""
    await registry.add_member(store, "US-FILE", "The file itself")
    await ingest(store, "US-FILE", str(SHARED / "data" / SOURCE))
    return await normalized_by_001(store, "US-FILE")


async def stored_by_001(store) -> dict[str, tuple[str | None, bool]]:
    async with store.connect() as conn:
        rows = (await conn.execute(sa.select(records.c.local_id, records.c.title,
                                             records.c.deleted)
                                   .where(records.c.local_id.like("oai:%")))).all()
    return {r.local_id.rsplit(":", 1)[-1]: (r.title, bool(r.deleted)) for r in rows}


async def run_harvest(store, settings, code: str) -> object:
    [target] = await targets(store, [code])
    return await Harvester(store, settings).harvest(target)


@pytest.mark.peers
async def test_catmandu_full_then_incremental_with_deletions(store, settings, tmp_path):
    originals = file_records()
    port = free_port()          # the restarted peer comes back on the same address
    with peer("oai-provider", SHARED / "data" / SOURCE, port, OAI_PAGE_SIZE="10") as url:
        await registry.add_member(store, "US-NIC", "Cornell (peer)", endpoint_specs=[
            EndpointSpec("oai-pmh", url=url, metadata_prefix="marc21")])
        first = await run_harvest(store, settings, "US-NIC")
    assert first.status == "succeeded", first.error
    assert first.pages == 7 and first.added == 62
    state = await stored_by_001(store)
    assert set(state) == set(originals)
    assert await normalized_by_001(store, "US-NIC") == await file_as_ingested(store)

    # the member deletes two records and edits one; its ILS stamps them with a new 005
    deleted_ids = sorted(originals)[:2]
    edited_id = sorted(originals)[5]
    stamp = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y%m%d%H%M%S.0")
    changed = tmp_path / "changed.mrc"
    with changed.open("wb") as out:
        for local_id, record in originals.items():
            if local_id in deleted_ids or local_id == edited_id:
                record["005"].data = stamp
            if local_id == edited_id:
                record["245"]["a"] = "Edited title /"
            out.write(record.as_marc())
    with peer("oai-provider", changed, port, OAI_PAGE_SIZE="10",
              OAI_DELETED_IDS=",".join(deleted_ids)):
        second = await run_harvest(store, settings, "US-NIC")
    assert second.status == "succeeded", second.error
    assert not second.full and second.from_ is not None
    assert (second.records_read, second.deleted, second.updated) == (3, 2, 1)
    state = await stored_by_001(store)
    assert {i for i, (_t, gone) in state.items() if gone} == set(deleted_ids)
    assert state[edited_id][0] == "Edited title"


@pytest.mark.peers
async def test_catmandu_incremental_uses_server_dates(store, settings, tmp_path):
    originals = file_records()
    with peer("oai-provider", SHARED / "data" / SOURCE, OAI_PAGE_SIZE="25") as url:
        await registry.add_member(store, "US-NIC", "Cornell (peer)", endpoint_specs=[
            EndpointSpec("oai-pmh", url=url, metadata_prefix="marc21")])
        first = await run_harvest(store, settings, "US-NIC")
        again = await run_harvest(store, settings, "US-NIC")
    assert first.status == again.status == "succeeded", (first.error, again.error)
    assert first.added == len(originals)
    assert not again.full and again.from_ is not None
    assert again.records_read == 0           # nothing changed since the server's responseDate


@pytest.mark.peers
async def test_zebra_sru_harvest_equals_the_file(store, settings):
    originals = file_records()
    with peer("sru-zebra", SHARED / "data" / SOURCE) as url:
        await registry.add_member(store, "US-NIC", "Cornell (peer)", endpoint_specs=[
            EndpointSpec("sru", url=url)])
        report = await run_harvest(store, settings, "US-NIC")
    assert report.status == "succeeded", report.error
    assert report.added == len(originals)
    assert await normalized_by_001(store, "US-NIC") == await file_as_ingested(store)


@pytest.mark.peers
async def test_sru_search_live_and_a_refused_query(store, settings):
    import asyncio
    import json
    import sys
    with peer("sru-zebra", SHARED / "data" / SOURCE) as url:
        await registry.add_member(store, "US-NIC", "Cornell (peer)", endpoint_specs=[
            EndpointSpec("sru", url=url)])

        async def cli(*args: str) -> tuple[int, str, str]:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gateway.cli", "--db", store.url, "sru-search", "US-NIC",
                *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await process.communicate()
            return process.returncode, out.decode(), err.decode()
        code, out, _ = await cli("cql.allRecords=1", "--max", "5", "--json")
        assert code == 0
        found = json.loads(out)
        assert found["total"] == 62 and len(found["records"]) == 5
        assert all(r["id"] in file_records() for r in found["records"])
        code, _, err = await cli("dc.title=(", "--json")
    assert code == 1
    assert "info:srw/diagnostic/1/10" in err and "dc.title=(" in err
    assert "Traceback" not in err
