"""OAI-PMH datestamps: UTC, day (``YYYY-MM-DD``) or seconds (``YYYY-MM-DDThh:mm:ssZ``) granularity.

    parse_datestamp("2011-07-18T16:31:00Z")          → datetime(2011, 7, 18, 16, 31, tzinfo=UTC)
    format_datestamp(dt, "yyyy-mm-ddThh:mm:ssZ")     → "2011-07-18T16:31:00Z"
    next_from("2013-02-27T09:10:56Z", "YYYY-MM-DD", timedelta(hours=12)) → "2013-02-26"

The next incremental harvest starts from the repository's own clock (its ``responseDate``),
never ours: a member whose clock runs late would otherwise lose the records it stamps between
its time and ours.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from protocols.oaipmh.errors import DatestampError

__all__ = [
    "DAY", "SECONDS", "GRANULARITIES", "parse_datestamp", "normalize_granularity",
    "format_datestamp", "next_from", "granularity_of",
]

DAY = "YYYY-MM-DD"
SECONDS = "YYYY-MM-DDThh:mm:ssZ"
GRANULARITIES = (DAY, SECONDS)

# Lenient on what repositories really send: lower-case 't'/'z', fractional seconds
# (DSpace, Invenio), '+00:00' instead of 'Z'. Only UTC is OAI-PMH; another offset is converted.
_DATESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
    r"([Zz]|[+-]\d{2}:?\d{2})?)?"
)


def parse_datestamp(value: str) -> datetime:
    """An OAI datestamp or responseDate as an aware UTC ``datetime`` (midnight for a day)."""
    text = value.strip()
    match = _DATESTAMP.fullmatch(text)
    if match is None:
        raise DatestampError(f"not an OAI-PMH datestamp: {value!r}; expected {DAY} or {SECONDS}")
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                          int(second or 0), tzinfo=UTC)
    except ValueError as err:
        raise DatestampError(f"not a valid date/time: {value!r} ({err})") from None
    if zone and zone not in "Zz":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        try:
            moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        except OverflowError:
            raise DatestampError(f"datestamp out of range: {value!r}") from None
    return moment


def normalize_granularity(granularity: str) -> str:
    """``DAY`` or ``SECONDS`` for any spelling of them ("yyyy-mm-ddThh:mm:ssZ", " YYYY-MM-DD ")."""
    folded = granularity.strip().upper()
    for known in GRANULARITIES:
        if folded == known.upper():
            return known
    raise DatestampError(
        f"unknown OAI-PMH granularity {granularity!r}; expected {DAY!r} or {SECONDS!r}")


def granularity_of(datestamp: str) -> str:
    """The granularity a datestamp is written in (``DAY`` or ``SECONDS``)."""
    parse_datestamp(datestamp)  # raises for anything else
    return DAY if len(datestamp.strip()) == 10 else SECONDS


def format_datestamp(moment: datetime | date, granularity: str = SECONDS) -> str:
    """``moment`` written in ``granularity``; a naive datetime is taken to be UTC already."""
    granularity = normalize_granularity(granularity)
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        day = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        if granularity == DAY:
            return day
        return f"{day}T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    day = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    return day if granularity == DAY else f"{day}T00:00:00Z"


def next_from(response_date: str, granularity: str, overlap: timedelta) -> str:
    """The ``from`` of the next incremental harvest: the server's responseDate minus ``overlap``.

    Written in the server's granularity; with day granularity that is the date of
    (responseDate - overlap), so a whole day is harvested again rather than a second lost.
    """
    if overlap < timedelta(0):
        raise ValueError(f"overlap must not be negative, got {overlap}")
    try:
        start = parse_datestamp(response_date) - overlap
    except OverflowError:
        raise DatestampError(
            f"responseDate {response_date!r} minus {overlap} is before year 1") from None
    return format_datestamp(start, granularity)
