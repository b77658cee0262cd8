"""Members' signing keys (registry side) and LibGate's own signing key.

A member's key pair is made by `libgate members keygen CODE`: the public half goes into
``member_keys`` with a key id ``CODE#kN``, the private half is handed to the member once and
never stored. Generating a new key rotates: the previous ones keep verifying for
``key_grace_days`` so messages signed just before the switch are still accepted.

``KeyRing`` is the verifier's view: every key that may verify now, cached in memory (a
consortium has tens or hundreds of keys, and every received message needs one) and reloaded when
an unknown key id arrives or the cache is older than a minute.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.registry import member_id
from gateway.store import Store
from gateway.store.engine import as_utc, beside_database
from gateway.store.schema import member_keys, members
from protocols.httpsig import (
    load_private_key,
    load_public_key,
    new_private_key,
    private_key_pem,
    public_key_text,
)

GATEWAY_KEY_ID = "libgate#gateway"


@dataclass(slots=True, frozen=True)
class MemberKey:
    key_id: str
    member: str
    public_key: str
    created_at: datetime
    valid_until: datetime | None

    def valid_at(self, when: datetime) -> bool:
        return self.valid_until is None or as_utc(self.valid_until) > when

    def to_json(self) -> dict:
        return {"key_id": self.key_id, "member": self.member, "public_key": self.public_key,
                "algorithm": "ed25519", "created_at": self.created_at.isoformat(),
                "valid_until": self.valid_until.isoformat() if self.valid_until else None}



async def create_member_key(conn: AsyncConnection, code: str, *, grace: timedelta,
                            now: datetime | None = None) -> tuple[MemberKey, bytes]:
    """A new key pair for member ``code``; returns the registered key and the private PEM."""
    now = now or datetime.now(UTC)
    mid = await member_id(conn, code)
    count = await conn.scalar(sa.select(sa.func.count()).select_from(member_keys)
                              .where(member_keys.c.member_id == mid))
    private = new_private_key()
    public = public_key_text(private.public_key())
    key_id = f"{code}#k{(count or 0) + 1}"
    while await conn.scalar(sa.select(member_keys.c.id).where(member_keys.c.key_id == key_id)):
        count = (count or 0) + 1
        key_id = f"{code}#k{count + 1}"
    # rotation: current keys stay valid for the grace period, then stop verifying
    await conn.execute(member_keys.update().where(
        (member_keys.c.member_id == mid) & member_keys.c.valid_until.is_(None)
    ).values(valid_until=now + grace))
    await conn.execute(member_keys.insert().values(
        member_id=mid, key_id=key_id, public_key=public, created_at=now, valid_until=None))
    key = MemberKey(key_id=key_id, member=code, public_key=public, created_at=now,
                    valid_until=None)
    return key, private_key_pem(private)


async def register_public_key(conn: AsyncConnection, code: str, public_key: str, *,
                              grace: timedelta, key_name: str | None = None) -> MemberKey:
    """Register a public key a member made itself (it keeps its private key in-house)."""
    parsed = load_public_key(public_key)       # ValueError names what is wrong
    now = datetime.now(UTC)
    mid = await member_id(conn, code)
    count = await conn.scalar(sa.select(sa.func.count()).select_from(member_keys)
                              .where(member_keys.c.member_id == mid))
    key_id = f"{code}#{key_name or 'k' + str((count or 0) + 1)}"
    await conn.execute(member_keys.update().where(
        (member_keys.c.member_id == mid) & member_keys.c.valid_until.is_(None)
    ).values(valid_until=now + grace))
    text = public_key_text(parsed)
    await conn.execute(member_keys.insert().values(
        member_id=mid, key_id=key_id, public_key=text, created_at=now, valid_until=None))
    return MemberKey(key_id=key_id, member=code, public_key=text, created_at=now,
                     valid_until=None)


async def list_member_keys(conn: AsyncConnection, code: str | None = None) -> list[MemberKey]:
    query = (sa.select(member_keys, members.c.code)
             .join(members, members.c.id == member_keys.c.member_id)
             .order_by(members.c.code, member_keys.c.id))
    if code is not None:
        query = query.where(members.c.code == code)
    return [MemberKey(key_id=r.key_id, member=r.code, public_key=r.public_key,
                      created_at=as_utc(r.created_at),
                      valid_until=as_utc(r.valid_until) if r.valid_until else None)
            for r in (await conn.execute(query)).all()]


class KeyRing:
    """Public keys that may verify a message now, by key id, cached.

    Reloads are shared: the messages that arrive while one runs wait for it instead of each
    reading every key again (the first burst after a start or an expiry made as many reloads
    as there were connections)."""

    MAX_AGE = 60.0

    def __init__(self, store: Store) -> None:
        self._store = store
        self._keys: dict[str, MemberKey] = {}
        self._loaded = 0.0
        self._reloading: asyncio.Future[float] | None = None

    async def reload(self) -> None:
        started = time.monotonic()
        async with self._store.connect() as conn:
            keys = await list_member_keys(conn)
        self._keys = {k.key_id: k for k in keys}
        self._loaded = started

    async def lookup(self, key_id: str) -> MemberKey | None:
        """The key registered under ``key_id`` (valid or not), reloading once if unknown."""
        asked = time.monotonic()
        if asked - self._loaded > self.MAX_AGE or key_id not in self._keys:
            started = await self._shared_reload()
            if key_id not in self._keys and started < asked:
                # the reload joined began before this message came: it may predate the key
                await self._shared_reload()
        return self._keys.get(key_id)

    async def _shared_reload(self) -> float:
        """Join the reload running now, or start one; when the keys it read were read."""
        if self._reloading is None:
            self._reloading = asyncio.ensure_future(self._reload_once())
        return await asyncio.shield(self._reloading)

    async def _reload_once(self) -> float:
        started = time.monotonic()
        try:
            await self.reload()
        finally:
            self._reloading = None
        return started


@dataclass(slots=True, frozen=True)
class GatewayKey:
    key_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> str:
        return public_key_text(self.private_key.public_key())


def gateway_key_path(key_file: str, db_url: str) -> Path:
    return Path(key_file) if key_file else beside_database(db_url, "libgate-gateway-key.pem")


def load_gateway_key(key_file: str, db_url: str) -> GatewayKey:
    """LibGate's own signing key: read from its PEM file, created (mode 0600) when missing."""
    path = gateway_key_path(key_file, db_url)
    if path.exists():
        try:
            key = load_private_key(path.read_bytes())
        except ValueError as exc:
            raise ValueError(f"gateway key file {str(path)!r}: {exc}") from None
        return GatewayKey(GATEWAY_KEY_ID, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_private_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_key_pem(key))
    return GatewayKey(GATEWAY_KEY_ID, key)
