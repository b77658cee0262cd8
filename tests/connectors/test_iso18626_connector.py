"""The ISO 18626 send seam against a small peer on port 0 (and a swapped ``_send``)."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web

from connectors.errors import ConnectorError
from connectors.iso18626 import Iso18626Connector
from protocols.iso18626 import model as m
from protocols.iso18626.codec import decode, encode
from protocols.iso18626.codes import Action, ErrorType, MessageStatus, Status, Version
from protocols.iso18626.confirm import confirm
from protocols.iso18626.errors import Iso18626Error, UnrecognisedDataValue
from tests.protocols.iso18626_helpers import (
    assert_valid, full_request, full_requesting_message, full_supplying_message,
)


class Peer:
    """A fake ISO 18626 peer: answers each message with a confirmation, or misbehaves."""

    def __init__(self, behaviour: str = "ok") -> None:
        self.behaviour = behaviour
        self.received: list[tuple[dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((dict(request.headers), body))
        if self.behaviour == "http-500":
            return web.Response(status=500, text="Internal server error")
        if self.behaviour == "html":
            return web.Response(text="<html><body>maintenance</body></html>",
                                content_type="text/html")
        if self.behaviour == "huge":
            return web.Response(body=b"<a>" + b" " * 5000 + b"</a>")
        try:
            message = decode(body)
        except Iso18626Error as error:
            answer = confirm(error)
        else:
            if self.behaviour == "wrong-kind":
                message = full_request(message.version)
            error = UnrecognisedDataValue("supplyingAgencyId: not our request") \
                if self.behaviour == "refuse" else None
            answer = confirm(message, error=error)
        return web.Response(body=encode(answer), content_type="application/xml")


@pytest.fixture
async def peer_url():
    runners = []

    async def start(peer: Peer) -> str:
        app = web.Application()
        app.router.add_post("/iso18626", peer.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/iso18626"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.mark.parametrize("version", list(Version), ids=lambda v: v.value)
async def test_each_message_gets_its_confirmation_in_the_peer_version(peer_url, version):
    peer = Peer()
    url = await peer_url(peer)
    async with aiohttp.ClientSession() as session:
        connector = Iso18626Connector(url, session)
        for message, expected in [
                (full_request(version), m.RequestConfirmation),
                (full_supplying_message(version, Status.LOANED),
                 m.SupplyingAgencyMessageConfirmation),
                (full_requesting_message(version, Action.RENEW),
                 m.RequestingAgencyMessageConfirmation)]:
            confirmation = await connector.send(message)
            assert type(confirmation) is expected and confirmation.version is version
            assert confirmation.confirmation_header.message_status is MessageStatus.OK
            assert confirmation.confirmation_header.timestamp_received == \
                message.header.timestamp
    for headers, body in peer.received:
        assert headers["Content-Type"].startswith("application/xml")
        assert_valid(body, version)


async def test_an_error_confirmation_is_returned_not_raised(peer_url):
    url = await peer_url(Peer("refuse"))
    async with aiohttp.ClientSession() as session:
        confirmation = await Iso18626Connector(url, session).send(
            full_supplying_message(Version.V1_2))
    assert confirmation.confirmation_header.message_status is MessageStatus.ERROR
    assert confirmation.error_data[0].error_type is ErrorType.UNRECOGNISED_DATA_VALUE


@pytest.mark.parametrize("behaviour, words", [
    ("http-500", "answered HTTP 500"),
    ("html", "unreadable: BadlyFormedMessage"),
    ("wrong-kind", "with a requestConfirmation, not a requestingAgencyMessageConfirmation"),
    ("huge", "exceeds 2000 bytes"),
])
async def test_a_misbehaving_peer_raises_a_connector_error(peer_url, behaviour, words):
    url = await peer_url(Peer(behaviour))
    async with aiohttp.ClientSession() as session:
        connector = Iso18626Connector(url, session, max_bytes=2000)
        with pytest.raises(ConnectorError, match=words):
            await connector.send(full_requesting_message(Version.V2021_2))


async def test_an_unreachable_peer_raises_with_the_password_redacted():
    async with aiohttp.ClientSession() as session:
        connector = Iso18626Connector("http://ill:hunter2@127.0.0.1:9/iso18626", session)
        with pytest.raises(ConnectorError, match="connection failed") as info:
            await connector.send(full_requesting_message(Version.V1_2))
    assert "hunter2" not in str(info.value)


async def test_the_sign_hook_sees_the_exact_request_and_its_headers_are_sent(peer_url):
    peer = Peer()
    url = await peer_url(peer)
    calls = []

    def sign(method, target, headers, body):
        calls.append((method, target, dict(headers), body))
        return {**headers, "Signature-Input": 'sig1=("@method")', "Signature": "sig1=:AAAA:"}

    async with aiohttp.ClientSession() as session:
        await Iso18626Connector(url, session, sign=sign).send(full_request(Version.V1_2))
    method, target, headers, body = calls[0]
    assert (method, target) == ("POST", url)
    assert body == peer.received[0][1]
    assert peer.received[0][0]["Signature"] == "sig1=:AAAA:"


async def test_the_send_seam_can_be_swapped():
    sent = []

    class Recorded(Iso18626Connector):
        async def _send(self, url, body, headers):
            sent.append(body)
            message = decode(body)
            return 200, encode(confirm(message, now=datetime(2026, 1, 1, tzinfo=UTC)))

    connector = Recorded("http://peer.invalid/iso18626", session=None)
    confirmation = await connector.send(full_supplying_message(Version.V2021_2))
    assert isinstance(confirmation, m.SupplyingAgencyMessageConfirmation)
    assert len(sent) == 1


async def test_a_confirmation_is_not_sent():
    answer = confirm(full_request(Version.V1_2))
    with pytest.raises(ValueError, match="is an answer"):
        await Iso18626Connector("http://x.invalid/", session=None).send(answer)
