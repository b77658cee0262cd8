"""The member registry: member libraries, their service status and their endpoints.

Validation lives here (one place for CLI, HTTP API and the consortium TOML); every refusal
names the value at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from croniter import croniter

from gateway.security import redact_url
from gateway.store import Store
from gateway.store.schema import ENDPOINT_TYPES, MEMBER_STATUSES, endpoints, members
from protocols.identifiers import looks_like_isil
from protocols.isil import isil_problem


class RegistryError(ValueError):
    """A registry request that cannot be carried out; ``status_hint`` for HTTP answers."""

    status_hint = 400


class MemberNotFound(RegistryError):
    status_hint = 404


class DuplicateMember(RegistryError):
    status_hint = 409


CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:/\-]{0,15}$")
URL_ENDPOINTS = {"oai-pmh", "sru", "iso18626"}


def now() -> datetime:
    return datetime.now(UTC)


def validate_code(code: str) -> str:
    """A member code: an ISIL (checked with python-stdnum) or a short local symbol."""
    code = (code or "").strip()
    if not CODE_RE.match(code):
        raise RegistryError(
            f"member code {code!r} is not a library symbol: 1-16 letters, digits, '-', ':' or "
            "'/', starting with a letter or digit (e.g. an ISIL such as 'SE-UMU')")
    if looks_like_isil(code) and (problem := isil_problem(code)):
        raise RegistryError(f"member code {code!r} looks like an ISIL but is not a valid one: "
                            f"{problem}")
    return code


def validate_status(status: str) -> str:
    if status not in MEMBER_STATUSES:
        raise RegistryError(f"unknown service status {status!r}; expected one of "
                            f"{', '.join(MEMBER_STATUSES)}")
    return status


def validate_url(url: str, what: str) -> str:
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        if ok:
            parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        ok = False
    if not ok:
        raise RegistryError(f"malformed {what} URL {redact_url(url)!r}; expected http(s)://host/…")
    return url


def validate_schedule(schedule: str | None) -> str | None:
    if schedule is None or schedule == "":
        return None
    if not croniter.is_valid(schedule):
        raise RegistryError(f"bad cron expression {schedule!r}; expected five fields such as "
                            "'0 2 * * *' (minute hour day month weekday)")
    return schedule


@dataclass(slots=True)
class EndpointSpec:
    """What a member registers: one way LibGate reaches its catalogue or ILL system."""

    type: str
    url: str | None = None
    path: str | None = None
    metadata_prefix: str | None = None
    set_spec: str | None = None
    schedule: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def validated(self) -> EndpointSpec:
        if self.type not in ENDPOINT_TYPES:
            raise RegistryError(f"unknown endpoint type {self.type!r}; expected one of "
                                f"{', '.join(ENDPOINT_TYPES)}")
        if self.type in URL_ENDPOINTS:
            if not self.url:
                raise RegistryError(f"endpoint type {self.type!r} needs a URL")
            validate_url(self.url, self.type)
        elif self.type == "marc-file":
            if not (self.path or self.url):
                raise RegistryError("endpoint type 'marc-file' needs a path or an http(s) URL")
            if self.url:
                validate_url(self.url, "MARC file")
        if self.type == "oai-pmh" and not self.metadata_prefix:
            self.metadata_prefix = "marc21"
        self.schedule = validate_schedule(self.schedule)
        return self

    @classmethod
    def from_mapping(cls, data: dict[str, Any], where: str = "endpoint") -> EndpointSpec:
        known = {"type", "url", "path", "metadata_prefix", "prefix", "set", "set_spec",
                 "schedule", "options"}
        unknown = set(data) - known
        if unknown:
            raise RegistryError(f"{where}: unknown key {sorted(unknown)[0]!r}; known keys: "
                                f"{', '.join(sorted(known))}")
        if "type" not in data:
            raise RegistryError(f"{where}: missing key 'type'")
        return cls(type=data["type"], url=data.get("url"), path=data.get("path"),
                   metadata_prefix=data.get("metadata_prefix") or data.get("prefix"),
                   set_spec=data.get("set_spec") or data.get("set"),
                   schedule=data.get("schedule"), options=dict(data.get("options") or {}))


def _endpoint_json(row: sa.Row) -> dict[str, Any]:
    return {"id": row.id, "type": row.type, "url": redact_url(row.url), "path": row.path,
            "metadata_prefix": row.metadata_prefix, "set": row.set_spec,
            "schedule": row.schedule, "enabled": bool(row.enabled)}


def _member_json(row: sa.Row, eps: list[sa.Row]) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "contact": row.contact, "status": row.status,
            "status_reason": row.status_reason,
            "endpoints": [_endpoint_json(e) for e in eps],
            "created_at": row.created_at.isoformat() if row.created_at else None,
            "updated_at": row.updated_at.isoformat() if row.updated_at else None}


async def member_id(conn: sa.ext.asyncio.AsyncConnection, code: str) -> int:
    found = await conn.scalar(sa.select(members.c.id).where(members.c.code == code))
    if found is None:
        raise MemberNotFound(f"no member with code {code!r}")
    return found


async def _insert_endpoints(conn: Any, mid: int, specs: list[EndpointSpec]) -> None:
    for spec in specs:
        await conn.execute(endpoints.insert().values(
            member_id=mid, type=spec.type, url=spec.url, path=spec.path,
            metadata_prefix=spec.metadata_prefix, set_spec=spec.set_spec,
            schedule=spec.schedule, options=spec.options, enabled=True, created_at=now()))


Prober = Callable[[EndpointSpec], Awaitable[None]]


async def _checked(specs: Iterable[EndpointSpec], probe: Prober | None) -> list[EndpointSpec]:
    """Validate, then (with a probe) check each endpoint answers as configured."""
    checked = [s.validated() for s in specs]
    if probe is not None:
        for spec in checked:
            await probe(spec)
    return checked


async def add_member(store: Store, code: str, name: str, *, contact: str | None = None,
                     status: str = "open", endpoint_specs: Iterable[EndpointSpec] = (),
                     probe: Prober | None = None) -> dict:
    code = validate_code(code)
    if not (name or "").strip():
        raise RegistryError(f"member {code!r} needs a name")
    validate_status(status)
    specs = await _checked(endpoint_specs, probe)
    async with store.begin() as conn:
        exists = await conn.scalar(sa.select(members.c.id).where(
            sa.func.lower(members.c.code) == code.lower()))
        if exists is not None:
            raise DuplicateMember(f"a member with code {code!r} already exists")
        stamp = now()
        result = await conn.execute(members.insert().values(
            code=code, name=name.strip(), contact=contact, status=status,
            created_at=stamp, updated_at=stamp))
        await _insert_endpoints(conn, result.inserted_primary_key[0], specs)
        if status != "open":
            from gateway.posture import set_status   # posture imports this module
            await set_status(conn, code, status, set_by="registry")
    return await get_member(store, code)


async def list_members(store: Store) -> list[dict]:
    async with store.connect() as conn:
        rows = (await conn.execute(sa.select(members).order_by(members.c.code))).all()
        eps = (await conn.execute(sa.select(endpoints).order_by(endpoints.c.id))).all()
    by_member: dict[int, list[sa.Row]] = {}
    for e in eps:
        by_member.setdefault(e.member_id, []).append(e)
    return [_member_json(r, by_member.get(r.id, [])) for r in rows]


async def get_member(store: Store, code: str) -> dict:
    async with store.connect() as conn:
        row = (await conn.execute(sa.select(members).where(members.c.code == code))).first()
        if row is None:
            raise MemberNotFound(f"no member with code {code!r}")
        eps = (await conn.execute(sa.select(endpoints).where(endpoints.c.member_id == row.id)
                                  .order_by(endpoints.c.id))).all()
    return _member_json(row, eps)


async def member_endpoints(store: Store, code: str, type_: str | None = None) -> list[sa.Row]:
    """Endpoint rows of a member (with secrets: for connectors only, never for display)."""
    async with store.connect() as conn:
        mid = await member_id(conn, code)
        query = sa.select(endpoints).where(endpoints.c.member_id == mid)
        if type_:
            query = query.where(endpoints.c.type == type_)
        return list((await conn.execute(query.order_by(endpoints.c.id))).all())


async def update_member(store: Store, code: str, *, name: str | None = None,
                        contact: str | None = None, status: str | None = None,
                        status_reason: str | None = None,
                        add_endpoints: Iterable[EndpointSpec] = (),
                        remove_endpoints: Iterable[int] = (),
                        probe: Prober | None = None) -> dict:
    changes: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise RegistryError(f"member {code!r}: name cannot be empty")
        changes["name"] = name.strip()
    if contact is not None:
        changes["contact"] = contact
    if status is not None:
        validate_status(status)
    elif status_reason is not None:
        raise RegistryError(f"member {code!r}: a status reason goes with a status "
                            "(give both)")
    specs = await _checked(add_endpoints, probe)
    async with store.begin() as conn:
        mid = await member_id(conn, code)
        for endpoint_id in remove_endpoints:
            gone = await conn.execute(endpoints.delete().where(
                (endpoints.c.id == endpoint_id) & (endpoints.c.member_id == mid)))
            if gone.rowcount == 0:
                raise RegistryError(f"member {code!r} has no endpoint with id {endpoint_id!r}")
        await _insert_endpoints(conn, mid, specs)
        changes["updated_at"] = now()
        await conn.execute(members.update().where(members.c.id == mid).values(**changes))
        if status is not None:
            # a status period, as `members status` records: routing and the posture read
            # the periods; members.status only mirrors today's (and the index follows it)
            from gateway.posture import set_status   # posture imports this module
            await set_status(conn, code, status, reason=status_reason, set_by="registry")
    return await get_member(store, code)


async def remove_member(store: Store, code: str) -> None:
    async with store.begin() as conn:
        mid = await member_id(conn, code)
        from gateway.index.engine import member_cluster_ids, refresh_clusters
        touched = await member_cluster_ids(conn, mid)
        await conn.execute(members.delete().where(members.c.id == mid))
        # its records went with it: their clusters shrink, or end as deleted clusters
        await refresh_clusters(conn, touched)


async def import_members(store: Store, entries: list[dict[str, Any]], where: str,
                         probe: Prober | None = None) -> list[str]:
    """Register (or update) the ``[[members]]`` of a consortium file; returns the codes."""
    done = []
    for n, entry in enumerate(entries, 1):
        here = f"{where} [[members]] #{n}"
        if "code" not in entry or "name" not in entry:
            raise RegistryError(f"{here}: needs 'code' and 'name'")
        specs = [EndpointSpec.from_mapping(e, f"{here} endpoint #{i}")
                 for i, e in enumerate(entry.get("endpoints", []), 1)]
        try:
            await add_member(store, entry["code"], entry["name"], contact=entry.get("contact"),
                             status=entry.get("status", "open"), endpoint_specs=specs,
                             probe=probe)
        except DuplicateMember:
            await update_member(store, entry["code"], name=entry["name"],
                                contact=entry.get("contact"), status=entry.get("status"))
        except RegistryError as exc:
            raise RegistryError(f"{here}: {exc}") from None
        done.append(entry["code"])
    return done
