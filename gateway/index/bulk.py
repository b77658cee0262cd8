"""The bulk half of `libgate clusters rebuild`: merged records, search rows and OAI sets of
every cluster from one streaming pass over the records, and raw driver bulk inserts.

The incremental path (``engine.apply_plan`` → ``store.write_merged`` → ``hooks``) reads the
records of each changed cluster back by cluster, then the search index and the OAI sets each
read and parse the merged record again. For every cluster at once that is four JSON parses per
record and thousands of small statements. Here the records stream once in id order (with their
holdings); a cluster is handed on as soon as its last record has passed, and its merged
record, search rows and set specs are made together from the records' JSON by
``rebuild_work.merge_clusters`` — in worker processes when there are several cores, while
this process writes the rows of the batches before. On SQLite with workers,
``merge_all_direct`` sends each cluster's record ids instead and the workers read the
records themselves (``rebuild_direct``). The results are the same as the incremental
path's (tests/gateway/test_rebuild_bulk.py).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.index.rebuild_direct import merge_cluster_refs
from gateway.index.rebuild_work import MergedRows, SourceText, merge_clusters
from gateway.index.search_sql import pg_insert_docs
from gateway.index.store import chunks, live_record_pages
from gateway.store.engine import DumpedJSON
from gateway.store.schema import (
    cluster_holders, cluster_identifiers, cluster_languages, cluster_sets, clusters, holdings,
    search_docs,
)
from gateway.workers import Offload, discard
from protocols.search_query import TEXT_COLUMNS

PAGE = 5000
BATCH = 1000               # finished clusters per piece of work


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
    fresh: range                                   # cluster ids to insert (new clusters)
    stamp: datetime
    member_info: dict[int, tuple[str, str]]
    old: dict[int, int]                            # record id → cluster id before
    timings: Timings = field(default_factory=Timings)
    # filled by the merge pass, which reads every record's member id: (record id, cluster
    # id, member id) of each record whose cluster changed
    memberships: list[tuple[int, int, int]] = field(default_factory=list)

    def stamp_text(self, conn: AsyncConnection) -> str:
        """``stamp`` as the dialect's DateTime column stores it (for raw driver statements)."""
        column = clusters.c.updated_at.type
        return column.dialect_impl(conn.dialect).bind_processor(conn.dialect)(self.stamp)


async def clear_search_and_sets(conn: AsyncConnection, live_old: Iterable[int]) -> None:
    """Drop every search row (only live clusters have any) and the sets of the clusters that
    stay live (an emptied cluster's sets are left to ``refresh_sets``, which keeps them)."""
    from gateway.index.search import clear_search_index
    await clear_search_index(conn)
    for batch in chunks(sorted(live_old)):
        await conn.execute(sa.delete(cluster_sets).where(cluster_sets.c.cluster_id.in_(batch)))


async def merge_all(conn: AsyncConnection, plan: MergePlan, offload: Offload) -> None:
    """Stream every clustered record once; as soon as a cluster's last record has passed,
    hand it (in batches) to ``offload`` for its merged record, search rows and sets, and
    write what comes back. A few batches are in flight while the rows of earlier ones are
    written. The time not spent writing search rows and sets counts as clustering."""
    started = time.perf_counter()
    others = plan.timings.search + plan.timings.sets
    pending: dict[int, list[SourceText]] = {}
    ready: list[tuple[int, list[SourceText]]] = []
    in_flight: deque[asyncio.Future[MergedRows]] = deque()
    depth = max(1, 2 * offload.workers)
    try:
        async for rows in live_record_pages(conn, PAGE):
            held = await _holdings_between(conn, rows[0].id, rows[-1].id)
            for rid, member_id, local_id, text in rows:
                cid = plan.cluster_of.get(rid)
                if cid is None:
                    continue
                if plan.old.get(rid) != cid:
                    plan.memberships.append((rid, cid, member_id))
                code, status = plan.member_info[member_id]
                group = pending.setdefault(cid, [])
                group.append((rid, code, local_id, text, status, plan.rule_of.get(rid),
                              held.get(rid, ())))
                if len(group) == plan.size_of[cid]:
                    del pending[cid]
                    ready.append((cid, group))
                    if len(ready) >= BATCH:
                        in_flight.append(await _submit(conn, offload, ready, plan))
                        ready = []
            while len(in_flight) > depth:
                await _write(conn, await in_flight.popleft(), plan)
        if pending:
            raise RuntimeError(f"rebuild: clusters {sorted(pending)[:5]} lost records while "
                               "merging (records changed during the rebuild?)")
        if ready:
            in_flight.append(await _submit(conn, offload, ready, plan))
        while in_flight:
            await _write(conn, await in_flight.popleft(), plan)
    finally:
        discard(in_flight)
    plan.timings.clustering += (time.perf_counter() - started
                                - (plan.timings.search + plan.timings.sets - others))


async def merge_all_direct(conn: AsyncConnection, plan: MergePlan, offload: Offload,
                           path: str, in_order: Sequence[tuple[int, Sequence[int]]]) -> None:
    """``merge_all`` where the workers read the records from the SQLite file ``path``
    themselves (``rebuild_direct``): this process sends each cluster's record ids,
    ``in_order`` (cluster id, record ids) as the streaming pass would finish them."""
    started = time.perf_counter()
    others = plan.timings.search + plan.timings.sets
    in_flight: deque[asyncio.Future[MergedRows]] = deque()
    depth = max(1, 2 * offload.workers)
    try:
        for batch in chunks(in_order, BATCH):
            stored = await _stored_merged(conn, [cid for cid, _ids in batch
                                                 if cid not in plan.fresh])
            work = [(cid, cid in plan.fresh, stored.get(cid),
                     [(rid, plan.rule_of.get(rid), plan.old.get(rid) != cid) for rid in ids])
                    for cid, ids in batch]
            in_flight.append(offload.submit(merge_cluster_refs, path, work, plan.member_info,
                                            conn.dialect.name))
            while len(in_flight) > depth:
                await _write(conn, await in_flight.popleft(), plan)
        while in_flight:
            await _write(conn, await in_flight.popleft(), plan)
    finally:
        discard(in_flight)
    plan.memberships.sort()                # inserted in record id order (the primary key)
    plan.timings.clustering += (time.perf_counter() - started
                                - (plan.timings.search + plan.timings.sets - others))


async def _stored_merged(conn: AsyncConnection, cluster_ids: list[int]) -> dict[int, str]:
    """The stored merged JSON of those of ``cluster_ids`` that are live (compared with the
    new one, so an unchanged cluster keeps its datestamp)."""
    stored: dict[int, str] = {}
    for batch in chunks(cluster_ids):
        stored.update((await conn.execute(sa.select(
            clusters.c.id, sa.cast(clusters.c.merged, sa.Text)).where(
            clusters.c.id.in_(batch) & clusters.c.deleted.is_(False)))).all())
    return stored


async def _holdings_between(conn: AsyncConnection, first: int, last: int
                            ) -> dict[int, list[tuple]]:
    """record id → its holdings as (location, call number, lendable, barcode), in id order."""
    held: dict[int, list[tuple]] = {}
    for h in (await conn.execute(sa.select(
            holdings.c.record_id, holdings.c.location, holdings.c.call_number,
            holdings.c.lendable, holdings.c.barcode).where(
            holdings.c.record_id.between(first, last))
            .order_by(holdings.c.record_id, holdings.c.id))).all():
        held.setdefault(h.record_id, []).append(
            (h.location, h.call_number, h.lendable, h.barcode))
    return held


async def _submit(conn: AsyncConnection, offload: Offload,
                  ready: list[tuple[int, list[SourceText]]], plan: MergePlan
                  ) -> asyncio.Future[MergedRows]:
    """Hand finished clusters to ``merge_clusters``, with the merged record stored for each
    live one (compared there, so an unchanged cluster keeps its datestamp)."""
    stored = await _stored_merged(conn, [cid for cid, _sources in ready
                                         if cid not in plan.fresh])
    work = [(cid, cid in plan.fresh, stored.get(cid), sources) for cid, sources in ready]
    return offload.submit(merge_clusters, work, conn.dialect.name)


async def _write(conn: AsyncConnection, rows: MergedRows, plan: MergePlan) -> None:
    """Write a batch's cluster rows, search rows and sets."""
    plan.memberships.extend(rows.memberships)
    if conn.dialect.name == "sqlite":
        stamp = plan.stamp_text(conn)
        if rows.inserts:
            await conn.exec_driver_sql(
                "INSERT INTO clusters (id, record_count, title, year, format, merged, deleted, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
                [(*row, stamp, stamp) for row in rows.inserts])
        if rows.updates:
            await conn.exec_driver_sql(
                "UPDATE clusters SET record_count = ?, title = ?, year = ?, format = ?, "
                "merged = ?, deleted = 0, updated_at = ? WHERE id = ?",
                [(*row[1:], stamp, row[0]) for row in rows.updates])
    else:
        if rows.inserts:
            await conn.execute(clusters.insert(), [
                {"id": cid, "record_count": count, "title": title, "year": year,
                 "format": format_, "merged": DumpedJSON(merged), "deleted": False,
                 "created_at": plan.stamp, "updated_at": plan.stamp}
                for cid, count, title, year, format_, merged in rows.inserts])
        if rows.updates:
            await conn.execute(
                clusters.update().where(clusters.c.id == sa.bindparam("_id")).values({
                    name: sa.bindparam(name) for name in (
                        "record_count", "title", "year", "format", "merged", "deleted",
                        "updated_at")}),
                [{"_id": cid, "record_count": count, "title": title, "year": year,
                  "format": format_, "merged": DumpedJSON(merged), "deleted": False,
                  "updated_at": plan.stamp}
                 for cid, count, title, year, format_, merged in rows.updates])
    mid = time.perf_counter()
    await _insert_search_rows(conn, rows)
    mid2 = time.perf_counter()
    plan.timings.search += mid2 - mid
    await insert_rows(conn, cluster_sets, ("cluster_id", "set_spec"), rows.sets)
    plan.timings.sets += time.perf_counter() - mid2


DOC_COLUMNS = ("cluster_id", "year", "format", "lendable", "holder_count", "languages",
               "holders")


async def _insert_search_rows(conn: AsyncConnection, rows: MergedRows) -> None:
    """search_docs and the text index (FTS5 rows on SQLite, a tsvector on PostgreSQL), then
    the identifier, holder and language rows."""
    if conn.dialect.name == "sqlite":
        await insert_rows(conn, search_docs, DOC_COLUMNS, (row[:-1] for row in rows.docs))
        await conn.exec_driver_sql(
            f"INSERT INTO search_fts (rowid, {', '.join(TEXT_COLUMNS)}) "
            f"VALUES (?, {', '.join('?' for _ in TEXT_COLUMNS)})", rows.fts)
    else:
        await conn.execute(pg_insert_docs(), [dict(zip((*DOC_COLUMNS, "document_text"), row))
                                              for row in rows.docs])
    await insert_rows(conn, cluster_identifiers, ("cluster_id", "kind", "value"),
                      rows.identifiers)
    await insert_rows(conn, cluster_holders, ("cluster_id", "member", "lendable"),
                      rows.holders)
    await insert_rows(conn, cluster_languages, ("cluster_id", "language"), rows.languages)


# Tables a rebuild empties and fills again. On SQLite their secondary indexes are dropped for
# the bulk insert and built again after it, from sorted data: inserting 500,000 records' rows
# into indexes on (kind, value), (set_spec, cluster_id), (member, cluster_id)... touches a
# random page of each for every row (250,000 records: 59 s of inserts with the indexes in
# place, 37 s including building them afterwards). DROP INDEX is transactional in SQLite, and
# WAL readers keep the snapshot they started with; on PostgreSQL it would lock every reader
# of these tables out for the whole rebuild, so the indexes stay there.
REWRITTEN_TABLES = ("match_keys", "cluster_links", "search_docs", "cluster_identifiers",
                    "cluster_holders", "cluster_languages", "cluster_sets")


async def drop_indexes(conn: AsyncConnection, tables: Iterable[str] = REWRITTEN_TABLES
                       ) -> list[tuple[str, str]]:
    """SQLite: drop the secondary indexes of ``tables``; returns (table, CREATE statement)
    of each, for ``create_indexes``. Only inside an open transaction (the driver opens one
    at the first write), so a failed rebuild gets them back."""
    if conn.dialect.name != "sqlite":
        return []
    raw = await conn.get_raw_connection()
    if not raw.driver_connection.in_transaction:
        raise RuntimeError("rebuild: indexes are only dropped inside the rebuild's transaction")
    names = ", ".join(f"'{name}'" for name in tables)
    found = (await conn.exec_driver_sql(
        "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index' "
        f"AND sql IS NOT NULL AND tbl_name IN ({names}) ORDER BY name")).all()
    for _table, name, _sql in found:
        await conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [(table, sql) for table, _name, sql in found]


async def create_indexes(conn: AsyncConnection, indexes: list[tuple[str, str]],
                         tables: Iterable[str]) -> None:
    """Build again the indexes ``drop_indexes`` dropped, of ``tables``."""
    wanted = set(tables)
    for table, sql in indexes:
        if table in wanted:
            await conn.exec_driver_sql(sql)
