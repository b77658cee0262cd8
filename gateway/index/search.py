"""Search over the union index: keep the search rows of clusters current, and answer queries.

    await reindex_clusters(conn, [cluster ids])     after a cluster is created, changed, deleted
    result = await search(conn, parse_query("title:emma austen format:book"))

``reindex_clusters`` reads ``clusters.merged`` (a ``protocols.union.UnionRecord``) and rewrites
the cluster's rows in search_docs, cluster_identifiers, cluster_holders, cluster_languages and
the text index; a deleted or missing cluster loses them. The clustering engine calls it from
its change hook; ``rebuild_search_index`` does every cluster.

``search`` answers with one page of clusters, best first, their source records and holdings,
the total and the facets (format, decade, language, holding member, lendable) of every match
(of the first ``MATCH_WINDOW`` matches when there are more).
Text ranking is the database's (FTS5 bm25, PostgreSQL ts_rank) with title words above author
words above subjects; a query of only identifiers and filters lists the most widely held first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.index.search_sql import delete_text, insert_docs
from gateway.index.search_statements import QueryShape, parameters, statements
from gateway.store import Store
from gateway.store.schema import (
    cluster_holders, cluster_identifiers, cluster_languages, clusters, search_docs,
)
from protocols.search_query import SearchDocument, SearchQuery, search_document
from protocols.union import UnionRecord

__all__ = ["SearchHit", "SearchResult", "clear_search_index", "insert_documents",
           "rebuild_search_index", "reindex_clusters", "search", "search_store"]

REINDEX_CHUNK = 500
FACET_LIMIT = 30            # values shown per facet (languages and members can be many)
# Ranking, counting and faceting cost time in proportion to the matches: bm25 over the
# 85,000 matches of "history" in a million clusters takes most of a second. Beyond this many
# matches a result is ranked, counted and faceted over the first ones in cluster order.
MATCH_WINDOW = 5_000


# --- indexing ---------------------------------------------------------------------------------

async def reindex_clusters(conn: AsyncConnection, cluster_ids: Iterable[int], *,
                           merged: Mapping[int, UnionRecord] | None = None,
                           created: Collection[int] = ()) -> None:
    """Rewrite the search rows of these clusters from ``clusters.merged`` (in ``conn``'s
    transaction) — or from ``merged``, the live ones' merged records the caller just wrote.
    Deleted and unknown clusters end up with no search rows; ``created`` ones (made in this
    transaction) have none to remove."""
    ids = sorted(set(cluster_ids))
    merged = merged or {}
    for start in range(0, len(ids), REINDEX_CHUNK):
        chunk = ids[start:start + REINDEX_CHUNK]
        docs = [search_document(merged[cid]) for cid in chunk if cid in merged]
        unknown = [cid for cid in chunk if cid not in merged]
        if unknown:
            rows = await conn.execute(
                sa.select(clusters.c.id, clusters.c.merged)
                .where(clusters.c.id.in_(unknown), clusters.c.deleted.is_(False)))
            docs += [search_document(_union(row.id, row.merged)) for row in rows]
        await _replace(conn, [cid for cid in chunk if cid not in created], docs)


async def rebuild_search_index(conn: AsyncConnection, *, batch: int = 5000) -> int:
    """Index every live cluster from scratch; returns how many were indexed."""
    await clear_search_index(conn)
    done, last = 0, 0
    while True:
        rows = (await conn.execute(
            sa.select(clusters.c.id, clusters.c.merged)
            .where(clusters.c.id > last, clusters.c.deleted.is_(False))
            .order_by(clusters.c.id).limit(batch))).all()
        if not rows:
            return done
        await _insert(conn, [search_document(_union(r.id, r.merged)) for r in rows])
        done += len(rows)
        last = rows[-1].id


async def clear_search_index(conn: AsyncConnection) -> None:
    """Remove every search row (a rebuild then adds each live cluster's with insert_documents)."""
    for table in (cluster_languages, cluster_holders, cluster_identifiers, search_docs):
        await conn.execute(sa.delete(table))
    if conn.dialect.name == "sqlite":
        await conn.execute(sa.text("DELETE FROM search_fts"))


async def insert_documents(conn: AsyncConnection, docs: Sequence[SearchDocument]) -> None:
    """Add the search rows of ``docs``, whose clusters have none yet (a bulk rebuild)."""
    await _insert(conn, docs)


def _union(cluster_id: int, merged: dict[str, Any]) -> UnionRecord:
    union = UnionRecord.from_dict(merged)
    union.cluster_id = cluster_id           # the row is the authority on its own id
    return union


async def _replace(conn: AsyncConnection, stale: Sequence[int],
                   docs: Sequence[SearchDocument]) -> None:
    """Remove the search rows of ``stale`` clusters, add ``docs``."""
    if stale:
        for table in (cluster_languages, cluster_holders, cluster_identifiers, search_docs):
            await conn.execute(sa.delete(table).where(table.c.cluster_id.in_(stale)))
        await delete_text(conn, stale)
    await _insert(conn, docs)


async def _insert(conn: AsyncConnection, docs: Sequence[SearchDocument]) -> None:
    await insert_docs(conn, docs)
    identifiers = [{"cluster_id": d.cluster_id, "kind": k, "value": v}
                   for d in docs for k, v in d.identifiers]
    holders = [{"cluster_id": d.cluster_id, "member": m, "lendable": lends}
               for d in docs for m, lends in d.holders]
    languages = [{"cluster_id": d.cluster_id, "language": lang}
                 for d in docs for lang in d.languages]
    for table, rows in ((cluster_identifiers, identifiers), (cluster_holders, holders),
                        (cluster_languages, languages)):
        if rows:
            await conn.execute(sa.insert(table), rows)


# --- searching --------------------------------------------------------------------------------

@dataclass(slots=True)
class SearchHit:
    cluster_id: int
    score: float
    record: UnionRecord

    def to_dict(self) -> dict[str, Any]:
        r = self.record
        return {
            "cluster": self.cluster_id, "score": round(self.score, 6), "title": r.title,
            "subtitle": r.subtitle, "authors": r.authors, "year": r.year, "format": r.format,
            "languages": r.languages, "publisher": r.publisher, "isbns": r.isbns,
            "issns": r.issns, "oclc_numbers": r.oclc_numbers, "subjects": r.subjects,
            "members": r.members, "lendable_members": r.lendable_members,
            "records": [_plain(s) for s in r.sources],
            "holdings": [_plain(h) for h in r.holdings],
        }


def _plain(item: Any) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__slots__}


@dataclass(slots=True)
class SearchResult:
    query: SearchQuery
    total: int
    hits: list[SearchHit]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    total_exact: bool = True         # False: more than MATCH_WINDOW matches (total is that)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query.text, "total": self.total, "page": self.query.page,
            "limit": self.query.limit, "results": [h.to_dict() for h in self.hits],
            "facets": {name: [{"value": v, "count": n} for v, n in values]
                       for name, values in self.facets.items()},
            "total_exact": self.total_exact,
        }


async def search(conn: AsyncConnection, query: SearchQuery) -> SearchResult:
    """One page of matching clusters, best first, with the total and (``query.facets``) facets.

    A query matching more than ``MATCH_WINDOW`` clusters is answered from the first
    ``MATCH_WINDOW`` in cluster order: ranked among them, faceted over them, and its total is
    ``MATCH_WINDOW`` with ``total_exact`` false.
    """
    dialect = conn.dialect.name
    sql = statements(QueryShape.of(dialect, query))
    values = parameters(dialect, query, window=MATCH_WINDOW)
    rows = (await conn.execute(sql.page, values)).all()
    hits = [SearchHit(row.cluster_id, float(row.rank or 0), _union(row.cluster_id, row.merged))
            for row in rows]
    facets: dict[str, list[tuple[str, int]]] = {}
    if query.offset == 0 and len(hits) < query.limit:
        # every match is on this page (an ISBN lookup, a precise title): count them here
        if query.facets:
            facets = _facets_of(search_document(h.record) for h in hits)
        return SearchResult(query=query, total=len(hits), hits=hits, facets=facets)
    if query.facets:
        facets, total = _counted_facets(*(await conn.execute(sql.facets, values)).one())
    if not query.facets or total == MATCH_WINDOW:
        # is there more than the window? count one past it, no further
        total = (await conn.execute(sql.count, values)).scalar_one()
    exact = total <= MATCH_WINDOW
    return SearchResult(query=query, total=min(total, MATCH_WINDOW), hits=hits, facets=facets,
                        total_exact=exact)


def _counted_facets(matches: int, formats: str | None, years: str | None,
                    lendable: int | None, languages: str | None, holders: str | None,
                    ) -> tuple[dict[str, list[tuple[str, int]]], int]:
    """The facets of the window from the facets statement's row, and how many matches
    there were.

    The database joins the window's formats, years, languages and holders into one string
    each; they are split and counted here by ``Counter``. Handing the window's rows to Python
    one by one cost more than finding them (bench/search.py, a million clusters: facet pass
    p95 33 -> 17 ms); a GROUP BY per facet over the window costs the database a sort each
    (p95 26 ms in the same run). A narrow table of precomputed facet tokens per cluster
    ("f:book d:1990 g:eng m:XX-M03") was larger than search_docs and left more tokens to
    count (p95 22.0 against 20.4 ms for this, in another run).
    """
    lendable = lendable or 0
    decades: dict[str, int] = {}
    for year, n in Counter((years or "").split()).items():
        _bump(decades, str(int(year) // 10 * 10), n)
    counts = {"format": Counter((formats or "").split()), "decade": decades,
              "lendable": {name: n for name, n in (("true", lendable),
                                                   ("false", matches - lendable)) if n},
              "language": Counter((languages or "").split()),
              "member": Counter((holders or "").split())}
    return _sorted_facets(counts), matches


def _facets_of(docs: Iterable[SearchDocument]) -> dict[str, list[tuple[str, int]]]:
    """The same facets as _facets, counted from documents in hand."""
    counts: dict[str, dict[str, int]] = {"format": {}, "decade": {}, "lendable": {},
                                         "language": {}, "member": {}}
    for doc in docs:
        _bump(counts["format"], doc.format, 1)
        if doc.year is not None:
            _bump(counts["decade"], str(doc.year // 10 * 10), 1)
        _bump(counts["lendable"], "true" if doc.lendable else "false", 1)
        for language in doc.languages:
            _bump(counts["language"], language, 1)
        for member, _lends in doc.holders:
            _bump(counts["member"], member, 1)
    return _sorted_facets(counts)


def _sorted_facets(counts: Mapping[str, Mapping[str, int]]) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for name, values in counts.items():
        if name == "decade":
            out[name] = sorted(values.items(), key=lambda v: -int(v[0]))
        else:
            out[name] = sorted(values.items(), key=lambda v: (-v[1], v[0]))[:FACET_LIMIT]
    return out


def _bump(counter: dict[str, int], key: str, n: int) -> None:
    counter[key] = counter.get(key, 0) + n


async def search_store(store: Store, query: SearchQuery) -> SearchResult:
    """``search`` on a connection of its own (the API's and the CLI's entry point)."""
    async with store.connect() as conn:
        return await search(conn, query)
