"""MARC ingest on real data, on both backends: nothing silently lost, idempotent, --replace."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pymarc
import pytest
import sqlalchemy as sa
from aiohttp import web
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from gateway import catalogue, registry
from gateway.ingest import ingest, process_raw
from gateway.store.records import IncomingRecord, QuarantineEntry
from gateway.store.schema import match_keys, quarantine, records
from protocols.marc import MarcStreamReader
from tests.gateway.harvest_helpers import mmap_size, mmap_sizes_seen
from tests.shared_data import DATA, require_shared

MARC_SUFFIXES = {".mrc", ".dat", ".marc", ".xml", ""}
RECORD_START = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?record[\s>/]")


def marc_files() -> list[Path]:
    root = DATA / "marc"
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in MARC_SUFFIXES)


def records_held(data: bytes) -> int:
    """What the file holds: record terminators (ISO 2709) or record elements (MARCXML)."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if b"<" in head[:200] and (head[:1] == b"<" or b"<?xml" in head[:200]):
        return len(RECORD_START.findall(data))
    return data.count(b"\x1d")


def pymarc_permissive(data: bytes) -> int:
    """Records pymarc decodes when the stream is split on 0x1D (utf8_handling=replace)."""
    decoded = 0
    for chunk in data.split(b"\x1d")[:-1]:
        try:
            pymarc.Record(chunk.lstrip(b"\r\n ") + b"\x1d", utf8_handling="replace")
            decoded += 1
        except Exception:  # noqa: BLE001 - counting what pymarc can do, whatever it raises
            pass
    return decoded


async def test_every_shared_marc_file_is_stored_or_quarantined(store):
    require_shared("data", "marc")
    files = marc_files()
    assert len(files) > 200
    for n, path in enumerate(files):
        code = f"US-F{n:03d}"
        await registry.add_member(store, code, path.name)
        data = path.read_bytes()
        report = await ingest(store, code, str(path))
        held = records_held(data)
        quarantined_records = report.quarantined - (1 if report.trailer_bytes else 0)
        stored = report.added + report.updated + report.unchanged
        assert stored + quarantined_records == held, (path, report)
        assert report.records_read == held, path
        if not data.lstrip()[:1] == b"<":
            assert stored >= pymarc_permissive(data), path
    stats = await catalogue.stats(store)
    assert stats["records"] + stats["quarantined"] >= 2636


async def _member_with(store, code: str = "US-DLC") -> str:
    await registry.add_member(store, code, "Test library")
    return code


async def test_reingest_changes_nothing(store):
    path = require_shared("data", "marc", "evergreen", "lul_fre_100.mrc")
    code = await _member_with(store)
    first = await ingest(store, code, str(path))
    assert (first.added, first.quarantined) == (100, 0)
    async with store.connect() as conn:
        before = (await conn.execute(sa.select(records.c.id, records.c.updated_at)
                                     .order_by(records.c.id))).all()
    second = await ingest(store, code, str(path))
    assert (second.added, second.updated, second.unchanged) == (0, 0, 100)
    async with store.connect() as conn:
        after = (await conn.execute(sa.select(records.c.id, records.c.updated_at)
                                    .order_by(records.c.id))).all()
    assert before == after


async def test_marc8_titles_are_pymarcs_unicode(store):
    path = require_shared("data", "marc", "evergreen", "lul_fre_100.mrc")
    code = await _member_with(store)
    await ingest(store, code, str(path))
    with path.open("rb") as handle:
        # the normalizer gives composed Unicode (NFC); pymarc's MARC-8 conversion is decomposed
        expected = sorted(unicodedata.normalize("NFC", r["245"]["a"]).rstrip(" /:;,.").strip()
                          for r in pymarc.MARCReader(handle))
    async with store.connect() as conn:
        titles = sorted((await conn.execute(sa.select(records.c.title))).scalars())
    assert titles == expected
    assert sum(any(ord(c) > 127 for c in t) for t in titles) > 10   # accents came through


async def test_leader_claiming_marc8_over_utf8_comes_out_right(store):
    path = require_shared("data", "marc", "evergreen", "map_data.mrc")
    code = await _member_with(store)
    report = await ingest(store, code, str(path))
    assert report.added == 3
    async with store.connect() as conn:
        normalized = (await conn.execute(sa.select(records.c.normalized))).scalars().all()
    text = repr(normalized)
    assert "Ã" not in text and "\ufffd" not in text
    assert all(any("UTF-8" in r for r in n["repairs"]) for n in normalized)


async def test_a_reader_bug_costs_its_record_only_and_keeps_its_bytes(store, monkeypatch):
    """An exception the reader did not foresee quarantines that record (reason
    ``reader-bug``, where it happened, its raw bytes) and the ingest goes on."""
    import gateway.ingest as ingest_module
    path = require_shared("data", "marc", "folio", "100.mrc")
    code = await _member_with(store)
    real = ingest_module.process_raw

    def buggy(raw):
        if raw.position == 3:
            raise KeyError("surprise")
        return real(raw)
    monkeypatch.setattr(ingest_module, "process_raw", buggy)
    report = await ingest(store, code, str(path), batch_size=10)
    assert report.status == "succeeded"
    assert (report.records_read, report.added, report.quarantined) == (100, 99, 1)
    async with store.connect() as conn:
        entry = (await conn.execute(sa.select(quarantine))).one()
    assert entry.reason == "reader-bug" and entry.position == 3
    assert entry.detail.startswith("KeyError: 'surprise' (at test_ingest.py:")
    chunk = path.read_bytes().split(b"\x1d")[2] + b"\x1d"
    assert entry.raw == chunk


async def _stored(store, code: str) -> dict:
    """What an ingest left of member ``code``: records, keys and quarantine, by local id."""
    async with store.connect() as conn:
        rows = (await conn.execute(sa.select(records.c.id, records.c.local_id,
                                             records.c.normalized, records.c.raw,
                                             records.c.content_hash))).all()
        keys = (await conn.execute(sa.select(match_keys.c.record_id, match_keys.c.kind,
                                             match_keys.c.value))).all()
        held = (await conn.execute(sa.select(quarantine.c.position, quarantine.c.reason,
                                             quarantine.c.raw))).all()
    local = {r.id: r.local_id for r in rows}
    return {"records": sorted((r.local_id, r.content_hash, r.raw, str(r.normalized))
                              for r in rows),
            "keys": sorted((local[k.record_id], k.kind, k.value) for k in keys),
            "quarantine": sorted((q.position, q.reason, q.raw) for q in held)}


async def test_batches_converted_in_a_worker_process_store_the_same(store, tmp_path):
    """`libgate ingest` converts batches in ``harvest_workers`` processes while it writes the
    ones before: records, match keys and quarantine (a bad trailer here) come out the same
    as converted in-process, whatever the batch boundaries."""
    data = b"".join(require_shared("data", "marc", *name.split("/")).read_bytes()
                    for name in ("folio/100.mrc", "marc4j/008008027.mrc"))
    path = tmp_path / "mixed.mrc"
    path.write_bytes(data)
    code = await _member_with(store)
    here = await ingest(store, code, str(path), batch_size=7, workers=0)
    in_process = await _stored(store, code)
    await registry.remove_member(store, code)
    code = await _member_with(store)
    there = await ingest(store, code, str(path), batch_size=7, workers=1)
    assert (there.added, there.quarantined, there.trailer_bytes) == (
        here.added, here.quarantined, here.trailer_bytes)
    assert here.added > 90 and here.quarantined == 1
    assert await _stored(store, code) == in_process


async def test_quarantine_keeps_member_position_reason_and_raw_bytes(store):
    path = require_shared("data", "marc", "marc4j", "008008027.mrc")
    code = await _member_with(store)
    report = await ingest(store, code, str(path))
    assert report.trailer_bytes > 0 and report.quarantined == 1
    listing = await catalogue.quarantine_list(store, code, with_raw=True)
    [entry] = listing["entries"]
    assert entry["member"] == code and entry["reason"] == "unterminated-trailer"
    data = path.read_bytes()
    async with store.connect() as conn:
        raw = await conn.scalar(sa.select(quarantine.c.raw))
    assert data.endswith(raw) and len(raw) == report.trailer_bytes


async def test_replace_marks_absent_records_deleted_but_never_on_empty(store, tmp_path):
    source = require_shared("data", "marc", "folio", "100.mrc")
    code = await _member_with(store)
    await ingest(store, code, str(source))
    chunks = source.read_bytes().split(b"\x1d")[:-1]
    subset = tmp_path / "subset.mrc"
    subset.write_bytes(b"".join(c + b"\x1d" for c in chunks[:60]))
    report = await ingest(store, code, str(subset), replace=True)
    assert (report.unchanged, report.deleted) == (60, 40)
    empty = tmp_path / "empty.mrc"
    empty.write_bytes(b"")
    nothing = await ingest(store, code, str(empty), replace=True)
    assert nothing.deleted == 0
    stats = await catalogue.stats(store)
    assert (stats["records"], stats["deleted"]) == (60, 40)
    back = await ingest(store, code, str(source))
    assert back.updated == 40                          # deleted records come back


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)   # the memory map is SQLite's
async def test_batches_are_written_unmapped_even_when_one_fails(store, monkeypatch):
    """Ingest batches read SQLite through the page cache (see gateway.store.engine.unmapped);
    the connection gets its memory map back afterwards, also when a batch fails."""
    import gateway.ingest as ingest_module
    code = await _member_with(store)
    source = str(require_shared("data", "marc", "folio", "100.mrc"))
    during = mmap_sizes_seen(monkeypatch, ingest_module)
    mapped = await mmap_size(store)
    assert mapped > 0
    await ingest(store, code, source)
    assert during and set(during) == {0}
    assert await mmap_size(store) == mapped

    async def failing(conn, *args, **kwargs):
        raise RuntimeError("batch failed")
    monkeypatch.setattr(ingest_module, "upsert_batch", failing)
    with pytest.raises(RuntimeError, match="batch failed"):
        await ingest(store, code, source)
    assert await mmap_size(store) == mapped


async def test_repeated_001_in_one_file_is_kept_under_a_new_id(store, tmp_path):
    source = require_shared("data", "marc", "folio", "100.mrc")
    one = source.read_bytes().split(b"\x1d")[0] + b"\x1d"
    twice = tmp_path / "twice.mrc"
    twice.write_bytes(one + one.replace(b"Sonata", b"SONATA", 1) + one)
    code = await _member_with(store)
    report = await ingest(store, code, str(twice))
    assert report.added == 3 and len(report.renamed) == 2
    again = await ingest(store, code, str(twice))
    assert (again.added, again.unchanged) == (0, 3)


async def test_ingest_from_a_url_streams_the_same(store, aiohttp_server):
    source = require_shared("data", "marc", "marc4j", "chabon.xml")

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=source.read_bytes(), content_type="application/xml")
    app = web.Application()
    app.router.add_get("/export.xml", handler)
    server = await aiohttp_server(app)
    code = await _member_with(store)
    report = await ingest(store, code, str(server.make_url("/export.xml")))
    assert report.added == records_held(source.read_bytes()) == 2


async def test_unreadable_source_fails_with_its_name(store, tmp_path):
    from connectors.errors import ConnectorError
    code = await _member_with(store)
    with pytest.raises(ConnectorError, match="nowhere.mrc"):
        await ingest(store, code, str(tmp_path / "nowhere.mrc"))


def _real_records() -> list[bytes]:
    path = DATA / "marc" / "folio" / "100.mrc"
    if not path.exists():
        return [b"00026nam a2200025 a 4500\x1e\x1d"]
    return [c + b"\x1d" for c in path.read_bytes().split(b"\x1d")[:20]]


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.binary(max_size=600),
    st.builds(lambda rec, cut, junk: rec[:cut] + junk + rec[cut:],
              st.sampled_from(_real_records()), st.integers(0, 400), st.binary(max_size=8)),
    st.builds(lambda rec, n: rec[:n], st.sampled_from(_real_records()), st.integers(0, 3000)),
))
def test_any_bytes_give_a_record_or_a_quarantine_entry(data):
    reader = MarcStreamReader()
    for raw in [*reader.feed(data), *reader.close()]:
        outcome = process_raw(raw)
        assert isinstance(outcome, IncomingRecord | QuarantineEntry)
        if isinstance(outcome, QuarantineEntry):
            assert outcome.raw == raw.data and outcome.reason
