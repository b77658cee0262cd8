"""`libgate clusters rebuild` and `libgate clusters check`.

``rebuild`` re-clusters every record in one pass: profiles and keys are computed in memory
while the records stream by id, the same ``plan_clusters`` as the incremental path runs over
all of them (union-find), and memberships, links and keys are written in bulk. Cluster ids
stay stable (see ``store.assign_ids``); a merged record that comes out unchanged keeps its
``updated_at``.

``check`` finds what is inconsistent — live records outside any cluster, memberships of
deleted records, clusters whose record count or deleted flag is wrong, records without keys,
and groups the rules would form differently today (a key that crossed the frequency limit, a
changed setting) — and with ``repair`` re-clusters the records involved.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.index.engine import (
    apply_plan, decision_pairs, recluster_records, serialize_clustering,
)
from gateway.index.policy import ClusterPolicy, current_policy
from gateway.index.store import chunks, decisions, member_table
from gateway.store.schema import cluster_records, clusters, match_keys, records
from protocols.matching import Profile, plan_clusters, profile_of

PAGE = 5000


async def _all_profiles(conn: AsyncConnection, member_info: dict[int, tuple[str, str]]
                        ) -> dict[int, Profile]:
    profiles: dict[int, Profile] = {}
    last = 0
    while True:
        rows = (await conn.execute(sa.select(
            records.c.id, records.c.member_id, records.c.local_id, records.c.normalized).where(
            (records.c.id > last) & records.c.deleted.is_(False)
            & (records.c.record_type == "bibliographic")).order_by(records.c.id)
            .limit(PAGE))).all()
        if not rows:
            return profiles
        for row in rows:
            profiles[row.id] = profile_of(row.normalized, record_id=row.id,
                                          member=member_info[row.member_id][0],
                                          local_id=row.local_id)
        last = rows[-1].id


async def _all_memberships(conn: AsyncConnection) -> dict[int, int]:
    return dict((await conn.execute(sa.select(cluster_records.c.record_id,
                                              cluster_records.c.cluster_id))).all())


async def rebuild(conn: AsyncConnection, *, policy: ClusterPolicy | None = None
                  ) -> dict[str, Any]:
    """Re-cluster every record; returns counts (records, clusters, changed)."""
    policy = policy or current_policy()
    await serialize_clustering(conn)
    member_info = await member_table(conn)
    profiles = await _all_profiles(conn, member_info)
    await conn.execute(match_keys.delete())
    rows = ({"record_id": p.record_id, "kind": kind, "value": value}
            for p in profiles.values() for kind, value in p.keys)
    for batch in chunks(rows, 5000):
        await conn.execute(match_keys.insert(), batch)
    old = await _all_memberships(conn)
    scope = set(old) | set(profiles)
    changed = await apply_plan(conn, profiles, scope, (), policy, (), member_info,
                               await decisions(conn), old=old, refresh_all=True)
    live = await conn.scalar(sa.select(sa.func.count()).select_from(clusters).where(
        clusters.c.deleted.is_(False)))
    return {"records": len(profiles), "clusters": live, "changed": len(changed)}


async def check(conn: AsyncConnection, *, repair: bool = False,
                policy: ClusterPolicy | None = None) -> dict[str, Any]:
    """Find inconsistent groups; with ``repair`` re-cluster the records involved."""
    policy = policy or current_policy()
    member_info = await member_table(conn)
    profiles = await _all_profiles(conn, member_info)
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
