"""A simulated consortium for the broker tests: LibGate on a real port, members' ISO 18626
systems as small aiohttp apps on port 0 that sign with their own keys and verify LibGate's.

Members: US-BOR borrows (served inside LibGate, no endpoint); US-LA, US-LB, US-LC, US-LD lend
through their own endpoints (fake peers); US-LE is served inside LibGate and lends through the
staff API. Clusters are written directly (as tests/gateway/test_etas.py does).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web

from gateway import registry
from gateway.app import create_app
from gateway.broker import messages as msgs
from gateway.keys import BROKER, GATEWAY_KEY
from gateway.registry import EndpointSpec
from gateway.security.keys import GATEWAY_KEY_ID, create_member_key
from gateway.security.tokens import create_token
from gateway.store.records import IncomingRecord, upsert_batch
from gateway.store.schema import cluster_records, clusters, match_keys, records
from protocols.httpsig import load_private_key, load_public_key, sign_request, verify_request
from protocols.iso18626 import model as m
from protocols.iso18626.codec import decode, encode
from protocols.iso18626.codes import ReasonForMessage, Status, YesNo
from protocols.iso18626.confirm import confirm
from protocols.records import Holding, NormalizedRecord
from protocols.union import UnionHolding, UnionRecord

BORROWER = "US-BOR"
PEER_LENDERS = ("US-LA", "US-LB", "US-LC", "US-LD")
INSIDE_LENDER = "US-LE"
MEMBERS = (BORROWER, *PEER_LENDERS, INSIDE_LENDER)
NOW = dt.datetime.now(dt.UTC)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class FakePeer:
    """A member's ILL system: receives LibGate's messages (checking its signature), and sends
    its own, signed with the member's key."""

    code: str
    key_id: str = ""
    private_key: Any = None
    gateway_public: Any = None
    libgate_url: str = ""
    url: str = ""
    session: aiohttp.ClientSession | None = None
    received: list[m.AgencyMessage] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    refuse_requests: bool = False

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verify_request("POST", self.url, request.headers.items(), body,
                           resolve_key=lambda kid: self.gateway_public
                           if kid == GATEWAY_KEY_ID else None,
                           max_age=dt.timedelta(minutes=5))
        except Exception as exc:          # noqa: BLE001 - a test peer reports anything
            self.refused.append(str(exc))
            return web.Response(status=401, text=str(exc))
        message = decode(body)
        self.received.append(message)
        error = None
        if self.refuse_requests and isinstance(message, m.Request):
            from protocols.iso18626.errors import UnrecognisedDataValue
            error = UnrecognisedDataValue("request: we do not lend to you")
        return web.Response(body=encode(confirm(message, error=error)),
                            content_type="application/xml")

    def requests(self) -> list[m.Request]:
        return [x for x in self.received if isinstance(x, m.Request)]

    def actions(self) -> list[m.RequestingAgencyMessage]:
        return [x for x in self.received if isinstance(x, m.RequestingAgencyMessage)]

    def sign(self, body: bytes, *, key_id: str | None = None, private_key: Any = None,
             url: str | None = None, **kwargs: Any) -> dict[str, str]:
        return sign_request("POST", url or self.libgate_url, {"Content-Type": "application/xml"},
                            body, key_id=key_id or self.key_id,
                            private_key=private_key or self.private_key, **kwargs)

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        async with self.session.post(self.libgate_url, data=body, headers=headers) as response:
            return response.status, await response.read()

    async def send(self, message: m.AgencyMessage) -> m.Confirmation:
        body = encode(message)
        status, answer = await self.post(body, self.sign(body))
        assert status == 200, (status, answer)
        return decode(answer)

    def status_message(self, ref: str, status: Status, *, requester: str = BORROWER,
                       reason: ReasonForMessage = ReasonForMessage.STATUS_CHANGE,
                       **kwargs: Any) -> m.SupplyingAgencyMessage:
        return msgs.supplying_message(requester=requester, supplier=self.code, ref=ref,
                                      now=dt.datetime.now(dt.UTC), status=status, reason=reason,
                                      **kwargs)

    async def answer(self, ref: str, status: Status, **kwargs: Any) -> m.Confirmation:
        return await self.send(self.status_message(ref, status, **kwargs))


@dataclass
class Consortium:
    client: Any
    app: web.Application
    store: Any
    tokens: dict[str, str]
    peers: dict[str, FakePeer]
    cluster: int
    inside_cluster: int

    @property
    def broker(self):
        return self.app[BROKER]

    def auth(self, member: str) -> dict[str, str]:
        return bearer(self.tokens[member])

    async def request(self, member: str = BORROWER, **body: Any) -> dict[str, Any]:
        body.setdefault("cluster_id", self.cluster)
        body.setdefault("service_type", "Loan")
        response = await self.client.post("/api/ill/requests", json=body,
                                          headers=self.auth(member))
        assert response.status == 201, await response.text()
        await self.broker.drain()
        return await response.json()

    async def show(self, request_id: int, member: str = BORROWER) -> dict[str, Any]:
        await self.broker.drain()
        response = await self.client.get(f"/api/ill/requests/{request_id}",
                                         headers=self.auth(member))
        assert response.status == 200, await response.text()
        return await response.json()

    async def act(self, request_id: int, action: str, member: str = BORROWER,
                  expect: int = 200, **params: Any) -> dict[str, Any]:
        response = await self.client.post(f"/api/ill/requests/{request_id}/actions",
                                          json={"action": action, **params},
                                          headers=self.auth(member))
        assert response.status == expect, await response.text()
        await self.broker.drain()
        return await response.json()


async def add_record(store, member: str, local_id: str, *, lendable: bool = True) -> int:
    norm = NormalizedRecord(local_id=local_id, title="Opticks", format="book",
                            holdings=[Holding(location="Main", lendable=lendable)])
    async with store.begin() as conn:
        mid = await registry.member_id(conn, member)
        await upsert_batch(conn, mid, None, [IncomingRecord(local_id, norm, b"raw", "iso2709")])
        return await conn.scalar(sa.select(records.c.id).where(
            (records.c.member_id == mid) & (records.c.local_id == local_id)))


async def add_cluster(store, holders: list[str], title: str = "Opticks",
                      isbn: str = "9780486602059") -> int:
    ids = {code: await add_record(store, code, f"{code}-{title}") for code in holders}
    async with store.begin() as conn:
        cid = (await conn.execute(clusters.insert().values(
            merged={}, record_count=len(ids), title=title, created_at=NOW, updated_at=NOW
        ).returning(clusters.c.id))).scalar_one()
        union = UnionRecord(cluster_id=cid, title=title, authors=["Newton, Isaac"],
                            isbns=[isbn], year=1704,
                            holdings=[UnionHolding(member=c, local_id=f"{c}-{title}",
                                                   lendable=True) for c in holders])
        await conn.execute(clusters.update().where(clusters.c.id == cid)
                           .values(merged=union.to_dict()))
        for code, rid in ids.items():
            await conn.execute(cluster_records.insert().values(
                record_id=rid, cluster_id=cid, member_id=await registry.member_id(conn, code)))
            await conn.execute(match_keys.insert().values(record_id=rid, kind="isbn", value=isbn))
    return cid


async def start_peer(peer: FakePeer, runners: list) -> str:
    app = web.Application()
    app.router.add_post("/iso18626", peer.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    runners.append(runner)
    return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/iso18626"


async def build(aiohttp_client, store, settings, runners: list,
                borrower_peer: bool = False, schedule: bool = False) -> Consortium:
    """Register the six members, their keys, endpoints, tokens and two clusters."""
    peers: dict[str, FakePeer] = {}
    tokens: dict[str, str] = {}
    with_endpoint = PEER_LENDERS + ((BORROWER,) if borrower_peer else ())
    for code in MEMBERS:
        specs = []
        if code in with_endpoint:
            peer = peers[code] = FakePeer(code)
            peer.url = await start_peer(peer, runners)
            specs = [EndpointSpec(type="iso18626", url=peer.url)]
        await registry.add_member(store, code, f"Library {code}", endpoint_specs=specs)
        async with store.begin() as conn:
            key, pem = await create_member_key(conn, code, grace=dt.timedelta(days=7))
            tokens[code] = (await create_token(conn, code, "staff"))[1]
        if code in peers:
            peers[code].key_id, peers[code].private_key = key.key_id, load_private_key(pem)
    cluster = await add_cluster(store, [*PEER_LENDERS, INSIDE_LENDER])
    inside = await add_cluster(store, [INSIDE_LENDER], title="Principia", isbn="9780520088177")
    app = create_app(settings, store=store, schedule=schedule)
    client = await aiohttp_client(app)
    session = aiohttp.ClientSession()
    runners.append(session)
    gateway_public = load_public_key(app[GATEWAY_KEY].public_key)
    for peer in peers.values():
        peer.libgate_url = str(client.make_url("/iso18626"))
        peer.session = session
        peer.gateway_public = gateway_public
    return Consortium(client, app, store, tokens, peers, cluster, inside)


async def cleanup(runners: list) -> None:
    for item in runners:
        if isinstance(item, aiohttp.ClientSession):
            await item.close()
        else:
            await item.cleanup()


__all__ = ["Consortium", "FakePeer", "build", "cleanup", "BORROWER", "PEER_LENDERS",
           "INSIDE_LENDER", "Status", "ReasonForMessage", "YesNo"]


# the simulated consortium for a test: built on the test's store, torn down after it
@pytest.fixture
async def consortium(aiohttp_client, store, settings):
    runners: list = []
    built = await build(aiohttp_client, store, settings, runners)
    yield built
    await built.broker.drain()
    await cleanup(runners)
