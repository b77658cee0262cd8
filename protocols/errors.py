"""Protocol errors, one family per protocol, each with a wire hint.

    ProtocolError                 base; ``status_hint`` is the HTTP status a view should answer
    ├── XmlError                  a document the hardened parser refuses (syntax, size, DTD)
    │   └── XmlTooLarge
    ├── MarcError                 a MARC record that cannot be decoded (quarantine reason)
    └── NormalizationError        a decoded record the normalizer cannot map

Later families (OAI-PMH, SRU, ISO 18626) hang below ``ProtocolError`` too.
"""

from __future__ import annotations

from typing import ClassVar


class ProtocolError(Exception):
    """Base of every error a codec raises for bad input (never for a bug)."""

    status_hint: ClassVar[int] = 400


class XmlError(ProtocolError):
    """XML that the hardened parser refuses."""


class XmlTooLarge(XmlError):
    status_hint = 413


class MarcError(ProtocolError):
    """A MARC record that cannot be decoded; ``reason`` is a short machine-readable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class NormalizationError(ProtocolError):
    """A decoded record that cannot be mapped to a normalized record."""
