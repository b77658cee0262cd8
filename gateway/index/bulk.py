"""The bulk half of `libgate clusters rebuild`: merged records, search rows and OAI sets of
every cluster from one streaming pass over the records, and raw driver bulk inserts.

The incremental path (``engine.apply_plan`` → ``store.write_merged`` → ``hooks``) reads the
records of each changed cluster back by cluster, then the search index and the OAI sets each
read and parse the merged record again. For every cluster at once that is four JSON parses per
record and thousands of small statements. Here the records stream once in id order (with their
holdings), a cluster's merged record is built as soon as its last record has passed, and its
search document and set specs are derived from the merged record in hand. The results are the
same as the incremental path's (tests/gateway/test_rebuild_bulk.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.index.merge import SourceRecord, merge_cluster
from gateway.index.search import insert_documents
from gateway.index.store import chunks, live_record_pages
from gateway.index.search_sql import fts_row
from gateway.store.schema import (
    cluster_holders, cluster_identifiers, cluster_languages, cluster_sets, clusters, holdings,
    search_docs,
)
from protocols.oaipmh.provider import set_specs_for
from protocols.search_query import TEXT_COLUMNS, SearchDocument, search_document
from protocols.union import UnionRecord

PAGE = 5000
FLUSH = 2000


@dataclass(slots=True)
class Timings:
    """Seconds spent per part of a rebuild (the benchmark prints the split)."""

    clustering: float = 0.0
    search: float = 0.0
    sets: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {"clustering": self.clustering, "search": self.search, "sets": self.sets}


async def insert_rows(conn: AsyncConnection, table: sa.Table, columns: Sequence[str],
                      rows: Iterable[tuple], batch: int = 20000) -> None:
    """INSERT plain int/str/bool tuples. On SQLite through the raw DBAPI cursor's
    ``executemany`` (no per-row SQLAlchemy parameter processing); elsewhere Core executemany."""
    if conn.dialect.name == "sqlite":
        sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' for _ in columns)})")
        for part in chunks(rows, batch):
            await conn.exec_driver_sql(sql, part)
        return
    for part in chunks(rows, batch // 4):
        await conn.execute(table.insert(), [dict(zip(columns, row)) for row in part])


@dataclass(slots=True)
class MergePlan:
    """What the streaming merge needs to know about the new clustering (no profiles)."""

    cluster_of: dict[int, int]                     # record id → cluster id
    size_of: dict[int, int]                        # cluster id → record count
    rule_of: dict[int, str]                        # record id → rule that attached it
    fresh: set[int]                                # cluster ids to insert (new clusters)
    stamp: datetime
    member_info: dict[int, tuple[str, str]]
    timings: Timings = field(default_factory=Timings)


async def clear_search_and_sets(conn: AsyncConnection, live_old: Iterable[int]) -> None:
    """Drop every search row (only live clusters have any) and the sets of the clusters that
    stay live (an emptied cluster's sets are left to ``refresh_sets``, which keeps them)."""
    from gateway.index.search import clear_search_index
    await clear_search_index(conn)
    for batch in chunks(sorted(live_old)):
        await conn.execute(sa.delete(cluster_sets).where(cluster_sets.c.cluster_id.in_(batch)))


async def merge_all(conn: AsyncConnection, plan: MergePlan) -> None:
    """Stream every clustered record once; write each cluster's merged record, search rows
    and set memberships as soon as its last record has passed. The time not spent on search
    rows and sets counts as clustering."""
    started = time.perf_counter()
    others = plan.timings.search + plan.timings.sets
    pending: dict[int, list[SourceRecord]] = {}
    done: list[tuple[int, int, UnionRecord, dict[str, Any]]] = []
    async for rows in live_record_pages(conn, PAGE):
        first, last = rows[0].id, rows[-1].id
        held: dict[int, list[dict[str, Any]]] = {}
        for h in (await conn.execute(sa.select(holdings).where(
                holdings.c.record_id.between(first, last))
                .order_by(holdings.c.record_id, holdings.c.id))).all():
            held.setdefault(h.record_id, []).append(h._mapping)
        for r in rows:
            cid = plan.cluster_of.get(r.id)
            if cid is None:
                continue
            code, status = plan.member_info[r.member_id]
            group = pending.setdefault(cid, [])
            group.append(SourceRecord(record_id=r.id, member=code, local_id=r.local_id,
                                      normalized=r.normalized, member_status=status,
                                      rule=plan.rule_of.get(r.id),
                                      holdings=held.get(r.id, [])))
            if len(group) == plan.size_of[cid]:
                del pending[cid]
                union = merge_cluster(cid, group)
                done.append((cid, len(group), union, union.to_dict()))
        if len(done) >= FLUSH:
            await _flush(conn, done, plan)
            done = []
    if pending:
        raise RuntimeError(f"rebuild: clusters {sorted(pending)[:5]} lost records while "
                           "merging (records changed during the rebuild?)")
    await _flush(conn, done, plan)
    plan.timings.clustering += (time.perf_counter() - started
                                - (plan.timings.search + plan.timings.sets - others))


async def _flush(conn: AsyncConnection,
                 done: list[tuple[int, int, UnionRecord, dict[str, Any]]],
                 plan: MergePlan) -> None:
    """Write merged records (each as built and as its dict), their search rows and sets."""
    if not done:
        return
    existing = [cid for cid, _n, _u, _m in done if cid not in plan.fresh]
    before: dict[int, Any] = {}
    for batch in chunks(existing):
        before.update((await conn.execute(sa.select(clusters.c.id, clusters.c.merged).where(
            clusters.c.id.in_(batch) & clusters.c.deleted.is_(False)))).all())
    inserts, updates = [], []
    for cid, count, _union, merged in done:
        row = {"deleted": False, "record_count": count, "title": merged["title"],
               "year": merged["year"], "format": merged["format"], "merged": merged,
               "updated_at": plan.stamp}
        if cid in plan.fresh:
            inserts.append({"id": cid, "created_at": plan.stamp, **row})
        elif before.get(cid) != merged:
            updates.append({"_id": cid, **row})
    if inserts:
        await conn.execute(clusters.insert(), inserts)
    if updates:
        await conn.execute(clusters.update().where(clusters.c.id == sa.bindparam("_id"))
                           .values({k: sa.bindparam(k) for k in updates[0] if k != "_id"}),
                           updates)
    unions = [union for _cid, _n, union, _m in done]
    mid = time.perf_counter()
    await _insert_documents(conn, [search_document(u) for u in unions])
    mid2 = time.perf_counter()
    plan.timings.search += mid2 - mid
    await insert_rows(conn, cluster_sets, ("cluster_id", "set_spec"), (
        (u.cluster_id, spec) for u in unions for spec in dict.fromkeys(set_specs_for(u))))
    plan.timings.sets += time.perf_counter() - mid2


async def _insert_documents(conn: AsyncConnection, docs: Sequence[SearchDocument]) -> None:
    """search.insert_documents; on SQLite the same rows through raw executemany."""
    if conn.dialect.name != "sqlite":
        await insert_documents(conn, docs)
        return
    await insert_rows(conn, search_docs, ("cluster_id", "year", "format", "lendable",
                                          "holder_count", "languages", "holders"), (
        (d.cluster_id, d.year, d.format, d.lendable, len(d.holders), " ".join(d.languages),
         " ".join(m for m, _ in d.holders)) for d in docs))
    await conn.exec_driver_sql(
        f"INSERT INTO search_fts (rowid, {', '.join(TEXT_COLUMNS)}) "
        f"VALUES (?, {', '.join('?' for _ in TEXT_COLUMNS)})",
        [tuple(row.values()) for row in map(fts_row, docs)])
    await insert_rows(conn, cluster_identifiers, ("cluster_id", "kind", "value"), (
        (d.cluster_id, k, v) for d in docs for k, v in d.identifiers))
    await insert_rows(conn, cluster_holders, ("cluster_id", "member", "lendable"), (
        (d.cluster_id, m, lends) for d in docs for m, lends in d.holders))
    await insert_rows(conn, cluster_languages, ("cluster_id", "language"), (
        (d.cluster_id, lang) for d in docs for lang in d.languages))
