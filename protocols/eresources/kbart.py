"""KBART Phase II title lists (NISO RP-9-2014): tab-separated, one header line, UTF-8.

``parse_kbart`` reads a whole file: every good line becomes a ``KbartTitle``, every bad line a
``KbartProblem`` naming the line number, the column and the value — the rest still loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stdnum import isbn as stdnum_isbn
from stdnum import issn as stdnum_issn
from stdnum.exceptions import ValidationError

from protocols.eresources.coverage import (
    Coverage,
    CoverageError,
    number_prefix as _number,
    parse_date,
    parse_embargo,
)

# Phase II columns, in the standard's order
COLUMNS = (
    "publication_title", "print_identifier", "online_identifier", "date_first_issue_online",
    "num_first_vol_online", "num_first_issue_online", "date_last_issue_online",
    "num_last_vol_online", "num_last_issue_online", "title_url", "first_author", "title_id",
    "embargo_info", "coverage_depth", "notes", "publisher_name", "publication_type",
    "date_monograph_published_print", "date_monograph_published_online", "monograph_volume",
    "monograph_edition", "first_editor", "parent_publication_title_id",
    "preceding_publication_title_id", "access_type",
)
REQUIRED_HEADER = ("publication_title", "print_identifier", "online_identifier")
PUBLICATION_TYPES = ("serial", "monograph")


@dataclass(frozen=True, slots=True)
class KbartProblem:
    line: int
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass(slots=True)
class KbartTitle:
    line: int
    title: str
    publication_type: str                    # serial | monograph
    issns: list[str] = field(default_factory=list)
    isbns: list[str] = field(default_factory=list)   # ISBN-13
    title_id: str | None = None
    title_url: str | None = None
    publisher: str | None = None
    coverage: Coverage = field(default_factory=Coverage)
    coverage_depth: str | None = None
    access_type: str | None = None           # F (free) | P (paid)
    raw: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class KbartFile:
    titles: list[KbartTitle]
    problems: list[KbartProblem]
    columns: list[str]


def _identifier(value: str, publication_type: str, column: str, line: int,
                title: KbartTitle) -> KbartProblem | None:
    value = value.strip()
    if not value:
        return None
    try:
        if publication_type == "monograph":
            title.isbns.append(stdnum_isbn.to_isbn13(stdnum_isbn.validate(value)))
        else:
            title.issns.append(stdnum_issn.format(stdnum_issn.validate(value)))
    except ValidationError as exc:
        kind = "ISBN" if publication_type == "monograph" else "ISSN"
        return KbartProblem(line, column, value, f"{value!r} is not a valid {kind}: {exc}")
    return None


def parse_kbart(text: str) -> KbartFile:
    """Parse a KBART file's text. A wrong header is one problem on line 1 and no titles."""
    # lines end at LF (or CRLF) only: str.splitlines would also break at a vertical tab, form
    # feed or U+2028 inside a cell (spreadsheet exports have them) and shift every line number
    lines = [line.removesuffix("\r") for line in text.lstrip("\ufeff").split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return KbartFile([], [KbartProblem(1, None, None, "the file is empty")], [])
    header = [h.strip().lower() for h in lines[0].split("\t")]
    missing = [c for c in REQUIRED_HEADER if c not in header]
    if missing:
        return KbartFile([], [KbartProblem(
            1, None, lines[0][:80], f"not a KBART header: missing column(s) {', '.join(missing)}"
            " (the first line must name the tab-separated KBART columns)")], header)
    titles: list[KbartTitle] = []
    problems: list[KbartProblem] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) > len(header):
            problems.append(KbartProblem(number, None, None,
                                         f"{len(cells)} fields, but the header has "
                                         f"{len(header)} columns"))
            continue
        row = dict(zip(header, (c.strip() for c in cells)))
        parsed = _parse_row(number, row, problems)
        if parsed is not None:
            titles.append(parsed)
    return KbartFile(titles, problems, header)


def _parse_row(number: int, row: dict[str, str], problems: list[KbartProblem]) -> KbartTitle | None:
    name = row.get("publication_title", "")
    if not name:
        problems.append(KbartProblem(number, "publication_title", "", "no publication_title"))
        return None
    ptype = (row.get("publication_type") or "serial").lower()
    if ptype not in PUBLICATION_TYPES:
        problems.append(KbartProblem(number, "publication_type", row["publication_type"],
                                     f"publication_type {row['publication_type']!r} is not "
                                     "serial or monograph"))
        return None
    title = KbartTitle(line=number, title=name, publication_type=ptype,
                       title_id=row.get("title_id") or None, title_url=row.get("title_url") or None,
                       publisher=row.get("publisher_name") or None,
                       coverage_depth=row.get("coverage_depth") or None,
                       access_type=row.get("access_type") or None, raw=row)
    bad = [p for column in ("print_identifier", "online_identifier")
           if (p := _identifier(row.get(column, ""), ptype, column, number, title))]
    if bad:
        problems.extend(bad)
        return None
    if not title.issns and not title.isbns:
        problems.append(KbartProblem(number, "print_identifier", "",
                                     "no identifier: give print_identifier or online_identifier"))
        return None
    title.coverage = _coverage(number, row, problems)
    return title if title.coverage is not None else None


def _coverage(number: int, row: dict[str, str], problems: list[KbartProblem]) -> Coverage | None:
    parsers = {"date_first_issue_online": lambda v: parse_date(v),
               "date_last_issue_online": lambda v: parse_date(v, end=True),
               "embargo_info": parse_embargo}
    values = {}
    for column, parse in parsers.items():
        try:
            values[column] = parse(row.get(column))
        except CoverageError as exc:
            problems.append(KbartProblem(number, column, row.get(column), str(exc)))
            return None
    first, last = values["date_first_issue_online"], values["date_last_issue_online"]
    if first and last and last < first:
        problems.append(KbartProblem(number, "date_last_issue_online", row.get(
            "date_last_issue_online"), f"coverage ends ({last}) before it starts ({first})"))
        return None
    return Coverage(first_date=first, first_volume=_number(row.get("num_first_vol_online")),
                    first_issue=_number(row.get("num_first_issue_online")), last_date=last,
                    last_volume=_number(row.get("num_last_vol_online")),
                    last_issue=_number(row.get("num_last_issue_online")),
                    embargo=values["embargo_info"])
