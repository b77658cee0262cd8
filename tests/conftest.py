"""Fixtures shared by every test package: the store on both backends, settings, the app.

PostgreSQL tests use ``LIBGATE_TEST_PG`` (default postgresql://postgres@127.0.0.1:5432/test),
each test in its own schema, dropped afterwards. Without a server they skip — except in CI
(``CI=true``), where a missing PostgreSQL is a failure.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest

from config.settings import Settings, load_settings
from gateway.store import Store, open_store

PG_URL = os.environ.get("LIBGATE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI") == "true"
ADMIN_TOKEN = "test-admin-token"


def _pg_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason."""
    try:
        import asyncpg
    except ImportError:
        return "asyncpg is not installed (pip install -e '.[postgres]')"

    async def probe() -> None:
        conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg", "postgresql"),
                                     timeout=3)
        await conn.close()
    try:
        asyncio.run(probe())
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL at {PG_URL} unreachable: {exc.__class__.__name__}: {exc}"
    return None


_PG_PROBLEM: list[str | None] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    # probe once, before any event loop runs
    _PG_PROBLEM.append(_pg_reachable())


def pg_problem() -> str | None:
    return _PG_PROBLEM[0] if _PG_PROBLEM else "PostgreSQL was not probed"


def require_postgres() -> None:
    problem = pg_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true and {problem}")
        pytest.skip(problem)


async def _pg_admin(sql: str) -> None:
    import asyncpg
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Store]:
    """The store, once on SQLite and once on PostgreSQL (own schema, dropped afterwards)."""
    if request.param == "sqlite":
        opened = await open_store(f"sqlite:///{tmp_path / 'libgate.db'}")
        try:
            yield opened
        finally:
            await opened.close()
        return
    require_postgres()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    await _pg_admin(f'CREATE SCHEMA "{schema}"')
    opened = await open_store(f"{PG_URL}?schema={schema}")
    try:
        yield opened
    finally:
        await opened.close()
        await _pg_admin(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def settings(store: Store, tmp_path) -> Settings:
    # probing is off: these tests register endpoints at example URLs; probe tests turn it on
    # politeness delay off: every fake member is on this machine; pages are converted
    # in-process (the worker-process path has tests of its own)
    return load_settings(None, {"db": store.url, "admin_token": ADMIN_TOKEN,
                                "probe_endpoints": False, "harvest_delay": 0,
                                "harvest_workers": 0,
                                "gateway_key_file": str(tmp_path / "gateway-key.pem"),
                                "files_dir": str(tmp_path / "files")}, environ={})
