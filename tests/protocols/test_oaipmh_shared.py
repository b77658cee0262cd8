"""Every file in shared/data/oai goes through the parser for its verb: typed result or error.

Expected values come from shared/data/PROVENANCE.md (records, deleted, tokens, error codes)
and from reading the files. ``test_every_file_is_covered`` fails when a file is added to the
data without an expectation here.
"""

from __future__ import annotations

import pytest
from lxml import etree

from protocols import oaipmh
from protocols.errors import ProtocolError
from protocols.xml import MARC_NS, OAI_DC_NS
from tests.shared_data import SHARED, require_shared

OAI = SHARED / "data" / "oai"


def read(name: str) -> bytes:
    return require_shared("data", "oai", name).read_bytes()


# name → (verb, items, deleted, bad, token value (or its prefix + "…"), completeListSize)
LIST_PAGES = {
    "folio-spec-examples/identifiers.xml": ("ListIdentifiers", 4, 1, 0, "xxx45abttyz", 6),
    "folio-spec-examples/records.xml": ("ListRecords", 2, 1, 0, None, None),
    "oaipmh-scythe/zenodo_ListIdentifiers_metadataPrefix-oai_dc_from-2026-04-01_http200.xml":
        ("ListIdentifiers", 50, 0, 0, ".eJ…", 1337969),
    "oaipmh-scythe/zenodo_ListIdentifiers_metadataPrefix-oai_dc_from-2026-04-01_until-2026-04-02"
    "_http200.xml": ("ListIdentifiers", 50, 0, 0, ".eJ…", 6382),
    "oaipmh-scythe/zenodo_ListIdentifiers_metadataPrefix-oai_dc_set-software_http200.xml":
        ("ListIdentifiers", 50, 0, 0, ".eJ…", 677775),
    "oaipmh-scythe/zenodo_ListIdentifiers_metadataPrefix-oai_dc_until-2026-04-02_http200.xml":
        ("ListIdentifiers", 50, 0, 0, ".eJ…", 6753098),
    "oaipmh-scythe/zenodo_ListRecords_metadataPrefix-oai_dc_from-2026-04-01_http200.xml":
        ("ListRecords", 50, 0, 0, ".eJ…", 1345244),
    "oaipmh-scythe/zenodo_ListRecords_metadataPrefix-oai_dc_from-2026-04-01_until-2026-04-02"
    "_http200.xml": ("ListRecords", 50, 0, 0, ".eJ…", 6380),
    "oaipmh-scythe/zenodo_ListRecords_metadataPrefix-oai_dc_http200.xml":
        ("ListRecords", 3, 0, 0, ".eJ…", 8091628),
    "oaipmh-scythe/zenodo_ListRecords_metadataPrefix-oai_dc_set-software_http200.xml":
        ("ListRecords", 50, 0, 0, ".eJ…", 678880),
    "oaipmh-scythe/zenodo_ListRecords_metadataPrefix-oai_dc_until-2026-04-02_http200.xml":
        ("ListRecords", 50, 0, 0, ".eJ…", 6752882),
    # the last page of Zenodo's chain: no resumptionToken element at all
    "oaipmh-scythe/zenodo_ListRecords_resumptionToken-3db538a4_http200.xml":
        ("ListRecords", 3, 0, 0, None, None),
    "oaipmh-scythe/zenodo_ListRecords_resumptionToken-921086a1_http200.xml":
        ("ListRecords", 3, 1, 0, ".eJ…", 8091628),
    "pyoai/fake1_00003.xml": ("ListIdentifiers", 16, 0, 0, None, None),
    "pyoai/fake1_00005.xml": ("ListRecords", 16, 0, 0, None, None),
    # stored without responseDate and datestamps: kept, noted in repairs
    "recordmanager2-mzk/import_oai/ANL01.000000502.ANL-CPK.xml":
        ("ListRecords", 1, 0, 0, None, None),
    "recordmanager2-mzk/import_oai/ANL01.000000503.ANL-CPK.xml":
        ("ListRecords", 1, 0, 0, None, None),
    "recordmanager2-mzk/sample/ListIdentifiersMZK.xml": ("ListIdentifiers", 2, 0, 0, None, None),
    "recordmanager2-mzk/sample/ListRecords1.xml":
        ("ListRecords", 10, 0, 0, "201408211302186999999999999999MZK01-VDK:MZK01-VDK", None),
    "recordmanager2-mzk/sample/ListRecords2.xml": ("ListRecords", 1, 0, 0, None, None),
    "recordmanager2-mzk/sample/ListRecordsFrom.xml": ("ListRecords", 5, 0, 0, None, None),
    "recordmanager2-mzk/sample/ListRecordsMLPset.xml": ("ListRecords", 1, 0, 0, None, None),
    "recordmanager2-mzk/sample/ListRecordsNLK.xml": ("ListRecords", 3, 0, 0, None, None),
    "recordmanager2-mzk/sample/ListRecordsNLKdeleted1.xml":
        ("ListRecords", 1, 0, 0, "xaiutmvy00003", 3595),
    "recordmanager2-mzk/sample/ListRecordsNLKdeleted2.xml": ("ListRecords", 1, 1, 0, None, None),
    "sickle/ListIdentifiers.xml": ("ListIdentifiers", 2, 1, 0, "ListIdentifiers2.xml", 4),
    "sickle/ListIdentifiers2.xml": ("ListIdentifiers", 2, 1, 0, None, None),
    "sickle/ListRecords.xml": ("ListRecords", 2, 1, 0, "ListRecords2.xml", 8),
    "sickle/ListRecords2.xml": ("ListRecords", 2, 1, 0, "ListRecords3.xml", 8),
    "sickle/ListRecords3.xml": ("ListRecords", 2, 1, 0, "ListRecords4.xml", 8),
    # the deleted record's header has neither identifier nor datestamp: quarantined
    "sickle/ListRecords4.xml": ("ListRecords", 1, 0, 1, None, None),
    # last page: empty <resumptionToken completeListSize="2"></resumptionToken>
    "traject/oai-pmh-one-record-2.xml": ("ListRecords", 1, 0, 0, None, None),
    "traject/oai-pmh-one-record-first.xml": ("ListRecords", 1, 0, 0, "dummy_resumption", 2),
    "traject/sample-oai-pmh.xml":
        ("ListRecords", 10, 0, 0,
         "oai_dc.f(2018-05-03T18:09:08Z).u(2018-06-15T19:25:21Z).t(6387):100", 6387),
    "vufindharvest/list_records_response.xml": ("ListRecords", 2, 1, 0, None, None),
    "vufindharvest/list_records_token_response.xml": ("ListRecords", 1, 0, 0, "more", None),
    "vufindharvest/marc.xml": ("ListRecords", 100, 0, 0, "fakeresumptiontoken", None),
    "vufindharvest/oai_doaj.xml":
        ("ListRecords", 100, 0, 0, "eyJtIjogIm9haV9kb2FqIiwgIm4iOiAxMDB9", 2460909),
}

# noRecordsMatch in a list page is an empty result, not a failure
EMPTY_PAGES = {
    "oaipmh-scythe/zenodo_ListIdentifiers_metadataPrefix-oai_dc_from-2030-01-15_http422.xml":
        "ListIdentifiers",
    "oaipmh-scythe/zenodo_ListRecords_metadataPrefix-oai_dc_from-2030-01-01_http422.xml":
        "ListRecords",
    "oaipmh-scythe/zenodo_ListRecords_metadataPrefix-oai_dc_set-XXX_http422.xml": "ListRecords",
    "recordmanager2-mzk/sample/ListRecordsEmptySet.xml": "ListRecords",
    "sickle/noRecordsMatch.xml": "ListIdentifiers",
}

LIST = oaipmh.parse_list_page
# name → (parser, the typed error it must raise)
ERRORS = {
    "folio-spec-examples/metadata_format_error.xml":
        (oaipmh.parse_get_record, oaipmh.CannotDisseminateFormat),
    "folio-spec-examples/metadata_prefix_error.xml": (oaipmh.parse_get_record, oaipmh.BadArgument),
    "folio-spec-examples/no_metadata_format_error.xml":
        (oaipmh.parse_get_record, oaipmh.NoMetadataFormats),
    "folio-spec-examples/no_record_error.xml": (oaipmh.parse_get_record, oaipmh.IdDoesNotExist),
    # noRecordsMatch is an error outside list pages (it is not even legal for ListSets)
    "folio-spec-examples/no_records_error.xml": (oaipmh.parse_sets, oaipmh.NoRecordsMatch),
    "folio-spec-examples/resumption_token_error.xml":
        (oaipmh.parse_sets, oaipmh.BadResumptionToken),
    "oaipmh-scythe/zenodo_ListIdentifiers_metadataPrefix-XXX_http422.xml":
        (LIST, oaipmh.BadArgument),
    "oaipmh-scythe/zenodo_ListMetadataFormats_identifier-oai_zenodo.org_XXX_http422.xml":
        (oaipmh.parse_metadata_formats, oaipmh.IdDoesNotExist),
    "oaipmh-scythe/zenodo_ListRecords_metadataPrefix-XXX_http422.xml": (LIST, oaipmh.BadArgument),
    "oaipmh-scythe/zenodo_ListRecords_resumptionToken-bc918940_http422.xml":
        (LIST, oaipmh.BadResumptionToken),
    "oaipmh-scythe/zenodo_ListSets_resumptionToken-bc918940_http422.xml":
        (oaipmh.parse_sets, oaipmh.BadResumptionToken),
    "sickle/badArgument.xml": (LIST, oaipmh.BadArgument),
    "sickle/badResumptionToken.xml": (oaipmh.parse_sets, oaipmh.BadResumptionToken),
    "sickle/cannotDisseminateFormat.xml": (oaipmh.parse_get_record, oaipmh.CannotDisseminateFormat),
    "sickle/idDoesNotExist.xml": (oaipmh.parse_metadata_formats, oaipmh.IdDoesNotExist),
    "sickle/noSetHierarchy.xml": (oaipmh.parse_sets, oaipmh.NoSetHierarchy),
    "sickle/undefinedError.xml": (LIST, oaipmh.OAIError),
    "vufindharvest/arbitrary_error_response.xml": (LIST, oaipmh.OAIError),
    "vufindharvest/token_error_response.xml": (LIST, oaipmh.BadResumptionToken),
    # not OAI-PMH at all, or not XML: loud, never an empty page
    "pyoai/fake1_00006.xml": (LIST, oaipmh.HarvestPageError),
    "pyoai/fake1_mapping.txt": (LIST, oaipmh.HarvestPageError),
    "pyoai/fake3_00001.xml": (oaipmh.parse_identify, oaipmh.HarvestPageError),
    "pyoai/fake3_mapping.txt": (LIST, oaipmh.HarvestPageError),
    "recordmanager2-mzk/dublincore/K4MZK-uuid-c28962c9-a67a-11e1-ac9a-0050569d679d.xml":
        (oaipmh.parse_get_record, oaipmh.HarvestPageError),
    "recordmanager2-mzk/dublincore/K4NTK-uuid-d3cf7ce9-1891-4e39-bb35-3b38b6eb0d60.xml":
        (LIST, oaipmh.HarvestPageError),
    "sickle/ListRecordsBroken.xml": (LIST, oaipmh.HarvestPageError),
}

# name → (identifier, deleted, payload root tag)
GET_RECORDS = {
    "folio-spec-examples/record.xml": ("oai:arXiv.org:cs/0112017", f"{{{OAI_DC_NS}}}dc"),
    "oaipmh-scythe/zenodo_GetRecord_metadataPrefix-oai_dc_identifier-oai_zenodo.org_10357859"
    "_http200.xml": ("oai:zenodo.org:10357859", f"{{{OAI_DC_NS}}}dc"),
    "pyoai/fake1_00004.xml": ("hdl:1765/315", f"{{{OAI_DC_NS}}}dc"),
    "recordmanager2-mzk/dublincore/NuslNTK-nusl2-oaipmh.xml":
        ("oai:invenio.nusl.cz:2", f"{{{OAI_DC_NS}}}dc"),
    "recordmanager2-mzk/sample/GetRecord.xml":
        ("oai:aleph.mzk.cz:MZK01-001204492", f"{{{MARC_NS}}}record"),
    "recordmanager2-mzk/sample/GetRecordMZK1.xml":
        ("oai:aleph.mzk.cz:MZK01-100000151", f"{{{MARC_NS}}}record"),
    "recordmanager2-mzk/sample/GetRecordMZK2.xml":
        ("oai:aleph.mzk.cz:MZK01-100000152", f"{{{MARC_NS}}}record"),
    "sickle/GetRecord.xml": ("oai:test.example.com:1996652", f"{{{OAI_DC_NS}}}dc"),
    "sickle/GetRecord_utf8test.xml": ("oai:test.example.com:1996652", f"{{{OAI_DC_NS}}}dc"),
}

# name → (repository_name, deleted_record, admin_emails, compression)
IDENTIFY = {
    "folio-spec-examples/repository_info.xml":
        ("Library of Congress Open Archive Initiative Repository 1", "transient",
         ["somebody@loc.gov", "anybody@loc.gov"], ["deflate"]),
    "oaipmh-scythe/zenodo_Identify_http200.xml": ("Zenodo", "no", ["info@zenodo.org"], []),
    "pyoai/fake1_00001.xml": ("Erasmus University : Research Online", "no", None, None),
    "recordmanager2-mzk/sample/Identify.xml": ("MZK Brno", "transient", ["petra@mzk.cz"], []),
    "recordmanager2-mzk/sample/IdentifyMLP.xml": ("Municipal Library of Prague", "no", None, None),
    "sickle/Identify.xml": ("A Test Repository", "persistent", None, None),
    "vufindharvest/identify_response.xml": ("fake", "transient", ["fake@fake.edu"], []),
}

# name → (number of sets, token value or None)
SETS = {
    "folio-spec-examples/sets.xml": (4, None),
    "oaipmh-scythe/zenodo_ListSets_http200.xml":
        (5, "eyJzZWVkIjowLjMyOTUxMjIzOTg3NzM4MzksInBhZ2UiOjIsImt3YXJncyI6e319.any5dw."
            "kg_s6M1Kr5M3Ar7Z6EWcvbfu8Tg"),
    "oaipmh-scythe/zenodo_ListSets_resumptionToken-3e230550_http200.xml": (5, None),
    "pyoai/fake1_00000.xml": (10, None),
    "sickle/ListSets.xml": (131, None),
    # setSpecs with spaces and parentheses (schema-invalid): kept as they are
    "vufindharvest/list_sets_response.xml": (2, None),
}

FORMATS = {
    "folio-spec-examples/metadata_formats.xml": ["oai_dc", "olac", "perseus"],
    "oaipmh-scythe/zenodo_ListMetadataFormats_http200.xml":
        ["marcxml", "oai_dc", "dcat", "marc21", "datacite", "oai_datacite", "datacite4",
         "oai_datacite4"],
    "oaipmh-scythe/zenodo_ListMetadataFormats_identifier-oai_zenodo.org_10357859_http200.xml":
        ["marcxml", "oai_dc", "dcat", "marc21", "datacite", "oai_datacite", "datacite4",
         "oai_datacite4"],
    "pyoai/fake1_00002.xml": ["oai_dc"],
    "sickle/ListMetadataFormats.xml": ["epicur", "xMetaDissPlus", "oai_dc", "mods", "swepub_mods"],
}


def test_every_file_is_covered() -> None:
    require_shared("data", "oai")
    on_disk = {str(p.relative_to(OAI)) for p in OAI.rglob("*") if p.is_file()}
    expected = (LIST_PAGES.keys() | EMPTY_PAGES.keys() | ERRORS.keys() | GET_RECORDS.keys()
                | IDENTIFY.keys() | SETS.keys() | FORMATS.keys())
    assert on_disk == expected


@pytest.mark.parametrize("name", sorted(LIST_PAGES))
def test_list_pages(name: str) -> None:
    verb, items, deleted, bad, token, size = LIST_PAGES[name]
    page = oaipmh.parse_list_page(read(name), verb=verb)
    headers = [r.header for r in page.records] if verb == "ListRecords" else page.headers
    assert (len(headers), sum(h.deleted for h in headers), len(page.bad_records)) == \
        (items, deleted, bad)
    assert (page.records == []) == (verb == "ListIdentifiers")
    if token is None:
        assert page.token is None
    else:
        assert page.token is not None
        if token.endswith("…"):
            assert page.token.value.startswith(token[:-1])
        else:
            assert page.token.value == token
        assert page.token.complete_list_size == size
    assert all(h.identifier for h in headers)
    for record in page.records:
        # raw and metadata parse on their own (namespaces declared), deleted → no metadata
        assert etree.fromstring(record.raw).tag == "{http://www.openarchives.org/OAI/2.0/}record"
        if record.header.deleted:
            assert record.metadata is None
        else:
            assert record.metadata is not None
            etree.fromstring(record.metadata)


@pytest.mark.parametrize("name", sorted(EMPTY_PAGES))
def test_no_records_match_is_an_empty_page(name: str) -> None:
    page = oaipmh.parse_list_page(read(name), verb=EMPTY_PAGES[name])
    assert (page.records, page.headers, page.token, page.bad_records) == ([], [], None, [])
    assert page.response_date


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_are_typed(name: str) -> None:
    parse, error = ERRORS[name]
    with pytest.raises(error) as caught:
        parse(read(name))
    assert isinstance(caught.value, ProtocolError)
    if issubclass(error, oaipmh.OAIError) and error is not oaipmh.OAIError:
        assert caught.value.code == error.code


def test_unknown_error_code_is_carried() -> None:
    with pytest.raises(oaipmh.OAIError) as caught:
        oaipmh.parse_list_page(read("vufindharvest/arbitrary_error_response.xml"))
    assert type(caught.value) is oaipmh.OAIError
    assert caught.value.code == "foo" and caught.value.text == "bar"
    assert "'foo'" in str(caught.value)


def test_http422_body_is_parsed_like_any_other() -> None:
    # Zenodo sends OAI errors with HTTP 422: the caller passes the body whatever the status
    with pytest.raises(oaipmh.BadResumptionToken, match="invalid or expired"):
        oaipmh.parse_list_page(read(
            "oaipmh-scythe/zenodo_ListRecords_resumptionToken-bc918940_http422.xml"))


def test_not_oai_pmh_says_what_was_found() -> None:
    with pytest.raises(oaipmh.HarvestPageError, match="oai_dc/}dc"):
        oaipmh.parse_list_page(read("pyoai/fake1_00006.xml"))
    with pytest.raises(oaipmh.HarvestPageError, match="broken xml"):
        oaipmh.parse_list_page(read("sickle/ListRecordsBroken.xml"))


@pytest.mark.parametrize("name", sorted(GET_RECORDS))
def test_get_record(name: str) -> None:
    identifier, payload_tag = GET_RECORDS[name]
    record = oaipmh.parse_get_record(read(name))
    assert record.header.identifier == identifier and not record.header.deleted
    assert record.metadata is not None
    assert etree.fromstring(record.metadata).tag == payload_tag


@pytest.mark.parametrize("name", sorted(IDENTIFY))
def test_identify(name: str) -> None:
    repository_name, deleted_record, emails, compression = IDENTIFY[name]
    info = oaipmh.parse_identify(read(name))
    assert info.repository_name == repository_name
    assert info.deleted_record == deleted_record
    assert info.protocol_version == "2.0"
    assert oaipmh.normalize_granularity(info.granularity) in (oaipmh.DAY, oaipmh.SECONDS)
    assert info.base_url and info.earliest_datestamp and info.response_date
    oaipmh.parse_datestamp(info.earliest_datestamp)
    if emails is not None:
        assert info.admin_emails == emails
    if compression is not None:
        assert info.compression == compression


def test_identify_compression_of_a_dspace() -> None:
    info = oaipmh.parse_identify(read("pyoai/fake1_00001.xml"))
    assert info.base_url == "http://dspace.ubib.eur.nl/oai/"
    assert info.granularity == "YYYY-MM-DDThh:mm:ssZ"


@pytest.mark.parametrize("name", sorted(SETS))
def test_sets(name: str) -> None:
    count, token = SETS[name]
    sets, next_token = oaipmh.parse_sets(read(name))
    assert len(sets) == count and all(s.spec for s in sets)
    assert (next_token.value if next_token else None) == token


def test_set_specs_with_spaces_are_kept() -> None:
    sets, _ = oaipmh.parse_sets(read("vufindharvest/list_sets_response.xml"))
    assert "Audio (Non-Music)" in [s.spec for s in sets]


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_metadata_formats(name: str) -> None:
    formats = oaipmh.parse_metadata_formats(read(name))
    assert [f.prefix for f in formats] == FORMATS[name]
    assert all(f.namespace and f.schema for f in formats)


def test_marc21_payload_is_a_standalone_marc_record() -> None:
    page = oaipmh.parse_list_page(read("vufindharvest/marc.xml"))
    root = etree.fromstring(page.records[0].metadata)
    assert root.tag == f"{{{MARC_NS}}}record"
    assert root.find(f"{{{MARC_NS}}}leader") is not None
    assert page.records[0].header.set_specs == ["TESTING_DIGI_TEST", "TESTING_DIGI"]


def test_header_details() -> None:
    page = oaipmh.parse_list_page(read("sickle/ListRecords.xml"))
    deleted, live = page.records
    assert deleted.header == oaipmh.Header("oai:test.example.com:1585310",
                                           "2011-07-18T16:31:00Z", [], True)
    assert deleted.metadata is None and b"status=\"deleted\"" in deleted.raw
    assert live.header.identifier == "oai:test.example.com:1585322"
    assert page.token == oaipmh.ResumptionToken("ListRecords2.xml", 0, 8, None)
    assert page.response_date == "2013-02-27T09:10:56Z" and page.repairs == []


def test_token_with_expiration_date() -> None:
    page = oaipmh.parse_list_page(read("vufindharvest/oai_doaj.xml"))
    assert page.token == oaipmh.ResumptionToken("eyJtIjogIm9haV9kb2FqIiwgIm4iOiAxMDB9", 0,
                                                2460909, "2017-04-07T19:23:56Z")


def test_missing_datestamp_and_response_date_are_noted() -> None:
    page = oaipmh.parse_list_page(read("recordmanager2-mzk/import_oai/ANL01.000000502.ANL-CPK.xml"))
    assert page.response_date == "" and page.records[0].header.datestamp == ""
    assert page.repairs == ["the envelope has no responseDate", "1 header(s) without a datestamp "
                            "kept with datestamp '' (first 'aleph-publish:000000502')"]


def test_bad_record_is_quarantined_with_its_bytes() -> None:
    page = oaipmh.parse_list_page(read("sickle/ListRecords4.xml"))
    (raw, reason), = page.bad_records
    assert reason == "header has no identifier"
    assert b"Missing identifier" in raw and etree.fromstring(raw) is not None


def test_wrong_parser_for_the_verb_is_loud() -> None:
    with pytest.raises(oaipmh.HarvestPageError, match="no <ListRecords>"):
        oaipmh.parse_list_page(read("sickle/ListIdentifiers.xml"))
    with pytest.raises(oaipmh.HarvestPageError):
        oaipmh.parse_identify(read("sickle/ListRecords.xml"))
