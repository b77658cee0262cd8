"""OpenURL 1.0 / 0.1 citations (loop-free). Queries are in the form link resolvers send."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.openurl import OpenUrlError, parse_openurl

ARTICLE = ("url_ver=Z39.88-2004&rft_val_fmt=info%3Aofi%2Ffmt%3Akev%3Amtx%3Ajournal"
           "&rft.genre=article&rft.atitle=Molecular+structure+of+nucleic+acids"
           "&rft.jtitle=Nature&rft.issn=0028-0836&rft.date=1953-04-25&rft.volume=171"
           "&rft.issue=4356&rft.spage=737&rft.epage=738&rft.aulast=Watson&rft.aufirst=J.+D."
           "&rft_id=info%3Adoi%2F10.1038%2F171737a0")


def test_a_journal_article_openurl_gives_the_copy_citation():
    citation = parse_openurl("https://resolver.example.edu/openurl?" + ARTICLE)
    assert citation.genre == "article" and citation.is_part
    assert citation.article_title == "Molecular structure of nucleic acids"
    assert (citation.title, citation.issns, citation.year) == ("Nature", ["0028-0836"], 1953)
    assert (citation.volume, citation.issue, citation.pages) == ("171", "4356", "737-738")
    assert citation.author == "Watson, J. D." and citation.doi == "10.1038/171737a0"


def test_a_book_openurl_with_isbn10_and_oclc_normalizes_identifiers():
    citation = parse_openurl("url_ver=Z39.88-2004&rft_val_fmt=info:ofi/fmt:kev:mtx:book"
                             "&rft.btitle=Opticks&rft.isbn=0-486-60205-2"
                             "&rft_id=info:oclcnum/ocm00012345&rft.au=Newton,+Isaac")
    assert citation.genre == "book" and not citation.is_part
    assert citation.isbns == ["9780486602059"] and citation.oclc_numbers == ["12345"]
    assert citation.author == "Newton, Isaac"


def test_the_old_0_1_form_is_read_too():
    citation = parse_openurl("genre=article&atitle=On+computable+numbers&title=Proc+LMS"
                             "&issn=0024-6115&date=1937&volume=s2-42&spage=230")
    assert citation.genre == "article" and citation.issns == ["0024-6115"]
    assert citation.pages == "230" and citation.year == 1937


@pytest.mark.parametrize(("query", "fragment"), [
    ("", "no key=value pairs"),
    ("rft.issn=1234-5678", "ISSN '1234-5678' is not valid"),
    ("rft.genre=novel&rft.title=X", "genre 'novel'"),
    ("rft.title=X&rft.date=spring", "date 'spring'"),
    ("rft.volume=3&rft.issue=2", "names no title and no identifier"),
])
def test_bad_openurls_name_the_offending_value(query, fragment):
    with pytest.raises(OpenUrlError) as refused:
        parse_openurl(query)
    assert fragment in str(refused.value)


@given(st.text(max_size=200))
def test_any_query_gives_a_citation_or_an_openurl_error(text):
    try:
        parse_openurl(text)
    except OpenUrlError:
        pass
