"""SRU searchRetrieve: request arguments, responses of SRU 1.1/1.2 and 2.0, diagnostics.

The responses here are HAND-MADE, because shared/data holds no SRU captures: the envelopes
copy what Index Data Zebra 2.2.7 / YAZ 5.34 answered on the local peer
(shared/peers/sru-zebra-start.sh) byte for byte in shape — the ``zs`` prefix, the element
order, ``echoedSearchRetrieveRequest`` after the records, no ``nextRecordPosition``, the
2.0 ``recordXMLEscaping`` and ``resultCountPrecision``, the HTML 404 page — and the records
in them are real MARCXML records from shared/data/marc/traject/test_data.utf8.marc.xml.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from protocols import sru
from protocols.errors import ProtocolError
from protocols.xml import MARC_NS
from tests.shared_data import require_shared

SRU1 = "http://www.loc.gov/zing/srw/"
SRU2 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
DIAG1 = "http://www.loc.gov/zing/srw/diagnostic/"
DIAG2 = "http://docs.oasis-open.org/ns/search-ws/diagnostic"
MARCXML = "info:srw/schema/1/marcxml-v1.1"


@pytest.fixture(scope="module")
def marc_records() -> list[bytes]:
    """Real MARCXML records, serialized the way YAZ sends them (default namespace)."""
    path = require_shared("data", "marc", "traject", "test_data.utf8.marc.xml")
    collection = etree.fromstring(path.read_bytes())
    return [etree.tostring(r, encoding="utf-8", with_tail=False)
            for r in collection.iter(f"{{{MARC_NS}}}record")]


def yaz_response(version: str, records: list[bytes], *, total: int, start: int = 1,
                 packing: str = "xml", query: str = "dc.title=python", schema: str = MARCXML,
                 diagnostics: str = "") -> bytes:
    """A searchRetrieveResponse shaped like YAZ's, for SRU 1.x or (version "2.0") 2.0."""
    two = version == "2.0"
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<zs:searchRetrieveResponse '
             f'xmlns:zs="{SRU2 if two else SRU1}">']
    if not two:
        parts.append(f"<zs:version>{version}</zs:version>")
    if total >= 0:
        parts.append(f"<zs:numberOfRecords>{total}</zs:numberOfRecords>")
    packing_tag = "recordXMLEscaping" if two else "recordPacking"
    if records:
        parts.append("<zs:records>")
        for offset, record in enumerate(records):
            text = record.decode("utf-8")
            data = escape(text) if packing == "string" else text
            parts.append(f"<zs:record><zs:recordSchema>{schema}</zs:recordSchema><zs:"
                         f"{packing_tag}>{packing}</zs:{packing_tag}><zs:recordData>{data}"
                         f"</zs:recordData><zs:recordPosition>{start + offset}</zs:"
                         f"recordPosition></zs:record>")
        parts.append("</zs:records>")
    parts.append(f"<zs:echoedSearchRetrieveRequest><zs:version>{version}</zs:version>"
                 f"<zs:query>{escape(query)}</zs:query><zs:maximumRecords>{len(records)}"
                 f"</zs:maximumRecords><zs:{packing_tag}>{packing}</zs:{packing_tag}>"
                 f"</zs:echoedSearchRetrieveRequest>")
    parts.append(diagnostics)
    if two and total >= 0:
        parts.append("<zs:resultCountPrecision>exact</zs:resultCountPrecision>")
    parts.append("</zs:searchRetrieveResponse>")
    return "".join(parts).encode("utf-8")


def yaz_diagnostic(version: str, number: int, message: str, details: str = "") -> str:
    ns = DIAG2 if version == "2.0" else DIAG1
    extra = f"<diag:details>{details}</diag:details>" if details else ""
    return (f'<zs:diagnostics xmlns:diag="{ns}"><diag:diagnostic><diag:uri>'
            f"info:srw/diagnostic/1/{number}</diag:uri>{extra}<diag:message>{message}"
            "</diag:message></diag:diagnostic></zs:diagnostics>")


# what YAZ 5.34 answers for GET /wrong-database?...: HTTP 404 and this body
YAZ_404 = b"""<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" \
"http://www.w3.org/TR/html4/strict.dtd">
<HTML>
 <HEAD>
  <TITLE>YAZ/5.34.0</TITLE>
 </HEAD>
 <BODY>
  <P><A HREF="http://www.indexdata.com/yaz">YAZ/5.34.0</A></P>
  <P>Error: 404</P>
  <P>Description: Not Found</P>
 </BODY>
</HTML>
"""


# --- requests ----------------------------------------------------------------------------

def test_params_for_sru_1_2() -> None:
    assert sru.search_retrieve_params("dc.title=python", start_record=1, maximum_records=10) == {
        "operation": "searchRetrieve", "version": "1.2", "query": "dc.title=python",
        "startRecord": "1", "maximumRecords": "10", "recordSchema": "marcxml",
        "recordPacking": "xml"}


def test_params_for_sru_2_0_omit_the_version() -> None:
    # YAZ answers version=2.0 with diagnostic 5; without a version it serves 2.0
    params = sru.search_retrieve_params("python", start_record=11, maximum_records=5,
                                        version="2.0", record_packing="string",
                                        record_schema="dc")
    assert "version" not in params and "recordPacking" not in params
    assert params["recordXMLEscaping"] == "string" and params["startRecord"] == "11"
    assert params["recordSchema"] == "dc"


@pytest.mark.parametrize("kwargs", [
    {"query": "", "start_record": 1, "maximum_records": 1},
    {"query": "x", "start_record": 0, "maximum_records": 1},
    {"query": "x", "start_record": 1, "maximum_records": -1},
    {"query": "x", "start_record": 1, "maximum_records": 1, "version": "3.0"},
    {"query": "x", "start_record": 1, "maximum_records": 1, "record_packing": "json"},
    {"query": "x", "start_record": True, "maximum_records": 1},
])
def test_bad_params_are_bugs(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        sru.search_retrieve_params(**kwargs)


def test_maximum_records_is_required() -> None:
    # YAZ answers 0 records without maximumRecords: the argument has no default
    with pytest.raises(TypeError):
        sru.search_retrieve_params("x", start_record=1)  # type: ignore[call-arg]


# --- responses ---------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["1.1", "1.2", "2.0"])
@pytest.mark.parametrize("packing", ["xml", "string"])
def test_records_in_every_version_and_packing(marc_records: list[bytes], version: str,
                                             packing: str) -> None:
    body = yaz_response(version, marc_records[:5], total=30, start=6, packing=packing)
    page = sru.parse_search_retrieve(body)
    assert page.number_of_records == 30 and len(page.records) == 5
    assert [r.position for r in page.records] == [6, 7, 8, 9, 10]
    assert {r.packing for r in page.records} == {packing}
    assert {r.schema for r in page.records} == {MARCXML}
    assert page.diagnostics == [] and page.bad_records == []
    # no nextRecordPosition from YAZ: the last position + 1
    assert page.next_position == 11
    for got, original in zip(page.records, marc_records[:5]):
        record = etree.fromstring(got.data)
        assert record.tag == f"{{{MARC_NS}}}record"
        # exclusive c14n: the xml packing carries the envelope's xmlns:zs along, unused
        assert etree.tostring(record, method="c14n", exclusive=True) == \
            etree.tostring(etree.fromstring(original), method="c14n", exclusive=True)


def test_non_ascii_survives_string_packing(marc_records: list[bytes]) -> None:
    romanized = next(r for r in marc_records if not r.isascii())  # Urdu, with diacritics
    page = sru.parse_search_retrieve(yaz_response("1.2", [romanized], total=1, packing="string"))
    got = list(etree.fromstring(page.records[0].data).itertext())
    assert got == list(etree.fromstring(romanized).itertext())
    assert any(not text.isascii() for text in got)


def test_last_page_has_no_next_position(marc_records: list[bytes]) -> None:
    page = sru.parse_search_retrieve(yaz_response("1.2", marc_records[:5], total=30, start=26))
    assert page.next_position is None


def test_next_record_position_when_the_server_sends_it(marc_records: list[bytes]) -> None:
    body = yaz_response("1.2", marc_records[:2], total=30).replace(
        b"</zs:records>", b"</zs:records><zs:nextRecordPosition>3</zs:nextRecordPosition>")
    assert sru.parse_search_retrieve(body).next_position == 3


@pytest.mark.parametrize("version", ["1.2", "2.0"])
def test_count_only_answer(version: str) -> None:
    # what YAZ answers without maximumRecords (or with 0): a count and no records
    page = sru.parse_search_retrieve(yaz_response(version, [], total=15))
    assert (page.number_of_records, page.records, page.next_position) == (15, [], None)


def test_no_hits() -> None:
    page = sru.parse_search_retrieve(yaz_response("1.2", [], total=0, query="dc.title=zzzqqq"))
    assert page.number_of_records == 0 and page.records == []


def test_string_packed_record_with_xml_declaration() -> None:
    # YAZ puts <?xml version="1.0"?> in front of string-packed DC records
    dc = b'<?xml version="1.0"?>\n<dc:dc xmlns:dc="http://purl.org/dc/elements/1.1/">' \
         b"<dc:title>Programming Python /</dc:title></dc:dc>"
    body = yaz_response("2.0", [dc], total=1, packing="string",
                        schema="info:srw/schema/1/dc-v1.1")
    record, = sru.parse_search_retrieve(body).records
    assert etree.fromstring(record.data).findtext("{http://purl.org/dc/elements/1.1/}title") \
        == "Programming Python /"


def test_unreadable_string_record_is_quarantined(marc_records: list[bytes]) -> None:
    broken = marc_records[1].replace(b"</leader>", b"</leadr>")
    page = sru.parse_search_retrieve(yaz_response("1.2", [marc_records[0], broken], total=2,
                                                  packing="string"))
    assert len(page.records) == 1 and len(page.bad_records) == 1
    raw, reason = page.bad_records[0]
    assert b"</leadr>" in raw and "record 2" in reason


def test_surrogate_diagnostic_takes_a_records_place(marc_records: list[bytes]) -> None:
    surrogate = (f'<diag:diagnostic xmlns:diag="{DIAG1}"><diag:uri>info:srw/diagnostic/1/65'
                 "</diag:uri><diag:message>Record does not exist</diag:message>"
                 "</diag:diagnostic>").encode()
    body = yaz_response("1.2", [marc_records[0], surrogate], total=2)
    page = sru.parse_search_retrieve(body)
    assert len(page.records) == 1
    assert page.diagnostics == [sru.SruDiagnostic("info:srw/diagnostic/1/65", "",
                                                  "Record does not exist")]


def test_non_fatal_diagnostic_next_to_records(marc_records: list[bytes]) -> None:
    body = yaz_response("1.2", marc_records[:1], total=1,
                        diagnostics=yaz_diagnostic("1.2", 59, "Result set created with valid "
                                                   "partial results available"))
    page = sru.parse_search_retrieve(body)
    assert len(page.records) == 1 and page.diagnostics[0].uri.endswith("/59")


@pytest.mark.parametrize("version", ["1.1", "1.2", "2.0"])
def test_query_syntax_error_names_the_query(version: str) -> None:
    body = yaz_response(version, [], total=-1, query="dc.title=(python",
                        diagnostics=yaz_diagnostic(version, 10, "Query syntax error"))
    with pytest.raises(sru.SruQueryError) as caught:
        sru.parse_search_retrieve(body)
    message = str(caught.value)
    assert "refused the query 'dc.title=(python'" in message
    assert "info:srw/diagnostic/1/10" in message
    assert caught.value.status_hint == 400 and caught.value.uri == "info:srw/diagnostic/1/10"


def test_query_given_by_the_caller_wins() -> None:
    body = yaz_response("1.2", [], total=-1, query="echoed",
                        diagnostics=yaz_diagnostic("1.2", 19, "Unsupported relation", "5"))
    with pytest.raises(sru.SruQueryError, match="'dc.date>2003'.*details '5'"):
        sru.parse_search_retrieve(body, query="dc.date>2003")


@pytest.mark.parametrize("number, error, message, details", [
    (61, sru.SruRecordPositionError, "First record position out of range", ""),
    (66, sru.SruSchemaError, "Unknown schema for retrieval", "foo"),
    (89, sru.SruQueryError, "Path unsupported for schema", ""),
    (15, sru.SruQueryError, "Unsupported context set", ""),
    (5, sru.SruUnsupportedError, "Unsupported version", "2.0"),
    (7, sru.SruUnsupportedError, "Mandatory parameter not supplied", "query"),
    (2, sru.SruSystemError, "System temporarily unavailable", ""),
    (999, sru.SruError, "Something new", ""),
])
@pytest.mark.parametrize("version", ["1.2", "2.0"])
def test_fatal_diagnostics_are_typed(version: str, number: int, error: type, message: str,
                                     details: str) -> None:
    # YAZ sends numberOfRecords with 61 and 66 (the search ran), none with query errors
    total = 15 if number in (61, 66) else -1
    body = yaz_response(version, [], total=total,
                        diagnostics=yaz_diagnostic(version, number, message, details))
    with pytest.raises(error) as caught:
        sru.parse_search_retrieve(body)
    assert type(caught.value) is error
    assert f"info:srw/diagnostic/1/{number}" in str(caught.value)
    assert caught.value.details == details and caught.value.diagnostic_message == message


def test_diagnostics_table_is_explicit() -> None:
    assert sru.DIAGNOSTICS[10][0] is sru.SruQueryError
    assert sru.DIAGNOSTICS[61][0] is sru.SruRecordPositionError
    assert sru.DIAGNOSTICS[66][0] is sru.SruSchemaError
    assert all(issubclass(cls, sru.SruError) for cls, _ in sru.DIAGNOSTICS.values())


def test_yaz_404_page_means_a_wrong_database() -> None:
    with pytest.raises(sru.SruEndpointError, match="base URL or database path is wrong"):
        sru.parse_search_retrieve(YAZ_404)


def test_html_that_is_not_xml_is_an_endpoint_error() -> None:
    with pytest.raises(sru.SruEndpointError, match="HTML page titled '502 Bad Gateway'"):
        sru.parse_search_retrieve(b"<html><head><title>502 Bad Gateway</title></head><body>"
                                  b"<hr><center>nginx</center></body></html>")


def test_explain_instead_of_search_answer() -> None:
    # a bare GET of the base URL returns the Explain record
    body = (f'<zs:explainResponse xmlns:zs="{SRU1}"><zs:version>1.2</zs:version>'
            "</zs:explainResponse>").encode()
    with pytest.raises(sru.SruEndpointError, match="explainResponse"):
        sru.parse_search_retrieve(body)


@pytest.mark.parametrize("body", [b"", b"not xml", b"<a>", b"<zs:x xmlns:zs='urn:x'/>"])
def test_garbage_is_typed(body: bytes) -> None:
    with pytest.raises(sru.SruError):
        sru.parse_search_retrieve(body)


def test_missing_number_of_records_is_an_error(marc_records: list[bytes]) -> None:
    with pytest.raises(sru.SruError, match="numberOfRecords"):
        sru.parse_search_retrieve(yaz_response("1.2", marc_records[:1], total=-1))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes(data: bytes) -> None:
    try:
        page = sru.parse_search_retrieve(data)
    except ProtocolError:
        return
    assert isinstance(page, sru.SruPage)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_responses(data: st.DataObject) -> None:
    record = (b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00979cam a2200241 a '
              b'4500</leader><controlfield tag="001">12515882</controlfield></record>')
    body = yaz_response(data.draw(st.sampled_from(["1.2", "2.0"])), [record, record], total=9,
                        packing=data.draw(st.sampled_from(["xml", "string"])))
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.integers(0, len(body)))
        junk = data.draw(st.sampled_from([b"<", b"&", b"\x00", b"\xe9", b"</zs:records>",
                                          b"<zs:record>", b"&lt;", b""]))
        body = body[:where] + junk + body[where + data.draw(st.integers(0, 20)):]
    try:
        page = sru.parse_search_retrieve(body)
    except ProtocolError:
        return
    for got in page.records:
        etree.fromstring(got.data)
