"""/api/members through the whole aiohttp stack, on both backends."""

from __future__ import annotations

import pytest

from config.settings import load_settings
from gateway.app import create_app
from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
async def client(aiohttp_client, store, settings):
    return await aiohttp_client(create_app(settings, store=store))


async def test_member_lifecycle_over_http(client):
    created = await client.post("/api/members", headers=ADMIN, json={
        "code": "SE-UMU", "name": "Umeå University Library", "contact": "ill@umu.example",
        "endpoints": [{"type": "oai-pmh", "url": "https://oai.umu.example/oai",
                       "prefix": "marc21", "schedule": "0 2 * * *"}]})
    assert created.status == 201, await created.text()
    body = await created.json()
    assert body["code"] == "SE-UMU" and body["endpoints"][0]["schedule"] == "0 2 * * *"

    listed = await (await client.get("/api/members")).json()
    assert [m["code"] for m in listed] == ["SE-UMU"]

    patched = await client.patch("/api/members/SE-UMU", headers=ADMIN,
                                 json={"status": "closed", "status_reason": "storm damage"})
    assert (await patched.json())["status"] == "closed"
    shown = await (await client.get("/api/members/SE-UMU")).json()
    assert shown["status_reason"] == "storm damage"

    deleted = await client.delete("/api/members/SE-UMU", headers=ADMIN)
    assert deleted.status == 204
    missing = await client.get("/api/members/SE-UMU")
    assert missing.status == 404
    assert "SE-UMU" in (await missing.json())["error"]


async def test_writes_need_the_admin_token(client):
    anonymous = await client.post("/api/members", json={"code": "US-DLC", "name": "LC"})
    assert anonymous.status == 401
    wrong = await client.post("/api/members", json={"code": "US-DLC", "name": "LC"},
                              headers={"Authorization": "Bearer guess"})
    assert wrong.status == 401
    assert await (await client.get("/api/members")).json() == []


async def test_without_configured_token_only_stored_admin_tokens_write(aiohttp_client, store,
                                                                  tmp_path):
    from gateway.security.tokens import create_token

    settings = load_settings(None, {"db": store.url, "gateway_key_file": str(tmp_path / "k.pem")},
                             environ={})   # no admin_token setting
    client = await aiohttp_client(create_app(settings, store=store))
    refused = await client.post("/api/members", json={"code": "US-DLC", "name": "LC"},
                                headers={"Authorization": "Bearer "})
    assert refused.status == 401
    async with store.begin() as conn:
        _, admin = await create_token(conn, None, "admin", "office")
    accepted = await client.post("/api/members", json={"code": "US-DLC", "name": "LC"},
                                 headers={"Authorization": f"Bearer {admin}"})
    assert accepted.status == 201, await accepted.text()


@pytest.mark.parametrize(("payload", "status", "fragment"), [
    ({"code": "US-DLC", "name": "LC", "endpoints": [{"type": "gopher", "url": "x"}]}, 400,
     "unknown endpoint type 'gopher'"),
    ({"code": "US-DLC", "name": "LC", "endpoints": [{"type": "sru", "url": "not a url"}]}, 400,
     "malformed sru URL 'not a url'"),
    ({"code": "US-DLC", "name": "LC",
      "endpoints": [{"type": "oai-pmh", "url": "https://x.example/oai", "schedule": "soon"}]},
     400, "bad cron expression 'soon'"),
    ({"code": "US-DLC", "name": "LC", "endpoints": [{"type": "sru", "uri": "typo"}]}, 400,
     "unknown key 'uri'"),
    (["not", "an", "object"], 400, "expected a JSON object"),
])
async def test_bad_member_payloads_name_the_value(client, payload, status, fragment):
    response = await client.post("/api/members", headers=ADMIN, json=payload)
    assert response.status == status
    assert fragment in (await response.json())["error"]


async def test_duplicate_code_is_a_conflict(client):
    first = await client.post("/api/members", headers=ADMIN, json={"code": "US-DLC", "name": "LC"})
    assert first.status == 201
    again = await client.post("/api/members", headers=ADMIN, json={"code": "US-DLC", "name": "LC"})
    assert again.status == 409


async def test_malformed_json_is_a_400(client):
    response = await client.post("/api/members", headers={**ADMIN, "Content-Type": "application/json"},
                                 data=b"{not json")
    assert response.status == 400
    assert "not valid JSON" in (await response.json())["error"]


async def test_health_reports_the_store(client):
    response = await client.get("/health")
    assert response.status == 200
    assert (await response.json()) == {"status": "ok", "store": True}
