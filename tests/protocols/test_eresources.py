"""KBART title lists, coverage and embargoes, licence terms, copyright (loop-free).

The KBART files here are built in the shape of the standard (NISO RP-9-2014 Phase II header,
tab-separated) because ../shared holds none.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.eresources.copyright import classify_copy
from protocols.eresources.coverage import Citation, Coverage, CoverageError, covers, parse_embargo
from protocols.eresources.kbart import COLUMNS, parse_kbart
from protocols.eresources.licence import LicenceError, TermValue, copy_permission, parse_licences

TODAY = dt.date(2026, 11, 27)


def kbart(*rows: dict[str, str]) -> str:
    lines = ["\t".join(COLUMNS)]
    lines += ["\t".join(row.get(c, "") for c in COLUMNS) for row in rows]
    return "\n".join(lines) + "\n"


NATURE = {"publication_title": "Nature", "print_identifier": "0028-0836",
          "online_identifier": "1476-4687", "date_first_issue_online": "1997-01-02",
          "num_first_vol_online": "385", "num_first_issue_online": "6611",
          "embargo_info": "P1Y", "publication_type": "serial", "coverage_depth": "fulltext",
          "title_url": "https://www.nature.com/nature", "publisher_name": "Springer Nature"}


def test_a_standard_kbart_file_loads_its_titles_with_coverage():
    book = {"publication_title": "Opticks", "online_identifier": "978-0-486-60205-9",
            "publication_type": "monograph", "date_monograph_published_online": "2012"}
    parsed = parse_kbart(kbart(NATURE, book))
    assert parsed.problems == []
    nature, opticks = parsed.titles
    assert nature.issns == ["0028-0836", "1476-4687"] and nature.line == 2
    assert nature.coverage.first_date == dt.date(1997, 1, 2) and nature.coverage.last_date is None
    assert [str(e) for e in nature.coverage.embargo] == ["P1Y"]
    assert opticks.isbns == ["9780486602059"]


def test_bad_lines_are_reported_with_line_and_column_and_the_rest_loads():
    text = kbart(
        NATURE,
        {**NATURE, "publication_title": "Bad ISSN", "print_identifier": "0028-0837",
         "online_identifier": ""},
        {**NATURE, "publication_title": "Bad embargo", "embargo_info": "P1X"},
        {"publication_title": "No identifier", "publication_type": "serial"},
        {**NATURE, "publication_title": "Backwards", "date_last_issue_online": "1990"},
        {**NATURE, "publication_title": "Science", "print_identifier": "0036-8075",
         "online_identifier": "1095-9203"},
    )
    parsed = parse_kbart(text)
    assert [t.title for t in parsed.titles] == ["Nature", "Science"]
    found = {(p.line, p.column) for p in parsed.problems}
    assert found == {(3, "print_identifier"), (4, "embargo_info"), (5, "print_identifier"),
                     (6, "date_last_issue_online")}
    messages = {p.line: str(p) for p in parsed.problems}
    assert "'0028-0837'" in messages[3] and "'P1X'" in messages[4]
    assert messages[3].startswith("line 3, column print_identifier")


def test_line_numbers_count_crlf_lines_only():
    # a spreadsheet export: CRLF endings, a BOM, a vertical tab and U+2028 inside titles
    text = kbart({**NATURE, "publication_title": "Nature\x0bweekly"},
                 {**NATURE, "publication_title": "Notes\u2028and queries"},
                 {**NATURE, "publication_title": "Broken", "embargo_info": "X"})
    parsed = parse_kbart("\ufeff" + text.replace("\n", "\r\n"))
    assert [t.line for t in parsed.titles] == [2, 3]
    assert [(p.line, p.column) for p in parsed.problems] == [(4, "embargo_info")]


def test_a_file_that_is_not_kbart_is_one_clear_problem():
    parsed = parse_kbart("title,issn\nNature,0028-0836\n")
    assert parsed.titles == [] and len(parsed.problems) == 1
    assert "missing column(s) publication_title" in str(parsed.problems[0])


@pytest.mark.parametrize(("code", "year", "ok"), [
    ("P1Y", 2026, False), ("P1Y", 2025, True),          # calendar years, this year first
    ("P2Y", 2025, False), ("P2Y", 2024, True),
    ("R1Y", 2026, True), ("R1Y", 2025, False),
    ("R10Y;P1Y", 2016, False), ("R10Y;P1Y", 2017, True), ("R10Y;P1Y", 2026, False),
])
def test_year_embargoes_count_calendar_years(code, year, ok):
    coverage = Coverage(first_date=dt.date(1990, 1, 1), embargo=parse_embargo(code))
    assert covers(coverage, Citation(year=year), TODAY)[0] is ok


def test_month_embargoes_are_a_moving_wall_from_today():
    six = Coverage(embargo=parse_embargo("P6M"))
    assert not covers(six, Citation(year=2026, date=dt.date(2026, 6, 1)), TODAY)[0]
    assert covers(six, Citation(year=2026, date=dt.date(2026, 5, 26)), TODAY)[0]
    recent = Coverage(embargo=parse_embargo("R6M"))
    allowed, why = covers(recent, Citation(year=2026, date=dt.date(2026, 1, 1)), TODAY)
    assert not allowed and "R6M" in why and "2026-05-27" in why
    assert covers(recent, Citation(year=2026, date=dt.date(2026, 10, 1)), TODAY)[0]
    # a year-only citation straddling the wall may fall outside: refused, cautiously, with why
    allowed, why = covers(recent, Citation(year=2026), TODAY)
    assert not allowed and "only content from 2026-05-27 on" in why


def test_volume_and_issue_decide_at_the_boundary_year():
    coverage = Coverage(first_date=dt.date(1997, 1, 2), first_volume=385, first_issue=6611,
                        last_date=dt.date(2005, 12, 31), last_volume=438, last_issue=7071)
    assert covers(coverage, Citation(year=1997, volume=385, issue=6612), TODAY)[0]
    assert not covers(coverage, Citation(year=1997, volume=385, issue=6610), TODAY)[0]
    assert not covers(coverage, Citation(year=2005, volume=439, issue=1), TODAY)[0]
    assert covers(coverage, Citation(year=2005, volume=439), TODAY)[1] == (
        "volume 439 follows the last covered (volume 438 issue 7071)")
    assert not covers(coverage, Citation(year=1996), TODAY)[0]
    assert not covers(coverage, Citation(year=2006), TODAY)[0]
    assert not covers(coverage, Citation(), TODAY)[0]


@given(st.text(max_size=12))
def test_any_embargo_text_parses_or_raises_a_coverage_error(text):
    try:
        parsed = parse_embargo(text)
    except CoverageError as exc:
        assert repr(text.replace(" ", "").split(";")[0]) in str(exc) or "twice" in str(exc) \
            or "P|R" in str(exc)
    else:
        assert all(e.kind in "PR" and e.unit in "DMY" for e in parsed)


LICENCES = """
[[licence]]
package = "Springer Journals 2026"
illElectronic = "Prohibited (explicit)"
illSecureElectronic = "Permitted (explicit) under conditions"
illPrint = "Permitted (explicit)"

[[licence]]
package = "Print only"
illElectronic = "Prohibited (interpreted)"
illSecureElectronic = "Silent (uninterpreted)"
illPrint = "Permitted (interpreted)"
emergency_opening = { from = "2026-03-15", until = "2026-06-30" }
"""


def test_licence_terms_decide_and_name_the_term_that_allowed():
    springer, print_only = parse_licences(LICENCES)
    verdict = copy_permission(springer, TODAY)
    assert (verdict.allowed, verdict.term) == (True, "illSecureElectronic")
    refused = copy_permission(print_only, TODAY)
    assert not refused.allowed and "illElectronic: Prohibited (interpreted)" in refused.reason
    assert copy_permission(print_only, TODAY, accept_print=True).term == "illPrint"
    opened = copy_permission(print_only, dt.date(2026, 4, 1))
    assert (opened.allowed, opened.term) == (True, "emergency opening")
    assert print_only.term("illSecureElectronic") is TermValue.UNMENTIONED
    assert not copy_permission(None, TODAY).allowed


@pytest.mark.parametrize(("text", "fragment"), [
    ('[[licence]]\npackage = "x"\nillElectronic = "Maybe"', "'Maybe' is not an ERM term"),
    ('[[licence]]\nillElectronic = "Permitted (explicit)"', "give a package or a title"),
    ('[[licence]]\npackage = "x"\nillFax = "Permitted (explicit)"', "unknown key(s) illFax"),
    ('[[licence]]\npackage = "x"\nemergency_opening = { until = "2026-01-01" }', "'from'"),
    ("not toml [", "not valid TOML"),
])
def test_bad_licence_entries_name_what_is_wrong(text, fragment):
    with pytest.raises(LicenceError, match=None) as refused:
        parse_licences(text, "lic.toml")
    assert fragment in str(refused.value) and "lic.toml" in str(refused.value)


def test_a_bad_licence_names_its_line_and_refuses_the_file():
    text = LICENCES + '\n[[licence]]\ntitle = "0028-0836"\nillPrint = "Allowed"\n'
    with pytest.raises(LicenceError) as refused:
        parse_licences(text, "lic.toml")
    line = text.split("\n").index("[[licence]]", 10) + 1
    assert f"lic.toml, licence #3 (line {line}), illPrint: 'Allowed'" in str(refused.value)


def test_the_sixth_recent_copy_of_a_title_in_a_year_needs_a_decision():
    counted = [classify_copy(2026, 2024, borrower_subscribes=False, ccg_so_far=n)
               for n in range(6)]
    assert [c.category for c in counted] == ["CCG"] * 6
    assert [c.needs_decision for c in counted] == [False] * 5 + [True]
    assert counted[5].ordinal == 6
    assert classify_copy(2026, 2020, borrower_subscribes=False, ccg_so_far=9).category == "CCL"
    assert classify_copy(2026, 2021, borrower_subscribes=False, ccg_so_far=0).category == "CCG"
    subscribed = classify_copy(2026, 2026, borrower_subscribes=True, ccg_so_far=7)
    assert (subscribed.category, subscribed.needs_decision) == ("CCL", False)
