"""One request as the broker changes it: load, decide, save with a version check.

``change(store, request_id, decide)`` loads the request, its rota and what it needs to know of
the members on it, rebuilds the ISO 18626 ``Transaction`` from the stored state, lets ``decide``
apply messages through ``Draft.apply`` (the only way the transaction changes) and saves
everything in one database transaction with ``UPDATE … WHERE version = :read``. When another
worker changed the request in between, nothing is written and ``decide`` runs again on the new
state: no update is lost, on SQLite (no SELECT FOR UPDATE) or PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections import OrderedDict
from collections.abc import AsyncIterator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, TypeVar

import sqlalchemy as sa

from gateway.broker import messages as msgs
from gateway.broker.peers import Peer, PeerCache, load_peers
from gateway.security.signatures import SignedBy, remember_nonce, replayed
from gateway.store import Store
from gateway.store.schema import ill_messages, ill_requests, ill_rota, members
from protocols.iso18626 import model as m
from protocols.iso18626.codec import encode, parse_datetime
from protocols.iso18626.codes import Action, Status
from protocols.iso18626.errors import UnrecognisedDataValue
from protocols.iso18626.states import Outcome, OutcomeKind, Role, Transaction

log = logging.getLogger(__name__)
T = TypeVar("T")
_SEP = "\x1f"
MAX_TRIES = 1000          # a request hammered by hundreds of concurrent messages still ends


class RequestNotFound(LookupError):
    pass


@dataclass(slots=True)
class Send:
    """A message to POST after the commit (``audit_id``: its audit row, for the answer)."""

    request_id: int
    peer: Peer
    message: m.AgencyMessage
    audit_id: int | None = None


@dataclass
class Draft:
    """The request being changed; ``decide`` works on this, ``change`` saves it."""

    row: Any
    rota: list[Any]
    peers: dict[int, Peer]
    txn: Transaction
    now: datetime
    values: dict[str, Any] = field(default_factory=dict)
    rota_values: dict[int, dict[str, Any]] = field(default_factory=dict)  # by position
    audits: list[dict[str, Any]] = field(default_factory=list)
    sends: list[tuple[int, Send]] = field(default_factory=list)            # (audit index, send)
    events: list[str] = field(default_factory=list)

    def get(self, name: str) -> Any:
        return self.values[name] if name in self.values else getattr(self.row, name)

    def set(self, **values: Any) -> None:
        self.values.update(values)

    @property
    def requester(self) -> Peer:
        return self.peers[self.row.requester_id]

    def entry(self, position: int) -> Any:
        return next(e for e in self.rota if e.position == position)

    def lender(self, position: int | None = None) -> Peer | None:
        position = self.get("position") if position is None else position
        if position < 1 or position > len(self.rota):
            return None
        return self.peers[self.entry(position).member_id]

    def set_entry(self, position: int, **values: Any) -> None:
        self.rota_values.setdefault(position, {}).update(values)

    def entry_value(self, position: int, name: str) -> Any:
        return self.rota_values.get(position, {}).get(name, getattr(self.entry(position), name))

    def audit(self, *, direction: str, peer: Peer | None, message: Any = None,
              raw: bytes | None = None, signature: str, outcome: str | None = None,
              answer: bytes | None = None) -> int:
        if raw is None and isinstance(message, (m.Request, m.SupplyingAgencyMessage,
                                                m.RequestingAgencyMessage)):
            raw = encode(message)
        self.audits.append({
            "direction": direction, "kind": message.kind.value if message is not None else None,
            "member_id": peer.id if peer else None,
            "raw": msgs.redact_raw(raw) if raw is not None else None,
            "parsed": msgs.to_json(message) if message is not None else None,
            "signature": signature, "outcome": outcome,
            "answer": answer.decode("utf-8", "replace") if answer else None,
            "created_at": self.now})
        return len(self.audits) - 1

    def apply(self, message: m.AgencyMessage, *, direction: str, peer: Peer | None,
              signature: str, raw: bytes | None = None) -> tuple[Outcome, int]:
        """Apply ``message`` to the transaction (the state tables decide) and audit it."""
        outcome = self.txn.apply(message)
        index = self.audit(direction=direction, peer=peer, message=message, raw=raw,
                           signature=signature, outcome=f"{outcome.kind.value}: {outcome.reason}")
        return outcome, index

    def send(self, audit_index: int, peer: Peer, message: m.AgencyMessage) -> None:
        if peer.url:
            self.sends.append((audit_index, Send(self.row.id, peer, message)))


# --- the stored transaction ---------------------------------------------------------------

def rebuild(row: Any, peers: dict[int, Peer]) -> Transaction:
    data = row.txn or {}
    supplier = peers.get(row.supplier_id) if row.supplier_id else None
    seen: dict[tuple[str, ...], Outcome] = {}
    for key, (kind, reason) in (data.get("seen") or {}).items():
        kind = OutcomeKind(kind)
        error = UnrecognisedDataValue(reason) if kind is OutcomeKind.REFUSED else None
        seen[tuple(key.split(_SEP))] = Outcome(kind, reason, error=error)
    return Transaction(
        role=Role.REQUESTER,
        request_id=row.ref if row.position > 0 else None,
        requester=msgs.agency(peers[row.requester_id].code) if row.position > 0 else None,
        supplier=msgs.agency(supplier.code) if supplier else None,
        status=Status(row.status) if row.status else None,
        due_date=parse_datetime(data["due"]) if data.get("due") else None,
        last_supplier_message=parse_datetime(data["last"]) if data.get("last") else None,
        actions=[Action(a) for a in data.get("actions", [])],
        seen=seen)


def stored(txn: Transaction, code_ids: dict[str, int]) -> dict[str, Any]:
    seen = {}
    for key, outcome in txn.seen.items():
        first = outcome.first or outcome
        seen[_SEP.join(key)] = [first.kind.value, first.reason]
    return {
        "status": txn.status.value if txn.status else None,
        "supplier_id": code_ids.get(txn.supplier.value) if txn.supplier else None,
        "txn": {"due": txn.due_date.isoformat() if txn.due_date else None,
                "last": txn.last_supplier_message.isoformat()
                if txn.last_supplier_message else None,
                "actions": [a.value for a in txn.actions], "seen": seen}}


# --- load and save -----------------------------------------------------------------------

Target = int | tuple[str, str]          # request id, or (requester code, ref)


def _fields(row: Any) -> dict[str, Any]:
    return dict(row._mapping) if hasattr(row, "_mapping") else dict(vars(row))


class RowCache:
    """The last saved state (row and rota) of requests this process changed, by id and by
    (requester, ref): the next message for such a request needs no read. Safe beside other
    writers: a stale entry fails the version check, is dropped, and the retry reads."""

    def __init__(self, size: int = 20000) -> None:
        self.size = size
        self._rows: OrderedDict[int, tuple[Any, list[Any]]] = OrderedDict()
        self._refs: dict[tuple[str, str], int] = {}

    def lookup(self, target: Target) -> tuple[Any, list[Any]] | None:
        request_id = target if isinstance(target, int) else self._refs.get(target)
        found = self._rows.get(request_id) if request_id is not None else None
        if found is not None:
            self._rows.move_to_end(request_id)
        return found

    def keep(self, draft: Draft) -> None:
        row = SimpleNamespace(**{**_fields(draft.row), **_values(draft),
                                 "version": draft.row.version + 1, "updated_at": draft.now})
        rota = [SimpleNamespace(**{**_fields(e), **draft.rota_values.get(e.position, {})})
                for e in draft.rota]
        self._rows[row.id] = (row, rota)
        self._rows.move_to_end(row.id)
        self._refs[(draft.requester.code, row.ref)] = row.id
        while len(self._rows) > self.size:
            old_id, (old, _) = self._rows.popitem(last=False)
            self._refs = {k: v for k, v in self._refs.items() if v != old_id} \
                if len(self._refs) > 2 * self.size else self._refs

    def drop(self, request_id: int) -> None:
        self._rows.pop(request_id, None)


def _values(draft: Draft) -> dict[str, Any]:
    return {**draft.values, **stored(draft.txn, {p.code: p.id for p in draft.peers.values()})}


# built once: building and hashing a new statement per message cost more than running it
_BY_ID = sa.select(ill_requests).where(ill_requests.c.id == sa.bindparam("target_id"))
_BY_REF = sa.select(ill_requests).where(
    (ill_requests.c.ref == sa.bindparam("target_ref"))
    & (ill_requests.c.requester_id == sa.select(members.c.id).where(
        members.c.code == sa.bindparam("target_code")).scalar_subquery()))
_ROTA = sa.select(ill_rota).where(ill_rota.c.request_id == sa.bindparam("request_id")) \
    .order_by(ill_rota.c.position)


def _request_query(target: Target) -> tuple[sa.Select, dict[str, Any]]:
    if isinstance(target, int):
        return _BY_ID, {"target_id": target}
    code, ref = target
    return _BY_REF, {"target_code": code, "target_ref": ref}


async def _load(conn: Any, target: Target, *, for_update: bool = False) -> Any:
    query, params = _request_query(target)
    row = (await conn.execute(query.with_for_update() if for_update else query, params)).first()
    if row is None:
        raise RequestNotFound(f"no ILL request {target!r}")
    return row


def _load_direct(conn: sa.Connection, target: Target) -> tuple[Any, list[Any]]:
    """The request and its rota, as one synchronous unit of work (``Store.direct``)."""
    row = conn.execute(*_request_query(target)).first()
    if row is None:
        raise RequestNotFound(f"no ILL request {target!r}")
    return row, list(conn.execute(_ROTA, {"request_id": row.id}).all())


async def change(store: Store, target: Target, now: datetime, decide: Callable[[Draft], T],
                 *, peers_cache: PeerCache | None = None, rows: RowCache | None = None,
                 nonce: SignedBy | None = None) -> tuple[T, Draft]:
    """Run ``decide`` on the current state of the request and save it.

    First optimistically (read, decide, ``UPDATE … WHERE version = :read``); when another
    change got there first, again under a lock so a request hammered by hundreds of concurrent
    messages does not retry in circles: on PostgreSQL a row lock (SELECT … FOR UPDATE, one
    transaction), on SQLite the in-process writer queue. The version check stays in both, so
    several gateway processes on one database still lose no update.

    ``nonce``: the signature nonce of the message being applied, recorded in the same
    transaction (a replay raises ``SignatureRejected('replayed')`` and changes nothing)."""
    for attempt in range(MAX_TRIES):
        draft: Draft | None = None
        try:
            if attempt == 0:
                cached = rows.lookup(target) if rows is not None else None
                peers = peers_cache.usable(list({cached[0].requester_id, *(
                    e.member_id for e in cached[1])}), store, now.date()) \
                    if cached and peers_cache else None
                if cached and peers is not None:
                    draft = Draft(cached[0], cached[1], peers, rebuild(cached[0], peers), now)
                elif store.dialect == "sqlite":
                    draft = await _read_direct(store, target, now, peers_cache)
                else:
                    async with store.connect() as conn:
                        draft = await _read(conn, target, now, peers_cache)
                result = decide(draft)
                if not _dirty(draft, nonce):
                    return result, draft
                if store.dialect == "sqlite":     # group commit with concurrent changes
                    from gateway.broker.batch import group_commit
                    await group_commit(store).save(draft, nonce)
                else:
                    async with store.begin() as conn:
                        await _save(conn, draft, nonce)
            elif store.dialect == "sqlite":
                async with writer(store):
                    async with store.connect() as conn:
                        draft = await _read(conn, target, now, peers_cache)
                    result = decide(draft)
                    if not _dirty(draft, nonce):
                        return result, draft
                    async with store.begin() as conn:
                        await _save(conn, draft, nonce)
            else:
                async with store.begin() as conn:
                    draft = await _read(conn, target, now, peers_cache, for_update=True)
                    result = decide(draft)
                    if not _dirty(draft, nonce):
                        return result, draft
                    await _save(conn, draft, nonce)
        except _Conflict:
            if rows is not None and draft is not None:
                rows.drop(draft.row.id)
            await asyncio.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))
            continue
        except sa.exc.OperationalError as exc:     # SQLite: "database is locked" under load
            if "locked" not in str(exc):
                raise
            await asyncio.sleep(0.002 * min(attempt + 1, 20))
            continue
        if rows is not None:
            rows.keep(draft)
        return result, draft
    raise RuntimeError(f"ILL request {target!r}: gave up after {MAX_TRIES} concurrent changes")


def _dirty(draft: Draft, nonce: SignedBy | None) -> bool:
    return bool(draft.values or draft.audits or draft.rota_values or nonce)


async def _read(conn: Any, target: Target, now: datetime, peers_cache: PeerCache | None, *,
                for_update: bool = False) -> Draft:
    row = await _load(conn, target, for_update=for_update)
    rota = list((await conn.execute(_ROTA, {"request_id": row.id})).all())
    ids = list({row.requester_id, *(e.member_id for e in rota)})
    peers = await peers_cache.get(conn, ids, now.date()) if peers_cache \
        else await load_peers(conn, ids, now.date())
    return Draft(row, rota, peers, rebuild(row, peers), now)


async def _read_direct(store: Store, target: Target, now: datetime,
                       peers_cache: PeerCache | None) -> Draft:
    """SQLite: request and rota read in the loop's thread (``Store.direct``); the peers come
    from the cache, or through the async engine when it has to load them."""
    row, rota = await store.direct().read(functools.partial(_load_direct, target=target))
    ids = list({row.requester_id, *(e.member_id for e in rota)})
    if peers_cache is not None:
        peers = peers_cache.usable(ids, store, now.date()) \
            or await peers_cache.load(store, ids, now.date())
    else:
        async with store.connect() as conn:
            peers = await load_peers(conn, ids, now.date())
    return Draft(row, rota, peers, rebuild(row, peers), now)


async def _save(conn: Any, draft: Draft, nonce: SignedBy | None) -> None:
    row, now = draft.row, draft.now
    values = _values(draft)
    if nonce is not None:
        try:
            await remember_nonce(conn, nonce, now)
        except sa.exc.IntegrityError:
            raise replayed(nonce) from None
    updated = await conn.execute(ill_requests.update().where(
        (ill_requests.c.id == row.id) & (ill_requests.c.version == row.version)
    ).values(**values, version=row.version + 1, updated_at=now))
    if updated.rowcount != 1:
        raise _Conflict()
    for position, changes in draft.rota_values.items():
        await conn.execute(ill_rota.update().where(
            (ill_rota.c.request_id == row.id)
            & (ill_rota.c.position == position)).values(**changes))
    if draft.audits:
        result_ids = (await conn.execute(
            ill_messages.insert().returning(ill_messages.c.id, sort_by_parameter_order=True),
            [{**a, "request_id": row.id} for a in draft.audits])).scalars().all()
        for index, send in draft.sends:
            send.audit_id = result_ids[index]


_WRITERS: dict[int, asyncio.Lock] = {}


@contextlib.asynccontextmanager
async def writer(store: Store) -> AsyncIterator[None]:
    """SQLite has one writer at a time: queue the broker's write transactions in-process
    (FIFO) instead of letting them collide and sleep in SQLite's busy handler, which made the
    slowest 1 % wait seconds. PostgreSQL writes concurrently and is not serialized."""
    if store.dialect != "sqlite":
        yield
        return
    lock = _WRITERS.setdefault(id(store.engine), asyncio.Lock())
    async with lock:
        yield


class _Conflict(Exception):
    """The request changed since it was read."""


def refused_audit(message: m.AgencyMessage, raw: bytes, verdict: str, now: datetime,
                  answer: m.Confirmation, error: Exception) -> dict[str, Any]:
    """The audit row of a message refused before it reached a request."""
    return {"request_id": None, "direction": "in", "kind": message.kind.value,
            "member_id": None, "raw": msgs.redact_raw(raw), "parsed": msgs.to_json(message),
            "signature": verdict, "outcome": f"refused: {error}",
            "answer": encode(answer).decode(), "created_at": now}


async def audit_only(store: Store, audit: dict[str, Any], *,
                     nonce: SignedBy | None = None) -> int:
    """An audit row with no request (a message refused before it named one we know)."""
    async with writer(store), store.begin() as conn:
        if nonce is not None:
            try:
                await remember_nonce(conn, nonce, audit["created_at"])
            except sa.exc.IntegrityError:
                raise replayed(nonce) from None
        return (await conn.execute(ill_messages.insert().values(**audit)
                                   .returning(ill_messages.c.id))).scalar_one()


async def set_answer(store: Store, audit_id: int, *, outcome: str, answer: bytes | None) -> None:
    async with writer(store), store.begin() as conn:
        await conn.execute(ill_messages.update().where(ill_messages.c.id == audit_id).values(
            outcome=sa.func.coalesce(ill_messages.c.outcome, "") + f"; sent: {outcome}",
            answer=answer.decode("utf-8", "replace") if answer else None))
