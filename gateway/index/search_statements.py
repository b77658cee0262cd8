"""The three statements of a search, built once per query shape and run with the query's values.

    sql = statements(QueryShape.of(dialect, query))
    values = parameters(dialect, query, window=MATCH_WINDOW)
    await conn.execute(sql.page, values)      # then sql.facets, sql.count

Building a SELECT in SQLAlchemy and computing its cache key cost 1-1.5 ms per statement on the
benchmark machine, three per search: ~30 % of a typical keyword search (bench/search.py,
a million clusters: p50 16.0 -> 11.3 ms, p95 54.6 -> 48.8 ms with the statements reused). The
statements depend only on which parts a query has — terms or not, how many identifiers, which
filters, lendable true or false — never on their values, which are bound at execution: every
plain keyword search shares one set.

The matches of a query are selected from the text index (search_fts on SQLite, search_docs on
PostgreSQL); search_docs is joined to the text index only when a filter or the facets read it:
on SQLite ranking and counting would otherwise pay a lookup in it per match.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gateway.index.search_sql import text_match, text_query
from gateway.store.schema import (
    cluster_holders, cluster_identifiers, cluster_languages, clusters, search_docs,
)
from protocols.search_query import SearchQuery

__all__ = ["QueryShape", "SearchStatements", "parameters", "statements"]


@dataclass(frozen=True, slots=True)
class QueryShape:
    """What the statements of a query depend on besides its values."""

    dialect: str
    terms: bool
    identifiers: int
    formats: bool
    year_from: bool
    year_to: bool
    languages: bool
    members: bool
    lendable: bool | None

    @classmethod
    def of(cls, dialect: str, query: SearchQuery) -> QueryShape:
        return cls(dialect=dialect, terms=bool(query.terms),
                   identifiers=len(query.identifiers), formats=bool(query.formats),
                   year_from=query.year_from is not None, year_to=query.year_to is not None,
                   languages=bool(query.languages), members=bool(query.members),
                   lendable=query.lendable)


@dataclass(frozen=True, slots=True)
class SearchStatements:
    # cluster_id, rank, merged of one page of the window (the first ``window`` matches in
    # cluster order), best first
    page: sa.Select
    # one row over the window: how many matches, their formats and years joined by blanks,
    # how many are lendable, their languages and holders joined by blanks
    facets: sa.Select
    # the matches, counted to ``past_window`` and no further
    count: sa.Select


def parameters(dialect: str, query: SearchQuery, *, window: int) -> dict[str, Any]:
    """The values the statements of ``query`` are run with."""
    values: dict[str, Any] = {"window": window, "past_window": window + 1,
                              "limit": query.limit, "offset": query.offset,
                              "formats": list(query.formats),
                              "languages": list(query.languages),
                              "members": list(query.members),
                              "year_from": query.year_from, "year_to": query.year_to}
    if query.terms:
        values["text_query"] = text_query(dialect, query.terms)
    for n, identifier in enumerate(query.identifiers):
        values[f"kind_{n}"] = identifier.kind
        values[f"identifier_{n}"] = identifier.value
    return values


@functools.lru_cache(maxsize=256)
def statements(shape: QueryShape) -> SearchStatements:
    by_id = sa.literal_column("cluster_id")
    window = (_matches(shape, with_rank=True).order_by(by_id)
              .limit(sa.bindparam("window", type_=sa.Integer)).subquery("window"))
    page = (sa.select(window.c.cluster_id, window.c.rank)
            .order_by(window.c.rank.desc(), window.c.cluster_id)
            .limit(sa.bindparam("limit", type_=sa.Integer))
            .offset(sa.bindparam("offset", type_=sa.Integer))).subquery("page")
    # the page's merged records in the same statement: the LIMIT inside keeps the join to
    # clusters to the page's rows
    page_sql = (sa.select(page.c.cluster_id, page.c.rank, clusters.c.merged)
                .join(clusters, clusters.c.id == page.c.cluster_id)
                .where(clusters.c.deleted.is_(False))
                .order_by(page.c.rank.desc(), page.c.cluster_id))
    d = search_docs
    m = (_matches(shape, with_rank=False,
                  columns=(d.c.format, d.c.year, d.c.lendable, d.c.languages, d.c.holders))
         .order_by(by_id).limit(sa.bindparam("window", type_=sa.Integer)).subquery("m"))
    facets_sql = sa.select(
        sa.func.count(), _joined(m.c.format), _joined(sa.cast(m.c.year, sa.Text)),
        sa.func.sum(sa.case((m.c.lendable, 1), else_=0)),
        _joined(m.c.languages), _joined(m.c.holders))
    counted = (_matches(shape, with_rank=False).order_by(by_id)
               .limit(sa.bindparam("past_window", type_=sa.Integer)).subquery("counted"))
    count_sql = sa.select(sa.func.count()).select_from(counted)
    return SearchStatements(page=page_sql, facets=facets_sql, count=count_sql)


def _joined(column: sa.ColumnElement) -> sa.ColumnElement:
    # group_concat on SQLite, string_agg on PostgreSQL
    return sa.func.aggregate_strings(column, " ")


def _matches(shape: QueryShape, *, with_rank: bool,
             columns: tuple[sa.ColumnElement, ...] = ()) -> sa.Select:
    """SELECT cluster_id [, rank] [, ``columns`` of search_docs] of every match."""
    d = search_docs
    if shape.terms:
        source, cluster_id, condition, rank = text_match(shape.dialect, with_rank=with_rank)
        conditions: list[sa.ColumnElement] = [condition]
    else:
        source, cluster_id, conditions = d, d.c.cluster_id, []
        rank = sa.cast(d.c.holder_count, sa.Float) if with_rank else None
    selected = [cluster_id.label("cluster_id")]
    if rank is not None:
        selected.append(rank.label("rank"))
    selected += columns
    reads_docs = bool(columns)
    if shape.identifiers:
        wanted = sa.or_(*(sa.and_(cluster_identifiers.c.kind == sa.bindparam(f"kind_{n}"),
                                  cluster_identifiers.c.value == sa.bindparam(f"identifier_{n}"))
                          for n in range(shape.identifiers)))
        conditions.append(cluster_id.in_(
            sa.select(cluster_identifiers.c.cluster_id).where(wanted)))
    if shape.formats:
        conditions.append(d.c.format.in_(sa.bindparam("formats", expanding=True)))
        reads_docs = True
    if shape.year_from:
        conditions.append(d.c.year >= sa.bindparam("year_from", type_=sa.Integer))
        reads_docs = True
    if shape.year_to:
        conditions.append(d.c.year <= sa.bindparam("year_to", type_=sa.Integer))
        reads_docs = True
    if shape.languages:
        conditions.append(sa.exists().where(
            cluster_languages.c.cluster_id == cluster_id,
            cluster_languages.c.language.in_(sa.bindparam("languages", expanding=True))))
    if shape.members:
        holder = [cluster_holders.c.cluster_id == cluster_id,
                  cluster_holders.c.member.in_(sa.bindparam("members", expanding=True))]
        if shape.lendable is not None:   # lendable *at* one of these members
            holder.append(cluster_holders.c.lendable.is_(shape.lendable))
        conditions.append(sa.exists().where(*holder))
    elif shape.lendable is not None:
        conditions.append(d.c.lendable.is_(shape.lendable))
        reads_docs = True
    if reads_docs and source is not d:
        source = source.join(d, d.c.cluster_id == cluster_id)
    return sa.select(*selected).select_from(source).where(*conditions)
