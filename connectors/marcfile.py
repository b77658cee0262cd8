"""MARC files from a path or an http(s) URL, read as a stream of byte chunks.

``MarcFileConnector.chunks`` is the one seam: tests replace it, or serve a file from an
aiohttp app on port 0. Memory stays constant whatever the file size.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from connectors.errors import ConnectorError
from protocols.redaction import redact_url

CHUNK_SIZE = 1 << 20


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


class MarcFileConnector:
    """Reads a member's MARC export (ISO 2709 or MARCXML, any size)."""

    def __init__(self, *, timeout: float = 60.0, chunk_size: int = CHUNK_SIZE,
                 session: aiohttp.ClientSession | None = None) -> None:
        self.timeout = timeout
        self.chunk_size = chunk_size
        self._session = session

    async def chunks(self, source: str) -> AsyncIterator[bytes]:
        if is_url(source):
            async for chunk in self._fetch_url(source):
                yield chunk
        else:
            async for chunk in self._read_path(Path(source)):
                yield chunk

    async def _read_path(self, path: Path) -> AsyncIterator[bytes]:
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise ConnectorError(f"cannot open MARC file {str(path)!r}: {exc.strerror}") from None
        with handle:
            while True:
                # local disk reads of 1 MiB are quick; no thread hop needed per chunk
                chunk = handle.read(self.chunk_size)
                if not chunk:
                    return
                yield chunk
                await asyncio.sleep(0)

    async def _fetch_url(self, url: str) -> AsyncIterator[bytes]:
        shown = redact_url(url)
        session = self._session or aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_read=self.timeout,
                                          sock_connect=self.timeout),
            auto_decompress=True)
        try:
            async with session.get(url) as response:
                if response.status != 200:
                    raise ConnectorError(f"GET {shown} answered HTTP {response.status} "
                                         f"{response.reason or ''}".rstrip())
                async for chunk in response.content.iter_chunked(self.chunk_size):
                    yield chunk
        except aiohttp.ClientPayloadError as exc:
            raise ConnectorError(f"GET {shown}: body ended early ({exc.__class__.__name__})") \
                from None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise ConnectorError(f"GET {shown} failed: {exc.__class__.__name__} "
                                 f"{str(exc).replace(url, shown or '')}".rstrip()) from None
        finally:
            if self._session is None:
                await session.close()
