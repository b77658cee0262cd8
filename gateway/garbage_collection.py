"""Fewer full garbage collections while records are harvested or ingested.

CPython collects its oldest generation after every 10 collections of the middle one
(``gc.get_threshold()[2]``), and a full collection walks every object the process holds,
the ~100,000 of the gateway's own modules and libraries included (~70 ms here). A harvest
page or an ingest batch keeps thousands of objects alive across its awaits — converted
records, their JSON, profiles, merged records — so the middle generation fills again and
again: a 30,000-record ingest ran 42 full collections, 2.8 s of the ingesting process's
~12 s (bench/ingest.py: 2,325 records/s; with one full collection in 100: 2,818; with
none: 2,922). Young objects are still collected as before, and cycles that reach the oldest
generation still are, ten times less often.

``fewer_full_collections()`` holds that setting while a harvest or ingest runs (nested and
overlapping runs keep it until the last ends); a worker process that converts records sets
it for its life (``gateway.workers``). A rebuild goes further and turns automatic
collection off (``gateway.index.rebuild_work.without_cyclic_gc``). A server process tunes
its collector once at startup (``tune_gc_for_serving``); a harvest it schedules then raises
the oldest threshold from there, and puts it back.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

FULL_COLLECTION_EVERY = 100          # middle-generation collections per full one (CPython: 10)

_holders = 0
_saved: tuple[int, int, int] | None = None


def collect_oldest_rarely() -> None:
    """For the rest of this process's life (a worker's)."""
    young, middle, oldest = gc.get_threshold()
    gc.set_threshold(young, middle, max(oldest, FULL_COLLECTION_EVERY))


@contextmanager
def fewer_full_collections() -> Iterator[None]:
    """``collect_oldest_rarely`` while the block runs; the thresholds before come back when
    the last block holding it ends."""
    global _holders, _saved
    if _holders == 0:
        _saved = gc.get_threshold()
        collect_oldest_rarely()
    _holders += 1
    try:
        yield
    finally:
        _holders -= 1
        if _holders == 0 and _saved is not None:
            gc.set_threshold(*_saved)


def tune_gc_for_serving() -> None:
    """For a long-running server process (`libgate serve`; bench/broker.py's server does the
    same): what startup made (modules, tables, settings) is never garbage, so freeze it and
    full collections stop rescanning it — they paused the event loop 130-150 ms under the
    broker bench. And collect the youngest generation every 10,000 net allocations instead of
    700: almost everything a request allocates is freed by reference counting, and the
    default threshold ran ~250 collections (up to 10 ms each) per 4,000 messages."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
