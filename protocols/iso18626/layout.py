"""Element layouts of both ISO 18626 schema versions, as tables the codec walks.

``LAYOUTS[version][name]`` is ``(model class, elements in XSD order)``. Each ``El`` says which
XML element fills which dataclass field, with what value type, whether the XSD makes it
mandatory and how often it may occur. The two versions share most types; the differences
(checked against ``shared/specs/ISO-18626-v1_2.xsd`` and ``ISO-18626-2021-2.xsd``) are:

* bibliographicItemId: 1.2 identifier then code, 2021 code then identifier;
* headers: 1.2 one header (multipleItemRequestId mandatory), 2021 one per message kind;
* 2021 moved offeredCosts/retryAfter/retryBefore from messageInfo to retryInfo, renamed
  sentVia/deliveredFormat/preferredFormat, made several elements repeatable and added
  consortialId, authorId, publisherId, shippingInfo, loanCondition, ...;
* confirmations: 1.2 at most one errorData, 2021 any number; 2021 has no
  multipleItemRequestId in confirmationHeader; region is scheme/value in 1.2, a string in 2021.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protocols.iso18626 import model as m
from protocols.iso18626.codes import (
    Action, ErrorType, MessageStatus, PreferredEdition, ReasonForMessage, RequestSubType,
    RequestType, ServiceType, Status, Version, YesNo,
)

# Scalar value types (enum classes are value types too).
TEXT, DATETIME, DECIMAL, INTEGER, UINT, BOOLEAN, CODED, CODED_AS_TEXT = (
    "text", "dateTime", "decimal", "integer", "nonNegativeInteger", "boolean", "schemeValuePair",
    "string (scheme dropped)")


@dataclass(frozen=True, slots=True)
class Sub:
    """A nested complex element, read with the layout of that name."""

    layout: str


@dataclass(frozen=True, slots=True)
class El:
    tag: str
    field: str
    type: Any
    required: bool = False
    many: bool = False          # the model field is a tuple
    max: int | None = None      # occurrences this version allows (None: 1, or unbounded if many)

    @property
    def max_occurs(self) -> int | None:
        if self.max is not None:
            return self.max
        return None if self.many else 1


Layout = tuple[type, tuple[El, ...]]


def _agency(tag: str, field: str, required: bool = False) -> El:
    return El(tag, field, Sub("agencyId"), required)


_COMMON: dict[str, Layout] = {
    "agencyId": (m.AgencyId, (El("agencyIdType", "type", CODED, True),
                              El("agencyIdValue", "value", TEXT, True))),
    "costs": (m.Costs, (El("currencyCode", "currency_code", CODED, True),
                        El("monetaryValue", "monetary_value", DECIMAL, True))),
    "address": (m.Address, (El("electronicAddress", "electronic_address", Sub("electronicAddress")),
                            El("physicalAddress", "physical_address", Sub("physicalAddress")))),
    "electronicAddress": (m.ElectronicAddress, (
        El("electronicAddressType", "type", CODED, True),
        El("electronicAddressData", "data", TEXT, True))),
    "requestingAgencyAuthentication": (m.RequestingAgencyAuthentication, (
        El("accountId", "account_id", TEXT), El("securityCode", "security_code", TEXT))),
    "errorData": (m.ErrorData, (El("errorType", "error_type", ErrorType, True),
                                El("errorValue", "error_value", TEXT))),
    "bibliographicRecordId": (m.BibliographicRecordId, (
        El("bibliographicRecordIdentifierCode", "code", CODED, True),
        El("bibliographicRecordIdentifier", "identifier", TEXT, True))),
    "statusInfo": (m.StatusInfo, (
        El("status", "status", Status, True),
        El("expectedDeliveryDate", "expected_delivery_date", DATETIME),
        El("dueDate", "due_date", DATETIME),
        El("lastChange", "last_change", DATETIME, True))),
    "requestingAgencyInfo": (m.RequestingAgencyInfo, (
        El("name", "name", TEXT), El("contactName", "contact_name", TEXT),
        El("address", "addresses", Sub("address"), many=True))),
    "patronInfo": (m.PatronInfo, (
        El("patronId", "patron_id", TEXT), El("surname", "surname", TEXT),
        El("givenName", "given_name", TEXT), El("patronType", "patron_type", CODED),
        El("sendToPatron", "send_to_patron", YesNo),
        El("address", "addresses", Sub("address"), many=True))),
    "billingInfo": (m.BillingInfo, (
        El("paymentMethod", "payment_method", CODED),
        El("maximumCosts", "maximum_costs", Sub("costs")),
        El("billingMethod", "billing_method", CODED),
        El("billingName", "billing_name", TEXT), El("address", "address", Sub("address")))),
    "returnInfo": (m.ReturnInfo, (
        _agency("returnAgencyId", "return_agency_id"), El("name", "name", TEXT),
        El("physicalAddress", "physical_address", Sub("physicalAddress")))),
    "request": (m.Request, (
        El("header", "header", Sub("requestHeader"), True),
        El("bibliographicInfo", "bibliographic_info", Sub("bibliographicInfo"), True),
        El("publicationInfo", "publication_info", Sub("publicationInfo")),
        El("serviceInfo", "service_info", Sub("serviceInfo")),  # 2021: mandatory (overridden)
        El("supplierInfo", "supplier_info", Sub("supplierInfo"), many=True),
        El("requestedDeliveryInfo", "requested_delivery_info", Sub("requestedDeliveryInfo"),
           many=True),
        El("requestingAgencyInfo", "requesting_agency_info", Sub("requestingAgencyInfo")),
        El("patronInfo", "patron_info", Sub("patronInfo")),
        El("billingInfo", "billing_info", Sub("billingInfo")))),
    "requestingAgencyMessage": (m.RequestingAgencyMessage, (
        El("header", "header", Sub("requestingAgencyMessageHeader"), True),
        El("action", "action", Action, True), El("note", "note", TEXT))),
}


def _bibliographic_info(version: Version) -> Layout:
    v2021 = version is Version.V2021_2
    elements = [
        El("supplierUniqueRecordId", "supplier_unique_record_id", TEXT),
        El("title", "title", TEXT), El("author", "author", TEXT),
        *([El("authorId", "author_id", TEXT)] if v2021 else []),
        El("subtitle", "subtitle", TEXT), El("seriesTitle", "series_title", TEXT),
        El("edition", "edition", TEXT), El("titleOfComponent", "title_of_component", TEXT),
        El("authorOfComponent", "author_of_component", TEXT),
        El("volume", "volume", TEXT, many=True, max=None if v2021 else 1),
        El("issue", "issue", TEXT), El("pagesRequested", "pages_requested", TEXT),
        El("estimatedNoPages", "estimated_no_pages", TEXT),
        El("bibliographicItemId", "bibliographic_item_ids", Sub("bibliographicItemId"), many=True),
        El("sponsor", "sponsor", TEXT), El("informationSource", "information_source", TEXT),
        El("bibliographicRecordId", "bibliographic_record_ids", Sub("bibliographicRecordId"),
           many=True),
    ]
    return m.BibliographicInfo, tuple(elements)


def _layouts_1_2() -> dict[str, Layout]:
    header = (m.Header, (
        _agency("supplyingAgencyId", "supplying_agency_id", True),
        _agency("requestingAgencyId", "requesting_agency_id", True),
        El("multipleItemRequestId", "multiple_item_request_id", TEXT, True),
        El("timestamp", "timestamp", DATETIME, True),
        El("requestingAgencyRequestId", "requesting_agency_request_id", TEXT, True),
        El("supplyingAgencyRequestId", "supplying_agency_request_id", TEXT),
        El("requestingAgencyAuthentication", "requesting_agency_authentication",
           Sub("requestingAgencyAuthentication"))))
    confirmation_header = (m.ConfirmationHeader, (
        _agency("supplyingAgencyId", "supplying_agency_id"),
        _agency("requestingAgencyId", "requesting_agency_id"),
        El("timestamp", "timestamp", DATETIME, True),
        El("requestingAgencyRequestId", "requesting_agency_request_id", TEXT),
        El("multipleItemRequestId", "multiple_item_request_id", TEXT),
        El("timestampReceived", "timestamp_received", DATETIME, True),
        El("messageStatus", "message_status", MessageStatus, True)))
    error_data = El("errorData", "error_data", Sub("errorData"), many=True, max=1)
    return {
        **_COMMON,
        "requestHeader": header, "supplyingAgencyMessageHeader": header,
        "requestingAgencyMessageHeader": header, "confirmationHeader": confirmation_header,
        "bibliographicItemId": (m.BibliographicItemId, (
            El("bibliographicItemIdentifier", "identifier", TEXT, True),
            El("bibliographicItemIdentifierCode", "code", CODED, True))),
        "bibliographicInfo": _bibliographic_info(Version.V1_2),
        "physicalAddress": (m.PhysicalAddress, (
            El("line1", "line1", TEXT), El("line2", "line2", TEXT),
            El("locality", "locality", TEXT), El("postalCode", "postal_code", TEXT),
            El("region", "region", CODED), El("country", "country", CODED))),
        "publicationInfo": (m.PublicationInfo, (
            El("publisher", "publisher", TEXT), El("publicationType", "publication_type", CODED),
            El("publicationDate", "publication_date", TEXT),
            El("placeOfPublication", "place_of_publication", TEXT))),
        "serviceInfo": (m.ServiceInfo, (
            El("requestType", "request_type", RequestType),
            El("requestSubType", "request_sub_types", RequestSubType, many=True, max=3),
            El("requestingAgencyPreviousRequestId", "requesting_agency_previous_request_id", TEXT),
            El("serviceType", "service_type", ServiceType, True),
            El("serviceLevel", "service_level", CODED),
            El("preferredFormat", "item_format", CODED),
            El("needBeforeDate", "need_before_date", DATETIME),
            El("copyrightCompliance", "copyright_compliance", CODED),
            El("anyEdition", "any_edition", YesNo),
            El("startDate", "start_date", DATETIME), El("endDate", "end_date", DATETIME),
            El("note", "note", TEXT))),
        "supplierInfo": (m.SupplierInfo, (
            El("sortOrder", "sort_order", INTEGER),
            _agency("supplierCode", "supplier_code"),
            El("supplierDescription", "supplier_description", TEXT),
            El("bibliographicRecordId", "bibliographic_record_id", Sub("bibliographicRecordId")),
            El("callNumber", "call_number", TEXT), El("summaryHoldings", "summary_holdings", TEXT),
            El("availabilityNote", "availability_note", TEXT))),
        "requestedDeliveryInfo": (m.RequestedDeliveryInfo, (
            El("sortOrder", "sort_order", INTEGER), El("address", "address", Sub("address")))),
        "messageInfo": (m.MessageInfo, (
            El("reasonForMessage", "reason_for_message", ReasonForMessage, True),
            El("answerYesNo", "answer_yes_no", YesNo), El("note", "note", TEXT),
            El("reasonUnfilled", "reason_unfilled", CODED),
            El("reasonRetry", "reason_retry", CODED),
            El("offeredCosts", "offered_costs", Sub("costs")),
            El("retryAfter", "retry_after", DATETIME),
            El("retryBefore", "retry_before", DATETIME))),
        "deliveryInfo": (m.DeliveryInfo, (
            El("dateSent", "date_sent", DATETIME, True),
            El("itemId", "item_ids", TEXT, many=True, max=1),
            El("sentVia", "delivery_method", CODED),
            El("sentToPatron", "sent_to_patron", BOOLEAN),
            El("loanCondition", "loan_conditions", CODED, many=True, max=1),
            El("deliveredFormat", "item_format", CODED),
            El("deliveryCosts", "delivery_costs", Sub("costs"), many=True, max=1))),
        "supplyingAgencyMessage": (m.SupplyingAgencyMessage, (
            El("header", "header", Sub("supplyingAgencyMessageHeader"), True),
            El("messageInfo", "message_info", Sub("messageInfo"), True),
            El("statusInfo", "status_info", Sub("statusInfo"), True),
            El("deliveryInfo", "delivery_info", Sub("deliveryInfo")),
            El("returnInfo", "return_info", Sub("returnInfo")))),
        "requestConfirmation": (m.RequestConfirmation, (
            El("confirmationHeader", "confirmation_header", Sub("confirmationHeader"), True),
            error_data)),
        "supplyingAgencyMessageConfirmation": (m.SupplyingAgencyMessageConfirmation, (
            El("confirmationHeader", "confirmation_header", Sub("confirmationHeader"), True),
            El("reasonForMessage", "reason_for_message", ReasonForMessage), error_data)),
        "requestingAgencyMessageConfirmation": (m.RequestingAgencyMessageConfirmation, (
            El("confirmationHeader", "confirmation_header", Sub("confirmationHeader"), True),
            El("action", "action", Action), error_data)),
    }


def _layouts_2021() -> dict[str, Layout]:
    supplying = _agency("supplyingAgencyId", "supplying_agency_id", True)
    requesting = _agency("requestingAgencyId", "requesting_agency_id", True)
    consortial = _agency("consortialId", "consortial_id")
    timestamp = El("timestamp", "timestamp", DATETIME, True)
    request_id = El("requestingAgencyRequestId", "requesting_agency_request_id", TEXT, True)
    supplier_request_id = El("supplyingAgencyRequestId", "supplying_agency_request_id", TEXT)
    authentication = El("requestingAgencyAuthentication", "requesting_agency_authentication",
                        Sub("requestingAgencyAuthentication"))
    confirmation_header = El("confirmationHeader", "confirmation_header",
                             Sub("confirmationHeader"), True)
    error_data = El("errorData", "error_data", Sub("errorData"), many=True)
    request_fields = _COMMON["request"][1]
    return {
        **_COMMON,
        "requestHeader": (m.Header, (
            _agency("supplyingAgencyId", "supplying_agency_id"), requesting, consortial,
            El("multipleItemRequestId", "multiple_item_request_id", TEXT), timestamp, request_id,
            authentication)),
        "supplyingAgencyMessageHeader": (m.Header, (
            supplying, requesting, timestamp, request_id, supplier_request_id)),
        "requestingAgencyMessageHeader": (m.Header, (
            supplying, requesting, consortial, timestamp, request_id, supplier_request_id,
            authentication)),
        "confirmationHeader": (m.ConfirmationHeader, (
            _agency("supplyingAgencyId", "supplying_agency_id"),
            _agency("requestingAgencyId", "requesting_agency_id"),
            timestamp, El("requestingAgencyRequestId", "requesting_agency_request_id", TEXT),
            El("timestampReceived", "timestamp_received", DATETIME, True),
            El("messageStatus", "message_status", MessageStatus, True))),
        "bibliographicItemId": (m.BibliographicItemId, (
            El("bibliographicItemIdentifierCode", "code", CODED, True),
            El("bibliographicItemIdentifier", "identifier", TEXT, True))),
        "bibliographicInfo": _bibliographic_info(Version.V2021_2),
        "physicalAddress": (m.PhysicalAddress, (
            El("line1", "line1", TEXT), El("line2", "line2", TEXT),
            El("locality", "locality", TEXT), El("postalCode", "postal_code", TEXT),
            El("region", "region", CODED_AS_TEXT), El("country", "country", CODED))),
        "publicationInfo": (m.PublicationInfo, (
            El("publisher", "publisher", TEXT), El("publisherId", "publisher_id", TEXT),
            El("publicationType", "publication_type", CODED),
            El("publicationDate", "publication_date", TEXT),
            El("placeOfPublication", "place_of_publication", TEXT))),
        "serviceInfo": (m.ServiceInfo, (
            El("requestType", "request_type", RequestType),
            El("requestSubType", "request_sub_types", RequestSubType, many=True),
            El("requestingAgencyPreviousRequestId", "requesting_agency_previous_request_id", TEXT),
            El("serviceType", "service_type", ServiceType, True),
            El("serviceLevel", "service_level", CODED), El("itemFormat", "item_format", CODED),
            El("needBeforeDate", "need_before_date", DATETIME),
            El("copyrightCompliance", "copyright_compliance", CODED),
            El("anyEdition", "any_edition", YesNo),
            El("preferredEdition", "preferred_edition", PreferredEdition),
            El("loanCondition", "loan_conditions", CODED, many=True),
            El("startDate", "start_date", DATETIME), El("endDate", "end_date", DATETIME),
            El("note", "note", TEXT))),
        "supplierInfo": (m.SupplierInfo, (
            El("sortOrder", "sort_order", UINT), _agency("supplierCode", "supplier_code"),
            El("supplierDescription", "supplier_description", TEXT),
            El("bibliographicRecordId", "bibliographic_record_id", Sub("bibliographicRecordId")),
            El("callNumber", "call_number", TEXT), El("summaryHoldings", "summary_holdings", TEXT),
            El("availabilityNote", "availability_note", TEXT))),
        "requestedDeliveryInfo": (m.RequestedDeliveryInfo, (
            El("sortOrder", "sort_order", UINT), El("address", "address", Sub("address")),
            El("deliveryMethod", "delivery_method", CODED),
            El("courierName", "courier_name", CODED))),
        "messageInfo": (m.MessageInfo, (
            El("reasonForMessage", "reason_for_message", ReasonForMessage, True),
            El("answerYesNo", "answer_yes_no", YesNo), El("note", "note", TEXT),
            El("reasonUnfilled", "reason_unfilled", CODED),
            El("reasonRetry", "reason_retry", CODED))),
        "retryInfo": (m.RetryInfo, (
            El("loanCondition", "loan_conditions", CODED, many=True),
            El("edition", "editions", TEXT, many=True),
            El("itemFormat", "item_formats", CODED, many=True),
            El("volume", "volumes", TEXT, many=True),
            El("serviceType", "service_type", ServiceType),
            El("serviceLevel", "service_levels", CODED, many=True),
            El("deliveryMethod", "delivery_methods", CODED, many=True),
            El("courierName", "courier_names", CODED, many=True),
            El("offeredCosts", "offered_costs", Sub("costs"), many=True),
            El("paymentMethod", "payment_methods", CODED, many=True),
            El("retryBefore", "retry_before", DATETIME),
            El("retryAfter", "retry_after", DATETIME))),
        "deliveryInfo": (m.DeliveryInfo, (
            El("dateSent", "date_sent", DATETIME, True),
            El("itemId", "item_ids", TEXT, many=True), El("URL", "url", TEXT),
            El("deliveryMethod", "delivery_method", CODED),
            El("address", "address", Sub("address")),
            El("sentToPatron", "sent_to_patron", BOOLEAN),
            El("loanCondition", "loan_conditions", CODED, many=True),
            El("itemFormat", "item_format", CODED),
            El("serviceType", "service_type", ServiceType),
            El("deliveryCosts", "delivery_costs", Sub("costs"), many=True),
            El("paymentMethod", "payment_method", CODED))),
        "shippingInfo": (m.ShippingInfo, (
            El("courierName", "courier_name", CODED),
            El("trackingId", "tracking_ids", TEXT, many=True),
            El("insurance", "insurance", YesNo),
            El("insuranceThirdParty", "insurance_third_party", YesNo),
            El("thirdPartyName", "third_party_name", TEXT),
            El("insuranceCosts", "insurance_costs", Sub("costs"), many=True))),
        "request": (m.Request, tuple(
            El(el.tag, el.field, el.type, True, el.many) if el.tag == "serviceInfo" else el
            for el in request_fields)),
        "supplyingAgencyMessage": (m.SupplyingAgencyMessage, (
            El("header", "header", Sub("supplyingAgencyMessageHeader"), True),
            El("messageInfo", "message_info", Sub("messageInfo"), True),
            El("statusInfo", "status_info", Sub("statusInfo"), True),
            El("retryInfo", "retry_info", Sub("retryInfo")),
            El("deliveryInfo", "delivery_info", Sub("deliveryInfo")),
            El("shippingInfo", "shipping_info", Sub("shippingInfo")),
            El("returnInfo", "return_info", Sub("returnInfo")))),
        "requestConfirmation": (m.RequestConfirmation, (confirmation_header, error_data)),
        "supplyingAgencyMessageConfirmation": (m.SupplyingAgencyMessageConfirmation, (
            confirmation_header,
            El("reasonForMessage", "reason_for_message", ReasonForMessage), error_data)),
        "requestingAgencyMessageConfirmation": (m.RequestingAgencyMessageConfirmation, (
            confirmation_header, El("action", "action", Action), error_data)),
    }


LAYOUTS: dict[Version, dict[str, Layout]] = {
    Version.V1_2: _layouts_1_2(),
    Version.V2021_2: _layouts_2021(),
}

OTHER_VERSION = {Version.V1_2: Version.V2021_2, Version.V2021_2: Version.V1_2}
