"""A member's lending policy: what it offers and the limits it sets. Stored in
``members.policy`` (JSON); every key has a default here, so an empty policy is a full one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.registry import RegistryError, member_id
from gateway.store.schema import members

SERVICE_TYPES = ("Loan", "Copy")


@dataclass(slots=True)
class LendingPolicy:
    services: tuple[str, ...] = SERVICE_TYPES   # service types the member lends
    response_hours: float = 48.0                # answer a request within this, or it moves on
    link_max_views: int = 5                     # delivery links (as Article Exchange)
    link_days: float = 30.0

    @classmethod
    def from_json(cls, data: dict[str, Any] | None, where: str = "policy") -> LendingPolicy:
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise RegistryError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                                f"expected {', '.join(sorted(known))}")
        for name, kind in (("response_hours", float), ("link_days", float),
                           ("link_max_views", int)):
            if name in data:
                try:
                    data[name] = kind(data[name])
                except (TypeError, ValueError):
                    raise RegistryError(f"{where}: {name} {data[name]!r} is not a number") \
                        from None
        if isinstance(data.get("services"), str):
            data["services"] = [s.strip() for s in data["services"].split(",")]
        policy = cls(**data)
        policy.services = tuple(policy.services)
        bad = [s for s in policy.services if s not in SERVICE_TYPES]
        if bad:
            raise RegistryError(f"{where}: service type(s) {bad!r}; expected {SERVICE_TYPES}")
        for name in ("response_hours", "link_days", "link_max_views"):
            if not getattr(policy, name) > 0:
                raise RegistryError(f"{where}: {name} must be greater than zero, "
                                    f"not {getattr(policy, name)!r}")
        return policy

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["services"] = list(self.services)
        return data


async def get_policy(conn: AsyncConnection, code: str) -> LendingPolicy:
    mid = await member_id(conn, code)
    raw = await conn.scalar(sa.select(members.c.policy).where(members.c.id == mid))
    return LendingPolicy.from_json(raw, f"policy of {code}")


async def set_policy(conn: AsyncConnection, code: str, changes: dict[str, Any]) -> LendingPolicy:
    current = await get_policy(conn, code)
    merged = LendingPolicy.from_json({**current.to_json(), **changes}, f"policy of {code}")
    await conn.execute(members.update().where(members.c.code == code)
                       .values(policy=merged.to_json()))
    return merged
