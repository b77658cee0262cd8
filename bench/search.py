"""Search benchmark: the union-index search against a plain LIKE scan, on SQLite.

Builds a SQLite store under /tmp with N clusters (default 1,000,000): synthetic variations of
the real records in ../shared/data/marc (titles with one word swapped from the real title
vocabulary, real authors, subjects and languages, a unique valid ISBN-13 per cluster, one to
three holding members), bulk-inserted into ``clusters`` and indexed with
``rebuild_search_index``. Then, in this one script:

  keyword   1,000 queries of one to three words drawn from real titles, through search()
            (facets and total included, as GET /api/search answers; and again without facets)
  isbn      1,000 ISBN lookups (half given as ISBN-10), through search()
  baseline  the same kinds of query as a plain scan: ``title LIKE '%word%'`` for keywords,
            ``merged LIKE '%isbn%'`` for ISBNs, every match fetched (a sample of the queries:
            a full scan of N rows per query is the point of the comparison)

Prints p50/p95 of each, and the ratios baseline / search. Targets: keyword p95 < 50 ms,
ISBN p95 < 10 ms.

Measured 2026-11-28, ``--reuse`` of one 1,000,000-cluster build, four runs each alternated with
a run of the code before (f916158) on the same database; 2 cores shared with other work, load
average 1.1-3.0 before a run (the benchmark itself adds ~1):

    keyword, facets and total   p50  9.8-11.0 ms  p95 43.8-46.6 ms   before 25.2-26.7 / 98.9-102.5
    keyword, no facets          p50  6.2-7.2 ms   p95 28.8-31.8 ms   before 15.3-25.7 / 42.2-81.2
    ISBN lookup                 p50 0.46-0.71 ms  p95 0.69-1.17 ms   before 2.6-6.0 / 3.6-11.8

Measured 2026-12-06 on a quiet machine, fresh build: keyword with facets p50 3.83 ms, p95
18.54 ms; no facets 2.15 / 12.37 ms; ISBN 0.38 / 0.43 ms; LIKE 403 / 623 ms p50.

    python bench/search.py [--size 1000000] [--queries 1000] [--baseline-sample 60]
                           [--db /tmp/libgate-search-bench.db] [--reuse]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "marc"
sys.path.insert(0, str(ROOT))

MEMBERS = [f"XX-M{n:02d}" for n in range(20)]


def seed_records() -> list[dict]:
    """Every bibliographic record under shared/data/marc that decodes, normalized."""
    import logging
    logging.disable(logging.CRITICAL)
    from gateway.ingest import process_raw
    from gateway.store.records import IncomingRecord
    from protocols.marc import read_records
    seeds = []
    for path in sorted(SHARED.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in (".mrc", ".dat", ".marc", ".xml"):
            continue
        for raw in read_records(path.read_bytes()):
            result = process_raw(raw)
            if isinstance(result, IncomingRecord) and result.normalized.title \
                    and result.normalized.record_type == "bibliographic":
                seeds.append(result.normalized.to_dict())
    return seeds


def isbn13(n: int) -> str:
    body = f"978{n % 10**9:09d}"
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body))
    return body + str(-total % 10)


def synthetic_union(cluster_id: int, seed: dict, rng: random.Random, vocabulary: list[str],
                    authors: list[str]) -> dict:
    words = seed["title"].split()
    if len(words) > 1 and rng.random() < 0.7:
        words[rng.randrange(len(words))] = rng.choice(vocabulary)
    holders = rng.sample(MEMBERS, rng.randint(1, 3))
    year = seed["year"] + rng.randint(-5, 5) if seed["year"] else None
    return {
        "cluster_id": cluster_id, "title": " ".join(words), "subtitle": seed["subtitle"],
        "authors": seed["authors"][:2] or [rng.choice(authors)],
        "isbns": [isbn13(cluster_id)], "issns": [], "oclc_numbers": [], "year": year,
        "languages": seed["languages"][:2], "format": seed["format"],
        "subjects": seed["subjects"][:4], "publisher": seed["publisher"],
        "sources": [{"record_id": cluster_id * 3 + n, "member": m, "local_id": f"{cluster_id}",
                     "rule": None} for n, m in enumerate(holders)],
        "holdings": [{"member": m, "local_id": f"{cluster_id}", "location": "Main",
                      "call_number": None, "lendable": rng.random() < 0.6, "barcode": None,
                      "digitized": False, "member_status": "open"} for m in holders],
    }


async def build(db: Path, size: int, seeds: list[dict], rng: random.Random) -> None:
    from gateway.index.search import rebuild_search_index
    from gateway.store import open_store
    db.unlink(missing_ok=True)
    store = await open_store(f"sqlite:///{db}")
    await store.close()
    vocabulary = sorted({w for s in seeds for w in s["title"].split() if len(w) > 3})
    authors = sorted({a for s in seeds for a in s["authors"]})
    started = time.perf_counter()
    conn = sqlite3.connect(db)
    now = "2026-01-01 00:00:00.000000"
    batch = []
    for cluster_id in range(1, size + 1):
        u = synthetic_union(cluster_id, seeds[cluster_id % len(seeds)], rng, vocabulary,
                            authors)
        batch.append((cluster_id, len(u["sources"]), u["title"], u["year"], u["format"],
                      json.dumps(u), now, now))
        if len(batch) == 20000 or cluster_id == size:
            conn.executemany("INSERT INTO clusters (id, deleted, record_count, title, year, "
                             "format, merged, created_at, updated_at) "
                             "VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?)", batch)
            batch.clear()
    conn.commit()
    conn.close()
    inserted = time.perf_counter()
    store = await open_store(f"sqlite:///{db}", migrate=False)
    async with store.begin() as c:
        indexed = await rebuild_search_index(c)
    async with store.begin() as c:
        from sqlalchemy import text
        await c.execute(text("INSERT INTO search_fts(search_fts) VALUES ('optimize')"))
        await c.execute(text("ANALYZE"))
    await store.close()
    done = time.perf_counter()
    print(f"built {size:,} clusters: insert {inserted - started:.0f} s, "
          f"index {indexed:,} in {done - inserted:.0f} s; {db.stat().st_size / 2**20:.0f} MB")


def keyword_queries(seeds: list[dict], rng: random.Random, n: int) -> list[str]:
    from protocols.search_query import search_words
    out = []
    while len(out) < n:
        words = [w for w in search_words(rng.choice(seeds)["title"]) if len(w) > 2]
        if words:
            k = min(len(words), rng.choice((1, 2, 2, 3)))
            start = rng.randrange(len(words) - k + 1)
            out.append(" ".join(words[start:start + k]))
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def time_search(db: Path, queries: list[str], *,
                      facets: bool = True) -> tuple[list[float], list[int]]:
    from gateway.index.search import search
    from gateway.store import open_store
    from protocols.search_query import parse_query
    store = await open_store(f"sqlite:///{db}", migrate=False)
    times, totals = [], []
    async with store.connect() as conn:
        for q in queries[:20]:                      # warm the page cache
            await search(conn, parse_query(q))
        for q in queries:
            started = time.perf_counter()
            result = await search(conn, parse_query(q, facets=facets))
            times.append((time.perf_counter() - started) * 1000)
            totals.append(result.total if result.total_exact else -1)
    await store.close()
    return times, totals


def time_like(db: Path, patterns: list[list[str]], column: str) -> list[float]:
    conn = sqlite3.connect(db)
    times = []
    for words in patterns:
        where = " AND ".join(f"{column} LIKE ?" for _ in words)
        started = time.perf_counter()
        conn.execute(f"SELECT id, title FROM clusters WHERE NOT deleted AND {where}",
                     [f"%{w}%" for w in words]).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    conn.close()
    return times


def line(name: str, times: list[float]) -> str:
    return (f"{name:<28} n={len(times):>5}  p50 {pct(times, 50):8.2f} ms  "
            f"p95 {pct(times, 95):8.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--baseline-sample", type=int, default=60)
    parser.add_argument("--db", type=Path, default=Path("/tmp/libgate-search-bench.db"))
    parser.add_argument("--reuse", action="store_true",
                        help="Search the database --db built by an earlier run.")
    args = parser.parse_args()
    rng = random.Random(42)
    seeds = seed_records()
    print(f"{len(seeds):,} real records as seeds")
    if not args.reuse:
        asyncio.run(build(args.db, args.size, seeds, rng))
    from stdnum import isbn as stdnum_isbn

    from gateway.index.search import MATCH_WINDOW
    keywords = keyword_queries(seeds, rng, args.queries)
    ids = [rng.randint(1, args.size) for _ in range(args.queries)]
    isbns = [isbn13(i) if n % 2 else stdnum_isbn.to_isbn10(isbn13(i))
             for n, i in enumerate(ids)]
    kw_times, kw_totals = asyncio.run(time_search(args.db, keywords))
    bare_times, _ = asyncio.run(time_search(args.db, keywords, facets=False))
    isbn_times, isbn_totals = asyncio.run(time_search(args.db, [f"isbn:{i}" for i in isbns]))
    assert all(t == 1 for t in isbn_totals), "every ISBN-10 and ISBN-13 finds its cluster"
    sample = args.baseline_sample
    like_kw = time_like(args.db, [q.split() for q in keywords[:sample]], "title")
    like_isbn = time_like(args.db, [[isbn13(i)] for i in ids[:sample]], "merged")
    beyond = sum(1 for t in kw_totals if t < 0)
    exact = [t for t in kw_totals if t >= 0] or [0]
    print(f"keyword queries: median {statistics.median(exact):,.0f} matches of those within "
          f"the window; {beyond} "
          f"match more than the {MATCH_WINDOW:,} ranked (total_exact false)")
    print(line("search keyword", kw_times) + "   (target p95 < 50 ms)")
    print(line("search keyword, no facets", bare_times))
    print(line("LIKE title scan", like_kw))
    print(line("search isbn", isbn_times) + "   (target p95 < 10 ms)")
    print(line("LIKE merged scan (isbn)", like_isbn))
    print(f"ratio LIKE/search p50: keyword {pct(like_kw, 50) / pct(kw_times, 50):.0f}x, "
          f"isbn {pct(like_isbn, 50) / pct(isbn_times, 50):.0f}x")


if __name__ == "__main__":
    main()
