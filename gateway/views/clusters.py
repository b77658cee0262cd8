"""/api/clusters: the union index — show, explain, and the staff split / merge decisions."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.index import decisions, explain
from gateway.keys import STORE
from gateway.views.auth import require_admin


def _cluster_id(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f'{{"error": "cluster id must be an integer, got {raw!r}"}}',
                                 content_type="application/json") from None


async def _body(request: web.Request) -> dict[str, Any]:
    body = await request.json()
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error": "expected a JSON object"}',
                                 content_type="application/json")
    return body


def _field(body: dict[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise web.HTTPBadRequest(
            text=f'{{"error": "field {name!r} must be a {kind.__name__}, got {value!r}"}}',
            content_type="application/json")
    return value


async def get_cluster(request: web.Request) -> web.Response:
    async with request.app[STORE].connect() as conn:
        return web.json_response(await explain.cluster_detail(
            conn, _cluster_id(request.match_info["cluster_id"])))


async def explain_cluster(request: web.Request) -> web.Response:
    async with request.app[STORE].connect() as conn:
        return web.json_response(await explain.explain(
            conn, _cluster_id(request.match_info["cluster_id"])))


async def split_cluster(request: web.Request) -> web.Response:
    """Body: {"member": CODE, "local_id": ID, "reason": optional}."""
    await require_admin(request)
    body = await _body(request)
    async with request.app[STORE].begin() as conn:
        result = await decisions.split(
            conn, _cluster_id(request.match_info["cluster_id"]), _field(body, "member", str),
            _field(body, "local_id", str), made_by="api", reason=body.get("reason"))
    return web.json_response(result)


async def merge_clusters(request: web.Request) -> web.Response:
    """Body: {"clusters": [A, B], "reason": optional}."""
    await require_admin(request)
    body = await _body(request)
    ids = body.get("clusters")
    if (not isinstance(ids, list) or len(ids) != 2
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)):
        raise web.HTTPBadRequest(text=f'{{"error": "clusters must be two cluster ids, got '
                                      f'{ids!r}"}}', content_type="application/json")
    async with request.app[STORE].begin() as conn:
        result = await decisions.merge(conn, ids[0], ids[1], made_by="api",
                                       reason=body.get("reason"))
    return web.json_response(result)
