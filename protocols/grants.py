"""Signed, expiring tokens LibGate hands out: delivery links and e-resource access grants.

They are JSON Web Tokens (RFC 7519) signed with LibGate's Ed25519 key (``alg: EdDSA``,
RFC 8037), made and checked by PyJWT, so a member's proxy (EZproxy-style) can verify a grant
offline with LibGate's public key and any JWT library — see the README for an example. Claims:

- delivery link: ``typ="link"``, ``lid`` (the link id; views are counted in the store), ``exp``;
- access grant: ``typ="grant"``, ``sub`` (the member's patron reference), ``mem`` (member code),
  ``res`` (what may be read: a URL or an identifier), ``iat``, ``exp``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocols.errors import ProtocolError

ISSUER = "libgate"


class TokenRefused(ProtocolError):
    """A token that is forged, malformed, of the wrong type — or expired (``expired`` True)."""

    status_hint = 403

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def issue(claims: dict[str, Any], private_key: Ed25519PrivateKey, *, kid: str,
          expires: dt.datetime) -> str:
    payload = {**claims, "iss": ISSUER, "exp": int(expires.timestamp())}
    return jwt.encode(payload, private_key, algorithm="EdDSA", headers={"kid": kid})


def verify(token: str, public_key: Ed25519PublicKey, *, typ: str,
           now: dt.datetime | None = None) -> dict[str, Any]:
    """The claims of a valid token of type ``typ``; TokenRefused otherwise."""
    try:
        options = {"require": ["exp", "iss", "typ"]}
        if now is not None:
            # checking at a given time (tests, audits): PyJWT compares exp with its own clock
            claims = jwt.decode(token, public_key, algorithms=["EdDSA"], issuer=ISSUER,
                                options={**options, "verify_exp": False})
            if claims["exp"] < now.timestamp():
                raise jwt.ExpiredSignatureError("Signature has expired")
        else:
            claims = jwt.decode(token, public_key, algorithms=["EdDSA"], issuer=ISSUER,
                                options=options)
    except jwt.ExpiredSignatureError:
        raise TokenRefused("the token has expired", expired=True) from None
    except jwt.InvalidTokenError as exc:
        raise TokenRefused(f"the token is not valid: {exc}") from None
    if claims.get("typ") != typ:
        raise TokenRefused(f"a {claims.get('typ')!r} token cannot be used as a {typ!r} token")
    return claims
