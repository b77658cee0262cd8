"""The rota: which lenders a request goes to, in which order, and why. Pure: no I/O.

Who is on it: the holders of the cluster whose copy lends (or, for Copy requests, whose licence
allows it), whose service status admits the service (``closed``: nothing; ``digital-only``: Copy
only), who are not the requester and whose policy offers the service type.

The order is one documented sort key, most important first:

1. **service status**: ``open`` before ``limited`` / ``digital-only``;
2. **load balance** (as ReShare does): the lender's ratio of loans made to requests it borrowed
   over the statistics window, rounded to 0.1 — members that lend more than they borrow move
   down, so the work spreads;
3. **speed** (as OCLC does): the median turnaround of the lender's past fills, in whole hours
   (a lender without history counts as the consortium median);
4. a stable tie-break: the member code.

Each entry keeps the reason for its position, shown to staff and stored with the rota.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

SERVICE_TYPES = ("Loan", "Copy")
STATUS_RANK = {"open": 0, "limited": 1, "digital-only": 1}
DEFAULT_TURNAROUND_HOURS = 72.0


@dataclass(slots=True)
class Candidate:
    """A member holding the item, with what the rota needs to know about it."""

    member: str
    status: str = "open"                     # open | limited | closed | digital-only
    lendable: bool = True                    # a copy that lends (Loan) / licence allows (Copy)
    services: tuple[str, ...] = SERVICE_TYPES  # the member's lending policy
    loans_made: int = 0                      # over the statistics window
    requests_borrowed: int = 0
    median_turnaround_hours: float | None = None
    note: str | None = None                  # e.g. the licence term that allowed a copy


@dataclass(slots=True, frozen=True)
class RotaEntry:
    position: int
    member: str
    sort_key: tuple
    reason: str


@dataclass(slots=True)
class Rota:
    entries: list[RotaEntry] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)   # (member, why not)

    @property
    def members(self) -> list[str]:
        return [e.member for e in self.entries]

    def to_json(self) -> dict:
        return {"entries": [{"position": e.position, "member": e.member, "reason": e.reason}
                            for e in self.entries],
                "excluded": [{"member": m, "reason": r} for m, r in self.excluded]}


def load_ratio(candidate: Candidate) -> float:
    return candidate.loans_made / max(candidate.requests_borrowed, 1)


def build_rota(candidates: list[Candidate], *, requester: str, service_type: str) -> Rota:
    if service_type not in SERVICE_TYPES:
        raise ValueError(f"service type {service_type!r}; expected one of {SERVICE_TYPES}")
    rota = Rota()
    eligible: list[Candidate] = []
    seen: set[str] = set()
    for c in candidates:
        if c.member in seen:
            continue
        seen.add(c.member)
        why_not = _exclusion(c, requester, service_type)
        if why_not:
            rota.excluded.append((c.member, why_not))
        else:
            eligible.append(c)
    known = [c.median_turnaround_hours for c in eligible if c.median_turnaround_hours is not None]
    typical = statistics.median(known) if known else DEFAULT_TURNAROUND_HOURS
    keyed = []
    for c in eligible:
        hours = c.median_turnaround_hours if c.median_turnaround_hours is not None else typical
        key = (STATUS_RANK[c.status], round(load_ratio(c), 1), round(hours), c.member)
        keyed.append((key, c, hours))
    keyed.sort(key=lambda item: item[0])
    for position, (key, c, hours) in enumerate(keyed, start=1):
        turnaround = (f"median turnaround {hours:.0f} h" if c.median_turnaround_hours is not None
                      else f"no fills yet (counted as the median, {hours:.0f} h)")
        reason = (f"{c.status}; lent {c.loans_made} / borrowed {c.requests_borrowed} "
                  f"(ratio {load_ratio(c):.1f}); {turnaround}" + (f"; {c.note}" if c.note else ""))
        rota.entries.append(RotaEntry(position, c.member, key, reason))
    return rota


def _exclusion(c: Candidate, requester: str, service_type: str) -> str | None:
    if c.member.casefold() == requester.casefold():
        return "the requester itself"
    if c.status == "closed":
        return "closed"
    if c.status == "digital-only" and service_type != "Copy":
        return "digital-only: takes Copy requests only"
    if c.status not in STATUS_RANK:
        return f"unknown service status {c.status!r}"
    if service_type not in c.services:
        return f"its policy offers no {service_type}"
    if not c.lendable:
        return c.note or ("no copy that lends" if service_type == "Loan"
                          else "no licence that allows a copy")
    return None
