"""Incremental clustering: an added, updated or deleted record re-clusters what it touches.

``recluster_records(conn, record_ids)`` runs inside the caller's transaction (the ingest batch,
the harvest page), so a record and its cluster change together or not at all:

1. the touched records' match keys are replaced (deleted / non-bibliographic records: none);
2. the *neighbourhood* is collected: every record reachable from them through a shared usable
   key, a shared cluster or a staff merge decision, transitively. It is a union of connected
   components of the candidate graph, so clustering it alone gives what clustering every
   record would give — and it does not depend on the order records arrived in;
3. ``protocols.matching.plan_clusters`` clusters the neighbourhood; groups keep their cluster
   ids (the old cluster holding most of a group's records keeps its id, so an id stays stable
   while its cluster keeps records); new groups get new clusters, emptied clusters are marked
   deleted (never removed: the OAI-PMH provider serves them as deleted records);
4. memberships, links and merged records of the changed clusters are rewritten, their
   ``updated_at`` bumped, and ``hooks.clusters_changed`` is called.

Key frequency is read from the store as it is when the record arrives; a key that crosses
``cluster_key_limit`` later is only re-evaluated by `libgate clusters check` / `rebuild`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.index import hooks
from gateway.index.policy import ClusterPolicy, current_policy
from gateway.index.store import (
    assign_ids, chunks, decisions, load_profiles, member_table, new_cluster_ids, now,
    replace_keys, resolve_refs, write_merged,
)
from gateway.store.records import FreshRecord
from gateway.store.schema import cluster_links, cluster_records, match_keys, records
from protocols.matching import Profile, plan_clusters

log = logging.getLogger(__name__)
CLUSTER_LOCK = 0x4C47_4958          # "LGIX": the advisory lock of the union index


async def recluster_records(conn: AsyncConnection, record_ids: Iterable[int], *,
                            policy: ClusterPolicy | None = None,
                            fresh: Mapping[int, FreshRecord] | None = None) -> set[int]:
    """Re-cluster what ``record_ids`` touch; returns the ids of the clusters that changed.

    ``fresh``: the live records among them as the caller just wrote them (an ingest batch, a
    harvest page), so they are not read back and parsed again."""
    touched = set(record_ids)
    if not touched:
        return set()
    policy = policy or current_policy()
    await serialize_clustering(conn)
    member_info = await member_table(conn)
    profiles = await load_profiles(conn, touched, member_info, fresh)
    # a record the caller has just created has no keys to replace
    await replace_keys(conn, {rid for rid in touched
                              if not (fresh and rid in fresh and fresh[rid].created)},
                       profiles.values())
    all_decisions = await decisions(conn)
    neighbourhood, blocked = await _neighbourhood(conn, touched, policy, member_info,
                                                  all_decisions)
    profiles.update(await load_profiles(conn, neighbourhood - profiles.keys(), member_info))
    return await apply_plan(conn, profiles, neighbourhood, touched, policy, blocked,
                            member_info, all_decisions, fresh=fresh)


async def serialize_clustering(conn: AsyncConnection) -> None:
    """One re-clustering at a time, until the transaction ends.

    Two harvests committing pages at once could otherwise both move one record (PostgreSQL
    reads committed data: both would insert its new membership). SQLite serializes writers
    anyway."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLUSTER_LOCK})


async def apply_plan(conn: AsyncConnection, profiles: dict[int, Profile],
                     scope: Collection[int], touched: Collection[int], policy: ClusterPolicy,
                     blocked: Collection[str], member_info: dict[int, tuple[str, str]],
                     all_decisions: list[Any], *, old: dict[int, int] | None = None,
                     refresh_all: bool = False,
                     fresh: Mapping[int, FreshRecord] | None = None) -> set[int]:
    """Cluster ``profiles`` (the live records of ``scope``) and write the difference.

    ``old`` (record id → cluster id of ``scope``) is read from the store unless given;
    ``refresh_all`` recomputes every merged record (a rebuild), not only changed clusters'."""
    ordered = sorted(profiles.values(), key=lambda p: p.sort_key)
    refs = {(p.member, p.local_id): p.record_id for p in ordered}
    merges, splits = decision_pairs(all_decisions, refs)
    plan = plan_clusters(ordered, policy=policy.match_policy, key_limit=policy.key_limit,
                         max_size=policy.max_size, blocked=blocked, merges=merges,
                         splits=splits)
    if old is None:
        old = await _memberships(conn, scope)
    chosen = assign_ids(plan.groups, old)
    stamp = now()
    new_ids = iter(await new_cluster_ids(conn, sum(1 for c in chosen if c is None), stamp,
                                       bulk=refresh_all))
    new_of: dict[int, int] = {}
    changed: set[int] = set()
    touched = set(touched)
    old_members: dict[int, set[int]] = {}
    for rid, cid in old.items():
        old_members.setdefault(cid, set()).add(rid)
    group_links: dict[int, list] = {}
    created: set[int] = set()
    for group, cid in zip(plan.groups, chosen, strict=True):
        if cid is None:
            cid = next(new_ids)
            created.add(cid)
        group_links[cid] = group.links
        for rid in group.record_ids:
            new_of[rid] = cid
        if (refresh_all or old_members.get(cid) != set(group.record_ids)
                or any(rid in touched for rid in group.record_ids)):
            changed.add(cid)
    changed.update(cid for cid in old_members if cid not in group_links)   # emptied
    member_ids = {code: mid for mid, (code, _s) in member_info.items()}

    moved = [rid for rid in set(old) | set(new_of) if old.get(rid) != new_of.get(rid)]
    for batch in chunks(sorted(rid for rid in moved if rid in old)):   # had a cluster
        await conn.execute(cluster_records.delete().where(
            cluster_records.c.record_id.in_(batch)))
    inserts = ({"record_id": rid, "cluster_id": new_of[rid],
                "member_id": member_ids[profiles[rid].member]}
               for rid in moved if rid in new_of)
    for batch in chunks(inserts, 2000):
        await conn.execute(cluster_records.insert(), batch)
    for batch in chunks(sorted(changed - created)):     # a new cluster has no links yet
        await conn.execute(cluster_links.delete().where(cluster_links.c.cluster_id.in_(batch)))
    link_rows = ({"cluster_id": cid, "record_a": link.record_a, "record_b": link.record_b,
                  "rule": link.rule, "evidence": link.evidence, "created_at": stamp}
                 for cid in sorted(changed) for link in group_links.get(cid, ()))
    for batch in chunks(link_rows, 2000):
        await conn.execute(cluster_links.insert(), batch)
    merged = await write_merged(conn, changed, member_info, stamp, compare=refresh_all,
                                fresh=fresh, links=group_links)
    await hooks.clusters_changed(conn, changed, merged=merged, created=created)
    return changed


async def _memberships(conn: AsyncConnection, scope: Collection[int]) -> dict[int, int]:
    old: dict[int, int] = {}
    for batch in chunks(sorted(scope)):
        old.update((await conn.execute(sa.select(
            cluster_records.c.record_id, cluster_records.c.cluster_id).where(
            cluster_records.c.record_id.in_(batch)))).all())
    return old


def decision_pairs(all_decisions: list[Any], refs: dict[tuple[str, str], int]
                   ) -> tuple[list[tuple[int, int]], list[tuple[int, int | None]]]:
    """Staff decisions as record-id pairs, for the records at hand."""
    merges: list[tuple[int, int]] = []
    splits: list[tuple[int, int | None]] = []
    for d in all_decisions:
        a = refs.get((d.member_a, d.local_id_a))
        if a is None:
            continue
        b = refs.get((d.member_b, d.local_id_b)) if d.member_b is not None else None
        if d.kind == "merge" and b is not None:
            merges.append((a, b))
        elif d.kind == "split" and (b is not None or d.member_b is None):
            splits.append((a, b))
    return merges, splits


async def _neighbourhood(conn: AsyncConnection, start: set[int], policy: ClusterPolicy,
                         member_info: dict[int, tuple[str, str]], all_decisions: list[Any]
                         ) -> tuple[set[int], set[str]]:
    """Records reachable from ``start`` via usable shared keys, clusters and staff merges."""
    seen = set(start)
    frontier = set(start)
    blocked: set[str] = set()
    member_ids = {code: mid for mid, (code, _s) in member_info.items()}
    merge_refs = [d for d in all_decisions if d.kind == "merge" and d.member_b is not None]
    while frontier:
        found: set[int] = set()
        for batch in chunks(sorted(frontier)):
            clusters_of = sa.select(cluster_records.c.cluster_id).where(
                cluster_records.c.record_id.in_(batch))
            found.update((await conn.execute(sa.select(cluster_records.c.record_id).where(
                cluster_records.c.cluster_id.in_(clusters_of)))).scalars())
            keys = (await conn.execute(sa.select(match_keys.c.kind, match_keys.c.value).where(
                match_keys.c.record_id.in_(batch)))).all()
            found.update(await _key_holders(conn, keys, policy, blocked))
            if merge_refs:
                found.update(await _merge_partners(conn, batch, merge_refs, member_ids,
                                                   member_info))
        frontier = found - seen
        if len(seen) + len(frontier) > policy.neighbourhood_limit:
            log.warning("clustering neighbourhood of records %s passed %s records; "
                        "run `libgate clusters check`", sorted(start)[:5],
                        policy.neighbourhood_limit)
            break
        seen |= frontier
    return seen, blocked


async def _key_holders(conn: AsyncConnection, keys: list[Any], policy: ClusterPolicy,
                       blocked: set[str]) -> set[int]:
    """Records holding one of ``keys`` (usable ones: not ignored, not past the key limit).

    Two statements for every kind at once — count the holders, then read those of the keys
    under the limit — written as ``kind = … AND value IN (…) OR …`` so SQLite and PostgreSQL
    seek the (kind, value) index for each kind (a row-value IN scans it)."""
    wanted: dict[tuple[str, str], None] = {}
    for kind, value in keys:
        text = f"{kind}:{value}"
        if text not in policy.ignored and text not in blocked:
            wanted[(kind, value)] = None
    found: set[int] = set()
    for batch in chunks(sorted(wanted)):
        counts = (await conn.execute(
            sa.select(match_keys.c.kind, match_keys.c.value, sa.func.count())
            .where(_any_key(batch)).group_by(match_keys.c.kind, match_keys.c.value))).all()
        usable = []
        for kind, value, count in counts:
            if count > policy.key_limit:
                blocked.add(f"{kind}:{value}")
            elif count > 1:
                usable.append((kind, value))
        if usable:
            found.update((await conn.execute(
                sa.select(match_keys.c.record_id).where(_any_key(usable)))).scalars())
    return found


def _any_key(keys: list[tuple[str, str]]) -> sa.ColumnElement[bool]:
    by_kind: dict[str, list[str]] = {}
    for kind, value in keys:
        by_kind.setdefault(kind, []).append(value)
    return sa.or_(*((match_keys.c.kind == kind) & match_keys.c.value.in_(values)
                    for kind, values in sorted(by_kind.items())))


async def _merge_partners(conn: AsyncConnection, batch: list[int], merge_refs: list[Any],
                          member_ids: dict[str, int],
                          member_info: dict[int, tuple[str, str]]) -> set[int]:
    rows = (await conn.execute(sa.select(records.c.member_id, records.c.local_id).where(
        records.c.id.in_(batch)))).all()
    mine = {(member_info[r.member_id][0], r.local_id) for r in rows}
    partners = set()
    for d in merge_refs:
        if (d.member_a, d.local_id_a) in mine:
            partners.add((d.member_b, d.local_id_b))
        if (d.member_b, d.local_id_b) in mine:
            partners.add((d.member_a, d.local_id_a))
    if not partners:
        return set()
    return set((await resolve_refs(conn, partners, member_ids)).values())


async def member_cluster_ids(conn: AsyncConnection, member_id: int) -> set[int]:
    return set((await conn.execute(sa.select(cluster_records.c.cluster_id).where(
        cluster_records.c.member_id == member_id).distinct())).scalars())


async def refresh_clusters(conn: AsyncConnection, cluster_ids: Collection[int]) -> set[int]:
    """Re-cluster the records still in ``cluster_ids`` and rewrite their merged records —
    after a member's status changed (the holdings show it) or its records went away with it
    (a cluster left empty is marked deleted)."""
    if not cluster_ids:
        return set()
    remaining: set[int] = set()
    for batch in chunks(sorted(cluster_ids)):
        remaining.update((await conn.execute(sa.select(cluster_records.c.record_id).where(
            cluster_records.c.cluster_id.in_(batch)))).scalars())
    changed = await recluster_records(conn, remaining) if remaining else set()
    rest = set(cluster_ids) - changed
    merged = await write_merged(conn, rest, await member_table(conn), now(), compare=True)
    await hooks.clusters_changed(conn, rest, merged=merged)
    return changed | rest
