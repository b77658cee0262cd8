"""The HTML landing page and the health check."""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from gateway import catalogue, registry
from gateway.keys import METRICS, SCHEDULER, STORE

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=True)


async def home(request: web.Request) -> web.Response:
    store = request.app[STORE]
    html = _templates.get_template("home.html").render(
        stats=await catalogue.stats(store), members=await registry.list_members(store))
    return web.Response(text=html, content_type="text/html")


async def health(request: web.Request) -> web.Response:
    """Store reachable, and (under `libgate serve`) the scheduler alive."""
    store_ok = await request.app[STORE].ping()
    body: dict = {"store": store_ok}
    ok = store_ok
    scheduler = request.app.get(SCHEDULER)
    if scheduler is not None:
        body["scheduler"] = scheduler.alive()
        body["harvests_running"] = len(scheduler.running)
        ok = ok and body["scheduler"]
    body["status"] = "ok" if ok else "degraded"
    return web.json_response(body, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    payload, content_type = request.app[METRICS].exposition()
    return web.Response(body=payload, headers={"Content-Type": content_type})
