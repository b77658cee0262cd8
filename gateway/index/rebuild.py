"""`libgate clusters rebuild` and `libgate clusters check`.

``rebuild`` re-clusters every record in two streaming passes over the records, in one
transaction (atomic: a failed rebuild leaves the index as it was; it opens before the first
pass, so both passes read one snapshot). The first pass makes every record's profile and
writes its match keys; the same ``plan_clusters`` as the incremental path then runs over all
of them (union-find); the second pass (``gateway.index.bulk``) builds each cluster's merged
record, search rows and OAI sets as soon as its last record has passed, and memberships and
links follow in bulk. Cluster ids stay stable (see ``store.assign_ids``); a merged record
that comes out unchanged keeps its ``updated_at``.

Where the time goes, and what was done about it (measured with bench/cluster.py):
the per-record Python work — JSON parse, profile, merged record, search document — runs in
worker processes (``gateway.index.rebuild_work``, ``cluster_rebuild_workers``) while this
process reads and writes; on SQLite the workers read the records from the file themselves
(``gateway.index.rebuild_direct``: this process sends ids, not every record's JSON twice);
each record's profile is read from the store (``records.match_profile``), made again only
where it is missing or of another version; automatic cyclic GC is off (every collection
walked all profiles); on SQLite the secondary indexes of the rewritten tables are built
after the bulk insert, and new clusters are numbered in the order they are written, so
every table keyed by cluster id (FTS5 included) is appended to in order. What is left is
mostly SQLite's own work on one connection (FTS5 tokenizing, B-tree inserts, the WAL: 52 µs
a record at 500,000), the merged records and search documents in the workers, and
``plan_clusters``.

``check`` finds what is inconsistent — live records outside any cluster, memberships of
deleted records, clusters whose record count or deleted flag is wrong, records without keys,
and groups the rules would form differently today (a key that crossed the frequency limit, a
changed setting) — and with ``repair`` re-clusters the records involved.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.index import hooks
from gateway.index.bulk import (
    MergePlan, clear_search_and_sets, create_indexes, drop_indexes, insert_rows,
    merge_all, merge_all_direct,
)
from gateway.index.engine import decision_pairs, recluster_records, serialize_clustering
from gateway.index.policy import ClusterPolicy, current_policy
from gateway.index.rebuild_direct import range_profile_tuples
from gateway.index.rebuild_work import page_profile_tuples, page_profiles, without_cyclic_gc
from gateway.index.search import reindex_clusters
from gateway.index.store import (
    assign_ids, chunks, decisions, live_record_pages, member_table, now,
)
from gateway.oai_provider import refresh_sets
from gateway.store.engine import unmapped
from gateway.store.schema import cluster_links, cluster_records, clusters, match_keys, records
from gateway.workers import Offload, discard
from protocols.matching import Link, Profile, plan_clusters

PAGE = 5000
PROFILE_BATCH = 1000            # records per piece of profile work
# below this many records, starting worker processes costs more than it saves
WORKERS_FROM_RECORDS = 20_000


async def _all_profiles(conn: AsyncConnection, member_info: dict[int, tuple[str, str]],
                        offload: Offload, *, write_keys: bool = False,
                        direct: str | None = None) -> list[Profile]:
    """The profile of every live record, in id order (made by ``offload``'s workers while
    the next pages are read). ``write_keys``: insert each batch's match keys as it comes
    back (the database works while the workers make the next batches). ``direct``: the
    SQLite file the workers read the records from themselves, given ranges of ids
    (``rebuild_direct``)."""
    profiles: list[Profile] = []
    in_flight: deque[asyncio.Future[list]] = deque()
    depth = max(1, 2 * offload.workers)

    async def take() -> None:
        made = await in_flight.popleft()
        if offload.workers:
            made = [Profile(*fields) for fields in made]
        profiles.extend(made)
        if write_keys:
            await insert_rows(conn, match_keys, ("record_id", "kind", "value"), [
                (p.record_id, items[k], items[k + 1])
                for p in made for items in (p.key_items,) for k in range(0, len(items), 2)])

    try:
        async for piece in _profile_work(conn, member_info, offload, direct):
            in_flight.append(piece)
            while len(in_flight) > depth:
                await take()
        while in_flight:
            await take()
    finally:
        discard(in_flight)
    return profiles


async def _profile_work(conn: AsyncConnection, member_info: dict[int, tuple[str, str]],
                        offload: Offload, direct: str | None
                        ) -> AsyncIterator[asyncio.Future[list]]:
    """The profile work of every live record, in id order, PROFILE_BATCH records a piece:
    ranges of ids that the workers read themselves (``direct``), or pages this process reads
    and ships."""
    if direct:
        codes = {member_id: code for member_id, (code, _status) in member_info.items()}
        first, last = (await conn.execute(sa.select(
            sa.func.min(records.c.id), sa.func.max(records.c.id)))).one()
        if first is None:
            return
        for start in range(first, last + 1, PROFILE_BATCH):
            yield offload.submit(range_profile_tuples, direct, start,
                                 min(start + PROFILE_BATCH - 1, last), codes)
        return
    work = page_profile_tuples if offload.workers else page_profiles
    async for rows in live_record_pages(conn, PAGE, with_profile=True):
        texts = [(rid, member_info[member_id][0], local_id, text, stored)
                 for rid, member_id, local_id, text, stored in rows]
        for part in chunks(texts, PROFILE_BATCH):
            yield offload.submit(work, part)


async def _readable_file(conn: AsyncConnection, offload: Offload) -> str | None:
    """The SQLite file the workers may read the records from themselves
    (``gateway.index.rebuild_direct``), or None: PostgreSQL, no workers, a database not in a
    file, or a transaction that has already written (a worker would not see its rows, not
    yet committed). Asked before the rebuild's first write."""
    if conn.dialect.name != "sqlite" or not offload.workers:
        return None
    path = conn.engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    raw = await conn.get_raw_connection()
    if raw.driver_connection.in_transaction:
        return None
    return os.path.abspath(path)


async def _worker_count(conn: AsyncConnection, policy: ClusterPolicy) -> int:
    """``policy.rebuild_workers`` — none for a small store (count(*) of every record, an
    index scan: the deleted and non-bibliographic ones are few)."""
    if policy.rebuild_workers <= 0:
        return 0
    total = await conn.scalar(sa.select(sa.func.count()).select_from(records))
    return policy.rebuild_workers if (total or 0) >= WORKERS_FROM_RECORDS else 0


async def _all_memberships(conn: AsyncConnection) -> dict[int, int]:
    return dict((await conn.execute(sa.select(cluster_records.c.record_id,
                                              cluster_records.c.cluster_id))).all())


async def rebuild(conn: AsyncConnection, *, policy: ClusterPolicy | None = None,
                  workers: int | None = None) -> dict[str, Any]:
    """Re-cluster every record; returns counts (records, clusters, changed) and ``timings``
    (seconds of clustering, search rows and OAI sets).

    The same ``plan_clusters`` and ``assign_ids`` as the incremental path; the writing is the
    bulk path of ``gateway.index.bulk`` (one streaming pass builds every merged record, its
    search rows and its sets), and the standing change listeners are told not to redo them.

    The CPU work on each record (its profile; each cluster's merged record, search rows and
    sets) runs in ``workers`` processes (default: ``policy.rebuild_workers``, none for a small
    store) while this process reads and writes; the results are the same either way."""
    policy = policy or current_policy()
    with without_cyclic_gc():
        if workers is None:
            workers = await _worker_count(conn, policy)
        async with unmapped(conn):          # it reads the whole file
            with Offload(workers) as offload:
                return await _rebuild(conn, policy, offload)


async def _rebuild(conn: AsyncConnection, policy: ClusterPolicy, offload: Offload
                   ) -> dict[str, Any]:
    started = time.perf_counter()
    direct = await _readable_file(conn, offload)
    await serialize_clustering(conn)
    member_info = await member_table(conn)
    # the first write: on SQLite the transaction opens here, so both passes over the records
    # read one snapshot (and it takes the write lock: what the workers of the direct path
    # read cannot change until it commits)
    await conn.execute(match_keys.delete())
    indexes = await drop_indexes(conn)
    ordered = await _all_profiles(conn, member_info, offload, write_keys=True, direct=direct)
    record_count = len(ordered)
    old = await _all_memberships(conn)
    ordered.sort(key=lambda p: p.sort_key)
    all_decisions = await decisions(conn)
    merges, splits = decision_pairs(all_decisions, {
        (p.member, p.local_id): p.record_id for p in ordered} if all_decisions else {})
    # SQLite builds the match-key indexes on its own thread (the GIL released) while the
    # plan is made on another: the two longest steps that each keep one core busy overlap
    keys_indexed = asyncio.ensure_future(create_indexes(conn, indexes, ("match_keys",)))
    try:
        plan = await asyncio.to_thread(
            plan_clusters, ordered, policy=policy.match_policy, key_limit=policy.key_limit,
            max_size=policy.max_size, merges=merges, splits=splits)
    finally:
        await keys_indexed             # the connection is used by one statement at a time
    del ordered                            # the merge pass below needs no profiles
    chosen = assign_ids(plan.groups, old)
    stamp = now()
    # new clusters are numbered in the order the merge pass finishes them (by their last
    # record id), so clusters, search rows, the text index and sets are appended to in key
    # order instead of at 40 places at once (a store's records come member by member)
    last_record = [max(group.record_ids) for group in plan.groups]
    needing = sorted((i for i, cid in enumerate(chosen) if cid is None),
                     key=last_record.__getitem__)
    fresh_ids = await _allocate_cluster_ids(conn, len(needing))
    for i, cid in zip(needing, fresh_ids, strict=True):
        chosen[i] = cid
    merge_plan = MergePlan(cluster_of={}, size_of={}, rule_of={}, fresh=fresh_ids,
                           stamp=stamp, member_info=member_info, old=old)
    links: list[tuple[int, Link]] = []
    for group, cid in zip(plan.groups, chosen, strict=True):
        merge_plan.size_of[cid] = len(group.record_ids)
        for rid in group.record_ids:
            merge_plan.cluster_of[rid] = cid
        if group.links:
            # as store._attach_rules: the first link naming a record as b, else as a; the
            # seed (first in (member, local id) order) has no rule
            attached: dict[int, str] = {}
            for link in group.links:
                attached.setdefault(link.record_b, link.rule)
            for link in group.links:
                attached.setdefault(link.record_a, link.rule)
            attached.pop(group.record_ids[0], None)
            merge_plan.rule_of.update(attached)
            links.extend((cid, link) for link in group.links)
    # the direct path hands out each cluster's record ids in the order the streaming pass
    # would finish the clusters (by their last record id)
    in_order = [(chosen[i], plan.groups[i].record_ids)
                for i in sorted(range(len(chosen)), key=last_record.__getitem__)] if direct else []
    del plan, chosen, last_record
    new_of = merge_plan.cluster_of
    old_ids = set(old.values())
    emptied = old_ids - merge_plan.size_of.keys()
    timings = merge_plan.timings
    timings.clustering += time.perf_counter() - started

    await clear_search_and_sets(conn, old_ids - emptied)
    if direct:
        await merge_all_direct(conn, merge_plan, offload, direct, in_order)
        del in_order
    else:
        await merge_all(conn, merge_plan, offload)
    started = time.perf_counter()
    for batch in chunks(sorted(emptied)):
        await conn.execute(clusters.update().where(clusters.c.id.in_(batch)).values(
            deleted=True, record_count=0, updated_at=stamp))
    moved = sorted(rid for rid, cid in old.items() if new_of.get(rid) != cid)
    if len(merge_plan.memberships) > len(new_of) // 2:
        # most memberships are new (a first rebuild): its indexes too are built from sorted
        # data after the insert (100k records: 0.78 -> 0.55 s)
        indexes += await drop_indexes(conn, ("cluster_records",))
    for batch in chunks(moved):
        await conn.execute(cluster_records.delete().where(cluster_records.c.record_id.in_(batch)))
    # (record id, cluster id, member id) of every record whose cluster changed, in id order
    await insert_rows(conn, cluster_records, ("record_id", "cluster_id", "member_id"),
                      merge_plan.memberships)
    await conn.execute(cluster_links.delete())     # a deleted cluster has no links
    for batch in chunks(links, 5000):
        await conn.execute(cluster_links.insert(), [
            {"cluster_id": cid, "record_a": link.record_a, "record_b": link.record_b,
             "rule": link.rule, "evidence": link.evidence, "created_at": stamp}
            for cid, link in batch])
    await create_indexes(conn, indexes, ("cluster_links", "cluster_records"))
    timings.clustering += time.perf_counter() - started
    started = time.perf_counter()
    await create_indexes(conn, indexes, ("search_docs", "cluster_identifiers",
                                         "cluster_holders", "cluster_languages"))
    timings.search += time.perf_counter() - started
    started = time.perf_counter()
    await create_indexes(conn, indexes, ("cluster_sets",))
    timings.sets += time.perf_counter() - started
    if emptied:                     # the ordinary listeners: they keep a dissolved one's sets
        started = time.perf_counter()
        await reindex_clusters(conn, emptied)
        timings.search += time.perf_counter() - started
        started = time.perf_counter()
        await refresh_sets(conn, emptied)
        timings.sets += time.perf_counter() - started
    changed = merge_plan.size_of.keys() | emptied
    await hooks.clusters_changed(conn, changed, standing=False)
    return {"records": record_count, "clusters": len(merge_plan.size_of),
            "changed": len(changed), "timings": timings.as_dict()}


async def _allocate_cluster_ids(conn: AsyncConnection, count: int) -> range:
    """``count`` new cluster ids after max(id); the rows are inserted with their merged
    record. The rebuild holds the write lock for its whole transaction."""
    if count == 0:
        return range(0)
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("LOCK TABLE clusters IN EXCLUSIVE MODE"))
    first = (await conn.scalar(sa.select(sa.func.max(clusters.c.id))) or 0) + 1
    last = first + count - 1
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text(
            "SELECT setval(pg_get_serial_sequence('clusters', 'id'), :last)"), {"last": last})
    return range(first, last + 1)


async def check(conn: AsyncConnection, *, repair: bool = False,
                policy: ClusterPolicy | None = None) -> dict[str, Any]:
    """Find inconsistent groups; with ``repair`` re-cluster the records involved."""
    policy = policy or current_policy()
    member_info = await member_table(conn)
    with Offload(0) as offload:
        profiles = {p.record_id: p for p in await _all_profiles(conn, member_info, offload)}
    old = await _all_memberships(conn)
    problems: dict[str, list[int]] = {
        "unclustered": sorted(set(profiles) - set(old)),
        "not_clusterable": sorted(set(old) - set(profiles)),
    }
    keyed = set((await conn.execute(sa.select(match_keys.c.record_id).distinct())).scalars())
    problems["without_keys"] = sorted(set(profiles) - keyed)
    counts = dict((await conn.execute(sa.select(cluster_records.c.cluster_id, sa.func.count())
                                      .group_by(cluster_records.c.cluster_id))).all())
    rows = (await conn.execute(sa.select(clusters.c.id, clusters.c.deleted,
                                         clusters.c.record_count))).all()
    problems["bad_counts"] = sorted(r.id for r in rows if r.record_count != counts.get(r.id, 0)
                                    or bool(r.deleted) != (counts.get(r.id, 0) == 0))
    ordered = sorted(profiles.values(), key=lambda p: p.sort_key)
    profiles.clear()                       # one reference to each profile is enough
    refs = {(p.member, p.local_id): p.record_id for p in ordered}
    merges, splits = decision_pairs(await decisions(conn), refs)
    plan = plan_clusters(ordered, policy=policy.match_policy, key_limit=policy.key_limit,
                         max_size=policy.max_size, merges=merges, splits=splits)
    current: dict[int, set[int]] = {}
    for rid, cid in old.items():
        current.setdefault(cid, set()).add(rid)
    wrong: set[int] = set()
    for group in plan.groups:
        members = set(group.record_ids)
        cids = {old.get(rid) for rid in members}
        if len(cids) != 1 or None in cids or current[next(iter(cids))] != members:
            wrong.update(members)
            wrong.update(rid for cid in cids if cid is not None for rid in current[cid])
    problems["regroup"] = sorted(wrong)
    involved = set().union(*problems.values())
    for cid in problems["bad_counts"]:
        involved.update(current.get(cid, ()))
    report: dict[str, Any] = {name: len(ids) for name, ids in problems.items()}
    report["examples"] = {name: ids[:10] for name, ids in problems.items() if ids}
    report["consistent"] = not involved
    report["repaired"] = False
    if repair and involved:
        changed = await recluster_records(conn, involved, policy=policy)
        for cid in problems["bad_counts"]:
            if cid not in changed:
                n = counts.get(cid, 0)
                await conn.execute(clusters.update().where(clusters.c.id == cid).values(
                    record_count=n, deleted=n == 0))
        report["repaired"] = True
        report["changed_clusters"] = len(changed)
    return report
