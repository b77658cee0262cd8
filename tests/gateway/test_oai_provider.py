"""/oai over the whole stack, on both backends: every verb and error validated against the
OAI-PMH schema, Sickle harvesting to the end, incremental and set-filtered harvests, tokens.

Clusters are written straight into the ``clusters`` table (the index's job in production),
their merged records made from real MARC records in ../shared/data/marc.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from lxml import etree
from sickle import Sickle
from sickle.oaiexceptions import NoRecordsMatch as SickleNoRecordsMatch

from config.settings import load_settings
from gateway.app import create_app
from gateway.cli import main
from gateway.oai_provider import OaiProvider, refresh_all_sets, refresh_sets, token_key
from gateway.store.schema import cluster_sets, clusters, gateway_secrets, members
from protocols.oaipmh.provider import format_set_spec, member_set_spec
from protocols.union import UnionRecord
from tests.oai_support import MEMBERS, union_records, validate_oai

NS = "{http://www.openarchives.org/OAI/2.0/}"
REPO = "union.example.org"
BASE = datetime(2026, 1, 10, 8, 0, 0, 250000, tzinfo=UTC)
CLUSTERS = 40
PAGE = 7


def oai_settings(store, **extra):
    # the gateway key goes to the temp folder: with PostgreSQL there is no database folder
    # to put it beside, and a test must not write into the checkout
    key = Path(tempfile.gettempdir()) / "libgate-test-gateway-key.pem"
    return load_settings(None, {"db": store.url, "probe_endpoints": False,
                                "oai_repository_identifier": REPO, "oai_page_size": PAGE,
                                "gateway_key_file": str(key), **extra}, environ={})


def ident(cluster_id: int) -> str:
    return f"oai:{REPO}:cluster/{cluster_id}"


async def put_clusters(store, unions: list[UnionRecord], *, deleted: tuple[int, ...] = ()) -> None:
    """Insert the clusters; four share each datestamp, so ties cross page boundaries."""
    rows = [{"id": u.cluster_id, "deleted": u.cluster_id in deleted,
             "record_count": len(u.sources), "title": u.title, "year": u.year,
             "format": u.format, "merged": u.to_dict(), "created_at": BASE,
             "updated_at": BASE + timedelta(seconds=i // 4)} for i, u in enumerate(unions)]
    async with store.begin() as conn:
        await conn.execute(sa.insert(clusters), rows)
        await refresh_sets(conn, [u.cluster_id for u in unions])


async def change_clusters(store, changes: dict[int, dict], at: datetime) -> None:
    """What the index does when a cluster changes: new merged record / deleted, new datestamp."""
    async with store.begin() as conn:
        for cluster_id, values in changes.items():
            await conn.execute(sa.update(clusters).where(clusters.c.id == cluster_id)
                               .values(updated_at=at, **values))
        await refresh_sets(conn, list(changes))


@pytest.fixture
async def unions(store):
    made = union_records(CLUSTERS)
    await put_clusters(store, made)
    return made


@pytest.fixture
async def client(aiohttp_client, store, unions):
    return await aiohttp_client(create_app(oai_settings(store), store=store))


async def oai_get(client, **params) -> etree._Element:
    response = await client.get("/oai", params=params)
    assert response.status == 200 and response.content_type == "text/xml"
    body = await response.read()
    validate_oai(body)
    return etree.fromstring(body)


def error_code(root) -> str | None:
    error = root.find(f"{NS}error")
    return None if error is None else error.get("code")


def identifiers(root) -> list[str]:
    return [h.findtext(f"{NS}identifier") for h in root.iter(f"{NS}header")]


# --- every verb, valid -----------------------------------------------------------------------


async def test_every_verb_answers_valid_oai_pmh(client, unions):
    identify = await oai_get(client, verb="Identify")
    assert identify.findtext(f"{NS}Identify/{NS}earliestDatestamp") == "2026-01-10T08:00:00Z"
    assert identify.findtext(f"{NS}Identify/{NS}deletedRecord") == "persistent"
    assert identify.findtext(f"{NS}Identify/{NS}baseURL").endswith("/oai")
    assert [c.text for c in identify.iter(f"{NS}compression")] == ["gzip", "deflate"]

    formats = await oai_get(client, verb="ListMetadataFormats", identifier=ident(3))
    assert [p.text for p in formats.iter(f"{NS}metadataPrefix")] == ["marc21", "oai_dc"]

    sets = [s.text for s in (await oai_get(client, verb="ListSets")).iter(f"{NS}setSpec")]
    assert {"member", "format", member_set_spec("SE-LNU"), format_set_spec("book")} <= set(sets)

    for prefix in ("marc21", "oai_dc"):
        record = await oai_get(client, verb="GetRecord", identifier=ident(3),
                               metadataPrefix=prefix)
        assert identifiers(record) == [ident(3)]
        assert record.find(f"{NS}GetRecord/{NS}record/{NS}metadata") is not None
        first = await oai_get(client, verb="ListRecords", metadataPrefix=prefix)
        assert len(first.findall(f"{NS}ListRecords/{NS}record")) == PAGE
        headers = await oai_get(client, verb="ListIdentifiers", metadataPrefix=prefix)
        assert identifiers(headers) == identifiers(first)

    marc = await oai_get(client, verb="GetRecord", identifier=ident(3), metadataPrefix="marc21")
    tags = [f.get("tag") for f in marc.iter("{http://www.loc.gov/MARC21/slim}datafield")]
    holdings = unions[2].holdings
    assert tags.count("852") == len(holdings)
    assert marc.findtext(".//{http://www.loc.gov/MARC21/slim}controlfield[@tag='001']") == "3"


async def test_post_is_answered_like_get(client):
    response = await client.post("/oai", data={"verb": "GetRecord", "identifier": ident(5),
                                               "metadataPrefix": "oai_dc"})
    body = await response.read()
    validate_oai(body)
    assert identifiers(etree.fromstring(body)) == [ident(5)]
    wrong = await client.post("/oai", json={"verb": "Identify"})
    assert wrong.status == 415


@pytest.mark.parametrize("params, code", [
    ({}, "badVerb"),
    ({"verb": "ListThings"}, "badVerb"),
    ({"verb": "Identify", "metadataPrefix": "oai_dc"}, "badArgument"),
    ({"verb": "ListRecords"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "yesterday"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "mods"}, "cannotDisseminateFormat"),
    ({"verb": "ListRecords", "metadataPrefix": "marc 21"}, "badArgument"),
    ({"verb": "GetRecord", "identifier": "oai:x\x01", "metadataPrefix": "oai_dc"},
     "badArgument"),
    ({"verb": "GetRecord", "identifier": ident(1), "metadataPrefix": "mods"},
     "cannotDisseminateFormat"),
    ({"verb": "GetRecord", "identifier": ident(999), "metadataPrefix": "oai_dc"},
     "idDoesNotExist"),
    ({"verb": "GetRecord", "identifier": "oai:elsewhere.org:cluster/1",
      "metadataPrefix": "oai_dc"}, "idDoesNotExist"),
    ({"verb": "ListMetadataFormats", "identifier": "cluster/1"}, "idDoesNotExist"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2030-01-01"},
     "noRecordsMatch"),
    ({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "member:XX-NONE"},
     "noRecordsMatch"),
    ({"verb": "ListRecords", "resumptionToken": "not-a-token"}, "badResumptionToken"),
    ({"verb": "ListSets", "resumptionToken": "anything"}, "badResumptionToken"),
])
async def test_errors_have_the_right_code_and_validate(client, params, code):
    assert error_code(await oai_get(client, **params)) == code


async def test_repeated_arguments_are_refused(client):
    response = await client.get("/oai?verb=ListRecords&metadataPrefix=oai_dc"
                                "&metadataPrefix=marc21")
    root = etree.fromstring(await response.read())
    assert error_code(root) == "badArgument"
    twice = await client.get("/oai?verb=Identify&verb=Identify")
    assert error_code(etree.fromstring(await twice.read())) == "badVerb"


# --- paging, Sickle, incremental ----------------------------------------------------------------


def sickle_harvest(url: str, verb: str, **params) -> list:
    sickle = Sickle(url)
    try:
        return list(getattr(sickle, verb)(ignore_deleted=False, **params))
    except SickleNoRecordsMatch:
        return []


async def test_sickle_harvests_everything_through_the_tokens(client, unions):
    url = str(client.make_url("/oai"))
    for prefix in ("marc21", "oai_dc"):
        records = await asyncio.to_thread(sickle_harvest, url, "ListRecords",
                                          metadataPrefix=prefix)
        assert len(records) == CLUSTERS          # ceil(40 / 7) = 6 pages, 5 tokens
        assert sorted(r.header.identifier for r in records) == sorted(
            ident(u.cluster_id) for u in unions)
    oai_dc = {r.header.identifier: r.metadata for r in records}
    assert oai_dc[ident(1)]["title"][0].startswith(unions[0].title)
    headers = await asyncio.to_thread(sickle_harvest, url, "ListIdentifiers",
                                      metadataPrefix="marc21")
    assert len({h.identifier for h in headers}) == CLUSTERS


async def test_every_page_validates_and_the_cursor_counts(client):
    token, seen, cursors = None, [], []
    while True:
        params = {"resumptionToken": token} if token else {"metadataPrefix": "marc21"}
        page = await oai_get(client, verb="ListRecords", **params)
        seen += identifiers(page)
        element = page.find(f"{NS}ListRecords/{NS}resumptionToken")
        cursors.append(int(element.get("cursor")))
        assert element.get("completeListSize") == str(CLUSTERS)
        token = element.text
        if not token:
            break
        assert element.get("expirationDate")
    assert len(seen) == len(set(seen)) == CLUSTERS
    assert cursors == [0, 7, 14, 21, 28, 35]


async def test_incremental_harvest_returns_exactly_what_changed(client, store, unions):
    url = str(client.make_url("/oai"))
    later = BASE + timedelta(days=2)
    renamed = dataclasses.replace(unions[4], title="A changed title")
    dissolved = dataclasses.replace(unions[10], sources=[], holdings=[])
    await change_clusters(store, {
        5: {"merged": renamed.to_dict(), "title": renamed.title},
        11: {"deleted": True, "merged": dissolved.to_dict(), "record_count": 0},
        30: {"record_count": 2},
    }, later)
    since = (later - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    changed = await asyncio.to_thread(sickle_harvest, url, "ListRecords",
                                      metadataPrefix="oai_dc", **{"from": since})
    by_id = {r.header.identifier: r for r in changed}
    assert sorted(by_id) == sorted(ident(i) for i in (5, 11, 30))
    assert by_id[ident(11)].header.deleted and not by_id[ident(5)].header.deleted
    assert by_id[ident(5)].metadata["title"] == ["A changed title"]
    # a day-granularity window and an until that ends before the change
    day = later.strftime("%Y-%m-%d")
    assert len(await asyncio.to_thread(sickle_harvest, url, "ListIdentifiers",
                                       metadataPrefix="marc21", **{"from": day})) == 3
    before = await asyncio.to_thread(sickle_harvest, url, "ListIdentifiers",
                                     metadataPrefix="marc21",
                                     until=BASE.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert {h.identifier for h in before} == {ident(i) for i in (1, 2, 3, 4)}
    # the deleted record is persistent: GetRecord answers it with a deleted header
    gone = await oai_get(client, verb="GetRecord", identifier=ident(11),
                         metadataPrefix="marc21")
    header = gone.find(f"{NS}GetRecord/{NS}record/{NS}header")
    assert header.get("status") == "deleted"
    assert gone.find(f"{NS}GetRecord/{NS}record/{NS}metadata") is None


async def test_set_harvests_follow_members_and_keep_dissolved_clusters(client, store, unions):
    url = str(client.make_url("/oai"))
    member = MEMBERS[1]
    expected = {ident(u.cluster_id) for u in unions if member in u.members}
    got = await asyncio.to_thread(sickle_harvest, url, "ListIdentifiers",
                                  metadataPrefix="marc21", set=member_set_spec(member))
    assert {h.identifier for h in got} == expected and len(got) == len(expected)
    assert all(member_set_spec(member) in h.setSpecs for h in got)
    # dissolving a cluster empties its merged record's members, but not its sets
    victim = next(u for u in unions if member in u.members)
    await change_clusters(store, {victim.cluster_id: {
        "deleted": True, "merged": dataclasses.replace(victim, sources=[]).to_dict()}},
        BASE + timedelta(days=3))
    again = await asyncio.to_thread(sickle_harvest, url, "ListIdentifiers",
                                    metadataPrefix="marc21", set=member_set_spec(member))
    deleted = [h for h in again if h.deleted]
    assert [h.identifier for h in deleted] == [ident(victim.cluster_id)]
    async with store.connect() as conn:
        kept = (await conn.execute(sa.select(cluster_sets.c.set_spec).where(
            cluster_sets.c.cluster_id == victim.cluster_id))).scalars().all()
    assert member_set_spec(member) in kept
    books = await asyncio.to_thread(sickle_harvest, url, "ListIdentifiers",
                                    metadataPrefix="marc21", set="format")
    assert len(books) == CLUSTERS


# --- tokens ---------------------------------------------------------------------------------------


async def test_tampered_and_expired_tokens_are_bad_resumption_tokens(store, unions):
    clock = [1_800_000_000.0]
    provider = OaiProvider(store, oai_settings(store, oai_token_ttl=60), clock=lambda: clock[0])
    first = etree.fromstring(await provider.respond(
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc")], "http://u.example/oai"))
    token = first.findtext(f"{NS}ListRecords/{NS}resumptionToken")
    body, signature = token.split(".")
    tampered = body[:10] + ("x" if body[10] != "x" else "y") + body[11:] + "." + signature
    for bad in (tampered, token[:-3], token.replace(".", "")):
        answer = await provider.respond([("verb", "ListRecords"), ("resumptionToken", bad)],
                                        "http://u.example/oai")
        validate_oai(answer)
        assert error_code(etree.fromstring(answer)) == "badResumptionToken"
    other_verb = await provider.respond([("verb", "ListIdentifiers"),
                                         ("resumptionToken", token)], "http://u.example/oai")
    assert error_code(etree.fromstring(other_verb)) == "badResumptionToken"
    clock[0] += 59
    fine = await provider.respond([("verb", "ListRecords"), ("resumptionToken", token)],
                                  "http://u.example/oai")
    assert error_code(etree.fromstring(fine)) is None
    clock[0] += 2
    expired = await provider.respond([("verb", "ListRecords"), ("resumptionToken", token)],
                                     "http://u.example/oai")
    validate_oai(expired)
    assert error_code(etree.fromstring(expired)) == "badResumptionToken"
    assert b"expired" in expired


async def test_workers_on_one_store_share_the_token_key(store, unions):
    settings = oai_settings(store)
    keys = await asyncio.gather(*(token_key(store, settings) for _ in range(4)))
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    async with store.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(gateway_secrets))
                ).scalar_one() == 1
    worker_a, worker_b = OaiProvider(store, settings), OaiProvider(store, settings)
    page = etree.fromstring(await worker_a.respond(
        [("verb", "ListIdentifiers"), ("metadataPrefix", "marc21")], "http://u.example/oai"))
    token = page.findtext(f"{NS}ListIdentifiers/{NS}resumptionToken")
    follow = etree.fromstring(await worker_b.respond(
        [("verb", "ListIdentifiers"), ("resumptionToken", token)], "http://u.example/oai"))
    assert error_code(follow) is None and set(identifiers(follow)).isdisjoint(identifiers(page))
    # a configured key wins, and a token signed with the stored one is then refused
    configured = OaiProvider(store, oai_settings(store, oai_token_key="s" * 40))
    refused = etree.fromstring(await configured.respond(
        [("verb", "ListIdentifiers"), ("resumptionToken", token)], "http://u.example/oai"))
    assert error_code(refused) == "badResumptionToken"


# --- without a port -------------------------------------------------------------------------------


def test_serve_get_prints_the_identify_answer(tmp_path):
    result = CliRunner().invoke(main, ["serve", "--get", "/oai?verb=Identify", "--db",
                                       f"sqlite:///{tmp_path / 'cli.db'}"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    body = result.stdout[result.stdout.index("<?xml"):].strip()
    validate_oai(body)
    assert "<protocolVersion>2.0</protocolVersion>" in body


async def test_refresh_all_sets_rebuilds_every_cluster(store, unions):
    async with store.begin() as conn:
        await conn.execute(sa.delete(cluster_sets))
    assert await refresh_all_sets(store, batch=9) == CLUSTERS
    async with store.connect() as conn:
        per_cluster = (await conn.execute(sa.select(
            cluster_sets.c.cluster_id, sa.func.count()).group_by(cluster_sets.c.cluster_id)
        )).all()
    assert len(per_cluster) == CLUSTERS and all(count >= 4 for _, count in per_cluster)


async def walk(provider: OaiProvider, verb: str, **arguments) -> list[str]:
    """Every identifier of a list, following the tokens through the provider directly."""
    pairs, seen = [("verb", verb), *arguments.items()], []
    while True:
        root = etree.fromstring(await provider.respond(pairs, "http://u.example/oai"))
        if error_code(root) == "noRecordsMatch":
            return seen
        assert error_code(root) is None
        seen += identifiers(root)
        token = root.findtext(f"{NS}{verb}/{NS}resumptionToken")
        if not token:
            return seen
        pairs = [("verb", verb), ("resumptionToken", token)]


async def test_big_and_small_sets_page_alike(store, unions):
    """A set of more than ten pages is walked with EXISTS, a smaller one with a join."""
    member = MEMBERS[1]
    expected = [ident(u.cluster_id) for u in unions if member in u.members]
    assert len(expected) > 10 * 2
    tiny_pages = OaiProvider(store, oai_settings(store, oai_page_size=2))    # EXISTS
    one_page = OaiProvider(store, oai_settings(store, oai_page_size=100))    # join
    for provider in (tiny_pages, one_page):
        got = await walk(provider, "ListIdentifiers", metadataPrefix="oai_dc",
                         set=member_set_spec(member))
        assert got == expected          # in datestamp order, which is id order here
    window = {"from": (BASE + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "until": (BASE + timedelta(seconds=6)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    narrow = await walk(tiny_pages, "ListRecords", metadataPrefix="marc21", set="format",
                        **window)
    assert narrow == [ident(i) for i in range(9, 29)]   # seconds 2..6, four clusters each


async def test_list_sets_names_registered_members(client, store):
    async with store.begin() as conn:
        await conn.execute(sa.insert(members).values(
            code="SE-LNU", name="Linnaeus\x07 University Library", created_at=BASE,
            updated_at=BASE))
    root = await oai_get(client, verb="ListSets")
    names = {s.findtext(f"{NS}setSpec"): s.findtext(f"{NS}setName")
             for s in root.iter(f"{NS}set")}
    # the control character a member's name came with is dropped, not a 500
    assert names[member_set_spec("SE-LNU")] == "Held by Linnaeus University Library (SE-LNU)"
    assert names[member_set_spec("US-DLC")] == "Held by member US-DLC"


async def test_pages_are_compressed_when_the_harvester_asks(client):
    params = {"verb": "ListRecords", "metadataPrefix": "marc21"}
    packed = await client.get("/oai", params=params, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    validate_oai(await packed.read())            # aiohttp's client inflates it
    plain = await client.get("/oai", params=params, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers


def test_cli_refreshes_sets_and_hides_the_token_key(tmp_path):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    done = runner.invoke(main, ["oai", "refresh-sets", "--db", db], catch_exceptions=False)
    assert done.exit_code == 0 and "sets refreshed for 0 clusters" in done.output
    shown = runner.invoke(main, ["settings", "--json", "--db", db],
                          env={"LIBGATE_OAI_TOKEN_KEY": "t" * 40}, catch_exceptions=False)
    values = {row["name"]: row["value"] for row in json.loads(shown.stdout)}
    assert values["oai_token_key"] == "***" and "t" * 40 not in shown.output
