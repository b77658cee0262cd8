"""Verifying a signed inter-institution message against the registry.

``protocols.httpsig.verify_request`` checks the cryptography, coverage, digest and age; what
needs the store is here: the key must be registered and still valid (rotation grace), its nonce
must not have been seen (replay), and the agency the message claims to come from must be the
member that owns the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Iterable, Mapping

import http_sf
import sqlalchemy as sa

from gateway.security.keys import KeyRing, MemberKey
from gateway.security.verifier import SignatureVerifier
from gateway.store import Store
from gateway.store.schema import seen_nonces
from protocols.httpsig import SignatureRejected, VerifiedSignature

IN_PROCESS = SignatureVerifier(0)
# the keyid parameter as LibGate and its peers write it (no escapes); anything else is parsed
_KEYID = re.compile(r';\s*keyid="([^"\\]*)"')


@dataclass(slots=True, frozen=True)
class SignedBy:
    """Who signed a message LibGate accepted."""

    member: str
    key_id: str
    nonce: str


async def verify_member_message(store: Store, ring: KeyRing, method: str, url: str,
                                headers: Mapping[str, str] | Iterable[tuple[str, str]],
                                body: bytes, *, max_age: timedelta, remember: bool = True,
                                verifier: SignatureVerifier = IN_PROCESS) -> SignedBy:
    """Verify a received message; raise ``SignatureRejected`` (with its reason) if refused.

    ``remember=False`` leaves recording the nonce to the caller (``remember_nonce`` inside the
    caller's own transaction, so the replay check and the state change commit together).
    ``verifier`` runs the cryptographic check (the app's runs it in worker processes)."""
    headers = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    key_id = _claimed_key_id(headers)
    key = await ring.lookup(key_id) if key_id else None
    now = datetime.now(UTC)
    if key is not None and not key.valid_at(now):
        raise SignatureRejected("key-retired", f"key {key_id!r} of {key.member} is no longer "
                                               "valid (rotated out)")
    verified = await verifier.verify(method, url, headers, body,
                                     key_id=key.key_id if key is not None else None,
                                     public_key=key.public_key if key is not None else None,
                                     max_age=max_age)
    assert key is not None
    if remember:
        await _remember_nonce(store, verified, now)
    return SignedBy(member=key.member, key_id=key.key_id, nonce=verified.nonce)


def check_agency(signed_by: SignedBy, agency_id: str) -> None:
    """The message's sending agency must be the member whose key signed it."""
    if agency_id.casefold() != signed_by.member.casefold():
        raise SignatureRejected(
            "wrong-agency", f"message claims agency {agency_id!r} but is signed with key "
                            f"{signed_by.key_id!r} of {signed_by.member}")


async def _remember_nonce(store: Store, verified: VerifiedSignature, now: datetime) -> None:
    try:
        async with store.begin() as conn:
            await conn.execute(seen_nonces.insert().values(
                key_id=verified.key_id, nonce=verified.nonce, seen_at=now))
    except sa.exc.IntegrityError:
        raise SignatureRejected("replayed", f"nonce {verified.nonce!r} of key "
                                            f"{verified.key_id!r} was already used") from None


async def remember_nonce(conn, signed_by: SignedBy, now: datetime) -> None:
    """Record a nonce in the caller's transaction; a replay raises IntegrityError there."""
    await conn.execute(seen_nonces.insert().values(key_id=signed_by.key_id,
                                                   nonce=signed_by.nonce, seen_at=now))


def replayed(signed_by: SignedBy) -> SignatureRejected:
    return SignatureRejected("replayed", f"nonce {signed_by.nonce!r} of key "
                                         f"{signed_by.key_id!r} was already used")


async def forget_old_nonces(store: Store, max_age: timedelta) -> int:
    """Drop nonces older than twice the signature age window (they can no longer verify)."""
    cutoff = datetime.now(UTC) - 2 * max_age
    async with store.begin() as conn:
        result = await conn.execute(seen_nonces.delete().where(seen_nonces.c.seen_at < cutoff))
    return result.rowcount or 0


def _claimed_key_id(headers: list[tuple[str, str]]) -> str | None:
    """The keyid parameter of the Signature-Input header, read without trusting it (the
    verifier accepts a signature only under the key looked up for this id)."""
    value = ", ".join(v for k, v in headers if k.lower() == "signature-input")
    if not value:
        return None
    if found := _KEYID.search(value):
        return found.group(1)
    try:
        parsed = http_sf.parse(value.encode(), tltype="dictionary")
    except ValueError:          # malformed: the verifier refuses it with its own reason
        return None
    for _label, (_member, params) in parsed.items():
        key_id = params.get("keyid")
        if isinstance(key_id, str):
            return key_id
    return None


__all__ = ["SignedBy", "MemberKey", "check_agency", "forget_old_nonces", "remember_nonce",
           "replayed", "verify_member_message"]
