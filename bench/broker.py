"""ILL broker benchmark: signed ISO 18626 supplyingAgencyMessages through HTTP → verify →
state change → commit, on SQLite.

LibGate runs in a child process (`create_app` on a loopback port, a fresh SQLite store holding
R open requests of borrower US-BOR at lender US-LA); this process is the load generator: it
pre-signs 4 status messages per request (ExpectToSupply, WillSupply, Loaned, Overdue — each
request's messages in order, requests in parallel over C connections) and times each POST
until its confirmation. The same run is repeated with signature verification switched off
(in the child only: ``VERIFY_SIGNATURES`` is not a setting) — the cost of security.

Target: ≥ 1,000 messages/s and p99 < 50 ms with signatures on.

Measured 2026-11-28 on the shared 2-core machine (load average 3–4 from other jobs), default
arguments: signatures on 340–600 msg/s, p50 48–76 ms, p99 137–350 ms; off 560–1,070 msg/s,
p50 27–42 ms, p99 88–246 ms (before the SQLite hot path moved into the loop's thread, same
conditions: on 227–306 msg/s, p99 258–434 ms; off 320–441 msg/s). The server then spends
~1.8 ms of CPU per signed message, ~1 ms of it in http-message-signatures: not met.

    python bench/broker.py [--requests 1000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STATUSES = ("ExpectToSupply", "WillSupply", "Loaned", "Overdue")


# --- the server (child process) -----------------------------------------------------------

async def prepare(db: str, key_file: str, requests: int) -> dict:
    """Members, LA's key, and ``requests`` requests already sent to LA."""
    from config.settings import load_settings
    from gateway import registry
    from gateway.broker import flow
    from gateway.broker.state import change
    from gateway.security.keys import create_member_key
    from gateway.store import open_store
    from gateway.store.schema import ill_requests, ill_rota

    store = await open_store(db)
    settings = load_settings(None, {"db": db, "gateway_key_file": key_file}, environ={})
    for code in ("US-BOR", "US-LA"):
        await registry.add_member(store, code, code)
    async with store.begin() as conn:
        key, pem = await create_member_key(conn, "US-LA", grace=dt.timedelta(days=1))
        bor, la = (await registry.member_id(conn, "US-BOR"), await registry.member_id(conn, "US-LA"))
    now = dt.datetime.now(dt.UTC)
    refs = [f"LG-B{n:06d}" for n in range(requests)]
    async with store.begin() as conn:
        ids = (await conn.execute(ill_requests.insert().returning(
            ill_requests.c.id, sort_by_parameter_order=True), [
            {"ref": ref, "requester_id": bor, "service_type": "Loan",
             "citation": {"title": "Opticks"}, "item_key": ref, "state": "new", "holds": [],
             "position": 0, "txn": {}, "excluded": [], "created_at": now, "updated_at": now}
            for ref in refs])).scalars().all()
        await conn.execute(ill_rota.insert(), [
            {"request_id": rid, "position": 1, "member_id": la, "reason": "bench",
             "outcome": "waiting"} for rid in ids])
    for rid in ids:
        await change(store, rid, now, flow.start)
    await store.close()
    del settings
    return {"key_id": key.key_id, "pem": pem.decode(), "refs": refs}


def serve(db: str, key_file: str, verify: bool) -> None:
    from aiohttp import web

    from config.settings import load_settings
    from gateway.app import create_app, tune_gc_for_serving
    from gateway.keys import VERIFY_SIGNATURES
    import logging
    logging.disable(logging.WARNING)

    settings = load_settings(None, {"db": db, "gateway_key_file": key_file,
                                    "signature_max_age": 600.0}, environ={})
    app = create_app(settings)
    app[VERIFY_SIGNATURES] = verify
    tune_gc_for_serving()                       # as `libgate serve` does

    async def run_server() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", int(os.environ["BENCH_PORT"])).start()
        print("ready", flush=True)          # only once the socket listens
        await asyncio.Event().wait()

    if os.environ.get("BENCH_PROFILE"):           # where the server's time goes
        import cProfile
        import signal
        profiler = cProfile.Profile()

        def dump(*_: object) -> None:
            profiler.disable()
            profiler.dump_stats(os.environ["BENCH_PROFILE"])
            os._exit(0)
        signal.signal(signal.SIGTERM, dump)
        profiler.enable()
    asyncio.run(run_server())


# --- the load generator (this process) --------------------------------------------------

def presign(setup: dict, url: str) -> list[list[tuple[bytes, dict]]]:
    from gateway.broker import messages as msgs
    from protocols.httpsig import load_private_key, sign_request
    from protocols.iso18626.codec import encode
    from protocols.iso18626.codes import Status

    private = load_private_key(setup["pem"].encode())
    base = dt.datetime.now(dt.UTC)
    per_request = []
    for ref in setup["refs"]:
        chain = []
        for n, status in enumerate(STATUSES):
            message = msgs.supplying_message(requester="US-BOR", supplier="US-LA", ref=ref,
                                             now=base + dt.timedelta(milliseconds=n),
                                             status=Status(status))
            body = encode(message)
            headers = sign_request("POST", url, {"Content-Type": "application/xml"}, body,
                                   key_id=setup["key_id"], private_key=private)
            chain.append((body, headers))
        per_request.append(chain)
    return per_request


async def load(url: str, chains: list, concurrency: int) -> tuple[float, list[float], int]:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue = asyncio.Queue()
    for chain in chains:
        queue.put_nowait(chain)

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while not queue.empty():
            chain = queue.get_nowait()
            for body, headers in chain:
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    answer = await response.read()
                latencies.append(time.perf_counter() - started)
                if response.status != 200 or b">OK<" not in answer:
                    errors += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*[worker(session) for _ in range(concurrency)])
        elapsed = time.perf_counter() - started
    return elapsed, latencies, errors


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(verify: bool, requests: int, concurrency: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/bench.db"
        key_file = f"{tmp}/gateway.pem"
        setup = asyncio.run(prepare(db, key_file, requests))
        port = free_port()
        url = f"http://127.0.0.1:{port}/iso18626"
        chains = presign(setup, url)
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", db, key_file, "1" if verify else "0"],
            env={**os.environ, "BENCH_PORT": str(port)}, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout.readline().strip() == "ready"
            elapsed, latencies, errors = asyncio.run(load(url, chains, concurrency))
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies.sort()
    return {"verify": verify, "messages": len(latencies), "errors": errors,
            "per_second": len(latencies) / elapsed,
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))]}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3], sys.argv[4] == "1")
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    on = run(True, args.requests, args.concurrency)
    off = run(False, args.requests, args.concurrency)
    if args.json:
        print(json.dumps({"signatures_on": on, "signatures_off": off}))
        return
    print(f"{args.requests} requests x {len(STATUSES)} signed supplyingAgencyMessages, "
          f"{args.concurrency} connections, SQLite")
    for result in (on, off):
        label = "signatures on " if result["verify"] else "signatures off"
        print(f"  {label}: {result['per_second']:7.0f} msg/s   p50 {result['p50_ms']:6.1f} ms"
              f"   p99 {result['p99_ms']:6.1f} ms   errors {result['errors']}")
    print(f"  cost of security: {off['per_second'] / on['per_second']:.2f}x throughput, "
          f"p99 {on['p99_ms'] / off['p99_ms']:.2f}x")
    print(f"  target (signatures on): >= 1000 msg/s: "
          f"{'met' if on['per_second'] >= 1000 else 'NOT met'}; p99 < 50 ms: "
          f"{'met' if on['p99_ms'] < 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
