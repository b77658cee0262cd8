"""Staff decisions: split a record out of a cluster, force two clusters together.

Decisions are kept by (member code, local id), not by record id, so they survive re-harvests
(a record deleted and harvested again is a new row with the same member and local id) and
rebuilds. A newer decision replaces the older ones it contradicts. Both apply at once, in the
caller's transaction, by re-clustering the records involved.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.index.engine import recluster_records
from gateway.store.schema import cluster_decisions, cluster_records, clusters, members, records


class ClusterError(LookupError):
    """A cluster or record that is not there, or a decision that makes no sense."""

    status_hint = 404


async def cluster_refs(conn: AsyncConnection, cluster_id: int) -> list[tuple[int, str, str]]:
    """(record id, member code, local id) of the cluster's records, in (member, id) order."""
    exists = await conn.scalar(sa.select(clusters.c.id).where(clusters.c.id == cluster_id))
    if exists is None:
        raise ClusterError(f"no cluster {cluster_id}")
    rows = (await conn.execute(sa.select(records.c.id, members.c.code, records.c.local_id)
                               .join(cluster_records, cluster_records.c.record_id == records.c.id)
                               .join(members, members.c.id == records.c.member_id)
                               .where(cluster_records.c.cluster_id == cluster_id))).all()
    return sorted(((r.id, r.code, r.local_id) for r in rows), key=lambda r: (r[1], r[2]))


def _pair(kind: str, a: tuple[str, str], b: tuple[str, str]) -> sa.ColumnElement[bool]:
    d = cluster_decisions.c
    return (d.kind == kind) & (
        ((d.member_a == a[0]) & (d.local_id_a == a[1]) & (d.member_b == b[0])
         & (d.local_id_b == b[1]))
        | ((d.member_a == b[0]) & (d.local_id_a == b[1]) & (d.member_b == a[0])
           & (d.local_id_b == a[1])))


async def split(conn: AsyncConnection, cluster_id: int, member: str, local_id: str, *,
                made_by: str | None = None, reason: str | None = None) -> dict[str, Any]:
    """Take ``member``/``local_id`` out of ``cluster_id``: it is kept apart from each record
    now in the cluster (new records may still join either side)."""
    refs = await cluster_refs(conn, cluster_id)
    target = next((r for r in refs if r[1] == member and r[2] == local_id), None)
    if target is None:
        raise ClusterError(f"record {member}:{local_id} is not in cluster {cluster_id}")
    others = [r for r in refs if r is not target]
    if not others:
        raise ClusterError(f"record {member}:{local_id} is alone in cluster {cluster_id}")
    stamp = datetime.now(UTC)
    for _rid, code, lid in others:
        await conn.execute(cluster_decisions.delete().where(
            _pair("merge", (member, local_id), (code, lid))))
        await conn.execute(cluster_decisions.delete().where(
            _pair("split", (member, local_id), (code, lid))))
    await conn.execute(cluster_decisions.insert(), [
        {"kind": "split", "member_a": member, "local_id_a": local_id, "member_b": code,
         "local_id_b": lid, "reason": reason, "made_by": made_by, "created_at": stamp}
        for _rid, code, lid in others])
    changed = await recluster_records(conn, [r[0] for r in refs])
    new_cluster = await conn.scalar(sa.select(cluster_records.c.cluster_id).where(
        cluster_records.c.record_id == target[0]))
    return {"cluster_id": cluster_id, "record": f"{member}:{local_id}",
            "new_cluster_id": new_cluster, "changed": sorted(changed)}


async def merge(conn: AsyncConnection, cluster_a: int, cluster_b: int, *,
                made_by: str | None = None, reason: str | None = None) -> dict[str, Any]:
    """Force two clusters into one: their first records are kept together, and earlier splits
    between the two clusters' records are withdrawn."""
    if cluster_a == cluster_b:
        raise ClusterError(f"cannot merge cluster {cluster_a} with itself")
    refs_a = await cluster_refs(conn, cluster_a)
    refs_b = await cluster_refs(conn, cluster_b)
    if not refs_a or not refs_b:
        empty = cluster_a if not refs_a else cluster_b
        raise ClusterError(f"cluster {empty} has no records (deleted)")
    for _ra, code_a, lid_a in refs_a:
        for _rb, code_b, lid_b in refs_b:
            await conn.execute(cluster_decisions.delete().where(
                _pair("split", (code_a, lid_a), (code_b, lid_b))))
    (_, member_a, local_a), (_, member_b, local_b) = refs_a[0], refs_b[0]
    await conn.execute(cluster_decisions.insert().values(
        kind="merge", member_a=member_a, local_id_a=local_a, member_b=member_b,
        local_id_b=local_b, reason=reason, made_by=made_by, created_at=datetime.now(UTC)))
    changed = await recluster_records(conn, [r[0] for r in refs_a + refs_b])
    merged_into = await conn.scalar(sa.select(cluster_records.c.cluster_id).where(
        cluster_records.c.record_id == refs_a[0][0]))
    return {"clusters": [cluster_a, cluster_b], "cluster_id": merged_into,
            "changed": sorted(changed)}
