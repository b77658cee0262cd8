"""Emergency temporary access checkouts (thin views; member staff act for their own users)."""

from __future__ import annotations

from aiohttp import web

from gateway import etas
from gateway.keys import STORE
from gateway.registry import RegistryError
from gateway.views.auth import require_principal


def _int(value, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise RegistryError(f"{name} {value!r} is not a number") from None


async def create_checkout(request: web.Request) -> web.Response:
    """POST /api/etas/checkouts {cluster, reader, hours?} — for the caller's (closed) member."""
    who = await require_principal(request)
    if who.member is None:
        raise RegistryError("a checkout is made by a member's staff token")
    body = await request.json()
    if not isinstance(body, dict) or not body.get("reader"):
        raise RegistryError("give {\"cluster\": ID, \"reader\": \"patron reference\"}")
    made = await etas.checkout(request.app[STORE], who.member, _int(body.get("cluster"), "cluster"),
                               str(body["reader"]), hours=float(body.get("hours", 24)))
    return web.json_response(made.to_json(), status=201)


async def _own(request: web.Request) -> int:
    who = await require_principal(request)
    checkout_id = _int(request.match_info["id"], "checkout")
    if not who.is_admin:
        async with request.app[STORE].connect() as conn:
            owner = await etas.checkout_member(conn, checkout_id)
        if owner is None or who.member is None or owner.casefold() != who.member.casefold():
            raise web.HTTPNotFound(text='{"error": "no such checkout"}',
                                   content_type="application/json")
    return checkout_id


async def renew_checkout(request: web.Request) -> web.Response:
    checkout_id = await _own(request)
    expires = await etas.renew(request.app[STORE], checkout_id)
    return web.json_response({"id": checkout_id, "expires_at": expires.isoformat()})


async def return_checkout(request: web.Request) -> web.Response:
    checkout_id = await _own(request)
    await etas.return_checkout(request.app[STORE], checkout_id)
    return web.json_response({"id": checkout_id, "returned": True})


async def report(request: web.Request) -> web.Response:
    async with request.app[STORE].connect() as conn:
        return web.json_response(await etas.report(conn))
