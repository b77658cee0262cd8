"""Group commit for SQLite: the saves of concurrently received messages in one transaction.

SQLite has one writer; each broker change used to be its own write transaction (begin, nonce,
update, audit, commit — five round trips through aiosqlite's thread, one change at a time).
Here the changes waiting for the writer are saved together: one multi-row nonce insert (``ON
CONFLICT DO NOTHING RETURNING``: a nonce not returned is a replay), one version-checked UPDATE
per request, one multi-row audit insert, one commit. Each change keeps its own outcome: a
replay or a lost race (version changed) fails that change only — nothing of it is written —
and its caller retries or refuses as before.
"""

from __future__ import annotations

import asyncio
from typing import Any

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
            while self.pending:
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                try:
                    async with writer(self.store), self.store.begin() as conn:
                        failures = await _save_all(conn, batch)
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


async def _save_all(conn: Any, batch: list[_Item]) -> dict[int, Exception]:
    failures: dict[int, Exception] = {}
    nonce_rows = {i: (n.key_id, n.nonce) for i, (_, n, _) in enumerate(batch) if n is not None}
    if nonce_rows:
        now = batch[0][0].now
        inserted = set(map(tuple, (await conn.execute(
            sqlite_insert(seen_nonces).values([
                {"key_id": k, "nonce": n, "seen_at": now}
                for k, n in dict.fromkeys(nonce_rows.values())])
            .on_conflict_do_nothing().returning(seen_nonces.c.key_id, seen_nonces.c.nonce)
        )).all()))
        for index, pair in nonce_rows.items():
            if pair in inserted:
                inserted.discard(pair)          # the first of two identical nonces wins
            else:
                failures[index] = replayed(batch[index][1])
    lost: list[tuple[str, str]] = []
    audits: list[tuple[int, int, dict]] = []   # (item, audit index, row)
    for index, (draft, nonce, _) in enumerate(batch):
        if index in failures:
            continue
        row = draft.row
        values = _values(draft)
        updated = await conn.execute(ill_requests.update().where(
            (ill_requests.c.id == row.id) & (ill_requests.c.version == row.version)
        ).values(**values, version=row.version + 1, updated_at=draft.now))
        if updated.rowcount != 1:
            failures[index] = _Conflict()
            if nonce is not None:
                lost.append((nonce.key_id, nonce.nonce))
            continue
        for position, changes in draft.rota_values.items():
            await conn.execute(ill_rota.update().where(
                (ill_rota.c.request_id == row.id)
                & (ill_rota.c.position == position)).values(**changes))
        audits += [(index, n, {**a, "request_id": row.id}) for n, a in enumerate(draft.audits)]
    if lost:   # a change that lost its race must not keep its nonce: its retry records it
        await conn.execute(seen_nonces.delete().where(sa.tuple_(
            seen_nonces.c.key_id, seen_nonces.c.nonce).in_(lost)))
    if audits:
        ids = (await conn.execute(
            ill_messages.insert().returning(ill_messages.c.id, sort_by_parameter_order=True),
            [row for _, _, row in audits])).scalars().all()
        by_item: dict[int, dict[int, int]] = {}
        for (index, n, _), new_id in zip(audits, ids, strict=True):
            by_item.setdefault(index, {})[n] = new_id
        for index, (draft, _, _) in enumerate(batch):
            for audit_index, send in draft.sends:
                if index in by_item:
                    send.audit_id = by_item[index][audit_index]
    return failures


_COMMITS: dict[int, GroupCommit] = {}


def group_commit(store: Store) -> GroupCommit:
    found = _COMMITS.get(id(store.engine))
    if found is None or found.store is not store:
        found = _COMMITS[id(store.engine)] = GroupCommit(store)
    return found
