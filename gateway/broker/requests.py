"""Making a request: what is asked for, its rota, duplicate and copyright holds.

``POST /api/ill/requests`` takes a cluster id of the union index, or bibliographic data (title,
author, ISBN/ISSN/OCLC, article title, year, volume, issue, pages), or an OpenURL 1.0 query
string; a service type (Loan, Copy), a patron reference and a needed-by date. The rota is
built and stored (with each lender's reason, and the members left off with theirs) before
anything is sent; a request nobody may fill is ``no-lenders`` and says why per member.

A request waits for staff (``held``) when it looks like a duplicate (the same patron, item and
service within ``ill_duplicate_days``) or when it is a copy beyond the copyright rule of five;
the borrower's ``Confirm`` action sends it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from config.settings import Settings
from gateway import copyright, eresources
from gateway.broker import flow
from gateway.broker.candidates import find_cluster, is_article_copy, plan_rota
from gateway.broker.state import audit_only, change, refused_audit
from gateway.registry import RegistryError, member_id
from gateway.security.tokens import Principal
from gateway.store import Store
from gateway.store.schema import clusters, ill_requests, ill_rota, members
from protocols.identifiers import fold_text, normalize_isbn, normalize_issn, normalize_oclc
from protocols.iso18626.confirm import confirm
from protocols.iso18626.errors import UnrecognisedDataValue
from protocols.openurl import OpenUrlError, parse_openurl
from protocols.union import UnionRecord

if TYPE_CHECKING:
    from gateway.broker.engine import Broker
    from protocols.iso18626 import model as m

SERVICE_TYPES = ("Loan", "Copy")
CITATION_FIELDS = ("genre", "title", "article_title", "author", "isbns", "issns",
                   "oclc_numbers", "doi", "pmid", "year", "volume", "issue", "pages",
                   "publisher")


def _listed(body: dict, *names: str) -> list[str]:
    found: list[str] = []
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        found += [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return found


def citation_from_fields(body: dict) -> dict[str, Any]:
    citation: dict[str, Any] = {"genre": body.get("genre") or "unknown"}
    for name in ("title", "article_title", "author", "volume", "issue", "pages", "publisher",
                 "doi"):
        if body.get(name):
            citation[name] = str(body[name])
    for key, names, normalize in (("isbns", ("isbn", "isbns"), normalize_isbn),
                                  ("issns", ("issn", "issns"), normalize_issn),
                                  ("oclc_numbers", ("oclc", "oclc_numbers"), normalize_oclc)):
        values = []
        for raw in _listed(body, *names):
            value = normalize(raw)
            if value is None:
                raise RegistryError(f"{names[0]} {raw!r} is not valid")
            values.append(value)
        citation[key] = list(dict.fromkeys(values))
    if body.get("year") not in (None, ""):
        try:
            citation["year"] = int(body["year"])
        except (TypeError, ValueError):
            raise RegistryError(f"year {body['year']!r} is not a year") from None
    if citation.get("article_title") and citation["genre"] == "unknown":
        citation["genre"] = "article" if citation["issns"] else "bookitem"
    if not (citation.get("title") or citation.get("article_title") or citation["isbns"]
            or citation["issns"] or citation["oclc_numbers"]):
        raise RegistryError("say what is asked for: cluster_id, openurl, or title / isbn / "
                            "issn / oclc")
    return citation


def citation_from_cluster(merged: dict[str, Any]) -> dict[str, Any]:
    union = UnionRecord.from_dict(merged) if merged else None
    if union is None:
        return {"genre": "book"}
    return {"genre": "journal" if union.format == "serial" else "book",
            "title": union.title, "author": union.authors[0] if union.authors else None,
            "isbns": union.isbns, "issns": union.issns, "oclc_numbers": union.oclc_numbers,
            "year": union.year, "publisher": union.publisher}


def item_key(cluster_id: int | None, citation: dict[str, Any]) -> str:
    part = ":".join(str(citation.get(k) or "") for k in ("volume", "issue", "pages")) \
        if citation.get("article_title") else ""
    if cluster_id is not None:
        base = f"cluster:{cluster_id}"
    else:
        ids = citation.get("isbns") or citation.get("issns") or citation.get("oclc_numbers")
        base = f"id:{ids[0]}" if ids else \
            "title:" + fold_text(citation.get("title") or citation.get("article_title"))[:120]
    if citation.get("article_title"):
        base += "|" + fold_text(citation["article_title"])[:60] + "|" + part
    return base[:255]


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise RegistryError(f"needed_by {value!r} is not a date (YYYY-MM-DD)") from None


async def create(store: Store, settings: Settings, principal: Principal, body: dict[str, Any],
                 *, now: datetime, ref: str | None = None) -> tuple[int, str]:
    """Store a new request with its rota; returns (id, state). Sending is the caller's."""
    requester = principal.member or body.get("requester")
    if not requester:
        raise RegistryError("the consortium office must name the borrowing member: requester")
    if principal.member is not None and body.get("requester") not in (None, principal.member):
        raise RegistryError(f"your token acts for {principal.member}, not "
                            f"{body.get('requester')!r}")
    service_type = body.get("service_type") or "Loan"
    if service_type not in SERVICE_TYPES:
        raise RegistryError(f"service_type {service_type!r}; expected one of "
                            f"{', '.join(SERVICE_TYPES)}")
    accept_print = bool(body.get("accept_print"))
    needed_by = _date(body.get("needed_by"))
    patron = str(body["patron_ref"]) if body.get("patron_ref") else None
    cluster_id = body.get("cluster_id")
    async with store.connect() as conn:
        requester_id = await member_id(conn, requester)
        if cluster_id is not None:
            merged = await conn.scalar(sa.select(clusters.c.merged).where(
                clusters.c.id == int(cluster_id)))
            if merged is None:
                raise RegistryError(f"no cluster {cluster_id!r} in the union index")
            citation = citation_from_cluster(merged)
            # what staff add to a work of the index: the part they want (chapter, pages)
            citation.update({k: str(body[k]) for k in ("article_title", "volume", "issue",
                                                       "pages") if body.get(k)})
        elif body.get("openurl"):
            try:
                parsed = parse_openurl(str(body["openurl"]))
            except OpenUrlError as exc:
                raise RegistryError(f"openurl: {exc}") from None
            citation = {k: v for k, v in dataclasses.asdict(parsed).items()
                        if k in CITATION_FIELDS}
        else:
            citation = citation_from_fields(body)
        if cluster_id is None:
            cluster_id = await find_cluster(conn, citation)
        plan = await plan_rota(conn, requester=requester, service_type=service_type,
                               cluster_id=cluster_id, citation=citation,
                               accept_print=accept_print, now=now,
                               stats_days=settings.ill_stats_days)
        ids = dict((await conn.execute(sa.select(members.c.code, members.c.id).where(
            members.c.code.in_(plan.rota.members)))).all()) if plan.rota.entries else {}
    key = item_key(cluster_id, citation)
    ref = ref or new_ref()
    for attempt in range(20):
        try:
            async with store.begin() as conn:
                request_id = (await conn.execute(ill_requests.insert().values(
                    ref=ref, requester_id=requester_id, cluster_id=cluster_id,
                    service_type=service_type, citation=citation, item_key=key,
                    patron_ref=patron, needed_by=needed_by, accept_print=accept_print,
                    state="new", holds=[], position=0, txn={},
                    excluded=[{"member": mem, "reason": why} for mem, why in plan.rota.excluded],
                    created_at=now, updated_at=now).returning(ill_requests.c.id))).scalar_one()
                if plan.rota.entries:
                    await conn.execute(ill_rota.insert(), [
                        {"request_id": request_id, "position": e.position,
                         "member_id": ids[e.member],
                         "reason": e.reason, "term": plan.terms.get(e.member),
                         "outcome": "waiting"} for e in plan.rota.entries])
                holds = await _holds(conn, settings, request_id, requester_id, requester,
                                     patron, key, service_type, citation, body, ref, now,
                                     has_lenders=bool(plan.rota.entries))
                state = "no-lenders" if not plan.rota.entries else \
                    "held" if holds else "in-progress"
                await conn.execute(ill_requests.update().where(ill_requests.c.id == request_id)
                                   .values(state="new" if state == "in-progress" else state,
                                           holds=holds))
            return request_id, state
        except sa.exc.OperationalError as exc:       # SQLite busy under concurrent writers
            if "locked" not in str(exc):
                raise
            await _pause(attempt)
    raise RuntimeError("could not store the ILL request: the database stayed busy")


def new_ref() -> str:
    """A request id LibGate gives a request made through the API."""
    return "LG-" + secrets.token_hex(6).upper()


async def _pause(attempt: int) -> None:
    await asyncio.sleep(0.005 * (attempt + 1))


async def _holds(conn, settings: Settings, request_id: int, requester_id: int, requester: str,
                 patron: str | None, key: str, service_type: str, citation: dict,
                 body: dict, ref: str, now: datetime, *,
                 has_lenders: bool = True) -> list[dict[str, Any]]:
    holds: list[dict[str, Any]] = []
    if patron:
        since = now - timedelta(days=settings.ill_duplicate_days)
        earlier = (await conn.execute(sa.select(ill_requests.c.ref).where(
            (ill_requests.c.requester_id == requester_id) & (ill_requests.c.patron_ref == patron)
            & (ill_requests.c.item_key == key) & (ill_requests.c.service_type == service_type)
            & (ill_requests.c.created_at >= since) & (ill_requests.c.id != request_id)
            & (ill_requests.c.state != "cancelled")).order_by(ill_requests.c.id))).scalars().all()
        if earlier:
            holds.append({"kind": "duplicate", "of": list(earlier),
                          "reason": f"patron {patron} asked for the same item "
                                    f"({service_type}) in request(s) {', '.join(earlier)} "
                                    f"within {settings.ill_duplicate_days:g} days"})
    # a copy nobody may supply is not a copy obtained: it does not count towards the five
    if has_lenders and is_article_copy(service_type, citation) and (
            citation.get("issns") or citation.get("title")):
        # the borrower's own current e-holdings of the title make it CCL (it subscribes)
        subscribed = bool(body.get("borrower_subscribes")) or await eresources.subscribes(
            conn, requester, citation.get("issns", []), today=now.date())
        entry, verdict = await copyright.record_copy(
            conn, requester, issns=citation.get("issns", []), journal_title=citation.get("title"),
            published_year=citation.get("year"), borrower_subscribes=subscribed,
            request_ref=ref, today=now)
        if verdict.needs_decision:
            holds.append({"kind": "copyright", "entry": entry, "category": verdict.category,
                          "ordinal": verdict.ordinal, "reason": verdict.reason})
    return holds


def _year(publication_date: str | None) -> int | None:
    """The year of an ISO 18626 publicationDate ('2024', '2024-03', '2024-03-15')."""
    digits = (publication_date or "").strip()[:4]
    return int(digits) if len(digits) == 4 and digits.isdigit() else None


async def receive_request(broker: Broker, message: m.Request, raw: bytes, verdict: str,
                          now: datetime, signed_by: Any = None) -> m.Confirmation:
    """A borrower's own ILL system asks the consortium (supplier: LibGate or none)."""
    header, bib = message.header, message.bibliographic_info
    requester = header.requesting_agency_id.value if header.requesting_agency_id else None
    ids = {"isbn": [], "issn": [], "oclc": []}
    for item in bib.bibliographic_item_ids:
        code = item.code.value.lower()
        if code in ("isbn", "issn"):
            ids[code].append(item.identifier)
    for record in bib.bibliographic_record_ids:
        if record.code.value.lower() == "oclc":
            ids["oclc"].append(record.identifier)
    body = {"requester": requester, "title": bib.title, "author": bib.author,
            "article_title": bib.title_of_component, "isbn": ids["isbn"], "issn": ids["issn"],
            "oclc": ids["oclc"], "volume": bib.volume[0] if bib.volume else None,
            "issue": bib.issue, "pages": bib.pages_requested,
            # a Copy of an article is routed by coverage and embargo: the year is needed
            "year": _year(message.publication_info.publication_date
                          if message.publication_info else None),
            "service_type": message.service_info.service_type.value
            if message.service_info and message.service_info.service_type.value in SERVICE_TYPES
            else "Loan",
            "patron_ref": message.patron_info.patron_id if message.patron_info else None}
    try:
        async with broker.store.connect() as conn:
            mid = await member_id(conn, requester or "")
        request_id, state = await create(
            broker.store, broker.settings, Principal(role="staff", member=requester, member_id=mid),
            body, now=now, ref=header.requesting_agency_request_id)
    except (RegistryError, sa.exc.IntegrityError) as exc:
        error = UnrecognisedDataValue(f"request: {str(exc).splitlines()[0]}")
        answer = confirm(message, error=error, now=now)
        await audit_only(broker.store, refused_audit(message, raw, verdict, now, answer, error),
                         nonce=signed_by)
        return answer
    answer = confirm(message, now=now)

    def decide(d):
        d.audit(direction="in", peer=d.requester, message=message, raw=raw, signature=verdict,
                outcome=f"new request, {state}", answer=None)
        if state == "in-progress":
            flow.start(d)

    _, draft = await change(broker.store, request_id, now, decide, nonce=signed_by)
    await broker.after(draft, wait=False)
    return answer
