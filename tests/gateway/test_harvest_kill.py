"""Kill test: a harvest process SIGKILLed at a random page, ten times, then resumed, leaves
the store exactly as an uninterrupted harvest does."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys

import sqlalchemy as sa

from gateway.store.schema import holdings, records
from tests.fakes.fake_member import FakeMember
from tests.gateway.harvest_helpers import MEMBER, harvest, real_fake_records, register
from tests.shared_data import require_shared

LIBGATE = [sys.executable, "-m", "gateway.cli"]


async def snapshot(store) -> tuple[list[tuple], int]:
    async with store.connect() as conn:
        rows = (await conn.execute(sa.select(records.c.local_id, records.c.content_hash,
                                             records.c.deleted, records.c.title)
                                   .order_by(records.c.local_id))).all()
        held = await conn.scalar(sa.select(sa.func.count()).select_from(holdings))
    return [tuple(r) for r in rows], held


async def run_cli(db_url: str, *args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "LIBGATE_HARVEST_DELAY": "0", "LIBGATE_LOG_LEVEL": "WARNING"}
    return await asyncio.create_subprocess_exec(
        *LIBGATE, "--db", db_url, *args, env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)


async def test_sigkill_at_random_pages_then_resume_equals_uninterrupted(store, settings,
                                                                        tmp_path):
    require_shared()
    source = real_fake_records(100)
    rng = random.Random(18626)
    async with FakeMember(list(source), page_size=5) as member:
        await register(store, member.url)
        pages_served = 0
        for attempt in range(10):
            stop_after = pages_served + rng.randint(1, 2)
            process = await run_cli(store.url, "harvest", MEMBER, "--json")
            while True:
                listing = sum(1 for r in member.requests if r.get("verb") == "ListRecords")
                if listing >= stop_after or process.returncode is not None:
                    break
                await asyncio.sleep(0.005)
            if process.returncode is None:
                process.send_signal(signal.SIGKILL)
            await process.wait()
            pages_served = sum(1 for r in member.requests if r.get("verb") == "ListRecords")
            assert process.returncode in (-signal.SIGKILL, 0), (
                attempt, (await process.stderr.read()).decode())
        final = await run_cli(store.url, "harvest", MEMBER, "--json")
        _, err = await final.communicate()
        assert final.returncode == 0, err.decode()
    interrupted = await snapshot(store)

    reference_db = tmp_path / "reference.db"
    from config.settings import load_settings
    from gateway.store import open_store
    reference = await open_store(f"sqlite:///{reference_db}")
    try:
        ref_settings = load_settings(None, {"db": reference.url, "probe_endpoints": False},
                                     environ={})
        async with FakeMember(list(source), page_size=5) as member:
            report = await harvest(reference, ref_settings, member.url)
        assert report.status == "succeeded"
        uninterrupted = await snapshot(reference)
    finally:
        await reference.close()
    assert len(interrupted[0]) == 100
    assert interrupted == uninterrupted
