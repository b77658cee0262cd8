"""ISO 18626 codec: round trips of all six messages in both versions, XSD validity of all we
write, the version differences, typed errors for what is refused, hostile XML."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from lxml import etree

from protocols.iso18626 import model as m
from protocols.iso18626.codec import decode, encode, format_datetime, parse_datetime
from protocols.iso18626.codes import (
    NAMESPACE, Action, CodedValue, MessageKind, Status, Version,
)
from protocols.iso18626.confirm import confirm
from protocols.iso18626.errors import (
    BadlyFormedMessage, Iso18626EncodeError, Iso18626Error, UnrecognisedDataElement,
    UnrecognisedDataValue, UnsupportedActionType, UnsupportedReasonForMessageType,
)
from tests.protocols.iso18626_helpers import (
    T0, assert_valid, full_messages, full_request, full_requesting_message,
    full_supplying_message, schema,
)
from tests.protocols.test_xml import BILLION_LAUGHS, XXE_FILE, XXE_NETWORK, XXE_PARAMETER

NS = NAMESPACE
VERSIONS = list(Version)
KINDS = [kind.value for kind in MessageKind]


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.value)
@pytest.mark.parametrize("name", KINDS)
def test_every_message_round_trips_and_validates(version, name):
    message = full_messages(version)[name]
    body = encode(message)
    assert_valid(body, version)
    assert decode(body) == message
    assert etree.fromstring(body).get(f"{{{NS}}}version") == version.value


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.value)
@pytest.mark.parametrize("name", KINDS)
def test_messages_of_one_version_do_not_validate_against_the_other(version, name):
    # The layouts really differ: what validates for one version is refused by the other XSD
    # (guards against a codec that writes the same bytes for both).
    other = Version.V2021_2 if version is Version.V1_2 else Version.V1_2
    assert not schema(other).is_valid(encode(full_messages(version)[name]))


def _children(body: bytes, path: str) -> list[str]:
    element = etree.fromstring(body).find(path, {"i": NS})
    return [etree.QName(child).localname for child in element]


def test_bibliographic_item_id_order_follows_the_version():
    one_two = encode(full_request(Version.V1_2))
    twenty = encode(full_request(Version.V2021_2))
    path = "i:request/i:bibliographicInfo/i:bibliographicItemId"
    assert _children(one_two, path) == ["bibliographicItemIdentifier",
                                        "bibliographicItemIdentifierCode"]
    assert _children(twenty, path) == ["bibliographicItemIdentifierCode",
                                       "bibliographicItemIdentifier"]
    # and both read back to the same item ids
    assert decode(one_two).bibliographic_info.bibliographic_item_ids == \
        decode(twenty).bibliographic_info.bibliographic_item_ids


def test_multiple_item_request_id_is_written_empty_in_1_2_and_left_out_in_2021():
    message = dataclasses.replace(
        full_supplying_message(Version.V2021_2, Status.WILL_SUPPLY), retry_info=None,
        shipping_info=None,
        delivery_info=None, return_info=None)
    one_two = encode(message, Version.V1_2)
    assert_valid(one_two, Version.V1_2)
    assert "multipleItemRequestId" in _children(one_two, "i:supplyingAgencyMessage/i:header")
    assert "multipleItemRequestId" not in _children(encode(message),
                                                    "i:supplyingAgencyMessage/i:header")


@pytest.mark.parametrize("message, version, expected", [
    (full_supplying_message(Version.V1_2, Status.HOLD_RETURN), Version.V1_2, "HoldReturn"),
    (full_requesting_message(Version.V1_2, Action.LOST), Version.V1_2, "Lost"),
    (full_supplying_message(Version.V2021_2), Version.V1_2, "retry_info has no place"),
    (full_supplying_message(Version.V1_2), Version.V2021_2,
     "header: multiple_item_request_id has no place"),
    (dataclasses.replace(full_supplying_message(Version.V1_2), header=dataclasses.replace(
        full_supplying_message(Version.V1_2).header, multiple_item_request_id=None)),
     Version.V2021_2, "messageInfo: offered_costs has no place"),
    (full_request(Version.V2021_2), Version.V1_2, "header: consortial_id has no place"),
    (dataclasses.replace(full_request(Version.V1_2), bibliographic_info=dataclasses.replace(
        full_request(Version.V1_2).bibliographic_info, volume=("1", "2"))), Version.V1_2,
     "volume: 2 values; ISO 18626 1.2 allows 1"),
    (dataclasses.replace(full_request(Version.V1_2), header=dataclasses.replace(
        full_request(Version.V1_2).header, supplying_agency_id=None)), Version.V1_2,
     "supplyingAgencyId: mandatory"),
    (dataclasses.replace(full_request(Version.V1_2), service_info=None), Version.V2021_2,
     "serviceInfo: mandatory"),
])
def test_what_a_version_cannot_carry_is_refused_not_dropped(message, version, expected):
    with pytest.raises(Iso18626EncodeError, match=expected):
        encode(message, version)


def test_region_is_a_plain_string_in_2021():
    request = full_request(Version.V2021_2)
    bad_address = m.Address(physical_address=m.PhysicalAddress(region=CodedValue("SH", "urn:x")))
    broken = dataclasses.replace(request, patron_info=dataclasses.replace(
        request.patron_info, addresses=(bad_address,)))
    with pytest.raises(Iso18626EncodeError, match="no scheme here"):
        encode(broken)


def test_control_characters_are_refused_on_encode():
    request = full_request(Version.V1_2)
    broken = dataclasses.replace(request, bibliographic_info=dataclasses.replace(
        request.bibliographic_info, title="bad\x00title"))
    with pytest.raises(Iso18626EncodeError, match="bibliographicInfo/title"):
        encode(broken)


# ---- dates -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("2024-12-12T20:12:00.62959771Z", datetime(2024, 12, 12, 20, 12, 0, 629597, tzinfo=UTC)),
    ("1900-01-01T01:01:01+0000", datetime(1900, 1, 1, 1, 1, 1, tzinfo=UTC)),
    ("2014-03-17T09:30:47.0Z", datetime(2014, 3, 17, 9, 30, 47, tzinfo=UTC)),
    ("0001-01-01T00:00:00.000Z", datetime(1, 1, 1, tzinfo=UTC)),
    ("2024-01-01T10:00:00+02:00",
     datetime(2024, 1, 1, 10, tzinfo=timezone(timedelta(hours=2)))),
    ("2024-01-01T10:00:00", datetime(2024, 1, 1, 10, tzinfo=UTC)),
])
def test_datetimes_peers_send(text, expected):
    assert parse_datetime(text) == expected


@pytest.mark.parametrize("text", ["_TIMESTAMP_", "2024-01-01", "20240101T100000Z",
                                  "2024-13-01T00:00:00Z", "2024-01-01T10:00:00 Z"])
def test_not_datetimes(text):
    with pytest.raises(ValueError, match="xs:dateTime|month|out of range|Invalid"):
        parse_datetime(text)


def test_datetimes_are_written_in_utc_with_z():
    assert format_datetime(datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))) \
        == "2024-01-01T10:00:00Z"
    assert format_datetime(datetime(2024, 1, 1, 12, 0, 0, 5)) == "2024-01-01T12:00:00.000005Z"


# ---- what decode refuses, and the answer to it -----------------------------------------

def _sam_body(version: Version = Version.V1_2) -> str:
    return encode(full_supplying_message(version)).decode()


def _refusal(body: bytes | str) -> Iso18626Error:
    with pytest.raises(Iso18626Error) as info:
        decode(body.encode() if isinstance(body, str) else body)
    return info.value


@pytest.mark.parametrize("edit, error, value", [
    (lambda b: b.replace("<status>Loaned<", "<status>Lent<"), UnrecognisedDataValue,
     "invalid status: Lent"),
    (lambda b: b.replace("<reasonForMessage>StatusChange<", "<reasonForMessage>Because<"),
     UnsupportedReasonForMessageType, "invalid reasonForMessage: Because"),
    (lambda b: b.replace("<note>", "<colour>blue</colour><note>"), UnrecognisedDataElement,
     "supplyingAgencyMessage/messageInfo/colour"),
    (lambda b: b.replace("<lastChange>", "<lastChange>yesterday").replace(
        "</lastChange>", "x</lastChange>"), UnrecognisedDataValue, "lastChange"),
    (lambda b: b.replace("<statusInfo>", "<statusInfo><status>Loaned</status>"),
     BadlyFormedMessage, "statusInfo/status: occurs more than once"),
    (lambda b: b.replace("<requestingAgencyRequestId>req-1<",
                         "<requestingAgencyRequestId><"), UnrecognisedDataValue,
     "requestingAgencyRequestId: cannot be empty"),
    (lambda b: b.replace("<monetaryValue>12.50<", "<monetaryValue>1e5<"),
     UnrecognisedDataValue, "monetaryValue"),
    (lambda b: b.replace("<reasonForMessage>StatusChange</reasonForMessage>", ""),
     BadlyFormedMessage, "mandatory element reasonForMessage is missing"),
    (lambda b: b.replace("<note>on its way</note>", "<note>on <b>its</b> way</note>"),
     BadlyFormedMessage, "elements inside a simple value"),
    (lambda b: b.replace("<messageInfo>", "<messageInfo>stray text"), BadlyFormedMessage,
     "text where only elements"),
    (lambda b: b.replace('ill:version="1.2"', 'ill:version="3.0"'), UnrecognisedDataValue,
     "version: '3.0' is not supported"),
    (lambda b: b.replace("<status>Loaned<", "<status>HoldReturn<"), UnrecognisedDataValue,
     "invalid status: HoldReturn"),   # a 2021 status in a 1.2 message
])
def test_refused_supplying_messages_name_the_problem(edit, error, value):
    refusal = _refusal(edit(_sam_body()))
    assert type(refusal) is error
    assert value in refusal.error_value
    assert refusal.kind is MessageKind.SUPPLYING_AGENCY_MESSAGE
    answer = confirm(refusal, now=T0)
    assert isinstance(answer, m.SupplyingAgencyMessageConfirmation)
    assert answer.error_data[0].error_type is error.error_type
    # the answer repeats the header fields that could still be read
    assert answer.confirmation_header.requesting_agency_request_id in ("req-1", None)
    assert answer.confirmation_header.supplying_agency_id.value == "DE-SUP"
    assert_valid(encode(answer), Version.V1_2)


def test_unknown_action_is_unsupported_action_type_in_the_peer_version():
    body = encode(full_requesting_message(Version.V2021_2)).decode()
    refusal = _refusal(body.replace("<action>Received<", "<action>Borrow<"))
    assert isinstance(refusal, UnsupportedActionType)
    assert refusal.version is Version.V2021_2
    answer = confirm(refusal, now=T0)
    assert answer.version is Version.V2021_2 and answer.action is None
    assert_valid(encode(answer), Version.V2021_2)


@pytest.mark.parametrize("body, expected", [
    (b"", "not well-formed"),
    (b"<ISO18626Message", "not well-formed"),
    (b"\xff\xfe\x00garbage", "not well-formed"),
    (f'<ISO18626Message xmlns="{NS}" xmlns:ill="{NS}" ill:version="1.2"/>'.encode(),
     "holds 0 messages"),
    (f'<ISO18626Message xmlns="{NS}" xmlns:ill="{NS}" ill:version="1.2"><request/>'
     f'<request/></ISO18626Message>'.encode(), "holds 2 messages"),
    (b'<ISO18626Message version="1.2"><request/></ISO18626Message>', "namespace None"),
    (f'<request xmlns="{NS}"/>'.encode(), "bare message without its envelope"),
    (b"<html><body>502 Bad Gateway</body></html>", "root element is 'html'"),
])
def test_not_an_iso_18626_message_is_badly_formed(body, expected):
    refusal = _refusal(body)
    assert isinstance(refusal, BadlyFormedMessage)
    assert expected in refusal.error_value
    assert_valid(encode(confirm(refusal, now=T0)), refusal.version)


def test_unknown_message_element_is_unrecognised():
    refusal = _refusal(f'<ISO18626Message xmlns="{NS}" xmlns:ill="{NS}" ill:version="2021-2">'
                       f'<loanRequest/></ISO18626Message>')
    assert isinstance(refusal, UnrecognisedDataElement)
    assert refusal.version is Version.V2021_2


@pytest.mark.parametrize("hostile", [XXE_FILE, XXE_NETWORK, XXE_PARAMETER, BILLION_LAUGHS],
                         ids=["xxe-file", "xxe-network", "xxe-parameter", "billion-laughs"])
def test_entities_are_refused_never_expanded(hostile):
    refusal = _refusal(hostile)
    assert isinstance(refusal, BadlyFormedMessage)
    assert "entit" in refusal.error_value.lower()
    assert b"lol" not in encode(confirm(refusal, now=T0))


def test_xxe_inside_a_real_message_is_refused():
    body = _sam_body().replace("<?xml version='1.0' encoding='UTF-8'?>",
                               '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM '
                               '"file:///etc/passwd">]>').replace("on its way", "&e;")
    refusal = _refusal(body)
    assert isinstance(refusal, BadlyFormedMessage)
    answer = confirm(refusal, now=T0)
    assert "root:" not in encode(answer).decode()


def test_oversized_message_is_refused_before_parsing():
    refusal = _refusal(b"<a>" + b" " * (3 * 2**20) + b"</a>")
    assert isinstance(refusal, BadlyFormedMessage) and "limit" in refusal.error_value


# ---- tolerance ---------------------------------------------------------------------------

def test_tolerated_variants_of_a_message():
    body = _sam_body()
    tolerant = (body.replace('ill:version="1.2"', 'version="1.1"')   # unqualified, 2014
                .replace("<note>on its way</note>", "<note/><!-- a comment -->")
                .replace('ill:scheme="urn:reasons"', 'scheme="urn:reasons"'))
    message = decode(tolerant.encode())
    assert message.version is Version.V1_2
    assert message.message_info.note is None
    assert message.message_info.reason_unfilled == CodedValue("NotOnShelf", "urn:reasons")
    assert confirm(message, now=T0).version is Version.V1_2


def test_a_missing_version_is_read_as_1_2():
    body = _sam_body().replace(' ill:version="1.2"', "")
    assert decode(body.encode()).version is Version.V1_2


def test_elements_of_the_other_version_are_read():
    # ReShare puts the 2021 authorId into 1.2 requests; 2021 requests may omit the supplier
    body = encode(full_request(Version.V1_2)).decode().replace(
        "<author>J.R.R. Tolkien</author>",
        "<author>J.R.R. Tolkien</author><authorId>0000000121441970</authorId>")
    assert decode(body.encode()).bibliographic_info.author_id == "0000000121441970"
