"""Confirmations: the answer to each agency message, in the version the peer spoke.

``confirm(received)`` answers a decoded message with OK; ``confirm(error)`` answers a refused
one (an ``Iso18626Error`` from the codec or the state tables) with ERROR and its errorData.
The confirmation header repeats the agencies and request id of the message it answers (as far
as they could be read) and its timestamp as ``timestampReceived``.

A refused message whose kind is unknown (an envelope with no message in it) is answered with a
requestConfirmation: the XSD needs one of the six messages and that is the neutral one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from protocols.iso18626 import model as m
from protocols.iso18626.codes import MessageKind, MessageStatus, Version
from protocols.iso18626.errors import Echo, Iso18626Error

__all__ = ["confirm", "echo_of"]


def echo_of(message: m.AgencyMessage) -> Echo:
    """What a confirmation of ``message`` repeats from it."""
    header = message.header
    return Echo(
        supplying_agency_id=header.supplying_agency_id,
        requesting_agency_id=header.requesting_agency_id,
        requesting_agency_request_id=header.requesting_agency_request_id,
        multiple_item_request_id=header.multiple_item_request_id,
        timestamp=header.timestamp,
        reason_for_message=(message.message_info.reason_for_message
                            if isinstance(message, m.SupplyingAgencyMessage) else None),
        action=message.action if isinstance(message, m.RequestingAgencyMessage) else None,
    )


def confirm(received: m.AgencyMessage | Iso18626Error, status: MessageStatus | None = None,
            error: Iso18626Error | m.ErrorData | None = None, *,
            now: datetime | None = None) -> m.Confirmation:
    """The confirmation answering ``received`` (OK, or ERROR when there is an error)."""
    if isinstance(received, Iso18626Error):
        error = error or received
        kind = received.kind if received.kind and not received.kind.is_confirmation else None
        answer_kind = kind.confirmation if kind else MessageKind.REQUEST_CONFIRMATION
        version, echo = received.version, received.echo
    else:
        answer_kind = received.kind.confirmation
        if answer_kind is None:
            raise ValueError(f"a {received.kind.value} is not answered with a confirmation")
        version, echo = received.version, echo_of(received)
    if isinstance(error, Iso18626Error):
        error_data: tuple[m.ErrorData, ...] = (m.ErrorData(error_type=error.error_type,
                                                           error_value=error.error_value),)
    elif isinstance(error, m.ErrorData):
        error_data = (error,)
    else:
        error_data = ()
    status = status or (MessageStatus.ERROR if error_data else MessageStatus.OK)
    now = now or datetime.now(UTC)
    header = m.ConfirmationHeader(
        supplying_agency_id=echo.supplying_agency_id,
        requesting_agency_id=echo.requesting_agency_id,
        timestamp=now,
        requesting_agency_request_id=echo.requesting_agency_request_id,
        multiple_item_request_id=(echo.multiple_item_request_id
                                  if version is Version.V1_2 else None),
        timestamp_received=echo.timestamp or now,
        message_status=status,
    )
    if answer_kind is MessageKind.SUPPLYING_AGENCY_MESSAGE_CONFIRMATION:
        return m.SupplyingAgencyMessageConfirmation(
            version=version, confirmation_header=header,
            reason_for_message=echo.reason_for_message, error_data=error_data)
    if answer_kind is MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION:
        action = echo.action if echo.action is None or echo.action.allowed_in(version) else None
        return m.RequestingAgencyMessageConfirmation(
            version=version, confirmation_header=header, action=action, error_data=error_data)
    return m.RequestConfirmation(version=version, confirmation_header=header,
                                 error_data=error_data)

