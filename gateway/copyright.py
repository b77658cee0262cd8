"""Copyright compliance per borrowing member, journal title and calendar year (CCG / CCL).

Every copy of an article supplied to a borrower is classified when the request is made
(``record_copy``) with ``protocols.eresources.copyright.classify_copy``; the sixth CCG copy of a
title in a year is flagged and waits for a staff decision (``decide``: pay a royalty or refuse).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.registry import RegistryError, member_id
from gateway.store.schema import copyright_entries
from protocols.eresources.copyright import CopyrightClass, classify_copy
from protocols.identifiers import fold_text

DECISIONS = ("royalty", "refused")


def title_key(issns: list[str], journal_title: str | None) -> str:
    if issns:
        return issns[0]
    if journal_title:
        return "title:" + fold_text(journal_title)[:200]
    raise RegistryError("a copy needs the journal's ISSN or title for copyright tracking")


async def record_copy(conn: AsyncConnection, borrower: str, *, issns: list[str],
                      journal_title: str | None, published_year: int | None,
                      borrower_subscribes: bool = False, request_ref: str | None = None,
                      today: datetime | None = None) -> tuple[int, CopyrightClass]:
    """Classify and log one copy; returns the entry id and its class."""
    today = today or datetime.now(UTC)
    bid = await member_id(conn, borrower)
    key = title_key(issns, journal_title)
    so_far = await conn.scalar(sa.select(sa.func.count()).select_from(copyright_entries).where(
        (copyright_entries.c.borrower_id == bid) & (copyright_entries.c.title_key == key)
        & (copyright_entries.c.request_year == today.year)
        & (copyright_entries.c.category == "CCG")
        & ((copyright_entries.c.decision.is_(None)) | (copyright_entries.c.decision != "refused"))))
    verdict = classify_copy(today.year, published_year, borrower_subscribes=borrower_subscribes,
                            ccg_so_far=so_far or 0)
    result = await conn.execute(copyright_entries.insert().values(
        borrower_id=bid, title_key=key, journal_title=journal_title, request_year=today.year,
        published_year=published_year, category=verdict.category, ordinal=verdict.ordinal,
        needs_decision=verdict.needs_decision, request_ref=request_ref,
        created_at=today).returning(copyright_entries.c.id))
    return result.scalar_one(), verdict


async def decide(conn: AsyncConnection, entry_id: int, decision: str, *,
                 borrower: str | None = None) -> None:
    """Staff decision on a flagged copy; ``borrower`` scopes it to one member's entries."""
    if decision not in DECISIONS:
        raise RegistryError(f"decision {decision!r}; expected one of {', '.join(DECISIONS)}")
    scope = (copyright_entries.c.id == entry_id) & copyright_entries.c.needs_decision.is_(True)
    if borrower is not None:
        scope &= copyright_entries.c.borrower_id == await member_id(conn, borrower)
    result = await conn.execute(copyright_entries.update().where(scope).values(decision=decision))
    if not result.rowcount:
        raise RegistryError(f"no copy #{entry_id} waiting for a decision")


async def report(conn: AsyncConnection, borrower: str, year: int) -> dict:
    """Counts per title: CCG, CCL, flagged and decided, for one member and year."""
    bid = await member_id(conn, borrower)
    rows = (await conn.execute(sa.select(copyright_entries).where(
        (copyright_entries.c.borrower_id == bid) & (copyright_entries.c.request_year == year))
        .order_by(copyright_entries.c.title_key, copyright_entries.c.id))).all()
    titles: dict[str, dict] = {}
    for row in rows:
        entry = titles.setdefault(row.title_key, {
            "title_key": row.title_key, "journal_title": row.journal_title, "CCG": 0, "CCL": 0,
            "needs_decision": [], "royalty": 0, "refused": 0})
        entry[row.category] += 1
        if row.needs_decision and row.decision is None:
            entry["needs_decision"].append(row.id)
        elif row.decision:
            entry[row.decision] += 1
    return {"member": borrower, "year": year, "titles": list(titles.values()),
            "flagged": sum(len(t["needs_decision"]) for t in titles.values())}
