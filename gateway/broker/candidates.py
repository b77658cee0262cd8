"""Who may be asked: the rota's candidates read from the store, then ordered by ``rota``.

* **Loan** (and Copy of a whole print item): the members holding a record of the cluster. A
  holder lends when one of its holdings is lendable and it has a print copy not blocked by an
  emergency digital checkout (``etas.copies_available_for_loan``).
* **Copy of an article or chapter** (journal ISSN or ISBN with year/volume/issue/pages, issue
  6): the members whose e-resource coverage includes the citation **and** whose licence allows
  electronic or secure-electronic ILL (print when the requester accepts it); the licence term
  that allowed each lender is kept with its rota entry (``eresources.copy_lenders``).

Everything else ``rota.build_rota`` decides: service status of the day (closed: nothing,
digital-only: Copy only), the member's lending policy, the requester itself, and the order.
The statistics it orders by (lent / borrowed over ``ill_stats_days``, median turnaround of
past fills) come from the broker's own tables.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway import eresources
from gateway.broker.rota import Candidate, Rota, build_rota
from gateway.etas import copies_available_for_loan
from gateway.policy import LendingPolicy
from gateway.posture import effective_statuses
from gateway.store.schema import (
    cluster_records, holdings, ill_requests, ill_rota, match_keys, members,
)
from protocols.eresources.coverage import Citation as CoverageCitation
from protocols.eresources.coverage import number_prefix


@dataclass(slots=True)
class Plan:
    """A rota and, per member, the licence term that let it supply a copy."""

    rota: Rota
    terms: dict[str, str] = field(default_factory=dict)


async def find_cluster(conn: AsyncConnection, citation: dict) -> int | None:
    """The cluster whose records share an identifier with the citation (most records first)."""
    values = [*citation.get("isbns", []), *citation.get("issns", []),
              *citation.get("oclc_numbers", [])]
    if not values:
        return None
    return await conn.scalar(
        sa.select(cluster_records.c.cluster_id)
        .select_from(match_keys.join(cluster_records,
                                     cluster_records.c.record_id == match_keys.c.record_id))
        .where(match_keys.c.value.in_(values))
        .group_by(cluster_records.c.cluster_id)
        .order_by(sa.func.count().desc(), cluster_records.c.cluster_id).limit(1))


def is_article_copy(service_type: str, citation: dict) -> bool:
    part = citation.get("genre") in ("article", "bookitem", "preprint") or bool(
        citation.get("article_title"))
    return service_type == "Copy" and part and bool(citation.get("issns") or citation.get("isbns"))


async def plan_rota(conn: AsyncConnection, *, requester: str, service_type: str,
                    cluster_id: int | None, citation: dict, accept_print: bool,
                    now: datetime, stats_days: float) -> Plan:
    terms: dict[str, str] = {}
    # a journal article (or a part of a book nobody holds in print here): licensed e-copies
    if is_article_copy(service_type, citation) and (citation.get("issns") or cluster_id is None):
        candidates = await _licensed_candidates(conn, citation, accept_print, now, terms)
    elif cluster_id is not None:
        candidates = await _holder_candidates(conn, cluster_id, service_type, now)
    else:
        candidates = []
    codes = [c.member for c in candidates]
    if codes:
        statuses = await effective_statuses(conn, now.date(), codes)
        policies = dict((await conn.execute(
            sa.select(members.c.code, members.c.policy).where(members.c.code.in_(codes)))).all())
        stats = await lender_statistics(conn, codes, now - timedelta(days=stats_days))
        for c in candidates:
            c.status = statuses[c.member].status if c.member in statuses else "open"
            c.services = LendingPolicy.from_json(policies.get(c.member),
                                                 f"policy of {c.member}").services
            c.loans_made, c.requests_borrowed, c.median_turnaround_hours = stats.get(
                c.member, (0, 0, None))
    rota = build_rota(candidates, requester=requester, service_type=service_type)
    return Plan(rota, terms)


async def _holder_candidates(conn: AsyncConnection, cluster_id: int, service_type: str,
                             now: datetime) -> list[Candidate]:
    rows = (await conn.execute(
        sa.select(members.c.id, members.c.code,
                  sa.func.max(sa.case((holdings.c.lendable.is_(True), 1), else_=0))
                  .label("lendable"))
        .select_from(cluster_records
                     .join(holdings, holdings.c.record_id == cluster_records.c.record_id)
                     .join(members, members.c.id == holdings.c.member_id))
        .where(cluster_records.c.cluster_id == cluster_id)
        .group_by(members.c.id, members.c.code).order_by(members.c.code))).all()
    candidates = []
    for row in rows:
        lendable, note = bool(row.lendable), None
        if not lendable:
            note = "no copy that lends" if service_type == "Loan" else "no copy that may be copied"
        elif service_type == "Loan" and await copies_available_for_loan(
                conn, row.id, cluster_id, now) == 0:
            lendable, note = False, "every print copy is in use by emergency digital readers"
        candidates.append(Candidate(member=row.code, lendable=lendable, note=note))
    return candidates


async def _licensed_candidates(conn: AsyncConnection, citation: dict, accept_print: bool,
                               now: datetime, terms: dict[str, str]) -> list[Candidate]:
    wanted = CoverageCitation(year=citation.get("year"),
                              volume=number_prefix(citation.get("volume")),
                              issue=number_prefix(citation.get("issue")))
    identifiers = [*citation.get("issns", []), *citation.get("isbns", [])]
    verdicts = await eresources.copy_lenders(conn, identifiers, wanted, today=now.date(),
                                             accept_print=accept_print)
    candidates = []
    for verdict in verdicts:
        if verdict.allowed and verdict.term:
            terms[verdict.member] = verdict.term
        candidates.append(Candidate(member=verdict.member, lendable=verdict.allowed,
                                    note=verdict.reason))
    return candidates


async def lender_statistics(conn: AsyncConnection, codes: list[str], since: datetime
                            ) -> dict[str, tuple[int, int, float | None]]:
    """Per member: (fills made, requests borrowed, median hours from request to fill)."""
    fills = (await conn.execute(
        sa.select(members.c.code, ill_rota.c.sent_at, ill_rota.c.answered_at)
        .select_from(ill_rota.join(members, members.c.id == ill_rota.c.member_id))
        .where(members.c.code.in_(codes) & (ill_rota.c.outcome == "supplied")
               & (ill_rota.c.sent_at >= since)))).all()
    borrowed = dict((await conn.execute(
        sa.select(members.c.code, sa.func.count())
        .select_from(ill_requests.join(members, members.c.id == ill_requests.c.requester_id))
        .where(members.c.code.in_(codes) & (ill_requests.c.created_at >= since))
        .group_by(members.c.code))).all())
    hours: dict[str, list[float]] = {}
    for row in fills:
        if row.sent_at is not None and row.answered_at is not None:
            hours.setdefault(row.code, []).append(
                (row.answered_at - row.sent_at).total_seconds() / 3600)
    made: dict[str, int] = {}
    for row in fills:
        made[row.code] = made.get(row.code, 0) + 1
    return {code: (made.get(code, 0), borrowed.get(code, 0),
                   statistics.median(hours[code]) if hours.get(code) else None)
            for code in codes}
