"""Copyright compliance for copies of journal articles: CCG or CCL, and the rule of five.

US practice (CONTU guidelines, the "rule of five"): per borrowing library, per journal title and
per calendar year, at most five copies of articles published within the five years before the
request may be obtained without permission — those are counted under **CCG** (Copyright
Compliance Guidelines). A copy is **CCL** (Copyright Compliance Law, 17 U.S.C. §108) instead when
the borrower subscribes to the title, or the article is older than five years; CCL copies are not
counted. The sixth CCG copy needs a staff decision: pay a royalty (or get permission) or refuse.
"""

from __future__ import annotations

from dataclasses import dataclass

CCG_LIMIT = 5
RECENT_YEARS = 5


@dataclass(frozen=True, slots=True)
class CopyrightClass:
    category: str               # CCG | CCL
    ordinal: int | None         # the n-th CCG copy of this title this year (None for CCL)
    needs_decision: bool        # beyond the rule of five: staff must decide
    reason: str


def classify_copy(request_year: int, published_year: int | None, *, borrower_subscribes: bool,
                  ccg_so_far: int) -> CopyrightClass:
    """Classify one copy request. ``ccg_so_far``: CCG copies of this title this year already."""
    if borrower_subscribes:
        return CopyrightClass("CCL", None, False, "the borrowing library subscribes to the title")
    if published_year is None:
        # unknown age: count it (the cautious reading) and say why
        ordinal = ccg_so_far + 1
        return CopyrightClass("CCG", ordinal, ordinal > CCG_LIMIT,
                              "publication year unknown: counted under the guidelines")
    if request_year - published_year > RECENT_YEARS:
        return CopyrightClass("CCL", None, False,
                              f"published {published_year}, more than {RECENT_YEARS} years "
                              f"before {request_year}")
    ordinal = ccg_so_far + 1
    if ordinal > CCG_LIMIT:
        return CopyrightClass("CCG", ordinal, True,
                              f"copy #{ordinal} of this title in {request_year}: beyond the "
                              f"rule of five, pay a royalty or refuse")
    return CopyrightClass("CCG", ordinal, False,
                          f"copy #{ordinal} of {CCG_LIMIT} allowed for this title in {request_year}")
