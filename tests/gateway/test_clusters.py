"""The union index end to end on real MARC files, both backends: clusters, explanations,
incremental changes in the ingest transaction, staff decisions, check and rebuild, the API."""

from __future__ import annotations

import sqlalchemy as sa

from gateway import catalogue, registry
from gateway.app import create_app
from gateway.index import decisions, hooks
from gateway.index.explain import explain
from gateway.index.rebuild import check, rebuild
from gateway.ingest import ingest
from gateway.store.schema import cluster_records, clusters, match_keys, members, records
from tests.conftest import ADMIN_TOKEN
from tests.shared_data import require_shared

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

# each file is one member's catalogue
FILES = {
    "US-OLB": "openlibrary/bin_input/cu31924091184469_meta.mrc",      # The Iliad of Homer
    "US-OLX": "openlibrary/xml_input/cu31924091184469_marc.xml",      # same record, MARCXML
    "US-LOC": "marc4j/chabon-loc.mrc",                                # Kavalier & Clay, Summerland
    "US-SUM": "marc4j/summerland.xml",                                # Summerland again
    "US-BRK": "marc4j/brkrtest.mrc",                                  # 8 records, 1 series ISBN
    "US-BRU": "marc4j/brkrtest_UTF8.mrc",                             # their UTF-8 twins
    "US-BPL": "openlibrary/bin_input/bpl_0486266893.mrc",             # Candide, Dover 1991
    "US-LC": "openlibrary/bin_input/lc_1416500308.mrc",               # Candide, 2005
}


async def load(store, codes=None) -> None:
    for code in codes or FILES:
        path = require_shared("data", "marc", *FILES[code].split("/"))
        try:
            await registry.add_member(store, code, code)
        except registry.DuplicateMember:
            pass
        await ingest(store, code, str(path))


async def cluster_of(conn, member: str, local_id: str) -> int | None:
    return await conn.scalar(sa.select(cluster_records.c.cluster_id)
                             .join(records, records.c.id == cluster_records.c.record_id)
                             .join(members, members.c.id == records.c.member_id)
                             .where((members.c.code == member) & (records.c.local_id == local_id)))


async def cluster_groups(conn) -> dict[int, set[str]]:
    """cluster id → its records as "MEMBER:local id"."""
    rows = (await conn.execute(sa.select(cluster_records.c.cluster_id, members.c.code,
                                         records.c.local_id)
                               .join(records, records.c.id == cluster_records.c.record_id)
                               .join(members, members.c.id == records.c.member_id))).all()
    groups: dict[int, set[str]] = {}
    for r in rows:
        groups.setdefault(r.cluster_id, set()).add(f"{r.code}:{r.local_id}")
    return groups


async def partition(conn) -> set[frozenset[str]]:
    return {frozenset(g) for g in (await cluster_groups(conn)).values()}


async def test_real_duplicates_cluster_and_distinct_books_stay_apart(store):
    await load(store)
    async with store.connect() as conn:
        iliad = await cluster_of(conn, "US-OLB", "4291884")
        assert iliad is not None and iliad == await cluster_of(conn, "US-OLX", "4291884")
        summerland = await cluster_of(conn, "US-LOC", "12883376")
        assert summerland == await cluster_of(conn, "US-SUM", "12883376")
        assert await cluster_of(conn, "US-LOC", "11939876") != summerland
        # one series ISBN on 7 test records: each pairs with its twin only
        for n in range(1, 9):
            lid = f"tes9600000{n}"
            assert await cluster_of(conn, "US-BRK", lid) == await cluster_of(conn, "US-BRU", lid)
        brk = {await cluster_of(conn, "US-BRK", f"tes9600000{n}") for n in range(1, 9)}
        assert len(brk) == 8
        # two editions of Candide
        assert (await cluster_of(conn, "US-BPL", "329765")
                != await cluster_of(conn, "US-LC", "2005280851"))
        detail = await explain(conn, iliad)
    assert detail["links"][0]["rule"] in ("oclc", "same-content")
    assert {detail["links"][0]["record_a"], detail["links"][0]["record_b"]} == {
        "US-OLB:4291884", "US-OLX:4291884"}
    stats = await catalogue.stats(store)
    assert stats["clusters"] == 1 + 2 + 8 + 2     # Iliad, Chabon ×2, brkrtest ×8, Candide ×2
    record = await catalogue.record_detail(store, "US-OLX", "4291884")
    assert record["cluster_id"] == iliad


async def test_merged_record_lists_every_holder(store):
    await load(store, ["US-OLB", "US-OLX"])
    await registry.update_member(store, "US-OLX", status="closed")   # merged records follow
    async with store.begin() as conn:
        cid = await cluster_of(conn, "US-OLB", "4291884")
        merged = (await conn.execute(sa.select(clusters.c.merged).where(
            clusters.c.id == cid))).scalar_one()
    assert merged["title"] == "The Iliad of Homer"
    assert merged["provenance"]["title"] in ("US-OLB:4291884", "US-OLX:4291884")
    assert {(h["member"], h["member_status"]) for h in merged["holdings"]} == {
        ("US-OLB", "open"), ("US-OLX", "closed")}
    assert "4282700" in merged["oclc_numbers"]


async def test_delete_dissolves_a_pair_and_a_record_coming_back_rejoins(store, tmp_path):
    await load(store, ["US-OLB", "US-OLX"])
    async with store.connect() as conn:
        cid = await cluster_of(conn, "US-OLB", "4291884")
        before = (await conn.execute(sa.select(clusters.c.updated_at).where(
            clusters.c.id == cid))).scalar_one()
    # US-OLX's catalogue is replaced by another file: its Iliad record is deleted
    other = require_shared("data", "marc", "openlibrary", "bin_input", "bpl_0486266893.mrc")
    await ingest(store, "US-OLX", str(other), replace=True)
    async with store.connect() as conn:
        assert await cluster_of(conn, "US-OLX", "4291884") is None
        assert await cluster_of(conn, "US-OLB", "4291884") == cid   # the id stays
        row = (await conn.execute(sa.select(clusters).where(clusters.c.id == cid))).one()
        assert row.record_count == 1 and not row.deleted and row.updated_at >= before
    # and back again
    await load(store, ["US-OLX"])
    async with store.connect() as conn:
        assert await cluster_of(conn, "US-OLX", "4291884") == cid


async def test_a_cluster_losing_its_last_record_is_kept_as_deleted(store):
    await load(store, ["US-BPL"])
    async with store.connect() as conn:
        cid = await cluster_of(conn, "US-BPL", "329765")
    other = require_shared("data", "marc", "openlibrary", "bin_input", "lc_1416500308.mrc")
    await ingest(store, "US-BPL", str(other), replace=True)
    async with store.connect() as conn:
        row = (await conn.execute(sa.select(clusters).where(clusters.c.id == cid))).one()
    assert row.deleted and row.record_count == 0 and row.merged["title"]


async def test_split_and_merge_persist_through_reingest_and_rebuild(store):
    await load(store, ["US-OLB", "US-OLX", "US-BPL"])
    async with store.begin() as conn:
        iliad = await cluster_of(conn, "US-OLB", "4291884")
        result = await decisions.split(conn, iliad, "US-OLX", "4291884", reason="test")
        assert result["new_cluster_id"] != iliad
    await load(store, ["US-OLX"])                     # a re-harvest changes nothing
    async with store.begin() as conn:
        await rebuild(conn)
        a = await cluster_of(conn, "US-OLB", "4291884")
        b = await cluster_of(conn, "US-OLX", "4291884")
        candide = await cluster_of(conn, "US-BPL", "329765")
        assert a != b
        merged = await decisions.merge(conn, a, candide, reason="staff know better")
        assert merged["cluster_id"] in (a, candide)
        await rebuild(conn)
        assert await cluster_of(conn, "US-OLB", "4291884") == await cluster_of(
            conn, "US-BPL", "329765")
        assert await cluster_of(conn, "US-OLX", "4291884") == b
        info = await explain(conn, a)
    assert any(link["rule"] == "staff-merge" for link in info["links"])
    assert {d["kind"] for d in info["decisions"]} == {"split", "merge"}


async def test_check_finds_and_repairs_an_inconsistent_index(store):
    await load(store, ["US-OLB", "US-OLX", "US-LOC"])
    async with store.begin() as conn:
        assert (await check(conn))["consistent"]
        rid = await conn.scalar(sa.select(records.c.id).where(records.c.local_id == "11939876"))
        await conn.execute(cluster_records.delete().where(cluster_records.c.record_id == rid))
        await conn.execute(match_keys.delete().where(match_keys.c.record_id == rid))
    async with store.begin() as conn:
        report = await check(conn)
        assert not report["consistent"] and report["unclustered"] == 1
        assert report["without_keys"] == 1
        await check(conn, repair=True)
    async with store.begin() as conn:
        assert (await check(conn))["consistent"]


async def test_clustering_does_not_depend_on_ingest_order(store):
    forward = ["US-OLB", "US-OLX", "US-LOC", "US-SUM", "US-BRK", "US-BRU"]
    await load(store, forward)
    async with store.begin() as conn:
        first = await partition(conn)
        await conn.execute(cluster_records.delete())
        await conn.execute(match_keys.delete())
    # re-cluster record by record, newest first: the incremental path must end the same
    async with store.begin() as conn:
        ids = list((await conn.execute(sa.select(records.c.id).order_by(
            records.c.id.desc()))).scalars())
        from gateway.index import recluster_records
        for rid in ids:
            await recluster_records(conn, [rid])
        assert await partition(conn) == first


async def test_hooks_hear_about_changed_clusters(store):
    heard: list[set[int]] = []

    async def listener(conn, ids):
        heard.append(set(ids))
    hooks.register(listener)
    try:
        await load(store, ["US-OLB", "US-OLX"])
    finally:
        hooks.unregister(listener)
    async with store.connect() as conn:
        cid = await cluster_of(conn, "US-OLB", "4291884")
    assert cid in heard[-1]


async def test_cluster_api(aiohttp_client, store, settings):
    await load(store, ["US-OLB", "US-OLX", "US-BPL"])
    client = await aiohttp_client(create_app(settings, store=store))
    record = await (await client.get("/api/records/US-OLB/4291884")).json()
    cid = record["cluster_id"]
    body = await (await client.get(f"/api/clusters/{cid}")).json()
    assert body["record_count"] == 2 and len(body["records"]) == 2
    assert body["merged"]["title"] == "The Iliad of Homer"
    why = await (await client.get(f"/api/clusters/{cid}/explain")).json()
    assert why["links"][0]["evidence"]
    assert (await client.get("/api/clusters/999999")).status == 404
    assert (await client.get("/api/clusters/abc")).status == 400
    resp = await client.post(f"/api/clusters/{cid}/split",
                             json={"member": "US-OLX", "local_id": "4291884"})
    assert resp.status == 401
    resp = await client.post(f"/api/clusters/{cid}/split", headers=ADMIN,
                             json={"member": "US-OLX", "local_id": "4291884"})
    assert resp.status == 200, await resp.text()
    other = (await resp.json())["new_cluster_id"]
    resp = await client.post("/api/clusters/merge", headers=ADMIN, json={"clusters": [cid, other]})
    assert resp.status == 200, await resp.text()
    assert (await client.post("/api/clusters/merge", headers=ADMIN,
                              json={"clusters": [cid]})).status == 400
    stats = await (await client.get("/api/stats")).json()
    assert stats["clusters"] == 2


async def test_removing_a_member_updates_its_clusters(store):
    await load(store, ["US-OLB", "US-OLX", "US-BPL"])
    async with store.connect() as conn:
        iliad = await cluster_of(conn, "US-OLB", "4291884")
        candide = await cluster_of(conn, "US-BPL", "329765")
    await registry.remove_member(store, "US-OLX")
    await registry.remove_member(store, "US-BPL")
    async with store.connect() as conn:
        rows = {r.id: r for r in (await conn.execute(sa.select(clusters))).all()}
        assert (await check(conn))["consistent"]
    assert rows[iliad].record_count == 1 and not rows[iliad].deleted
    assert [h["member"] for h in rows[iliad].merged["holdings"]] == ["US-OLB"]
    assert rows[candide].deleted and rows[candide].record_count == 0


async def test_concurrent_ingests_of_twins_end_in_one_cluster(store):
    import asyncio
    for code in ("US-OLB", "US-OLX", "US-LOC", "US-SUM"):
        await registry.add_member(store, code, code)
    paths = {code: str(require_shared("data", "marc", *FILES[code].split("/")))
             for code in ("US-OLB", "US-OLX", "US-LOC", "US-SUM")}
    await asyncio.gather(*(ingest(store, code, path) for code, path in paths.items()))
    async with store.begin() as conn:
        assert await cluster_of(conn, "US-OLB", "4291884") == await cluster_of(
            conn, "US-OLX", "4291884")
        assert await cluster_of(conn, "US-LOC", "12883376") == await cluster_of(
            conn, "US-SUM", "12883376")
        assert (await check(conn))["consistent"]
