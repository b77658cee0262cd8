"""E-resources, service status, emergency posture, copyright and delivery links (thin views)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from aiohttp import web

from gateway import access_links, copyright, eresources, posture
from gateway.keys import GATEWAY_KEY, SETTINGS, STORE
from gateway.policy import get_policy, set_policy
from gateway.registry import RegistryError
from gateway.store.engine import beside_database
from gateway.views.auth import require_admin, require_manager, require_principal
from protocols.eresources.licence import LicenceError
from protocols.grants import TokenRefused

MAX_UPLOAD = 64 * 2**20


def files_dir(app: web.Application) -> Path:
    settings = app[SETTINGS]
    return Path(settings.files_dir) if settings.files_dir else \
        beside_database(settings.db, "libgate-files")


def _date(value: Any, name: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise RegistryError(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


async def _object(request: web.Request) -> dict:
    body = await request.json()
    if not isinstance(body, dict):
        raise RegistryError(f"expected a JSON object, got {type(body).__name__}")
    return body


async def load_kbart(request: web.Request) -> web.Response:
    """POST /api/members/{code}/eresources?package=NAME — body: the KBART file."""
    code = request.match_info["code"]
    await require_manager(request, code)
    package = request.query.get("package")
    if not package:
        raise RegistryError("name the package: ?package=NAME")
    text = (await request.read()).decode("utf-8", errors="replace")
    async with request.app[STORE].begin() as conn:
        report = await eresources.load_kbart(conn, code, package, text)
    return web.json_response(report.to_json(), status=200 if report.loaded else 422)


async def load_licences(request: web.Request) -> web.Response:
    """POST /api/members/{code}/licences — body: the licence TOML."""
    code = request.match_info["code"]
    await require_manager(request, code)
    text = (await request.read()).decode("utf-8", errors="replace")
    try:
        async with request.app[STORE].begin() as conn:
            count = await eresources.load_licences(conn, code, text, "request body")
    except LicenceError as exc:
        raise RegistryError(str(exc)) from None
    return web.json_response({"member": code, "licences": count})


async def put_status(request: web.Request) -> web.Response:
    """PUT /api/members/{code}/status {status, reason?, starts_on?, ends_on?}"""
    code = request.match_info["code"]
    who = await require_manager(request, code)
    body = await _object(request)
    async with request.app[STORE].begin() as conn:
        status = await posture.set_status(
            conn, code, str(body.get("status", "")), reason=body.get("reason"),
            starts_on=_date(body.get("starts_on"), "starts_on"),
            ends_on=_date(body.get("ends_on"), "ends_on"),
            set_by=who.member or "consortium office")
    return web.json_response(status.to_json())


async def get_policy_view(request: web.Request) -> web.Response:
    async with request.app[STORE].connect() as conn:
        policy = await get_policy(conn, request.match_info["code"])
    return web.json_response(policy.to_json())


async def patch_policy(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    await require_manager(request, code)
    body = await _object(request)
    async with request.app[STORE].begin() as conn:
        policy = await set_policy(conn, code, body)
    return web.json_response(policy.to_json())


async def get_posture(request: web.Request) -> web.Response:
    day = _date(request.query.get("date"), "date") or dt.date.today()
    async with request.app[STORE].connect() as conn:
        return web.json_response(await posture.posture(conn, day))


async def declare_emergency(request: web.Request) -> web.Response:
    await require_admin(request)
    body = await _object(request)
    starts_on = _date(body.get("starts_on"), "starts_on") or dt.date.today()
    async with request.app[STORE].begin() as conn:
        await posture.declare_emergency(conn, starts_on, body.get("note"), "consortium office")
        current = await posture.current_emergency(conn)
    return web.json_response(current, status=201)


async def end_emergency(request: web.Request) -> web.Response:
    await require_admin(request)
    async with request.app[STORE].begin() as conn:
        await posture.end_emergency(conn)
    return web.json_response({"emergency": None})


async def copyright_report(request: web.Request) -> web.Response:
    code = request.match_info["member"]
    who = await require_principal(request)
    if not who.acts_for(code):
        raise web.HTTPForbidden(text='{"error": "another member\'s copyright report"}',
                                content_type="application/json")
    try:
        year = int(request.match_info["year"])
    except ValueError:
        raise RegistryError(f"year {request.match_info['year']!r} is not a number") from None
    async with request.app[STORE].connect() as conn:
        return web.json_response(await copyright.report(conn, code, year))


async def create_delivery(request: web.Request) -> web.Response:
    """POST /api/deliveries?borrower=B[&url=U][&filename=F] — body: the copy (lender's token)."""
    who = await require_principal(request)
    lender = who.member
    if lender is None:
        raise RegistryError("a delivery is made by the lending member's staff token")
    borrower = request.query.get("borrower")
    if not borrower:
        raise RegistryError("name the borrowing member: ?borrower=CODE")
    url = request.query.get("url")
    content = None if url else await request.read()
    if content is not None and not content:
        raise RegistryError("upload the copy as the request body, or give ?url=")
    if content is not None and len(content) > MAX_UPLOAD:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPLOAD, actual_size=len(content))
    async with request.app[STORE].begin() as conn:
        link = await access_links.create_link(
            conn, request.app[GATEWAY_KEY], lender=lender, borrower=borrower,
            files_dir=files_dir(request.app), content=content, url=url,
            filename=request.query.get("filename"),
            content_type=request.headers.get("Content-Type") if content else None,
            request_ref=request.query.get("request"))
    return web.json_response({"link": f"/links/{link.token}", "expires_at":
                              link.expires_at.isoformat(), "max_views": link.max_views},
                             status=201)


GONE_PAGE = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Link no longer
available</title><body><h1>This copy is no longer available</h1><p>{reason}.</p><p>Ask your
library's interlibrary loan desk if you still need it.</p></body></html>"""


async def open_delivery(request: web.Request) -> web.StreamResponse:
    """GET /links/{token}: no login; counts one view; 410 with the reason when gone."""
    token = request.match_info["token"]
    try:
        async with request.app[STORE].begin() as conn:
            view = await access_links.open_link(conn, request.app[GATEWAY_KEY], token)
    except access_links.LinkGone as gone:
        import html
        return web.Response(status=410, content_type="text/html",
                            text=GONE_PAGE.format(reason=html.escape(gone.reason)))
    except TokenRefused:
        return web.Response(status=404, text="no such link")
    if view.url:
        raise web.HTTPFound(view.url)
    headers = {"Cache-Control": "no-store", "X-Views-Left": str(view.views_left)}
    if view.filename:
        headers["Content-Disposition"] = f'inline; filename="{view.filename}"'
    return web.Response(body=Path(view.file_path).read_bytes(), headers=headers,
                        content_type=view.content_type or "application/octet-stream")


async def public_keys(request: web.Request) -> web.Response:
    """GET /.well-known/jwks.json — LibGate's public key, for proxies and members."""
    import base64

    key = request.app[GATEWAY_KEY]
    raw = base64.urlsafe_b64decode(key.public_key + "=" * (-len(key.public_key) % 4))
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return web.json_response({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA",
                                        "use": "sig", "kid": key.key_id, "x": x}]})


async def issue_grant(request: web.Request) -> web.Response:
    """POST /api/grants {resource, user, hours?} — an access grant for the caller's member's
    user, verifiable offline by the member's proxy with /.well-known/jwks.json."""
    who = await require_principal(request)
    if who.member is None:
        raise RegistryError("an access grant is issued to a member: use a member's token")
    body = await _object(request)
    resource, user = body.get("resource"), body.get("user")
    if not resource or not user:
        raise RegistryError("an access grant needs 'resource' (URL or identifier) and 'user'")
    try:
        hours = float(body.get("hours", 24))
    except (TypeError, ValueError):
        raise RegistryError(f"hours {body.get('hours')!r} is not a number") from None
    if not 0 < hours <= 24 * 31:
        raise RegistryError(f"hours {hours!r} must be between 0 and 744")
    token, expires = access_links.issue_grant(request.app[GATEWAY_KEY], member=who.member,
                                        resource=str(resource), user=str(user), hours=hours)
    return web.json_response({"grant": token, "expires_at": expires.isoformat()}, status=201)
