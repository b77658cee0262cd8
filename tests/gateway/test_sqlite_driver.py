"""The one-hop aiosqlite cursor behaves as the stock adapter for what the gateway uses."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gateway.store.engine import make_engine
from gateway.store.sqlite_driver import OneHopCursor

pytestmark = pytest.mark.asyncio

items = sa.Table("items", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.String, unique=True), sa.Column("n", sa.Integer))


@pytest.fixture
async def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(items.metadata.create_all)
    yield engine
    await engine.dispose()


async def test_engine_uses_the_one_hop_cursor(engine):
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.dbapi_connection.cursor(), OneHopCursor)


async def test_rows_rowcount_lastrowid_and_returning(engine):
    async with engine.begin() as conn:
        result = await conn.execute(items.insert().values(name="a", n=1))
        assert result.inserted_primary_key == (1,)
        await conn.execute(items.insert(), [{"name": f"b{i}", "n": i} for i in range(5)])
        returned = await conn.execute(items.insert().returning(items.c.id, items.c.name),
                                      [{"name": "c", "n": 7}, {"name": "d", "n": 8}])
        assert sorted(name for _id, name in returned.all()) == ["c", "d"]
        updated = await conn.execute(items.update().where(items.c.n < 3).values(n=0))
        assert updated.rowcount == 4          # a, b0, b1, b2
        rows = (await conn.execute(sa.select(items.c.name).where(items.c.n == 0)
                                   .order_by(items.c.name))).scalars().all()
        assert rows == ["a", "b0", "b1", "b2"]
        assert (await conn.execute(sa.select(items.c.id).where(items.c.name == "none"))
                ).first() is None
        many = await conn.execute(items.update().where(items.c.name == sa.bindparam("k"))
                                  .values(n=sa.bindparam("v")),
                                  [{"k": "c", "v": 70}, {"k": "d", "v": 80}])
        assert many.rowcount == 2


async def test_errors_are_sqlalchemy_errors_and_roll_back(engine):
    async with engine.begin() as conn:
        await conn.execute(items.insert().values(name="x", n=1))
    with pytest.raises(sa.exc.IntegrityError, match="UNIQUE"):
        async with engine.begin() as conn:
            await conn.execute(items.insert().values(name="y", n=2))
            await conn.execute(items.insert().values(name="x", n=3))
    async with engine.connect() as conn:
        names = (await conn.execute(sa.select(items.c.name))).scalars().all()
    assert names == ["x"]                     # "y" went with the failed transaction
    with pytest.raises(sa.exc.OperationalError, match="no such table"):
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT * FROM missing"))
