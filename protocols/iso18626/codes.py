"""ISO 18626 code lists: closed enumerations as typed values, open lists as scheme/value.

Closed lists (Status, Action, ReasonForMessage, ErrorType, ...) are fixed by the XSDs; a value
outside them is an error with its own ISO 18626 errorType (see ``codec``). Open lists
(ReasonUnfilled, ReasonRetry, agency id types, formats, ...) are ``type_schemeValuePair`` in
the XSD: any string, optionally qualified by a scheme URI; they stay ``CodedValue``.

Two schema versions share one namespace: 1.2 (ISO 18626:2017) and 2021-2 (ISO 18626:2021).
2021 added statuses HoldReturn/ReleaseHoldReturn and actions HoldReturn/Lost; those cannot be
sent to a 1.2 peer (``allowed_in``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

NAMESPACE = "http://illtransactions.org/2013/iso18626"


class Version(str, Enum):
    """The schema layout a message is read or written with."""

    V1_2 = "1.2"
    V2021_2 = "2021-2"


# The version attribute as peers spell it -> the layout we read it with and answer in.
# 1.0/1.1 (ISO 18626:2014) are answered as 1.2: 1.2 only added optional elements to what we
# send back (confirmations). "1.3" was the working name of 2021-1 (see the 2021-2 XSD history).
VERSION_LABELS: dict[str, Version] = {
    "1.0": Version.V1_2, "1.1": Version.V1_2, "1.2": Version.V1_2,
    "1.3": Version.V2021_2, "2021": Version.V2021_2, "2021-1": Version.V2021_2,
    "2021-2": Version.V2021_2,
}


class MessageKind(str, Enum):
    """The six ISO 18626 messages, named by their XML element."""

    REQUEST = "request"
    REQUEST_CONFIRMATION = "requestConfirmation"
    SUPPLYING_AGENCY_MESSAGE = "supplyingAgencyMessage"
    SUPPLYING_AGENCY_MESSAGE_CONFIRMATION = "supplyingAgencyMessageConfirmation"
    REQUESTING_AGENCY_MESSAGE = "requestingAgencyMessage"
    REQUESTING_AGENCY_MESSAGE_CONFIRMATION = "requestingAgencyMessageConfirmation"

    @property
    def is_confirmation(self) -> bool:
        return self.value.endswith("Confirmation")

    @property
    def confirmation(self) -> MessageKind | None:
        """The kind that answers this one (None for a confirmation itself)."""
        return CONFIRMATION_OF.get(self)


CONFIRMATION_OF: dict[MessageKind, MessageKind] = {
    MessageKind.REQUEST: MessageKind.REQUEST_CONFIRMATION,
    MessageKind.SUPPLYING_AGENCY_MESSAGE: MessageKind.SUPPLYING_AGENCY_MESSAGE_CONFIRMATION,
    MessageKind.REQUESTING_AGENCY_MESSAGE: MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION,
}


class _Closed(str, Enum):
    """A closed code list; ``_ONLY_2021`` names the values the 1.2 schema does not know."""

    def allowed_in(self, version: Version) -> bool:
        only_2021 = _ONLY_2021.get(type(self).__name__, frozenset())
        return version is Version.V2021_2 or self.value not in only_2021

    @classmethod
    def values_in(cls, version: Version) -> list[str]:
        return [member.value for member in cls if member.allowed_in(version)]


class Status(_Closed):
    REQUEST_RECEIVED = "RequestReceived"
    EXPECT_TO_SUPPLY = "ExpectToSupply"
    WILL_SUPPLY = "WillSupply"
    LOANED = "Loaned"
    OVERDUE = "Overdue"
    RECALLED = "Recalled"
    RETRY_POSSIBLE = "RetryPossible"
    UNFILLED = "Unfilled"
    COPY_COMPLETED = "CopyCompleted"
    LOAN_COMPLETED = "LoanCompleted"
    COMPLETED_WITHOUT_RETURN = "CompletedWithoutReturn"
    CANCELLED = "Cancelled"
    HOLD_RETURN = "HoldReturn"                    # 2021
    RELEASE_HOLD_RETURN = "ReleaseHoldReturn"     # 2021


class Action(_Closed):
    STATUS_REQUEST = "StatusRequest"
    RECEIVED = "Received"
    CANCEL = "Cancel"
    RENEW = "Renew"
    HOLD_RETURN = "HoldReturn"                    # 2021
    SHIPPED_RETURN = "ShippedReturn"
    SHIPPED_FORWARD = "ShippedForward"
    NOTIFICATION = "Notification"
    LOST = "Lost"                                 # 2021


class ReasonForMessage(_Closed):
    REQUEST_RESPONSE = "RequestResponse"
    STATUS_REQUEST_RESPONSE = "StatusRequestResponse"
    RENEW_RESPONSE = "RenewResponse"
    CANCEL_RESPONSE = "CancelResponse"
    STATUS_CHANGE = "StatusChange"
    NOTIFICATION = "Notification"


class ErrorType(_Closed):
    UNSUPPORTED_ACTION_TYPE = "UnsupportedActionType"
    UNSUPPORTED_REASON_FOR_MESSAGE_TYPE = "UnsupportedReasonForMessageType"
    UNRECOGNISED_DATA_ELEMENT = "UnrecognisedDataElement"
    UNRECOGNISED_DATA_VALUE = "UnrecognisedDataValue"
    BADLY_FORMED_MESSAGE = "BadlyFormedMessage"


class MessageStatus(_Closed):
    OK = "OK"
    ERROR = "ERROR"


class ServiceType(_Closed):
    COPY = "Copy"
    LOAN = "Loan"
    COPY_OR_LOAN = "CopyOrLoan"


class RequestType(_Closed):
    NEW = "New"
    RETRY = "Retry"
    REMINDER = "Reminder"


class RequestSubType(_Closed):
    BOOKING_REQUEST = "BookingRequest"
    MULTIPLE_ITEM_REQUEST = "MultipleItemRequest"
    PATRON_REQUEST = "PatronRequest"
    TRANSFER_REQUEST = "TransferRequest"
    SUPPLYING_LIBRARYS_CHOICE = "SupplyingLibrarysChoice"


class YesNo(_Closed):
    YES = "Y"
    NO = "N"


class PreferredEdition(_Closed):                  # 2021 only (the element itself)
    MOST_RECENT_EDITION = "MostRecentEdition"
    THIS_EDITION = "ThisEdition"
    ANY_EDITION = "AnyEdition"


_ONLY_2021: dict[str, frozenset[str]] = {
    "Status": frozenset({"HoldReturn", "ReleaseHoldReturn"}),
    "Action": frozenset({"HoldReturn", "Lost"}),
}

# Which errorType answers an unknown value of which closed list (as crosslink and the
# standard's error table do): an unknown action or reason has its own error type, every
# other unknown value is UnrecognisedDataValue.
UNKNOWN_VALUE_ERROR: dict[type[_Closed], ErrorType] = {
    Action: ErrorType.UNSUPPORTED_ACTION_TYPE,
    ReasonForMessage: ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE,
}


@dataclass(frozen=True, slots=True)
class CodedValue:
    """A value of an open code list (XSD ``type_schemeValuePair``): ``ISIL``, ``ISBN``, ..."""

    value: str
    scheme: str | None = None

    def __str__(self) -> str:
        return self.value if self.scheme is None else f"{self.scheme}#{self.value}"
