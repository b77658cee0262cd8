"""Property tests: any bytes, and real pages mutated at random, give a typed result or a typed
error (a ``ProtocolError`` subclass) — never another exception, never unreadable bytes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols import oaipmh
from protocols.errors import ProtocolError
from protocols.xml import parse_xml
from tests.shared_data import SHARED

OAI = SHARED / "data" / "oai"
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _real_pages() -> list[tuple[str, bytes]]:
    if not OAI.exists():
        return []
    return [(str(p.relative_to(OAI)), p.read_bytes()) for p in sorted(OAI.rglob("*.xml"))
            if p.stat().st_size < 60_000]


REAL = _real_pages()
needs_data = pytest.mark.skipif(not REAL, reason=f"{OAI} not found")

# bytes that break XML in the ways members do: markup, controls, Latin-1, stray UTF-8 parts
NASTY = st.sampled_from([b"<", b">", b"&", b"&#x0;", b"&nbsp;", b"\x00", b"\x0b", b"\x1f",
                         b"\xe9", b"\x92", b"\xc3", b"\xed\xa0\x80", b"\xff\xfe", b"]]>",
                         b"<!--", b"</record>", b"<record>", b"</OAI-PMH>", b'"', b"\r\n"])


def check_page(page: oaipmh.ListPage) -> None:
    assert isinstance(page, oaipmh.ListPage)
    for record in page.records:
        assert record.header.identifier
        parse_xml(record.raw, huge=True)
        if record.metadata is not None:
            parse_xml(record.metadata, huge=True)
        else:
            assert record.header.deleted
    for raw, reason in page.bad_records:
        assert isinstance(raw, bytes) and reason


def run_list(data: bytes, verb: str = "ListRecords") -> None:
    try:
        page = oaipmh.parse_list_page(data, verb=verb)
    except ProtocolError as err:
        partial = getattr(err, "partial", None)
        if partial is not None:
            check_page(partial)
        return
    check_page(page)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    name, data = draw(st.sampled_from(REAL))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["truncate", "insert", "delete", "flip", "duplicate"]))
        if kind == "truncate":
            data = data[:where]
        elif kind == "insert":
            data = data[:where] + draw(st.one_of(NASTY, st.binary(max_size=8))) + data[where:]
        elif kind == "delete":
            data = data[:where] + data[where + draw(st.integers(1, 200)):]
        elif kind == "flip" and where < len(data):
            flipped = bytes([data[where] ^ draw(st.integers(1, 255))])
            data = data[:where] + flipped + data[where + 1:]
        elif kind == "duplicate":
            size = draw(st.integers(1, 500))
            data = data[:where] + data[where:where + size] * 2 + data[where + size:]
    return name, data


@SETTINGS
@given(st.binary(max_size=3000), st.sampled_from(oaipmh.responses.LIST_VERBS))
def test_any_bytes(data: bytes, verb: str) -> None:
    run_list(data, verb)


@SETTINGS
@given(st.lists(st.one_of(NASTY, st.sampled_from([
    b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">', b"<responseDate>2020-01-01",
    b"</responseDate>", b"<ListRecords>", b"<record><header><identifier>x</identifier>",
    b"</header><metadata><a/></metadata></record>", b'<resumptionToken cursor="x">t',
    b"</resumptionToken>", b"</ListRecords>", b'<error code="badVerb">', b"</error>",
])), max_size=30))
def test_oai_shaped_garbage(parts: list[bytes]) -> None:
    run_list(b"".join(parts))


@needs_data
@SETTINGS
@given(mutated())
def test_mutated_real_pages(case: tuple[str, bytes]) -> None:
    name, data = case
    verb = "ListIdentifiers" if "dentifiers" in name else "ListRecords"
    run_list(data, verb)


@needs_data
@SETTINGS
@given(mutated(), st.sampled_from([oaipmh.parse_identify, oaipmh.parse_sets,
                                   oaipmh.parse_metadata_formats, oaipmh.parse_get_record]))
def test_mutated_pages_into_the_other_parsers(case: tuple[str, bytes], parse) -> None:
    try:
        parse(case[1])
    except ProtocolError:
        pass


@SETTINGS
@given(st.binary(max_size=2000))
def test_decompress_any_bytes(data: bytes) -> None:
    try:
        oaipmh.maybe_decompress(data, max_bytes=100_000)
    except ProtocolError:
        pass
