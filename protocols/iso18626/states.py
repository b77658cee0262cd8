"""The ISO 18626 state machine as tables, and ``Transaction.apply``, the one place it changes.

Every status of a transaction is set by the supplier's messages (supplyingAgencyMessage
statusInfo/status); the requester's messages (request, requestingAgencyMessage actions) are
allowed or refused by that status. So both sides read the same two tables:

* ``STATUS_TRANSITIONS[current]`` - the statuses a supplier may move to from ``current``
  (``None`` = requested, no supplier message yet);
* ``ACTION_ALLOWED[action]`` - the statuses in which the requester may send ``action``.

and differ only where the request itself is concerned (``Role``): a requester moves on to the
next supplier of its rota with a new request after Unfilled/RetryPossible (``ROTA_NEXT``); a
supplier accepts one request per requestingAgencyRequestId (later ones only as Reminder).

``Transaction.apply(message)`` runs the checks in this order and returns an ``Outcome``:

1. duplicate: the same message seen before (see ``dedupe_key``) -> DUPLICATE, the first
   outcome is repeated and nothing changes;
2. not this transaction (request id, requester, or a supplier that is no longer the current
   one) -> REFUSED with UnrecognisedDataValue naming the element;
3. stale: a supplier message older (header timestamp) than the last one applied -> IGNORED,
   answered OK (it arrived out of order; the newer one already told the current status);
4. after a final status (``TERMINAL``) -> REFUSED;
5. status: same -> APPLIED (no change); in the table -> APPLIED; lower ``PROGRESS`` (goes
   backwards) -> IGNORED, logged and answered OK; anything else -> REFUSED;
   action: allowed in the current status -> APPLIED, else REFUSED (UnsupportedActionType).

A refused message changes nothing; the refusal is an ``Iso18626Error`` for ``confirm``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from protocols.iso18626 import model as m
from protocols.iso18626.codes import Action, MessageStatus, RequestType, Status
from protocols.iso18626.errors import (
    Iso18626Error, UnrecognisedDataValue, UnsupportedActionType,
)

log = logging.getLogger(__name__)

S = Status
_BEFORE_SUPPLY = frozenset({S.REQUEST_RECEIVED, S.EXPECT_TO_SUPPLY, S.WILL_SUPPLY})
_ON_LOAN = frozenset({S.LOANED, S.OVERDUE, S.RECALLED})
_ENDS_OF_LOAN = frozenset({S.LOAN_COMPLETED, S.COMPLETED_WITHOUT_RETURN})
_NOT_SUPPLIED = frozenset({S.UNFILLED, S.RETRY_POSSIBLE, S.CANCELLED})

TERMINAL: frozenset[Status] = frozenset({
    S.UNFILLED, S.RETRY_POSSIBLE, S.CANCELLED, S.COPY_COMPLETED, *_ENDS_OF_LOAN})

STATUS_TRANSITIONS: dict[Status | None, frozenset[Status]] = {
    None: _BEFORE_SUPPLY | {S.LOANED, S.COPY_COMPLETED} | _NOT_SUPPLIED,
    S.REQUEST_RECEIVED: {S.EXPECT_TO_SUPPLY, S.WILL_SUPPLY, S.LOANED, S.COPY_COMPLETED}
    | _NOT_SUPPLIED,
    S.EXPECT_TO_SUPPLY: {S.WILL_SUPPLY, S.LOANED, S.COPY_COMPLETED} | _NOT_SUPPLIED,
    S.WILL_SUPPLY: {S.LOANED, S.COPY_COMPLETED} | _NOT_SUPPLIED,
    S.LOANED: {S.OVERDUE, S.RECALLED, S.HOLD_RETURN} | _ENDS_OF_LOAN,
    S.OVERDUE: {S.LOANED, S.RECALLED, S.HOLD_RETURN} | _ENDS_OF_LOAN,   # Loaned: renewed
    S.RECALLED: {S.OVERDUE, S.HOLD_RETURN} | _ENDS_OF_LOAN,
    S.HOLD_RETURN: {S.RELEASE_HOLD_RETURN} | _ENDS_OF_LOAN,
    S.RELEASE_HOLD_RETURN: {S.OVERDUE, S.RECALLED} | _ENDS_OF_LOAN,
    **{status: frozenset() for status in TERMINAL},
}

# How far a transaction has come; a status not in the table with a lower rank "goes
# backwards" (a late or confused message) and is ignored rather than refused.
PROGRESS: dict[Status, int] = {
    S.REQUEST_RECEIVED: 1, S.EXPECT_TO_SUPPLY: 2, S.WILL_SUPPLY: 3, S.LOANED: 4,
    S.OVERDUE: 5, S.RECALLED: 5, S.HOLD_RETURN: 5, S.RELEASE_HOLD_RETURN: 6,
    **{status: 9 for status in TERMINAL},
}

_OPEN = frozenset({None, *_BEFORE_SUPPLY, *_ON_LOAN, S.HOLD_RETURN, S.RELEASE_HOLD_RETURN})
ACTION_ALLOWED: dict[Action, frozenset[Status | None]] = {
    Action.STATUS_REQUEST: _OPEN,
    Action.NOTIFICATION: _OPEN,
    Action.CANCEL: frozenset({None, *_BEFORE_SUPPLY}),
    Action.RECEIVED: frozenset({S.WILL_SUPPLY, *_ON_LOAN}),   # WillSupply: Loaned still on its way
    Action.RENEW: frozenset({S.LOANED, S.OVERDUE}),
    Action.SHIPPED_RETURN: frozenset({*_ON_LOAN, S.RELEASE_HOLD_RETURN}),
    Action.SHIPPED_FORWARD: _ON_LOAN,
    Action.HOLD_RETURN: _ON_LOAN,
    Action.LOST: frozenset({*_ON_LOAN, S.HOLD_RETURN, S.RELEASE_HOLD_RETURN}),
}

# A requester sends its request to the next supplier of the rota only when the current one
# has given up on it.
ROTA_NEXT: frozenset[Status] = frozenset({S.UNFILLED, S.RETRY_POSSIBLE})


class Role(str, Enum):
    REQUESTER = "requester"
    SUPPLIER = "supplier"


class OutcomeKind(str, Enum):
    APPLIED = "applied"
    IGNORED = "ignored"       # stale or backwards: logged, answered OK
    DUPLICATE = "duplicate"   # seen before: the first outcome stands
    REFUSED = "refused"       # answered with an ERROR confirmation


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    reason: str
    error: Iso18626Error | None = None   # the refusal (for DUPLICATE: the first one's)
    first: Outcome | None = None         # for DUPLICATE: the outcome of the first delivery

    @property
    def answer(self) -> MessageStatus:
        original = self.first or self
        return MessageStatus.ERROR if original.kind is OutcomeKind.REFUSED else MessageStatus.OK


DedupeKey = tuple[str, ...]


def dedupe_key(message: m.AgencyMessage) -> DedupeKey:
    """How a message delivered twice is recognised.

    A peer that resends (its confirmation was lost) resends the same message, header timestamp
    included. So a message is the same as one seen before when kind, sending agency and
    timestamp match - and, in case a peer's clock is coarse, also what it says (status and
    reason; action; request id).
    """
    header = message.header
    stamp = header.timestamp.isoformat()
    if isinstance(message, m.SupplyingAgencyMessage):
        return (message.kind.value, str(header.supplying_agency_id), stamp,
                message.message_info.reason_for_message.value, message.status_info.status.value)
    if isinstance(message, m.RequestingAgencyMessage):
        return (message.kind.value, str(header.requesting_agency_id), stamp,
                message.action.value)
    return (message.kind.value, str(header.requesting_agency_id), stamp,
            header.requesting_agency_request_id, str(header.supplying_agency_id))


@dataclass
class Transaction:
    """One ILL transaction as one side sees it; change it only through ``apply``."""

    role: Role
    request_id: str | None = None
    requester: m.AgencyId | None = None
    supplier: m.AgencyId | None = None
    status: Status | None = None
    due_date: datetime | None = None
    last_supplier_message: datetime | None = None
    actions: list[Action] = field(default_factory=list)
    seen: dict[DedupeKey, Outcome] = field(default_factory=dict)

    @property
    def requested(self) -> bool:
        return self.request_id is not None

    @property
    def closed(self) -> bool:
        return self.status in TERMINAL

    def apply(self, message: m.AgencyMessage) -> Outcome:
        """Apply one message (received or sent) and say what happened."""
        key = dedupe_key(message)
        first = self.seen.get(key)
        if first is not None:
            return Outcome(OutcomeKind.DUPLICATE, f"already seen: {first.reason}",
                           error=first.error, first=first)
        if isinstance(message, m.Request):
            outcome = self._request(message)
        elif isinstance(message, m.SupplyingAgencyMessage):
            outcome = self._supplying(message)
        elif isinstance(message, m.RequestingAgencyMessage):
            outcome = self._requesting(message)
        else:
            raise TypeError(f"{type(message).__name__} does not change a transaction")
        self.seen[key] = outcome
        if outcome.kind is not OutcomeKind.APPLIED:
            log.info("ISO 18626 %s %s for request %s: %s", message.kind.value,
                     outcome.kind.value, self.request_id, outcome.reason)
        return outcome

    # -- the three message kinds ----------------------------------------------------------

    def _request(self, request: m.Request) -> Outcome:
        header = request.header
        if not self.requested:
            self.request_id = header.requesting_agency_request_id
            self.requester = header.requesting_agency_id
            self.supplier = header.supplying_agency_id
            return _applied(f"request {self.request_id} to {self.supplier}")
        refused = self._not_ours(header, check_supplier=False)
        if refused:
            return refused
        service = request.service_info
        if self.role is Role.SUPPLIER:
            if service is not None and service.request_type is RequestType.REMINDER \
                    and not self.closed:
                return _applied("reminder")
            return _refuse(UnrecognisedDataValue(
                f"requestingAgencyRequestId: request {self.request_id} already exists"))
        if self.status in ROTA_NEXT:
            previous = self.supplier
            self.supplier, self.status = header.supplying_agency_id, None
            self.last_supplier_message, self.due_date = None, None
            return _applied(f"next supplier {self.supplier} after {previous}")
        return _refuse(UnrecognisedDataValue(
            f"supplyingAgencyId: request {self.request_id} is still "
            f"{self.status.value if self.status else 'open'} with {self.supplier}"))

    def _supplying(self, message: m.SupplyingAgencyMessage) -> Outcome:
        header = message.header
        if not self.requested:
            return _refuse(UnrecognisedDataValue(
                f"requestingAgencyRequestId: no request {header.requesting_agency_request_id}"))
        refused = self._not_ours(header, check_supplier=self.supplier is not None)
        if refused:
            return refused
        new = message.status_info.status
        if self.last_supplier_message is not None and header.timestamp < self.last_supplier_message:
            return _ignored(f"stale {new.value} of {header.timestamp.isoformat()}; "
                            f"{self.status.value if self.status else None} is newer")
        current = self.status
        if current in TERMINAL:
            return _refuse(UnrecognisedDataValue(
                f"status: request {self.request_id} is already {current.value} (final); "
                f"{new.value} is not accepted"))
        if new is not current and new not in STATUS_TRANSITIONS[current]:
            if current is not None and PROGRESS[new] < PROGRESS[current]:
                return _ignored(f"{new.value} goes backwards from {current.value}")
            return _refuse(UnrecognisedDataValue(
                f"status: {new.value} cannot follow {current.value if current else 'the request'}"))
        if self.supplier is None:
            self.supplier = header.supplying_agency_id
        self.status = new
        self.last_supplier_message = header.timestamp
        if message.status_info.due_date is not None:
            self.due_date = message.status_info.due_date
        return _applied(f"{current.value if current else None} -> {new.value}")

    def _requesting(self, message: m.RequestingAgencyMessage) -> Outcome:
        header = message.header
        if not self.requested:
            return _refuse(UnrecognisedDataValue(
                f"requestingAgencyRequestId: no request {header.requesting_agency_request_id}"))
        refused = self._not_ours(header, check_supplier=self.supplier is not None)
        if refused:
            return refused
        action, status = message.action, self.status
        if status not in ACTION_ALLOWED[action]:
            state = f"{status.value}{' (final)' if status in TERMINAL else ''}" if status \
                else "requested"
            return _refuse(UnsupportedActionType(
                f"action: {action.value} is not possible while the request is {state}"))
        self.actions.append(action)
        return _applied(f"action {action.value}")

    def _not_ours(self, header: m.Header, *, check_supplier: bool) -> Outcome | None:
        if header.requesting_agency_request_id != self.request_id:
            return _refuse(UnrecognisedDataValue(
                f"requestingAgencyRequestId: {header.requesting_agency_request_id!r} is not "
                f"request {self.request_id!r}"))
        if self.requester is not None and not self.requester.same_agency(
                header.requesting_agency_id):
            return _refuse(UnrecognisedDataValue(
                f"requestingAgencyId: {header.requesting_agency_id} did not send request "
                f"{self.request_id}"))
        if check_supplier and not self.supplier.same_agency(header.supplying_agency_id):
            return _refuse(UnrecognisedDataValue(
                f"supplyingAgencyId: {header.supplying_agency_id} is not the current supplier "
                f"of request {self.request_id} ({self.supplier} is)"))
        return None


def _applied(reason: str) -> Outcome:
    return Outcome(OutcomeKind.APPLIED, reason)


def _ignored(reason: str) -> Outcome:
    return Outcome(OutcomeKind.IGNORED, reason)


def _refuse(error: Iso18626Error) -> Outcome:
    return Outcome(OutcomeKind.REFUSED, error.error_value, error=error)
