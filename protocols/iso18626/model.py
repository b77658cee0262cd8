"""Typed ISO 18626 messages: one dataclass per XSD complex type, shared by both versions.

A field exists when either schema version (1.2 or 2021-2) has the element; which version can
carry which field, and in what order, is the codec's business (``layout``). Repeated elements
are tuples; absent optional elements are ``None``. Timestamps are timezone-aware datetimes
(a dateTime without offset is read as UTC).

Naming follows the XSD with Python spelling: ``requestingAgencyRequestId`` ->
``requesting_agency_request_id``. Where 2021 renamed an element, the field carries the 2021 name
and the 1.2 element maps onto it (``sentVia`` -> ``delivery_method``, ``deliveredFormat`` and
``preferredFormat`` -> ``item_format``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from protocols.iso18626.codes import (
    Action, CodedValue, ErrorType, MessageKind, MessageStatus, PreferredEdition,
    ReasonForMessage, RequestSubType, RequestType, ServiceType, Status, Version, YesNo,
)

_frozen = dict(frozen=True, slots=True, kw_only=True)


@dataclass(**_frozen)
class AgencyId:
    type: CodedValue
    value: str

    def __str__(self) -> str:
        return f"{self.type.value}:{self.value}"

    def same_agency(self, other: AgencyId | None) -> bool:
        """Same agency: type and value match (the type's scheme is not compared)."""
        return other is not None and (self.type.value, self.value) == (other.type.value,
                                                                       other.value)


@dataclass(**_frozen)
class Costs:
    currency_code: CodedValue
    monetary_value: Decimal


@dataclass(**_frozen)
class ElectronicAddress:
    type: CodedValue
    data: str


@dataclass(**_frozen)
class PhysicalAddress:
    line1: str | None = None
    line2: str | None = None
    locality: str | None = None
    postal_code: str | None = None
    region: CodedValue | None = None      # 1.2: scheme/value; 2021: plain string (no scheme)
    country: CodedValue | None = None


@dataclass(**_frozen)
class Address:
    """An XSD choice: exactly one of the two is set."""

    electronic_address: ElectronicAddress | None = None
    physical_address: PhysicalAddress | None = None


@dataclass(**_frozen)
class RequestingAgencyAuthentication:
    account_id: str | None = None
    security_code: str | None = None


@dataclass(**_frozen)
class Header:
    """The message header; which fields a version and message kind carry is in ``layout``.

    1.2 has one header for all three messages (multipleItemRequestId mandatory, may be empty);
    2021 has three (request: supplier optional; agency messages: no multipleItemRequestId).
    """

    supplying_agency_id: AgencyId | None = None
    requesting_agency_id: AgencyId | None = None
    consortial_id: AgencyId | None = None                  # 2021
    multiple_item_request_id: str | None = None
    timestamp: datetime
    requesting_agency_request_id: str
    supplying_agency_request_id: str | None = None
    requesting_agency_authentication: RequestingAgencyAuthentication | None = None


@dataclass(**_frozen)
class ConfirmationHeader:
    supplying_agency_id: AgencyId | None = None
    requesting_agency_id: AgencyId | None = None
    timestamp: datetime
    requesting_agency_request_id: str | None = None
    multiple_item_request_id: str | None = None            # 1.2 only
    timestamp_received: datetime
    message_status: MessageStatus


@dataclass(**_frozen)
class ErrorData:
    error_type: ErrorType
    error_value: str | None = None


@dataclass(**_frozen)
class BibliographicItemId:
    """1.2 writes identifier then code; 2021 writes code then identifier."""

    identifier: str
    code: CodedValue


@dataclass(**_frozen)
class BibliographicRecordId:
    code: CodedValue
    identifier: str


@dataclass(**_frozen)
class BibliographicInfo:
    supplier_unique_record_id: str | None = None
    title: str | None = None
    author: str | None = None
    author_id: str | None = None                            # 2021
    subtitle: str | None = None
    series_title: str | None = None
    edition: str | None = None
    title_of_component: str | None = None
    author_of_component: str | None = None
    volume: tuple[str, ...] = ()                            # 1.2: at most one
    issue: str | None = None
    pages_requested: str | None = None
    estimated_no_pages: str | None = None
    bibliographic_item_ids: tuple[BibliographicItemId, ...] = ()
    sponsor: str | None = None
    information_source: str | None = None
    bibliographic_record_ids: tuple[BibliographicRecordId, ...] = ()


@dataclass(**_frozen)
class PublicationInfo:
    publisher: str | None = None
    publisher_id: str | None = None                         # 2021
    publication_type: CodedValue | None = None
    publication_date: str | None = None
    place_of_publication: str | None = None


@dataclass(**_frozen)
class ServiceInfo:
    request_type: RequestType | None = None
    request_sub_types: tuple[RequestSubType, ...] = ()      # 1.2: at most three
    requesting_agency_previous_request_id: str | None = None
    service_type: ServiceType
    service_level: CodedValue | None = None
    item_format: CodedValue | None = None                   # 1.2: preferredFormat
    need_before_date: datetime | None = None
    copyright_compliance: CodedValue | None = None
    any_edition: YesNo | None = None
    preferred_edition: PreferredEdition | None = None       # 2021
    loan_conditions: tuple[CodedValue, ...] = ()            # 2021
    start_date: datetime | None = None
    end_date: datetime | None = None
    note: str | None = None


@dataclass(**_frozen)
class SupplierInfo:
    sort_order: int | None = None
    supplier_code: AgencyId | None = None
    supplier_description: str | None = None
    bibliographic_record_id: BibliographicRecordId | None = None
    call_number: str | None = None
    summary_holdings: str | None = None
    availability_note: str | None = None


@dataclass(**_frozen)
class RequestedDeliveryInfo:
    sort_order: int | None = None
    address: Address | None = None
    delivery_method: CodedValue | None = None               # 2021
    courier_name: CodedValue | None = None                  # 2021


@dataclass(**_frozen)
class RequestingAgencyInfo:
    name: str | None = None
    contact_name: str | None = None
    addresses: tuple[Address, ...] = ()


@dataclass(**_frozen)
class PatronInfo:
    patron_id: str | None = None
    surname: str | None = None
    given_name: str | None = None
    patron_type: CodedValue | None = None
    send_to_patron: YesNo | None = None
    addresses: tuple[Address, ...] = ()


@dataclass(**_frozen)
class BillingInfo:
    payment_method: CodedValue | None = None
    maximum_costs: Costs | None = None
    billing_method: CodedValue | None = None
    billing_name: str | None = None
    address: Address | None = None


@dataclass(**_frozen)
class MessageInfo:
    reason_for_message: ReasonForMessage
    answer_yes_no: YesNo | None = None
    note: str | None = None
    reason_unfilled: CodedValue | None = None               # open list ReasonUnfilled
    reason_retry: CodedValue | None = None                  # open list ReasonRetry
    offered_costs: Costs | None = None                      # 1.2 only (2021: retryInfo)
    retry_after: datetime | None = None                     # 1.2 only (2021: retryInfo)
    retry_before: datetime | None = None                    # 1.2 only (2021: retryInfo)


@dataclass(**_frozen)
class StatusInfo:
    status: Status
    expected_delivery_date: datetime | None = None
    due_date: datetime | None = None
    last_change: datetime


@dataclass(**_frozen)
class RetryInfo:                                            # 2021
    loan_conditions: tuple[CodedValue, ...] = ()
    editions: tuple[str, ...] = ()
    item_formats: tuple[CodedValue, ...] = ()
    volumes: tuple[str, ...] = ()
    service_type: ServiceType | None = None
    service_levels: tuple[CodedValue, ...] = ()
    delivery_methods: tuple[CodedValue, ...] = ()
    courier_names: tuple[CodedValue, ...] = ()
    offered_costs: tuple[Costs, ...] = ()
    payment_methods: tuple[CodedValue, ...] = ()
    retry_before: datetime | None = None
    retry_after: datetime | None = None


@dataclass(**_frozen)
class DeliveryInfo:
    date_sent: datetime
    item_ids: tuple[str, ...] = ()                          # 1.2: at most one
    url: str | None = None                                  # 2021
    delivery_method: CodedValue | None = None               # 1.2: sentVia
    address: Address | None = None                          # 2021
    sent_to_patron: bool | None = None
    loan_conditions: tuple[CodedValue, ...] = ()            # 1.2: at most one
    item_format: CodedValue | None = None                   # 1.2: deliveredFormat
    service_type: ServiceType | None = None                 # 2021
    delivery_costs: tuple[Costs, ...] = ()                  # 1.2: at most one
    payment_method: CodedValue | None = None                # 2021


@dataclass(**_frozen)
class ShippingInfo:                                         # 2021
    courier_name: CodedValue | None = None
    tracking_ids: tuple[str, ...] = ()
    insurance: YesNo | None = None
    insurance_third_party: YesNo | None = None
    third_party_name: str | None = None
    insurance_costs: tuple[Costs, ...] = ()


@dataclass(**_frozen)
class ReturnInfo:
    return_agency_id: AgencyId | None = None
    name: str | None = None
    physical_address: PhysicalAddress | None = None


# ---- the six messages -------------------------------------------------------------------

@dataclass(**_frozen)
class Request:
    kind: ClassVar[MessageKind] = MessageKind.REQUEST
    version: Version = Version.V1_2
    header: Header
    bibliographic_info: BibliographicInfo
    publication_info: PublicationInfo | None = None
    service_info: ServiceInfo | None = None                 # 2021: mandatory
    supplier_info: tuple[SupplierInfo, ...] = ()
    requested_delivery_info: tuple[RequestedDeliveryInfo, ...] = ()
    requesting_agency_info: RequestingAgencyInfo | None = None
    patron_info: PatronInfo | None = None
    billing_info: BillingInfo | None = None


@dataclass(**_frozen)
class SupplyingAgencyMessage:
    kind: ClassVar[MessageKind] = MessageKind.SUPPLYING_AGENCY_MESSAGE
    version: Version = Version.V1_2
    header: Header
    message_info: MessageInfo
    status_info: StatusInfo
    retry_info: RetryInfo | None = None                     # 2021
    delivery_info: DeliveryInfo | None = None
    shipping_info: ShippingInfo | None = None               # 2021
    return_info: ReturnInfo | None = None


@dataclass(**_frozen)
class RequestingAgencyMessage:
    kind: ClassVar[MessageKind] = MessageKind.REQUESTING_AGENCY_MESSAGE
    version: Version = Version.V1_2
    header: Header
    action: Action
    note: str | None = None


@dataclass(**_frozen)
class RequestConfirmation:
    kind: ClassVar[MessageKind] = MessageKind.REQUEST_CONFIRMATION
    version: Version = Version.V1_2
    confirmation_header: ConfirmationHeader
    error_data: tuple[ErrorData, ...] = ()                  # 1.2: at most one


@dataclass(**_frozen)
class SupplyingAgencyMessageConfirmation:
    kind: ClassVar[MessageKind] = MessageKind.SUPPLYING_AGENCY_MESSAGE_CONFIRMATION
    version: Version = Version.V1_2
    confirmation_header: ConfirmationHeader
    reason_for_message: ReasonForMessage | None = None
    error_data: tuple[ErrorData, ...] = ()


@dataclass(**_frozen)
class RequestingAgencyMessageConfirmation:
    kind: ClassVar[MessageKind] = MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION
    version: Version = Version.V1_2
    confirmation_header: ConfirmationHeader
    action: Action | None = None
    error_data: tuple[ErrorData, ...] = ()


AgencyMessage = Request | SupplyingAgencyMessage | RequestingAgencyMessage
Confirmation = (RequestConfirmation | SupplyingAgencyMessageConfirmation
                | RequestingAgencyMessageConfirmation)
Message = AgencyMessage | Confirmation

MESSAGE_CLASSES: dict[MessageKind, type] = {
    cls.kind: cls for cls in (
        Request, SupplyingAgencyMessage, RequestingAgencyMessage, RequestConfirmation,
        SupplyingAgencyMessageConfirmation, RequestingAgencyMessageConfirmation)
}
