"""/api/stats, /api/records, /api/quarantine, /api/runs."""

from __future__ import annotations

from aiohttp import web

from gateway import catalogue
from gateway.keys import STORE


def _int_param(request: web.Request, name: str, default: int, maximum: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f'{{"error": "{name} must be an integer, got {raw!r}"}}',
                                 content_type="application/json") from None
    return max(0, min(value, maximum))


async def get_stats(request: web.Request) -> web.Response:
    return web.json_response(await catalogue.stats(request.app[STORE]))


async def get_record(request: web.Request) -> web.Response:
    return web.json_response(await catalogue.record_detail(
        request.app[STORE], request.match_info["member"], request.match_info["local_id"]))


async def list_quarantine(request: web.Request) -> web.Response:
    return web.json_response(await catalogue.quarantine_list(
        request.app[STORE], request.query.get("member"),
        limit=_int_param(request, "limit", 100, 1000),
        offset=_int_param(request, "offset", 0, 10**9),
        with_raw=request.query.get("raw") in ("1", "true")))


async def list_runs(request: web.Request) -> web.Response:
    return web.json_response(await catalogue.runs_list(
        request.app[STORE], request.query.get("member"),
        limit=_int_param(request, "limit", 50, 1000)))
