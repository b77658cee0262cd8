"""10,000 ISO 18626 messages - 10 % duplicates, 10 % out of order, 5 % malformed - through
decode -> Transaction.apply end in the same states as an independently written oracle.

The generator knows the truth the implementation has to work out: which deliveries are copies
of one message (a serial number, not the header fields ``dedupe_key`` uses) and which are
corrupt. The oracle applies the hand-transcribed tables of test_iso18626_states (not
states.py) to the logical events in delivery order.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from protocols.iso18626 import model as m
from protocols.iso18626.codec import decode, encode
from protocols.iso18626.codes import (
    Action, CodedValue, MessageStatus, ReasonForMessage, ServiceType, Status, Version,
)
from protocols.iso18626.confirm import confirm
from protocols.iso18626.errors import Iso18626Error
from protocols.iso18626.states import OutcomeKind, Role, Transaction
from tests.protocols.iso18626_helpers import T0, assert_valid
from tests.protocols.test_iso18626_states import ACTIONS, ALLOWED, FINAL, RANK

TOTAL, DUPLICATES, MOVED, MALFORMED = 10_000, 1_000, 1_000, 500
REQUESTER = m.AgencyId(type=CodedValue("ISIL"), value="DE-REQ")
SUPPLIERS = [m.AgencyId(type=CodedValue("ISIL"), value=f"DE-SUP-{n}") for n in "ABC"]
S, A = Status, Action

# Scenarios as (sender, what, supplier index): "R" a request to that supplier, "S" a
# supplier status, "A" a requester action. Some include a confused supplier (backwards
# status) and messages after the end, so refusals are not only caused by the perturbations.
SCENARIOS: list[list[tuple[str, object, int]]] = [
    [("R", None, 0), ("S", S.REQUEST_RECEIVED, 0), ("S", S.EXPECT_TO_SUPPLY, 0),
     ("S", S.WILL_SUPPLY, 0), ("S", S.LOANED, 0), ("A", A.RECEIVED, 0), ("A", A.RENEW, 0),
     ("S", S.LOANED, 0), ("S", S.OVERDUE, 0), ("A", A.SHIPPED_RETURN, 0),
     ("S", S.LOAN_COMPLETED, 0)],
    [("R", None, 0), ("S", S.REQUEST_RECEIVED, 0), ("S", S.WILL_SUPPLY, 0),
     ("S", S.COPY_COMPLETED, 0)],
    [("R", None, 0), ("S", S.REQUEST_RECEIVED, 0), ("S", S.UNFILLED, 0), ("R", None, 1),
     ("S", S.REQUEST_RECEIVED, 1), ("S", S.RETRY_POSSIBLE, 1), ("R", None, 2),
     ("S", S.LOANED, 2), ("A", A.RECEIVED, 2), ("S", S.RECALLED, 2),
     ("A", A.SHIPPED_RETURN, 2), ("S", S.LOAN_COMPLETED, 2)],
    [("R", None, 0), ("S", S.REQUEST_RECEIVED, 0), ("A", A.STATUS_REQUEST, 0),
     ("A", A.CANCEL, 0), ("S", S.CANCELLED, 0), ("A", A.NOTIFICATION, 0)],
    [("R", None, 0), ("S", S.WILL_SUPPLY, 0), ("S", S.LOANED, 0), ("S", S.WILL_SUPPLY, 0),
     ("S", S.HOLD_RETURN, 0), ("S", S.RELEASE_HOLD_RETURN, 0), ("A", A.SHIPPED_RETURN, 0),
     ("S", S.LOAN_COMPLETED, 0), ("S", S.LOANED, 0)],
]


@dataclass
class Event:
    serial: int
    request_id: str
    sender: str
    what: object
    supplier: int
    seconds: int
    message: m.AgencyMessage


def _header(version: Version, request_id: str, supplier: int, seconds: int) -> m.Header:
    return m.Header(supplying_agency_id=SUPPLIERS[supplier], requesting_agency_id=REQUESTER,
                    timestamp=T0 + timedelta(seconds=seconds),
                    requesting_agency_request_id=request_id)


def _message(version: Version, event: tuple[str, object, int], request_id: str,
             seconds: int) -> m.AgencyMessage:
    sender, what, supplier = event
    header = _header(version, request_id, supplier, seconds)
    if sender == "R":
        return m.Request(version=version, header=header,
                         bibliographic_info=m.BibliographicInfo(title=f"Title {request_id}"),
                         service_info=m.ServiceInfo(service_type=ServiceType.LOAN))
    if sender == "A":
        return m.RequestingAgencyMessage(version=version, header=header, action=what)
    return m.SupplyingAgencyMessage(
        version=version, header=header,
        message_info=m.MessageInfo(reason_for_message=ReasonForMessage.STATUS_CHANGE),
        status_info=m.StatusInfo(status=what, last_change=header.timestamp))


def generate(rng: random.Random, count: int) -> list[Event]:
    """``count`` logical messages of many transactions, interleaved, each in its own order."""
    queues: list[list[Event]] = []
    serial = 0
    while serial < count:
        number = len(queues)
        script = SCENARIOS[rng.randrange(len(SCENARIOS))][: count - serial]
        only_2021 = any(not getattr(what, "allowed_in", lambda v: True)(Version.V1_2)
                        for _, what, _ in script)
        version = Version.V2021_2 if number % 2 or only_2021 else Version.V1_2
        queue = []
        for step, event in enumerate(script):
            request_id = f"req-{number}"
            seconds = number * 1000 + step
            queue.append(Event(serial, request_id, event[0], event[1], event[2], seconds,
                               _message(version, event, request_id, seconds)))
            serial += 1
        queues.append(queue)
    events: list[Event] = []
    open_queues = [q for q in queues if q]
    while open_queues:
        queue = open_queues[rng.randrange(min(len(open_queues), 40))]   # ~40 in flight
        events.append(queue.pop(0))
        if not queue:
            open_queues.remove(queue)
    return events


def corrupt(body: bytes, rng: random.Random) -> bytes:
    """A delivery that cannot be read - each way is certain to be refused."""
    way = rng.randrange(3)
    if way == 0:
        return body[: len(body) // 2]                                   # cut off
    if way == 1:
        return body.replace(b"<header>", b"<header><colour>blue</colour>", 1)   # unknown element
    return body.replace(b"<?xml version='1.0' encoding='UTF-8'?>",        # XXE
                        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM '
                        b'"file:///etc/passwd">]>', 1)


@dataclass
class Delivery:
    event: Event
    body: bytes
    corrupt: bool


def perturb(events: list[Event], rng: random.Random) -> list[Delivery]:
    deliveries = [Delivery(event, encode(event.message), False) for event in events]
    for _ in range(MOVED):   # a message overtaken by a later one of the same transaction
        while True:
            index = rng.randrange(len(deliveries) - 1)
            later = next((j for j in range(index + 1, min(index + 60, len(deliveries)))
                          if deliveries[j].event.request_id
                          == deliveries[index].event.request_id), None)
            if later is not None:
                deliveries.insert(later, deliveries.pop(index))
                break
    for _ in range(DUPLICATES):   # delivered again, a little later
        index = rng.randrange(len(deliveries))
        copy = Delivery(deliveries[index].event, deliveries[index].body, False)
        deliveries.insert(min(len(deliveries), index + rng.randrange(1, 30)), copy)
    for index in rng.sample(range(len(deliveries)), MALFORMED):
        delivery = deliveries[index]
        deliveries[index] = Delivery(delivery.event, corrupt(delivery.body, rng), True)
    return deliveries


@dataclass
class OracleState:
    requested: bool = False
    supplier: int | None = None
    status: str | None = None
    last_seconds: int | None = None
    actions: list[str] = field(default_factory=list)
    answers: dict[int, bool] = field(default_factory=dict)   # serial -> answered OK


def oracle(state: OracleState, event: Event) -> bool:
    """Answer OK? - the rules of the ISO 18626 tables, written out step by step."""
    if event.serial in state.answers:
        return state.answers[event.serial]
    ok = _oracle_step(state, event)
    state.answers[event.serial] = ok
    return ok


def _oracle_step(state: OracleState, event: Event) -> bool:
    if event.sender == "R":
        if not state.requested:
            state.requested, state.supplier = True, event.supplier
            return True
        if state.status in ("Unfilled", "RetryPossible"):
            state.supplier, state.status, state.last_seconds = event.supplier, None, None
            return True
        return False
    if not state.requested or event.supplier != state.supplier:
        return False
    current = state.status or "-"
    if event.sender == "A":
        if current in ACTIONS[event.what.value]:
            state.actions.append(event.what.value)
            return True
        return False
    new = event.what.value
    if state.last_seconds is not None and event.seconds < state.last_seconds:
        return True                                      # stale: ignored
    if current in FINAL:
        return False
    if new == current or new in ALLOWED[current]:
        state.status, state.last_seconds = new, event.seconds
        return True
    return current != "-" and RANK[new] < RANK[current]  # backwards: ignored; else refused


def test_ten_thousand_messages_end_like_the_oracle():
    rng = random.Random(18626)
    deliveries = perturb(generate(rng, TOTAL - DUPLICATES), rng)
    assert len(deliveries) == TOTAL

    transactions: dict[str, Transaction] = {}
    oracle_states: dict[str, OracleState] = {}
    kinds: Counter[str] = Counter()
    for number, delivery in enumerate(deliveries):
        event = delivery.event
        expected_ok = False if delivery.corrupt else oracle(
            oracle_states.setdefault(event.request_id, OracleState()), event)
        try:
            message = decode(delivery.body)
        except Iso18626Error as error:
            kinds["malformed"] += 1
            answer = confirm(error, now=T0)
        else:
            transaction = transactions.setdefault(message.header.requesting_agency_request_id,
                                                  Transaction(Role.REQUESTER))
            outcome = transaction.apply(message)
            kinds[outcome.kind.value] += 1
            answer = confirm(message, outcome.answer, outcome.error, now=T0)
        ok = answer.confirmation_header.message_status is MessageStatus.OK
        assert bool(answer.error_data) == (not ok)   # every ERROR says why
        assert ok == expected_ok, f"delivery {number}: {event} {delivery.corrupt}"
        if number % 97 == 0:
            assert_valid(encode(answer), answer.version)

    assert transactions.keys() == oracle_states.keys()
    for request_id, transaction in transactions.items():
        state = oracle_states[request_id]
        assert (transaction.status.value if transaction.status else None) == state.status, \
            request_id
        assert transaction.supplier == (SUPPLIERS[state.supplier] if state.requested else None)
        assert [action.value for action in transaction.actions] == state.actions

    # the perturbations really happened and were seen as such
    assert kinds["malformed"] == MALFORMED
    assert kinds[OutcomeKind.DUPLICATE.value] >= DUPLICATES * 0.8
    assert kinds[OutcomeKind.IGNORED.value] > 100
    assert kinds[OutcomeKind.REFUSED.value] > 100
    finals = Counter(t.status.value for t in transactions.values() if t.status)
    assert finals["LoanCompleted"] > 50 and finals["CopyCompleted"] > 50
