"""Delivery links for copies (signed, time-limited, view-limited) and e-resource access grants.

A lender completing a copy uploads the file (kept under the ``files_dir`` setting) or gives a
URL; the borrower gets a link ``/links/<token>``. The token is an EdDSA JWT naming only the link
id and its expiry (``protocols.grants``), so it reveals nothing about other requests; views are
counted in the store with one conditional UPDATE, so two clicks on the last view cannot both
win. An expired or used-up link answers 410 with the reason; expired files are purged.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.policy import get_policy
from gateway.registry import RegistryError, member_id
from gateway.security.keys import GatewayKey
from gateway.store.engine import as_utc
from gateway.store.schema import access_links
from protocols import grants


class LinkGone(Exception):
    """The link existed but may no longer be used (HTTP 410); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True, frozen=True)
class CreatedLink:
    link_id: str
    token: str
    expires_at: datetime
    max_views: int


@dataclass(slots=True, frozen=True)
class LinkView:
    file_path: str | None
    url: str | None
    filename: str | None
    content_type: str | None
    views_left: int


async def create_link(conn: AsyncConnection, key: GatewayKey, *, lender: str, borrower: str,
                      files_dir: Path, content: bytes | None = None, url: str | None = None,
                      filename: str | None = None, content_type: str | None = None,
                      request_ref: str | None = None, now: datetime | None = None) -> CreatedLink:
    if (content is None) == (url is None):
        raise RegistryError("a delivery needs either an uploaded file or a URL, not both")
    if url is not None and not url.startswith(("https://", "http://")):
        raise RegistryError(f"delivery URL {url!r} is not an http(s) URL")
    now = now or datetime.now(UTC)
    lender_id = await member_id(conn, lender)
    borrower_id = await member_id(conn, borrower)
    policy = await get_policy(conn, lender)
    link_id = secrets.token_hex(12)
    expires = now + timedelta(days=policy.link_days)
    path = None
    if content is not None:
        files_dir.mkdir(parents=True, exist_ok=True)
        path = files_dir / f"{link_id}.bin"
        path.write_bytes(content)
    await conn.execute(access_links.insert().values(
        link_id=link_id, lender_id=lender_id, borrower_id=borrower_id, request_ref=request_ref,
        file_path=str(path) if path else None, url=url, filename=filename,
        content_type=content_type or "application/octet-stream", max_views=policy.link_max_views,
        views=0, expires_at=expires, created_at=now))
    token = grants.issue({"typ": "link", "lid": link_id}, key.private_key, kid=key.key_id,
                         expires=expires)
    return CreatedLink(link_id, token, expires, policy.link_max_views)


async def open_link(conn: AsyncConnection, key: GatewayKey, token: str, *,
                    now: datetime | None = None) -> LinkView:
    """Count one view and return what to deliver; LinkGone (410) or TokenRefused (403)."""
    now = now or datetime.now(UTC)
    try:
        claims = grants.verify(token, key.private_key.public_key(), typ="link", now=now)
    except grants.TokenRefused as exc:
        if exc.expired:
            raise LinkGone("this link has expired") from None
        raise
    link_id = claims["lid"]
    counted = await conn.execute(access_links.update().where(
        (access_links.c.link_id == link_id) & (access_links.c.views < access_links.c.max_views)
        & (access_links.c.expires_at > now) & access_links.c.purged_at.is_(None)
    ).values(views=access_links.c.views + 1))
    row = (await conn.execute(sa.select(access_links).where(
        access_links.c.link_id == link_id))).first()
    if row is None:
        raise grants.TokenRefused(f"no delivery link {link_id!r}")
    if not counted.rowcount:
        if row.purged_at is not None or as_utc(row.expires_at) <= now:
            raise LinkGone(f"this link expired on {as_utc(row.expires_at):%Y-%m-%d %H:%M} UTC "
                           "and its file was removed")
        raise LinkGone(f"this link has been used its {row.max_views} times")
    return LinkView(row.file_path, row.url, row.filename, row.content_type,
                    row.max_views - row.views)


async def purge_expired(conn: AsyncConnection, *, now: datetime | None = None) -> int:
    """Delete the files of expired links; the rows stay (for the audit), marked purged."""
    now = now or datetime.now(UTC)
    rows = (await conn.execute(sa.select(access_links.c.id, access_links.c.file_path).where(
        (access_links.c.expires_at <= now) & access_links.c.purged_at.is_(None)))).all()
    for row in rows:
        if row.file_path:
            Path(row.file_path).unlink(missing_ok=True)
    if rows:
        await conn.execute(access_links.update().where(
            access_links.c.id.in_([r.id for r in rows])).values(purged_at=now))
    return len(rows)


def issue_grant(key: GatewayKey, *, member: str, resource: str, user: str,
                hours: float) -> tuple[str, datetime]:
    """An access grant (EdDSA JWT) for ``user`` of ``member`` to read ``resource``; a proxy
    verifies it offline with the key at /.well-known/jwks.json (see the README)."""
    now = datetime.now(UTC)
    expires = now + timedelta(hours=hours)
    token = grants.issue({"typ": "grant", "sub": user, "mem": member, "res": resource,
                          "iat": int(now.timestamp())}, key.private_key, kid=key.key_id,
                         expires=expires)
    return token, expires
