"""normalize_dc on real oai_dc records from ../shared/data/oai (file and record named per test)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from protocols.dublincore import normalize_dc, to_marc_language
from protocols.errors import NormalizationError
from protocols.records import FORMATS
from tests.shared_data import SHARED, require_shared

OAI_DC = "{http://www.openarchives.org/OAI/2.0/oai_dc/}dc"
DC = "http://purl.org/dc/elements/1.1/"
# test files are trusted local copies, but read them the way the gateway reads members' XML
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def dc_elements(path: str) -> list[etree._Element]:
    require_shared()
    root = etree.parse(str(SHARED / "data" / "oai" / path), _PARSER).getroot()
    if root.tag == OAI_DC:
        return [root]
    return list(root.iter(OAI_DC))


def dc(path: str, index: int = 0):
    return normalize_dc(dc_elements(path)[index], local_id=f"{path}#{index}")


def test_sickle_list_records_sample() -> None:
    rec = dc("sickle/ListRecords.xml")          # the second record; the first is deleted
    assert rec.source_format == "oai_dc"
    assert rec.title == "Sample Title"
    assert rec.authors == ["John Doe"]          # four identical dc:creator, once
    assert rec.publisher == "Sample Publisher"  # whitespace around it collapsed
    assert rec.year == 2010
    assert rec.languages == ["eng"]
    assert rec.format == "article"              # info:eu-repo/semantics/article
    assert [link.url for link in rec.links] == ["http://test.example.com/publication/1585322"]


def test_folio_spec_example_record() -> None:
    rec = dc("folio-spec-examples/record.xml")
    # a title broken over two lines in the XML
    assert rec.title == "Using Structural Metadata to Localize Experience of Digital Content"
    assert rec.authors == ["Dushay, Naomi"]
    assert rec.subjects == ["Digital Libraries"]
    assert rec.year == 2001
    assert rec.format == "other"


def test_zenodo_article_with_issn_and_doi() -> None:
    path = "oaipmh-scythe/zenodo_ListRecords_metadataPrefix-oai_dc_from-2026-04-01_http200.xml"
    rec = dc(path, 1)
    assert rec.issns == ["2583-1887"]                   # dc:identifier "issn:2583-1887"
    assert rec.other_ids[0].startswith("doi:10.58614/")
    assert rec.format == "article" and rec.languages == ["eng"]
    assert rec.year == 2025


def test_zenodo_software_title_split_and_related_doi() -> None:
    path = "oaipmh-scythe/zenodo_ListRecords_metadataPrefix-oai_dc_from-2026-04-01_http200.xml"
    rec = dc(path, 0)
    assert (rec.title, rec.subtitle) == ("Meika4/mabs_mds7_gaussians", "mAbs.MDS7 Gaussians")
    assert rec.other_ids == ["doi:10.5281/zenodo.20510666", "relation:doi:10.5281/zenodo.20510665"]
    assert rec.links[0].url == "https://doi.org/10.5281/zenodo.20510666"
    assert rec.publisher == "Zenodo" and rec.format == "other"
    assert rec.issns == [] and rec.isbns == []


def test_embargo_end_date_is_not_the_publication_year() -> None:
    path = ("oaipmh-scythe/"
            "zenodo_ListRecords_metadataPrefix-oai_dc_from-2026-04-01_until-2026-04-02_http200.xml")
    assert dc(path, 2).year == 2025       # "2025-12-28", not "…/embargoEnd/2026-11-01"


def test_dspace_report_with_bare_isbn_handle_and_iso639_1_language() -> None:
    rec = dc("pyoai/fake1_00004.xml")
    assert rec.isbns == ["9789090149806"]                      # "90-9014980-5"
    assert rec.other_ids == ["hdl:1765/315"]
    assert rec.languages == ["dut"]                            # "nl"
    assert rec.authors == ["Edwards, A.R."]                    # dc:contributor
    assert rec.title.endswith("in Nederland")                  # trailing " ." trimmed
    assert rec.format == "ebook"          # Technical Report + application/pdf + handle URL
    assert rec.year == 2003


def test_bare_issn_identifier() -> None:
    assert dc("pyoai/fake1_00005.xml", 7).issns == ["1566-5283"]


def test_kramerius_record_as_root_element() -> None:
    rec = dc("recordmanager2-mzk/dublincore/K4MZK-uuid-c28962c9-a67a-11e1-ac9a-0050569d679d.xml")
    assert rec.title == "Čisté vody Kitěže"
    assert rec.authors == ["Tendrjakov Vladimir Fedorovič"]
    assert rec.publisher == "Lidové nakladatelství"
    assert rec.year == 1988
    assert rec.languages == ["cze"]
    assert rec.format == "book"               # model:monograph, nothing says online
    assert rec.other_ids == [] and rec.links == []   # uuid: and contract: are local ids


def test_dpla_extension_elements_are_ignored_and_a_decade_gives_no_year() -> None:
    rec = dc("traject/sample-oai-pmh.xml", 1)
    assert rec.title == "Spice Storage"
    assert rec.year is None                   # "1950s"
    assert rec.format == "other"              # Image / photographs
    assert len(rec.links) == 2                # the two dc:identifier URLs, not edm:object
    assert "Perfumes industry" in rec.subjects


def test_metadata_element_containing_the_dc_is_accepted() -> None:
    require_shared()
    root = etree.parse(str(SHARED / "data" / "oai" / "sickle" / "GetRecord.xml"), _PARSER)
    metadata = root.find(".//{http://www.openarchives.org/OAI/2.0/}metadata")
    assert normalize_dc(metadata, local_id="x").title == "Sample Title"


def test_every_shared_oai_dc_record_normalizes() -> None:
    require_shared()
    count = 0
    for file in sorted((SHARED / "data" / "oai").rglob("*.xml")):
        try:
            root = etree.parse(str(file), _PARSER).getroot()
        except etree.XMLSyntaxError:
            continue                           # the deliberately broken fixtures
        for element in ([root] if root.tag == OAI_DC else root.iter(OAI_DC)):
            try:
                rec = normalize_dc(element, local_id=file.name)
            except NormalizationError:
                continue
            assert rec.format in FORMATS
            count += 1
    assert count > 200


def test_empty_dc_is_a_normalization_error() -> None:
    # hand-written: no real record is empty
    element = etree.fromstring(
        f'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        f'xmlns:dc="{DC}"><dc:title>  </dc:title><!-- nothing --></oai_dc:dc>')
    with pytest.raises(NormalizationError, match="no Dublin Core"):
        normalize_dc(element, local_id="empty")


@pytest.mark.parametrize(
    ("code", "marc"),
    [("en", "eng"), ("en_US", "eng"), ("EN-gb", "eng"), ("nl", "dut"), ("fra", "fre"),
     ("slk", "slo"), ("cze", "cze"), ("uzb", "uzb"), ("other", None), ("", None), ("x", None)],
)
def test_to_marc_language(code: str, marc: str | None) -> None:
    assert to_marc_language(code) == marc


_NAMES = st.sampled_from(["title", "creator", "subject", "publisher", "date", "identifier",
                          "language", "type", "format", "relation", "contributor"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_NAMES, st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                                                  blacklist_characters="\x00"),
                                          max_size=40)), max_size=10))
def test_random_dc_gives_a_record_or_a_normalization_error(items) -> None:
    root = etree.Element(OAI_DC, nsmap={"oai_dc": OAI_DC[1:].split("}")[0], "dc": DC})
    for name, text in items:
        try:
            etree.SubElement(root, f"{{{DC}}}{name}").text = text
        except ValueError:
            continue                           # control characters lxml refuses
    try:
        rec = normalize_dc(root, local_id="random")
    except NormalizationError:
        return
    assert rec.format in FORMATS
