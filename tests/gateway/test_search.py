"""Search over the union index, on SQLite (FTS5) and PostgreSQL (tsvector), the same tests.

Clusters come from real MARC records (tests/gateway/search_helpers.py): Jane Austen's novels
in many editions (marc4j) held by two members, and 100 French books of Université Laval
(Evergreen) with lendable and non-lendable items.
"""

from __future__ import annotations

import copy
import functools

import pytest
from stdnum import isbn as stdnum_isbn

from gateway.index.search import search
from protocols.search_query import parse_query, search_document, search_words
from protocols.union import UnionRecord
from tests.gateway.search_helpers import LAVAL, PRIDE, Corpus, store_clusters, update_cluster


@functools.lru_cache(maxsize=1)
def _corpus() -> Corpus:
    corpus = Corpus()
    corpus.add_file(*PRIDE, second_member="GB-UkDem")
    corpus.add_file(*LAVAL)
    return corpus


@pytest.fixture
def corpus() -> Corpus:
    return copy.deepcopy(_corpus())


@pytest.fixture
async def indexed(store, corpus):
    await store_clusters(store, corpus.unions.values())
    return store


async def run(store, text: str, **kwargs):
    async with store.connect() as conn:
        return await search(conn, parse_query(text, **kwargs))


def all_words(union: UnionRecord) -> set[str]:
    doc = search_document(union)
    return {w for items in doc.text.values() for item in items for w in item}


def expected_ids(corpus: Corpus, words: list[str], keep=lambda u: True) -> set[int]:
    """The oracle: clusters whose folded words include every one of ``words``."""
    return {cid for cid, u in corpus.unions.items()
            if set(words) <= all_words(u) and keep(u)}


async def test_keyword_search_finds_exactly_the_clusters_with_every_word(indexed, corpus):
    result = await run(indexed, "Austen sense", limit=100)
    want = expected_ids(corpus, ["austen", "sense"])
    assert len(want) > 5
    assert result.total == len(want)
    assert {h.cluster_id for h in result.hits} == want


@pytest.mark.parametrize("text", ["histoire", "england", "france", "sense sensibility"])
async def test_title_matches_rank_above_matches_elsewhere(indexed, text):
    result = await run(indexed, text, limit=100)
    assert 0 < len(result.hits) == result.total
    words = set(search_words(text))
    titled = [words <= set(search_words(f"{h.record.title} {h.record.subtitle or ''}"))
              for h in result.hits]
    assert titled[0]
    # bm25 and ts_rank weigh title words 5-10 times subject words, but also weigh how often a
    # word occurs and how long the record is: on average, not strictly, title hits rank higher
    if not all(titled):
        in_title = [n for n, t in enumerate(titled) if t]
        elsewhere = [n for n, t in enumerate(titled) if not t]
        assert sum(in_title) / len(in_title) < sum(elsewhere) / len(elsewhere)
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)


async def test_fielded_search(indexed, corpus):
    by_author = await run(indexed, "author:austen", limit=100)
    assert by_author.total == len({cid for cid, u in corpus.unions.items()
                                   if "austen" in search_words(" ".join(
                                       u.authors + u.corporate_authors
                                       + [u.responsibility or ""]))})
    subject = await run(indexed, 'subject:"young women"', limit=100)
    assert subject.total > 0
    for hit in subject.hits:
        assert any("young women" in " ".join(search_words(s)) for s in hit.record.subjects)
    in_title = await run(indexed, "title:fiction", limit=100)
    anywhere = await run(indexed, "fiction", limit=100)
    assert in_title.total < anywhere.total


async def test_isbn10_and_isbn13_find_the_same_cluster(indexed, corpus):
    union = next(u for u in corpus.unions.values()
                 if u.isbns and u.isbns[0].startswith("978") and u.title)
    isbn13 = union.isbns[0]
    isbn10 = stdnum_isbn.to_isbn10(isbn13)
    for text in (f"isbn:{isbn10}", f"isbn:{stdnum_isbn.format(isbn13)}", isbn10, isbn13):
        result = await run(indexed, text)
        assert [h.cluster_id for h in result.hits] == [union.cluster_id], text
        assert result.total == 1


async def test_accents_and_case_are_folded(indexed):
    plain = await run(indexed, "DIX-HUITIEME siecle")
    accented = await run(indexed, "dix-huitième SIÈCLE")
    assert plain.total == accented.total >= 1
    assert [h.cluster_id for h in plain.hits] == [h.cluster_id for h in accented.hits]
    assert plain.hits[0].record.title == "Dix-huitième siècle"
    faguet = await run(indexed, "author:émile author:faguet")
    assert faguet.total >= 1 and all("Faguet" in h.record.authors[0] for h in faguet.hits)


async def test_facet_counts(indexed, corpus):
    result = await run(indexed, "austen", limit=5)
    want = [corpus.unions[c] for c in expected_ids(corpus, ["austen"])]
    assert result.total_exact and result.total == len(want)
    formats: dict[str, int] = {}
    members: dict[str, int] = {}
    for u in want:
        formats[u.format] = formats.get(u.format, 0) + 1
        for m in u.members:
            members[m] = members.get(m, 0) + 1
    assert dict(result.facets["format"]) == formats
    assert dict(result.facets["member"]) == members
    decades = dict(result.facets["decade"])
    assert sum(decades.values()) == sum(1 for u in want if u.year)
    assert decades.get("1990") == sum(1 for u in want if u.year and 1990 <= u.year <= 1999)


@pytest.mark.parametrize("text", [
    "canada", "sense", "austen format:audio", "austen year:1990-1999 format:audio",
    "histoire lendable:true", "histoire member:CA-QQLA lendable:true", "pride member:GB-UkDem",
    "sense language:chi,eng", "language:fre member:GB-UkDem", "format:audio year:1990-1999"])
async def test_facets_of_a_one_page_result_match_the_counted_ones(indexed, text):
    # a result that fits on its first page is counted from its documents in Python; the
    # same query paged small is counted by the database over the matches (text index and
    # search_docs joined for filters and facets): both must agree, filters or not
    small = await run(indexed, text, limit=100)
    paged = await run(indexed, text, limit=1)
    assert 1 < small.total < 100 and paged.total == small.total
    assert small.facets == paged.facets
    assert sum(n for _, n in paged.facets["format"]) == paged.total


async def test_filters(indexed, corpus):
    result = await run(indexed, "austen format:audio year:1990-1999", limit=100)
    want = expected_ids(corpus, ["austen"], lambda u: u.format == "audio"
                        and u.year is not None and 1990 <= u.year <= 1999)
    assert {h.cluster_id for h in result.hits} == want and result.total == len(want) > 0

    french = await run(indexed, "language:fre lendable:true", limit=100)
    want = {cid for cid, u in corpus.unions.items() if "fre" in u.languages
            and any(h.lendable for h in u.holdings)}
    assert french.total == len(want) > 0

    not_lent = await run(indexed, "lendable:false member:CA-QQLA", limit=100)
    assert not_lent.total == sum(1 for u in corpus.unions.values()
                                 if "CA-QQLA" in u.members
                                 and not any(h.lendable for h in u.holdings
                                             if h.member == "CA-QQLA"))

    held = await run(indexed, "pride member:GB-UkDem", limit=100)
    assert held.total > 0 and all("GB-UkDem" in h.record.members for h in held.hits)


async def test_paging_is_stable_and_complete(indexed):
    first = await run(indexed, "austen", limit=10, page=1)
    second = await run(indexed, "austen", limit=10, page=2)
    both = await run(indexed, "austen", limit=20, page=1)
    assert first.total == second.total == both.total > 20
    assert [h.cluster_id for h in first.hits + second.hits] == [
        h.cluster_id for h in both.hits]
    beyond = await run(indexed, "austen", limit=100, page=50)
    assert beyond.hits == [] and beyond.total == first.total


async def test_results_carry_source_records_and_holdings(indexed, corpus):
    result = await run(indexed, "title:aspirations")
    hit = result.hits[0]
    shown = hit.to_dict()
    union = corpus.unions[hit.cluster_id]
    assert shown["records"][0]["local_id"] == union.sources[0].local_id
    assert shown["holdings"] and shown["holdings"][0]["member"] == "CA-QQLA"
    assert shown["title"] == "Les aspirations"


async def test_deleted_cluster_is_not_found(indexed, corpus):
    union = next(u for u in corpus.unions.values() if u.title == "Les aspirations")
    assert (await run(indexed, "aspirations")).total == 1
    await update_cluster(indexed, union, deleted=True)
    gone = await run(indexed, "aspirations")
    assert gone.total == 0 and gone.hits == []
    assert (await run(indexed, "member:CA-QQLA")).total == 99


async def test_reindex_after_a_change(indexed, corpus):
    union = next(u for u in corpus.unions.values() if u.title == "Les aspirations")
    union.title = "Les vœux d'Élodie"
    union.isbns = ["9780140238211"] if "9780140238211" not in {
        i for u in corpus.unions.values() for i in u.isbns} else ["9782070360024"]
    await update_cluster(indexed, union)
    assert (await run(indexed, "aspirations")).total == 0
    found = await run(indexed, "voeux elodie")
    assert [h.cluster_id for h in found.hits] == [union.cluster_id]
    assert found.hits[0].record.title == "Les vœux d'Élodie"
    by_isbn = await run(indexed, f"isbn:{union.isbns[0]}")
    assert union.cluster_id in [h.cluster_id for h in by_isbn.hits]


async def test_query_syntax_of_the_databases_is_only_text(indexed):
    # FTS5 and tsquery operators, quotes and backslashes in user text are words or nothing
    for text in ('NOT pride', 'pride OR NEAR(emma)', "o'brien", 'back\\slash', 'A:b',
                 'title:"unclosed', '"" ^pride', 'pride & !prejudice | x <-> y',
                 "ÆØÅ ǅ ﬁn", "κόσμος", "中国", "x" * 200, "-pride", "{title}: emma",
                 "pride *", "prejudice*"):
        result = await run(indexed, text)
        assert result.total >= 0, text
    assert (await run(indexed, "pride OR prejudice")).total <= (await run(
        indexed, "pride prejudice")).total


async def test_a_result_beyond_the_window_is_ranked_and_counted_within_it(indexed, corpus,
                                                                          monkeypatch):
    import gateway.index.search as search_module
    monkeypatch.setattr(search_module, "MATCH_WINDOW", 50)
    want = expected_ids(corpus, ["austen"])
    assert len(want) > 50
    first = await run(indexed, "austen", limit=20)
    assert (first.total, first.total_exact) == (50, False)
    assert sum(n for _, n in first.facets["format"]) == 50
    # the window is the first 50 matches in cluster order, ranked among themselves
    window = sorted(want)[:50]
    pages = [first] + [await run(indexed, "austen", limit=20, page=p) for p in (2, 3)]
    shown = [h.cluster_id for page in pages for h in page.hits]
    assert sorted(shown) == window
    without_facets = await run(indexed, "austen", limit=20, facets=False)
    assert (without_facets.total, without_facets.total_exact) == (50, False)
    exact = await run(indexed, "persuasion", limit=1)
    assert exact.total_exact and exact.total == len(expected_ids(corpus, ["persuasion"])) > 1


async def test_a_phrase_does_not_run_from_one_subject_into_the_next(indexed, corpus):
    union = next(u for u in corpus.unions.values() if len(u.subjects) >= 2
                 and search_words(u.subjects[0]) and search_words(u.subjects[1]))
    last, first = search_words(union.subjects[0])[-1], search_words(union.subjects[1])[0]
    phrase = f"{last} {first}"
    result = await run(indexed, f'subject:"{phrase}"', limit=100)
    assert union.cluster_id not in {h.cluster_id for h in result.hits}
    # the phrase found only where one subject holds it
    for hit in result.hits:
        assert any(phrase in " ".join(search_words(s)) for s in hit.record.subjects)
    both = await run(indexed, f"subject:{last} subject:{first}", limit=100)
    assert union.cluster_id in {h.cluster_id for h in both.hits} or both.total == 100


@pytest.mark.parametrize("first, second", [
    ("austen format:audio year:1990-1999", "histoire format:book year:1900-1909"),
    ("language:fre member:GB-UkDem", "language:eng member:GB-UkPP"),
    ("sense lendable:false", "persuasion lendable:false"),
])
async def test_statements_of_one_query_shape_serve_every_value(indexed, first, second):
    # the statements are built once per shape of query and reused with each query's values:
    # no value of the first query may stay in them
    from gateway.index.search_statements import statements
    statements.cache_clear()
    await run(indexed, first, limit=2)
    reused = await run(indexed, second, limit=2)
    statements.cache_clear()
    fresh = await run(indexed, second, limit=2)
    assert reused.total > 0 and reused.to_dict() == fresh.to_dict()
    assert (await run(indexed, first, limit=2)).to_dict() != reused.to_dict()


async def test_facets_follow_incremental_changes(indexed, corpus):
    # "austen" matches more than a page, so the database counts its facets from the search
    # rows that reindex_clusters rewrites: a changed and a deleted cluster show at once
    changed, gone = [corpus.unions[c] for c in sorted(expected_ids(corpus, ["austen"]))[:2]]
    changed.format, changed.languages, changed.year = "map", ["wel"], 1642
    await update_cluster(indexed, changed)
    await update_cluster(indexed, gone, deleted=True)
    live = [corpus.unions[c] for c in expected_ids(corpus, ["austen"]) if c != gone.cluster_id]
    result = await run(indexed, "austen", limit=1)
    assert result.total == len(live) > 1

    def counted(values) -> dict[str, int]:
        out: dict[str, int] = {}
        for value in values:
            out[value] = out.get(value, 0) + 1
        return out

    docs = [search_document(u) for u in live]
    assert dict(result.facets["format"]) == counted(d.format for d in docs)
    assert dict(result.facets["language"]) == counted(lang for d in docs for lang in d.languages)
    assert dict(result.facets["member"]) == counted(m for d in docs for m, _ in d.holders)
    assert dict(result.facets["decade"]) == counted(
        str(d.year // 10 * 10) for d in docs if d.year is not None)
    assert ("map", 1) in result.facets["format"] and ("1640", 1) in result.facets["decade"]
