"""Authorization checks shared by the views.

A request's bearer token is either the bootstrap ``admin_token`` setting or a token made by
`libgate tokens create` (stored hashed). ``require_admin`` guards the registry (consortium
office); ``require_manager`` a member's own settings (its admin or the office);
``require_principal`` gives staff views the caller's member for tenant-scoped queries.
"""

from __future__ import annotations

import json

from aiohttp import web

from gateway.keys import SETTINGS, STORE
from gateway.security import bearer_token
from gateway.security.tokens import Principal, authenticate


def _refusal(cls: type[web.HTTPException], message: str, **kwargs) -> web.HTTPException:
    return cls(text=json.dumps({"error": message}), content_type="application/json", **kwargs)


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
        raise _refusal(web.HTTPUnauthorized, "a valid bearer token is required "
                       "(Authorization: Bearer <token>)", headers={"WWW-Authenticate": "Bearer"})
    return found


async def require_admin(request: web.Request) -> Principal:
    """Writes to the registry need a consortium-admin token."""
    found = await require_principal(request)
    if not found.is_admin:
        raise _refusal(web.HTTPForbidden, "this needs a consortium-admin token; yours is a "
                       f"{found.role} token of {found.member}")
    return found


async def require_manager(request: web.Request, member: str) -> Principal:
    """Changes to one member's status, policy or e-resources: its admin or the office."""
    found = await require_principal(request)
    if not found.manages(member):
        raise _refusal(web.HTTPForbidden, f"this needs an admin token of {member} or of the "
                       "consortium office")
    return found
