"""Members' signing keys, signature verification against the registry, and API tokens."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa

from gateway import registry
from gateway.security.keys import KeyRing, create_member_key, load_gateway_key
from gateway.security.signatures import check_agency, forget_old_nonces, verify_member_message
from gateway.security.tokens import authenticate, create_token, revoke_token
from gateway.store.schema import api_tokens
from protocols.httpsig import SignatureRejected, load_private_key, sign_request

URL = "http://127.0.0.1:8080/iso18626"
BODY = b"<ISO18626Message/>"
WINDOW = dt.timedelta(minutes=5)
GRACE = dt.timedelta(days=7)


async def _member_with_key(store, code="US-NFU"):
    await registry.add_member(store, code, f"Library {code}")
    async with store.begin() as conn:
        key, pem = await create_member_key(conn, code, grace=GRACE)
    return key, load_private_key(pem)


def _sign(key_id, private, **kwargs):
    return sign_request("POST", URL, {"Content-Type": "application/xml"}, BODY,
                        key_id=key_id, private_key=private, **kwargs)


async def _verify(store, ring, headers, body=BODY):
    return await verify_member_message(store, ring, "POST", URL, headers, body, max_age=WINDOW)


async def test_a_member_signed_message_verifies_once_then_is_a_replay(store):
    key, private = await _member_with_key(store)
    ring = KeyRing(store)
    headers = _sign(key.key_id, private)
    signed_by = await _verify(store, ring, headers)
    assert (signed_by.member, signed_by.key_id) == ("US-NFU", "US-NFU#k1")
    with pytest.raises(SignatureRejected) as replay:
        await _verify(store, ring, headers)
    assert replay.value.reason == "replayed"


async def test_concurrent_replays_are_accepted_exactly_once(store):
    key, private = await _member_with_key(store)
    ring = KeyRing(store)
    await ring.reload()
    headers = _sign(key.key_id, private)
    outcomes = await asyncio.gather(*[_verify(store, ring, headers) for _ in range(8)],
                                    return_exceptions=True)
    accepted = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, SignatureRejected)]
    assert len(accepted) == 1 and len(refused) == 7
    assert {o.reason for o in refused} == {"replayed"}


async def test_wrong_key_id_unknown_key_and_forgery_are_refused(store):
    key, private = await _member_with_key(store)
    other_key, other_private = await _member_with_key(store, "GB-UkDem")
    ring = KeyRing(store)
    cases = {
        "unknown-key": _sign("US-NFU#k9", private),
        # signed with GB-UkDem's private key but claiming US-NFU's key id
        "bad-signature": _sign(key.key_id, other_private),
    }
    for reason, headers in cases.items():
        with pytest.raises(SignatureRejected) as refused:
            await _verify(store, ring, headers)
        assert refused.value.reason == reason


async def test_a_message_must_come_from_the_agency_that_owns_the_key(store):
    key, private = await _member_with_key(store)
    signed_by = await _verify(store, KeyRing(store), _sign(key.key_id, private))
    check_agency(signed_by, "us-nfu")              # ISO 18626 agency ids are case-blind
    with pytest.raises(SignatureRejected) as refused:
        check_agency(signed_by, "GB-UkDem")
    assert refused.value.reason == "wrong-agency"
    assert "GB-UkDem" in str(refused.value) and "US-NFU#k1" in str(refused.value)


async def test_rotation_keeps_the_old_key_for_its_grace_period_only(store):
    old, old_private = await _member_with_key(store)
    async with store.begin() as conn:
        new, new_pem = await create_member_key(conn, "US-NFU", grace=GRACE)
    ring = KeyRing(store)
    assert new.key_id == "US-NFU#k2"
    # within the grace period both keys verify
    await _verify(store, ring, _sign(old.key_id, old_private))
    await _verify(store, ring, _sign(new.key_id, load_private_key(new_pem)))
    # the grace period ends: the old key is refused as retired
    from gateway.store.schema import member_keys
    async with store.begin() as conn:
        await conn.execute(member_keys.update().where(member_keys.c.key_id == old.key_id)
                           .values(valid_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    await ring.reload()
    with pytest.raises(SignatureRejected) as refused:
        await _verify(store, ring, _sign(old.key_id, old_private))
    assert refused.value.reason == "key-retired"


async def test_concurrent_messages_share_one_key_ring_reload(store):
    key, private = await _member_with_key(store)
    ring = KeyRing(store)
    reloads = 0
    reload = ring.reload

    async def counted() -> None:
        nonlocal reloads
        reloads += 1
        await reload()
    ring.reload = counted
    found = await asyncio.gather(*[ring.lookup(key.key_id) for _ in range(16)])
    assert reloads == 1 and {k.key_id for k in found} == {key.key_id}
    # a key registered after the ring was loaded is found (its first message reloads)
    newer, _ = await _member_with_key(store, "GB-UkDem")
    assert (await ring.lookup(newer.key_id)).member == "GB-UkDem" and reloads == 2
    assert await ring.lookup("US-NFU#k9") is None and reloads == 3


async def test_expired_created_is_refused_and_old_nonces_are_forgotten(store):
    key, private = await _member_with_key(store)
    ring = KeyRing(store)
    stale = _sign(key.key_id, private, created=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    with pytest.raises(SignatureRejected) as refused:
        await _verify(store, ring, stale)
    assert refused.value.reason == "expired"
    await _verify(store, ring, _sign(key.key_id, private))
    assert await forget_old_nonces(store, dt.timedelta(seconds=0)) == 1


async def test_tokens_are_stored_hashed_and_revocable(store):
    await registry.add_member(store, "US-NFU", "Fictional U")
    async with store.begin() as conn:
        token_id, token = await create_token(conn, "US-NFU", "staff", "ILL desk")
    async with store.connect() as conn:
        stored = (await conn.execute(sa.select(api_tokens))).one()
        principal = await authenticate(conn, token)
        assert await authenticate(conn, token + "x") is None
    assert token not in str(tuple(stored)) and len(stored.token_hash) == 64
    assert (principal.member, principal.role, principal.is_admin) == ("US-NFU", "staff", False)
    async with store.begin() as conn:
        await revoke_token(conn, token_id)
    async with store.connect() as conn:
        assert await authenticate(conn, token) is None


async def test_a_staff_token_cannot_change_the_registry(aiohttp_client, store, settings):
    from gateway.app import create_app

    await registry.add_member(store, "US-NFU", "Fictional U")
    async with store.begin() as conn:
        _, staff = await create_token(conn, "US-NFU", "staff")
    client = await aiohttp_client(create_app(settings, store=store))
    refused = await client.post("/api/members", json={"code": "US-DLC", "name": "LC"},
                                headers={"Authorization": f"Bearer {staff}"})
    assert refused.status == 403
    assert "staff token of US-NFU" in (await refused.json())["error"]
    deleted = await client.delete("/api/members/US-NFU",
                                  headers={"Authorization": f"Bearer {staff}"})
    assert deleted.status == 403


def test_the_gateway_key_is_created_once_and_then_reused(tmp_path):
    url = f"sqlite:///{tmp_path / 'libgate.db'}"
    first = load_gateway_key("", url)
    assert (tmp_path / "libgate-gateway-key.pem").stat().st_mode & 0o777 == 0o600
    assert load_gateway_key("", url).public_key == first.public_key
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(ValueError, match="bad.pem"):
        load_gateway_key(str(tmp_path / "bad.pem"), url)
