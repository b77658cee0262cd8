"""The union catalogue end to end, both backends: real MARC files ingested by several members
are clustered in the ingest transaction, found by search with every holder, and harvested by
Sickle from /oai — the count equal to the clusters, an incremental harvest exactly what changed.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa

from gateway.app import create_app
from gateway.index.search import search_store
from gateway.ingest import ingest
from gateway.store.schema import clusters
from protocols.search_query import parse_query
from tests.gateway.test_clusters import FILES, load
from tests.gateway.test_oai_provider import sickle_harvest


async def test_ingested_members_are_searchable_and_harvestable_as_one_catalogue(
        aiohttp_client, store, settings, tmp_path):
    await load(store, ["US-OLB", "US-OLX", "US-LOC", "US-SUM", "US-BPL", "US-LC"])
    async with store.connect() as conn:
        live = await conn.scalar(sa.select(sa.func.count()).select_from(clusters)
                                 .where(clusters.c.deleted.is_(False)))
        total = await conn.scalar(sa.select(sa.func.count()).select_from(clusters))

    # search: the Iliad, catalogued by two members, is one result with both holders
    found = await search_store(store, parse_query("iliad homer"))
    assert found.total == 1
    iliad = found.hits[0]
    assert sorted(iliad.record.members) == ["US-OLB", "US-OLX"]

    client = await aiohttp_client(create_app(settings, store=store))
    url = str(client.make_url("/oai"))
    harvested = await asyncio.to_thread(sickle_harvest, url, "ListIdentifiers",
                                        metadataPrefix="marc21")
    assert len(harvested) == total
    assert sum(not h.deleted for h in harvested) == live
    member_set = await asyncio.to_thread(sickle_harvest, url, "ListIdentifiers",
                                         metadataPrefix="marc21", set="member:US-OLX")
    assert len(member_set) == 1

    # a member's file without its record: the pair dissolves; only that cluster changes
    since = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
    await asyncio.sleep(1.1)
    summerland = tmp_path / "summerland.xml"
    from tests.shared_data import require_shared
    summerland.write_bytes(require_shared("data", "marc", *FILES["US-SUM"].split("/"))
                           .read_bytes())
    # US-OLX now exports only Summerland: its Iliad is marked deleted by --replace
    await ingest(store, "US-OLX", str(summerland), replace=True)
    changed = await asyncio.to_thread(sickle_harvest, url, "ListIdentifiers",
                                      metadataPrefix="marc21",
                                      **{"from": since.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert {h.identifier for h in changed} >= {f"oai:libgate.example:cluster/{iliad.cluster_id}"}
    again = await search_store(store, parse_query("iliad homer"))
    assert again.hits[0].record.members == ["US-OLB"]
