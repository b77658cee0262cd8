"""ISO 18626 errors: what the codec and the state tables refuse, and how to answer it.

    ProtocolError                           (protocols.errors)
    └── Iso18626Error                       base; ``error_type`` is the ISO 18626 errorType
        ├── BadlyFormedMessage              not XML, not ISO 18626, entities, missing parts
        ├── UnsupportedActionType           action outside the version's enumeration
        ├── UnsupportedReasonForMessageType reasonForMessage outside the enumeration
        ├── UnrecognisedDataElement         an element neither schema version knows
        └── UnrecognisedDataValue           a value that is not allowed (status, date, ...)

    Iso18626EncodeError (ValueError)        LibGate asked to write something the target
                                            version cannot carry: a bug of the caller, never
                                            answered on the wire.

An ``Iso18626Error`` is answered on the wire with a confirmation whose messageStatus is ERROR
(``codec.confirm``); it carries what the answer needs: the kind of the message that failed,
the version to answer in and what could be salvaged of its header (``Echo``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from protocols.errors import ProtocolError
from protocols.iso18626.codes import Action, ErrorType, MessageKind, ReasonForMessage, Version
from protocols.iso18626.model import AgencyId


@dataclass(frozen=True, slots=True, kw_only=True)
class Echo:
    """What a confirmation repeats from the message it answers (all optional)."""

    supplying_agency_id: AgencyId | None = None
    requesting_agency_id: AgencyId | None = None
    requesting_agency_request_id: str | None = None
    multiple_item_request_id: str | None = None
    timestamp: datetime | None = None
    reason_for_message: ReasonForMessage | None = None
    action: Action | None = None


class Iso18626Error(ProtocolError):
    """A message LibGate refuses; ``error_value`` is the text sent back in errorData."""

    error_type: ClassVar[ErrorType]
    status_hint = 200   # ISO 18626 answers errors inside a confirmation, with HTTP 200

    def __init__(self, error_value: str, *, kind: MessageKind | None = None,
                 version: Version = Version.V1_2, echo: Echo | None = None) -> None:
        super().__init__(f"{self.error_type.value}: {error_value}")
        self.error_value = error_value
        self.kind = kind
        self.version = version
        self.echo = echo or Echo()


class BadlyFormedMessage(Iso18626Error):
    error_type = ErrorType.BADLY_FORMED_MESSAGE


class UnsupportedActionType(Iso18626Error):
    error_type = ErrorType.UNSUPPORTED_ACTION_TYPE


class UnsupportedReasonForMessageType(Iso18626Error):
    error_type = ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE


class UnrecognisedDataElement(Iso18626Error):
    error_type = ErrorType.UNRECOGNISED_DATA_ELEMENT


class UnrecognisedDataValue(Iso18626Error):
    error_type = ErrorType.UNRECOGNISED_DATA_VALUE


ERROR_CLASSES: dict[ErrorType, type[Iso18626Error]] = {
    cls.error_type: cls for cls in (
        BadlyFormedMessage, UnsupportedActionType, UnsupportedReasonForMessageType,
        UnrecognisedDataElement, UnrecognisedDataValue)
}


class Iso18626EncodeError(ValueError):
    """A message object that cannot be written in the asked version (names field and why)."""
