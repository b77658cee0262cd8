"""The worker side of a rebuild that reads the SQLite file itself.

Shipped, every record of a rebuild crosses from the rebuilding process to a worker twice: the
rebuilding process reads its JSON (a page of SQLAlchemy rows), pickles it and writes it to a
pipe, once for the profiles and once for the merged records; the worker reads and unpickles
it. On SQLite with worker processes, a worker instead opens the database file read-only and
reads the records it is given — a range of ids for their profiles, each cluster's record ids
for its merged record — and the rebuilding process only sends ids and receives results.

What the worker reads is what the rebuild's own transaction sees: the rebuild takes SQLite's
write lock (its first statement deletes the match keys) before any work is handed out, and
neither pass changes records, holdings or members, so until it commits no connection can
change what they hold. A caller whose transaction already wrote (records added in the same
transaction, say) is rebuilt the shipped way: a worker would not see those uncommitted rows
(``gateway.index.rebuild`` decides).

Pure reading and the functions of ``rebuild_work``; no asyncio here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from urllib.parse import quote

from gateway.index.rebuild_work import (
    MergedRows, RecordText, SourceText, merge_clusters, page_profile_tuples,
)

# (record id, rule that attached it, its cluster changed?)
MemberRef = tuple[int, str | None, bool]
# (cluster id, new cluster?, its stored merged JSON if it is live, its records)
ClusterRefs = tuple[int, bool, str | None, Sequence[MemberRef]]

LIVE = "deleted = 0 AND record_type = 'bibliographic'"
READER_CACHE_KIB = 16 * 1024
IDS_PER_STATEMENT = 30_000         # SQLite's limit on host parameters is 32,766
_readers: dict[str, sqlite3.Connection] = {}


def reader(path: str) -> sqlite3.Connection:
    """This process's read-only connection to ``path`` (one per worker, kept for its life).
    Not mapped: what a rebuild reads once would stay in the worker's resident set."""
    conn = _readers.get(path)
    if conn is None:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)
        conn.execute("PRAGMA query_only=1")
        conn.execute("PRAGMA mmap_size=0")
        conn.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
        _readers[path] = conn
    return conn


def range_profile_tuples(path: str, first: int, last: int, codes: dict[int, str]
                         ) -> list[tuple]:
    """``page_profile_tuples`` of the live bibliographic records with ids first..last
    (``codes``: member id → member code)."""
    rows = reader(path).execute(
        f"SELECT id, member_id, local_id, normalized, match_profile FROM records "
        f"WHERE id BETWEEN ? AND ? AND {LIVE} ORDER BY id", (first, last)).fetchall()
    texts: list[RecordText] = [(rid, codes[member_id], local_id, text, stored)
                               for rid, member_id, local_id, text, stored in rows]
    return page_profile_tuples(texts)


def merge_cluster_refs(path: str, work: Sequence[ClusterRefs],
                       members: dict[int, tuple[str, str]], dialect: str) -> MergedRows:
    """``merge_clusters`` of clusters given by their records' ids (``members``: member id →
    (code, status)); ``memberships`` of the result lists (record id, cluster id, member id)
    of each record whose cluster changed."""
    ids = [rid for _cid, _fresh, _stored, refs in work for rid, _rule, _moved in refs]
    found: dict[int, tuple[int, str, str]] = {}
    held: dict[int, list[tuple]] = {}
    conn = reader(path)
    for start in range(0, len(ids), IDS_PER_STATEMENT):
        part = ids[start:start + IDS_PER_STATEMENT]
        marks = ", ".join("?" * len(part))
        for rid, member_id, local_id, text in conn.execute(
                f"SELECT id, member_id, local_id, normalized FROM records "
                f"WHERE id IN ({marks}) AND {LIVE}", part):
            found[rid] = (member_id, local_id, text)
        for rid, location, call_number, lendable, barcode in conn.execute(
                f"SELECT record_id, location, call_number, lendable, barcode FROM holdings "
                f"WHERE record_id IN ({marks}) ORDER BY record_id, id", part):
            held.setdefault(rid, []).append(
                (location, call_number, None if lendable is None else bool(lendable), barcode))
    if len(found) != len(ids):
        lost = sorted(set(ids) - found.keys())
        raise RuntimeError(f"rebuild: records {lost[:5]} are no longer live bibliographic "
                           "records (changed during the rebuild?)")
    memberships: list[tuple[int, int, int]] = []
    shipped: list[tuple[int, bool, str | None, list[SourceText]]] = []
    for cid, fresh, stored, refs in work:
        sources: list[SourceText] = []
        for rid, rule, moved in refs:
            member_id, local_id, text = found[rid]
            code, status = members[member_id]
            sources.append((rid, code, local_id, text, status, rule, held.get(rid, ())))
            if moved:
                memberships.append((rid, cid, member_id))
        shipped.append((cid, fresh, stored, sources))
    rows = merge_clusters(shipped, dialect)
    rows.memberships = memberships
    return rows
