"""The dialect-specific half of search: the text index on SQLite (FTS5) and PostgreSQL (tsvector).

Both backends receive words already folded and split by ``protocols.search_query``; neither
database's own tokenizer or dictionary decides what a word is, so the same query finds the
same clusters on both. What differs is only how the words are stored, matched and ranked:

    SQLite      FTS5 table search_fts(title, author, subject, other), rowid = cluster id;
                MATCH '{title}: "pride" AND "austen"*'; rank = -bm25(search_fts, 20, 5, 2, 1)
    PostgreSQL  search_docs.document tsvector, weights A title, B author, C subject, D other;
                document @@ '''pride'':A & ''austen'':*'::tsquery;
                rank = ts_rank('{0.1, 0.2, 0.4, 1.0}', document, query, 1)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.index.search_rows import PG_WEIGHT_LETTERS, fts_row, lexeme, tsvector_literal
from gateway.store.schema import search_docs
from protocols.search_query import TEXT_COLUMNS, SearchDocument, Term

# FTS5 has no Core definition: a lightweight table clause is enough to select from it
search_fts = sa.table("search_fts", sa.column("rowid", sa.Integer),
                      *(sa.column(name, sa.Text) for name in TEXT_COLUMNS))
_FTS = sa.literal_column("search_fts")
BM25_WEIGHTS = (20.0, 5.0, 2.0, 1.0)                    # title, author, subject, other
# ts_rank's weights are given as {D, C, B, A}; 1 divides by 1 + log(document length)
PG_RANK_WEIGHTS = sa.literal_column("'{0.1, 0.2, 0.4, 1.0}'::float4[]")


# --- writing ----------------------------------------------------------------------------------

async def delete_text(conn: AsyncConnection, cluster_ids: Sequence[int]) -> None:
    """Remove the text-index rows of these clusters (search_docs rows go separately)."""
    if conn.dialect.name == "sqlite" and cluster_ids:
        await conn.execute(sa.delete(search_fts).where(search_fts.c.rowid.in_(cluster_ids)))


async def insert_docs(conn: AsyncConnection, docs: Sequence[SearchDocument]) -> None:
    """Insert search_docs rows and the text index of ``docs`` (none of them indexed yet)."""
    if not docs:
        return
    rows = [{"cluster_id": d.cluster_id, "year": d.year, "format": d.format,
             "lendable": d.lendable, "holder_count": len(d.holders),
             "languages": " ".join(d.languages), "holders": " ".join(m for m, _ in d.holders)}
            for d in docs]
    if conn.dialect.name == "sqlite":
        await conn.execute(sa.insert(search_docs), rows)
        await conn.execute(sa.insert(search_fts), [fts_row(d) for d in docs])
        return
    for row, doc in zip(rows, docs):
        row["document_text"] = tsvector_literal(doc)
    await conn.execute(pg_insert_docs(), rows)


def pg_insert_docs() -> sa.Insert:
    """PostgreSQL: INSERT of search_docs rows whose ``document_text`` is a tsvector literal."""
    return sa.insert(search_docs).values(
        cluster_id=sa.bindparam("cluster_id"), year=sa.bindparam("year"),
        format=sa.bindparam("format"), lendable=sa.bindparam("lendable"),
        holder_count=sa.bindparam("holder_count"), languages=sa.bindparam("languages"),
        holders=sa.bindparam("holders"),
        document=sa.cast(sa.bindparam("document_text", type_=sa.Text), postgresql.TSVECTOR))


# --- matching ---------------------------------------------------------------------------------

def fts_match(terms: Sequence[Term]) -> str:
    """The FTS5 MATCH expression: every term quoted, so no user text is FTS5 syntax."""
    parts = []
    for term in terms:
        phrase = '"' + " ".join(w.replace('"', '""') for w in term.words) + '"'
        if term.prefix:
            phrase += "*"
        parts.append(f"{{{term.field}}} : {phrase}" if term.field else phrase)
    return " AND ".join(parts)


def tsquery_text(terms: Sequence[Term]) -> str:
    """The tsquery of the terms in PostgreSQL's input syntax (no parser, no dictionary)."""
    parts = []
    for term in terms:
        weight = PG_WEIGHT_LETTERS[term.field] if term.field else ""
        lexemes = []
        for n, word in enumerate(term.words):
            star = "*" if term.prefix and n == len(term.words) - 1 else ""
            mark = f":{star}{weight}" if star or weight else ""
            lexemes.append(lexeme(word) + mark)
        parts.append(lexemes[0] if len(lexemes) == 1 else "(" + " <-> ".join(lexemes) + ")")
    return " & ".join(parts)


def text_query(dialect: str, terms: Sequence[Term]) -> str:
    """The value of ``text_match``'s parameter for these terms."""
    return fts_match(terms) if dialect == "sqlite" else tsquery_text(terms)


def text_match(dialect: str, *, with_rank: bool
               ) -> tuple[sa.FromClause, sa.ColumnElement, sa.ColumnElement,
                          sa.ColumnElement | None]:
    """(the text index, its cluster id column, match condition, rank or None), the terms
    bound as the parameter ``text_query`` (``text_query(dialect, terms)``).

    The text index is search_fts on SQLite (join search_docs to its rowid for filters or
    facets: ranking and counting need no search_docs row, each of which costs a lookup per
    match) and search_docs itself on PostgreSQL. Rank is "higher is better" on both backends.
    """
    terms = sa.bindparam("text_query", type_=sa.Text)
    if dialect == "sqlite":
        condition = _FTS.op("MATCH")(terms)
        rank = -sa.func.bm25(_FTS, *BM25_WEIGHTS) if with_rank else None
        return search_fts, search_fts.c.rowid, condition, rank
    query = sa.cast(terms, postgresql.TSQUERY)
    condition = search_docs.c.document.op("@@")(query)
    rank = (sa.func.ts_rank(PG_RANK_WEIGHTS, search_docs.c.document, query, 1)
            if with_rank else None)
    return search_docs, search_docs.c.cluster_id, condition, rank
