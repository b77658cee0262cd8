"""The ISO 18626 messages the broker writes, and their audit form.

LibGate speaks for the borrowing member towards lenders (``requestingAgencyId`` = the
borrower's code, ``requestingAgencyRequestId`` = the request's ``ref``, the same towards every
lender of the rota) and, for members served entirely inside LibGate, for the lender towards the
borrower. Agency ids are member codes with the type ``ISIL``.

The audit keeps each message's raw XML and a JSON form of it; authentication data
(``securityCode``, ``accountId``) is redacted from both before anything is stored.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from protocols.iso18626 import model as m
from protocols.iso18626.codes import (
    Action, CodedValue, ReasonForMessage, RequestType, ServiceType, Status, Version, YesNo,
)

AGENCY_TYPE = CodedValue("ISIL")
_SECRET_ELEMENTS = re.compile(
    rb"(<(?:[\w-]+:)?(?:securityCode|accountId)\b[^>]*>)[^<]*(</)", re.IGNORECASE)
_SECRET_FIELDS = {"security_code", "account_id"}


def agency(code: str) -> m.AgencyId:
    return m.AgencyId(type=AGENCY_TYPE, value=code)


def header(*, requester: str, supplier: str, ref: str, now: datetime,
           version: Version = Version.V1_2) -> m.Header:
    return m.Header(
        supplying_agency_id=agency(supplier), requesting_agency_id=agency(requester),
        multiple_item_request_id="" if version is Version.V1_2 else None,
        timestamp=now, requesting_agency_request_id=ref)


def bibliographic_info(citation: dict[str, Any]) -> m.BibliographicInfo:
    ids = tuple(
        [m.BibliographicItemId(identifier=v, code=CodedValue("ISBN")) for v in citation.get("isbns", [])]
        + [m.BibliographicItemId(identifier=v, code=CodedValue("ISSN")) for v in citation.get("issns", [])])
    records = tuple(m.BibliographicRecordId(code=CodedValue("OCLC"), identifier=v)
                    for v in citation.get("oclc_numbers", []))
    return m.BibliographicInfo(
        title=citation.get("title") or citation.get("article_title") or "(untitled)",
        author=citation.get("author"),
        title_of_component=citation.get("article_title") if citation.get("title") else None,
        volume=(str(citation["volume"]),) if citation.get("volume") else (),
        issue=str(citation["issue"]) if citation.get("issue") else None,
        pages_requested=citation.get("pages"),
        bibliographic_item_ids=ids, bibliographic_record_ids=records)


def request_message(row: Any, requester: str, supplier: str, now: datetime,
                    version: Version = Version.V1_2, position: int = 1) -> m.Request:
    citation = row.citation
    needed = row.needed_by
    return m.Request(
        version=version,
        header=header(requester=requester, supplier=supplier, ref=row.ref, now=now,
                      version=version),
        bibliographic_info=bibliographic_info(citation),
        publication_info=m.PublicationInfo(
            publication_date=str(citation["year"]) if citation.get("year") else None,
            publisher=citation.get("publisher")) if citation.get("year") or citation.get(
            "publisher") else None,
        service_info=m.ServiceInfo(
            request_type=RequestType.NEW if position == 1 else RequestType.RETRY,
            service_type=ServiceType(row.service_type),
            need_before_date=datetime(needed.year, needed.month, needed.day, tzinfo=UTC)
            if isinstance(needed, date) else None),
        patron_info=m.PatronInfo(patron_id=row.patron_ref) if row.patron_ref else None)


def supplying_message(*, requester: str, supplier: str, ref: str, now: datetime,
                      status: Status, reason: ReasonForMessage = ReasonForMessage.STATUS_CHANGE,
                      answer: YesNo | None = None, note: str | None = None,
                      reason_unfilled: str | None = None, due_date: datetime | None = None,
                      conditions: tuple[str, ...] = (), url: str | None = None,
                      version: Version = Version.V1_2) -> m.SupplyingAgencyMessage:
    delivery = None
    if status in (Status.LOANED, Status.COPY_COMPLETED) or conditions:
        delivery = m.DeliveryInfo(
            date_sent=now,
            url=url if version is Version.V2021_2 else None,
            loan_conditions=tuple(CodedValue(c) for c in conditions[:1 if version is Version.V1_2
                                                                     else None]))
    return m.SupplyingAgencyMessage(
        version=version,
        header=header(requester=requester, supplier=supplier, ref=ref, now=now, version=version),
        message_info=m.MessageInfo(
            reason_for_message=reason, answer_yes_no=answer, note=note,
            reason_unfilled=CodedValue(reason_unfilled) if reason_unfilled else None),
        status_info=m.StatusInfo(status=status, due_date=due_date, last_change=now),
        delivery_info=delivery)


def requesting_message(*, requester: str, supplier: str, ref: str, now: datetime,
                       action: Action, note: str | None = None,
                       version: Version = Version.V1_2) -> m.RequestingAgencyMessage:
    return m.RequestingAgencyMessage(
        version=version,
        header=header(requester=requester, supplier=supplier, ref=ref, now=now, version=version),
        action=action, note=note)


def redact_raw(raw: bytes) -> str:
    """The raw XML as stored: authentication values replaced, undecodable bytes escaped."""
    return _SECRET_ELEMENTS.sub(rb"\1[redacted]\2", raw).decode("utf-8", errors="replace")


def to_json(value: Any) -> Any:
    """A message as JSON (field names as in ``model``), authentication values redacted."""
    cls = type(value)
    if cls in _SCALARS:
        return value
    if isinstance(value, CodedValue):
        return str(value)
    shape = _DATACLASS_SHAPES.get(cls)
    if shape is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        shape = _DATACLASS_SHAPES[cls] = _shape(cls)
    if shape is not None:                 # every message is audited: no per-call fields()
        kind, names = shape
        out = {"message": value.kind.value} if kind else {}
        for name in names:
            item = getattr(value, name)
            if item is None or item == ():
                continue
            out[name] = "[redacted]" if name in _SECRET_FIELDS else to_json(item)
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


_SCALARS = frozenset({str, int, float, bool, type(None)})
_DATACLASS_SHAPES: dict[type, tuple[bool, tuple[str, ...]]] = {}


def _shape(cls: type) -> tuple[bool, tuple[str, ...]]:
    """Whether a message class carries its kind (a class-level Enum), and its field names."""
    return (isinstance(getattr(cls, "kind", None), Enum),
            tuple(f.name for f in dataclasses.fields(cls)))
