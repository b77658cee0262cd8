"""OAI-PMH request arguments, datestamps and the next incremental ``from``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols import oaipmh
from protocols.errors import ProtocolError


def test_identify_and_friends() -> None:
    assert oaipmh.identify_params() == {"verb": "Identify"}
    assert oaipmh.list_sets_params() == {"verb": "ListSets"}
    assert oaipmh.list_metadata_formats_params() == {"verb": "ListMetadataFormats"}
    assert oaipmh.list_metadata_formats_params("oai:x:1") == {
        "verb": "ListMetadataFormats", "identifier": "oai:x:1"}
    assert oaipmh.get_record_params("oai:x:1", "marc21") == {
        "verb": "GetRecord", "identifier": "oai:x:1", "metadataPrefix": "marc21"}


def test_list_records_params() -> None:
    assert oaipmh.list_records_params("marc21") == {"verb": "ListRecords",
                                                    "metadataPrefix": "marc21"}
    assert oaipmh.list_records_params(
        "oai_dc", from_="2026-04-01", until="2026-04-02", set_spec="software") == {
        "verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2026-04-01",
        "until": "2026-04-02", "set": "software"}
    assert oaipmh.list_identifiers_params(
        "marc21", from_=datetime(2015, 1, 26, 10, 15, tzinfo=UTC))["from"] == "2015-01-26T10:15:00Z"
    assert oaipmh.list_records_params("marc21", until=date(2015, 1, 26))["until"] == "2015-01-26"


def test_datetimes_are_sent_in_utc() -> None:
    cet = timezone(timedelta(hours=1))
    params = oaipmh.list_records_params("marc21", from_=datetime(2015, 1, 1, 0, 30, tzinfo=cet))
    assert params["from"] == "2014-12-31T23:30:00Z"


@pytest.mark.parametrize("kwargs", [
    {"from_": "2026-04-01", "until": "2026-04-02T00:00:00Z"},   # mixed granularity
    {"from_": "2026-04-03", "until": "2026-04-02"},             # from after until
    {"from_": "2026-13-01"},
    {"from_": "2026-04-01T00:00:00"},                           # no Z: not what we send
    {"until": "yesterday"},
    {"set_spec": ""},
])
def test_bad_list_arguments_are_bugs(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        oaipmh.list_records_params("marc21", **kwargs)


def test_resume_params_are_exclusive() -> None:
    token = oaipmh.ResumptionToken("abc", 0, 10, None)
    assert oaipmh.resume_params("ListRecords", token) == {"verb": "ListRecords",
                                                         "resumptionToken": "abc"}
    assert oaipmh.resume_params("ListSets", "t") == {"verb": "ListSets", "resumptionToken": "t"}
    with pytest.raises(ValueError):
        oaipmh.resume_params("GetRecord", "abc")
    with pytest.raises(ValueError):
        oaipmh.resume_params("ListRecords", " ")
    with pytest.raises(ValueError):
        oaipmh.list_records_params("")


@pytest.mark.parametrize("text, expected", [
    ("2011-07-18T16:31:00Z", datetime(2011, 7, 18, 16, 31, tzinfo=UTC)),
    ("2011-07-18", datetime(2011, 7, 18, tzinfo=UTC)),
    (" 2011-07-18T16:31:00Z\n", datetime(2011, 7, 18, 16, 31, tzinfo=UTC)),
    ("2026-08-10T08:56:30.123Z", datetime(2026, 8, 10, 8, 56, 30, tzinfo=UTC)),
    ("2011-07-18t16:31:00z", datetime(2011, 7, 18, 16, 31, tzinfo=UTC)),
    ("2011-07-18T18:31:00+02:00", datetime(2011, 7, 18, 16, 31, tzinfo=UTC)),
])
def test_parse_datestamp(text: str, expected: datetime) -> None:
    assert oaipmh.parse_datestamp(text) == expected


@pytest.mark.parametrize("text", ["", "2011", "2011-02-30", "2002-06-01T03:020:00Z", "soon",
                                  "2011-07-18T25:00:00Z"])
def test_bad_datestamps_are_typed(text: str) -> None:
    with pytest.raises(oaipmh.DatestampError):
        oaipmh.parse_datestamp(text)


@pytest.mark.parametrize("granularity", ["YYYY-MM-DDThh:mm:ssZ", "yyyy-mm-ddThh:mm:ssZ",
                                         "YYYY-MM-DDTHH:MM:SSZ", " yyyy-mm-ddthh:mm:ssz "])
def test_seconds_granularity_spellings(granularity: str) -> None:
    moment = datetime(2013, 2, 27, 9, 10, 56, tzinfo=UTC)
    assert oaipmh.format_datestamp(moment, granularity) == "2013-02-27T09:10:56Z"


@pytest.mark.parametrize("granularity", ["YYYY-MM-DD", "yyyy-mm-dd"])
def test_day_granularity_spellings(granularity: str) -> None:
    assert oaipmh.format_datestamp(datetime(2013, 2, 27, 9, 10, tzinfo=UTC),
                                   granularity) == "2013-02-27"
    assert oaipmh.format_datestamp(date(2013, 2, 27), granularity) == "2013-02-27"


def test_unknown_granularity() -> None:
    with pytest.raises(oaipmh.DatestampError, match="YYYY-MM-DDThh:mm:ss.sZ"):
        oaipmh.format_datestamp(datetime(2013, 2, 27, tzinfo=UTC), "YYYY-MM-DDThh:mm:ss.sZ")


def test_next_from_uses_the_servers_clock_and_granularity() -> None:
    assert oaipmh.next_from("2013-02-27T09:10:56Z", "YYYY-MM-DDThh:mm:ssZ",
                            timedelta(minutes=5)) == "2013-02-27T09:05:56Z"
    # day granularity: the date of (responseDate - overlap)
    assert oaipmh.next_from("2013-02-27T09:10:56Z", "YYYY-MM-DD",
                            timedelta(hours=12)) == "2013-02-26"
    assert oaipmh.next_from("2013-02-27T09:10:56Z", "yyyy-mm-dd", timedelta(0)) == "2013-02-27"
    assert oaipmh.next_from("2015-01-26", "YYYY-MM-DD", timedelta(days=1)) == "2015-01-25"
    with pytest.raises(ValueError):
        oaipmh.next_from("2013-02-27T09:10:56Z", "YYYY-MM-DD", timedelta(seconds=-1))


def test_next_from_real_identify_and_page() -> None:
    from tests.shared_data import require_shared
    data = require_shared("data", "oai")
    info = oaipmh.parse_identify((data / "oaipmh-scythe/zenodo_Identify_http200.xml").read_bytes())
    page = oaipmh.parse_list_page((data / "oaipmh-scythe/zenodo_ListRecords_metadataPrefix-"
                                           "oai_dc_http200.xml").read_bytes())
    assert oaipmh.next_from(page.response_date, info.granularity,
                            timedelta(hours=1)) == "2026-08-13T16:56:48Z"


@settings(max_examples=150, deadline=None)
@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 30),
                    timezones=st.just(UTC)),
       st.sampled_from(["YYYY-MM-DD", "YYYY-MM-DDThh:mm:ssZ"]))
def test_format_then_parse_round_trips(moment: datetime, granularity: str) -> None:
    text = oaipmh.format_datestamp(moment, granularity)
    back = oaipmh.parse_datestamp(text)
    expected = moment.replace(microsecond=0)
    if granularity == "YYYY-MM-DD":
        expected = expected.replace(hour=0, minute=0, second=0)
    assert back == expected


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40), st.text(max_size=25),
       st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)))
def test_next_from_takes_any_text(response_date: str, granularity: str, overlap: timedelta) -> None:
    try:
        oaipmh.next_from(response_date, granularity, overlap)
    except ProtocolError:
        pass
