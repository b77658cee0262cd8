"""RFC 9421 signing and verification of LibGate messages (loop-free)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols import httpsig
from protocols.httpsig import SignatureRejected, sign_request, verify_request

URL = "https://gateway.example.org/iso18626"
BODY = b"<ISO18626Message version='1.2'/>"
WINDOW = dt.timedelta(minutes=5)
KEY = httpsig.new_private_key()
KEY_ID = "US-NFU#k1"


def _resolve(key_id: str):
    return KEY.public_key() if key_id == KEY_ID else None


def _signed(**kwargs) -> dict[str, str]:
    return sign_request("POST", URL, {"Content-Type": "application/xml"}, BODY,
                        key_id=KEY_ID, private_key=KEY, **kwargs)


def _verify(headers, *, method="POST", url=URL, body=BODY, resolve=_resolve):
    return verify_request(method, url, headers, body, resolve_key=resolve, max_age=WINDOW)


def test_a_signed_message_verifies_and_names_its_key_and_nonce():
    headers = _signed(nonce="n-1")
    verified = _verify(headers)
    assert verified.key_id == KEY_ID and verified.nonce == "n-1"
    for component in ('"@method"', '"@target-uri"', '"content-type"', '"content-digest"'):
        assert component in headers["Signature-Input"]


@pytest.mark.parametrize(("change", "reason"), [
    ({"body": b"<ISO18626Message version='2021-2'/>"}, "digest-mismatch"),
    ({"url": "https://gateway.example.org/other"}, "bad-signature"),
    ({"method": "PUT"}, "bad-signature"),
    ({"resolve": lambda key_id: None}, "unknown-key"),
])
def test_tampering_is_refused_with_its_reason(change, reason):
    with pytest.raises(SignatureRejected) as refused:
        _verify(_signed(), **change)
    assert refused.value.reason == reason


def test_a_changed_content_type_breaks_the_signature():
    headers = {**_signed(), "Content-Type": "text/plain"}
    with pytest.raises(SignatureRejected, match="bad-signature"):
        _verify(headers)


def test_a_signature_by_another_key_under_the_same_key_id_is_forged():
    forged = sign_request("POST", URL, {"Content-Type": "application/xml"}, BODY,
                          key_id=KEY_ID, private_key=httpsig.new_private_key())
    with pytest.raises(SignatureRejected) as refused:
        _verify(forged)
    assert refused.value.reason == "bad-signature"


def test_an_old_signature_is_expired_and_a_future_one_too():
    past = _signed(created=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6))
    future = _signed(created=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6))
    for headers in (past, future):
        with pytest.raises(SignatureRejected) as refused:
            _verify(headers)
        assert refused.value.reason == "expired"


def test_unsigned_and_malformed_headers_are_refused():
    with pytest.raises(SignatureRejected) as unsigned:
        _verify({"Content-Type": "application/xml"})
    assert unsigned.value.reason == "unsigned"
    broken = {**_signed(), "Signature-Input": "pyhms=(\"@method\""}
    with pytest.raises(SignatureRejected) as malformed:
        _verify(broken)
    assert malformed.value.reason == "malformed"


def test_a_signature_that_leaves_out_the_digest_is_refused():
    # a peer signing only method and URL: the body could be anything
    from http_message_signatures import HTTPMessageSigner, algorithms

    message = httpsig.HttpMessage("POST", URL, httpsig._Headers({"Content-Type": "text/xml"}))
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519,
                      key_resolver=httpsig._Keys(private=KEY)).sign(
        message, key_id=KEY_ID, nonce="x", tag=httpsig.SIGNATURE_TAG,
        covered_component_ids=("@method", "@target-uri"))
    with pytest.raises(SignatureRejected) as refused:
        _verify(dict(message.headers))
    assert refused.value.reason == "missing-component"


def test_public_keys_round_trip_as_stored_and_as_pem():
    from cryptography.hazmat.primitives import serialization

    public = KEY.public_key()
    text = httpsig.public_key_text(public)
    pem = public.public_bytes(serialization.Encoding.PEM,
                              serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    for form in (text, pem):
        assert httpsig.public_key_text(httpsig.load_public_key(form)) == text
    with pytest.raises(ValueError, match="32 bytes"):
        httpsig.load_public_key("AAAA")


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["Signature", "Signature-Input", "Content-Digest",
                                        "Content-Type"]),
                       st.text(max_size=80), min_size=1))
def test_any_garbage_headers_give_a_typed_refusal(headers):
    with pytest.raises(SignatureRejected):
        _verify(headers)
