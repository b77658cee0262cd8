"""Authorization checks shared by the views."""

from __future__ import annotations

from aiohttp import web

from gateway.keys import SETTINGS
from gateway.security import is_admin


def require_admin(request: web.Request) -> None:
    """Writes to the registry need the consortium admin token."""
    token = request.app[SETTINGS].admin_token
    if not token:
        raise web.HTTPForbidden(text='{"error": "the HTTP API is read-only: no admin_token '
                                     'is configured"}', content_type="application/json")
    if not is_admin(request.headers.get("Authorization"), token):
        raise web.HTTPUnauthorized(
            text='{"error": "admin token required (Authorization: Bearer <token>)"}',
            content_type="application/json", headers={"WWW-Authenticate": "Bearer"})
