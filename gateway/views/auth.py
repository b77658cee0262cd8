"""Authorization checks shared by the views.

A request's bearer token is either the bootstrap ``admin_token`` setting or a token made by
`libgate tokens create` (stored hashed). ``require_admin`` guards the registry;
``require_principal`` gives staff views the caller's member for tenant-scoped queries.
"""

from __future__ import annotations

from aiohttp import web

from gateway.keys import SETTINGS, STORE
from gateway.security import bearer_token
from gateway.security.tokens import Principal, authenticate

_UNAUTHORIZED = '{"error": "a valid bearer token is required (Authorization: Bearer <token>)"}'


async def principal(request: web.Request) -> Principal | None:
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        return None
    async with request.app[STORE].connect() as conn:
        return await authenticate(conn, token,
                                  bootstrap_admin=request.app[SETTINGS].admin_token)


async def require_principal(request: web.Request) -> Principal:
    found = await principal(request)
    if found is None:
        raise web.HTTPUnauthorized(text=_UNAUTHORIZED, content_type="application/json",
                                   headers={"WWW-Authenticate": "Bearer"})
    return found


async def require_admin(request: web.Request) -> Principal:
    """Writes to the registry need a consortium-admin token."""
    found = await require_principal(request)
    if not found.is_admin:
        raise web.HTTPForbidden(text='{"error": "this needs a consortium-admin token; '
                                     f'yours is a {found.role} token of {found.member}"}}',
                                content_type="application/json")
    return found
