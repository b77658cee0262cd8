"""The page-conversion workers never outlive the harvest process, even a SIGKILLed one."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from gateway.harvest.pages import PageConverter

ROOT = Path(__file__).resolve().parents[2]

OAI_PAGE = (b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            b"<responseDate>2026-01-01T00:00:00Z</responseDate>"
            b'<request verb="ListRecords">http://x.example/oai</request><ListRecords>'
            b"<record><header><identifier>oai:x:1</identifier>"
            b"<datestamp>2026-01-01</datestamp></header><metadata>"
            b'<record xmlns="http://www.loc.gov/MARC21/slim">'
            b"<leader>00000nam a2200000 a 4500</leader>"
            b'<controlfield tag="001">1</controlfield>'
            b'<datafield tag="245" ind1="0" ind2="0"><subfield code="a">A title</subfield>'
            b"</datafield></record></metadata></record></ListRecords></OAI-PMH>")

# A harvest process stand-in: starts two workers, converts a page, says who its workers
# are, then waits to be killed.
HOLDER = textwrap.dedent(f"""
    import asyncio, sys, time
    from gateway.harvest.pages import PageConverter

    async def main():
        converter = PageConverter(2)
        await asyncio.gather(*(converter.oai({OAI_PAGE!r}, 0, 10**6) for _ in range(4)))
        print(*converter.worker_pids(), flush=True)
        time.sleep(600)

    asyncio.run(main())
""")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:    # a zombie is dead; it waits only for its (new) parent to reap it
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def closed_within(stream, seconds: float) -> bool:
    """True once every writer of the pipe ``stream`` reads from has closed it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 0.1)
        if ready and not os.read(stream.fileno(), 65536):
            return True
    return False


async def test_pool_converts_a_page_like_the_process_itself() -> None:
    converter = PageConverter(1)
    try:
        pooled = await converter.oai(OAI_PAGE, 0, 10**6)
        assert len(converter.worker_pids()) == 1
    finally:
        converter.close()
    in_process = await PageConverter(0).oai(OAI_PAGE, 0, 10**6)
    assert pooled == in_process
    assert [item.normalized.title for item in pooled.items] == ["A title"]


def test_workers_exit_when_the_harvest_process_is_sigkilled() -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = holder.stdout.readline()
        workers = [int(pid) for pid in line.split()]
        assert len(workers) == 2, (line, holder.stderr.read() if holder.poll() else "")
        assert all(alive(pid) for pid in workers)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in workers if alive(pid)]
        # nothing (worker, resource tracker) still holds the killed process's output pipes
        assert closed_within(holder.stdout, 10) and closed_within(holder.stderr, 10)
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.stdout.close()
        holder.stderr.close()


async def test_json_made_in_the_worker_is_stored_like_the_record_itself(store) -> None:
    """A record whose normalized JSON was dumped ahead (in a worker) is stored exactly as
    one serialized at commit time, on both backends."""
    import sqlalchemy as sa

    from gateway.registry import add_member
    from gateway.store.records import upsert_batch
    from gateway.store.schema import members, records

    page = await PageConverter(0).oai(OAI_PAGE, 0, 10**6)
    [ahead] = page.items
    assert ahead.normalized_json is not None
    again = (await PageConverter(0).oai(OAI_PAGE, 0, 10**6)).items[0]
    again.local_id, again.normalized_json = "2", None
    await add_member(store, "US-JSON", "JSON test")
    async with store.begin() as conn:
        member_id = await conn.scalar(sa.select(members.c.id))
        counts = await upsert_batch(conn, member_id, None, [ahead, again])
    assert counts.added == 2
    async with store.connect() as conn:
        stored = dict((await conn.execute(sa.select(records.c.local_id,
                                                    records.c.normalized))).all())
    assert stored["oai:x:1"] == stored["2"] == ahead.normalized.to_dict()
