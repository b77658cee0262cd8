"""`POST /iso18626` and the staff API refuse what they must: forged, unknown-key, replayed,
expired and wrong-agency signatures; other tenants' requests; XXE, billion laughs, oversized
bodies, wrong content types and methods. Each refusal leaves the request as it was."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from protocols.iso18626.codec import decode, encode
from protocols.iso18626.codes import Status
from tests.gateway.ill_consortium import consortium, BORROWER, PEER_LENDERS

LA, LB, LC, LD = PEER_LENDERS
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<ISO18626Message xmlns="http://illtransactions.org/2013/iso18626" version="1.2">
<supplyingAgencyMessage><header><requestingAgencyRequestId>&x;</requestingAgencyRequestId>
</header></supplyingAgencyMessage></ISO18626Message>"""
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (n, b"&lol%d;" % (n - 1) * 10 if n > 1
                                                  else b"&lol;" * 10) for n in range(1, 10))
          + b']><ISO18626Message xmlns="http://illtransactions.org/2013/iso18626" '
            b'version="1.2">&lol9;</ISO18626Message>')


async def _status(c, request_id):
    return (await c.show(request_id))["status"]


async def _refused(c, body: bytes, headers: dict, expected: int, reason: str):
    status, answer = await c.peers[LA].post(body, headers)
    assert status == expected, answer
    assert reason in answer.decode()


async def test_forged_unknown_key_expired_and_wrong_agency_signatures(consortium):
    c = consortium
    created = await c.request()
    la, lb = c.peers[LA], c.peers[LB]
    body = encode(la.status_message(created["ref"], Status.LOANED))
    # signed with LB's private key under LA's key id: forged
    await _refused(c, body, la.sign(body, private_key=lb.private_key), 401, "bad-signature")
    await _refused(c, body, la.sign(body, key_id="US-LA#k9"), 401, "unknown-key")
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    await _refused(c, body, la.sign(body, created=stale), 401, "expired")
    # LB signs, correctly, a message that claims to come from LA
    await _refused(c, body, lb.sign(body), 403, "wrong-agency")
    # a signature over another URL, and no signature at all
    await _refused(c, body, la.sign(body, url="http://elsewhere.example/iso18626"), 401,
                   "rejected")
    await _refused(c, body, {"Content-Type": "application/xml"}, 401, "unsigned")
    # a body swapped under a valid signature
    other = encode(la.status_message(created["ref"], Status.UNFILLED))
    await _refused(c, other, la.sign(body), 401, "digest")
    assert await _status(c, created["id"]) is None
    audit = (await c.show(created["id"]))["messages"]
    assert len(audit) == 1                                   # only LibGate's request
    assert "LOANED".lower() not in str(audit).lower()


async def test_a_replayed_message_is_refused(consortium):
    c = consortium
    created = await c.request()
    la = c.peers[LA]
    body = encode(la.status_message(created["ref"], Status.WILL_SUPPLY))
    headers = la.sign(body)
    status, answer = await la.post(body, headers)
    assert status == 200 and b"OK" in answer
    await _refused(c, body, headers, 401, "replayed")
    assert await _status(c, created["id"]) == "WillSupply"


async def test_concurrent_copies_of_one_signed_message_apply_once(consortium):
    c = consortium
    created = await c.request()
    la = c.peers[LA]
    body = encode(la.status_message(created["ref"], Status.WILL_SUPPLY))
    headers = la.sign(body)
    answers = await asyncio.gather(*[la.post(body, headers) for _ in range(8)])
    assert sorted(status for status, _ in answers) == [200] + [401] * 7
    assert all(b"replayed" in answer for status, answer in answers if status == 401)
    shown = await c.show(created["id"])
    assert shown["status"] == "WillSupply"
    assert [m["kind"] for m in shown["messages"]].count("supplyingAgencyMessage") == 1


async def test_xxe_and_billion_laughs_are_refused_never_expanded(consortium):
    c = consortium
    la = c.peers[LA]
    for evil in (XXE, LAUGHS):
        status, answer = await la.post(evil, la.sign(evil))
        assert status == 200
        confirmation = decode(answer)
        assert confirmation.confirmation_header.message_status.value == "ERROR"
        assert confirmation.error_data[0].error_type.value == "BadlyFormedMessage"
        assert b"root:" not in answer and b"lollollol" not in answer


async def test_size_content_type_and_method_checks(consortium):
    c = consortium
    la = c.peers[LA]
    huge = b"<ISO18626Message>" + b" " * (2 * 2**20 + 10) + b"</ISO18626Message>"
    status, _ = await la.post(huge, la.sign(huge))
    assert status == 413
    body = encode(la.status_message("LG-X", Status.LOANED))
    headers = la.sign(body)
    async with la.session.post(la.libgate_url, data=body,
                               headers={**headers, "Content-Type": "application/json"}) as r:
        assert r.status == 415
    async with la.session.get(la.libgate_url) as r:
        assert r.status == 405


async def test_a_staff_token_sees_and_acts_only_on_its_own_requests(consortium):
    c = consortium
    created = await c.request()                         # BOR asks; the request goes to LA
    for outsider in (LB, LC):                           # on the rota, but not asked yet
        response = await c.client.get(f"/api/ill/requests/{created['id']}",
                                      headers=c.auth(outsider))
        assert response.status == 404
        listed = await c.client.get("/api/ill/requests", headers=c.auth(outsider))
        assert (await listed.json())["requests"] == []
        acted = await c.client.post(f"/api/ill/requests/{created['id']}/actions",
                                    json={"action": "Cancel"}, headers=c.auth(outsider))
        assert acted.status == 404
    lender_view = await c.show(created["id"], member=LA)
    assert lender_view["ref"] == created["ref"]
    # no token, a wrong token
    assert (await c.client.get("/api/ill/requests")).status == 401
    assert (await c.client.get("/api/ill/requests",
                               headers={"Authorization": "Bearer nope"})).status == 401
    # a staff token cannot make a request in another member's name
    response = await c.client.post("/api/ill/requests", headers=c.auth(LB), json={
        "cluster_id": c.cluster, "requester": BORROWER})
    assert response.status == 400


async def test_secrets_in_messages_are_not_stored(consortium):
    c = consortium
    created = await c.request()
    la = c.peers[LA]
    body = encode(la.status_message(created["ref"], Status.WILL_SUPPLY)).replace(
        b"</requestingAgencyRequestId>",
        b"</requestingAgencyRequestId><requestingAgencyAuthentication><accountId>acct-7"
        b"</accountId><securityCode>hunter2</securityCode></requestingAgencyAuthentication>")
    status, answer = await la.post(body, la.sign(body))
    assert status == 200, answer
    shown = await c.show(created["id"])
    assert "hunter2" not in str(shown) and "acct-7" not in str(shown)
    assert "[redacted]" in shown["messages"][-1]["raw"]
