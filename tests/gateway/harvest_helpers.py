"""Shared helpers of the harvest (and ingest) tests: real records for the fake member, a
harvest call, what the store's connections see."""

from __future__ import annotations

import inspect
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pymarc
from lxml import etree
import sqlalchemy as sa

from config.settings import Settings
from gateway import registry
from gateway.harvest.report import HarvestReport
from gateway.harvest.runner import Harvester, targets
from gateway.registry import EndpointSpec
from gateway.store import Store
from gateway.store.schema import records
from tests.fakes.fake_member import FakeRecord
from tests.shared_data import SHARED

MEMBER = "US-FAKE"


def real_fake_records(count: int = 35, source: str = "marc/folio/100.mrc",
                      nfc: bool = False) -> list[FakeRecord]:
    """Real records (FOLIO test data) as the fake member serves them, oldest first.

    ``nfc``: composed Unicode, as most OAI-PMH servers send it (pymarc's MARC-8 conversion
    gives combining marks)."""
    out = []
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with (SHARED / "data" / source).open("rb") as handle:
        for n, record in enumerate(pymarc.MARCReader(handle, to_unicode=True)):
            if n == count:
                break
            # pymarc writes non-ASCII as character references; servers send the characters
            xml = etree.tostring(etree.fromstring(pymarc.record_to_xml(record, namespace=True)),
                                 encoding="unicode")
            if nfc:
                xml = unicodedata.normalize("NFC", xml)
            stamp = (start + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
            out.append(FakeRecord(f"oai:fake:{n:05d}", stamp, xml))
    return out


async def register(store: Store, url: str, **spec: object) -> None:
    try:
        await registry.get_member(store, MEMBER)
    except registry.MemberNotFound:
        await registry.add_member(store, MEMBER, "Fake member library", endpoint_specs=[
            EndpointSpec("oai-pmh", url=url, metadata_prefix="marc21", **spec)])


async def harvest(store: Store, settings: Settings, url: str, *, full: bool = False,
                  waits: list[float] | None = None) -> HarvestReport:
    await register(store, url)

    async def record_wait(seconds: float) -> None:
        if waits is not None:
            waits.append(seconds)
    harvester = Harvester(store, settings, sleep=record_wait)
    [target] = await targets(store, [MEMBER])
    return await harvester.harvest(target, full=full)


async def stored(store: Store) -> dict[str, bool]:
    """local id → deleted, for every stored record."""
    async with store.connect() as conn:
        rows = (await conn.execute(sa.select(records.c.local_id, records.c.deleted))).all()
    return {r.local_id: bool(r.deleted) for r in rows}


async def stored_titles(store: Store) -> dict[str, str | None]:
    async with store.connect() as conn:
        rows = (await conn.execute(sa.select(records.c.local_id, records.c.title))).all()
    return {r.local_id: r.title for r in rows}


def seen_at_each_batch(monkeypatch, module, read: Callable[[Any], Any]) -> list[Any]:
    """Spy on ``module.upsert_batch`` (harvest pages and ingest batches write through it):
    what ``read(conn)`` gives (awaited if it must be) at each call."""
    seen: list[Any] = []
    upsert = module.upsert_batch

    async def spy(conn, *args, **kwargs):
        value = read(conn)
        seen.append(await value if inspect.isawaitable(value) else value)
        return await upsert(conn, *args, **kwargs)
    monkeypatch.setattr(module, "upsert_batch", spy)
    return seen


def mmap_sizes_seen(monkeypatch, module) -> list[int]:
    """The SQLite ``mmap_size`` of the connection of each batch ``module`` writes."""
    return seen_at_each_batch(monkeypatch, module,
                              lambda conn: conn.scalar(sa.text("PRAGMA mmap_size")))


async def mmap_size(store: Store) -> int:
    async with store.connect() as conn:
        return await conn.scalar(sa.text("PRAGMA mmap_size"))
