"""GET /api/search: the union catalogue's search, as JSON."""

from __future__ import annotations

from aiohttp import web

from gateway.index.search import search_store
from gateway.keys import STORE
from protocols.search_query import DEFAULT_LIMIT, FILTER_FIELDS, QueryError, parse_query


def _whole_number(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise QueryError(f"{name}={raw}", f"{name} must be a whole number") from None


async def search_clusters(request: web.Request) -> web.Response:
    """``q`` in the query language; filters also as parameters (``format=book&year=1990-``);
    ``page``, ``limit``, ``facets=false``."""
    filters = [(name, value) for name in FILTER_FIELDS for value in request.query.getall(name, [])]
    query = parse_query(request.query.get("q", ""), filters=filters,
                        page=_whole_number(request, "page", 1),
                        limit=_whole_number(request, "limit", DEFAULT_LIMIT),
                        facets=request.query.get("facets", "true").lower()
                        not in ("false", "0", "no"))
    result = await search_store(request.app[STORE], query)
    return web.json_response(result.to_dict())
