"""SQLite: short units of work run right in the event loop's thread, on a plain connection.

Through aiosqlite every statement costs about four hops between the event loop and the
connection's thread (cursor, execute, fetch, close). Each hop is cheap alone, but when the
loop is busy (the broker under load: verifying signatures, parsing XML) the database thread
waits up to the interpreter's switch interval (5 ms) for the GIL at every hop — a read of one
request took tens of milliseconds and the slowest 1 % of messages hundreds. The same
statements on a plain ``sqlite3`` connection take 10-40 µs each, and a WAL commit with
``synchronous=NORMAL`` does not wait for the disk: for the broker's hot path (read one
request; save a batch of received messages) running the work in the loop's thread costs less
than handing it to any other thread.

What keeps that from blocking the loop is ``busy_timeout=0``: when another connection holds
the write lock (a harvest, another process), SQLite answers "database is locked" at once,
the transaction is rolled back and the work is retried after an asynchronous sleep, for up
to ``MAX_WAIT`` seconds (what the async engine's ``busy_timeout`` allows). A unit of work is
a plain function of a sync ``Connection``: it cannot await, so nothing else runs on the loop
between its statements. What it costs the loop: a group commit of 15 messages ~3 ms, of 64
(the most) ~15 ms; a commit that crosses the WAL's auto-checkpoint size also copies the WAL
back into the database file — so these connections do not checkpoint: every
``CHECKPOINT_EVERY`` writes a passive checkpoint runs in a thread on a connection of its
own (sqlite3 lets go of the GIL while it copies). Made by the committing write, the
checkpoint had held the loop for 20-40 ms every ~400 broker messages: the slowest 1 % of
messages were those waiting behind it. PostgreSQL has no use for this (asyncpg pipelines
well): callers check ``store.dialect`` first.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event

T = TypeVar("T")
MAX_WAIT = 30.0
CHECKPOINT_EVERY = 16           # write transactions between two passive checkpoints
log = logging.getLogger(__name__)


class DirectSqlite:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._writes = 0
        self._checkpointing: asyncio.Future | None = None
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._checkpoint_lock = threading.Lock()

    async def write(self, work: Callable[[sa.Connection], T]) -> T:
        """``work(conn)`` in one transaction, committed when it returns (rolled back if it
        raises). Callers serialize the broker's writers (``gateway.broker.state.writer``)."""
        result = await self._retry(self._begin, work)
        self._writes += 1
        if self._writes >= CHECKPOINT_EVERY and self._checkpointing is None:
            self._writes = 0
            self._checkpointing = asyncio.get_running_loop().run_in_executor(
                None, self._checkpoint)
            self._checkpointing.add_done_callback(self._checkpointed)
        return result

    def _checkpoint(self) -> None:
        """Copy the WAL back into the database file without blocking anyone (PASSIVE)."""
        path = self.engine.url.database
        if not path or path == ":memory:":
            return
        with self._checkpoint_lock:
            if self._checkpoint_conn is None:
                self._checkpoint_conn = sqlite3.connect(path, timeout=0,
                                                        check_same_thread=False)
            self._checkpoint_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _checkpointed(self, done: asyncio.Future) -> None:
        self._checkpointing = None
        error = None if done.cancelled() else done.exception()
        if error is None:
            return
        # not fatal: the WAL only grows until the next one succeeds. Busy is routine (another
        # connection was checkpointing at that moment): not worth an operator's attention.
        busy = isinstance(error, sqlite3.OperationalError) and (
            "locked" in str(error) or "busy" in str(error))
        log.log(logging.DEBUG if busy else logging.WARNING, "SQLite checkpoint failed: %s",
                error)

    async def read(self, work: Callable[[sa.Connection], T]) -> T:
        return await self._retry(self._connect, work)

    def _begin(self, work: Callable[[sa.Connection], T]) -> T:
        # BEGIN IMMEDIATE: the write lock is taken (or "locked" answered) before the work
        # reads anything, so a unit of work never finds its snapshot outdated half-way
        with self.engine.connect() as conn:
            with conn.execution_options(begin_immediate=True).begin():
                return work(conn)

    def _connect(self, work: Callable[[sa.Connection], T]) -> T:
        with self.engine.connect() as conn:
            return work(conn)

    async def _retry(self, run: Callable[[Callable[[sa.Connection], T]], T],
                     work: Callable[[sa.Connection], T]) -> T:
        deadline = time.monotonic() + MAX_WAIT
        attempt = 0
        while True:
            try:
                return run(work)
            except sa.exc.OperationalError as exc:
                if not is_locked(exc) or time.monotonic() > deadline:
                    raise
            attempt += 1
            await asyncio.sleep(0.001 * min(attempt, 20))

    def close(self) -> None:
        with self._checkpoint_lock:
            if self._checkpoint_conn is not None:
                self._checkpoint_conn.close()
                self._checkpoint_conn = None
        self.engine.dispose()


def is_locked(exc: sa.exc.OperationalError) -> bool:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    return "locked" in text or "busy" in text


def direct_sqlite_engine(async_engine: Any, *, serializer: Callable[[Any], str],
                         deserializer: Callable[[Any], Any],
                         on_connect: Callable[[Any, Any], None]) -> sa.Engine:
    """The pysqlite twin of an aiosqlite engine (same file, pragmas and JSON handling), that
    never waits for a lock (``busy_timeout=0``)."""
    engine = sa.create_engine(async_engine.url.set(drivername="sqlite+pysqlite"),
                              json_serializer=serializer, json_deserializer=deserializer,
                              connect_args={"timeout": 0}, pool_size=1, max_overflow=4)
    event.listen(engine, "connect", on_connect)
    event.listen(engine, "connect", _never_wait)        # after the shared pragmas
    event.listen(engine, "begin", _begin_transaction)
    return engine


def _never_wait(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.execute("PRAGMA wal_autocheckpoint=0")    # DirectSqlite checkpoints in a thread
    cursor.close()
    # pysqlite's own transaction handling opens a transaction only before INSERT, UPDATE or
    # DELETE: a unit of work whose first statement is a SAVEPOINT ran outside any, and
    # releasing the savepoint committed half of it. SQLAlchemy's recipe: the driver stays
    # out of it and every transaction starts with an explicit BEGIN (``_begin_transaction``).
    dbapi_connection.isolation_level = None


def _begin_transaction(conn: sa.Connection) -> None:
    immediate = conn.get_execution_options().get("begin_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


__all__ = ["DirectSqlite", "direct_sqlite_engine", "is_locked", "MAX_WAIT"]
