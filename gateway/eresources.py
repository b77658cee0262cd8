"""Members' e-resource holdings and licences, and who may supply a copy of what.

``load_kbart`` replaces a member's package with the good lines of a KBART file (bad lines are
reported, the rest loads); ``load_licences`` replaces the member's licences with a licence file's.
``copy_lenders`` answers the copy-routing question for one citation: per member, is the item
covered (dates, volume/issue, embargo) and does the licence allow electronic, secure-electronic
or (if accepted) print ILL — with the reason either way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.registry import member_id
from gateway.store.schema import eresource_identifiers, eresource_titles, licences, members
from protocols.eresources.coverage import Citation, Coverage, covers
from protocols.eresources.kbart import KbartProblem, parse_kbart
from protocols.eresources.licence import (
    Licence,
    LicenceVerdict,
    TermValue,
    copy_permission,
    parse_licences,
)


@dataclass(slots=True)
class LoadReport:
    member: str
    package: str | None
    loaded: int = 0
    problems: list[KbartProblem] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"member": self.member, "package": self.package, "loaded": self.loaded,
                "problems": [{"line": p.line, "column": p.column, "value": p.value,
                              "message": p.message} for p in self.problems]}


def _coverage_json(title) -> dict:
    raw = title.raw
    keys = ("date_first_issue_online", "num_first_vol_online", "num_first_issue_online",
            "date_last_issue_online", "num_last_vol_online", "num_last_issue_online",
            "embargo_info", "coverage_depth")
    return {k: raw.get(k) or None for k in keys}


def coverage_from_json(data: dict) -> Coverage:
    return Coverage.from_kbart({k: v or "" for k, v in data.items()})


async def load_kbart(conn: AsyncConnection, member: str, package: str, text: str) -> LoadReport:
    """Replace ``member``'s ``package`` with the file's good lines (a file with none keeps
    the old package: a wrong file must not wipe a member's e-holdings)."""
    mid = await member_id(conn, member)
    parsed = parse_kbart(text)
    report = LoadReport(member, package, problems=parsed.problems)
    if not parsed.titles:
        return report
    await conn.execute(eresource_titles.delete().where(
        (eresource_titles.c.member_id == mid) & (eresource_titles.c.package == package)))
    stamp = datetime.now(UTC)
    result = await conn.execute(
        eresource_titles.insert().returning(eresource_titles.c.id, sort_by_parameter_order=True),
        [{"member_id": mid, "package": package, "title": t.title,
          "publication_type": t.publication_type, "coverage": _coverage_json(t),
          "title_url": t.title_url, "line": t.line, "loaded_at": stamp}
         for t in parsed.titles])
    ids = result.scalars().all()
    rows = [{"title_id": tid, "value": value}
            for tid, t in zip(ids, parsed.titles, strict=True)
            for value in dict.fromkeys(t.issns + t.isbns)]
    if rows:
        await conn.execute(eresource_identifiers.insert(), rows)
    report.loaded = len(parsed.titles)
    return report


async def load_licences(conn: AsyncConnection, member: str, text: str,
                        source: str = "licence file") -> int:
    """Replace ``member``'s licences with those of the file (LicenceError names a bad one)."""
    mid = await member_id(conn, member)
    parsed = parse_licences(text, source)
    await conn.execute(licences.delete().where(licences.c.member_id == mid))
    stamp = datetime.now(UTC)
    await conn.execute(licences.insert(), [
        {"member_id": mid, "package": lic.package, "title_identifier": lic.title,
         "terms": {k: v.value for k, v in lic.terms.items()},
         "emergency_from": lic.emergency_from, "emergency_until": lic.emergency_until,
         "note": lic.note, "loaded_at": stamp} for lic in parsed])
    return len(parsed)


def _licence(row) -> Licence:
    return Licence(package=row.package, title=row.title_identifier,
                   terms={k: TermValue(v) for k, v in row.terms.items()},
                   emergency_from=row.emergency_from, emergency_until=row.emergency_until,
                   note=row.note)


@dataclass(slots=True)
class CopyVerdict:
    member: str
    allowed: bool
    reason: str
    term: str | None = None          # the licence term (or emergency opening) that allowed it
    title: str | None = None
    package: str | None = None


async def copy_lenders(conn: AsyncConnection, identifiers: list[str], citation: Citation,
                       *, today: dt.date, accept_print: bool = False) -> list[CopyVerdict]:
    """For every member holding the title electronically: may it supply this copy?"""
    if not identifiers:
        return []
    rows = (await conn.execute(
        sa.select(eresource_titles, members.c.code).distinct()
        .join(members, members.c.id == eresource_titles.c.member_id)
        .join(eresource_identifiers, eresource_identifiers.c.title_id == eresource_titles.c.id)
        .where(eresource_identifiers.c.value.in_(identifiers))
        .order_by(members.c.code, eresource_titles.c.id))).all()
    member_ids = {r.member_id for r in rows}
    licence_rows = (await conn.execute(sa.select(licences).where(
        licences.c.member_id.in_(member_ids)))).all() if member_ids else []
    verdicts: dict[str, CopyVerdict] = {}
    for row in rows:
        covered, why = covers(coverage_from_json(row.coverage), citation, today)
        if not covered:
            verdict = CopyVerdict(row.code, False, f"{row.package}: {why}", title=row.title,
                                  package=row.package)
        else:
            licence = _best_licence(licence_rows, row.member_id, row.package, identifiers)
            said: LicenceVerdict = copy_permission(licence, today, accept_print=accept_print)
            verdict = CopyVerdict(row.code, said.allowed, f"{row.package}: {said.reason}",
                                  term=said.term, title=row.title, package=row.package)
        # a member with several packages: one that allows is enough
        if row.code not in verdicts or (verdict.allowed and not verdicts[row.code].allowed):
            verdicts[row.code] = verdict
    return list(verdicts.values())


async def subscribes(conn: AsyncConnection, member: str, identifiers: list[str], *,
                     today: dt.date) -> bool:
    """Whether ``member`` holds the title as a current e-resource (coverage running to the
    present or into this year) — a subscriber's copies are CCL, not counted under the rule of
    five."""
    if not identifiers:
        return False
    rows = (await conn.execute(
        sa.select(eresource_titles.c.coverage)
        .join(members, members.c.id == eresource_titles.c.member_id)
        .join(eresource_identifiers, eresource_identifiers.c.title_id == eresource_titles.c.id)
        .where((members.c.code == member)
               & eresource_identifiers.c.value.in_(identifiers)))).scalars().all()
    for coverage in rows:
        last = coverage_from_json(coverage).last_date
        if last is None or last.year >= today.year:
            return True
    return False


def _best_licence(rows, mid: int, package: str, identifiers: list[str]) -> Licence | None:
    own = [r for r in rows if r.member_id == mid]
    for r in own:                                 # a title's own terms win over its package's
        if r.title_identifier and r.title_identifier in identifiers:
            return _licence(r)
    for r in own:
        if r.package == package and not r.title_identifier:
            return _licence(r)
    return None
