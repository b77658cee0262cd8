"""The search query language: fielded terms, phrases, identifiers, filters, folding. Loop-free."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import isbn as stdnum_isbn

from protocols.search_query import (
    FILTER_FIELDS, MAX_WORD_CHARS, Identifier, QueryError, SearchQuery, Term, parse_query,
    search_document, search_words,
)
from protocols.union import SourceRef, UnionHolding, UnionRecord


def test_fielded_terms_phrases_and_keywords():
    q = parse_query('title:"Pride and Prejudice" Austen subject:fiction')
    assert q.terms == (Term(("pride", "and", "prejudice"), "title"), Term(("austen",)),
                       Term(("fiction",), "subject"))
    assert q.terms[0].is_phrase and not q.terms[1].is_phrase


def test_accents_and_case_fold_to_the_same_query():
    assert parse_query("Éléments de GÉOMÉTRIE").terms == parse_query("elements geometrie").terms
    assert search_words("L'Éducation sentimentale — Œuvres") == [
        "l", "education", "sentimentale", "oeuvres"]


def test_words_longer_than_the_limit_are_cut_and_the_others_kept():
    digits = "1234567890" * 10
    assert search_words(f"Note {digits} end") == ["note", digits[:MAX_WORD_CHARS], "end"]
    exact = "x" * MAX_WORD_CHARS
    assert search_words(f"{exact} {exact}") == [exact, exact]
    assert search_words("a " * 40 + "b") == ["a"] * 40 + ["b"]


def test_isbn10_and_isbn13_give_the_same_identifier():
    ten, thirteen = "0-14-023821-2", "978-0-14-023821-1"
    assert stdnum_isbn.to_isbn13(ten) == thirteen          # the pair is the same book
    expected = (Identifier("isbn", "9780140238211"),)
    assert parse_query(f"isbn:{ten}").identifiers == expected
    assert parse_query(f"isbn:{thirteen}").identifiers == expected
    assert parse_query("0140238212").identifiers == expected    # a bare ISBN is a lookup
    assert parse_query("1984").terms == (Term(("1984",)),)       # a bare year is a word


def test_issn_and_oclc_are_normalized():
    q = parse_query("issn:00280836 oclc:(OCoLC)ocm00012345")
    assert q.identifiers == (Identifier("issn", "0028-0836"), Identifier("oclc", "12345"))


def test_filters():
    q = parse_query("jazz format:book,score language:ENG year:1990-2000 member:GB-UkDem "
                    "lendable:yes")
    assert (q.formats, q.languages, q.year_from, q.year_to, q.members, q.lendable) == (
        ("book", "score"), ("eng",), 1990, 2000, ("GB-UkDem",), True)
    assert (parse_query("year:-1800").year_from, parse_query("year:-1800").year_to) == (
        None, 1800)
    assert (parse_query("year:1990").year_from, parse_query("year:1990").year_to) == (1990, 1990)
    assert parse_query("format:book").terms == ()                # filters alone browse


def test_filters_given_apart_from_the_text():
    q = parse_query("jazz", filters=[("format", "audio"), ("lendable", "false")])
    assert q.formats == ("audio",) and q.lendable is False


def test_stopwords_are_dropped_only_beside_other_words():
    assert [t.words for t in parse_query("the history of jazz").terms] == [
        ("history",), ("jazz",)]
    assert [t.words for t in parse_query("the of").terms] == [("the",), ("of",)]
    assert parse_query('"the end"').terms == (Term(("the", "end")),)


def test_prefix_and_paging():
    q = parse_query("histor* jazz", page=3, limit=10)
    assert q.terms[0] == Term(("histor",), None, prefix=True)
    assert (q.offset, q.limit) == (20, 10)


def test_a_colon_in_a_title_is_text():
    assert [t.words for t in parse_query("Emma: a novel").terms] == [("emma",), ("novel",)]


@pytest.mark.parametrize("text, term", [
    ("titel:emma", "titel:emma"),
    ("emma year:2000-1990", "year:2000-1990"),
    ("isbn:0140238213", "isbn:0140238213"),
    ("format:cd", "format:cd"),
    ("lendable:perhaps", "lendable:perhaps"),
    ("language:english", "language:english"),
    ("year:1990 year:2000", "year:2000"),
    ("author:...", "author:..."),
    ("   ", ""),
])
def test_bad_terms_are_named(text, term):
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    assert caught.value.term == term
    assert repr(term) in str(caught.value)


def test_bad_paging_is_refused():
    with pytest.raises(QueryError, match="page=0"):
        parse_query("emma", page=0)
    with pytest.raises(QueryError, match="limit=500"):
        parse_query("emma", limit=500)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gives_a_query_or_a_query_error(text):
    try:
        q = parse_query(text)
    except QueryError as exc:
        assert exc.term.strip("…") in text or exc.term.startswith(text[:40].strip())
        return
    assert isinstance(q, SearchQuery)
    assert q.terms or q.identifiers or q.has_filters
    for term in q.terms:
        assert term.words and all(w == search_words(w)[0] for w in term.words)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(FILTER_FIELDS), st.text(max_size=20))
def test_any_filter_value_gives_a_query_or_names_the_filter(name, value):
    try:
        parse_query("x", filters=[(name, value)])
    except QueryError as exc:
        assert exc.term == f"{name}={value}"


def test_search_document_of_a_union_record():
    union = UnionRecord(
        cluster_id=7, title="Récits laurentiens", authors=["Marie-Victorin, frère"],
        isbns=["9780140238211"], languages=["fre"], year=1919, format="book",
        sources=[SourceRef(1, "CA-QQLA", "a1"), SourceRef(2, "SE-UMU", "b2")],
        holdings=[UnionHolding("CA-QQLA", "a1", lendable=True),
                  UnionHolding("SE-UMU", "b2", lendable=True, member_status="closed")])
    doc = search_document(union)
    assert doc.text["title"] == [["recits", "laurentiens"]]
    assert doc.text["author"] == [["marie", "victorin", "frere"]]
    # a closed member's copy does not lend
    assert doc.holders == [("CA-QQLA", True), ("SE-UMU", False)] and doc.lendable
    assert doc.identifiers == [("isbn", "9780140238211")] and doc.languages == ["fre"]
