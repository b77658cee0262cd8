"""/api/harvests and POST /api/members/{code}/harvest."""

from __future__ import annotations

import asyncio

from aiohttp import web

from gateway import catalogue
from gateway.harvest.runner import targets
from gateway.keys import BACKGROUND, HARVESTER, STORE
from gateway.views.auth import require_admin
from gateway.views.records import _int_param


async def list_harvests(request: web.Request) -> web.Response:
    return web.json_response(await catalogue.runs_list(
        request.app[STORE], request.query.get("member"),
        limit=_int_param(request, "limit", 50, 1000), kind="harvest"))


async def start_harvest(request: web.Request) -> web.Response:
    """Start the member's harvest in the background (admin); 202 with the endpoints."""
    await require_admin(request)
    code = request.match_info["code"]
    full = request.query.get("full") in ("1", "true")
    chosen = await targets(request.app[STORE], [code])
    harvester = request.app[HARVESTER]
    for target in chosen:
        task = asyncio.create_task(harvester.harvest(target, full=full))
        request.app[BACKGROUND].add(task)
        task.add_done_callback(request.app[BACKGROUND].discard)
    return web.json_response({"member": code, "full": full,
                              "endpoints": [t.endpoint.id for t in chosen]}, status=202)
