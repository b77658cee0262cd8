"""The bulk rebuild (gateway/index/bulk.py) gives what the incremental path gives: the same
clusters, links, merged records, search rows and results, and OAI sets — on a few hundred real
records, some catalogued by two members."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from gateway import registry
from gateway.index.rebuild import rebuild
from gateway.index.search import search
from gateway.ingest import ingest
from gateway.store.schema import (
    cluster_holders, cluster_identifiers, cluster_languages, cluster_links, cluster_records,
    cluster_sets, clusters, match_keys, records, search_docs,
)
from protocols.matching import profile_of
from protocols.matching.keys import PROFILE_VERSION, stored_profile
from protocols.oaipmh.provider import set_specs_for
from protocols.search_query import parse_query
from protocols.union import UnionRecord
from tests.gateway.test_clusters import FILES, cluster_groups
from tests.shared_data import require_shared

CATALOGUES = {
    **FILES,
    "FR-LUA": "evergreen/lul_fre_100.mrc", "FR-LUB": "evergreen/lul_fre_100.mrc",
    "US-FOA": "folio/sample100.mrc", "US-FOB": "folio/sample100.mrc",
}
# (equal scores are ordered by cluster id, which differs after scenario 2: the hits are
# compared as a set with their scores, on queries whose matches fit on one page)
QUERIES = ["histoire", "france", "homer", "summerland", "paris", "music"]


async def load(store) -> None:
    for code, path in CATALOGUES.items():
        await registry.add_member(store, code, code)
        await ingest(store, code, str(require_shared("data", "marc", *path.split("/"))))


async def snapshot(conn) -> dict:
    """Everything the index derives, keyed by each cluster's records (ids may differ)."""
    groups = await cluster_groups(conn)
    key_of = {cid: tuple(sorted(g)) for cid, g in groups.items()}

    async def per_cluster(table, *columns) -> dict:
        out: dict = {}
        for row in (await conn.execute(sa.select(table.c.cluster_id, *columns))).all():
            if row[0] in key_of:
                out.setdefault(key_of[row[0]], []).append(tuple(row[1:]))
        return {k: sorted(v, key=repr) for k, v in out.items()}

    merged = {}
    for row in (await conn.execute(sa.select(clusters).where(
            clusters.c.id.in_(list(key_of))))).all():
        m = dict(row.merged)
        m.pop("cluster_id", None)
        merged[key_of[row.id]] = (row.deleted, row.record_count, row.title, row.year,
                                  row.format, json.dumps(m, sort_keys=True))
    document = (sa.cast(search_docs.c.document, sa.Text)
                if conn.dialect.name == "postgresql" else search_docs.c.document)
    snap = {
        "merged": merged,
        "links": await per_cluster(cluster_links, cluster_links.c.record_a,
                                   cluster_links.c.record_b, cluster_links.c.rule,
                                   sa.cast(cluster_links.c.evidence, sa.Text)),
        "sets": await per_cluster(cluster_sets, cluster_sets.c.set_spec),
        "docs": await per_cluster(search_docs, search_docs.c.year, search_docs.c.format,
                                  search_docs.c.lendable, search_docs.c.holder_count,
                                  search_docs.c.languages, search_docs.c.holders, document),
        "identifiers": await per_cluster(cluster_identifiers, cluster_identifiers.c.kind,
                                         cluster_identifiers.c.value),
        "holders": await per_cluster(cluster_holders, cluster_holders.c.member,
                                     cluster_holders.c.lendable),
        "languages": await per_cluster(cluster_languages, cluster_languages.c.language),
        "keys": sorted((await conn.execute(sa.select(
            match_keys.c.record_id, match_keys.c.kind, match_keys.c.value))).all()),
        "search": {},
    }
    if conn.dialect.name == "sqlite":
        fts = (await conn.execute(sa.text(
            "SELECT rowid, title, author, subject, other FROM search_fts"))).all()
        snap["fts"] = sorted((key_of[r[0]], *r[1:]) for r in fts if r[0] in key_of)
    for text in QUERIES:
        result = await search(conn, parse_query(text, limit=100))
        snap["search"][text] = (result.total, sorted(
            (key_of[h.cluster_id], round(h.score, 6)) for h in result.hits), result.facets)
    return snap


async def index_definitions(conn) -> list:
    """SQLite: every index the schema has (a rebuild drops some for its bulk inserts)."""
    if conn.dialect.name != "sqlite":
        return []
    return sorted((await conn.exec_driver_sql(
        "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index'")).all())


# workers=1: profiles, merged records and search rows made in a worker process (spawned),
# as a large store's rebuild does; 0: in this process
@pytest.mark.parametrize("workers", [0, 1])
async def test_bulk_rebuild_matches_the_incremental_path(store, workers):
    await load(store)
    async with store.connect() as conn:
        incremental = await snapshot(conn)
        ids_before = dict((await conn.execute(sa.select(clusters.c.id, clusters.c.updated_at)))
                          .all())
        indexes = await index_definitions(conn)
    assert len(incremental["merged"]) > 150
    assert any(len(k) > 1 for k in incremental["merged"])        # real duplicates
    totals = {q: r[0] for q, r in incremental["search"].items()}
    assert all(0 < total < 100 for total in totals.values()), totals

    # 1. over the index the incremental path built: nothing moves, no datestamp changes
    async with store.begin() as conn:
        report = await rebuild(conn, workers=workers)
    assert set(report["timings"]) == {"clustering", "search", "sets"}
    async with store.connect() as conn:
        assert await snapshot(conn) == incremental
        assert dict((await conn.execute(sa.select(clusters.c.id, clusters.c.updated_at)))
                    .all()) == ids_before
        assert await index_definitions(conn) == indexes

    # 2. from an empty index (every cluster new, written by the bulk insert path)
    async with store.begin() as conn:
        for table in (cluster_links, cluster_records, match_keys, cluster_sets,
                      cluster_languages, cluster_holders, cluster_identifiers, search_docs):
            await conn.execute(sa.delete(table))
        if conn.dialect.name == "sqlite":
            await conn.execute(sa.text("DELETE FROM search_fts"))
        await conn.execute(clusters.update().values(deleted=True))
        await rebuild(conn, workers=workers)
    async with store.connect() as conn:
        assert await snapshot(conn) == incremental
        assert await index_definitions(conn) == indexes


# planning: on SQLite the match-key indexes are being built meanwhile, on the same connection
@pytest.mark.parametrize("failing", ["gateway.index.rebuild.plan_clusters",
                                     "gateway.index.bulk.merge_clusters"])
async def test_a_failed_rebuild_leaves_the_index_as_it_was(store, monkeypatch, failing):
    """One transaction: the rows, and on SQLite the indexes it dropped for the bulk insert,
    come back when the rebuild fails half-way (while planning, or merging the clusters)."""
    await load(store)
    async with store.connect() as conn:
        before = await snapshot(conn)
        indexes = await index_definitions(conn)

    def broken(*_args, **_kwargs):
        raise RuntimeError("step failed")

    monkeypatch.setattr(failing, broken)
    with pytest.raises(RuntimeError, match="step failed"):
        async with store.begin() as conn:
            await rebuild(conn, workers=0)
    async with store.connect() as conn:
        assert await index_definitions(conn) == indexes
        assert await snapshot(conn) == before


async def test_a_cluster_emptied_by_rebuild_is_deleted_and_keeps_sets_for_harvesters(store):
    await load(store)
    async with store.begin() as conn:
        # a stale membership: one record moved into a cluster of its own by hand
        rid, cid = (await conn.execute(sa.select(cluster_records.c.record_id,
                                                 cluster_records.c.cluster_id)
                                       .order_by(cluster_records.c.record_id))).first()
        merged = await conn.scalar(sa.select(clusters.c.merged).where(clusters.c.id == cid))
        stray = (await conn.execute(clusters.insert().values(
            merged=merged, record_count=1, created_at=sa.func.now(),
            updated_at=sa.func.now()).returning(clusters.c.id))).scalar_one()
        await conn.execute(cluster_records.update().where(cluster_records.c.record_id == rid)
                           .values(cluster_id=stray))
        await rebuild(conn)
        row = (await conn.execute(sa.select(clusters).where(clusters.c.id == stray))).one()
        assert row.deleted and row.record_count == 0
        assert await conn.scalar(sa.select(cluster_records.c.cluster_id).where(
            cluster_records.c.record_id == rid)) == cid
        assert (await conn.scalar(sa.select(sa.func.count()).select_from(search_docs).where(
            search_docs.c.cluster_id == stray))) == 0
        # the ordinary listener gave the deleted cluster the sets of its last merged record
        # (so set-filtered incremental harvests see the deletion)
        assert set((await conn.execute(sa.select(cluster_sets.c.set_spec).where(
            cluster_sets.c.cluster_id == stray))).scalars()) == set(
            set_specs_for(UnionRecord.from_dict(merged)))


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)   # the memory map is SQLite's
async def test_a_sqlite_rebuild_reads_unmapped_and_maps_again_even_when_it_fails(
        store, monkeypatch):
    """Through the memory map every page the rebuild read stayed in the process's resident
    set (1.5 GB at 500k records); it reads through the page cache, and the connection keeps
    its map for the searches that come after — also after a failed rebuild."""
    code, path = next(iter(CATALOGUES.items()))
    await registry.add_member(store, code, code)
    await ingest(store, code, str(require_shared("data", "marc", *path.split("/"))))
    import gateway.index.rebuild as rebuild_module
    during: list[int] = []
    original = rebuild_module._rebuild

    async def spy(conn, policy, offload):
        during.append(await conn.scalar(sa.text("PRAGMA mmap_size")))
        return await original(conn, policy, offload)
    monkeypatch.setattr(rebuild_module, "_rebuild", spy)
    async with store.begin() as conn:
        mapped = await conn.scalar(sa.text("PRAGMA mmap_size"))
        result = await rebuild(conn, workers=0)
        assert result["records"] > 0
        assert await conn.scalar(sa.text("PRAGMA mmap_size")) == mapped > 0
    monkeypatch.setattr("gateway.index.bulk.merge_clusters", lambda *_: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        async with store.begin() as conn:
            await rebuild(conn, workers=0)
    async with store.connect() as conn:
        assert await conn.scalar(sa.text("PRAGMA mmap_size")) == mapped
    assert during == [0, 0]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)   # workers read SQLite's file
async def test_sqlite_rebuild_workers_read_the_records_themselves(store, monkeypatch):
    """With worker processes on SQLite, this process sends ids and never streams the records'
    JSON (rebuild_direct); what comes out is what the incremental path built."""
    await load(store)
    async with store.connect() as conn:
        incremental = await snapshot(conn)

    def streamed(*_args, **_kwargs):
        raise AssertionError("the records were streamed through the rebuilding process")
    monkeypatch.setattr("gateway.index.rebuild.live_record_pages", streamed)
    monkeypatch.setattr("gateway.index.bulk.live_record_pages", streamed)
    async with store.begin() as conn:
        await rebuild(conn, workers=1)
    async with store.connect() as conn:
        assert await snapshot(conn) == incremental


async def test_a_rebuild_with_workers_sees_what_its_own_transaction_wrote(store):
    """A worker reading the file would see only committed rows: a transaction that changed a
    record before the rebuild is rebuilt from rows this process reads and ships."""
    await load(store)
    async with store.begin() as conn:
        rid, normalized = (await conn.execute(sa.select(
            records.c.id, records.c.normalized).where(records.c.deleted.is_(False))
            .order_by(records.c.id))).first()
        changed = {**normalized, "title": "Zzyzx uncommitted title"}
        await conn.execute(records.update().where(records.c.id == rid).values(
            normalized=changed, title=changed["title"]))
        await rebuild(conn, workers=1)
        cid = await conn.scalar(sa.select(cluster_records.c.cluster_id).where(
            cluster_records.c.record_id == rid))
        titles = [r["title"] for r in (await conn.execute(sa.select(clusters.c.merged).where(
            clusters.c.id == cid))).scalars()]
    assert titles == ["Zzyzx uncommitted title"]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
async def test_a_worker_that_cannot_find_a_clusters_record_names_it(store, tmp_path):
    await load(store)
    from gateway.index.rebuild_direct import merge_cluster_refs
    async with store.connect() as conn:
        rid = await conn.scalar(sa.select(sa.func.min(records.c.id)))
        members = {m: ("XX", "open") for m in (await conn.execute(
            sa.select(records.c.member_id).distinct())).scalars()}
    with pytest.raises(RuntimeError, match=r"records \[987654321\] are no longer live"):
        merge_cluster_refs(str(tmp_path / "libgate.db"), [
            (1, True, None, [(rid, None, True), (987654321, None, True)])], members, "sqlite")


async def live_ids(conn) -> list[int]:
    return list((await conn.execute(sa.select(records.c.id).where(
        records.c.deleted.is_(False) & (records.c.record_type == "bibliographic"))
        .order_by(records.c.id))).scalars())


async def test_ingest_stores_each_records_match_profile(store):
    await load(store)
    async with store.connect() as conn:
        rows = (await conn.execute(sa.select(
            records.c.id, records.c.local_id, records.c.normalized, records.c.match_profile)
            .where(records.c.id.in_(await live_ids(conn))))).all()
    assert len(rows) > 150
    for row in rows:
        assert json.loads(row.match_profile) == json.loads(json.dumps(stored_profile(
            profile_of(row.normalized, record_id=row.id, member="", local_id=row.local_id))))


@pytest.mark.parametrize("workers", [0, 1])
async def test_a_rebuild_trusts_stored_profiles_of_this_version_and_remakes_the_others(
        store, workers):
    await load(store)
    async with store.connect() as conn:
        incremental = await snapshot(conn)
        ids = await live_ids(conn)
    # none, or made by an older profile_of: made again from the records
    async with store.begin() as conn:
        await conn.execute(records.update().where(records.c.id.in_(ids[::2])).values(
            match_profile=json.dumps([PROFILE_VERSION - 1, *([None] * 13)])))
        await conn.execute(records.update().where(records.c.id.in_(ids[1::2])).values(
            match_profile=None))
    async with store.begin() as conn:
        await rebuild(conn, workers=workers)
    async with store.connect() as conn:
        assert await snapshot(conn) == incremental
    # of this version: taken as stored (a content key changed in the store shows in the keys)
    async with store.begin() as conn:
        rid, local_id, normalized = (await conn.execute(sa.select(
            records.c.id, records.c.local_id, records.c.normalized).where(
            records.c.id == ids[0]))).one()
        stored = stored_profile(profile_of(normalized, record_id=rid, member="",
                                           local_id=local_id))
        items = list(stored[-1])
        items[items.index("content") + 1] = "tampered"
        stored[-1] = items
        await conn.execute(records.update().where(records.c.id == rid).values(
            match_profile=json.dumps(stored)))
    async with store.begin() as conn:
        await rebuild(conn, workers=workers)
        contents = set((await conn.execute(sa.select(match_keys.c.value).where(
            (match_keys.c.record_id == rid) & (match_keys.c.kind == "content")))).scalars())
    assert contents == {"tampered"}


async def test_the_incremental_path_reads_stored_profiles_of_this_version_only(store):
    await load(store)
    from gateway.index.store import load_profiles, member_table
    async with store.begin() as conn:
        first, second = (await live_ids(conn))[:2]
        made = await load_profiles(conn, [first, second], await member_table(conn))
        for rid, version in ((first, PROFILE_VERSION), (second, PROFILE_VERSION - 1)):
            stored = stored_profile(made[rid])
            stored[0], stored[4] = version, "a title put in the store"
            await conn.execute(records.update().where(records.c.id == rid).values(
                match_profile=json.dumps(stored)))
        read = await load_profiles(conn, [first, second], await member_table(conn))
    assert read[first].title == "a title put in the store"
    assert read[second] == made[second]
