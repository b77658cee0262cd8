"""Interop: the ReShare (mod-rs) and crosslink sample messages in ../shared/data/iso18626.

Each file either parses, or - for the deliberately invalid ones and the templates with
placeholders - is refused with the errorType named here. Either way LibGate's answer validates
against the XSD of the version the peer spoke (see PROVENANCE.md there for what each file is).
"""

from __future__ import annotations

import pytest

from protocols.iso18626 import model as m
from protocols.iso18626.codec import decode, encode
from protocols.iso18626.codes import Action, ErrorType, MessageKind, MessageStatus, Status, Version
from protocols.iso18626.confirm import confirm
from protocols.iso18626.errors import Iso18626Error
from tests.protocols.iso18626_helpers import T0, assert_valid
from tests.shared_data import require_shared

BADLY, VALUE, ACTION = (ErrorType.BADLY_FORMED_MESSAGE, ErrorType.UNRECOGNISED_DATA_VALUE,
                        ErrorType.UNSUPPORTED_ACTION_TYPE)

# file -> the message class it parses to, or (errorType, words of errorValue, failed kind)
EXPECTED: dict[str, object] = {
    "crosslink/msg-invalid.xml": (BADLY, "holds 0 messages", None),
    "crosslink/reqmsg-invalid-action.xml": (ACTION, "invalid action: WeCancelThisMessage",
                                            MessageKind.REQUESTING_AGENCY_MESSAGE),
    "crosslink/reqmsg-notification.xml": m.RequestingAgencyMessage,
    "crosslink/reqmsg-ok.xml": m.RequestingAgencyMessage,
    "crosslink/request-1.xml": m.Request,
    "crosslink/request-2.xml": m.Request,
    "crosslink/request-loaned.xml": m.Request,
    "crosslink/request-unfilled.xml": m.Request,
    "crosslink/request-willsupply-loaned.xml": m.Request,
    "crosslink/supmsg-invalid-status.xml": (VALUE, "invalid status: WeCouldLoan",
                                            MessageKind.SUPPLYING_AGENCY_MESSAGE),
    "crosslink/supmsg-ok.xml": m.SupplyingAgencyMessage,
    "mod-rs/cancelResponseReplyNoTemplate.xml": (
        VALUE, "timestamp: '_TIMESTAMP_' is not an xs:dateTime",
        MessageKind.SUPPLYING_AGENCY_MESSAGE),
    "mod-rs/case1_request.xml": m.Request,
    "mod-rs/illmockrequest.xml": m.Request,
    "mod-rs/iso18626_req_1.xml": m.Request,
    "mod-rs/patronRequest.xml": m.Request,
    "mod-rs/patronRequestRetry.xml": (VALUE, "agencyIdValue: cannot be empty",
                                      MessageKind.REQUEST),
    "mod-rs/request.xml": (BADLY, "without its envelope", MessageKind.REQUEST),
    "mod-rs/requestConfirmation.xml": (BADLY, "without its envelope",
                                       MessageKind.REQUEST_CONFIRMATION),
    "mod-rs/requestingAgencyMessage.xml": (BADLY, "without its envelope",
                                           MessageKind.REQUESTING_AGENCY_MESSAGE),
    "mod-rs/requestingAgencyMessageConfirmation.xml": (
        BADLY, "without its envelope", MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION),
    "mod-rs/statusChangeExpectToSupplyTemplate.xml": (
        BADLY, "namespace None", MessageKind.SUPPLYING_AGENCY_MESSAGE),
    "mod-rs/statusChangeUnfilledTemplate.xml": (
        BADLY, "namespace None", MessageKind.SUPPLYING_AGENCY_MESSAGE),
    "mod-rs/supplyingAgencyMessage.xml": (BADLY, "without its envelope",
                                          MessageKind.SUPPLYING_AGENCY_MESSAGE),
    "mod-rs/supplyingAgencyMessageConfirmation.xml": (
        BADLY, "without its envelope", MessageKind.SUPPLYING_AGENCY_MESSAGE_CONFIRMATION),
    "mod-rs/supplyingAgencyMessage_statusChange.xml": (
        BADLY, "offeredCosts: mandatory element currencyCode is missing",
        MessageKind.SUPPLYING_AGENCY_MESSAGE),
    "mod-rs/unfilledNotification.xml": (VALUE, "'timestamp_holder' is not an xs:dateTime",
                                        MessageKind.SUPPLYING_AGENCY_MESSAGE),
}


def test_every_sample_file_is_listed():
    folder = require_shared("data", "iso18626")
    found = {str(path.relative_to(folder)) for path in folder.glob("*/*.xml")}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_parses_or_gets_the_right_error(name):
    data = require_shared("data", "iso18626", name).read_bytes()
    expected = EXPECTED[name]
    if isinstance(expected, type):
        message = decode(data)
        assert type(message) is expected
        answer = confirm(message, now=T0)
        assert answer.confirmation_header.message_status is MessageStatus.OK
        assert answer.confirmation_header.requesting_agency_request_id == \
            message.header.requesting_agency_request_id
    else:
        error_type, words, kind = expected
        with pytest.raises(Iso18626Error) as info:
            decode(data)
        assert info.value.error_type is error_type
        assert words in info.value.error_value
        assert info.value.kind is kind
        answer = confirm(info.value, now=T0)
        assert answer.confirmation_header.message_status is MessageStatus.ERROR
        assert answer.error_data[0].error_value == info.value.error_value
    assert_valid(encode(answer), answer.version)


def _read(name: str) -> m.Message:
    return decode(require_shared("data", "iso18626", name).read_bytes())


def test_crosslink_request_fields():
    request = _read("crosslink/request-1.xml")
    assert request.version is Version.V1_2
    assert request.header.requesting_agency_id.value == "REQ"
    assert request.header.multiple_item_request_id is None   # sent empty
    assert request.bibliographic_info.title == "Lord of the Rings"
    item_id = request.bibliographic_info.bibliographic_item_ids[0]
    assert (item_id.identifier, item_id.code.value) == ("1983", "ISBN")
    assert request.supplier_info == (m.SupplierInfo(),)      # <supplierInfo></supplierInfo>
    assert request.requested_delivery_info[0].address.physical_address.line1 == \
        "The Prancing Pony Inn, Bree"


def test_crosslink_supplying_message_fields():
    message = _read("crosslink/supmsg-ok.xml")
    assert message.status_info.status is Status.LOANED
    assert message.delivery_info.item_ids == ("12345",)
    assert message.status_info.last_change.microsecond == 629710   # 9 digits, truncated


def test_crosslink_cancel_is_answered_with_the_action():
    message = _read("crosslink/reqmsg-ok.xml")
    assert message.action is Action.CANCEL
    assert confirm(message, now=T0).action is Action.CANCEL


def test_reshare_request_in_2021_order_with_version_1_0():
    # version="1.0" but the 2021 layout (no multipleItemRequestId): read, answered as 1.2
    request = _read("mod-rs/iso18626_req_1.xml")
    assert request.version is Version.V1_2
    assert request.service_info.service_level.value == "Normal"
    assert request.service_info.need_before_date.year == 2014


def test_reshare_patron_request_tolerances():
    request = _read("mod-rs/patronRequest.xml")
    assert request.header.supplying_agency_id is None           # broker picks the supplier
    item_id = request.bibliographic_info.bibliographic_item_ids[0]
    assert (item_id.code, item_id.identifier) == (item_id.code.__class__("ISBN"), "12321312")
    assert request.service_info.need_before_date is None        # sent empty
    codes = [r.code for r in request.bibliographic_info.bibliographic_record_ids]
    assert {code.scheme for code in codes} == {"ZFL"}
