"""Harvest through the HTTP API: start one, list runs, metrics, health, registration probe."""

from __future__ import annotations

import asyncio

import pytest

from config.settings import load_settings
from gateway.app import create_app
from tests.conftest import ADMIN_TOKEN
from tests.fakes.fake_member import FakeMember
from tests.gateway.harvest_helpers import real_fake_records
from tests.shared_data import require_shared

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
async def client(aiohttp_client, store, settings):
    return await aiohttp_client(create_app(settings, store=store))


async def test_start_harvest_then_runs_and_metrics(client):
    require_shared()
    async with FakeMember(real_fake_records(25)) as member:
        added = await client.post("/api/members", headers=ADMIN, json={
            "code": "US-FAKE", "name": "Fake", "endpoints": [{"type": "oai-pmh",
                                                              "url": member.url}]})
        assert added.status == 201
        refused = await client.post("/api/members/US-FAKE/harvest")
        assert refused.status == 401
        started = await client.post("/api/members/US-FAKE/harvest", headers=ADMIN)
        assert started.status == 202
        for _ in range(200):
            runs = await (await client.get("/api/harvests?member=US-FAKE")).json()
            if runs and runs[0]["status"] != "running":
                break
            await asyncio.sleep(0.05)
    [run] = runs
    assert (run["status"], run["added"], run["pages"]) == ("succeeded", 25, 3)
    assert run["response_date"] == "2026-11-20T02:00:00Z" and run["seconds"] is not None
    metrics = await (await client.get("/metrics")).text()
    assert 'libgate_harvest_records_total{member="US-FAKE"} 25.0' in metrics
    assert 'libgate_harvest_pages_total{member="US-FAKE"} 3.0' in metrics
    assert 'libgate_harvest_last_success_timestamp_seconds{member="US-FAKE"}' in metrics


async def test_harvest_of_unknown_member_is_404(client):
    response = await client.post("/api/members/US-NONE/harvest", headers=ADMIN)
    assert response.status == 404


async def test_registration_probe_refuses_what_does_not_answer(aiohttp_client, store, tmp_path):
    require_shared()
    settings = load_settings(None, {"db": store.url, "admin_token": ADMIN_TOKEN,
                                    "gateway_key_file": str(tmp_path / "k.pem")}, environ={})
    client = await aiohttp_client(create_app(settings, store=store))
    async with FakeMember(real_fake_records(3)) as member:
        wrong_prefix = await client.post("/api/members", headers=ADMIN, json={
            "code": "US-FAKE", "name": "Fake", "endpoints": [
                {"type": "oai-pmh", "url": member.url, "prefix": "oai_dc"}]})
        assert wrong_prefix.status == 400
        assert "does not offer metadataPrefix 'oai_dc'; it offers marc21" in (
            await wrong_prefix.json())["error"]
        wrong_set = await client.post("/api/members", headers=ADMIN, json={
            "code": "US-FAKE", "name": "Fake", "endpoints": [
                {"type": "oai-pmh", "url": member.url, "set": "maps"}]})
        assert "has no set 'maps'" in (await wrong_set.json())["error"]
        good = await client.post("/api/members", headers=ADMIN, json={
            "code": "US-FAKE", "name": "Fake", "endpoints": [
                {"type": "oai-pmh", "url": member.url, "set": "books"}]})
        assert good.status == 201, await good.text()
        not_oai = await client.post("/api/members", headers=ADMIN, json={
            "code": "US-OTHER", "name": "Other", "endpoints": [
                {"type": "oai-pmh", "url": member.url.replace("/oai", "/nothing")}]})
    assert not_oai.status == 400
    assert "US-OTHER" not in [m["code"] for m in await (await client.get("/api/members")).json()]
    rows = await client.get("/api/members/US-FAKE")
    assert (await rows.json())["endpoints"][0]["set"] == "books"


async def test_health_reports_the_scheduler(aiohttp_client, store, settings):
    client = await aiohttp_client(create_app(settings, store=store, schedule=True))
    for _ in range(100):
        body = await (await client.get("/health")).json()
        if body.get("scheduler"):
            break
        await asyncio.sleep(0.02)
    assert body == {"store": True, "scheduler": True, "harvests_running": 0, "status": "ok"}
