"""The staff ILL API (thin views over gateway.broker): requests, actions, webhooks.

Every read is scoped to the caller's member in the query (``broker.queries.party_scope``); a
request the caller is no party to answers 404, as if it did not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from gateway.broker import queries, webhooks
from gateway.keys import BROKER, STORE
from gateway.posture import effective_statuses
from gateway.registry import RegistryError
from gateway.views.auth import require_principal


async def _object(request: web.Request) -> dict:
    body = await request.json()
    if not isinstance(body, dict):
        raise RegistryError(f"expected a JSON object, got {type(body).__name__}")
    return body


def _id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit():
        raise RegistryError(f"request id {raw!r} is not a number")
    return int(raw)


async def create_request(request: web.Request) -> web.Response:
    """POST /api/ill/requests {cluster_id | openurl | title/isbn/issn/oclc…, service_type,
    patron_ref, needed_by, accept_print?}"""
    who = await require_principal(request)
    created = await request.app[BROKER].create(who, await _object(request))
    return web.json_response(created, status=201)


async def list_requests(request: web.Request) -> web.Response:
    """GET /api/ill/requests[?role=borrowing|lending&state=…]"""
    who = await require_principal(request)
    role = request.query.get("role") or None
    if role is not None and role not in queries.ROLES:
        raise RegistryError(f"role {role!r}; expected one of {', '.join(queries.ROLES)}")
    async with request.app[STORE].connect() as conn:
        found = await queries.list_requests(conn, who, role=role,
                                            state=request.query.get("state") or None)
    return web.json_response({"requests": found})


async def get_request(request: web.Request) -> web.Response:
    """GET /api/ill/requests/{id} — with its rota and full message history."""
    who = await require_principal(request)
    return web.json_response(await request.app[BROKER].show(who, _id(request)))


async def act(request: web.Request) -> web.Response:
    """POST /api/ill/requests/{id}/actions {action, note?, reason?, due_date?, accept?, …}"""
    who = await require_principal(request)
    body = await _object(request)
    action = body.pop("action", None)
    if not action:
        raise RegistryError("name the action: {\"action\": \"Received\", …}")
    return web.json_response(await request.app[BROKER].act(who, _id(request), str(action), body))


async def closed_lender_loans(request: web.Request) -> web.Response:
    """GET /api/ill/closed-lender-loans — loans out from members closed today (not recalled
    automatically: staff decide)."""
    who = await require_principal(request)
    async with request.app[STORE].connect() as conn:
        statuses = await effective_statuses(conn, datetime.now(UTC).date())
        closed = [code for code, s in statuses.items() if s.status == "closed"]
        found = await queries.loans_at_closed_lenders(conn, who, closed)
    return web.json_response({"closed": sorted(closed), "loans": found})


def _member_of(who) -> str:
    if who.member is None:
        raise RegistryError("webhooks belong to a member: use a member's token")
    return who.member


async def add_webhook(request: web.Request) -> web.Response:
    """POST /api/ill/webhooks {url}"""
    member = _member_of(await require_principal(request))
    body = await _object(request)
    async with request.app[STORE].begin() as conn:
        created = await webhooks.register(conn, member, str(body.get("url") or ""))
    request.app[BROKER].hooks.forget()
    return web.json_response(created, status=201)


async def list_webhooks(request: web.Request) -> web.Response:
    member = _member_of(await require_principal(request))
    async with request.app[STORE].connect() as conn:
        return web.json_response({"webhooks": await webhooks.listed(conn, member)})


async def remove_webhook(request: web.Request) -> web.Response:
    member = _member_of(await require_principal(request))
    async with request.app[STORE].begin() as conn:
        await webhooks.remove(conn, member, _id(request))
    request.app[BROKER].hooks.forget()
    return web.Response(status=204)
