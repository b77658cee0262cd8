"""The gateway's one retry policy: what is retried, how long it waits, when it gives up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp import web

from connectors.errors import ConnectorError
from connectors.http import HostLimiter, HttpClient, RetryPolicy, make_session, parse_retry_after


def test_retry_after_seconds_and_http_date():
    now = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Fri, 27 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Fri, 27 Nov 2026 11:00:00 GMT", now) == 0.0   # already past
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


async def serve(handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/x", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/x"


async def test_retry_after_is_capped_and_4xx_is_not_retried():
    calls = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(1)
        if len(calls) == 1:
            return web.Response(status=503, headers={"Retry-After": "86400"})
        return web.Response(status=404, text="no such thing")
    runner, url = await serve(handler)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
    try:
        async with make_session(5) as session:
            client = HttpClient(session, RetryPolicy(max_retry_after=7.0), sleep=sleep)
            response = await client.get(url)
    finally:
        await runner.cleanup()
    assert waits == [7.0]
    assert response.status == 404 and response.body == b"no such thing"


async def test_gives_up_with_the_last_cause_and_no_secret():
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=502)
    runner, url = await serve(handler)

    async def sleep(seconds: float) -> None:
        return None
    secret_url = url.replace("http://", "http://harvester:pa55word@")
    try:
        async with make_session(5) as session:
            client = HttpClient(session, RetryPolicy(attempts=3), sleep=sleep)
            with pytest.raises(ConnectorError) as caught:
                await client.get(secret_url)
    finally:
        await runner.cleanup()
    assert "after 3 attempts: HTTP 502" in str(caught.value)
    assert "pa55word" not in str(caught.value)


async def test_oversized_response_is_refused():
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5000)
    runner, url = await serve(handler)
    try:
        async with make_session(5) as session:
            with pytest.raises(ConnectorError, match="exceeds 1000 bytes"):
                await HttpClient(session, max_bytes=1000).get(url)
    finally:
        await runner.cleanup()


async def test_host_limiter_bounds_concurrency_per_host():
    import asyncio
    limiter = HostLimiter(per_host=2)
    active = peak = 0

    async def job() -> None:
        nonlocal active, peak
        async with limiter.slot("http://one.example/oai"):
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.01)
            active -= 1
    await asyncio.gather(*(job() for _ in range(8)))
    assert peak == 2
