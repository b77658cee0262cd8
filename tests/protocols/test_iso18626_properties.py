"""Property tests of the ISO 18626 codec: any input gives a message or a typed error (never
another exception), every answer validates, generated messages round-trip and validate."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from protocols.iso18626 import model as m
from protocols.iso18626.codec import decode, encode
from protocols.iso18626.codes import (
    NAMESPACE, Action, CodedValue, ReasonForMessage, Status, Version,
)
from protocols.iso18626.confirm import confirm
from protocols.iso18626.errors import Iso18626Error
from tests.protocols.iso18626_helpers import (
    T0, assert_valid, full_messages, full_request, full_requesting_message,
    full_supplying_message,
)

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
BODIES = [encode(message) for version in Version
          for message in full_messages(version).values()]


def decode_or_refuse(data: bytes) -> m.Message | Iso18626Error:
    try:
        return decode(data)
    except Iso18626Error as error:
        return error


def check_answer(result: m.Message | Iso18626Error) -> None:
    """Whatever came in, LibGate's answer validates against the XSD of its version."""
    if isinstance(result, Iso18626Error):
        answer = confirm(result, now=T0)
    elif result.kind.is_confirmation:
        return
    else:
        answer = confirm(result, now=T0)
    assert_valid(encode(answer), answer.version)


@SETTINGS
@given(st.binary(max_size=3000))
def test_any_bytes_give_a_message_or_a_typed_error(data):
    check_answer(decode_or_refuse(data))


@SETTINGS
@given(st.sampled_from(BODIES), st.lists(
    st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)),
    min_size=1, max_size=8))
def test_damaged_messages_give_a_message_or_a_typed_error(body, damage):
    data = bytearray(body)
    for position, value in damage:
        data[position % len(data)] = value
    check_answer(decode_or_refuse(bytes(data)))


@SETTINGS
@given(st.sampled_from(BODIES), st.data())
def test_messages_with_any_element_text_replaced(body, data):
    root = etree.fromstring(body)
    leaves = [element for element in root.iter() if len(element) == 0]
    leaf = data.draw(st.sampled_from(leaves))
    leaf.text = data.draw(st.text(st.characters(blacklist_categories=("Cs", "Cc")),
                                  max_size=30))
    result = decode_or_refuse(etree.tostring(root))
    check_answer(result)
    if not isinstance(result, Iso18626Error):
        # what was read from a valid layout can be written back in that layout
        assert_valid(encode(result), result.version)


@SETTINGS
@given(st.sampled_from(BODIES), st.data())
def test_messages_with_any_element_dropped_or_repeated(body, data):
    root = etree.fromstring(body)
    elements = [element for element in root.iter() if element is not root]
    target = data.draw(st.sampled_from(elements))
    if data.draw(st.booleans()):
        target.getparent().remove(target)
    else:
        target.addnext(etree.fromstring(etree.tostring(target)))
    check_answer(decode_or_refuse(etree.tostring(root)))


text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Zs", "Zl", "Zp")),
               min_size=1, max_size=20)
timestamps = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1),
                          timezones=st.just(UTC))
codes = st.builds(CodedValue, text, st.none() | st.sampled_from(["urn:a", "http://x.org/s"]))
agencies = st.builds(m.AgencyId, type=codes, value=text)


@st.composite
def supplying_messages(draw):
    version = draw(st.sampled_from(list(Version)))
    status = draw(st.sampled_from([s for s in Status if s.allowed_in(version)]))
    message = full_supplying_message(version, status,
                                     reason=draw(st.sampled_from(list(ReasonForMessage))),
                                     timestamp=draw(timestamps))
    header = dataclasses.replace(message.header, supplying_agency_id=draw(agencies),
                                 requesting_agency_request_id=draw(text),
                                 supplying_agency_request_id=draw(st.none() | text))
    info = dataclasses.replace(message.message_info, note=draw(st.none() | text),
                               reason_unfilled=draw(st.none() | codes))
    return dataclasses.replace(message, header=header, message_info=info)


@st.composite
def requesting_messages(draw):
    version = draw(st.sampled_from(list(Version)))
    action = draw(st.sampled_from([a for a in Action if a.allowed_in(version)]))
    message = full_requesting_message(version, action, timestamp=draw(timestamps))
    return dataclasses.replace(message, note=draw(st.none() | text), header=dataclasses.replace(
        message.header, requesting_agency_id=draw(agencies)))


@st.composite
def requests(draw):
    version = draw(st.sampled_from(list(Version)))
    request = full_request(version)
    ids = draw(st.lists(st.builds(m.BibliographicItemId, identifier=text, code=codes),
                        max_size=3))
    info = dataclasses.replace(request.bibliographic_info, title=draw(st.none() | text),
                               author=draw(st.none() | text), bibliographic_item_ids=tuple(ids))
    return dataclasses.replace(request, bibliographic_info=info)


@SETTINGS
@given(st.one_of(supplying_messages(), requesting_messages(), requests()))
def test_generated_messages_round_trip_and_validate(message):
    body = encode(message)
    assert_valid(body, message.version)
    assert decode(body) == message
    assert_valid(encode(confirm(message, now=T0)), message.version)


def test_the_namespace_is_the_one_both_schemas_share():
    assert all(etree.fromstring(body).tag == f"{{{NAMESPACE}}}ISO18626Message"
               for body in BODIES)
