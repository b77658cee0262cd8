"""Reading requests for staff, scoped to the caller's member in the query itself.

A member is a party to a request when it made it (borrowing) or when the request has been sent
to it (lending: a rota entry of that member with ``sent_at``). A lender sees only the messages
exchanged with it; the borrower and the consortium office see them all.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.security.tokens import Principal
from gateway.store.schema import ill_messages, ill_requests, ill_rota, members

ROLES = ("borrowing", "lending")
requesters = members.alias("requesters")
suppliers = members.alias("suppliers")


def _lends(mid: int) -> sa.ColumnElement[bool]:
    return sa.exists(sa.select(ill_rota.c.id).where(
        (ill_rota.c.request_id == ill_requests.c.id) & (ill_rota.c.member_id == mid)
        & ill_rota.c.sent_at.is_not(None)))


def party_scope(principal: Principal, role: str | None = None) -> sa.ColumnElement[bool]:
    if role is not None and role not in ROLES:
        raise ValueError(f"role {role!r}; expected one of {', '.join(ROLES)}")
    if principal.is_admin and role is None:
        return sa.true()
    mid = principal.member_id
    if mid is None:           # the office asking for a role: every request has both sides
        return sa.true()
    if role == "borrowing":
        return ill_requests.c.requester_id == mid
    if role == "lending":
        return _lends(mid)
    return (ill_requests.c.requester_id == mid) | _lends(mid)


def _base() -> sa.Select:
    return (sa.select(ill_requests, requesters.c.code.label("requester"),
                      suppliers.c.code.label("supplier"))
            .select_from(ill_requests
                         .join(requesters, requesters.c.id == ill_requests.c.requester_id)
                         .outerjoin(suppliers, suppliers.c.id == ill_requests.c.supplier_id)))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def summary(row: Any) -> dict[str, Any]:
    txn = row.txn or {}
    return {"id": row.id, "ref": row.ref, "requester": row.requester,
            "service_type": row.service_type, "citation": row.citation,
            "cluster_id": row.cluster_id, "patron_ref": row.patron_ref,
            "needed_by": _iso(row.needed_by), "state": row.state, "holds": row.holds,
            "status": row.status, "supplier": row.supplier, "position": row.position,
            "deadline_at": _iso(row.deadline_at), "due_date": txn.get("due"),
            "conditions": row.conditions, "actions": txn.get("actions", []),
            "version": row.version, "created_at": _iso(row.created_at),
            "updated_at": _iso(row.updated_at)}


async def list_requests(conn: AsyncConnection, principal: Principal, *, role: str | None = None,
                        state: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    query = _base().where(party_scope(principal, role)).order_by(ill_requests.c.id.desc())
    if state:
        query = query.where(ill_requests.c.state == state)
    return [summary(r) for r in (await conn.execute(query.limit(limit))).all()]


async def get_request(conn: AsyncConnection, principal: Principal,
                      request_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(_base().where((ill_requests.c.id == request_id)
                                            & party_scope(principal)))).first()
    if row is None:
        return None
    detail = summary(row)
    rota = (await conn.execute(
        sa.select(ill_rota, members.c.code).join(members, members.c.id == ill_rota.c.member_id)
        .where(ill_rota.c.request_id == request_id).order_by(ill_rota.c.position))).all()
    detail["rota"] = [{"position": e.position, "member": e.code, "reason": e.reason,
                       "term": e.term, "outcome": e.outcome, "sent_at": _iso(e.sent_at),
                       "answered_at": _iso(e.answered_at)} for e in rota]
    detail["excluded"] = row.excluded
    query = (sa.select(ill_messages, members.c.code)
             .outerjoin(members, members.c.id == ill_messages.c.member_id)
             .where(ill_messages.c.request_id == request_id).order_by(ill_messages.c.id))
    sees_all = principal.is_admin or principal.member_id == row.requester_id
    if not sees_all:
        query = query.where(ill_messages.c.member_id == principal.member_id)
    detail["messages"] = [{"id": r.id, "direction": r.direction, "kind": r.kind,
                           "peer": r.code, "signature": r.signature, "outcome": r.outcome,
                           "raw": r.raw, "parsed": r.parsed, "answer": r.answer,
                           "at": _iso(r.created_at)}
                          for r in (await conn.execute(query)).all()]
    return detail


async def party_of(conn: AsyncConnection, principal: Principal, request_id: int) -> Any:
    """The request's row (with requester and supplier codes) if the caller is a party."""
    return (await conn.execute(_base().where((ill_requests.c.id == request_id)
                                             & party_scope(principal)))).first()


async def loans_at_closed_lenders(conn: AsyncConnection, principal: Principal,
                                  closed: list[str]) -> list[dict[str, Any]]:
    """Items out on loan from members that are closed now: not recalled, listed for staff."""
    if not closed:
        return []
    query = _base().where(suppliers.c.code.in_(closed)
                          & ill_requests.c.status.in_(("Loaned", "Overdue", "Recalled"))
                          & party_scope(principal)).order_by(ill_requests.c.id)
    return [summary(r) for r in (await conn.execute(query)).all()]
