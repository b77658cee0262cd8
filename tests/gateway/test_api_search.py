"""GET /api/search and `libgate search`, end to end, on both backends."""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner

from gateway.app import create_app
from gateway.cli import main
from gateway.store import open_store
from tests.gateway.search_helpers import LAVAL, Corpus, store_clusters
from tests.gateway.test_cli import db_url  # noqa: F401  (fixture: a URL per backend)


def laval() -> Corpus:
    corpus = Corpus()
    corpus.add_file(*LAVAL)
    return corpus


@pytest.fixture
async def client(aiohttp_client, store, settings):
    await store_clusters(store, laval().unions.values())
    return await aiohttp_client(create_app(settings, store=store))


async def test_search_over_http(client):
    response = await client.get("/api/search", params={"q": "siecle", "limit": "2"})
    assert response.status == 200
    body = await response.json()
    assert body["total"] > 2 and len(body["results"]) == 2 and body["page"] == 1
    first = body["results"][0]
    assert "siècle" in first["title"].lower() or "siecle" in json.dumps(first).lower()
    assert first["records"][0]["member"] == "CA-QQLA" and first["holdings"]
    assert dict((f["value"], f["count"]) for f in body["facets"]["language"]) == {
        "fre": body["total"]}

    second = await (await client.get("/api/search", params={
        "q": "siecle", "limit": "2", "page": "2"})).json()
    assert {r["cluster"] for r in second["results"]}.isdisjoint(
        {r["cluster"] for r in body["results"]})


async def test_filters_as_parameters(client):
    in_text = await (await client.get("/api/search", params={
        "q": "canada year:1900-1919 lendable:true"})).json()
    as_params = await (await client.get("/api/search", params={
        "q": "canada", "year": "1900-1919", "lendable": "true"})).json()
    assert in_text["total"] == as_params["total"] > 0
    assert [r["cluster"] for r in in_text["results"]] == [
        r["cluster"] for r in as_params["results"]]
    assert all(1900 <= r["year"] <= 1919 for r in as_params["results"])


async def test_bad_queries_are_400_naming_the_term(client):
    for params, term in (({"q": "titel:emma"}, "titel:emma"),
                         ({"q": "emma", "year": "soon"}, "year=soon"),
                         ({"q": "emma", "page": "two"}, "page=two"),
                         ({"q": ""}, "")):
        response = await client.get("/api/search", params=params)
        assert response.status == 400, params
        assert repr(term) in (await response.json())["error"]


def test_cli_search_json_and_table(db_url):  # noqa: F811
    async def populate() -> None:
        store = await open_store(db_url)
        try:
            await store_clusters(store, laval().unions.values())
        finally:
            await store.close()
    asyncio.run(populate())
    runner = CliRunner()
    result = runner.invoke(main, ["search", "author:faguet", "--json", "--db", db_url],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total"] == len(data["results"]) >= 1
    hit = data["results"][0]
    assert {"cluster", "title", "records", "holdings"} <= set(hit)
    assert hit["title"] == "Dix-huitième siècle"

    table = runner.invoke(main, ["search", "dix", "huitieme", "--limit", "1", "--db", db_url],
                          catch_exceptions=False)
    assert table.exit_code == 0 and "Dix-huitième" in table.stdout
    assert f"{data['total']} clusters; page 1 of" in table.stdout

    bad = runner.invoke(main, ["search", "year:1990-1980", "--db", db_url])
    assert bad.exit_code == 1 and "year:1990-1980" in bad.output
