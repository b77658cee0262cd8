"""The pure side of our OAI-PMH repository: request rules, dates, tokens, metadata, XML.

No event loop: requests are argument pairs, answers are lxml elements and bytes.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
import xmlschema
from hypothesis import given, settings, strategies as st
from lxml import etree

from protocols.oaipmh.errors import (
    ERRORS_BY_CODE, BadArgument, BadResumptionToken, BadVerb, OAIError,
)
from protocols.oaipmh.provider import (
    ListRequest, cluster_id_from_identifier, cluster_identifier, date_window,
    member_set_spec, parse_request, set_specs_for,
)
from protocols.oaipmh.provider_metadata import union_to_dc, union_to_marcxml
from protocols.oaipmh.provider_tokens import TokenState, read_token, sign_token
from protocols.oaipmh import provider_xml as oai_xml
from protocols.union import SourceRef, UnionHolding, UnionRecord
from protocols.xml import MARC_NS
from tests.oai_support import schema, union_records, validate_oai

KEY = b"k" * 32
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

# --- request rules --------------------------------------------------------------------------


@pytest.mark.parametrize("pairs, error", [
    ([], BadVerb),
    ([("verb", "Frobnicate")], BadVerb),
    ([("verb", "Identify"), ("verb", "Identify")], BadVerb),
    ([("verb", "Identify"), ("set", "member")], BadArgument),
    ([("verb", "ListRecords")], BadArgument),                              # no metadataPrefix
    ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"),
      ("metadataPrefix", "marc21")], BadArgument),                         # repeated
    ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"),
      ("resumptionToken", "x")], BadArgument),                             # token is exclusive
    ([("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"), ("from", "2024-13-01")],
     BadArgument),
    ([("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"), ("from", "2024-01-01"),
      ("until", "2024-02-01T00:00:00Z")], BadArgument),                    # mixed granularity
    ([("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"), ("from", "2024-02-02"),
      ("until", "2024-02-01")], BadArgument),                              # from > until
    ([("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"),
      ("from", "2024-01-01T00:00:00+01:00")], BadArgument),                # not the UTC form
    ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("set", "a b")], BadArgument),
    ([("verb", "GetRecord"), ("identifier", "oai:x:cluster/1")], BadArgument),
    ([("verb", "ListMetadataFormats"), ("identifier", "")], BadArgument),
    ([("verb", "ListSets"), ("metadataPrefix", "oai_dc")], BadArgument),
])
def test_illegal_requests_raise_the_protocols_error(pairs, error):
    with pytest.raises(error) as raised:
        parse_request(pairs)
    assert type(raised.value) is error


def test_legal_requests_keep_their_arguments():
    request = parse_request([("verb", "ListRecords"), ("metadataPrefix", "marc21"),
                             ("from", "2024-01-01"), ("until", "2024-01-31"),
                             ("set", "member:SE-UMU")])
    assert request.verb == "ListRecords" and request.get("set") == "member:SE-UMU"
    resumed = parse_request([("verb", "ListIdentifiers"), ("resumptionToken", "abc")])
    assert resumed.arguments == {"resumptionToken": "abc"}
    assert parse_request([("verb", "GetRecord"), ("identifier", "oai:x.org:cluster/3"),
                          ("metadataPrefix", "oai_dc")]).get("identifier") == "oai:x.org:cluster/3"


def test_until_is_inclusive_at_its_granularity():
    start, end = date_window("2024-01-01", "2024-01-31")
    assert start == datetime(2024, 1, 1, tzinfo=UTC)
    assert end == datetime(2024, 2, 1, tzinfo=UTC)
    _, end = date_window(None, "2024-01-31T10:00:00Z")
    assert end == datetime(2024, 1, 31, 10, 0, 1, tzinfo=UTC)
    assert date_window(None, None) == (None, None)
    assert date_window("0001-01-01", "9999-12-31") == (datetime(1, 1, 1, tzinfo=UTC), None)
    with pytest.raises(BadArgument):
        parse_request([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"),
                       ("from", "２０２４-01-01")])          # full-width digits


def test_identifiers_and_set_specs():
    identifier = cluster_identifier("union.example.org", 42)
    assert identifier == "oai:union.example.org:cluster/42"
    assert cluster_id_from_identifier("union.example.org", identifier) == 42
    for foreign in ("oai:other.org:cluster/42", "oai:union.example.org:cluster/4x2",
                    "oai:union.example.org:cluster/", "oai:union.example.org:cluster/٤٢"):
        assert cluster_id_from_identifier("union.example.org", foreign) is None
    # an ISIL may hold "/" and ":"; the setSpec stays in the protocol's alphabet and distinct
    assert member_set_spec("SE-UMU") == "member:SE-UMU"
    assert member_set_spec("DE-Hil2/a:b") == "member:DE-Hil2~2Fa~3Ab"
    record = UnionRecord(cluster_id=1, format="map", sources=[
        SourceRef(1, "SE-UMU", "a"), SourceRef(2, "US-DLC", "b"), SourceRef(3, "SE-UMU", "c")])
    assert set_specs_for(record) == ["member", "member:SE-UMU", "member:US-DLC", "format",
                                     "format:map"]


# --- resumption tokens ------------------------------------------------------------------------

STATE = TokenState(query=ListRequest("ListRecords", "marc21", "member:SE-UMU", "2024-01-01", None),
                   after_datestamp=datetime(2024, 1, 5, 3, 4, 5, 123456, tzinfo=UTC),
                   after_id=17, cursor=100, complete_list_size=250, expires=2_000_000_000)


def test_token_round_trip_keeps_query_and_position():
    token = sign_token(STATE, KEY)
    assert read_token(token, KEY, now=1_900_000_000, verb="ListRecords") == STATE


def test_tampered_foreign_expired_and_misused_tokens_are_refused():
    token = sign_token(STATE, KEY)
    body, signature = token.split(".")
    forged_state = dataclasses.replace(STATE, after_id=1)
    forged = sign_token(forged_state, KEY).split(".")[0] + "." + signature
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + signature
    for bad in (forged, flipped, "garbage", "a.b.c", token + "x", "", "é.é"):
        with pytest.raises(BadResumptionToken):
            read_token(bad, KEY, now=1_900_000_000, verb="ListRecords")
    with pytest.raises(BadResumptionToken, match="another key"):
        read_token(token, b"o" * 32, now=1_900_000_000, verb="ListRecords")
    with pytest.raises(BadResumptionToken, match="expired"):
        read_token(token, KEY, now=2_000_000_000, verb="ListRecords")
    with pytest.raises(BadResumptionToken, match="ListIdentifiers"):
        read_token(token, KEY, now=1_900_000_000, verb="ListIdentifiers")


def test_short_keys_are_a_bug_not_a_token_error():
    with pytest.raises(ValueError, match="32 bytes"):
        sign_token(STATE, b"short")


# --- metadata -----------------------------------------------------------------------------------


def _marc_fields(element) -> dict[str, list]:
    fields: dict[str, list] = {}
    for field in element:
        tag = field.get("tag") or etree.QName(field).localname
        if field.get("tag") and etree.QName(field).localname == "datafield":
            value = {sub.get("code"): sub.text for sub in field}
        else:
            value = field.text
        fields.setdefault(tag, []).append(value)
    return fields


def test_marcxml_of_a_merged_record_has_the_contracted_fields():
    record = UnionRecord(
        cluster_id=7, title="Pride and prejudice", subtitle="a novel",
        responsibility="by Jane Austen", authors=["Austen, Jane", "Thomson, Hugh"],
        isbns=["9780141439518"], issns=["0028-0836"], oclc_numbers=["123"], year=1813,
        edition="2nd ed.", publisher="Egerton", extent="3 v.", series=["Penguin classics"],
        subjects=["Courtship -- Fiction"], languages=["eng", "fre"], format="book",
        sources=[SourceRef(1, "SE-UMU", "u1"), SourceRef(2, "US-DLC", "d1")],
        holdings=[UnionHolding("SE-UMU", "u1", location="Main", call_number="PR4034",
                               lendable=True),
                  UnionHolding("US-DLC", "d1", location="Rare", lendable=False,
                               member_status="limited")])
    element = union_to_marcxml(record)
    schema("marc21").validate(etree.tostring(element).decode())
    fields = _marc_fields(element)
    assert fields["leader"][0][6:8] == "am"
    assert fields["001"] == ["7"] and fields["008"][0][7:11] == "1813"
    assert fields["020"] == [{"a": "9780141439518"}] and fields["022"] == [{"a": "0028-0836"}]
    assert fields["035"] == [{"a": "(OCoLC)123"}]
    assert fields["100"] == [{"a": "Austen, Jane"}] and fields["700"] == [{"a": "Thomson, Hugh"}]
    assert fields["245"] == [{"a": "Pride and prejudice", "b": "a novel", "c": "by Jane Austen"}]
    assert fields["250"] == [{"a": "2nd ed."}] and fields["264"] == [{"b": "Egerton", "c": "1813"}]
    assert fields["300"] == [{"a": "3 v."}] and fields["490"] == [{"a": "Penguin classics"}]
    assert fields["650"] == [{"a": "Courtship -- Fiction"}]
    umu, dlc = fields["852"]
    assert (umu["a"], umu["b"], umu["h"]) == ("SE-UMU", "Main", "PR4034")
    assert umu["z"].startswith("Available for interlibrary loan")
    assert dlc["a"] == "US-DLC" and dlc["z"].startswith("Not available")
    assert "limited" in dlc["z"] and "h" not in dlc


def test_metadata_of_real_records_validates_and_survives_control_characters():
    records = union_records(60)
    dirty = dataclasses.replace(records[0], title="Bad\x0bchars\x1f here")
    for record in [*records, dirty]:
        schema("marc21").validate(etree.tostring(union_to_marcxml(record)).decode())
        schema("oai_dc").validate(etree.tostring(union_to_dc(record)).decode())
    assert any(record.holdings for record in records)
    assert union_to_dc(dirty).findtext("{http://purl.org/dc/elements/1.1/}title") == \
        "Badchars here"


def test_the_schema_check_can_fail():
    element = union_to_marcxml(union_records(1)[0])
    element.find(f"{{{MARC_NS}}}controlfield").set("tag", "1")
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        schema("marc21").validate(etree.tostring(element).decode())


# --- response documents -------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(ERRORS_BY_CODE))
def test_every_error_response_validates(code):
    request = parse_request([("verb", "ListRecords"), ("metadataPrefix", "oai_dc")])
    xml = oai_xml.error_response("http://u.example/oai", NOW,
                                 ERRORS_BY_CODE[code](f"because {code}"), request)
    validate_oai(xml)
    root = etree.fromstring(xml)
    ns = "{http://www.openarchives.org/OAI/2.0/}"
    assert root.find(f"{ns}error").get("code") == code
    echoed = root.find(f"{ns}request")
    # a faulty request is not echoed back (the protocol says so for badVerb / badArgument)
    assert (echoed.get("verb") is None) == (code in ("badVerb", "badArgument"))


def test_a_deleted_record_has_no_metadata():
    root, _ = oai_xml.envelope("http://u.example/oai", NOW, parse_request(
        [("verb", "GetRecord"), ("identifier", "oai:u.example:cluster/1"),
         ("metadataPrefix", "marc21")]))
    answer = oai_xml.verb_element(root, "GetRecord")
    record = union_records(1)[0]
    oai_xml.record(answer, oai_xml.OaiHeader("oai:u.example:cluster/1", NOW, ("member",),
                                             deleted=True), union_to_marcxml(record))
    xml = oai_xml.to_bytes(root)
    validate_oai(xml)
    assert b'status="deleted"' in xml and b"<metadata" not in xml


# --- any input -------------------------------------------------------------------------------

_NAMES = st.one_of(st.sampled_from(["verb", "metadataPrefix", "identifier", "from", "until",
                                    "set", "resumptionToken"]), st.text(max_size=3))
_VALUES = st.one_of(st.sampled_from(["Identify", "ListRecords", "ListSets", "GetRecord",
                                     "ListIdentifiers", "ListMetadataFormats", "oai_dc",
                                     "2024-01-01", "2024-01-01T00:00:00Z", "member:SE-UMU"]),
                    st.text(max_size=12), st.text(st.characters(max_codepoint=40), max_size=4))


_VERBS = st.sampled_from(["Identify", "ListRecords", "ListSets", "GetRecord",
                          "ListIdentifiers", "ListMetadataFormats", "Bogus"])
# mostly a verb first, so the arguments after it are really looked at
_PAIRS = st.one_of(
    st.lists(st.tuples(_NAMES, _VALUES), max_size=6),
    st.builds(lambda verb, rest: [("verb", verb), *rest], _VERBS,
              st.lists(st.tuples(_NAMES, _VALUES), max_size=4)))


@given(_PAIRS)
def test_any_argument_list_is_either_a_request_or_a_protocol_error(pairs):
    try:
        request = parse_request(pairs)
    except OAIError as exc:
        assert exc.code in ("badVerb", "badArgument")
        return
    assert request.verb in ("Identify", "ListRecords", "ListSets", "GetRecord",
                            "ListIdentifiers", "ListMetadataFormats")
    assert set(request.arguments) <= {name for name, _ in pairs}


@settings(deadline=None)   # the first example builds the schemas
@given(_PAIRS)
def test_whatever_is_accepted_can_be_echoed_in_a_valid_response(pairs):
    try:
        request = parse_request(pairs)
    except OAIError as exc:
        validate_oai(oai_xml.error_response("http://u.example/oai", NOW, exc, None))
        return
    # the least an accepted request can get back: an error that echoes all its arguments
    answer = oai_xml.error_response("http://u.example/oai", NOW,
                                    ERRORS_BY_CODE["idDoesNotExist"]("no"), request)
    validate_oai(answer)
