"""The HTML landing page and the health check."""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from gateway import catalogue, registry
from gateway.keys import STORE

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=True)


async def home(request: web.Request) -> web.Response:
    store = request.app[STORE]
    html = _templates.get_template("home.html").render(
        stats=await catalogue.stats(store), members=await registry.list_members(store))
    return web.Response(text=html, content_type="text/html")


async def health(request: web.Request) -> web.Response:
    ok = await request.app[STORE].ping()
    return web.json_response({"status": "ok" if ok else "degraded", "store": ok},
                             status=200 if ok else 503)
