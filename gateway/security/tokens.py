"""Staff and consortium-admin API tokens.

``libgate tokens create MEMBER --role staff|admin`` prints a token once; the store keeps only
its SHA-256. A staff token acts for its member only (tenant isolation is applied in each
query by the caller's member); an admin token of the consortium office (``member`` None) may
change the registry; an admin token of a member manages that member's status, policy and
e-resources. The ``admin_token`` setting stays as the bootstrap admin credential.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.registry import RegistryError, member_id
from gateway.store.schema import api_tokens, members

ROLES = ("staff", "admin")
TOKEN_PREFIX = "lgt_"


@dataclass(slots=True, frozen=True)
class Principal:
    """Who is calling the API."""

    role: str                      # staff | admin
    member: str | None             # member code; None for the consortium office
    member_id: int | None
    token_id: int | None = None    # None: the bootstrap admin_token setting

    @property
    def is_admin(self) -> bool:
        """A consortium-office admin: the only one who may change the registry."""
        return self.role == "admin" and self.member is None

    def manages(self, member: str) -> bool:
        """May set ``member``'s status, policy and e-resources: the office or its own admin."""
        return self.is_admin or (self.role == "admin" and self.member is not None
                                 and self.member.casefold() == member.casefold())

    def acts_for(self, member: str) -> bool:
        """May work ``member``'s ILL requests: its staff and admins, or the office."""
        return self.is_admin or (self.member is not None
                                 and self.member.casefold() == member.casefold())


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(conn: AsyncConnection, member: str | None, role: str,
                       label: str | None = None) -> tuple[int, str]:
    """A new token for ``member`` (None: consortium office); returns (id, token)."""
    if role not in ROLES:
        raise RegistryError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if role == "staff" and member is None:
        raise RegistryError("a staff token belongs to a member: name the member")
    mid = await member_id(conn, member) if member is not None else None
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    result = await conn.execute(api_tokens.insert().values(
        member_id=mid, role=role, token_hash=hash_token(token), label=label,
        created_at=datetime.now(UTC)).returning(api_tokens.c.id))
    return result.scalar_one(), token


async def revoke_token(conn: AsyncConnection, token_id: int) -> None:
    result = await conn.execute(api_tokens.update().where(
        (api_tokens.c.id == token_id) & api_tokens.c.revoked_at.is_(None)
    ).values(revoked_at=datetime.now(UTC)))
    if not result.rowcount:
        raise RegistryError(f"no active token with id {token_id}")


async def list_tokens(conn: AsyncConnection) -> list[dict]:
    query = (sa.select(api_tokens.c.id, api_tokens.c.role, api_tokens.c.label,
                       api_tokens.c.created_at, api_tokens.c.revoked_at, members.c.code)
             .select_from(api_tokens.outerjoin(members, members.c.id == api_tokens.c.member_id))
             .order_by(api_tokens.c.id))
    return [{"id": r.id, "member": r.code, "role": r.role, "label": r.label,
             "created_at": r.created_at.isoformat() if r.created_at else None,
             "revoked": r.revoked_at is not None}
            for r in (await conn.execute(query)).all()]


async def authenticate(conn: AsyncConnection, token: str | None, *,
                       bootstrap_admin: str = "") -> Principal | None:
    """The principal a bearer token stands for, or None (unknown, revoked or absent)."""
    if not token:
        return None
    if bootstrap_admin and hmac.compare_digest(token.encode(), bootstrap_admin.encode()):
        return Principal(role="admin", member=None, member_id=None)
    # a hash lookup is not a timing oracle for the token itself: the hash is what is compared
    row = (await conn.execute(
        sa.select(api_tokens.c.id, api_tokens.c.role, api_tokens.c.member_id, members.c.code)
        .select_from(api_tokens.outerjoin(members, members.c.id == api_tokens.c.member_id))
        .where((api_tokens.c.token_hash == hash_token(token))
               & api_tokens.c.revoked_at.is_(None)))).first()
    if row is None:
        return None
    return Principal(role=row.role, member=row.code, member_id=row.member_id, token_id=row.id)
