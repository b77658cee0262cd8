"""What staff and the API see of a cluster: its merged record, sources, links and decisions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.index.decisions import ClusterError
from gateway.store.schema import (
    cluster_decisions, cluster_links, cluster_records, clusters, members, records,
)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def _sources(conn: AsyncConnection, cluster_id: int) -> list[dict[str, Any]]:
    rows = (await conn.execute(sa.select(
        records.c.id, members.c.code, records.c.local_id, records.c.title, records.c.year,
        records.c.format, records.c.normalized)
        .join(cluster_records, cluster_records.c.record_id == records.c.id)
        .join(members, members.c.id == records.c.member_id)
        .where(cluster_records.c.cluster_id == cluster_id))).all()
    out = [{"record_id": r.id, "member": r.code, "local_id": r.local_id, "title": r.title,
            "year": r.year, "format": r.format, "normalized": r.normalized} for r in rows]
    return sorted(out, key=lambda s: (s["member"], s["local_id"]))


async def cluster_detail(conn: AsyncConnection, cluster_id: int) -> dict[str, Any]:
    """The cluster row, its merged record and its source records (normalized)."""
    row = (await conn.execute(sa.select(clusters).where(clusters.c.id == cluster_id))).first()
    if row is None:
        raise ClusterError(f"no cluster {cluster_id}")
    return {"id": row.id, "deleted": bool(row.deleted), "record_count": row.record_count,
            "title": row.title, "year": row.year, "format": row.format,
            "created_at": _iso(row.created_at), "updated_at": _iso(row.updated_at),
            "merged": row.merged, "records": await _sources(conn, cluster_id)}


async def explain(conn: AsyncConnection, cluster_id: int) -> dict[str, Any]:
    """Why the cluster's records are together: each link's rule and the values compared,
    and the staff decisions that concern its records."""
    detail = await cluster_detail(conn, cluster_id)
    labels = {s["record_id"]: f"{s['member']}:{s['local_id']}" for s in detail["records"]}
    links = (await conn.execute(sa.select(cluster_links).where(
        cluster_links.c.cluster_id == cluster_id).order_by(cluster_links.c.id))).all()
    refs = [(s["member"], s["local_id"]) for s in detail["records"]]
    d = cluster_decisions.c
    found = []
    if refs:
        concern = sa.or_(*[((d.member_a == m) & (d.local_id_a == lid))
                           | ((d.member_b == m) & (d.local_id_b == lid)) for m, lid in refs])
        found = (await conn.execute(sa.select(cluster_decisions).where(concern)
                                    .order_by(d.id))).all()
    return {
        "cluster_id": cluster_id, "deleted": detail["deleted"], "title": detail["title"],
        "records": [{k: v for k, v in s.items() if k != "normalized"}
                    for s in detail["records"]],
        "links": [{"record_a": labels.get(link.record_a, str(link.record_a)),
                   "record_b": labels.get(link.record_b, str(link.record_b)),
                   "rule": link.rule, "evidence": link.evidence} for link in links],
        "decisions": [{"id": x.id, "kind": x.kind, "a": f"{x.member_a}:{x.local_id_a}",
                       "b": f"{x.member_b}:{x.local_id_b}" if x.member_b else None,
                       "reason": x.reason, "made_by": x.made_by,
                       "created_at": _iso(x.created_at)} for x in found],
    }


async def cluster_of_record(conn: AsyncConnection, record_id: int) -> int | None:
    return await conn.scalar(sa.select(cluster_records.c.cluster_id).where(
        cluster_records.c.record_id == record_id))


async def cluster_count(conn: AsyncConnection) -> int:
    return await conn.scalar(sa.select(sa.func.count()).select_from(clusters).where(
        clusters.c.deleted.is_(False))) or 0
