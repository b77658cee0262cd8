"""Opening the store: URL mapping, SQLite pragmas, PostgreSQL schema, Alembic upgrade."""

from __future__ import annotations

from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway.jsontext import dumps_json
from gateway.store.direct import DirectSqlite, direct_sqlite_engine
from gateway.store.sqlite_driver import one_hop_dbapi

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def async_url(url: str) -> str:
    """Map the URLs users write to the async drivers LibGate uses.

    ``sqlite:///x.db`` → aiosqlite, ``postgresql://…`` / ``postgres://…`` → asyncpg.
    """
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url[len("sqlite:"):]
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    if url.startswith(("sqlite+aiosqlite:", "postgresql+asyncpg:")):
        return url
    raise ValueError(f"unsupported database URL {url!r}; use sqlite:///path.db or postgresql://…")


class DumpedJSON(str):
    """JSON text already made by ``dumps_json`` (e.g. in a harvest worker process): bound
    to a JSON column as it is instead of being serialized again."""


def _json_serializer(value: Any) -> str:
    # the engine's JSON columns go through here (orjson: the clustering path reads and writes
    # every touched record's and cluster's JSON; non-str keys become strings, as with json)
    if type(value) is DumpedJSON:
        return str(value)
    return dumps_json(value)


# Search reads a search_docs row and an FTS5 docsize row per match, scattered over the file:
# through read() into a 2 MB page cache (SQLite's default) each is a system call and a copy.
# Mapped, the OS page cache is read in place and shared by every connection (SQLite caps the
# map at 2 GB by default; beyond it pages are read as before, into a larger page cache).
# bench/search.py, a million clusters, 600 keyword queries with facets, A/B in one process:
# mean -9 %, p50 -17 % with the map; the larger cache alone -3 % / -9 %.
SQLITE_MMAP_BYTES = 2**31
SQLITE_CACHE_KIB = 32 * 1024        # per connection, filled only as pages are read


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the gateway's readers go on while the nightly harvest writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


@dataclass(slots=True)
class Store:
    """The opened store. ``engine`` is shared by every service of one process."""

    engine: AsyncEngine
    url: str
    schema: str | None = None
    _direct: DirectSqlite | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def direct(self) -> DirectSqlite:
        """SQLite only: short units of work in the loop's thread (see ``store.direct``)."""
        if self._direct is None:
            assert self.dialect == "sqlite", "direct units of work are for SQLite"
            self._direct = DirectSqlite(direct_sqlite_engine(
                self.engine, serializer=_json_serializer, deserializer=orjson.loads,
                on_connect=_sqlite_pragmas))
        return self._direct

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def begin_bulk(self) -> AsyncIterator[AsyncConnection]:
        """A transaction of bulk work — a harvest page, an ingest batch — that reads
        SQLite through the page cache, not the memory map (see ``unmapped``)."""
        async with self.engine.begin() as conn, unmapped(conn):
            yield conn

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade_head)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            return True
        except (OSError, sa.exc.SQLAlchemyError):
            return False

    async def close(self) -> None:
        if self._direct is not None:
            self._direct, direct = None, self._direct
            direct.close()
        await self.engine.dispose()


@asynccontextmanager
async def unmapped(conn: AsyncConnection) -> AsyncIterator[None]:
    """SQLite: read through the page cache while the block runs, not the memory map.

    The map is for searches (``SQLITE_MMAP_BYTES``); every page read through it stays in
    the process's resident set while mapped. Bulk work reads across the whole file: a
    rebuild at 500k records peaked at 1.5 GB that way, a 200,000-record harvest at 573 MB
    (its lookups of keys, clusters and records). The OS caches the file either way. The
    connection's map comes back afterwards, also after a failure (best effort then: the
    first error is the one that matters)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    size = int(await conn.scalar(sa.text("PRAGMA mmap_size")) or 0)
    await conn.execute(sa.text("PRAGMA mmap_size=0"))
    try:
        yield
    except BaseException:
        with suppress(sa.exc.SQLAlchemyError, OSError):
            await conn.execute(sa.text(f"PRAGMA mmap_size={size}"))
        raise
    await conn.execute(sa.text(f"PRAGMA mmap_size={size}"))


def _upgrade_head(sync_conn: sa.Connection) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, "head")


def split_schema(url: str) -> tuple[str, str | None]:
    """``postgresql://…/db?schema=NAME`` → the URL without it, and NAME (a search_path)."""
    if "schema=" not in url:
        return url, None
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def make_engine(url: str, *, schema: str | None = None) -> AsyncEngine:
    url, url_schema = split_schema(url)
    schema = schema or url_schema
    target = async_url(url)
    kwargs: dict[str, Any] = {}
    if target.startswith("sqlite"):
        path = target.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
        kwargs["module"] = one_hop_dbapi()          # one thread hop per statement, not four
    elif schema:
        # a test run, or one of several consortia on one server, in its own schema
        kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
    engine = create_async_engine(target, json_serializer=_json_serializer,
                                 json_deserializer=orjson.loads, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


async def open_store(url: str, *, schema: str | None = None, migrate: bool = True) -> Store:
    """Open the store at ``url`` and (by default) upgrade its schema."""
    store = Store(engine=make_engine(url, schema=schema), url=url, schema=schema)
    if migrate:
        await store.migrate()
    return store


def beside_database(db_url: str, name: str) -> Path:
    """A file or folder next to the SQLite database (cwd for PostgreSQL or in-memory)."""
    if db_url.startswith("sqlite"):
        db_path = db_url.split("///", 1)[-1].split("?", 1)[0]
        if db_path and db_path != ":memory:":
            return Path(db_path).parent / name
    return Path(name)


def as_utc(value: datetime) -> datetime:
    """A timestamp as an aware UTC datetime: SQLite hands ``DateTime(timezone=True)`` columns
    back naive (they were written in UTC); naive user input is read as UTC too."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
