"""Full garbage collections are rarer while records are harvested or ingested
(gateway.garbage_collection), and the process's thresholds come back afterwards."""

from __future__ import annotations

import gc

import pytest

from gateway import registry
from gateway.garbage_collection import FULL_COLLECTION_EVERY, fewer_full_collections
from gateway.ingest import ingest
from gateway.workers import spawn_pool
from tests.fakes.fake_member import FakeMember
from tests.gateway.harvest_helpers import harvest, real_fake_records, seen_at_each_batch
from tests.shared_data import require_shared


@pytest.fixture
def default_thresholds():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)                 # CPython's own
    yield (700, 10, 10)
    gc.set_threshold(*before)


def oldest_thresholds_seen(monkeypatch, module) -> list[int]:
    """The oldest generation's threshold at each batch ``module`` writes."""
    return seen_at_each_batch(monkeypatch, module, lambda _conn: gc.get_threshold()[2])


def test_overlapping_holders_keep_the_setting_until_the_last_ends(default_thresholds):
    first, second = fewer_full_collections(), fewer_full_collections()
    first.__enter__()
    assert gc.get_threshold() == (700, 10, FULL_COLLECTION_EVERY)
    second.__enter__()
    first.__exit__(None, None, None)               # two harvests: the first ends first
    assert gc.get_threshold() == (700, 10, FULL_COLLECTION_EVERY)
    second.__exit__(None, None, None)
    assert gc.get_threshold() == default_thresholds


def test_the_thresholds_come_back_when_the_block_fails(default_thresholds):
    with pytest.raises(RuntimeError), fewer_full_collections():
        raise RuntimeError("a failed harvest")
    assert gc.get_threshold() == default_thresholds


async def test_an_ingest_writes_its_batches_with_rare_full_collections(
        store, monkeypatch, default_thresholds):
    import gateway.ingest as ingest_module
    seen = oldest_thresholds_seen(monkeypatch, ingest_module)
    await registry.add_member(store, "US-GC", "GC library")
    await ingest(store, "US-GC", str(require_shared("data", "marc", "folio", "100.mrc")))
    assert seen and set(seen) == {FULL_COLLECTION_EVERY}
    assert gc.get_threshold() == default_thresholds


async def test_a_harvest_commits_its_pages_with_rare_full_collections(
        store, settings, monkeypatch, default_thresholds):
    import gateway.harvest.base as base
    seen = oldest_thresholds_seen(monkeypatch, base)
    async with FakeMember(real_fake_records(25), page_size=10) as member:
        report = await harvest(store, settings, member.url)
    assert report.status == "succeeded", report.error
    assert seen == [FULL_COLLECTION_EVERY] * 3
    assert gc.get_threshold() == default_thresholds


def test_a_conversion_worker_collects_its_oldest_generation_rarely_for_life():
    pool = spawn_pool(1)
    try:
        assert pool.submit(gc.get_threshold).result(timeout=60)[2] == FULL_COLLECTION_EVERY
    finally:
        pool.shutdown()
