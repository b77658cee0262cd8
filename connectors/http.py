"""The one HTTP client and retry policy of the gateway (OAI-PMH, SRU, MARC URLs, ISO 18626).

What is retried: 503 and 429 (honouring Retry-After given as seconds or as an HTTP-date,
capped), 500/502/504, timeouts, connection resets and truncated bodies — with capped,
jittered exponential backoff and an overall deadline (tenacity). Then the request fails with
the last cause named. Everything else (200, 4xx with an OAI-PMH error body, …) is returned to
the caller, who knows what the body means.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import aiohttp
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.stop import stop_base

from connectors.errors import ConnectorError
from protocols.redaction import redact_url

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 8                 # tries in all, the first included
    base_delay: float = 1.0           # first backoff, doubled each time
    max_delay: float = 60.0           # cap on one backoff
    max_retry_after: float = 600.0    # cap on a server's Retry-After
    deadline: float = 1800.0          # overall seconds for one request, retries included
    jitter: float = 0.25              # ± share of each backoff, so members are not hit in step


@dataclass(slots=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str]
    url: str


class RetryableError(ConnectorError):
    """A failure worth another try; ``retry_after`` is the server's wish, if it said one."""

    def __init__(self, cause: str, retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.cause = cause
        self.retry_after = retry_after


class ResponseTooLarge(ConnectorError):
    pass


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _StopAtDeadline(stop_base):
    def __init__(self, deadline: float, clock: Callable[[], float]) -> None:
        self.deadline = deadline
        self.clock = clock

    def __call__(self, retry_state: RetryCallState) -> bool:
        upcoming = retry_state.upcoming_sleep or 0.0
        return self.clock() + upcoming > self.deadline


class HostLimiter:
    """Per-host politeness shared by every connector of a process: at most ``per_host``
    requests in flight to one host, and at least ``delay`` seconds between their starts."""

    def __init__(self, per_host: int = 2, delay: float = 0.0) -> None:
        self.per_host = per_host
        self.delay = delay
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        host = urlsplit(url).netloc.rsplit("@", 1)[-1].lower()
        semaphore = self._semaphores.setdefault(host, asyncio.Semaphore(self.per_host))
        async with semaphore:
            if self.delay > 0:
                async with self._locks.setdefault(host, asyncio.Lock()):
                    wait = self._next_start.get(host, 0.0) - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    self._next_start[host] = time.monotonic() + self.delay
            yield


class HttpClient:
    """GET with the gateway's retry policy. ``_send`` is the seam a test can replace."""

    def __init__(self, session: aiohttp.ClientSession, policy: RetryPolicy = RetryPolicy(), *,
                 max_bytes: int = 64 * 2**20,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 on_retry: Callable[[str, float], None] | None = None,
                 limiter: HostLimiter | None = None) -> None:
        self.session = session
        self.limiter = limiter or HostLimiter(per_host=1_000_000)
        self.policy = policy
        self.max_bytes = max_bytes
        self._sleep = sleep
        self.on_retry = on_retry

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableError) and error.retry_after is not None:
            return min(error.retry_after, self.policy.max_retry_after)
        backoff = min(self.policy.max_delay,
                      self.policy.base_delay * 2 ** (state.attempt_number - 1))
        return max(0.0, backoff * (1 + random.uniform(-self.policy.jitter, self.policy.jitter)))

    async def get(self, url: str, params: Mapping[str, str] | None = None) -> HttpResponse:
        shown = redact_url(url)
        deadline = time.monotonic() + self.policy.deadline
        attempts = 0

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            if self.on_retry is not None:
                self.on_retry(getattr(error, "cause", str(error)), state.upcoming_sleep or 0.0)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.policy.attempts) | _StopAtDeadline(deadline,
                                                                            time.monotonic),
            wait=self._wait, retry=retry_if_exception_type(RetryableError),
            sleep=self._sleep, before_sleep=before_sleep, reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    async with self.limiter.slot(url):
                        return await self._send(url, params)
        except RetryableError as exc:
            raise ConnectorError(f"GET {shown} failed after {attempts} attempt"
                                 f"{'s' if attempts != 1 else ''}: {exc.cause}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, url: str, params: Mapping[str, str] | None) -> HttpResponse:
        """One request, no retries: the seam fakes replace."""
        try:
            async with self.session.get(url, params=params) as response:
                body = await self._read(response, url)
                if response.status in RETRY_STATUSES:
                    retry_after = (parse_retry_after(response.headers.get("Retry-After"))
                                   if response.status in (429, 503) else None)
                    raise RetryableError(f"HTTP {response.status} {response.reason or ''}"
                                         .rstrip(), retry_after)
                return HttpResponse(response.status, body, response.headers, str(response.url))
        except aiohttp.ClientPayloadError as exc:
            raise RetryableError(f"truncated body ({exc.__class__.__name__})") from None
        except asyncio.TimeoutError:
            raise RetryableError("timed out") from None
        except (aiohttp.ClientConnectionError, ConnectionResetError) as exc:
            raise RetryableError(f"connection failed ({exc.__class__.__name__})") from None

    async def _read(self, response: aiohttp.ClientResponse, url: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > self.max_bytes:
                raise ResponseTooLarge(f"GET {redact_url(url)}: response exceeds "
                                       f"{self.max_bytes} bytes (setting max_xml_bytes)")
            chunks.append(chunk)
        return b"".join(chunks)


def make_session(timeout: float) -> aiohttp.ClientSession:
    """A client session with the gateway's timeouts (connect/read; no total cap on streams)."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
        headers={"User-Agent": "LibGate/0.1 (consortium harvester)"}, auto_decompress=True)
