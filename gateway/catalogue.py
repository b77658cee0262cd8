"""Read side of the store for staff: statistics, one record, the quarantine."""

from __future__ import annotations

import base64
from typing import Any

import sqlalchemy as sa

from gateway.index.explain import cluster_count, cluster_of_record
from gateway.registry import MemberNotFound, member_id
from gateway.store import Store
from gateway.store.schema import harvest_runs, holdings, members, quarantine, records


class RecordNotFound(LookupError):
    status_hint = 404


async def stats(store: Store) -> dict[str, Any]:
    """Totals and per-member counts: records (not deleted), deleted, quarantined, holdings."""
    async with store.connect() as conn:
        per_record = dict(
            ((r.member_id, bool(r.deleted)), r.n) for r in (await conn.execute(
                sa.select(records.c.member_id, records.c.deleted, sa.func.count().label("n"))
                .group_by(records.c.member_id, records.c.deleted))).all())
        per_quarantine = dict((await conn.execute(
            sa.select(quarantine.c.member_id, sa.func.count())
            .group_by(quarantine.c.member_id))).all())
        per_holdings = dict((await conn.execute(
            sa.select(holdings.c.member_id, sa.func.count())
            .group_by(holdings.c.member_id))).all())
        rows = (await conn.execute(sa.select(members.c.id, members.c.code, members.c.status)
                                   .order_by(members.c.code))).all()
        cluster_total = await cluster_count(conn)
    out_members = []
    for row in rows:
        out_members.append({
            "code": row.code, "status": row.status,
            "records": per_record.get((row.id, False), 0),
            "deleted": per_record.get((row.id, True), 0),
            "quarantined": per_quarantine.get(row.id, 0),
            "holdings": per_holdings.get(row.id, 0),
        })
    return {
        "members_total": len(out_members),
        "records": sum(m["records"] for m in out_members),
        "deleted": sum(m["deleted"] for m in out_members),
        "quarantined": sum(m["quarantined"] for m in out_members),
        "holdings": sum(m["holdings"] for m in out_members),
        "clusters": cluster_total,
        "members": out_members,
    }


def raw_json(raw: bytes, syntax: str) -> dict[str, Any]:
    """Raw bytes for a JSON answer: text where it is text, base64 always."""
    out: dict[str, Any] = {"syntax": syntax, "bytes": len(raw),
                           "base64": base64.b64encode(raw).decode()}
    if syntax in ("marcxml", "oai_dc"):
        out["text"] = raw.decode("utf-8", errors="replace")
    return out


async def record_detail(store: Store, member: str, local_id: str) -> dict[str, Any]:
    async with store.connect() as conn:
        mid = await member_id(conn, member)
        row = (await conn.execute(sa.select(records).where(
            (records.c.member_id == mid) & (records.c.local_id == local_id)))).first()
        if row is None:
            raise RecordNotFound(f"member {member!r} has no record {local_id!r}")
        held = (await conn.execute(sa.select(holdings).where(holdings.c.record_id == row.id)
                                   .order_by(holdings.c.id))).all()
        cluster_id = await cluster_of_record(conn, row.id)
    return {
        "member": member, "local_id": row.local_id, "deleted": bool(row.deleted),
        "cluster_id": cluster_id,
        "format": row.format, "title": row.title, "year": row.year,
        "normalized": row.normalized,
        "holdings": [{"location": h.location, "call_number": h.call_number,
                      "lendable": h.lendable, "barcode": h.barcode, "note": h.note,
                      "source": h.source} for h in held],
        "raw": raw_json(row.raw, row.raw_syntax),
        "datestamp": row.datestamp,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
    }


async def raw_record(store: Store, member: str, local_id: str) -> tuple[bytes, str]:
    async with store.connect() as conn:
        mid = await member_id(conn, member)
        row = (await conn.execute(sa.select(records.c.raw, records.c.raw_syntax).where(
            (records.c.member_id == mid) & (records.c.local_id == local_id)))).first()
    if row is None:
        raise RecordNotFound(f"member {member!r} has no record {local_id!r}")
    return row.raw, row.raw_syntax


async def quarantine_list(store: Store, member: str | None = None, *, limit: int = 100,
                          offset: int = 0, with_raw: bool = False) -> dict[str, Any]:
    query = (sa.select(quarantine, members.c.code)
             .join(members, members.c.id == quarantine.c.member_id))
    count = sa.select(sa.func.count()).select_from(quarantine)
    async with store.connect() as conn:
        if member:
            mid = await member_id(conn, member)
            query = query.where(quarantine.c.member_id == mid)
            count = count.where(quarantine.c.member_id == mid)
        total = await conn.scalar(count)
        rows = (await conn.execute(query.order_by(quarantine.c.id).limit(limit)
                                   .offset(offset))).all()
    entries = []
    for r in rows:
        entry = {"id": r.id, "member": r.code, "run_id": r.run_id, "source": r.source,
                 "position": r.position, "byte_offset": r.byte_offset, "local_id": r.local_id,
                 "reason": r.reason, "detail": r.detail, "raw_bytes": len(r.raw),
                 "created_at": r.created_at.isoformat() if r.created_at else None}
        if with_raw:
            entry["raw_base64"] = base64.b64encode(r.raw).decode()
        entries.append(entry)
    return {"total": total, "entries": entries}


async def runs_list(store: Store, member: str | None = None, limit: int = 50,
                    kind: str | None = None) -> list[dict]:
    query = (sa.select(harvest_runs, members.c.code)
             .join(members, members.c.id == harvest_runs.c.member_id))
    if kind:
        query = query.where(harvest_runs.c.kind == kind)
    async with store.connect() as conn:
        if member:
            query = query.where(harvest_runs.c.member_id == await member_id(conn, member))
        rows = (await conn.execute(query.order_by(harvest_runs.c.id.desc()).limit(limit))).all()
    out = []
    for r in rows:
        seconds = ((r.finished_at - r.started_at).total_seconds()
                   if r.finished_at and r.started_at else None)
        out.append({"id": r.id, "member": r.code, "kind": r.kind, "endpoint_id": r.endpoint_id,
                    "source": r.source,
                    "status": r.status, "started_at": r.started_at.isoformat(),
                    "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                    "seconds": seconds, "records_read": r.records_read, "added": r.added,
                    "updated": r.updated, "unchanged": r.unchanged, "deleted": r.deleted,
                    "quarantined": r.quarantined, "pages": r.pages, "retries": r.retries,
                    "response_date": r.response_date, "error": r.error})
    return out


__all__ = ["MemberNotFound", "RecordNotFound", "quarantine_list", "raw_record", "record_detail",
           "runs_list", "stats"]
