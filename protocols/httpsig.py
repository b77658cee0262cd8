"""RFC 9421 HTTP Message Signatures for inter-institution messages (Ed25519).

Pure: headers and bytes in, headers or a verdict out; no I/O, no event loop. The signing and
verification are done by the ``http-message-signatures`` library; what it leaves to the caller
is decided here: which components must be covered, that the body is checked against the signed
Content-Digest (``body=``, without which a tampered body with the old digest still verifies),
the age window, and a nonce in every signature so the receiver can refuse replays.

Replay ("nonce seen before") and "may this key speak for that agency" need the store: they are
checked by ``gateway.security.signatures`` after ``verify_request`` here.

Key ids look like ``US-NFU#k1`` (member code, ``#``, key name): the part before ``#`` names the
member the key belongs to, but the registry — not the key id — is the authority on that.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)

from protocols.errors import ProtocolError

# What every signed LibGate message must cover (the list; "created" is a parameter).
REQUIRED_COMPONENTS = ("@method", "@target-uri", "content-digest", "content-type")
SIGNATURE_TAG = "libgate"


class SignatureRejected(ProtocolError):
    """A message whose signature LibGate does not accept. ``reason`` is a short stable code:

    ``unsigned``, ``malformed``, ``unknown-key``, ``bad-signature``, ``expired``,
    ``missing-component``, ``digest-mismatch``, ``replayed``, ``wrong-agency``, ``key-retired``.
    """

    status_hint = 401

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"signature rejected ({reason}): {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class HttpMessage:
    """The view of a request the signature library reads and writes."""

    method: str
    url: str
    headers: _Headers


class _Headers(dict):
    """Case-insensitive header mapping (keys stored as given, looked up in lower case)."""

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        super().__init__()
        self._names: dict[str, str] = {}          # lower case -> the name as stored
        pairs = items.items() if isinstance(items, Mapping) else items
        for name, value in pairs:
            self[name] = value

    def _find(self, name: str) -> str | None:
        return self._names.get(name.lower())

    def __setitem__(self, name: str, value: str) -> None:
        existing = self._find(name)
        if existing is not None and existing != name:
            super().__delitem__(existing)
        self._names[name.lower()] = name
        super().__setitem__(name, value)

    def __getitem__(self, name: str) -> str:
        existing = self._find(name)
        if existing is None:
            raise KeyError(name)
        return super().__getitem__(existing)

    def __delitem__(self, name: str) -> None:
        existing = self._find(name)
        if existing is None:
            raise KeyError(name)
        del self._names[name.lower()]
        super().__delitem__(existing)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find(name) is not None

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        existing = self._find(name)
        return default if existing is None else super().__getitem__(existing)


@dataclass(slots=True, frozen=True)
class VerifiedSignature:
    key_id: str
    nonce: str
    created: dt.datetime


# --- keys --------------------------------------------------------------------------------

def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"expected an Ed25519 private key, got {type(key).__name__}")
    return key


def public_key_text(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key, base64url without padding (what the registry stores)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def load_public_key(text: str) -> Ed25519PublicKey:
    """Read a public key as stored (base64url raw) or as a PEM ``PUBLIC KEY`` block."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"expected an Ed25519 public key, got {type(key).__name__}")
        return key
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise ValueError(f"public key {text[:16]!r}… is not base64url: {exc}") from None
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key has 32 bytes, {text[:16]!r}… has {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


class _Keys(HTTPSignatureKeyResolver):
    def __init__(self, private: Ed25519PrivateKey | None = None,
                 public: Callable[[str], Ed25519PublicKey | None] | None = None) -> None:
        self._private = private
        self._public = public

    def resolve_private_key(self, key_id: str) -> Ed25519PrivateKey:
        assert self._private is not None
        return self._private

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey | None:
        return self._public(key_id) if self._public else None


# --- signing and verifying -----------------------------------------------------------------

def sign_request(method: str, url: str, headers: Mapping[str, str], body: bytes, *,
                 key_id: str, private_key: Ed25519PrivateKey,
                 created: dt.datetime | None = None, nonce: str | None = None) -> dict[str, str]:
    """The headers to send: the given ones plus Content-Digest, Signature-Input, Signature.

    ``headers`` must hold Content-Type (it is covered).
    """
    message = HttpMessage(method.upper(), url, _Headers(headers))
    if "content-type" not in message.headers:
        raise ValueError("a signed LibGate message needs a Content-Type header")
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519,
                               key_resolver=_Keys(private=private_key))
    signer.sign(message, key_id=key_id, created=created or dt.datetime.now(dt.UTC),
                nonce=nonce or secrets.token_urlsafe(18), tag=SIGNATURE_TAG,
                covered_component_ids=("@method", "@target-uri", "content-type"), body=body)
    return dict(message.headers)


def verify_request(method: str, url: str, headers: Mapping[str, str] | Iterable[tuple[str, str]],
                   body: bytes, *, resolve_key: Callable[[str], Ed25519PublicKey | None],
                   max_age: dt.timedelta) -> VerifiedSignature:
    """Check the signature of a received message; raise ``SignatureRejected`` if it fails.

    ``url`` must be the URL the sender addressed (what ``@target-uri`` covers).
    """
    message = HttpMessage(method.upper(), url, _Headers(headers))
    if "signature" not in message.headers or "signature-input" not in message.headers:
        raise SignatureRejected("unsigned", "no Signature / Signature-Input header")
    unknown: list[str] = []

    def resolve(key_id: str) -> Ed25519PublicKey | None:
        key = resolve_key(key_id)
        if key is None:
            unknown.append(key_id)
        return key

    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519,
                                   key_resolver=_Keys(public=resolve))
    try:
        results = verifier.verify(message, max_age=max_age, expect_tag=SIGNATURE_TAG,
                                  require_components=REQUIRED_COMPONENTS, body=body)
    except InvalidSignature as exc:
        detail = str(exc) or "the signature does not match the message (method, URL, headers)"
        raise SignatureRejected(_reason(str(exc), unknown), detail) from None
    except HTTPMessageSignaturesException as exc:
        raise SignatureRejected("malformed", str(exc)) from None
    except CryptoInvalidSignature:
        raise SignatureRejected("bad-signature", "the signature does not match") from None
    result = results[0]
    nonce = result.nonce
    if not nonce:
        raise SignatureRejected("missing-component", "the signature carries no nonce")
    created = dt.datetime.fromtimestamp(int(result.parameters["created"]), tz=dt.UTC)
    return VerifiedSignature(key_id=str(result.parameters["keyid"]), nonce=str(nonce),
                             created=created)


def _reason(message: str, unknown_keys: list[str]) -> str:
    text = message.lower()
    if unknown_keys or "unable to resolve verification key" in text:
        return "unknown-key"
    if "age exceeds" in text or "in the future" in text or "in the past" in text:
        return "expired"
    if "was not covered" in text:
        return "missing-component"
    if "digest" in text:
        return "digest-mismatch"
    if "no signatures found" in text or "malformed" in text or "must be" in text:
        return "malformed"
    return "bad-signature"
