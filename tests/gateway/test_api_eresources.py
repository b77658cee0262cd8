"""The e-resource, posture, delivery-link and grant API, end to end through aiohttp."""

from __future__ import annotations

import jwt
import pytest

from gateway import registry
from gateway.app import create_app
from gateway.security.tokens import create_token
from protocols.eresources.kbart import COLUMNS
from tests.conftest import ADMIN_TOKEN

OFFICE = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def consortium(aiohttp_client, store, settings):
    tokens = {}
    for code in ("US-AAA", "US-BBB"):
        await registry.add_member(store, code, f"Library {code}")
        async with store.begin() as conn:
            tokens[code, "admin"] = (await create_token(conn, code, "admin"))[1]
            tokens[code, "staff"] = (await create_token(conn, code, "staff"))[1]
    client = await aiohttp_client(create_app(settings, store=store))
    return client, tokens


async def test_a_member_admin_sets_its_own_status_only(consortium):
    client, tokens = consortium
    own = await client.put("/api/members/US-AAA/status", headers=bearer(tokens["US-AAA", "admin"]),
                           json={"status": "closed", "reason": "storm"})
    assert own.status == 200 and (await own.json())["status"] == "closed"
    other = await client.put("/api/members/US-BBB/status",
                             headers=bearer(tokens["US-AAA", "admin"]), json={"status": "closed"})
    assert other.status == 403
    staff = await client.put("/api/members/US-AAA/status",
                             headers=bearer(tokens["US-AAA", "staff"]), json={"status": "open"})
    assert staff.status == 403
    bad = await client.put("/api/members/US-AAA/status", headers=OFFICE,
                           json={"status": "open", "starts_on": "soon"})
    assert bad.status == 400 and "'soon'" in (await bad.json())["error"]
    summary = await (await client.get("/api/posture")).json()
    assert summary["members"]["closed"] == ["US-AAA"]


async def test_the_office_declares_and_ends_an_emergency(consortium):
    client, tokens = consortium
    refused = await client.post("/api/emergency", headers=bearer(tokens["US-AAA", "admin"]),
                                json={"note": "x"})
    assert refused.status == 403
    declared = await client.post("/api/emergency", headers=OFFICE, json={"note": "pandemic"})
    assert declared.status == 201
    assert (await (await client.get("/api/posture")).json())["emergency"]["note"] == "pandemic"
    assert (await client.delete("/api/emergency", headers=OFFICE)).status == 200
    assert (await client.delete("/api/emergency", headers=OFFICE)).status == 400


async def test_kbart_upload_reports_bad_lines_and_refuses_a_wrong_file(consortium):
    client, tokens = consortium
    good = "\t".join(["Nature", "0028-0836", "1476-4687"] + [""] * (len(COLUMNS) - 3))
    bad = "\t".join(["Broken", "0028-0837", ""] + [""] * (len(COLUMNS) - 3))
    body = "\n".join(["\t".join(COLUMNS), good, bad]) + "\n"
    loaded = await client.post("/api/members/US-AAA/eresources?package=Big",
                               headers=bearer(tokens["US-AAA", "admin"]), data=body)
    report = await loaded.json()
    assert loaded.status == 200 and report["loaded"] == 1
    assert report["problems"][0]["line"] == 3 and report["problems"][0]["value"] == "0028-0837"
    wrong = await client.post("/api/members/US-AAA/eresources?package=Big",
                              headers=bearer(tokens["US-AAA", "admin"]), data="a,b\n1,2\n")
    assert wrong.status == 422
    licences = await client.post("/api/members/US-AAA/licences", headers=OFFICE,
                                 data='[[licence]]\npackage = "Big"\nillPrint = "Perhaps"\n')
    assert licences.status == 400 and "'Perhaps'" in (await licences.json())["error"]


async def test_a_delivery_link_works_without_login_then_is_gone(consortium):
    client, tokens = consortium
    policy = await client.patch("/api/members/US-AAA/policy", headers=OFFICE,
                                json={"link_max_views": 2})
    assert (await policy.json())["link_max_views"] == 2
    made = await client.post("/api/deliveries?borrower=US-BBB&filename=a.pdf",
                             headers={**bearer(tokens["US-AAA", "staff"]),
                                      "Content-Type": "application/pdf"}, data=b"%PDF copy")
    assert made.status == 201
    link = (await made.json())["link"]
    for left in ("1", "0"):
        opened = await client.get(link)
        assert opened.status == 200 and await opened.read() == b"%PDF copy"
        assert opened.headers["X-Views-Left"] == left
    gone = await client.get(link)
    assert gone.status == 410 and "used its 2 times" in await gone.text()
    assert (await client.get("/links/not-a-token")).status == 404
    # the token names the link and its expiry, nothing about the request or its parties
    claims = jwt.decode(link.removeprefix("/links/"), options={"verify_signature": False})
    assert set(claims) == {"typ", "lid", "iss", "exp"}


async def test_an_expired_link_answers_410_saying_so(consortium, store, settings, tmp_path):
    import datetime as dt

    from gateway import access_links
    from gateway.security.keys import load_gateway_key
    client, _tokens = consortium
    key = load_gateway_key(settings.gateway_key_file, settings.db)
    month_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)      # default: 30 days
    async with store.begin() as conn:
        link = await access_links.create_link(
            conn, key, lender="US-AAA", borrower="US-BBB", files_dir=tmp_path, content=b"x",
            now=month_ago)
    gone = await client.get(f"/links/{link.token}")
    assert gone.status == 410 and "expired" in await gone.text()


async def test_a_proxy_verifies_a_grant_offline_with_the_published_key(consortium):
    client, tokens = consortium
    issued = await client.post("/api/grants", headers=bearer(tokens["US-BBB", "staff"]),
                               json={"resource": "https://journals.example/nature",
                                     "user": "patron-17", "hours": 2})
    assert issued.status == 201
    grant = (await issued.json())["grant"]
    jwks = await (await client.get("/.well-known/jwks.json")).json()
    # what the README shows a proxy doing: PyJWT with the published JWK, no call to LibGate
    key = jwt.PyJWK(jwks["keys"][0])
    claims = jwt.decode(grant, key.key, algorithms=["EdDSA"], issuer="libgate")
    assert (claims["mem"], claims["sub"], claims["typ"]) == ("US-BBB", "patron-17", "grant")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(grant[:-6] + "AAAAAA", key.key, algorithms=["EdDSA"])
