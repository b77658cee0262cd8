"""Writing member records: batched, idempotent upsert by (member, local id), with holdings.

Used by file ingest and by harvesting alike. A batch is one transaction's worth; the caller
owns the transaction (so a harvest can commit its checkpoint with the page's records).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.engine import DumpedJSON, dumps_json
from gateway.store.schema import holdings, quarantine, records
from protocols.matching.keys import Profile, profile_of, stored_profile
from protocols.records import NormalizedRecord

# Bump when the normalizer's output changes, so a re-ingest of unchanged bytes refreshes rows.
NORMALIZATION_VERSION = b"1"


@dataclass(slots=True)
class IncomingRecord:
    """A decoded, normalized record on its way into the store."""

    local_id: str
    normalized: NormalizedRecord | None
    raw: bytes
    raw_syntax: str                      # iso2709 | marcxml | oai_dc
    datestamp: str | None = None
    deleted: bool = False                # a tombstone (OAI-PMH deleted header)
    # dumps_json(normalized.to_dict()) when made ahead (a harvest worker does it off the
    # event loop's core); cleared whenever ``normalized`` changes
    normalized_json: str | None = None
    # the match profile, made ahead with the JSON (record id 0, member ""): the index fills
    # those in instead of profiling the record again; cleared with ``normalized_json``
    profile: Profile | None = None
    # ``stored_profile(profile)`` as the records.match_profile JSON, made with it
    profile_json: str | None = None

    def dump_normalized(self) -> None:
        """Serialize ``normalized`` now (in a worker), so storing it needs no JSON work."""
        if self.normalized is not None:
            self.normalized_json = dumps_json(self.normalized.to_dict())

    def prepare(self) -> None:
        """Everything the store and the index need made ahead, where the record was
        converted (a harvest or ingest worker): the JSON, and for a live bibliographic
        record its match profile — made from that JSON as the store will hand it back, as
        the index would make it (``load_profiles`` fills in record id and member) — and the
        profile's stored form (``records.match_profile``)."""
        self.dump_normalized()
        if self.clusterable:
            self.profile = profile_of(orjson.loads(self.normalized_json), record_id=0,
                                      member="", local_id=self.local_id)
            self.profile_json = dumps_json(stored_profile(self.profile))

    @property
    def clusterable(self) -> bool:
        """A live bibliographic record: the union index clusters it (and needs its profile)."""
        return (not self.deleted and self.normalized is not None
                and self.normalized.record_type == "bibliographic")

    @property
    def content_hash(self) -> str:
        return hashlib.sha1(NORMALIZATION_VERSION + b"\0" + self.raw).hexdigest()


@dataclass(frozen=True, slots=True)
class FreshRecord:
    """A live record as a batch just wrote it: ``normalized`` equals the stored JSON (it is
    that JSON parsed back) and its holdings are ``normalized["holdings"]``. The union index
    clusters a batch's records from these instead of reading them back."""

    member_id: int
    local_id: str
    normalized: dict[str, Any]
    created: bool = False       # inserted by this batch (not an update of a stored record)
    profile: Profile | None = None      # ``IncomingRecord.profile``, when made ahead


@dataclass(slots=True)
class QuarantineEntry:
    """A record that could not be read: kept with its raw bytes, never dropped."""

    position: int | None
    reason: str
    detail: str
    raw: bytes
    byte_offset: int | None = None
    local_id: str | None = None


@dataclass(slots=True)
class BatchCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    renamed: list[tuple[str, str]] = field(default_factory=list)   # (given id, stored id)
    # ids of the records added, changed, deleted or back again: what the union index re-clusters
    touched: list[int] = field(default_factory=list)
    fresh: dict[int, FreshRecord] = field(default_factory=dict)   # the live ones among them

    def add(self, other: BatchCounts) -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.renamed.extend(other.renamed)
        self.touched.extend(other.touched)
        self.fresh.update(other.fresh)


def _row(member_id: int, run_id: int | None, item: IncomingRecord, stamp: datetime,
         digest: str, endpoint_id: int | None) -> dict[str, Any]:
    norm = item.normalized
    if norm is not None and (item.normalized_json is None
                             or (item.profile is None and item.clusterable)):
        item.prepare()                # in this process: no worker made them ahead
    return {
        "member_id": member_id, "local_id": item.local_id, "endpoint_id": endpoint_id,
        "source_format": norm.source_format if norm else "marc21",
        "record_type": norm.record_type if norm else "bibliographic",
        "title": norm.title if norm else None, "year": norm.year if norm else None,
        "format": norm.format if norm else "other", "content_hash": digest,
        "normalized": DumpedJSON(item.normalized_json) if norm else {}, "raw": item.raw,
        "raw_syntax": item.raw_syntax, "deleted": item.deleted, "datestamp": item.datestamp,
        "last_run_id": run_id, "updated_at": stamp,
        "match_profile": item.profile_json,
    }


def _holding_rows(member_id: int, record_id: int, item: IncomingRecord) -> list[dict[str, Any]]:
    if item.normalized is None or item.deleted:
        return []
    return [{"record_id": record_id, "member_id": member_id, "location": h.location,
             "call_number": h.call_number, "lendable": h.lendable, "barcode": h.barcode,
             "note": h.note, "source": h.source} for h in item.normalized.holdings]


def _fresh(counts: BatchCounts, member_id: int, record_id: int, item: IncomingRecord, *,
           created: bool = False) -> None:
    if item.normalized is not None and not item.deleted:
        counts.fresh[record_id] = FreshRecord(member_id, item.local_id,
                                              orjson.loads(item.normalized_json), created,
                                              item.profile)


async def _existing(conn: AsyncConnection, member_id: int, local_ids: list[str]) -> dict[str, Any]:
    if not local_ids:
        return {}
    query = sa.select(records.c.id, records.c.local_id, records.c.content_hash,
                      records.c.last_run_id, records.c.deleted).where(
        (records.c.member_id == member_id) & records.c.local_id.in_(local_ids))
    return {r.local_id: r for r in (await conn.execute(query)).all()}


async def upsert_batch(conn: AsyncConnection, member_id: int, run_id: int | None,
                       items: list[IncomingRecord], *, endpoint_id: int | None = None,
                       rename_duplicates: bool = False) -> BatchCounts:
    """Insert new records, update changed ones, leave identical ones alone.

    ``rename_duplicates`` (file ingest): a local id met twice in one run is stored as
    ``id~2``, ``id~3``… so no record of the file is overwritten by its namesake. A harvest
    passes False: a later version of the same identifier replaces the earlier one.
    """
    counts = BatchCounts()
    stamp = datetime.now(UTC)
    existing = await _existing(conn, member_id, list({i.local_id for i in items}))
    seen: set[str] = set()
    final: dict[str, IncomingRecord] = {}
    for item in items:
        lid = item.local_id
        if rename_duplicates:
            n = 1
            while lid in seen or (lid in existing and existing[lid].last_run_id == run_id
                                  and run_id is not None):
                n += 1
                lid = f"{item.local_id}~{n}"
                if lid not in existing:
                    existing.update(await _existing(conn, member_id, [lid]))
            if lid != item.local_id:
                counts.renamed.append((item.local_id, lid))
                item.local_id = lid
                if item.normalized is not None:
                    item.normalized.local_id = lid
                    item.normalized_json = None
                    item.profile = item.profile_json = None
        seen.add(lid)
        final[lid] = item                 # harvest: the last version in a batch wins

    inserts: list[tuple[IncomingRecord, dict]] = []
    updates: list[tuple[int, IncomingRecord, dict]] = []
    touch: list[int] = []
    for lid, item in final.items():
        digest = item.content_hash
        old = existing.get(lid)
        if old is None:
            if item.deleted:
                continue                  # tombstone for a record we never had
            row = _row(member_id, run_id, item, stamp, digest, endpoint_id)
            row["created_at"] = stamp
            inserts.append((item, row))
        elif item.deleted:
            if not old.deleted:
                updates.append((old.id, item, {"deleted": True, "updated_at": stamp,
                                                "last_run_id": run_id,
                                                "datestamp": item.datestamp}))
                counts.deleted += 1
            else:
                touch.append(old.id)
        elif old.content_hash != digest or old.deleted:
            row = _row(member_id, run_id, item, stamp, digest, endpoint_id)
            updates.append((old.id, item, row))
            counts.updated += 1
        else:
            touch.append(old.id)
            counts.unchanged += 1

    holding_rows: list[dict[str, Any]] = []
    if inserts:
        # RETURNING without sort_by_parameter_order: SQLAlchemy then sends the rows as
        # multi-row INSERTs (one round trip a few hundred rows, not one a row) and the ids
        # are matched by local id, unique within the batch
        result = await conn.execute(records.insert().returning(records.c.id, records.c.local_id),
                                    [row for _, row in inserts])
        new_ids = {local_id: new_id for new_id, local_id in result.all()}
        for item, _ in inserts:
            new_id = new_ids[item.local_id]
            holding_rows.extend(_holding_rows(member_id, new_id, item))
            counts.touched.append(new_id)
            _fresh(counts, member_id, new_id, item, created=True)
        counts.added += len(inserts)
    if updates:
        # rows differ in their columns (tombstones set fewer): group by column set
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for record_id, item, values in updates:
            counts.touched.append(record_id)
            params = {**values, "_id": record_id}
            groups.setdefault(tuple(sorted(values)), []).append(params)
            if "raw" in values:
                holding_rows.extend(_holding_rows(member_id, record_id, item))
                _fresh(counts, member_id, record_id, item)
        for columns, params in groups.items():
            statement = records.update().where(records.c.id == sa.bindparam("_id")).values(
                {c: sa.bindparam(c) for c in columns})
            await conn.execute(statement, params)
        await conn.execute(holdings.delete().where(
            holdings.c.record_id.in_([record_id for record_id, _, _ in updates])))
    if holding_rows:
        await conn.execute(holdings.insert(), holding_rows)
    if touch and run_id is not None:
        await conn.execute(records.update().where(records.c.id.in_(touch))
                           .values(last_run_id=run_id))
    return counts


async def mark_absent_deleted(conn: AsyncConnection, member_id: int, run_id: int,
                              endpoint_id: int | None = None, *,
                              touched: list[int] | None = None) -> int:
    """Records this run did not see are marked deleted (``--replace``, deletedRecord=no diff).

    Only records from the same source count: the endpoint's, or (``endpoint_id`` None, a
    manual `libgate ingest`) those that came from no endpoint — so a member's OAI-PMH harvest
    never deletes what came from its MARC file, and vice versa. The ids of the records it
    deletes are appended to ``touched`` (for the union index).
    """
    stamp = datetime.now(UTC)
    scope = (records.c.member_id == member_id) & records.c.deleted.is_(False)
    scope &= (records.c.endpoint_id == endpoint_id if endpoint_id is not None
              else records.c.endpoint_id.is_(None))
    scope &= (records.c.last_run_id.is_(None)) | (records.c.last_run_id != run_id)
    if touched is not None:
        touched.extend((await conn.execute(sa.select(records.c.id).where(scope))).scalars())
    result = await conn.execute(records.update().where(scope).values(deleted=True,
                                                                     updated_at=stamp))
    await conn.execute(holdings.delete().where(holdings.c.record_id.in_(
        sa.select(records.c.id).where((records.c.member_id == member_id)
                                      & records.c.deleted.is_(True)))))
    return result.rowcount or 0


async def add_quarantine(conn: AsyncConnection, member_id: int, run_id: int | None,
                         source: str | None, entries: list[QuarantineEntry]) -> None:
    if not entries:
        return
    stamp = datetime.now(UTC)
    await conn.execute(quarantine.insert(), [
        {"member_id": member_id, "run_id": run_id, "source": source, "position": e.position,
         "byte_offset": e.byte_offset, "local_id": e.local_id, "reason": e.reason,
         "detail": e.detail, "raw": e.raw, "created_at": stamp} for e in entries])
