"""Emergency temporary access: one digital reader per print copy, races, expiry, loans blocked.

Clusters are written directly here (the clustering engine has tests of its own)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa

from gateway import etas, posture, registry
from gateway.etas import AccessRefused
from gateway.store.records import IncomingRecord, upsert_batch
from gateway.store.schema import cluster_records, clusters, records
from protocols.records import Holding, NormalizedRecord
from protocols.union import UnionRecord

NOW = dt.datetime.now(dt.UTC)
# a merged record as the index writes one: a status change refreshes the holders' clusters
MERGED = UnionRecord(cluster_id=0, title="Opticks", format="book").to_dict()


async def _record(store, member: str, local_id: str, copies: int, title: str = "Opticks") -> int:
    norm = NormalizedRecord(local_id=local_id, title=title, format="book",
                            holdings=[Holding(location="Main", lendable=True)] * copies)
    async with store.begin() as conn:
        mid = await registry.member_id(conn, member)
        await upsert_batch(conn, mid, None, [IncomingRecord(local_id, norm, b"raw", "iso2709")])
        return await conn.scalar(sa.select(records.c.id).where(
            (records.c.member_id == mid) & (records.c.local_id == local_id)))


async def _work(store, print_copies: int = 1) -> int:
    """A work held in print by closed US-AAA and digitized by US-HATHI."""
    for code in ("US-AAA", "US-HATHI"):
        await registry.add_member(store, code, code)
    print_id = await _record(store, "US-AAA", "a1", print_copies)
    digital_id = await _record(store, "US-HATHI", "h1", 0)
    async with store.begin() as conn:
        cid = (await conn.execute(clusters.insert().values(
            merged=MERGED, record_count=2, created_at=NOW, updated_at=NOW
        ).returning(clusters.c.id))).scalar_one()
        for rid, code in ((print_id, "US-AAA"), (digital_id, "US-HATHI")):
            await conn.execute(cluster_records.insert().values(
                record_id=rid, cluster_id=cid, member_id=await registry.member_id(conn, code)))
        await etas.mark_digitized(conn, "US-HATHI", ["h1"], "https://babel.example/h1")
        await posture.declare_emergency(conn, NOW.date(), "pandemic")
        await posture.set_status(conn, "US-AAA", "closed")
    return cid


async def test_one_reader_per_print_copy_and_the_copy_is_not_lendable_meanwhile(store):
    cid = await _work(store, print_copies=1)
    first = await etas.checkout(store, "US-AAA", cid, "patron-1", now=NOW)
    assert (first.slot, first.digital_member) == (1, "US-HATHI")
    with pytest.raises(AccessRefused, match="all 1 print copies"):
        await etas.checkout(store, "US-AAA", cid, "patron-2", now=NOW)
    async with store.connect() as conn:
        mid = await registry.member_id(conn, "US-AAA")
        assert await etas.copies_available_for_loan(conn, mid, cid, NOW) == 0
    await etas.return_checkout(store, first.id, now=NOW)
    async with store.connect() as conn:
        assert await etas.copies_available_for_loan(conn, mid, cid, NOW) == 1
    second = await etas.checkout(store, "US-AAA", cid, "patron-2", now=NOW)
    assert second.slot == 1


async def test_two_readers_racing_for_one_copy_exactly_one_wins(store):
    cid = await _work(store, print_copies=1)
    outcomes = await asyncio.gather(
        *[etas.checkout(store, "US-AAA", cid, f"patron-{n}", now=NOW) for n in range(2)],
        return_exceptions=True)
    won = [o for o in outcomes if isinstance(o, etas.Checkout)]
    lost = [o for o in outcomes if isinstance(o, AccessRefused)]
    assert len(won) == 1 and len(lost) == 1, outcomes


async def test_eight_readers_racing_for_three_copies_three_win_one_per_slot(store):
    cid = await _work(store, print_copies=3)
    outcomes = await asyncio.gather(
        *[etas.checkout(store, "US-AAA", cid, f"reader-{n}", now=NOW) for n in range(8)],
        return_exceptions=True)
    won = [o for o in outcomes if isinstance(o, etas.Checkout)]
    assert sorted(o.slot for o in won) == [1, 2, 3], outcomes
    assert all(isinstance(o, AccessRefused) for o in outcomes if o not in won), outcomes
    async with store.connect() as conn:
        mid = await registry.member_id(conn, "US-AAA")
        assert await etas.copies_available_for_loan(conn, mid, cid, NOW) == 0


async def test_two_gateway_workers_racing_for_one_copy_exactly_one_wins(store):
    # two workers: two engines (their own connection pools) on one database
    from gateway.store.engine import open_store
    cid = await _work(store, print_copies=1)
    other = await open_store(store.url, schema=store.schema, migrate=False)
    try:
        outcomes = await asyncio.gather(
            etas.checkout(store, "US-AAA", cid, "reader-a", now=NOW),
            etas.checkout(other, "US-AAA", cid, "reader-b", now=NOW), return_exceptions=True)
    finally:
        await other.close()
    assert sorted(type(o).__name__ for o in outcomes) == ["AccessRefused", "Checkout"], outcomes


async def test_three_copies_three_readers_and_expiry_releases(store):
    cid = await _work(store, print_copies=3)
    taken = [await etas.checkout(store, "US-AAA", cid, f"p{n}", hours=1, now=NOW)
             for n in range(3)]
    assert sorted(c.slot for c in taken) == [1, 2, 3]
    with pytest.raises(AccessRefused):
        await etas.checkout(store, "US-AAA", cid, "p4", now=NOW)
    await etas.renew(store, taken[0].id, hours=5, now=NOW)
    later = NOW + dt.timedelta(hours=2)             # the two unrenewed checkouts expired
    again = await etas.checkout(store, "US-AAA", cid, "p4", now=later)
    assert again.slot in (2, 3)
    with pytest.raises(AccessRefused, match="not active"):
        await etas.renew(store, taken[1].id, now=later)
    async with store.connect() as conn:
        summary = await etas.report(conn)
    assert summary == [{"member": "US-AAA", "checkouts": 4, "live": 2}]


async def test_access_is_refused_outside_its_conditions(store):
    cid = await _work(store)
    async with store.begin() as conn:
        await posture.set_status(conn, "US-AAA", "open")
    with pytest.raises(AccessRefused, match="US-AAA is open"):
        await etas.checkout(store, "US-AAA", cid, "p", now=NOW)
    async with store.begin() as conn:
        await posture.set_status(conn, "US-AAA", "digital-only")
    digital = await etas.checkout(store, "US-AAA", cid, "p", now=NOW)   # digital access kept
    await etas.return_checkout(store, digital.id, now=NOW)
    async with store.begin() as conn:
        await posture.set_status(conn, "US-AAA", "closed")
        await posture.end_emergency(conn)
    with pytest.raises(AccessRefused, match="needs a declared emergency"):
        await etas.checkout(store, "US-AAA", cid, "p", now=NOW)
    async with store.begin() as conn:
        await posture.declare_emergency(conn, NOW.date(), "again")
        await posture.set_status(conn, "US-HATHI", "closed")
    with pytest.raises(AccessRefused, match="holds no print copy"):
        await etas.checkout(store, "US-HATHI", cid, "p", now=NOW)


async def test_the_api_scopes_checkouts_to_the_readers_member(aiohttp_client, store, settings):
    from gateway.app import create_app
    from gateway.security.tokens import create_token

    cid = await _work(store)
    async with store.begin() as conn:
        aaa = (await create_token(conn, "US-AAA", "staff"))[1]
        hathi = (await create_token(conn, "US-HATHI", "staff"))[1]
    client = await aiohttp_client(create_app(settings, store=store))
    made = await client.post("/api/etas/checkouts", json={"cluster": cid, "reader": "p1"},
                             headers={"Authorization": f"Bearer {aaa}"})
    assert made.status == 201, await made.text()
    checkout_id = (await made.json())["id"]
    full = await client.post("/api/etas/checkouts", json={"cluster": cid, "reader": "p2"},
                             headers={"Authorization": f"Bearer {aaa}"})
    assert full.status == 409 and "in use by digital readers" in (await full.json())["error"]
    foreign = await client.delete(f"/api/etas/checkouts/{checkout_id}",
                                  headers={"Authorization": f"Bearer {hathi}"})
    assert foreign.status == 404
    renewed = await client.post(f"/api/etas/checkouts/{checkout_id}/renew",
                                headers={"Authorization": f"Bearer {aaa}"})
    assert renewed.status == 200
    assert dt.datetime.fromisoformat((await renewed.json())["expires_at"]) > \
        dt.datetime.fromisoformat((await made.json())["expires_at"])
    assert (await client.post(f"/api/etas/checkouts/{checkout_id}/renew",
                              headers={"Authorization": f"Bearer {hathi}"})).status == 404
    returned = await client.delete(f"/api/etas/checkouts/{checkout_id}",
                                   headers={"Authorization": f"Bearer {aaa}"})
    assert returned.status == 200
    assert (await (await client.get("/api/etas/report")).json())[0]["checkouts"] == 1


async def test_posture_counts_works_lendable_physically_digitally_or_not_at_all(store):
    cid = await _work(store)                  # US-AAA (closed) in print, US-HATHI digitized
    await registry.add_member(store, "US-OPEN", "open library")
    lonely = await _record(store, "US-OPEN", "o1", 1, title="Principia")   # another work
    async with store.begin() as conn:
        other = (await conn.execute(clusters.insert().values(
            merged=MERGED, record_count=1, created_at=NOW, updated_at=NOW
        ).returning(clusters.c.id))).scalar_one()
        await conn.execute(cluster_records.insert().values(
            record_id=lonely, cluster_id=other, member_id=await registry.member_id(conn,
                                                                                    "US-OPEN")))
        closed = await posture.posture(conn, NOW.date())
        await posture.set_status(conn, "US-AAA", "open")
        reopened = await posture.posture(conn, NOW.date())
        await posture.set_status(conn, "US-OPEN", "closed")
        await posture.set_status(conn, "US-AAA", "closed")
        dark = await posture.posture(conn, NOW.date())
    assert cid != other
    assert (closed["lendable_physically"], closed["available_digitally"],
            closed["not_available"]) == (1, 1, 0)
    assert (reopened["lendable_physically"], reopened["not_available"]) == (2, 0)
    assert (dark["lendable_physically"], dark["available_digitally"],
            dark["not_available"]) == (0, 1, 1)
    assert dark["share_not_available"] == 0.5
