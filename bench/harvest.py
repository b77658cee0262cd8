"""Harvest benchmark: LibGate vs Sickle vs the bare floor, on one local OAI-PMH endpoint.

Serves N real-derived MARCXML records (100 per page) from bench/oai_server.py in its own
process, then times in this one script:

  (a) Sickle ListRecords + pymarc.parse_xml_to_array per record, storing nothing
      — what a user writes today
  (b) aiohttp fetch + lxml parse of every page, nothing else — the floor
  (c) LibGate's harvest into a fresh SQLite store, records committed (child process, so its
      peak RSS is its own)

and prints records/s, the ratios (targets: c ≥ 3 × a, c ≥ 0.40 × b) and peak RSS. Second
scenario: 20 members with 50 ms latency per request — LibGate's wall time for all of them at
once against the slowest single member alone (target ≤ 1.5 ×). Politeness delay is 0 here
(every member is this machine).

    python bench/harvest.py [--records 50000] [--members 20] [--member-records 2000]
                            [--workers N] [--skip-sickle] [--skip-members]
                            [--identical-clones]

The records: the ~2,500 real ones, then clones made distinct works (bench/oai_server.py);
--identical-clones serves the stress corpus where each real record recurs records/2,500
times (clusters that size, re-merged on every page).

Measured 2026-11-28 on a quiet machine, 50k: a 1,768/s, b 13,050/s, c 1,278/s
(harvest_workers=1), c/a 0.72, c/b 0.10, peak RSS 134 MB + 83 MB worker; 200k: c 883/s,
139 MB + 83 MB; 20 members x 2,000 @ 50 ms: floor 1.22 s alone, 2.66 s together (2.18x),
LibGate 2.83 s alone, 38.78 s together (13.7x).
The session's changes, measured A/B at 10-20k records under load 2-4: batched RETURNING
inserts (576 -> 928/s), FreshRecords + merged records handed to the listeners (-> 970/s),
one thread hop per SQLite statement (+11 %), no deletes for new clusters (~820 -> ~1,080/s);
key holders in two statements and links not read back were not measured alone. At the start of the session a
quiet machine gave c = 138/s on the identical-clone corpus (clusters re-merged per page).
Measured 2026-12-06, quiet: 50k a 1,875/s, b 19,539/s, c 1,575/s (c/a 0.84, c/b 0.08; peak
RSS 218 MB including the mapped database pages); 20 members: floor 1.18 s alone, 2.62 s
together (2.23x), LibGate 2.57 s alone, 40.45 s together (15.75x). The harvesting process
ran at 91 % of a core, its conversion worker at 44 %.
Later the same day: 50k a 1,790/s, b 19,378/s, c 1,631/s (c/a 0.91); 200k c 1,459/s, peak
RSS 176 MB + 86 MB worker once page commits read SQLite unmapped (573 MB before); 20
members: floor 1.22 s alone, 2.11 s together (1.74x), LibGate 2.56 s / 34.54 s.
Session 7 (same day), with one full garbage collection in 100 (gateway.garbage_collection),
A/B in the same hour: c 1,535 -> 1,935/s (c/a 0.78 -> 0.99, c/b 0.08), CPU 883 -> 710 µs a
record; 20 members: floor 1.17 s / 1.93 s (1.65x), LibGate 2.32 s / 26.46 s (11.4x).
Why the targets stay out of reach on 2 cores (the CPU line): every page also writes
clusters, merged records, search rows and OAI sets (issue 4) — LibGate spends ~520 µs of
CPU a record in the harvesting process and ~300 µs in its worker, where the target rate
leaves ~258 µs for everything; and the floor alone misses the 20-member ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OAI = "{http://www.openarchives.org/OAI/2.0/}"


def start_server(*args: str) -> tuple[subprocess.Popen, list[int]]:
    server = subprocess.Popen([sys.executable, str(ROOT / "bench" / "oai_server.py"), *args],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = server.stdout.readline().split()
    assert line and line[0] == "ready", line
    return server, [int(p) for p in line[1:]]


def sickle_run(url: str) -> tuple[int, float]:
    import pymarc
    from lxml import etree
    from sickle import Sickle
    started = time.perf_counter()
    n = 0
    for record in Sickle(url).ListRecords(metadataPrefix="marc21", ignore_deleted=False):
        metadata = record.xml.find(f".//{OAI}metadata")
        for parsed in pymarc.parse_xml_to_array(io.BytesIO(etree.tostring(metadata[0]))):
            n += parsed is not None
    return n, time.perf_counter() - started


async def floor_run(url: str) -> tuple[int, float]:
    import aiohttp
    from lxml import etree
    started = time.perf_counter()
    n = 0
    params = {"verb": "ListRecords", "metadataPrefix": "marc21"}
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(url, params=params) as response:
                root = etree.fromstring(await response.read(),
                                        etree.XMLParser(huge_tree=True, resolve_entities=False))
            n += len(root.findall(f"{OAI}ListRecords/{OAI}record"))
            token = root.findtext(f"{OAI}ListRecords/{OAI}resumptionToken")
            if not token or not token.strip():
                break
            params = {"verb": "ListRecords", "resumptionToken": token.strip()}
    return n, time.perf_counter() - started


async def floors_at_once(urls: list[str]) -> float:
    """Wall time of the floor (b) over every member at once: what any harvester needs at
    least to fetch and parse them all on this machine."""
    started = time.perf_counter()
    await asyncio.gather(*(floor_run(u) for u in urls))
    return time.perf_counter() - started


async def libgate_run(db: str, urls: list[str]) -> dict:
    """In the child: register the members, harvest them all at once, report."""
    from config.settings import load_settings
    from gateway.harvest.runner import Harvester, targets
    from gateway.registry import EndpointSpec, add_member
    from gateway.store import open_store
    overrides = {"db": db, "harvest_delay": 0, "probe_endpoints": False}
    if os.environ.get("BENCH_HARVEST_WORKERS"):
        overrides["harvest_workers"] = int(os.environ["BENCH_HARVEST_WORKERS"])
    settings = load_settings(None, overrides, environ={})
    store = await open_store(db)
    for n, url in enumerate(urls):
        await add_member(store, f"US-B{n:02d}", f"Bench {n}",
                         endpoint_specs=[EndpointSpec("oai-pmh", url=url)])
    chosen = await targets(store, None)
    harvester = Harvester(store, settings)
    worker_peaks: dict[int, float] = {}

    async def watch_workers() -> None:
        # the pool is shut down when harvest_all returns: read its workers' peaks meanwhile
        while True:
            for pid in harvester.converter.worker_pids():
                worker_peaks[pid] = max(worker_peaks.get(pid, 0.0), peak_rss_mb(pid))
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch_workers())
    cpu_before = cpu_seconds(resource.RUSAGE_SELF)
    started = time.perf_counter()
    reports = await harvester.harvest_all(chosen, full=True)
    seconds = time.perf_counter() - started
    cpu_self = cpu_seconds(resource.RUSAGE_SELF) - cpu_before
    watcher.cancel()
    await store.close()
    # the conversion workers are being shut down: once reaped, their CPU is in
    # RUSAGE_CHILDREN (the only other child, multiprocessing's resource tracker, idles)
    for _ in range(100):
        if not any(Path(f"/proc/{pid}").exists() for pid in worker_peaks):
            break
        await asyncio.sleep(0.05)
    assert all(r.status == "succeeded" for r in reports), [r.error for r in reports]
    return {"records": sum(r.added for r in reports), "seconds": seconds,
            "worker_peak_rss_mb": max(worker_peaks.values(), default=0.0),
            "gateway_peak_rss_mb": peak_rss_mb("self"), "workers": settings.harvest_workers,
            "cpu_self": cpu_self, "cpu_workers": cpu_seconds(resource.RUSAGE_CHILDREN)}


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb(pid: int | str) -> float:
    """VmHWM (peak resident set) of a live process, in MB; 0 when it is gone. Unlike
    ru_maxrss it starts afresh at exec, so the forked bench parent's memory is not in it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def libgate_child(urls: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        child = subprocess.Popen([sys.executable, __file__, "--child", f"sqlite:///{tmp}/h.db",
                                  *urls], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True)
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        assert status == 0, out
        result = json.loads(out.strip().splitlines()[-1])
        result["peak_rss_mb"] = usage.ru_maxrss / 1024     # includes the pre-exec fork image
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--member-records", type=int, default=2_000)
    parser.add_argument("--skip-sickle", action="store_true")
    parser.add_argument("--skip-members", action="store_true",
                        help="only the first scenario (one member)")
    parser.add_argument("--workers", type=int, default=None,
                        help="harvest_workers for LibGate (default: the setting's default)")
    parser.add_argument("--identical-clones", action="store_true",
                        help="stress corpus: every clone keeps its original's content, so "
                             "clusters grow to records/2,500 (see bench/oai_server.py)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workers is not None:
        os.environ["BENCH_HARVEST_WORKERS"] = str(args.workers)
    if args.child:
        print(json.dumps(asyncio.run(libgate_run(args.child[0], args.child[1:]))))
        return

    corpus = ["--identical-clones"] if args.identical_clones else []
    server, [port] = start_server("--records", str(args.records), *corpus)
    url = f"http://127.0.0.1:{port}/oai"
    try:
        floor_n, floor_s = asyncio.run(floor_run(url))
        ours = libgate_child([url])
        sickle_n, sickle_s = (0, 1.0) if args.skip_sickle else sickle_run(url)
    finally:
        server.terminate()
    rate_a, rate_b = max(sickle_n, 1) / sickle_s, floor_n / floor_s
    rate_c = ours["records"] / ours["seconds"]
    print(f"harvest benchmark: {args.records} MARCXML records, 100 per page, local endpoint")
    if args.skip_sickle:
        print("  (a) Sickle + pymarc.parse_xml_to_array :   skipped")
    else:
        print(f"  (a) Sickle + pymarc.parse_xml_to_array : {rate_a:9.0f} records/s")
    print(f"  (b) aiohttp + lxml page parse (floor)  : {rate_b:9.0f} records/s")
    print(f"  (c) libgate harvest into SQLite        : {rate_c:9.0f} records/s "
          f"(peak RSS {ours['gateway_peak_rss_mb']:.0f} MB; harvest_workers="
          f"{ours['workers']}, largest worker {ours['worker_peak_rss_mb']:.0f} MB)")
    ratio_a = "  n/a" if args.skip_sickle else f"{rate_c / rate_a:5.2f}"
    print(f"  c / a = {ratio_a} (target ≥ 3)   c / b = {rate_c / rate_b:5.2f} "
          f"(target ≥ 0.40)")
    # the ceiling: CPU per record against what this machine's cores give at the target rate
    cores = os.cpu_count() or 1
    target = max(0.0 if args.skip_sickle else 3 * rate_a, 0.40 * rate_b)
    per_record = (ours["cpu_self"] + ours["cpu_workers"]) / ours["records"] * 1e6
    print(f"  CPU of (c): harvesting process {ours['cpu_self'] / ours['records'] * 1e6:.0f} µs "
          f"+ conversion workers {ours['cpu_workers'] / ours['records'] * 1e6:.0f} µs = "
          f"{per_record:.0f} µs a record; at the target rate ({target:,.0f} records/s) "
          f"{cores} cores give {cores / target * 1e6:.0f} µs a record"
          f" (the floor (b) alone uses {1e6 / rate_b:.0f} µs of one core)")

    if args.skip_members:
        return
    server, ports = start_server("--records", str(args.member_records), "--members",
                                 str(args.members), "--latency", "0.05", *corpus)
    urls = [f"http://127.0.0.1:{p}/oai" for p in ports]
    try:
        floor_alone = max(asyncio.run(floor_run(u))[1] for u in urls[:3])
        floor_together = asyncio.run(floors_at_once(urls))
        alone = max(libgate_child([u])["seconds"] for u in urls[:3])
        together = libgate_child(urls)
    finally:
        server.terminate()
    print(f"{args.members} members × {args.member_records} records, 50 ms latency per request:")
    print(f"  (b) floor, slowest single member alone : {floor_alone:6.2f} s")
    print(f"  (b) floor, all {args.members} at once           : {floor_together:6.2f} s  "
          f"ratio {floor_together / floor_alone:4.2f} (what fetch + parse alone allow here)")
    print(f"  (c) libgate, slowest single member alone : {alone:6.2f} s")
    print(f"  (c) libgate, all {args.members} at once           : {together['seconds']:6.2f} s  "
          f"ratio {together['seconds'] / alone:4.2f} (target ≤ 1.5)")


if __name__ == "__main__":
    main()
