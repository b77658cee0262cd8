"""Coverage of a serial or book in a member's e-holdings: date / volume / issue ranges and
KBART embargoes.

Embargo codes (KBART Recommended Practice, `embargo_info`): ``P`` + length + unit is a *period
during which the most recent content is not available* (``P1Y``, ``P6M``, ``P30D``); ``R`` + length
+ unit is a *range of time during which only the most recent content is available* (``R6M``).
Both may be given, separated by ``;`` (``R10Y;P1Y``). Years count calendar years with the current
year as the first (``P1Y``: this year's issues are not available yet); months and days count
back from the day of the check.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

EMBARGO_RE = re.compile(r"^(?P<kind>[PR])(?P<length>\d{1,4})(?P<unit>[DMY])$")
DATE_RE = re.compile(r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2}))?)?$")


class CoverageError(ValueError):
    """A coverage value that cannot be read; the message names it."""


@dataclass(frozen=True, slots=True)
class Embargo:
    kind: str        # P: recent content unavailable; R: only recent content available
    length: int
    unit: str        # D | M | Y

    def __str__(self) -> str:
        return f"{self.kind}{self.length}{self.unit}"

    def boundary(self, today: dt.date) -> dt.date:
        """The first day of the moving wall (content on/after it is 'recent')."""
        if self.unit == "Y":
            return dt.date(today.year - self.length + 1, 1, 1)
        if self.unit == "M":
            month = today.month - self.length
            year = today.year + (month - 1) // 12
            month = (month - 1) % 12 + 1
            day = min(today.day, _days_in_month(year, month))
            return dt.date(year, month, day)
        return today - dt.timedelta(days=self.length)


def _days_in_month(year: int, month: int) -> int:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return (nxt - dt.timedelta(days=1)).day


def parse_embargo(text: str | None) -> tuple[Embargo, ...]:
    """``"R10Y;P1Y"`` → two embargoes; empty → none. Raises CoverageError naming the code."""
    if not text or not text.strip():
        return ()
    found = []
    for part in text.replace(" ", "").split(";"):
        if not part:
            continue
        match = EMBARGO_RE.match(part.upper())
        if not match:
            raise CoverageError(f"embargo {part!r} is not P|R + number + D|M|Y (e.g. P1Y, R6M)")
        found.append(Embargo(match["kind"], int(match["length"]), match["unit"]))
    if len({e.kind for e in found}) != len(found):
        raise CoverageError(f"embargo {text!r} gives the same kind (P or R) twice")
    return tuple(found)


def parse_date(text: str | None, *, end: bool = False) -> dt.date | None:
    """KBART dates are YYYY, YYYY-MM or YYYY-MM-DD; an end date of YYYY means 31 December."""
    if not text or not text.strip():
        return None
    match = DATE_RE.match(text.strip())
    if not match:
        raise CoverageError(f"date {text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = int(match["y"]), match["m"], match["d"]
    try:
        if month is None:
            return dt.date(year, 12, 31) if end else dt.date(year, 1, 1)
        m = int(month)
        if day is None:
            return dt.date(year, m, _days_in_month(year, m) if end else 1)
        return dt.date(year, m, int(day))
    except ValueError:
        raise CoverageError(f"date {text!r} does not exist") from None


def number_prefix(text: str | None) -> int | None:
    """The leading number of a volume or issue (``'12'``, ``'12A'`` → 12); None if there is none."""
    if text is None or not str(text).strip():
        return None
    digits = re.match(r"\d+", str(text).strip())
    return int(digits.group()) if digits else None


@dataclass(frozen=True, slots=True)
class Coverage:
    """One coverage statement (a KBART line's range)."""

    first_date: dt.date | None = None
    first_volume: int | None = None
    first_issue: int | None = None
    last_date: dt.date | None = None      # None: to the present
    last_volume: int | None = None
    last_issue: int | None = None
    embargo: tuple[Embargo, ...] = ()

    @classmethod
    def from_kbart(cls, row: dict[str, str]) -> Coverage:
        return cls(
            first_date=parse_date(row.get("date_first_issue_online")),
            first_volume=number_prefix(row.get("num_first_vol_online")),
            first_issue=number_prefix(row.get("num_first_issue_online")),
            last_date=parse_date(row.get("date_last_issue_online"), end=True),
            last_volume=number_prefix(row.get("num_last_vol_online")),
            last_issue=number_prefix(row.get("num_last_issue_online")),
            embargo=parse_embargo(row.get("embargo_info")))


@dataclass(frozen=True, slots=True)
class Citation:
    """What is asked for: an article's year (and date when known), volume and issue."""

    year: int | None = None
    volume: int | None = None
    issue: int | None = None
    date: dt.date | None = None

    @property
    def earliest(self) -> dt.date | None:
        return self.date or (dt.date(self.year, 1, 1) if self.year else None)

    @property
    def latest(self) -> dt.date | None:
        return self.date or (dt.date(self.year, 12, 31) if self.year else None)


def covers(coverage: Coverage, citation: Citation, today: dt.date) -> tuple[bool, str]:
    """Whether ``coverage`` includes ``citation`` on ``today``, and why (for the rota's reasons)."""
    early, late = citation.earliest, citation.latest
    if early is None:
        return False, "the citation has no year: coverage cannot be checked"
    if coverage.first_date and late < coverage.first_date:
        return False, f"{citation.year} is before coverage starts ({coverage.first_date})"
    if coverage.last_date and early > coverage.last_date:
        return False, f"{citation.year} is after coverage ends ({coverage.last_date})"
    # volume/issue decide only at the boundary years, where the dates cannot
    if (coverage.first_date and citation.year == coverage.first_date.year
            and _before(citation, coverage.first_volume, coverage.first_issue)):
        return False, (f"{_place(citation.volume, citation.issue)} precedes the first "
                       f"covered ({_place(coverage.first_volume, coverage.first_issue)})")
    if (coverage.last_date and citation.year == coverage.last_date.year
            and _after(citation, coverage.last_volume, coverage.last_issue)):
        return False, (f"{_place(citation.volume, citation.issue)} follows the last "
                       f"covered ({_place(coverage.last_volume, coverage.last_issue)})")
    for embargo in coverage.embargo:
        wall = embargo.boundary(today)
        if embargo.kind == "P" and late >= wall:
            return False, f"embargo {embargo}: content from {wall} on is not available yet"
        if embargo.kind == "R" and early < wall:
            return False, f"embargo {embargo}: only content from {wall} on is available"
    return True, "within coverage" + (f" (embargo {';'.join(map(str, coverage.embargo))} "
                                      "respected)" if coverage.embargo else "")


def _place(volume: int | None, issue: int | None) -> str:
    return f"volume {volume}" + (f" issue {issue}" if issue is not None else "")


def _before(citation: Citation, volume: int | None, issue: int | None) -> bool:
    if volume is None or citation.volume is None:
        return False
    if citation.volume != volume:
        return citation.volume < volume
    return issue is not None and citation.issue is not None and citation.issue < issue


def _after(citation: Citation, volume: int | None, issue: int | None) -> bool:
    if volume is None or citation.volume is None:
        return False
    if citation.volume != volume:
        return citation.volume > volume
    return issue is not None and citation.issue is not None and citation.issue > issue
