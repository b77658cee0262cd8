"""Group commit for SQLite: the saves of concurrently received messages in one transaction.

SQLite has one writer; each broker change used to be its own write transaction (begin, nonce,
update, audit, commit — five round trips through aiosqlite's thread, one change at a time).
Here the changes waiting for the writer are saved together: one multi-row nonce insert (``ON
CONFLICT DO NOTHING RETURNING``: a nonce not returned is a replay), the version-checked
request UPDATEs and the rota UPDATEs in one executemany per set of columns, the audit rows in
one executemany (a row whose id a send needs goes alone), one commit — all of it one
synchronous unit of work (``Store.direct``, in one explicit transaction), not a round trip
through aiosqlite's thread per statement. Each change
keeps its own outcome: a replay or a lost race (version changed) fails that change only —
nothing of it is written — and its caller retries or refuses as before.
"""

from __future__ import annotations

import asyncio
import functools

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gateway.broker.state import Draft, _Conflict, _values, writer
from gateway.security.signatures import SignedBy, replayed
from gateway.store import Store
from gateway.store.schema import ill_messages, ill_requests, ill_rota, seen_nonces

MAX_BATCH = 64
_Item = tuple[Draft, SignedBy | None, asyncio.Future]


class GroupCommit:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.pending: list[_Item] = []
        self.running = False

    async def save(self, draft: Draft, nonce: SignedBy | None) -> None:
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.pending.append((draft, nonce, future))
        if not self.running:
            self.running = True
            asyncio.get_running_loop().create_task(self._run())
        await future

    async def _run(self) -> None:
        try:
            # one turn of the loop first: the handlers already woken up join this batch (the
            # batch runs without yielding, so nothing joins once it started)
            await asyncio.sleep(0)
            while self.pending:
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                try:
                    async with writer(self.store):
                        failures = await self.store.direct().write(
                            functools.partial(_save_all, batch=batch))
                except Exception as exc:  # noqa: BLE001 - every waiting caller gets it
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for index, (_, _, future) in enumerate(batch):
                    if index in failures:
                        future.set_exception(failures[index])
                    else:
                        future.set_result(None)
        finally:
            self.running = False


def _save_all(conn: sa.Connection, batch: list[_Item]) -> dict[int, Exception]:
    """The batch's statements (a unit of work of ``Store.direct``: no await between them)."""
    failures: dict[int, Exception] = {}
    nonce_rows = {i: (n.key_id, n.nonce) for i, (_, n, _) in enumerate(batch) if n is not None}
    if nonce_rows:
        now = batch[0][0].now
        inserted = set(map(tuple, conn.execute(_REMEMBER_NONCES, [
            {"key_id": k, "nonce": n, "seen_at": now}
            for k, n in dict.fromkeys(nonce_rows.values())]).all()))
        for index, pair in nonce_rows.items():
            if pair in inserted:
                inserted.discard(pair)          # the first of two identical nonces wins
            else:
                failures[index] = replayed(batch[index][1])
    lost: list[tuple[str, str]] = []
    audits: list[tuple[int, int, dict]] = []   # (item, audit index, row)
    rota: dict[tuple[str, ...], list[dict]] = {}
    updated = _update_requests(conn, [(i, item[0]) for i, item in enumerate(batch)
                                      if i not in failures])
    for index, (draft, nonce, _) in enumerate(batch):
        if index in failures:
            continue
        row = draft.row
        if index not in updated:
            failures[index] = _Conflict()
            if nonce is not None:
                lost.append((nonce.key_id, nonce.nonce))
            continue
        for position, changes in draft.rota_values.items():
            rota.setdefault(tuple(changes), []).append({
                "w_request_id": row.id, "w_position": position,
                **{f"v_{name}": value for name, value in changes.items()}})
        audits += [(index, n, {**a, "request_id": row.id}) for n, a in enumerate(draft.audits)]
    if lost:   # a change that lost its race must not keep its nonce: its retry records it
        conn.execute(seen_nonces.delete().where(sa.tuple_(
            seen_nonces.c.key_id, seen_nonces.c.nonce).in_(lost)))
    for columns, params in rota.items():
        conn.execute(_update_rota(columns), params)
    _insert_audits(conn, batch, audits)
    return failures


def _insert_audits(conn: sa.Connection, batch: list[_Item],
                   audits: list[tuple[int, int, dict]]) -> None:
    """The audit rows in order (ids follow the messages). Only a message that is sent out
    needs its row's id back (``send.audit_id``): those are inserted one by one with
    RETURNING, every run of rows between them in one executemany — SQLite cannot promise the
    order of a multi-row RETURNING, so SQLAlchemy would insert every row alone."""
    sends = {(index, audit_index): send for index, (draft, _, _) in enumerate(batch)
             for audit_index, send in draft.sends}
    run: list[dict] = []
    for index, audit_index, row in audits:
        send = sends.get((index, audit_index))
        if send is None:
            run.append(row)
            continue
        if run:
            conn.execute(_INSERT_AUDIT, run)
            run = []
        send.audit_id = conn.execute(_INSERT_AUDIT_RETURNING, row).scalar_one()
    if run:
        conn.execute(_INSERT_AUDIT, run)


def _update_requests(conn: sa.Connection, drafts: list[tuple[int, Draft]]) -> set[int]:
    """Each draft's version-checked UPDATE; the indexes of those that won (the others lost a
    race: their request changed since it was read). The requests changing the same columns go
    in one executemany; only when one of them lost is the group redone row by row (after a
    rollback to a savepoint), to find which."""
    groups: dict[tuple[str, ...], list[tuple[int, dict]]] = {}
    for index, draft in drafts:
        row = draft.row
        values = {**_values(draft), "version": row.version + 1, "updated_at": draft.now}
        groups.setdefault(tuple(values), []).append((index, {
            "w_id": row.id, "w_version": row.version,
            **{f"v_{name}": value for name, value in values.items()}}))
    won: set[int] = set()
    for columns, rows in groups.items():
        statement = _update_request(columns)
        if len(rows) > 1:
            savepoint = conn.begin_nested()
            if conn.execute(statement, [params for _, params in rows]).rowcount == len(rows):
                savepoint.commit()
                won.update(index for index, _ in rows)
                continue
            savepoint.rollback()
        won.update(index for index, params in rows
                   if conn.execute(statement, params).rowcount == 1)
    return won


# Statements built once (per set of changed columns): building and hashing a new statement
# per message cost more than executing it. A multi-row insert of the nonces goes through
# SQLAlchemy's "insertmanyvalues" (one INSERT … VALUES (…), (…) … per batch); rows it does not
# return were there already: replays.
_REMEMBER_NONCES = sqlite_insert(seen_nonces).on_conflict_do_nothing().returning(
    seen_nonces.c.key_id, seen_nonces.c.nonce)


_INSERT_AUDIT = ill_messages.insert()
_INSERT_AUDIT_RETURNING = _INSERT_AUDIT.returning(ill_messages.c.id)


@functools.lru_cache(maxsize=128)
def _update_request(columns: tuple[str, ...]) -> sa.Update:
    """``UPDATE ill_requests SET <columns> WHERE id = :w_id AND version = :w_version``."""
    return ill_requests.update().where(
        (ill_requests.c.id == sa.bindparam("w_id"))
        & (ill_requests.c.version == sa.bindparam("w_version"))
    ).values({name: sa.bindparam(f"v_{name}", type_=ill_requests.c[name].type)
              for name in columns})


@functools.lru_cache(maxsize=128)
def _update_rota(columns: tuple[str, ...]) -> sa.Update:
    return ill_rota.update().where(
        (ill_rota.c.request_id == sa.bindparam("w_request_id"))
        & (ill_rota.c.position == sa.bindparam("w_position"))
    ).values({name: sa.bindparam(f"v_{name}", type_=ill_rota.c[name].type)
              for name in columns})


_COMMITS: dict[int, GroupCommit] = {}


def group_commit(store: Store) -> GroupCommit:
    found = _COMMITS.get(id(store.engine))
    if found is None or found.store is not store:
        found = _COMMITS[id(store.engine)] = GroupCommit(store)
    return found
