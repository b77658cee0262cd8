"""Reading and writing the union-index tables (shared by the incremental path and rebuild)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.index.merge import SourceRecord, merge_cluster
from gateway.index.rebuild_work import profile_from_texts
from gateway.store.records import FreshRecord
from gateway.store.schema import (
    cluster_decisions, cluster_links, cluster_records, clusters, holdings, match_keys, members,
    records,
)
from protocols.matching import Group, Profile, profile_of
from protocols.union import UnionRecord

CHUNK = 500
T = TypeVar("T")


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    if isinstance(items, list):      # slices: no Python-level step per item
        for start in range(0, len(items), size):
            yield items[start:start + size]
        return
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def live_record_pages(conn: AsyncConnection, page: int = 5000, *,
                            with_profile: bool = False) -> AsyncIterator[list[Any]]:
    """Every live bibliographic record (id, member_id, local_id, normalized JSON as text,
    and with ``with_profile`` its stored match profile), in id order, ``page`` rows at a
    time: the streaming read of `libgate clusters rebuild`, which parses the JSON where it is
    used (in a worker process when there are several cores)."""
    last = 0
    columns = [records.c.id, records.c.member_id, records.c.local_id,
               sa.cast(records.c.normalized, sa.Text)]
    if with_profile:
        columns.append(records.c.match_profile)
    while True:
        rows = (await conn.execute(sa.select(*columns).where(
            (records.c.id > last) & records.c.deleted.is_(False)
            & (records.c.record_type == "bibliographic")).order_by(records.c.id)
            .limit(page))).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def clusterable(row: Any) -> bool:
    """Live bibliographic records are clustered; deleted ones, MFHD and authorities are not."""
    return not row.deleted and row.record_type == "bibliographic"


async def member_table(conn: AsyncConnection) -> dict[int, tuple[str, str]]:
    """member id → (code, status)."""
    rows = (await conn.execute(sa.select(members.c.id, members.c.code, members.c.status))).all()
    return {r.id: (r.code, r.status) for r in rows}


async def load_profiles(conn: AsyncConnection, record_ids: Collection[int],
                        member_info: dict[int, tuple[str, str]],
                        fresh: Mapping[int, FreshRecord] | None = None) -> dict[int, Profile]:
    """Profiles of the clusterable records among ``record_ids``.

    ``fresh``: records the caller has just written, whose normalized form it still holds —
    read from there instead of the store (a harvest page's own records)."""
    profiles: dict[int, Profile] = {}
    wanted = []
    for rid in record_ids:
        known = fresh.get(rid) if fresh else None
        if known is None:
            wanted.append(rid)
            continue
        if known.normalized.get("record_type", "bibliographic") == "bibliographic":
            made = known.profile        # made ahead in a harvest worker: only ids missing
            if made is not None:
                made.record_id, made.member = rid, member_info[known.member_id][0]
                profiles[rid] = made
            else:
                profiles[rid] = profile_of(known.normalized, record_id=rid,
                                           member=member_info[known.member_id][0],
                                           local_id=known.local_id)
    for batch in chunks(sorted(wanted)):
        # the JSON as text: parsed only for a record without a stored profile of this version
        rows = (await conn.execute(sa.select(
            records.c.id, records.c.member_id, records.c.local_id, records.c.deleted,
            records.c.record_type, sa.cast(records.c.normalized, sa.Text).label("text"),
            records.c.match_profile).where(records.c.id.in_(batch)))).all()
        for row in rows:
            if clusterable(row):
                profiles[row.id] = profile_from_texts(
                    row.id, member_info[row.member_id][0], row.local_id, row.text,
                    row.match_profile)
    return profiles


def key_rows(profiles: Iterable[Profile]) -> list[dict[str, Any]]:
    return [{"record_id": p.record_id, "kind": kind, "value": value}
            for p in profiles for kind, value in p.keys]


async def replace_keys(conn: AsyncConnection, record_ids: Collection[int],
                       profiles: Iterable[Profile]) -> None:
    for batch in chunks(sorted(record_ids)):
        await conn.execute(match_keys.delete().where(match_keys.c.record_id.in_(batch)))
    rows = key_rows(profiles)
    for batch in chunks(rows, 2000):
        await conn.execute(match_keys.insert(), batch)


async def decisions(conn: AsyncConnection) -> list[Any]:
    return list((await conn.execute(sa.select(cluster_decisions)
                                    .order_by(cluster_decisions.c.id))).all())


async def resolve_refs(conn: AsyncConnection, refs: Collection[tuple[str, str]],
                       member_ids: dict[str, int]) -> dict[tuple[str, str], int]:
    """(member code, local id) → record id, for the refs that exist."""
    out: dict[tuple[str, str], int] = {}
    by_member: dict[int, list[str]] = {}
    for code, local_id in refs:
        if code in member_ids:
            by_member.setdefault(member_ids[code], []).append(local_id)
    codes = {v: k for k, v in member_ids.items()}
    for mid, local_ids in by_member.items():
        for batch in chunks(local_ids):
            rows = (await conn.execute(sa.select(records.c.id, records.c.local_id).where(
                (records.c.member_id == mid) & records.c.local_id.in_(batch)))).all()
            out.update({(codes[mid], r.local_id): r.id for r in rows})
    return out


def assign_ids(groups: Sequence[Group], old: dict[int, int]) -> list[int | None]:
    """Keep cluster ids stable: each group takes the old cluster holding most of its records
    (ties: the lowest id); each old id goes to one group at most. None: needs a new cluster."""
    wishes: list[tuple[int, int, int]] = []       # (-overlap, cluster id, group index)
    for index, group in enumerate(groups):
        counts: dict[int, int] = {}
        for rid in group.record_ids:
            if (cid := old.get(rid)) is not None:
                counts[cid] = counts.get(cid, 0) + 1
        wishes.extend((-n, cid, index) for cid, n in counts.items())
    wishes.sort()
    chosen: list[int | None] = [None] * len(groups)
    taken: set[int] = set()
    for _n, cid, index in wishes:
        if chosen[index] is None and cid not in taken:
            chosen[index] = cid
            taken.add(cid)
    return chosen


async def new_cluster_ids(conn: AsyncConnection, count: int, stamp: datetime, *,
                          bulk: bool = False) -> list[int]:
    """Create ``count`` empty clusters (their merged record is written afterwards).

    ``bulk`` (rebuild, which holds the write lock for its whole transaction): ids are
    allocated from max(id) and inserted without RETURNING, many times faster."""
    if count == 0:
        return []
    if bulk:
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text("LOCK TABLE clusters IN EXCLUSIVE MODE"))
        first = (await conn.scalar(sa.select(sa.func.max(clusters.c.id))) or 0) + 1
        ids = list(range(first, first + count))
        for batch in chunks(ids, 5000):
            await conn.execute(clusters.insert(), [
                {"id": cid, "merged": {}, "record_count": 0, "created_at": stamp,
                 "updated_at": stamp} for cid in batch])
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text(
                "SELECT setval(pg_get_serial_sequence('clusters', 'id'), :last)"),
                {"last": ids[-1]})
        return ids
    # new clusters are alike until written, so their ids need no order: RETURNING without
    # sort_by_parameter_order lets SQLAlchemy batch the rows (one round trip, not one a row)
    result = await conn.execute(
        clusters.insert().returning(clusters.c.id),
        [{"merged": {}, "record_count": 0, "created_at": stamp, "updated_at": stamp}
         for _ in range(count)])
    return sorted(result.scalars().all())


async def write_merged(conn: AsyncConnection, cluster_ids: Collection[int],
                       member_info: dict[int, tuple[str, str]], stamp: datetime, *,
                       compare: bool = False, fresh: Mapping[int, FreshRecord] | None = None,
                       links: Mapping[int, Sequence[Any]] | None = None
                       ) -> dict[int, UnionRecord]:
    """Recompute the merged record (and copied-out columns) of ``cluster_ids``; a cluster left
    without records is marked deleted and keeps its last merged record. With ``compare`` (a
    rebuild) a cluster whose merged record comes out the same is left alone, so its
    ``updated_at`` (the OAI datestamp) does not move. ``fresh`` records are not read back,
    nor ``links`` (every cluster's links, as the caller has just written them).

    Returns the merged record of every live cluster among ``cluster_ids``, for the listeners
    of ``hooks.clusters_changed`` (so they need not read and parse it again)."""
    fresh = fresh or {}
    out: dict[int, UnionRecord] = {}
    for batch in chunks(sorted(cluster_ids), 400):
        rows = (await conn.execute(sa.select(
            cluster_records.c.cluster_id, cluster_records.c.record_id, records.c.member_id,
            records.c.local_id).join(records, records.c.id == cluster_records.c.record_id)
            .where(cluster_records.c.cluster_id.in_(batch)))).all()
        normalized: dict[int, Mapping[str, Any]] = {}
        held: dict[int, list[Mapping[str, Any]]] = {}
        stored = []
        for r in rows:
            if (known := fresh.get(r.record_id)) is not None:
                normalized[r.record_id] = known.normalized
                held[r.record_id] = known.normalized.get("holdings") or []
            else:
                stored.append(r.record_id)
        for rbatch in chunks(stored):
            normalized.update((await conn.execute(sa.select(
                records.c.id, records.c.normalized).where(records.c.id.in_(rbatch)))).all())
            for h in (await conn.execute(sa.select(holdings).where(
                    holdings.c.record_id.in_(rbatch)).order_by(holdings.c.id))).all():
                held.setdefault(h.record_id, []).append(h._asdict())
        rules = await _attach_rules(conn, batch, links)
        sources: dict[int, list[SourceRecord]] = {}
        seeds = {}
        for r in rows:
            key = (member_info[r.member_id][0], r.local_id)
            if r.cluster_id not in seeds or key < seeds[r.cluster_id][0]:
                seeds[r.cluster_id] = (key, r.record_id)
        for r in rows:
            code, status = member_info[r.member_id]
            rule = None if seeds[r.cluster_id][1] == r.record_id else rules.get(r.record_id)
            sources.setdefault(r.cluster_id, []).append(SourceRecord(
                record_id=r.record_id, member=code, local_id=r.local_id,
                normalized=normalized[r.record_id], member_status=status, rule=rule,
                holdings=held.get(r.record_id, [])))
        before: dict[int, Any] = {}
        if compare:
            before = dict((await conn.execute(sa.select(clusters.c.id, clusters.c.merged).where(
                clusters.c.id.in_(batch) & clusters.c.deleted.is_(False)))).all())
        updates = []
        for cid in batch:
            group = sources.get(cid)
            if not group:
                await conn.execute(clusters.update().where(clusters.c.id == cid).values(
                    deleted=True, record_count=0, updated_at=stamp))
                continue
            union = merge_cluster(cid, group)
            out[cid] = union
            merged = union.to_dict()
            if compare and before.get(cid) == merged:
                continue
            updates.append({"_id": cid, "deleted": False, "record_count": len(group),
                            "title": merged["title"], "year": merged["year"],
                            "format": merged["format"], "merged": merged,
                            "updated_at": stamp})
        if updates:
            await conn.execute(clusters.update().where(clusters.c.id == sa.bindparam("_id"))
                               .values({k: sa.bindparam(k) for k in updates[0] if k != "_id"}),
                               updates)
    return out


async def _attach_rules(conn: AsyncConnection, cluster_ids: list[int],
                        written: Mapping[int, Sequence[Any]] | None = None) -> dict[int, str]:
    """record id → the rule of the link that attached it (walking from the seed).

    ``written``: cluster id → the links the caller has just written for it, in order (so
    they are not read back); read from the store otherwise."""
    if written is not None:
        links = [link for cid in cluster_ids for link in written.get(cid, ())]
    else:
        links = (await conn.execute(sa.select(
            cluster_links.c.record_a, cluster_links.c.record_b, cluster_links.c.rule).where(
            cluster_links.c.cluster_id.in_(cluster_ids)).order_by(cluster_links.c.id))).all()
    out: dict[int, str] = {}
    for link in links:                # record_b sorts after record_a: the seed is never a b
        out.setdefault(link.record_b, link.rule)
    for link in links:
        out.setdefault(link.record_a, link.rule)
    return out


def now() -> datetime:
    return datetime.now(UTC)
