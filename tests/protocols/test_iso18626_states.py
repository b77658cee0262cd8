"""ISO 18626 state tables: every allowed and refused transition, terminal statuses, the
supplier that is no longer current, duplicates, stale and backwards messages."""

from __future__ import annotations

import copy
import dataclasses
from datetime import timedelta

import pytest

from protocols.iso18626 import model as m
from protocols.iso18626.codec import encode
from protocols.iso18626.codes import (
    Action, ErrorType, MessageStatus, ReasonForMessage, RequestType, Status, Version,
)
from protocols.iso18626.confirm import confirm
from protocols.iso18626.states import OutcomeKind, Role, Transaction
from tests.protocols.iso18626_helpers import (
    REQUESTER, SUPPLIER, SUPPLIER_B, T0, assert_valid, full_request, full_requesting_message,
    full_supplying_message,
)

# The ISO 18626 status diagram, transcribed by hand (independent of states.py): "-" is the
# state after the request, before any supplier message.
ALLOWED_TEXT = """
- > RequestReceived ExpectToSupply WillSupply Loaned CopyCompleted Unfilled RetryPossible Cancelled
RequestReceived > ExpectToSupply WillSupply Loaned CopyCompleted Unfilled RetryPossible Cancelled
ExpectToSupply > WillSupply Loaned CopyCompleted Unfilled RetryPossible Cancelled
WillSupply > Loaned CopyCompleted Unfilled RetryPossible Cancelled
Loaned > Overdue Recalled HoldReturn LoanCompleted CompletedWithoutReturn
Overdue > Loaned Recalled HoldReturn LoanCompleted CompletedWithoutReturn
Recalled > Overdue HoldReturn LoanCompleted CompletedWithoutReturn
HoldReturn > ReleaseHoldReturn LoanCompleted CompletedWithoutReturn
ReleaseHoldReturn > Overdue Recalled LoanCompleted CompletedWithoutReturn
"""
FINAL = {"Unfilled", "RetryPossible", "Cancelled", "CopyCompleted", "LoanCompleted",
         "CompletedWithoutReturn"}
# how far along each status is: a lower number than the current one "goes backwards"
ORDER = [["RequestReceived"], ["ExpectToSupply"], ["WillSupply"], ["Loaned"],
         ["Overdue", "Recalled", "HoldReturn"], ["ReleaseHoldReturn"], sorted(FINAL)]
ACTIONS_TEXT = """
StatusRequest: - RequestReceived ExpectToSupply WillSupply Loaned Overdue Recalled HoldReturn ReleaseHoldReturn
Notification: - RequestReceived ExpectToSupply WillSupply Loaned Overdue Recalled HoldReturn ReleaseHoldReturn
Cancel: - RequestReceived ExpectToSupply WillSupply
Received: WillSupply Loaned Overdue Recalled
Renew: Loaned Overdue
ShippedReturn: Loaned Overdue Recalled ReleaseHoldReturn
ShippedForward: Loaned Overdue Recalled
HoldReturn: Loaned Overdue Recalled
Lost: Loaned Overdue Recalled HoldReturn ReleaseHoldReturn
"""


def _table(text: str, separator: str) -> dict[str, set[str]]:
    table = {}
    for line in text.strip().splitlines():
        left, right = line.split(separator)
        table[left.strip()] = set(right.split())
    return table


ALLOWED = _table(ALLOWED_TEXT, ">")
ACTIONS = _table(ACTIONS_TEXT, ":")
RANK = {status: rank for rank, group in enumerate(ORDER) for status in group}
STATES = ["-", *(status.value for status in Status)]


def expected_status_outcome(current: str, new: str) -> OutcomeKind:
    if current in FINAL:
        return OutcomeKind.REFUSED
    if new == current or new in ALLOWED[current]:
        return OutcomeKind.APPLIED
    if current != "-" and RANK[new] < RANK[current]:
        return OutcomeKind.IGNORED
    return OutcomeKind.REFUSED


def transaction_in(state: str, role: Role = Role.REQUESTER) -> Transaction:
    return Transaction(role=role, request_id="req-1", requester=REQUESTER, supplier=SUPPLIER,
                       status=None if state == "-" else Status(state),
                       last_supplier_message=None if state == "-" else T0)


def snapshot(transaction: Transaction) -> tuple:
    """Everything a transaction knows (outcomes hold exceptions, which compare by identity)."""
    return (transaction.request_id, transaction.requester, transaction.supplier,
            transaction.status, transaction.due_date, transaction.last_supplier_message,
            list(transaction.actions), {key: outcome.kind for key, outcome in
                                        transaction.seen.items()})


def status_message(status: Status, *, seconds: int = 1, supplier=SUPPLIER,
                   reason=ReasonForMessage.STATUS_CHANGE) -> m.SupplyingAgencyMessage:
    return full_supplying_message(Version.V2021_2, status, reason=reason, supplier=supplier,
                                  timestamp=T0 + timedelta(seconds=seconds))


def action_message(action: Action, *, seconds: int = 1, supplier=SUPPLIER
                   ) -> m.RequestingAgencyMessage:
    return full_requesting_message(Version.V2021_2, action, supplier=supplier,
                                   timestamp=T0 + timedelta(seconds=seconds))


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("new", [status.value for status in Status])
@pytest.mark.parametrize("current", STATES)
def test_every_status_transition(current, new, role):
    transaction = transaction_in(current, role)
    before = copy.deepcopy(transaction)
    outcome = transaction.apply(status_message(Status(new)))
    expected = expected_status_outcome(current, new)
    assert outcome.kind is expected, outcome.reason
    if expected is OutcomeKind.APPLIED:
        assert transaction.status is Status(new)
    else:
        assert transaction.status == before.status
        assert transaction.last_supplier_message == before.last_supplier_message
    if expected is OutcomeKind.REFUSED:
        assert outcome.answer is MessageStatus.ERROR
        assert outcome.error.error_type is ErrorType.UNRECOGNISED_DATA_VALUE
        assert new in outcome.error.error_value
    else:
        assert outcome.answer is MessageStatus.OK


@pytest.mark.parametrize("action", [action.value for action in Action])
@pytest.mark.parametrize("current", STATES)
def test_every_action_in_every_status(current, action):
    transaction = transaction_in(current, Role.SUPPLIER)
    outcome = transaction.apply(action_message(Action(action)))
    if current in ACTIONS[action]:
        assert outcome.kind is OutcomeKind.APPLIED
        assert transaction.actions == [Action(action)]
    else:
        assert outcome.kind is OutcomeKind.REFUSED
        assert outcome.error.error_type is ErrorType.UNSUPPORTED_ACTION_TYPE
        assert action in outcome.error.error_value
        assert transaction.actions == []


@pytest.mark.parametrize("final", sorted(FINAL))
def test_nothing_is_accepted_after_a_final_status(final):
    transaction = transaction_in(final)
    for message in (status_message(Status(final), reason=ReasonForMessage.NOTIFICATION),
                    action_message(Action.STATUS_REQUEST), action_message(Action.NOTIFICATION)):
        outcome = transaction.apply(message)
        assert outcome.kind is OutcomeKind.REFUSED
        assert final in outcome.error.error_value
    assert transaction.status is Status(final)


def _requester_with_request(supplier=SUPPLIER) -> Transaction:
    transaction = Transaction(Role.REQUESTER)
    request = full_request(Version.V2021_2)
    request = dataclasses.replace(request, header=dataclasses.replace(
        request.header, supplying_agency_id=supplier))
    assert transaction.apply(request).kind is OutcomeKind.APPLIED
    return transaction


def _next_request(supplier, seconds: int) -> m.Request:
    request = full_request(Version.V2021_2)
    return dataclasses.replace(request, header=dataclasses.replace(
        request.header, supplying_agency_id=supplier, timestamp=T0 + timedelta(seconds=seconds)))


def test_a_supplier_that_is_no_longer_current_is_refused():
    transaction = _requester_with_request()
    assert transaction.apply(status_message(Status.UNFILLED)).kind is OutcomeKind.APPLIED
    assert transaction.apply(_next_request(SUPPLIER_B, 2)).kind is OutcomeKind.APPLIED
    assert transaction.supplier == SUPPLIER_B and transaction.status is None
    late = status_message(Status.WILL_SUPPLY, seconds=3, supplier=SUPPLIER)
    outcome = transaction.apply(late)
    assert outcome.kind is OutcomeKind.REFUSED
    assert outcome.error.error_type is ErrorType.UNRECOGNISED_DATA_VALUE
    assert outcome.error.error_value.startswith("supplyingAgencyId: ISIL:DE-SUP is not the "
                                                "current supplier")
    answer = confirm(late, error=outcome.error, now=T0)
    assert answer.error_data[0].error_type is ErrorType.UNRECOGNISED_DATA_VALUE
    assert_valid(encode(answer), Version.V2021_2)
    assert transaction.apply(status_message(Status.LOANED, seconds=4, supplier=SUPPLIER_B)
                             ).kind is OutcomeKind.APPLIED
    assert transaction.status is Status.LOANED


@pytest.mark.parametrize("state", ["-", "RequestReceived", "WillSupply", "Loaned", "Cancelled",
                                   "LoanCompleted"])
def test_next_supplier_only_after_unfilled_or_retry_possible(state):
    transaction = _requester_with_request()
    transaction.status = None if state == "-" else Status(state)
    outcome = transaction.apply(_next_request(SUPPLIER_B, 2))
    assert outcome.kind is OutcomeKind.REFUSED
    assert transaction.supplier == SUPPLIER


def test_message_for_another_request_or_requester_is_refused():
    transaction = transaction_in("Loaned")
    other = status_message(Status.OVERDUE)
    other = dataclasses.replace(other, header=dataclasses.replace(
        other.header, requesting_agency_request_id="req-2"))
    assert "requestingAgencyRequestId" in transaction.apply(other).error.error_value
    stranger = action_message(Action.RENEW)
    stranger = dataclasses.replace(stranger, header=dataclasses.replace(
        stranger.header, requesting_agency_id=SUPPLIER_B))
    assert "requestingAgencyId" in transaction.apply(stranger).error.error_value
    assert transaction.status is Status.LOANED and transaction.actions == []


@pytest.mark.parametrize("first_state, message", [
    ("WillSupply", status_message(Status.LOANED)),                 # applied the first time
    ("Loaned", status_message(Status.WILL_SUPPLY)),                # ignored the first time
    ("Loaned", status_message(Status.UNFILLED)),                   # refused the first time
    ("Loaned", action_message(Action.RENEW)),
    ("-", action_message(Action.RENEW)),
])
def test_the_same_message_twice_changes_nothing_the_second_time(first_state, message):
    transaction = transaction_in(first_state)
    first = transaction.apply(message)
    after_first = snapshot(transaction)
    second = transaction.apply(message)
    assert second.kind is OutcomeKind.DUPLICATE and second.first is first
    assert second.answer is first.answer and second.error is first.error
    assert snapshot(transaction) == after_first


def test_a_resent_message_is_a_duplicate_even_from_another_decode():
    transaction = transaction_in("WillSupply")
    message = status_message(Status.LOANED)
    transaction.apply(message)
    resent = dataclasses.replace(message, message_info=dataclasses.replace(
        message.message_info, note="resent"))   # same timestamp, sender, reason, status
    assert transaction.apply(resent).kind is OutcomeKind.DUPLICATE
    newer = status_message(Status.LOANED, seconds=2, reason=ReasonForMessage.NOTIFICATION)
    assert transaction.apply(newer).kind is OutcomeKind.APPLIED


def test_an_older_message_arriving_late_is_ignored_and_answered_ok():
    transaction = transaction_in("WillSupply")
    assert transaction.apply(status_message(Status.OVERDUE, seconds=5)).kind is \
        OutcomeKind.REFUSED   # Overdue cannot follow WillSupply ...
    assert transaction.apply(status_message(Status.LOANED, seconds=5)).kind is \
        OutcomeKind.APPLIED
    assert transaction.apply(status_message(Status.OVERDUE, seconds=9)).kind is \
        OutcomeKind.APPLIED
    late = transaction.apply(status_message(Status.LOANED, seconds=7))   # renewal? no: older
    assert late.kind is OutcomeKind.IGNORED and late.answer is MessageStatus.OK
    assert transaction.status is Status.OVERDUE


def test_renewal_takes_an_overdue_loan_back_to_loaned_with_a_new_due_date():
    transaction = transaction_in("Overdue")
    assert transaction.apply(action_message(Action.RENEW)).kind is OutcomeKind.APPLIED
    renewed = status_message(Status.LOANED, seconds=2, reason=ReasonForMessage.RENEW_RESPONSE)
    assert transaction.apply(renewed).kind is OutcomeKind.APPLIED
    assert transaction.status is Status.LOANED
    assert transaction.due_date == renewed.status_info.due_date


def test_supplier_accepts_one_request_and_reminders():
    transaction = Transaction(Role.SUPPLIER)
    early = transaction.apply(status_message(Status.REQUEST_RECEIVED))
    assert early.kind is OutcomeKind.REFUSED and "no request" in early.error.error_value
    request = full_request(Version.V1_2)
    assert transaction.apply(request).kind is OutcomeKind.APPLIED
    again = _next_request(SUPPLIER, 5)
    assert transaction.apply(again).kind is OutcomeKind.REFUSED
    reminder = dataclasses.replace(again, header=dataclasses.replace(
        again.header, timestamp=T0 + timedelta(seconds=6)), service_info=dataclasses.replace(
        again.service_info, request_type=RequestType.REMINDER))
    assert transaction.apply(reminder).kind is OutcomeKind.APPLIED
    assert transaction.apply(status_message(Status.WILL_SUPPLY)).kind is OutcomeKind.APPLIED
    assert transaction.apply(action_message(Action.RECEIVED, seconds=8)).kind is \
        OutcomeKind.APPLIED


def test_a_backwards_status_is_logged_and_answered_ok(caplog):
    transaction = transaction_in("Loaned")
    with caplog.at_level("INFO", logger="protocols.iso18626.states"):
        outcome = transaction.apply(status_message(Status.EXPECT_TO_SUPPLY, seconds=3))
    assert outcome.kind is OutcomeKind.IGNORED and outcome.answer is MessageStatus.OK
    assert "ExpectToSupply goes backwards from Loaned" in caplog.text
    assert "req-1" in caplog.text
    answer = confirm(status_message(Status.EXPECT_TO_SUPPLY, seconds=3), outcome.answer,
                     outcome.error, now=T0)
    assert answer.confirmation_header.message_status is MessageStatus.OK
    assert_valid(encode(answer), Version.V2021_2)
