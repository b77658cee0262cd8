"""A borrower's own ISO 18626 system, signed webhooks, and the deadline checker of
`libgate serve` (create_app(schedule=True))."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

from aiohttp import web

from config.settings import load_settings
from gateway import policy
from gateway.broker import messages as msgs
from gateway.keys import GATEWAY_KEY
from protocols.httpsig import load_public_key, verify_request
from protocols.iso18626 import model as m
from protocols.iso18626.codec import encode
from protocols.iso18626.codes import Action, CodedValue, ServiceType, Status
from tests.gateway.ill_consortium import BORROWER, PEER_LENDERS, build, cleanup

LA, LB = PEER_LENDERS[:2]


async def test_a_borrowers_own_system_requests_and_hears_back(aiohttp_client, store, settings):
    runners: list = []
    c = await build(aiohttp_client, store, settings, runners, borrower_peer=True)
    try:
        borrower = c.peers[BORROWER]
        now = dt.datetime.now(dt.UTC)
        request = m.Request(
            header=msgs.header(requester=BORROWER, supplier="LIBGATE", ref="BOR-77", now=now),
            bibliographic_info=m.BibliographicInfo(
                title="Opticks", bibliographic_item_ids=(m.BibliographicItemId(
                    identifier="9780486602059", code=CodedValue("ISBN")),)),
            service_info=m.ServiceInfo(service_type=ServiceType.LOAN))
        answer = await borrower.send(request)
        assert answer.confirmation_header.message_status.value == "OK"
        await c.broker.drain()
        [sent] = c.peers[LA].requests()
        assert sent.header.requesting_agency_request_id == "BOR-77"
        await c.peers[LA].answer("BOR-77", Status.LOANED)
        await c.broker.drain()
        [told] = [x for x in borrower.received if isinstance(x, m.SupplyingAgencyMessage)]
        assert told.status_info.status is Status.LOANED
        received = msgs.requesting_message(requester=BORROWER, supplier=LA, ref="BOR-77",
                                           now=dt.datetime.now(dt.UTC), action=Action.RECEIVED)
        assert (await borrower.send(received)).confirmation_header.message_status.value == "OK"
        await c.broker.drain()
        assert [a.action for a in c.peers[LA].actions()] == [Action.RECEIVED]
        # a lender cannot send the borrower's actions
        forged = msgs.requesting_message(requester=BORROWER, supplier=LA, ref="BOR-77",
                                         now=dt.datetime.now(dt.UTC), action=Action.RECEIVED)
        body = encode(forged)
        status, _ = await c.peers[LA].post(body, c.peers[LA].sign(body))
        assert status == 403
    finally:
        await c.broker.drain()
        await cleanup(runners)


async def test_a_borrowers_system_asks_for_an_article_routed_by_licence_and_year(
        aiohttp_client, store, settings):
    # the year comes from publicationInfo: without it no coverage (nor embargo) can be checked
    from gateway import eresources
    from protocols.eresources.kbart import COLUMNS
    runners: list = []
    c = await build(aiohttp_client, store, settings, runners, borrower_peer=True)
    try:
        row = {"publication_title": "Nature", "print_identifier": "0028-0836",
               "date_first_issue_online": "1997-01-02", "embargo_info": "P1Y"}
        kbart = "\t".join(COLUMNS) + "\n" + "\t".join(row.get(k, "") for k in COLUMNS) + "\n"
        async with store.begin() as conn:
            await eresources.load_kbart(conn, LB, "Big Deal", kbart)
            await eresources.load_licences(
                conn, LB, '[[licence]]\npackage = "Big Deal"\nillElectronic = "Permitted (explicit)"\n')
        now = dt.datetime.now(dt.UTC)

        def article(ref: str, year: int) -> m.Request:
            return m.Request(
                header=msgs.header(requester=BORROWER, supplier="LIBGATE", ref=ref, now=now),
                bibliographic_info=m.BibliographicInfo(
                    title="Nature", title_of_component="A letter", volume=("3",),
                    pages_requested="1-4", bibliographic_item_ids=(m.BibliographicItemId(
                        identifier="0028-0836", code=CodedValue("ISSN")),)),
                publication_info=m.PublicationInfo(publication_date=f"{year}-05"),
                service_info=m.ServiceInfo(service_type=ServiceType.COPY))
        assert (await c.peers[BORROWER].send(article("BOR-A1", now.year - 2))) \
            .confirmation_header.message_status.value == "OK"
        await c.broker.drain()
        [sent] = c.peers[LB].requests()
        assert sent.header.requesting_agency_request_id == "BOR-A1"
        await c.peers[BORROWER].send(article("BOR-A2", now.year))      # under the embargo
        await c.broker.drain()
        assert len(c.peers[LB].requests()) == 1
    finally:
        await c.broker.drain()
        await cleanup(runners)


async def test_webhooks_receive_signed_state_changes(aiohttp_client, store, settings):
    runners: list = []
    c = await build(aiohttp_client, store, settings, runners)
    events: list[dict] = []
    gateway_public = load_public_key(c.app[GATEWAY_KEY].public_key)

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        verify_request("POST", str(request.url), request.headers.items(), body,
                       resolve_key=lambda kid: gateway_public,
                       max_age=dt.timedelta(minutes=5))
        events.append(json.loads(body))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/iso18626", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    runners.append(runner)
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/iso18626"
    try:
        added = await c.client.post("/api/ill/webhooks", json={"url": url},
                                    headers=c.auth(BORROWER))
        assert added.status == 201
        created = await c.request(patron_ref="p-1")
        await c.peers[LA].answer(created["ref"], Status.LOANED)
        await c.broker.drain()
        assert [e["state"] for e in events] == ["in-progress", "in-progress"]
        assert events[-1]["status"] == "Loaned" and events[-1]["ref"] == created["ref"]
        listed = await c.client.get("/api/ill/webhooks", headers=c.auth(BORROWER))
        assert len((await listed.json())["webhooks"]) == 1
        other = await c.client.get("/api/ill/webhooks", headers=c.auth(LB))
        assert (await other.json())["webhooks"] == []
    finally:
        await c.broker.drain()
        await cleanup(runners)


async def test_serve_moves_on_from_a_silent_lender_by_itself(aiohttp_client, store, settings):
    fast = load_settings(None, {**settings.values, "ill_check_interval": 0.2}, environ={})
    runners: list = []
    c = await build(aiohttp_client, store, fast, runners, schedule=True)
    try:
        async with store.begin() as conn:
            await policy.set_policy(conn, LA, {"response_hours": 0.0003})   # about a second
        created = await c.request(patron_ref="p-1")
        assert created["supplier"] == LA
        for _ in range(100):
            await asyncio.sleep(0.1)
            if (await c.show(created["id"]))["supplier"] == LB:
                break
        shown = await c.show(created["id"])
        assert shown["supplier"] == LB and shown["rota"][0]["outcome"] == "no-answer"
    finally:
        await c.broker.drain()
        await cleanup(runners)

