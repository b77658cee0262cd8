"""Harvest fault scenarios against the fake member: each asserts the exact records stored."""

from __future__ import annotations

import pytest

from tests.fakes.fake_member import FakeMember, FakeRecord
from tests.gateway.harvest_helpers import (
    harvest, mmap_size, mmap_sizes_seen, real_fake_records, stored, stored_titles,
)
from tests.shared_data import require_shared


@pytest.fixture(scope="module")
def source() -> list[FakeRecord]:
    require_shared()
    return real_fake_records(35)


def ids(records: list[FakeRecord]) -> set[str]:
    return {r.identifier for r in records}


async def test_plain_harvest_stores_every_record(store, settings, source):
    async with FakeMember(list(source), page_size=10) as member:
        report = await harvest(store, settings, member.url)
    assert report.status == "succeeded", report.error
    assert (report.pages, report.added, report.retries) == (4, 35, 0)
    assert await stored(store) == {i: False for i in ids(source)}
    assert report.response_date == "2026-11-20T02:00:00Z"


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)   # the memory map is SQLite's
async def test_pages_are_committed_unmapped_and_the_map_comes_back(store, settings, source,
                                                                  monkeypatch):
    """A page's reads go through SQLite's page cache: through the memory map every page a
    harvest read stayed in the harvesting process's resident set (573 MB at 200,000
    records, over the 300 MB a harvest may take). Searches keep the map afterwards."""
    import gateway.harvest.base as base
    during = mmap_sizes_seen(monkeypatch, base)
    mapped = await mmap_size(store)
    assert mapped > 0            # SQLITE_MMAP_BYTES, capped by SQLite's compile-time limit
    async with FakeMember(list(source), page_size=10) as member:
        report = await harvest(store, settings, member.url)
    assert report.status == "succeeded", report.error
    assert during == [0, 0, 0, 0]
    assert await mmap_size(store) == mapped


@pytest.mark.parametrize(("scenario", "expected_waits"), [
    ("503-storm", [2.0, 2.0, 2.0]),        # Retry-After in seconds
    ("429", [1.0, 1.0, 1.0]),
])
async def test_retry_after_in_seconds_is_honoured(store, settings, source, scenario,
                                                  expected_waits):
    waits: list[float] = []
    async with FakeMember(list(source), scenario=scenario) as member:
        report = await harvest(store, settings, member.url, waits=waits)
    assert report.status == "succeeded", report.error
    assert waits == expected_waits
    assert report.retries == 3
    assert set(await stored(store)) == ids(source)


async def test_worker_process_conversion_stores_the_same(store, settings, source):
    """Pages parsed and normalized in a worker process give exactly the in-process result."""
    from config.settings import load_settings
    pooled = load_settings(None, {**settings.values, "harvest_workers": 1}, environ={})
    async with FakeMember(list(source), page_size=7, scenario="bad-token-at-2") as member:
        report = await harvest(store, pooled, member.url)
    assert report.status == "succeeded", report.error
    assert (report.pages, report.added, report.restarts) == (6, 35, 1)   # page 1 twice
    async with FakeMember(list(source), page_size=7) as member:
        reference = await clean_titles(member.url)
    assert await stored_titles(store) == reference


async def test_retry_after_as_http_date_is_honoured(store, settings, source):
    waits: list[float] = []
    async with FakeMember(list(source), scenario="503-storm-date") as member:
        report = await harvest(store, settings, member.url, waits=waits)
    assert report.status == "succeeded", report.error
    assert len(waits) == 3 and all(0.5 <= w <= 3.5 for w in waits), waits
    assert set(await stored(store)) == ids(source)


@pytest.mark.parametrize("scenario", ["reset-mid-body", "truncated-body"])
async def test_broken_bodies_are_retried_with_backoff(store, settings, source, scenario):
    waits: list[float] = []
    async with FakeMember(list(source), scenario=scenario) as member:
        report = await harvest(store, settings, member.url, waits=waits)
    assert report.status == "succeeded", report.error
    assert report.retries == 3
    # capped exponential backoff with jitter: 1, 2, 4 s ± 25 %
    assert len(waits) == 3
    assert all(0.75 * base <= wait <= 1.25 * base for wait, base in zip(waits, [1, 2, 4]))
    assert set(await stored(store)) == ids(source)


async def test_too_many_failures_fail_the_member_with_the_cause(store, settings, source):
    async with FakeMember(list(source), scenario="503-storm", storm_length=50) as member:
        report = await harvest(store, settings, member.url, waits=[])
    assert report.status == "failed"
    assert "HTTP 503" in report.error and f"after {settings.retry_attempts} attempts" in report.error
    assert await stored(store) == {}


async def test_page_with_a_token_and_no_records_goes_on(store, settings, source):
    async with FakeMember(list(source), scenario="empty-first-page") as member:
        report = await harvest(store, settings, member.url)
    assert report.status == "succeeded", report.error
    assert (report.pages, report.added) == (5, 35)
    assert set(await stored(store)) == ids(source)


async def test_repeated_token_stops_the_member(store, settings, source):
    async with FakeMember(list(source), scenario="token-loop") as member:
        report = await harvest(store, settings, member.url)
    assert report.status == "failed"
    assert "repeated resumption token '10|'" in report.error
    assert set(await stored(store)) == {r.identifier for r in source[:10]}


async def test_bad_resumption_token_restarts_the_window(store, settings, source):
    async with FakeMember(list(source), scenario="bad-token-at-2") as member:
        report = await harvest(store, settings, member.url)
    assert report.status == "succeeded", report.error
    assert report.restarts == 1
    assert report.added == 35 and report.unchanged == 10   # page 1 fetched twice, stored once
    assert set(await stored(store)) == ids(source)


async def test_huge_page_parses(store, settings, source):
    many = [FakeRecord(f"oai:fake:big{n:06d}", r.datestamp, r.metadata)
            for n, r in enumerate(source * 300)]                 # ≥ 20 MB in one page
    async with FakeMember(many, scenario="huge-page") as member:
        report = await harvest(store, settings, member.url)
    assert report.status == "succeeded", report.error
    assert (report.pages, report.added) == (1, len(many))


@pytest.mark.parametrize("scenario", ["undeclared-gzip", "invalid-xml-chars"])
async def test_dirty_transport_and_characters_are_repaired(store, settings, source, scenario):
    async with FakeMember(list(source), scenario=scenario) as member:
        report = await harvest(store, settings, member.url)
    assert report.status == "succeeded", report.error
    assert await stored(store) == {i: False for i in ids(source)}


async def test_latin1_bytes_declared_utf8_are_redecoded(store, settings):
    require_shared()
    # French pre-1923 books: titles with é, è, à — all within Latin-1
    french = [r for r in real_fake_records(100, "marc/evergreen/lul_fre_100.mrc", nfc=True)
              if all(ord(c) < 256 for c in r.metadata)]
    accented = [r for r in french if any(ord(c) > 127 for c in r.metadata)]
    assert len(accented) > 5
    async with FakeMember(french, scenario="latin1-as-utf8") as member:
        report = await harvest(store, settings, member.url)
    assert report.status == "succeeded", report.error
    assert set(await stored(store)) == ids(french)
    async with FakeMember(french) as clean:      # the same records sent correctly, elsewhere
        reference = await clean_titles(clean.url)
    assert await stored_titles(store) == reference


async def clean_titles(url: str) -> dict[str, str | None]:
    """Titles of a correct harvest of ``url`` into a scratch SQLite store."""
    import tempfile

    from config.settings import load_settings
    from gateway.store import open_store
    with tempfile.TemporaryDirectory() as tmp:
        scratch = await open_store(f"sqlite:///{tmp}/clean.db")
        try:
            await harvest(scratch, load_settings(None, {"db": scratch.url,
                                                        "probe_endpoints": False}, environ={}),
                          url)
            return await stored_titles(scratch)
        finally:
            await scratch.close()


async def test_html_error_page_fails_loudly(store, settings, source):
    async with FakeMember(list(source), scenario="html-error-page") as member:
        report = await harvest(store, settings, member.url)
    assert report.status == "failed"
    assert "HarvestPageError" in report.error
    assert await stored(store) == {}


async def test_incremental_from_is_the_servers_response_date(store, settings, source):
    async with FakeMember(list(source), scenario="out-of-order") as member:
        first = await harvest(store, settings, member.url)
        assert first.status == "succeeded" and first.full
        changed = source[3]
        member.records[3] = FakeRecord(changed.identifier, "2026-11-21T10:00:00Z",
                                       changed.metadata.replace("</subfield>",
                                                                " (rev.)</subfield>", 1))
        member.response_date = "2026-11-22T02:00:00Z"
        member.requests.clear()
        second = await harvest(store, settings, member.url)
    assert second.status == "succeeded", second.error
    assert not second.full
    list_requests = [r for r in member.requests if r.get("verb") == "ListRecords"]
    # 2026-11-20T02:00:00Z minus the 120 s overlap, in the server's granularity
    assert list_requests[0]["from"] == "2026-11-20T01:58:00Z"
    assert (second.added, second.updated, second.records_read) == (0, 1, 1)


async def test_deleted_headers_become_tombstones(store, settings, source):
    async with FakeMember(list(source)) as member:
        await harvest(store, settings, member.url)
        for n in (0, 5):
            member.records[n] = FakeRecord(source[n].identifier, "2026-11-21T00:00:00Z", "",
                                           deleted=True)
        member.response_date = "2026-11-22T02:00:00Z"
        report = await harvest(store, settings, member.url)
    assert report.status == "succeeded", report.error
    assert report.deleted == 2
    state = await stored(store)
    assert {i for i, gone in state.items() if gone} == {source[0].identifier,
                                                        source[5].identifier}


async def test_deleted_record_no_diffs_a_full_harvest(store, settings, source):
    async with FakeMember(list(source), deleted_record="no") as member:
        await harvest(store, settings, member.url)
        del member.records[30:]
        report = await harvest(store, settings, member.url, full=True)
    assert report.status == "succeeded", report.error
    state = await stored(store)
    assert {i for i, gone in state.items() if gone} == ids(source[30:])
    assert report.deleted == 5


async def test_zero_record_full_harvest_deletes_nothing(store, settings, source):
    async with FakeMember(list(source), deleted_record="no") as member:
        await harvest(store, settings, member.url)
        member.records.clear()
        report = await harvest(store, settings, member.url, full=True)
    assert report.status == "succeeded", report.error
    assert report.records_read == 0
    assert await stored(store) == {i: False for i in ids(source)}
