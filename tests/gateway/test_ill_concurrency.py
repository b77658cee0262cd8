"""200 concurrent requests, answers and actions on one store (SQLite and PostgreSQL): every
change lands (optimistic version check, retried), none is lost or applied twice."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa

from gateway import registry
from gateway.broker import peers
from gateway.broker.engine import Broker
from gateway.security.keys import load_gateway_key
from gateway.security.tokens import Principal
from gateway.store.schema import ill_messages, ill_requests
from tests.gateway.ill_consortium import add_cluster

N = 200


async def _borrower_and_lender(store, settings) -> tuple[Broker, Principal, Principal]:
    """US-BOR borrows, US-LE (served inside LibGate) holds the one cluster; their staff."""
    for code in ("US-BOR", "US-LE"):
        await registry.add_member(store, code, code)
    async with store.connect() as conn:
        borrower = Principal("staff", "US-BOR", await registry.member_id(conn, "US-BOR"))
        lender = Principal("staff", "US-LE", await registry.member_id(conn, "US-LE"))
    return (Broker(store, settings, load_gateway_key(settings.gateway_key_file, settings.db)),
            borrower, lender)


async def _requests(broker: Broker, borrower: Principal, count: int) -> list[dict]:
    """``count`` loan requests of the borrower, made concurrently, for one new cluster."""
    cluster = await add_cluster(broker.store, ["US-LE"])
    return await asyncio.gather(*[
        broker.create(borrower, {"cluster_id": cluster, "service_type": "Loan",
                                 "patron_ref": f"p-{n}"}) for n in range(count)])


async def test_two_hundred_concurrent_requests_answers_and_actions(store, settings):
    broker, borrower, lender = await _borrower_and_lender(store, settings)
    created = await _requests(broker, borrower, N)
    assert len({r["ref"] for r in created}) == N
    assert {(r["state"], r["supplier"], r["position"]) for r in created} == {
        ("in-progress", "US-LE", 1)}

    answered = await asyncio.gather(*[broker.act(lender, r["id"], "WillSupply", {})
                                      for r in created])
    assert {r["status"] for r in answered} == {"WillSupply"}

    target = created[0]["id"]
    await broker.act(lender, target, "Loaned", {})
    before = (await broker.show(borrower, target))["version"]
    await asyncio.gather(*[broker.act(borrower, target, "Notification", {"note": f"n{n}"})
                           for n in range(N)])
    after = await broker.show(borrower, target)
    assert after["actions"] == ["Notification"] * N
    assert after["version"] == before + N
    async with store.connect() as conn:
        notes = await conn.scalar(sa.select(sa.func.count()).select_from(ill_messages).where(
            (ill_messages.c.request_id == target) & (ill_messages.c.kind ==
                                                     "requestingAgencyMessage")))
        states = (await conn.execute(sa.select(ill_requests.c.status, sa.func.count())
                                     .group_by(ill_requests.c.status))).all()
    assert notes == N
    assert dict(states) == {"WillSupply": N - 1, "Loaned": 1}


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)   # group commit is SQLite's
async def test_a_group_commit_writes_its_audit_rows_in_one_statement(store, settings):
    """SQLite: the messages saved together insert their audit rows in one executemany per
    batch, not one INSERT each (SQLAlchemy inserts rows one by one when RETURNING must keep
    their order, which only a message sent out needs)."""
    broker, borrower, lender = await _borrower_and_lender(store, settings)
    created = await _requests(broker, borrower, 50)
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement.split("(")[0].strip())
    engine = store.direct().engine
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        await asyncio.gather(*[broker.act(lender, r["id"], "WillSupply", {}) for r in created])
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    transactions = statements.count("BEGIN IMMEDIATE")
    inserts = statements.count("INSERT INTO ill_messages")
    assert 0 < transactions < 50                    # the answers were saved in batches
    assert inserts <= transactions                  # one audit INSERT per batch at most
    async with store.connect() as conn:
        audited = await conn.scalar(sa.select(sa.func.count()).select_from(ill_messages)
                                    .where(ill_messages.c.kind == "supplyingAgencyMessage"))
    assert audited == 50


def _count_peer_loads(monkeypatch, delay: float = 0.0) -> list[int]:
    """Count calls of peers.load_peers (in the returned one-item list)."""
    loads = [0]
    load_peers = peers.load_peers

    async def counted(conn, member_ids, day):
        loads[0] += 1
        if delay:
            await asyncio.sleep(delay)
        return await load_peers(conn, member_ids, day)
    monkeypatch.setattr(peers, "load_peers", counted)
    return loads


async def _two_members(store) -> list[int]:
    for code in ("US-BOR", "US-LA"):
        await registry.add_member(store, code, code)
    async with store.connect() as conn:
        return [await registry.member_id(conn, c) for c in ("US-BOR", "US-LA")]


async def test_concurrent_messages_share_one_peer_load_and_forget_wins(store, monkeypatch):
    ids = await _two_members(store)
    loads = _count_peer_loads(monkeypatch, delay=0.01)   # the others queue behind the first
    cache = peers.PeerCache()
    today = dt.date.today()
    found = await asyncio.gather(*[cache.load(store, ids, today) for _ in range(12)])
    assert loads[0] == 1 and all(sorted(p.code for p in f.values()) == ["US-BOR", "US-LA"]
                              for f in found)
    # forget() while a load runs: what that load read is used once, not cached as fresh
    cache.forget()
    loading = asyncio.create_task(cache.load(store, ids, today))
    await asyncio.sleep(0)
    cache.forget()
    await loading
    assert cache.fresh(ids) is None


async def test_expired_peers_are_used_while_one_refresh_runs(store, monkeypatch):
    ids = await _two_members(store)
    loads = _count_peer_loads(monkeypatch)
    cache = peers.PeerCache(ttl=60)
    today = dt.date.today()

    def age(seconds: float) -> None:        # as if loaded ``seconds`` earlier
        for i, (at, peer) in list(cache._peers.items()):
            cache._peers[i] = (at - seconds, peer)

    assert cache.usable(ids, store, today) is None          # nothing cached: callers load
    await cache.load(store, ids, today)
    age(90)                                                  # past ttl, not past 3 ttls
    served = [cache.usable(ids, store, today) for _ in range(10)]
    assert all(s is not None for s in served) and loads[0] == 1  # no one waited for the refresh
    await cache._refresh
    assert loads[0] == 2 and cache.fresh(ids) is not None       # one refresh, in the background
    age(200)                                                 # past 3 ttls: no longer usable
    assert cache.usable(ids, store, today) is None
