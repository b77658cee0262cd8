"""ISO 18626 peers: send one agency message, get its confirmation, through one seam.

``Iso18626Connector.send(message)`` encodes the message in its own version (the version the
peer speaks), lets ``sign`` add headers (HTTP message signatures are added by the gateway;
the default signs nothing), POSTs it through ``_send`` - the one I/O seam a test can replace -
and decodes the answer. An ERROR confirmation is returned like an OK one: what to do about a
refusal is the broker's decision. Anything that is not a confirmation of the right kind raises
``ConnectorError`` with the peer's URL (secrets redacted).

No retries here: a resend of the same message is safe (the peer sees the same header
timestamp and treats it as a duplicate), but when to resend is the broker's call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import aiohttp

from connectors.errors import ConnectorError
from protocols.iso18626 import model as m
from protocols.iso18626.codec import MAX_MESSAGE_BYTES, decode, encode
from protocols.iso18626.errors import Iso18626Error
from protocols.redaction import redact_url

Signer = Callable[[str, str, Mapping[str, str], bytes], Mapping[str, str]]
CONTENT_TYPE = "application/xml; charset=utf-8"


def no_signature(method: str, url: str, headers: Mapping[str, str],
                 body: bytes) -> Mapping[str, str]:
    """The default ``sign`` hook: the headers unchanged."""
    return headers


class Iso18626Connector:
    def __init__(self, url: str, session: aiohttp.ClientSession, *,
                 sign: Signer = no_signature, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.url = url
        self.session = session
        self.sign = sign
        self.max_bytes = max_bytes

    async def send(self, message: m.AgencyMessage) -> m.Confirmation:
        """POST ``message`` to the peer and return its confirmation (OK or ERROR)."""
        expected = message.kind.confirmation
        if expected is None:
            raise ValueError(f"a {message.kind.value} is an answer, not something to send")
        body = encode(message)
        headers = dict(self.sign("POST", self.url, {"Content-Type": CONTENT_TYPE,
                                                    "Accept": "application/xml"}, body))
        status, answer = await self._send(self.url, body, headers)
        shown = redact_url(self.url)
        if status != 200:
            raise ConnectorError(f"ISO 18626 peer {shown} answered HTTP {status} to a "
                                 f"{message.kind.value}")
        try:
            confirmation = decode(answer, max_bytes=self.max_bytes)
        except Iso18626Error as error:
            raise ConnectorError(f"ISO 18626 peer {shown} answered a {message.kind.value} "
                                 f"with something unreadable: {error}") from None
        if confirmation.kind is not expected:
            raise ConnectorError(f"ISO 18626 peer {shown} answered a {message.kind.value} "
                                 f"with a {confirmation.kind.value}, not a {expected.value}")
        return confirmation

    async def _send(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """One POST, no retries -> (HTTP status, body): the seam fakes replace."""
        try:
            async with self.session.post(url, data=body, headers=headers) as response:
                answer = await response.content.read(self.max_bytes + 1)
                if len(answer) > self.max_bytes:
                    raise ConnectorError(f"ISO 18626 peer {redact_url(url)}: answer exceeds "
                                         f"{self.max_bytes} bytes")
                return response.status, answer
        except asyncio.TimeoutError:
            raise ConnectorError(f"ISO 18626 peer {redact_url(url)} timed out") from None
        except aiohttp.ClientError as exc:
            raise ConnectorError(f"ISO 18626 peer {redact_url(url)}: connection failed "
                                 f"({exc.__class__.__name__})") from None
