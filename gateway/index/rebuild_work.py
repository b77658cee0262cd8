"""The CPU half of `libgate clusters rebuild`: pure functions of plain data, run in worker
processes (``gateway.workers``) while the rebuilding process reads and writes the store.

A rebuild is two streaming passes over the records. The first gives each record its
:class:`~protocols.matching.Profile` (``page_profiles``: the one stored with the record, or
made from its normalized JSON when there is none of this version); the
second, once the clusters are known, turns each cluster's records into its merged record,
search rows and OAI sets (``merge_clusters``). Both take and return only tuples of ints,
strings and bools, which cross a process boundary cheaply, and both call the functions the
incremental path calls (``profile_of``, ``merge_cluster``, ``search_document``,
``set_specs_for``), so the rows are the same whether computed here, in-process or
incrementally (tests/gateway/test_rebuild_bulk.py).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from operator import attrgetter

import orjson

from gateway.index.merge import SourceRecord, merge_cluster
from gateway.index.search_rows import fts_row, tsvector_literal
from gateway.jsontext import dumps_json
from protocols.matching import Profile, profile_of
from protocols.matching.keys import profile_from_stored
from protocols.oaipmh.provider import set_specs_for
from protocols.search_query import search_document

# (record id, member code, local id, normalized JSON, stored match profile JSON or None)
RecordText = tuple[int, str, str, str, str | None]
# (record id, member code, local id, normalized JSON, member status, rule that attached it,
#  holdings as (location, call number, lendable, barcode))
SourceText = tuple[int, str, str, str, str, str | None, Sequence[tuple]]
# (cluster id, new cluster?, its stored merged JSON if it is live, its records)
ClusterWork = tuple[int, bool, str | None, list[SourceText]]

_PROFILE_FIELDS = attrgetter(*(f.name for f in fields(Profile)))


@contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """No automatic cyclic garbage collection while the block runs.

    A rebuild holds a profile of every record and builds millions of acyclic objects
    (dicts, tuples, strings); each automatic collection of the oldest generation walks all
    of them again (in a worker: a batch's objects all live until it returns). Measured at
    50,000 records in one process: 43.5 s with collection, 23.6 s without, the same peak RSS
    (what a rebuild makes is freed by reference counting)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def profile_from_texts(record_id: int, member: str, local_id: str, text: str,
                       stored: str | None) -> Profile:
    """A record's profile: the one stored with it (``records.match_profile``) when
    ``profile_of`` of this version made it, else made from its normalized JSON."""
    if stored is not None:
        made = profile_from_stored(orjson.loads(stored), record_id=record_id, member=member,
                                   local_id=local_id)
        if made is not None:
            return made
    return profile_of(orjson.loads(text), record_id=record_id, member=member,
                      local_id=local_id)


def page_profiles(rows: Sequence[RecordText]) -> list[Profile]:
    """The profile of each record of a page."""
    return [profile_from_texts(*row) for row in rows]


def page_profile_tuples(rows: Sequence[RecordText]) -> list[tuple]:
    """``page_profiles`` as tuples of the fields (a worker's answer: a dataclass pickles at
    about twice the cost); ``Profile(*fields)`` makes them profiles again."""
    with without_cyclic_gc():
        return [_PROFILE_FIELDS(profile) for profile in page_profiles(rows)]


@dataclass(slots=True)
class MergedRows:
    """What a batch of clusters writes: cluster rows to insert or update, search rows, sets."""

    inserts: list[tuple] = field(default_factory=list)   # id, count, title, year, format, JSON
    updates: list[tuple] = field(default_factory=list)   # the same, for existing clusters
    docs: list[tuple] = field(default_factory=list)      # search_docs (+ tsvector text on PG)
    fts: list[tuple] = field(default_factory=list)       # SQLite: rowid and TEXT_COLUMNS
    identifiers: list[tuple] = field(default_factory=list)
    holders: list[tuple] = field(default_factory=list)
    languages: list[tuple] = field(default_factory=list)
    sets: list[tuple] = field(default_factory=list)
    # (record id, cluster id, member id) of each record whose cluster changed: filled by a
    # worker that read the records itself (``rebuild_direct``); else by the rebuilding process
    memberships: list[tuple] = field(default_factory=list)


def merge_clusters(work: Sequence[ClusterWork], dialect: str) -> MergedRows:
    """Merged records, search rows and OAI sets of finished clusters.

    A cluster that exists keeps its row (and its ``updated_at``, the OAI datestamp) when its
    merged record comes out equal to the stored one."""
    with without_cyclic_gc():
        return _merge_clusters(work, dialect)


def _merge_clusters(work: Sequence[ClusterWork], dialect: str) -> MergedRows:
    out = MergedRows()
    for cid, fresh, stored, sources in work:
        union = merge_cluster(cid, [SourceRecord(
            record_id=rid, member=member, local_id=local_id, normalized=orjson.loads(text),
            member_status=status, rule=rule,
            holdings=[{"location": location, "call_number": call_number,
                       "lendable": lendable, "barcode": barcode}
                      for location, call_number, lendable, barcode in held])
            for rid, member, local_id, text, status, rule, held in sources])
        merged = union.to_dict()
        row = (cid, len(sources), merged["title"], merged["year"], merged["format"])
        if fresh:
            out.inserts.append((*row, dumps_json(merged)))
        elif stored is None or orjson.loads(stored) != merged:
            out.updates.append((*row, dumps_json(merged)))
        doc = search_document(union)
        if dialect == "postgresql":
            document = tsvector_literal(doc)
        else:
            document = None
            out.fts.append(tuple(fts_row(doc).values()))
        out.docs.append((cid, doc.year, doc.format, doc.lendable, len(doc.holders),
                         " ".join(doc.languages), " ".join(m for m, _ in doc.holders),
                         document))
        out.identifiers.extend((cid, kind, value) for kind, value in doc.identifiers)
        out.holders.extend((cid, member, lends) for member, lends in doc.holders)
        out.languages.extend((cid, language) for language in doc.languages)
        out.sets.extend((cid, spec) for spec in dict.fromkeys(set_specs_for(union)))
    return out
