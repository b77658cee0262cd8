"""`POST /iso18626`: ISO 18626 messages from members' systems (thin view).

Checks in order, each refusal before any parsing of what it guards: method (405, aiohttp's
router), content type (415), size (413), RFC 9421 signature with replay and age checks (401),
then the hardened decode (entities, DTDs and anything not ISO 18626 are answered with a
BadlyFormedMessage confirmation), then "is the signer the agency the message claims to be"
(403). Every message, refused or not, is kept in the audit with its signature verdict.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from gateway.broker import messages as msgs
from gateway.broker.state import audit_only
from gateway.keys import BROKER, KEYRING, SETTINGS, STORE, VERIFIER, VERIFY_SIGNATURES
from gateway.security.signatures import SignedBy, check_agency, verify_member_message
from protocols.httpsig import SignatureRejected
from protocols.iso18626 import model as m
from protocols.iso18626.codec import MAX_MESSAGE_BYTES, decode, encode
from protocols.iso18626.confirm import confirm
from protocols.iso18626.errors import Iso18626Error

XML_TYPES = ("application/xml", "text/xml")
AUDIT_RAW_CAP = 16 * 1024        # what is kept of a refused body (enough to see what it was)


def _xml(message: m.Confirmation | bytes) -> web.Response:
    body = message if isinstance(message, bytes) else encode(message)
    return web.Response(body=body, content_type="application/xml", charset="utf-8")


async def _refused(request: web.Request, status: int, reason: str, body: bytes,
                   verdict: str) -> web.Response:
    await audit_only(request.app[STORE], {
        "request_id": None, "direction": "in", "kind": None, "member_id": None,
        "raw": msgs.redact_raw(body[:AUDIT_RAW_CAP]) if body else None, "parsed": None,
        "signature": verdict, "outcome": f"HTTP {status}: {reason}", "answer": None,
        "created_at": datetime.now(UTC)})
    return web.Response(status=status, text=reason + "\n")


async def receive(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if request.content_type not in XML_TYPES:
        raise web.HTTPUnsupportedMediaType(
            text=f"ISO 18626 messages are XML; Content-Type {request.content_type!r} is not "
                 f"one of {', '.join(XML_TYPES)}\n")
    if request.content_length is not None and request.content_length > MAX_MESSAGE_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_MESSAGE_BYTES,
                                            actual_size=request.content_length)
    body = await request.content.read(MAX_MESSAGE_BYTES + 1)
    if len(body) > MAX_MESSAGE_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_MESSAGE_BYTES, actual_size=len(body))
    signed_by: SignedBy | None = None
    verdict = "not checked (verification switched off)"
    if request.app[VERIFY_SIGNATURES]:
        url = settings.iso18626_url or str(request.url)
        try:
            signed_by = await verify_member_message(
                request.app[STORE], request.app[KEYRING], request.method, url,
                request.headers.items(), body,
                max_age=timedelta(seconds=settings.signature_max_age), remember=False,
                verifier=request.app[VERIFIER])
        except SignatureRejected as exc:
            return await _refused(request, 401, str(exc), body, f"rejected ({exc.reason})")
        verdict = f"verified: {signed_by.key_id} of {signed_by.member}"
    # from here on the nonce is recorded with what the message does (one transaction)
    try:
        return await _answer(request, body, signed_by, verdict)
    except SignatureRejected as exc:            # a replay, found when the nonce is recorded
        return await _refused(request, 401, str(exc), body, f"rejected ({exc.reason})")


async def _answer(request: web.Request, body: bytes, signed_by: SignedBy | None,
                  verdict: str) -> web.Response:
    try:
        message = decode(body)
    except Iso18626Error as error:
        answer = confirm(error)
        await audit_only(request.app[STORE], {
            "request_id": None, "direction": "in", "kind": error.kind.value if error.kind
            else None, "member_id": None, "raw": msgs.redact_raw(body[:AUDIT_RAW_CAP]),
            "parsed": None, "signature": verdict, "outcome": f"refused: {error}",
            "answer": encode(answer).decode(), "created_at": datetime.now(UTC)},
            nonce=signed_by)
        return _xml(answer)
    if message.kind.is_confirmation:
        return await _refused(request, 400, f"a {message.kind.value} answers a message; it is "
                              "not sent on its own", body, verdict)
    header = message.header
    claimed = header.supplying_agency_id if isinstance(message, m.SupplyingAgencyMessage) \
        else header.requesting_agency_id
    if signed_by is not None:
        try:
            check_agency(signed_by, claimed.value if claimed else "")
        except SignatureRejected as exc:
            return await _refused(request, 403, str(exc), body, f"rejected ({exc.reason})")
    _, xml = await request.app[BROKER].receive(message, signed_by, body, verdict)
    return _xml(xml)
