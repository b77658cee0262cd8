"""200 concurrent requests, answers and actions on one store (SQLite and PostgreSQL): every
change lands (optimistic version check, retried), none is lost or applied twice."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from gateway import registry
from gateway.broker.engine import Broker
from gateway.security.keys import load_gateway_key
from gateway.security.tokens import Principal
from gateway.store.schema import ill_messages, ill_requests
from tests.gateway.ill_consortium import add_cluster

N = 200


async def test_two_hundred_concurrent_requests_answers_and_actions(store, settings):
    for code in ("US-BOR", "US-LE"):
        await registry.add_member(store, code, code)
    cluster = await add_cluster(store, ["US-LE"])
    async with store.connect() as conn:
        borrower = Principal("staff", "US-BOR", await registry.member_id(conn, "US-BOR"))
        lender = Principal("staff", "US-LE", await registry.member_id(conn, "US-LE"))
    broker = Broker(store, settings, load_gateway_key(settings.gateway_key_file, settings.db))

    created = await asyncio.gather(*[
        broker.create(borrower, {"cluster_id": cluster, "service_type": "Loan",
                                 "patron_ref": f"p-{n}"}) for n in range(N)])
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
