"""SQLite units of work in the loop's thread (``Store.direct``): same data as the async engine,
and a locked database waits asynchronously instead of blocking the loop."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from gateway import registry
from gateway.store import open_store
from gateway.store.schema import members


@pytest.fixture
async def sqlite_store(tmp_path):
    store = await open_store(f"sqlite:///{tmp_path / 'libgate.db'}")
    try:
        yield store
    finally:
        await store.close()


async def test_direct_units_of_work_see_and_write_what_the_async_engine_does(sqlite_store):
    await registry.add_member(sqlite_store, "US-NFU", "Library US-NFU")
    direct = sqlite_store.direct()
    row = await direct.read(lambda conn: conn.execute(
        sa.select(members.c.code, members.c.policy, members.c.created_at)
        .where(members.c.code == "US-NFU")).one())
    assert row.code == "US-NFU" and row.created_at.year >= 2024

    def rename(conn: sa.Connection) -> None:
        conn.execute(members.update().where(members.c.code == "US-NFU")
                     .values(name="Renamed", policy={"response_hours": 12},
                             updated_at=datetime.now(UTC)))
    await direct.write(rename)
    async with sqlite_store.connect() as conn:
        name, policy = (await conn.execute(sa.select(members.c.name, members.c.policy)
                                           .where(members.c.code == "US-NFU"))).one()
    assert (name, policy) == ("Renamed", {"response_hours": 12})


async def test_a_failed_unit_of_work_writes_nothing(sqlite_store):
    await registry.add_member(sqlite_store, "US-NFU", "Library US-NFU")

    def half_done(conn: sa.Connection) -> None:
        conn.execute(members.update().values(name="half"))
        raise RuntimeError("stop here")
    with pytest.raises(RuntimeError):
        await sqlite_store.direct().write(half_done)
    async with sqlite_store.connect() as conn:
        assert await conn.scalar(sa.select(members.c.name)) == "Library US-NFU"


async def test_a_unit_of_work_that_opens_with_a_savepoint_is_still_one_transaction(sqlite_store):
    """pysqlite starts a transaction only before INSERT/UPDATE/DELETE: a unit of work whose
    first statement was a SAVEPOINT ran without one, and releasing that savepoint committed
    — a group commit of requests without nonces was half written when a later statement of
    it failed (CI: "already seen" on the retry of a create)."""
    await registry.add_member(sqlite_store, "US-NFU", "Library US-NFU")

    def savepoint_then_fail(conn: sa.Connection) -> None:
        savepoint = conn.begin_nested()
        conn.execute(members.update().values(name="inside the savepoint"))
        savepoint.commit()
        raise RuntimeError("a later statement of the batch failed")
    with pytest.raises(RuntimeError):
        await sqlite_store.direct().write(savepoint_then_fail)
    async with sqlite_store.connect() as conn:
        assert await conn.scalar(sa.select(members.c.name)) == "Library US-NFU"


async def test_a_locked_database_is_waited_for_without_blocking_the_loop(sqlite_store, tmp_path):
    await registry.add_member(sqlite_store, "US-NFU", "Library US-NFU")
    other = sqlite3.connect(tmp_path / "libgate.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")                  # another writer holds the lock
    order: list[str] = []

    async def release_later() -> None:
        # runs on the same loop: it can only release the lock if the waiting write does not
        # block the loop (if it did, the write would give up after MAX_WAIT: "locked")
        await asyncio.sleep(0.1)
        order.append("released")
        other.execute("COMMIT")

    def write(conn: sa.Connection) -> None:
        conn.execute(members.update().values(name="after the lock"))
        order.append("written")                       # reached only once the lock is free

    releasing = asyncio.create_task(release_later())
    await sqlite_store.direct().write(write)
    await releasing
    other.close()
    assert order == ["released", "written"]
    async with sqlite_store.connect() as conn:
        assert await conn.scalar(sa.select(members.c.name)) == "after the lock"


async def test_direct_writes_checkpoint_the_wal_in_a_thread_not_on_commit(sqlite_store, tmp_path):
    """The direct connections never checkpoint on commit (that held the loop for tens of ms);
    every CHECKPOINT_EVERY writes a passive checkpoint in a thread copies the WAL back, so
    the WAL is reused instead of growing with everything ever written."""
    from gateway.store import direct as direct_module

    await registry.add_member(sqlite_store, "US-NFU", "Library US-NFU")
    direct = sqlite_store.direct()
    wal = tmp_path / "libgate.db-wal"

    def write(conn: sa.Connection) -> None:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        # ~50 new pages a write (SQLite skips overflow pages whose bytes did not change):
        # 160 writes make ~32 MB of WAL if nothing checkpoints
        conn.execute(members.update().values(name=os.urandom(100_000).hex()))
    checkpoints = 0
    for _ in range(10 * direct_module.CHECKPOINT_EVERY):
        await direct.write(write)
        if direct._checkpointing is not None:
            checkpoints += 1
            await direct._checkpointing       # let it finish, so the WAL can be reused
    assert checkpoints >= 9
    assert wal.stat().st_size < 8 * 2**20, wal.stat().st_size
