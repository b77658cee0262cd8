"""The broker: new requests, received messages, staff actions, deadlines — and what is sent.

Every change of a request goes through ``state.change`` (one DB transaction, version-checked);
messages to members are POSTed only after that commit (``dispatch``), signed with LibGate's
key. A lender that answers LibGate's request with an ERROR confirmation is treated like one
that said Unfilled; one that cannot be reached keeps the request until its response deadline.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp
import sqlalchemy as sa

from config.settings import Settings
from connectors.errors import ConnectorError
from connectors.iso18626 import Iso18626Connector
from gateway import access_links, copyright
from gateway.broker import flow, queries, webhooks
from gateway.broker import messages as msgs
from gateway.broker import requests as new_requests
from gateway.broker.state import (
    Draft, PeerCache, RequestNotFound, RowCache, Send, audit_only, change, refused_audit,
    set_answer,
)
from gateway.registry import RegistryError
from gateway.security.keys import GatewayKey
from gateway.security.signatures import SignedBy
from gateway.posture import effective_statuses
from gateway.security.tokens import Principal
from gateway.store import Store
from gateway.store.engine import as_utc
from gateway.store.schema import ill_requests, members
from protocols.httpsig import sign_request
from protocols.iso18626 import model as m
from protocols.iso18626.codec import encode
from protocols.iso18626.codes import Action, MessageStatus
from protocols.iso18626.confirm import confirm
from protocols.iso18626.errors import UnrecognisedDataValue
from protocols.iso18626.states import OutcomeKind

log = logging.getLogger(__name__)

REQUESTER_ACTIONS = ("Received", "ShippedReturn", "Cancel", "Renew", "StatusRequest",
                     "Notification", "AcceptConditions", "RejectConditions", "Confirm")
SUPPLIER_ACTIONS = ("RequestReceived", "ExpectToSupply", "WillSupply", "Unfilled", "Loaned",
                    "CopyCompleted", "Overdue", "Recalled", "LoanCompleted",
                    "CompletedWithoutReturn", "Conditions", "CancelResponse", "RenewResponse")


class ActionRefused(RegistryError):
    status_hint = 409


class NotAParty(RegistryError):
    status_hint = 404


class Broker:
    def __init__(self, store: Store, settings: Settings, key: GatewayKey,
                 session: aiohttp.ClientSession | None = None, *, files_dir: Any = None) -> None:
        self.store = store
        self.settings = settings
        self.key = key
        self.session = session
        self.files_dir = files_dir
        self.tasks: set[asyncio.Task] = set()
        self.hooks = webhooks.Webhooks(store, self)
        self.peers = PeerCache()
        self.rows = RowCache()

    # -- sending ----------------------------------------------------------------------------

    def sign(self, method: str, url: str, headers: Mapping[str, str],
             body: bytes) -> Mapping[str, str]:
        return sign_request(method, url, headers, body, key_id=self.key.key_id,
                            private_key=self.key.private_key)

    def spawn(self, coroutine: Coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("ILL broker background task failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait until every message and webhook queued so far has been sent (tests, shutdown)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def after(self, draft: Draft, *, wait: bool) -> None:
        sends = [send for _, send in draft.sends]
        work = self._after(draft, sends)
        if wait:
            await work
        else:
            self.spawn(work)

    async def _after(self, draft: Draft, sends: list[Send]) -> None:
        if draft.events:
            self.hooks.notify(draft)
        for send in sends:
            await self._deliver(send)

    async def _deliver(self, send: Send) -> None:
        if self.session is None or not send.peer.url:
            return
        connector = Iso18626Connector(send.peer.url, self.session, sign=self.sign)
        try:
            answer = await connector.send(send.message)
        except ConnectorError as exc:
            log.warning("ILL %s to %s not delivered: %s", send.message.kind.value,
                        send.peer.code, exc)
            if send.audit_id:
                await set_answer(self.store, send.audit_id, outcome=f"not delivered: {exc}",
                                 answer=None)
            return
        status = answer.confirmation_header.message_status
        errors = "; ".join(f"{e.error_type.value}: {e.error_value}" for e in answer.error_data)
        if send.audit_id:
            await set_answer(self.store, send.audit_id, answer=encode(answer),
                             outcome=status.value + (f" ({errors})" if errors else ""))
        if status is MessageStatus.ERROR and isinstance(send.message, m.Request):
            # the lender refuses the request itself: as good as Unfilled, move on
            await self.give_up(send.request_id, send.peer.code, "RequestRefused",
                               f"{send.peer.code} refused the request: {errors or 'ERROR'}",
                               wait=True)

    # -- new requests -----------------------------------------------------------------------

    async def create(self, principal: Principal, body: dict[str, Any], *,
                     now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        request_id, state = await new_requests.create(self.store, self.settings, principal,
                                                      body, now=now)
        if state == "in-progress":
            _, draft = await change(self.store, request_id, now, flow.start, rows=self.rows)
            await self.after(draft, wait=True)
        return await self.show(principal, request_id)

    async def show(self, principal: Principal, request_id: int) -> dict[str, Any]:
        async with self.store.connect() as conn:
            found = await queries.get_request(conn, principal, request_id)
        if found is None:
            raise NotAParty(f"no ILL request {request_id} of yours")
        return found

    # -- received messages ------------------------------------------------------------------

    async def receive(self, message: m.AgencyMessage, signed_by: SignedBy | None, raw: bytes,
                      verdict: str, *, now: datetime | None = None
                      ) -> tuple[m.Confirmation, bytes]:
        """Apply a verified message from a member's system; the confirmation to answer, and
        its XML (encoded once: the audit keeps the same text)."""
        now = now or datetime.now(UTC)
        header = message.header
        if isinstance(message, m.Request):
            answer = await new_requests.receive_request(self, message, raw, verdict, now,
                                                        signed_by)
            return answer, encode(answer)
        sender = signed_by.member if signed_by else None
        answer_box: list[tuple[m.Confirmation, bytes]] = []

        def decide(d: Draft):
            peer = next((p for p in d.peers.values() if p.code == sender), None)
            if isinstance(message, m.SupplyingAgencyMessage):
                outcome, index = flow.on_supplier_message(
                    d, message, direction="in", peer=peer, signature=verdict, raw=raw)
            else:
                outcome, index = flow.on_requester_action(
                    d, message, from_system=True, signature=verdict, raw=raw)
            original = outcome.first or outcome
            answer = confirm(message, error=original.error,
                             status=MessageStatus.ERROR if original.kind is OutcomeKind.REFUSED
                             else None, now=now)
            xml = encode(answer)
            d.audits[index]["answer"] = xml.decode()
            answer_box[:] = [(answer, xml)]
            return outcome

        target = (header.requesting_agency_id.value if header.requesting_agency_id else "",
                  header.requesting_agency_request_id)
        try:
            _, draft = await change(self.store, target, now, decide, peers_cache=self.peers,
                                    rows=self.rows, nonce=signed_by)
        except RequestNotFound:
            error = UnrecognisedDataValue(
                f"requestingAgencyRequestId: no request {header.requesting_agency_request_id!r} "
                f"of {header.requesting_agency_id}")
            answer = confirm(message, error=error, now=now)
            await audit_only(self.store, refused_audit(message, raw, verdict, now, answer, error),
                             nonce=signed_by)
            return answer, encode(answer)
        await self.after(draft, wait=False)
        return answer_box[0]

    # -- staff actions ----------------------------------------------------------------------

    async def act(self, principal: Principal, request_id: int, action: str,
                  params: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        async with self.store.connect() as conn:
            row = await queries.party_of(conn, principal, request_id)
        if row is None:
            raise NotAParty(f"no ILL request {request_id} of yours")
        if action in REQUESTER_ACTIONS:
            if not principal.acts_for(row.requester):
                raise ActionRefused(f"{action} is the borrower's action; request {row.ref} "
                                    f"was made by {row.requester}")
            if action == "Confirm":
                await self._decide_copyright(row, params)
            decide = self._requester_decision(action, params)
        elif action in SUPPLIER_ACTIONS:
            if row.supplier is None or not principal.acts_for(row.supplier):
                raise ActionRefused(f"{action} is the current lender's action; request "
                                    f"{row.ref} is with {row.supplier or 'no lender'}")
            params = await self._with_delivery(action, params, row, now)
            decide = self._supplier_decision(action, params, row.supplier)
        else:
            raise RegistryError(f"unknown action {action!r}; expected one of "
                                f"{', '.join(REQUESTER_ACTIONS + SUPPLIER_ACTIONS)}")
        outcome, draft = await change(self.store, request_id, now, decide,
                                      peers_cache=self.peers, rows=self.rows)
        if outcome is not None and outcome.kind is OutcomeKind.REFUSED:
            raise ActionRefused(f"{action} refused: {outcome.reason}")
        await self.after(draft, wait=True)
        return await self.show(principal, request_id)

    async def _decide_copyright(self, row: Any, params: dict[str, Any]) -> None:
        """Releasing a copy held beyond the rule of five records the staff decision: pay a
        royalty (the default), or refuse — then the request is cancelled, nothing is sent."""
        decision = params.get("copyright", "royalty")
        for hold in row.holds or []:
            if hold.get("kind") == "copyright":
                async with self.store.begin() as conn:
                    await copyright.decide(conn, hold["entry"], decision, borrower=row.requester)
        params["refuse"] = decision == "refused" and any(
            h.get("kind") == "copyright" for h in row.holds or [])

    def _requester_decision(self, action: str, params: dict[str, Any]):
        def decide(d: Draft):
            if action == "Confirm":
                if d.get("state") != "held":
                    raise ActionRefused(f"request {d.row.ref} is {d.get('state')}, not held")
                if params.get("refuse"):
                    d.set(state="cancelled", holds=[])
                    d.events.append("copy refused under the copyright guidelines")
                else:
                    flow.start(d)
                return None
            if d.get("position") == 0:
                if action == "Cancel" and d.get("state") in ("held", "no-lenders", "new"):
                    d.set(state="cancelled", holds=[])      # never sent: nobody to ask
                    d.events.append("cancelled before sending")
                    return None
                raise ActionRefused(f"request {d.row.ref} has not been sent to a lender")
            iso_action, note = {
                "AcceptConditions": (Action.NOTIFICATION, flow.CONDITIONS_ACCEPTED),
                "RejectConditions": (Action.CANCEL, "ConditionsRejected"),
            }.get(action, (None, None))
            lender = d.lender()
            message = msgs.requesting_message(
                requester=d.requester.code, supplier=lender.code, ref=d.row.ref, now=d.now,
                action=iso_action or Action(action), note=note or params.get("note"),
                version=lender.version)
            outcome, _ = flow.on_requester_action(d, message, from_system=False, signature="")
            return outcome
        return decide

    def _supplier_decision(self, action: str, params: dict[str, Any], supplier: str):
        def decide(d: Draft):
            lender = d.lender()
            if lender is None or lender.code != supplier:
                raise ActionRefused(f"request {d.row.ref} is no longer with {supplier}")
            if lender.url:
                raise ActionRefused(f"{supplier} answers through its own ISO 18626 system "
                                    f"({action} is for members served inside LibGate)")
            try:
                message = flow.supplier_reply(d, action, params)
            except ValueError as exc:
                raise RegistryError(str(exc)) from None
            outcome, _ = flow.on_supplier_message(d, message, direction="internal",
                                                  peer=lender, signature=flow.INTERNAL)
            return outcome
        return decide

    async def _with_delivery(self, action: str, params: dict[str, Any], row: Any,
                             now: datetime) -> dict[str, Any]:
        params = dict(params)
        for name in ("due_date",):
            if params.get(name):
                try:
                    value = datetime.fromisoformat(str(params[name]))
                except ValueError:
                    raise RegistryError(f"{name} {params[name]!r} is not an ISO date") from None
                params[name] = as_utc(value)
        if action == "CopyCompleted" and (params.get("content_base64") or params.get("url")):
            try:
                content = base64.b64decode(params["content_base64"], validate=True) \
                    if params.get("content_base64") else None
            except (binascii.Error, ValueError):
                raise RegistryError("content_base64 is not base64") from None
            async with self.store.begin() as conn:
                link = await access_links.create_link(
                    conn, self.key, lender=row.supplier, borrower=row.requester,
                    files_dir=self.files_dir, content=content,
                    url=None if content is not None else params["url"],
                    filename=params.get("filename"), content_type=params.get("content_type"),
                    request_ref=row.ref, now=now)
            params["url"] = f"/links/{link.token}"
            params["note"] = (params.get("note") or "") + f" delivery link: /links/{link.token}"
        return params

    # -- deadlines and closures -------------------------------------------------------------

    async def give_up(self, request_id: int, lender: str, why: str, note: str, *,
                      now: datetime | None = None, wait: bool = True) -> bool:
        now = now or datetime.now(UTC)

        def decide(d: Draft):
            current = d.lender()
            if current is None or current.code != lender:
                return None
            return flow.give_up_on_lender(d, why, note)

        outcome, draft = await change(self.store, request_id, now, decide, rows=self.rows)
        await self.after(draft, wait=wait)
        return outcome is not None and outcome.kind is OutcomeKind.APPLIED

    async def advance_overdue(self, now: datetime | None = None) -> int:
        """Move on from lenders past their response deadline, and from pending requests of
        lenders that are closed today (or digital-only, for a Loan: they take Copy requests
        only); returns how many requests moved."""
        now = now or datetime.now(UTC)
        self.peers.forget()
        async with self.store.connect() as conn:
            overdue = (await conn.execute(
                sa.select(ill_requests.c.id, members.c.code)
                .join(members, members.c.id == ill_requests.c.supplier_id)
                .where((ill_requests.c.state == "in-progress")
                       & (ill_requests.c.deadline_at <= now)
                       & (ill_requests.c.status.is_(None)
                          | (ill_requests.c.status == "RequestReceived"))))).all()
            statuses = await effective_statuses(conn, now.date())
            closed = [code for code, s in statuses.items() if s.status == "closed"]
            digital = [code for code, s in statuses.items() if s.status == "digital-only"]
            waiting = (ill_requests.c.state == "in-progress") & (
                ill_requests.c.status.is_(None) | ill_requests.c.status.in_(
                    ("RequestReceived", "ExpectToSupply", "WillSupply")))
            stopped = (members.c.code.in_(closed) | (members.c.code.in_(digital)
                                                     & (ill_requests.c.service_type != "Copy")))
            pending = (await conn.execute(
                sa.select(ill_requests.c.id, members.c.code)
                .join(members, members.c.id == ill_requests.c.supplier_id)
                .where(waiting & stopped))).all() if closed or digital else []
        moved = 0
        for request_id, code in pending:
            why = f"{code} is closed" if code in closed else f"{code} is digital-only"
            moved += await self.give_up(request_id, code, "Closed", why, now=now)
        for request_id, code in overdue:
            if request_id in {p[0] for p in pending}:
                continue
            moved += await self.give_up(request_id, code, "NoAnswer",
                                        f"no answer from {code} by its response deadline",
                                        now=now)
        return moved

    async def run_deadlines(self, interval: float) -> None:
        """The scheduler loop of `libgate serve`: check deadlines every ``interval`` seconds."""
        while True:
            try:
                moved = await self.advance_overdue()
                if moved:
                    log.info("ILL deadlines: %d request(s) moved to their next lender", moved)
            except (OSError, sa.exc.SQLAlchemyError) as exc:
                log.error("ILL deadline check failed: %s", exc)
            await asyncio.sleep(interval)


__all__ = ["Broker", "ActionRefused", "NotAParty", "RequestNotFound"]
