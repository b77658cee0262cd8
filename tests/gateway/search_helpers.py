"""Union records built from real MARC records, stored as clusters and indexed for search.

The clustering engine is another piece of work; these tests stand in for it with the simplest
rule that real data needs: records of one file that share their first ISBN form one cluster,
the first record giving the fields, every record a source and its holdings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa

from gateway.index.search import reindex_clusters
from gateway.ingest import process_raw
from gateway.store import Store
from gateway.store.records import IncomingRecord
from gateway.store.schema import clusters
from protocols.marc import read_records
from protocols.records import NormalizedRecord
from protocols.union import SourceRef, UnionHolding, UnionRecord
from tests.shared_data import require_shared

# (file under shared/data/marc, the member that "holds" it)
PRIDE = ("marc4j/pride-and-prejudice-fixed.mrc", "GB-UkPP")
LAVAL = ("evergreen/lul_fre_100.mrc", "CA-QQLA")


def read_normalized(path: str) -> list[NormalizedRecord]:
    data = require_shared("data", "marc", *path.split("/")).read_bytes()
    out = []
    for raw in read_records(data):
        result = process_raw(raw)
        if isinstance(result, IncomingRecord) \
                and result.normalized.record_type == "bibliographic":
            out.append(result.normalized)
    return out


@dataclass
class Corpus:
    """The union records of a test, by cluster id."""

    unions: dict[int, UnionRecord] = field(default_factory=dict)

    def add_file(self, path: str, member: str, *, second_member: str | None = None) -> None:
        """Cluster a file's records by first ISBN; with ``second_member``, every other record
        is that member's, so clusters have holdings at two institutions."""
        by_isbn: dict[str, UnionRecord] = {}
        for n, rec in enumerate(read_normalized(path)):
            holder = second_member if second_member and n % 2 else member
            union = by_isbn.get(rec.isbns[0]) if rec.isbns else None
            if union is None:
                union = self._new_union(rec)
                if rec.isbns:
                    by_isbn[rec.isbns[0]] = union
            _attach(union, rec, holder, record_id=len(self.unions) * 10 + n)

    def _new_union(self, rec: NormalizedRecord) -> UnionRecord:
        cluster_id = len(self.unions) + 1
        union = UnionRecord(
            cluster_id=cluster_id, title=rec.title, subtitle=rec.subtitle,
            responsibility=rec.responsibility, authors=list(rec.authors),
            corporate_authors=list(rec.corporate_authors), issns=list(rec.issns),
            oclc_numbers=list(rec.oclc_numbers), publisher=rec.publisher, year=rec.year,
            edition=rec.edition, languages=list(rec.languages), format=rec.format,
            series=list(rec.series), subjects=list(rec.subjects))
        self.unions[cluster_id] = union
        return union


def _attach(union: UnionRecord, rec: NormalizedRecord, member: str, record_id: int) -> None:
    union.sources.append(SourceRef(record_id=record_id, member=member, local_id=rec.local_id,
                                   rule=None if not union.sources else "isbn"))
    union.isbns.extend(i for i in rec.isbns if i not in union.isbns)
    union.holdings.extend(
        UnionHolding(member=member, local_id=rec.local_id, location=h.location,
                     call_number=h.call_number, lendable=h.lendable, barcode=h.barcode)
        for h in rec.holdings)


def cluster_row(union: UnionRecord, *, deleted: bool = False) -> dict:
    now = datetime.now(timezone.utc)
    return {"id": union.cluster_id, "deleted": deleted, "record_count": len(union.sources),
            "title": union.title, "year": union.year, "format": union.format,
            "merged": union.to_dict(), "created_at": now, "updated_at": now}


async def store_clusters(store: Store, unions: Iterable[UnionRecord]) -> None:
    """Insert the clusters and index them, the way the clustering engine's hook does."""
    rows = [cluster_row(u) for u in unions]
    async with store.begin() as conn:
        await conn.execute(sa.insert(clusters), rows)
        await reindex_clusters(conn, [r["id"] for r in rows])


async def update_cluster(store: Store, union: UnionRecord, *, deleted: bool = False) -> None:
    row = cluster_row(union, deleted=deleted)
    async with store.begin() as conn:
        await conn.execute(sa.update(clusters).where(clusters.c.id == union.cluster_id)
                           .values({k: v for k, v in row.items() if k != "id"}))
        await reindex_clusters(conn, [union.cluster_id])
