"""Shared pieces of the ISO 18626 tests: the two XSDs (local files, no network) and messages
that fill every element a version can carry (hand-built: no sample file has them all)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache

import xmlschema

from protocols.iso18626 import model as m
from protocols.iso18626.codes import (
    Action, CodedValue, ErrorType, MessageStatus, PreferredEdition, ReasonForMessage,
    RequestSubType, RequestType, ServiceType, Status, Version, YesNo,
)
from tests.shared_data import require_shared

XSD_FILES = {Version.V1_2: "ISO-18626-v1_2.xsd", Version.V2021_2: "ISO-18626-2021-2.xsd"}
T0 = datetime(2026, 11, 27, 9, 30, 0, 123456, tzinfo=UTC)


@cache
def _schema(version: Version) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(require_shared("specs", XSD_FILES[version])))


def schema(version: Version) -> xmlschema.XMLSchema:
    return _schema(version)


def assert_valid(body: bytes, version: Version) -> None:
    """``body`` validates against the XSD of ``version`` (location hints never followed)."""
    schema(version).validate(body, use_location_hints=False)


def isil(value: str, scheme: str | None = None) -> m.AgencyId:
    return m.AgencyId(type=CodedValue("ISIL", scheme), value=value)


REQUESTER, SUPPLIER, SUPPLIER_B = isil("DE-REQ"), isil("DE-SUP"), isil("DE-SUP-B")


def costs(value: str = "12.50") -> m.Costs:
    return m.Costs(currency_code=CodedValue("EUR", "urn:iso:4217"), monetary_value=Decimal(value))


def physical(version: Version) -> m.PhysicalAddress:
    return m.PhysicalAddress(
        line1="Hauptstr. 1", line2="Etage 2", locality="Kiel", postal_code="24103",
        region=CodedValue("SH", None if version is Version.V2021_2 else "urn:iso:3166-2"),
        country=CodedValue("DE", "urn:iso:3166-1"))


def addresses(version: Version) -> tuple[m.Address, ...]:
    return (m.Address(physical_address=physical(version)),
            m.Address(electronic_address=m.ElectronicAddress(
                type=CodedValue("email"), data="ill@example.org")))


def header(version: Version, kind: str, *, supplier: m.AgencyId = SUPPLIER,
           timestamp: datetime = T0, request_id: str = "req-1") -> m.Header:
    v2021 = version is Version.V2021_2
    auth = m.RequestingAgencyAuthentication(account_id="acct", security_code="s3cret")
    return m.Header(
        supplying_agency_id=supplier, requesting_agency_id=REQUESTER,
        consortial_id=isil("DE-CONS") if v2021 and kind != "supplying" else None,
        multiple_item_request_id=(None if v2021 and kind != "request" else "multi-7"),
        timestamp=timestamp, requesting_agency_request_id=request_id,
        supplying_agency_request_id=None if kind == "request" else "sup-9",
        requesting_agency_authentication=None if kind == "supplying" else auth)


def full_request(version: Version) -> m.Request:
    v2021 = version is Version.V2021_2
    return m.Request(
        version=version, header=header(version, "request"),
        bibliographic_info=m.BibliographicInfo(
            supplier_unique_record_id="(DE-627)1795329181", title="Lord of the Rings",
            author="J.R.R. Tolkien", author_id="0000000121441970" if v2021 else None,
            subtitle="The Fellowship", series_title="LotR", edition="2nd",
            title_of_component="Prologue", author_of_component="JRRT",
            volume=("1", "2") if v2021 else ("1",), issue="3", pages_requested="1-20",
            estimated_no_pages="20",
            bibliographic_item_ids=(
                m.BibliographicItemId(identifier="9780261103252", code=CodedValue("ISBN")),
                m.BibliographicItemId(identifier="0261103253", code=CodedValue("ISBN", "urn:x"))),
            sponsor="DFG", information_source="GVI",
            bibliographic_record_ids=(m.BibliographicRecordId(
                code=CodedValue("OCLC"), identifier="12345"),)),
        publication_info=m.PublicationInfo(
            publisher="Allen & Unwin", publisher_id="0000000404226345" if v2021 else None,
            publication_type=CodedValue("Book"), publication_date="1954",
            place_of_publication="London"),
        service_info=m.ServiceInfo(
            request_type=RequestType.NEW,
            request_sub_types=(RequestSubType.PATRON_REQUEST, RequestSubType.BOOKING_REQUEST),
            requesting_agency_previous_request_id="req-0", service_type=ServiceType.LOAN,
            service_level=CodedValue("Normal"), item_format=CodedValue("Printed"),
            need_before_date=T0 + timedelta(days=30), copyright_compliance=CodedValue("US-CCG"),
            any_edition=YesNo.YES,
            preferred_edition=PreferredEdition.ANY_EDITION if v2021 else None,
            loan_conditions=(CodedValue("LibraryUseOnly"),) if v2021 else (),
            start_date=T0, end_date=T0 + timedelta(days=60), note="please"),
        supplier_info=(m.SupplierInfo(
            sort_order=1, supplier_code=SUPPLIER, supplier_description="Kiel UB",
            bibliographic_record_id=m.BibliographicRecordId(code=CodedValue("PPN"),
                                                            identifier="1795329181"),
            call_number="A 123", summary_holdings="1954-", availability_note="on shelf"),
            m.SupplierInfo()),
        requested_delivery_info=(m.RequestedDeliveryInfo(
            sort_order=0, address=addresses(version)[0],
            delivery_method=CodedValue("Mail") if v2021 else None,
            courier_name=CodedValue("DHL") if v2021 else None),),
        requesting_agency_info=m.RequestingAgencyInfo(
            name="Bree Library", contact_name="Butterbur", addresses=addresses(version)),
        patron_info=m.PatronInfo(
            patron_id="p-123", surname="Baggins", given_name="Frodo",
            patron_type=CodedValue("Adult"), send_to_patron=YesNo.NO,
            addresses=addresses(version)),
        billing_info=m.BillingInfo(
            payment_method=CodedValue("Invoice"), maximum_costs=costs("30"),
            billing_method=CodedValue("Account"), billing_name="Bree Library",
            address=addresses(version)[1]),
    )


def full_supplying_message(version: Version, status: Status = Status.LOANED, *,
                           reason: ReasonForMessage = ReasonForMessage.STATUS_CHANGE,
                           supplier: m.AgencyId = SUPPLIER, timestamp: datetime = T0,
                           request_id: str = "req-1") -> m.SupplyingAgencyMessage:
    v2021 = version is Version.V2021_2
    return m.SupplyingAgencyMessage(
        version=version,
        header=header(version, "supplying", supplier=supplier, timestamp=timestamp,
                      request_id=request_id),
        message_info=m.MessageInfo(
            reason_for_message=reason, answer_yes_no=YesNo.YES, note="on its way",
            reason_unfilled=CodedValue("NotOnShelf", "urn:reasons"),
            reason_retry=CodedValue("CostExceedsMaxCost"),
            offered_costs=None if v2021 else costs(),
            retry_after=None if v2021 else T0, retry_before=None if v2021 else T0),
        status_info=m.StatusInfo(status=status, expected_delivery_date=T0,
                                 due_date=T0 + timedelta(days=28), last_change=timestamp),
        retry_info=m.RetryInfo(
            loan_conditions=(CodedValue("NoReproduction"),), editions=("3rd",),
            item_formats=(CodedValue("PDF"),), volumes=("2",), service_type=ServiceType.COPY,
            service_levels=(CodedValue("Express"),), delivery_methods=(CodedValue("Courier"),),
            courier_names=(CodedValue("DHL"),), offered_costs=(costs("5"), costs("7.5")),
            payment_methods=(CodedValue("Invoice"),), retry_before=T0,
            retry_after=T0) if v2021 else None,
        delivery_info=m.DeliveryInfo(
            date_sent=T0, item_ids=("item-1", "item-2") if v2021 else ("item-1",),
            url="https://example.org/item" if v2021 else None,
            delivery_method=CodedValue("Mail"),
            address=addresses(version)[0] if v2021 else None, sent_to_patron=False,
            loan_conditions=(CodedValue("LibraryUseOnly"),), item_format=CodedValue("Printed"),
            service_type=ServiceType.LOAN if v2021 else None,
            delivery_costs=(costs("3"),), payment_method=CodedValue("Invoice") if v2021 else None),
        shipping_info=m.ShippingInfo(
            courier_name=CodedValue("DHL"), tracking_ids=("T1", "T2"), insurance=YesNo.YES,
            insurance_third_party=YesNo.NO, third_party_name="Allianz",
            insurance_costs=(costs("1"),)) if v2021 else None,
        return_info=m.ReturnInfo(return_agency_id=SUPPLIER, name="Kiel UB",
                                 physical_address=physical(version)),
    )


def full_requesting_message(version: Version, action: Action = Action.RECEIVED, *,
                            supplier: m.AgencyId = SUPPLIER, timestamp: datetime = T0,
                            request_id: str = "req-1") -> m.RequestingAgencyMessage:
    return m.RequestingAgencyMessage(
        version=version, header=header(version, "requesting", supplier=supplier,
                                       timestamp=timestamp, request_id=request_id),
        action=action, note="arrived safely")


def confirmation_header(version: Version, status: MessageStatus = MessageStatus.ERROR
                        ) -> m.ConfirmationHeader:
    return m.ConfirmationHeader(
        supplying_agency_id=SUPPLIER, requesting_agency_id=REQUESTER, timestamp=T0,
        requesting_agency_request_id="req-1",
        multiple_item_request_id="multi-7" if version is Version.V1_2 else None,
        timestamp_received=T0 - timedelta(seconds=1), message_status=status)


def errors(version: Version) -> tuple[m.ErrorData, ...]:
    first = m.ErrorData(error_type=ErrorType.UNRECOGNISED_DATA_VALUE, error_value="status: x")
    if version is Version.V1_2:
        return (first,)
    return (first, m.ErrorData(error_type=ErrorType.BADLY_FORMED_MESSAGE))


def full_messages(version: Version) -> dict[str, m.Message]:
    """One of each of the six messages, every element the version has filled in."""
    return {
        "request": full_request(version),
        "supplyingAgencyMessage": full_supplying_message(version),
        "requestingAgencyMessage": full_requesting_message(version),
        "requestConfirmation": m.RequestConfirmation(
            version=version, confirmation_header=confirmation_header(version),
            error_data=errors(version)),
        "supplyingAgencyMessageConfirmation": m.SupplyingAgencyMessageConfirmation(
            version=version, confirmation_header=confirmation_header(version),
            reason_for_message=ReasonForMessage.RENEW_RESPONSE, error_data=errors(version)),
        "requestingAgencyMessageConfirmation": m.RequestingAgencyMessageConfirmation(
            version=version, confirmation_header=confirmation_header(version, MessageStatus.OK),
            action=Action.LOST if version is Version.V2021_2 else Action.RENEW),
    }
