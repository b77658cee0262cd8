"""Security helpers shared by views, CLI and logs: secret redaction and token checks."""

from __future__ import annotations

import hmac

from protocols.redaction import redact_url

__all__ = ["bearer_token", "is_admin", "redact_url"]


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def is_admin(authorization: str | None, admin_token: str) -> bool:
    """True when the request carries the consortium admin token (constant-time compare)."""
    token = bearer_token(authorization)
    if not admin_token or token is None:
        return False
    return hmac.compare_digest(token.encode(), admin_token.encode())
