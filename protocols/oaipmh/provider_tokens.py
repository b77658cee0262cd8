"""Signed, expiring resumption tokens for our OAI-PMH repository.

A token carries everything the next page needs, so any gateway worker on the same store can
answer it and no server-side state is kept:

    {"v": 1, "verb", "prefix", "set", "from", "until",   the original query, verbatim
     "after": ["<updated_at ISO>", <cluster id>],         keyset cursor: last row of the page
     "cursor": <rows already sent>, "size": <completeListSize>, "exp": <unix seconds>}

Wire form: ``base64url(json) "." base64url(HMAC-SHA256(key, json))``. The MAC is checked
(in constant time, by ``cryptography``) before the JSON is even parsed; a token that was
changed, signed with another key, or is past ``exp`` is a ``BadResumptionToken``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac

from protocols.oaipmh.errors import BadResumptionToken
from protocols.oaipmh.provider import ListRequest

__all__ = ["TokenState", "sign_token", "read_token", "MIN_KEY_BYTES"]

MIN_KEY_BYTES = 32
_VERSION = 1
_MAX_TOKEN_CHARS = 4096


@dataclass(frozen=True, slots=True)
class TokenState:
    query: ListRequest
    after_datestamp: datetime      # updated_at of the last row sent (UTC, full precision)
    after_id: int
    cursor: int                    # rows sent before the page this token asks for
    complete_list_size: int | None
    expires: int                   # unix seconds


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: bytes) -> hmac.HMAC:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"resumption token key must have at least {MIN_KEY_BYTES} bytes, "
                         f"got {len(key)}")
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(payload)
    return mac


def sign_token(state: TokenState, key: bytes) -> str:
    query = state.query
    payload = json.dumps({
        "v": _VERSION, "verb": query.verb, "prefix": query.metadata_prefix,
        "set": query.set_spec, "from": query.from_, "until": query.until,
        "after": [state.after_datestamp.isoformat(), state.after_id],
        "cursor": state.cursor, "size": state.complete_list_size, "exp": state.expires,
    }, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload).finalize())}"


def read_token(token: str, key: bytes, *, now: float, verb: str) -> TokenState:
    """The state in ``token``, or BadResumptionToken (tampered, foreign, expired, other verb)."""
    shown = token[:40] + ("…" if len(token) > 40 else "")
    if len(token) > _MAX_TOKEN_CHARS or token.count(".") != 1:
        raise BadResumptionToken(f"not a resumption token of this repository: {shown!r}")
    body, signature = token.split(".")
    try:
        payload, mac_bytes = _unb64(body), _unb64(signature)
    except (binascii.Error, ValueError):
        raise BadResumptionToken(f"resumption token is not base64url: {shown!r}") from None
    try:
        _mac(key, payload).verify(mac_bytes)
    except InvalidSignature:
        raise BadResumptionToken(
            f"resumption token {shown!r} was altered or signed by another key") from None
    try:
        data = json.loads(payload)
        if data["v"] != _VERSION:
            raise BadResumptionToken(f"resumption token version {data['v']!r} is not ours")
        after_datestamp, after_id = data["after"]
        state = TokenState(
            query=ListRequest(data["verb"], data["prefix"], data["set"], data["from"],
                              data["until"]),
            after_datestamp=datetime.fromisoformat(after_datestamp), after_id=int(after_id),
            cursor=int(data["cursor"]), complete_list_size=data["size"],
            expires=int(data["exp"]))
    except (KeyError, TypeError, ValueError) as exc:
        # signed by us, so this is a token of an older layout, not an attack
        raise BadResumptionToken(f"resumption token {shown!r} has an unknown layout "
                                 f"({exc.__class__.__name__})") from None
    if state.expires <= now:
        raise BadResumptionToken(f"resumption token {shown!r} expired at unix time "
                                 f"{state.expires}; start the list again")
    if state.query.verb != verb:
        raise BadResumptionToken(f"resumption token {shown!r} belongs to "
                                 f"{state.query.verb}, not {verb}")
    return state
