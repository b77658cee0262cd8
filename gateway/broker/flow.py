"""What the broker does with each message: the decisions on one request's ``Draft``.

The ISO 18626 state tables decide whether a message is accepted (``Draft.apply``); these
functions decide what follows from an accepted one:

* a lender's Unfilled (or RetryPossible), a lender that does not answer before its response
  deadline, a lender that closes, or one that refuses the request itself: the request goes to
  the next lender of the rota (closed members, and digital-only ones for a Loan, are skipped
  when their turn comes). The borrower hears of it only when the rota is exhausted: then it
  gets the last Unfilled and the request is ``unfilled``.
* a lender's other messages are forwarded to the borrower's system (when it has one) and move
  the request to ``completed`` (CopyCompleted, LoanCompleted, CompletedWithoutReturn) or
  ``cancelled``;
* a borrower's actions are forwarded to the current lender (when it has an endpoint; a member
  served inside LibGate sees them in its staff view).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from gateway.broker import messages as msgs
from gateway.broker.state import Draft, Peer
from protocols.iso18626 import model as m
from protocols.iso18626.codes import Action, ReasonForMessage, Status
from protocols.iso18626.states import ROTA_NEXT, Outcome, OutcomeKind

SIGNED_OUT = "signed by LibGate (libgate#gateway)"
INTERNAL = "none: inside LibGate"
DECISION = "none: LibGate's decision on the lender's behalf"
NO_ANSWER = frozenset({None, Status.REQUEST_RECEIVED})
BEFORE_SUPPLY = frozenset({None, Status.REQUEST_RECEIVED, Status.EXPECT_TO_SUPPLY,
                           Status.WILL_SUPPLY})
FINISHED = frozenset({Status.LOAN_COMPLETED, Status.COMPLETED_WITHOUT_RETURN,
                      Status.COPY_COMPLETED})
CONDITIONS_PREFIX = "Conditions:"
CONDITIONS_ACCEPTED = "ConditionsAccepted"


def skip_reason(peer: Peer, service_type: str) -> str | None:
    if peer.status == "closed":
        return "closed"
    if peer.status == "digital-only" and service_type != "Copy":
        return "closed"        # digital-only takes Copy requests only
    return None


def start(d: Draft) -> None:
    """Send a new (or released) request to the first lender that can take it."""
    d.set(state="in-progress", holds=[])
    d.events.append("started")
    next_lender(d, after=0, final=None)


def next_lender(d: Draft, *, after: int, final: m.SupplyingAgencyMessage | None) -> None:
    for position in range(after + 1, len(d.rota) + 1):
        peer = d.lender(position)
        skip = skip_reason(peer, d.row.service_type)
        if skip:
            d.set_entry(position, outcome=skip, answered_at=d.now)
            continue
        request = msgs.request_message(d.row, d.requester.code, peer.code, d.now, peer.version,
                                       position)
        outcome, index = d.apply(request, direction="out" if peer.url else "internal",
                                 peer=peer, signature=SIGNED_OUT if peer.url else INTERNAL)
        if outcome.kind is not OutcomeKind.APPLIED:
            raise RuntimeError(f"request {d.row.ref} to {peer.code}: {outcome.reason}")
        d.set(position=position, conditions=None,
              deadline_at=d.now + timedelta(hours=peer.response_hours))
        d.set_entry(position, outcome="sent", sent_at=d.now)
        d.send(index, peer, request)
        d.events.append(f"sent to {peer.code}")
        return
    d.set(state="unfilled", deadline_at=None)
    d.events.append("unfilled")
    if final is not None:
        forward_to_requester(d, final)


def forward_to_requester(d: Draft, message: m.SupplyingAgencyMessage) -> None:
    requester = d.requester
    if not requester.url:
        return
    copy = dataclasses.replace(message, version=requester.version)
    index = d.audit(direction="out", peer=requester, message=copy, signature=SIGNED_OUT,
                    outcome="forwarded to the borrower")
    d.send(index, requester, copy)


def conditions_of(message: m.SupplyingAgencyMessage) -> list[str]:
    found = [str(c) for c in (message.retry_info.loan_conditions if message.retry_info else ())]
    note = message.message_info.note or ""
    if note.startswith(CONDITIONS_PREFIX):
        listed = note[len(CONDITIONS_PREFIX):].split(";", 1)[0]     # "; " starts a remark
        found += [c.strip() for c in listed.split(",") if c.strip()]
    return list(dict.fromkeys(found))


def on_supplier_message(d: Draft, message: m.SupplyingAgencyMessage, *, direction: str,
                        peer: Peer | None, signature: str, raw: bytes | None = None
                        ) -> tuple[Outcome, int]:
    """A lender's message (from its endpoint, or its staff inside LibGate)."""
    outcome, index = d.apply(message, direction=direction, peer=peer, signature=signature,
                             raw=raw)
    if outcome.kind is not OutcomeKind.APPLIED:
        return outcome, index
    status, position = message.status_info.status, d.get("position")
    d.events.append(f"{status.value} from {peer.code if peer else '?'}")
    conditions = conditions_of(message)
    if conditions and status in BEFORE_SUPPLY:
        d.set(conditions={"lender": peer.code if peer else None, "conditions": conditions,
                          "note": message.message_info.note})
    if status in ROTA_NEXT:
        d.set_entry(position, outcome="unfilled", answered_at=d.now)
        next_lender(d, after=position, final=message)
        return outcome, index
    if status not in NO_ANSWER:
        d.set(deadline_at=None)
    if status in (Status.LOANED, Status.COPY_COMPLETED) \
            and d.entry_value(position, "outcome") != "supplied":
        d.set_entry(position, outcome="supplied", answered_at=d.now)
    if status in FINISHED:
        d.set(state="completed", conditions=None)
    elif status is Status.CANCELLED:
        d.set(state="cancelled", deadline_at=None, conditions=None)
        d.set_entry(position, outcome="cancelled", answered_at=d.now)
    forward_to_requester(d, message)
    return outcome, index


def give_up_on_lender(d: Draft, why: str, note: str) -> Outcome | None:
    """The current lender did not answer (or closed, or refused the request): Unfilled on its
    behalf, through the state tables like any message, then the next lender."""
    lender = d.lender()
    if lender is None or d.get("state") != "in-progress":
        return None
    unfilled = msgs.supplying_message(
        requester=d.requester.code, supplier=lender.code, ref=d.row.ref, now=d.now,
        status=Status.UNFILLED, reason_unfilled=why, note=note)
    outcome, _ = d.apply(unfilled, direction="internal", peer=lender, signature=DECISION)
    if outcome.kind is not OutcomeKind.APPLIED:
        return outcome
    position = d.get("position")
    d.set_entry(position, outcome={"NoAnswer": "no-answer", "Closed": "closed"}.get(
        why, "unfilled"), answered_at=d.now)
    d.events.append(f"{lender.code}: {note}")
    next_lender(d, after=position, final=unfilled)
    return outcome


def on_requester_action(d: Draft, message: m.RequestingAgencyMessage, *, from_system: bool,
                        signature: str, raw: bytes | None = None) -> tuple[Outcome, int]:
    """A borrower's action (from its ISO 18626 system, or its staff through the API)."""
    lender = d.lender()
    if from_system:
        direction, sig = "in", signature
    else:
        direction = "out" if lender is not None and lender.url else "internal"
        sig = SIGNED_OUT if direction == "out" else INTERNAL
    outcome, index = d.apply(message, direction=direction, peer=d.requester if from_system
                             else lender, signature=sig, raw=raw)
    if outcome.kind is not OutcomeKind.APPLIED:
        return outcome, index
    d.events.append(f"{message.action.value} by {d.requester.code}")
    if message.action is Action.NOTIFICATION and message.note == CONDITIONS_ACCEPTED:
        d.set(conditions=None)
    if lender is not None and lender.url:
        if from_system:
            copy = dataclasses.replace(message, version=lender.version)
            out = d.audit(direction="out", peer=lender, message=copy, signature=SIGNED_OUT,
                          outcome="forwarded to the lender")
            d.send(out, lender, copy)
        else:
            d.send(index, lender, message)
    return outcome, index


def supplier_reply(d: Draft, action: str, params: dict) -> m.SupplyingAgencyMessage:
    """The message a lender's staff action inside LibGate stands for."""
    lender, current = d.lender(), d.txn.status
    common = dict(requester=d.requester.code, supplier=lender.code, ref=d.row.ref, now=d.now,
                  note=params.get("note"))
    reasons = {None: ReasonForMessage.REQUEST_RESPONSE,
               Status.REQUEST_RECEIVED: ReasonForMessage.REQUEST_RESPONSE}
    simple = {"RequestReceived": Status.REQUEST_RECEIVED, "ExpectToSupply":
              Status.EXPECT_TO_SUPPLY, "WillSupply": Status.WILL_SUPPLY,
              "Loaned": Status.LOANED, "CopyCompleted": Status.COPY_COMPLETED,
              "Overdue": Status.OVERDUE, "Recalled": Status.RECALLED,
              "LoanCompleted": Status.LOAN_COMPLETED,
              "CompletedWithoutReturn": Status.COMPLETED_WITHOUT_RETURN}
    due = params.get("due_date")
    if action in simple:
        return msgs.supplying_message(
            **common, status=simple[action], due_date=due, url=params.get("url"),
            reason=reasons.get(current, ReasonForMessage.STATUS_CHANGE))
    if action == "Unfilled":
        return msgs.supplying_message(**common, status=Status.UNFILLED,
                                      reason=reasons.get(current, ReasonForMessage.STATUS_CHANGE),
                                      reason_unfilled=params.get("reason") or "NotAvailable")
    if action == "Conditions":
        conditions = [str(c) for c in params.get("conditions") or []]
        if not conditions:
            raise ValueError("Conditions needs a list of conditions")
        note = f"{CONDITIONS_PREFIX} {', '.join(conditions)}"
        if params.get("note"):
            note += f"; {params['note']}"
        return msgs.supplying_message(**{**common, "note": note},
                                      status=current or Status.EXPECT_TO_SUPPLY,
                                      reason=ReasonForMessage.NOTIFICATION)
    if action in ("CancelResponse", "RenewResponse"):
        accept = bool(params.get("accept"))
        if action == "CancelResponse":
            status = Status.CANCELLED if accept else (current or Status.REQUEST_RECEIVED)
            reason = ReasonForMessage.CANCEL_RESPONSE
        else:
            status, reason = current or Status.LOANED, ReasonForMessage.RENEW_RESPONSE
        return msgs.supplying_message(**common, status=status, reason=reason,
                                      due_date=due if accept else None,
                                      answer=msgs.YesNo.YES if accept else msgs.YesNo.NO)
    raise ValueError(f"unknown lender action {action!r}")
