"""Clustering benchmark: `libgate clusters rebuild` over records already in the store.

Builds (untimed) a SQLite store of N records cloned from the real bibliographic records in
../shared/data/marc: each clone gets a new local id, a title varied by a generated word, its
own ISBN/OCLC number, and one of 40 member libraries as holder (with one holding), and its
stored match profile as ingest and harvest store it (``--no-stored-profiles``: none, so the
rebuild makes every profile, as after a change of ``profile_of``). Roughly a third of the
records are duplicates: a work is catalogued by 2-3 members, sharing identifiers (one of the
copies without its ISBN, so it matches on title/author; one in ALL CAPS).
Then, in a child process per size so that peak RSS is its own, it times the rebuild: keys,
candidate pairs, rules, union-find, memberships, links and merged records, and the search rows
and OAI sets that follow every cluster change, one transaction; the split (clustering /
search / sets) is printed.

Prints records/s (target ≥ 20,000/s), peak RSS (target < 1 GB), the time ratio of the
largest to the smallest size (target ≤ 2.2 × for 2 × records), and the rebuild's time against
an anchor run in the same process: one bare pass reading every record's normalized JSON
(machines are noisy; the ratio says what the clustering costs beyond reading). Then the CPU:
the rebuilding process (and of it, the thread SQLite's statements run on: one writer, so one
core), the workers, and what 20,000 records/s would leave on this machine's cores.

    python bench/cluster.py [--sizes 250000,500000] [--db-dir DIR] [--no-stored-profiles]

Latest (2026-12-06, quiet 2-core machine): 250k records 26.9 s, 500k 51.5 s = 9,709
records/s (another run 49.1 s), peak RSS 937 MB + 198 MB per worker, time ratio 1.92; CPU
162 µs a record, of which SQLite's statements 52 µs on one thread, where 20,000 records/s
on 2 cores allows 100 µs for everything and 50 µs of wall time. Every earlier figure, and
what changed between them: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "marc"
sys.path.insert(0, str(ROOT))

MEMBERS = 40
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def base_records() -> list[dict]:
    import contextlib
    import io
    import logging
    import warnings

    from gateway.ingest import process_raw
    from gateway.store.records import IncomingRecord
    from protocols.marc import MarcStreamReader
    logging.getLogger("pymarc").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")
    out = []
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for path in sorted(SHARED.rglob("*")):
            if not path.is_file():
                continue
            reader = MarcStreamReader()
            for raw in [*reader.feed(path.read_bytes()), *reader.close()]:
                item = process_raw(raw)
                if (isinstance(item, IncomingRecord) and item.normalized.title
                        and item.normalized.record_type == "bibliographic"):
                    out.append(item.normalized.to_dict())
    return out


def word(n: int) -> str:
    letters = []
    n += 26 * 26
    while n:
        n, r = divmod(n, 26)
        letters.append(LETTERS[r])
    return "".join(letters)


def isbn13(n: int) -> str:
    body = f"979{n % 10**9:09d}"
    total = sum((1 if i % 2 == 0 else 3) * int(d) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def clones(count: int, seed: int = 7):
    """(member index, normalized dict) for ``count`` records; ~1/3 are duplicates."""
    rnd = random.Random(seed)
    pool = base_records()
    made = work = 0
    while made < count:
        base = pool[work % len(pool)]
        extra = word(work)
        copies = 1 if rnd.random() < 0.80 else rnd.choice((2, 2, 3))
        holders = rnd.sample(range(MEMBERS), copies)
        for copy, member in enumerate(holders):
            if made >= count:
                break
            norm = dict(base)
            norm["local_id"] = f"b{made:08d}"
            norm["title"] = f"{extra.capitalize()} {base['title']}"
            norm["isbns"] = [isbn13(work)] if copy != 1 else []
            norm["oclc_numbers"] = [str(10**8 + work)] if copy == 0 else []
            norm["lccn"] = None
            norm["other_ids"] = []
            if copy == 2:
                norm["title"] = norm["title"].upper()
            norm["holdings"] = [{"location": f"Main {member}", "call_number": f"QA{work}",
                                 "lendable": copy != 2, "barcode": None, "note": None,
                                 "source": "852"}]
            yield member, norm
            made += 1
        work += 1


async def build_store(path: Path, count: int, stored_profiles: bool = True) -> None:
    """``stored_profiles``: each record carries its match profile, as ingest and harvest
    store it; without, every profile is made again by the rebuild (as after a change of
    ``profile_of``, or for records stored before profiles were kept)."""
    import sqlalchemy as sa

    from gateway.jsontext import dumps_json
    from gateway.store import open_store
    from gateway.store.schema import holdings, members, records
    from protocols.matching.keys import profile_of, stored_profile
    store = await open_store(f"sqlite:///{path}")
    stamp = datetime.now(UTC)
    async with store.begin() as conn:
        await conn.execute(members.insert(), [
            {"code": f"XX-M{m:02d}", "name": f"Library {m}", "status": "open",
             "created_at": stamp, "updated_at": stamp} for m in range(MEMBERS)])
        member_ids = list((await conn.execute(sa.select(members.c.id).order_by(
            members.c.id))).scalars())
    batch, held = [], []
    next_id = 1

    async def flush() -> None:
        async with store.begin() as conn:
            await conn.execute(records.insert(), batch)
            await conn.execute(holdings.insert(), held)
        batch.clear()
        held.clear()
    for member, norm in clones(count):
        rid = next_id
        next_id += 1
        batch.append({"id": rid, "member_id": member_ids[member], "local_id": norm["local_id"],
                      "source_format": "marc21", "record_type": "bibliographic",
                      "title": norm["title"], "year": norm["year"], "format": norm["format"],
                      "content_hash": norm["local_id"], "normalized": norm, "raw": b"",
                      "raw_syntax": "iso2709", "created_at": stamp, "updated_at": stamp,
                      "match_profile": dumps_json(stored_profile(profile_of(
                          norm, record_id=rid, member="", local_id=norm["local_id"])))
                      if stored_profiles else None})
        held.extend({"record_id": rid, "member_id": member_ids[member], **h}
                    for h in norm["holdings"])
        if len(batch) >= 5000:
            await flush()
    if batch:
        await flush()
    await store.close()


async def timed_read(path: Path) -> float:
    """The anchor: one bare pass reading every record's normalized JSON, nothing else."""
    import sqlalchemy as sa

    from gateway.store import open_store
    from gateway.store.schema import records
    store = await open_store(f"sqlite:///{path}")
    started = time.perf_counter()
    async with store.connect() as conn:
        last = 0
        while True:
            rows = (await conn.execute(sa.select(records.c.id, records.c.normalized).where(
                records.c.id > last).order_by(records.c.id).limit(5000))).all()
            if not rows:
                break
            last = rows[-1].id
    seconds = time.perf_counter() - started
    await store.close()
    return seconds


def thread_cpu_seconds(native_id: int | None) -> float:
    """CPU of one thread of this process (Linux /proc; 0 where it cannot be read)."""
    try:
        fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def timed_rebuild(path: Path) -> dict:
    from gateway.index.rebuild import rebuild
    from gateway.store import open_store
    store = await open_store(f"sqlite:///{path}")
    started = time.perf_counter()
    async with store.begin() as conn:
        # the thread aiosqlite runs this connection's statements on: SQLite's own work (one
        # writer: it cannot be spread over cores)
        raw = await conn.get_raw_connection()
        thread = getattr(raw.driver_connection, "_thread", None)
        native_id = getattr(thread, "native_id", None)
        sqlite_before = thread_cpu_seconds(native_id)
        result = await rebuild(conn)
        result["cpu_sqlite"] = thread_cpu_seconds(native_id) - sqlite_before
    result["seconds"] = time.perf_counter() - started
    await store.close()
    return result


def reset_peak_rss() -> bool:
    """Linux: writing 5 to clear_refs resets the process's peak RSS (VmHWM)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(path: str, count: int, stored_profiles: bool) -> None:
    """Build the store (untimed) in one process, then time read and rebuild in another, so
    the peak RSS reported is the rebuild's own."""
    if count:
        asyncio.run(build_store(Path(path), count, stored_profiles))
        return
    anchor = asyncio.run(timed_read(Path(path)))
    # the anchor read the whole file (mapped: searches map it, see store.engine): its pages
    # were in this process's peak; start the peak afresh so what is reported is the rebuild's
    fresh_peak = reset_peak_rss()
    before = cpu_seconds(resource.RUSAGE_SELF)
    result = asyncio.run(timed_rebuild(Path(path)))
    # the workers have been joined when the rebuild returns: their CPU is in RUSAGE_CHILDREN
    result["cpu_self"] = cpu_seconds(resource.RUSAGE_SELF) - before
    result["cpu_workers"] = cpu_seconds(resource.RUSAGE_CHILDREN)
    result["anchor_seconds"] = anchor
    result["peak_rss_mb"] = (peak_rss_kib() if fresh_peak else resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss) / 1024
    # the largest of the rebuild's worker processes (each has its own; 0 without workers)
    result["worker_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(result))


def cpu_line(size: int, result: dict) -> str:
    """What the rebuild cost in CPU, and what the target rate would leave it on this
    machine's cores (the ceiling no overlap of the work can lift)."""
    cores = os.cpu_count() or 1
    used = result["cpu_self"] + result["cpu_workers"]
    allowed = size / 20_000 * cores
    return (f"          CPU: rebuilding process {result['cpu_self']:.1f}s (of which SQLite's "
            f"statements {result.get('cpu_sqlite', 0):.1f}s = "
            f"{result.get('cpu_sqlite', 0) / size * 1e6:.0f} µs a record, on one thread) + "
            f"workers {result['cpu_workers']:.1f}s = {used:.1f}s ({used / size * 1e6:.0f} µs a "
            "record), "
            f"{used / result['seconds']:.2f} of {cores} cores busy on average; at 20,000 "
            f"records/s {cores} cores give {allowed:.1f}s ({cores / 20_000 * 1e6:.0f} µs a "
            f"record)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="250000,500000")
    parser.add_argument("--db-dir", default=None)
    parser.add_argument("--no-stored-profiles", action="store_true",
                        help="records without their stored match profile: the rebuild makes "
                             "every profile (as after a change of profile_of)")
    parser.add_argument("--child", nargs=2, metavar=("DB", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), not args.no_stored_profiles)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {}
    with tempfile.TemporaryDirectory(dir=args.db_dir) as tmp:
        for size in sizes:
            db = Path(tmp) / f"cluster-{size}.db"
            subprocess.run([sys.executable, __file__, "--child", str(db), str(size),
                            *(["--no-stored-profiles"] if args.no_stored_profiles else [])],
                           check=True, capture_output=True, text=True)
            out = subprocess.run([sys.executable, __file__, "--child", str(db), "0"],
                                 check=True, capture_output=True, text=True)
            db.unlink()
            result = json.loads(out.stdout.strip().splitlines()[-1])
            results[size] = result
            print(f"{size:>8} records: {result['clusters']:>8} clusters, rebuild "
                  f"{result['seconds']:.1f}s = {size / result['seconds']:,.0f} records/s "
                  f"(target ≥ 20,000), peak RSS {result['peak_rss_mb']:.0f} MB "
                  f"(target < 1024) + {result.get('worker_rss_mb', 0):.0f} MB per worker; "
                  f"anchor (bare read of every record) "
                  f"{result['anchor_seconds']:.1f}s, rebuild = "
                  f"{result['seconds'] / result['anchor_seconds']:.1f} × anchor", flush=True)
            split = result.get("timings", {})
            print("          split: " + ", ".join(
                f"{part} {seconds:.1f}s ({seconds / result['seconds']:.0%})"
                for part, seconds in split.items()), flush=True)
            print(cpu_line(size, result), flush=True)
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        ratio = results[large]["seconds"] / results[small]["seconds"]
        anchored = ((results[large]["seconds"] / results[large]["anchor_seconds"])
                    / (results[small]["seconds"] / results[small]["anchor_seconds"]))
        print(f"time {large} / time {small} = {ratio:.2f} for {large / small:.1f} × records "
              f"(target ≤ 2.2 for 2 ×); against the anchor (rebuild/anchor at {large} over "
              f"rebuild/anchor at {small}) {anchored:.2f}")


if __name__ == "__main__":
    main()
