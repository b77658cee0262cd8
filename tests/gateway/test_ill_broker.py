"""The broker end to end in a simulated consortium of six members (LibGate on a real port,
four lenders' ISO 18626 systems as signing fake peers, two members served inside LibGate)."""

from __future__ import annotations

import datetime as dt


from tests.gateway.ill_consortium import (  # noqa: F401  (consortium: fixture)
    consortium,
    BORROWER, INSIDE_LENDER, PEER_LENDERS, ReasonForMessage, Status, YesNo, build, cleanup,
)

LA, LB, LC, LD = PEER_LENDERS


async def test_a_loan_filled_by_the_first_lender(consortium):
    c = consortium
    created = await c.request(patron_ref="p-1", needed_by="2030-01-31")
    assert created["state"] == "in-progress" and created["supplier"] == LA
    assert [e["member"] for e in created["rota"]] == [*PEER_LENDERS, INSIDE_LENDER]
    assert all("ratio" in e["reason"] for e in created["rota"])
    assert {x["member"]: x["reason"] for x in created["excluded"]} == {}
    [sent] = c.peers[LA].requests()
    assert sent.header.requesting_agency_request_id == created["ref"]
    assert sent.bibliographic_info.title == "Opticks" and not c.peers[LB].received
    await c.peers[LA].answer(created["ref"], Status.WILL_SUPPLY,
                             reason=ReasonForMessage.REQUEST_RESPONSE)
    due = dt.datetime(2030, 3, 1, tzinfo=dt.UTC)
    await c.peers[LA].answer(created["ref"], Status.LOANED, due_date=due)
    shown = await c.show(created["id"])
    assert (shown["state"], shown["status"], shown["supplier"]) == ("in-progress", "Loaned", LA)
    assert shown["due_date"].startswith("2030-03-01")
    assert shown["rota"][0]["outcome"] == "supplied"
    kinds = [(x["direction"], x["kind"]) for x in shown["messages"]]
    assert kinds == [("out", "request"), ("in", "supplyingAgencyMessage"),
                     ("in", "supplyingAgencyMessage")]
    incoming = shown["messages"][1]
    assert incoming["signature"].startswith("verified: US-LA#k1")
    assert "<ISO18626Message" in incoming["raw"] and incoming["parsed"]["status_info"]
    assert "OK" in incoming["answer"]
    assert "OK" in shown["messages"][0]["outcome"]      # LA confirmed the request


async def test_unfilled_moves_on_then_loan_received_returned_completed(consortium):
    c = consortium
    created = await c.request(patron_ref="p-2")
    await c.peers[LA].answer(created["ref"], Status.UNFILLED, reason_unfilled="NotOnShelf",
                             reason=ReasonForMessage.REQUEST_RESPONSE)
    shown = await c.show(created["id"])
    assert (shown["state"], shown["supplier"], shown["status"]) == ("in-progress", LB, None)
    assert [e["outcome"] for e in shown["rota"][:2]] == ["unfilled", "sent"]
    assert len(c.peers[LB].requests()) == 1
    # LA's answer and the request to LB were saved together: kept in that order, and the
    # request's row (whose id the send needed) has LB's confirmation
    assert [(x["direction"], x["kind"], x["peer"]) for x in shown["messages"]] == [
        ("out", "request", LA), ("in", "supplyingAgencyMessage", LA), ("out", "request", LB)]
    assert "OK" in shown["messages"][2]["outcome"] and "OK" in shown["messages"][2]["answer"]
    await c.peers[LB].answer(created["ref"], Status.LOANED)
    await c.act(created["id"], "Received")
    await c.act(created["id"], "ShippedReturn", note="sent back by courier")
    assert [a.action.value for a in c.peers[LB].actions()] == ["Received", "ShippedReturn"]
    await c.peers[LB].answer(created["ref"], Status.LOAN_COMPLETED)
    shown = await c.show(created["id"])
    assert (shown["state"], shown["status"]) == ("completed", "LoanCompleted")
    assert shown["actions"] == ["Received", "ShippedReturn"]
    # LA, which said Unfilled, can no longer change the request
    late = await c.peers[LA].answer(created["ref"], Status.LOANED)
    assert late.confirmation_header.message_status.value == "ERROR"
    assert "not the current supplier" in late.error_data[0].error_value


async def test_no_answer_by_the_deadline_moves_on(consortium):
    c = consortium
    created = await c.request()
    assert await c.broker.advance_overdue(dt.datetime.now(dt.UTC) + dt.timedelta(hours=47)) == 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=49)
    assert await c.broker.advance_overdue(later) == 1
    shown = await c.show(created["id"])
    assert shown["supplier"] == LB and shown["rota"][0]["outcome"] == "no-answer"
    assert len(c.peers[LB].requests()) == 1
    decision = [x for x in shown["messages"] if x["direction"] == "internal"]
    assert "NoAnswer" in decision[0]["raw"] and "decision" in decision[0]["signature"]
    # an answer after the deadline is refused: LA is no longer asked
    late = await c.peers[LA].answer(created["ref"], Status.WILL_SUPPLY)
    assert late.confirmation_header.message_status.value == "ERROR"


async def test_end_of_rota_the_borrower_sees_one_unfilled(aiohttp_client, store, settings):
    runners: list = []
    c = await build(aiohttp_client, store, settings, runners, borrower_peer=True)
    try:
        created = await c.request(patron_ref="p-3")
        for lender in PEER_LENDERS:
            await c.peers[lender].answer(created["ref"], Status.UNFILLED)
            await c.broker.drain()
        shown = await c.show(created["id"])
        assert shown["supplier"] == INSIDE_LENDER and shown["state"] == "in-progress"
        assert c.peers[BORROWER].received == []          # nothing yet for the borrower
        await c.act(created["id"], "Unfilled", member=INSIDE_LENDER, reason="Lost")
        shown = await c.show(created["id"])
        assert shown["state"] == "unfilled"
        assert [e["outcome"] for e in shown["rota"]] == ["unfilled"] * 5
        [told] = c.peers[BORROWER].received
        assert told.status_info.status is Status.UNFILLED
        assert told.header.supplying_agency_id.value == INSIDE_LENDER
    finally:
        await c.broker.drain()
        await cleanup(runners)


async def test_cancel_accepted_and_refused(consortium):
    c = consortium
    first = await c.request(patron_ref="p-4")
    await c.peers[LA].answer(first["ref"], Status.WILL_SUPPLY)
    await c.act(first["id"], "Cancel", note="patron left")
    assert c.peers[LA].actions()[-1].action.value == "Cancel"
    await c.peers[LA].answer(first["ref"], Status.WILL_SUPPLY,
                             reason=ReasonForMessage.CANCEL_RESPONSE, answer=YesNo.NO)
    shown = await c.show(first["id"])
    assert (shown["state"], shown["status"]) == ("in-progress", "WillSupply")
    await c.act(first["id"], "Cancel")
    await c.peers[LA].answer(first["ref"], Status.CANCELLED,
                             reason=ReasonForMessage.CANCEL_RESPONSE, answer=YesNo.YES)
    shown = await c.show(first["id"])
    assert (shown["state"], shown["status"]) == ("cancelled", "Cancelled")
    # once loaned, Cancel is refused by the state tables
    second = await c.request(patron_ref="p-5")
    await c.peers[LA].answer(second["ref"], Status.LOANED)
    refused = await c.act(second["id"], "Cancel", expect=409)
    assert "Cancel is not possible while the request is Loaned" in refused["error"]


async def test_renew_accepted_moves_the_due_date(consortium):
    c = consortium
    created = await c.request(patron_ref="p-6")
    await c.peers[LA].answer(created["ref"], Status.LOANED,
                             due_date=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    await c.act(created["id"], "Renew")
    assert c.peers[LA].actions()[-1].action.value == "Renew"
    await c.peers[LA].answer(created["ref"], Status.LOANED, answer=YesNo.YES,
                             reason=ReasonForMessage.RENEW_RESPONSE,
                             due_date=dt.datetime(2030, 2, 1, tzinfo=dt.UTC))
    shown = await c.show(created["id"])
    assert shown["due_date"].startswith("2030-02-01") and shown["status"] == "Loaned"


async def test_copy_request_completed(consortium):
    c = consortium
    created = await c.request(service_type="Copy", article_title="Of colours", pages="1-20",
                              patron_ref="p-7")
    [sent] = c.peers[LA].requests()
    assert sent.service_info.service_type.value == "Copy"
    assert sent.bibliographic_info.pages_requested == "1-20"
    await c.peers[LA].answer(created["ref"], Status.COPY_COMPLETED)
    shown = await c.show(created["id"])
    assert (shown["state"], shown["status"]) == ("completed", "CopyCompleted")


async def test_conditional_answer_accepted(consortium):
    c = consortium
    created = await c.request(patron_ref="p-8")
    await c.peers[LA].answer(created["ref"], Status.EXPECT_TO_SUPPLY,
                             reason=ReasonForMessage.NOTIFICATION,
                             note="Conditions: LibraryUseOnly, NoReproduction")
    shown = await c.show(created["id"])
    assert shown["conditions"]["conditions"] == ["LibraryUseOnly", "NoReproduction"]
    await c.act(created["id"], "AcceptConditions")
    told = c.peers[LA].actions()[-1]
    assert (told.action.value, told.note) == ("Notification", "ConditionsAccepted")
    shown = await c.show(created["id"])
    assert shown["conditions"] is None
    await c.peers[LA].answer(created["ref"], Status.LOANED)
    assert (await c.show(created["id"]))["status"] == "Loaned"


async def test_a_member_served_inside_libgate_lends_through_the_api(consortium):
    c = consortium
    created = await c.request(cluster_id=c.inside_cluster, patron_ref="p-9")
    assert created["supplier"] == INSIDE_LENDER
    inbox = await c.client.get("/api/ill/requests?role=lending",
                               headers=c.auth(INSIDE_LENDER))
    assert [r["id"] for r in (await inbox.json())["requests"]] == [created["id"]]
    # the borrower cannot answer for the lender, nor the lender act for the borrower
    await c.act(created["id"], "WillSupply", member=BORROWER, expect=409)
    await c.act(created["id"], "Received", member=INSIDE_LENDER, expect=409)
    await c.act(created["id"], "WillSupply", member=INSIDE_LENDER)
    await c.act(created["id"], "Loaned", member=INSIDE_LENDER, due_date="2030-05-01")
    await c.act(created["id"], "Received")
    await c.act(created["id"], "ShippedReturn")
    done = await c.act(created["id"], "LoanCompleted", member=INSIDE_LENDER)
    assert (done["state"], done["status"]) == ("completed", "LoanCompleted")
    assert all(x["direction"] == "internal" for x in done["messages"])
    # a lender with its own system answers through it, not the API
    other = await c.request(patron_ref="p-10")
    refused = await c.act(other["id"], "WillSupply", member=LA, expect=409)
    assert "its own ISO 18626 system" in refused["error"]


async def test_inside_lender_conditions_rejected_then_cancel_accepted(consortium):
    c = consortium
    created = await c.request(cluster_id=c.inside_cluster, patron_ref="p-11")
    shown = await c.act(created["id"], "Conditions", member=INSIDE_LENDER,
                        conditions=["LibraryUseOnly"], note="rare book")
    assert shown["conditions"]["conditions"] == ["LibraryUseOnly"]
    shown = await c.act(created["id"], "RejectConditions")
    assert shown["actions"] == ["Cancel"]
    done = await c.act(created["id"], "CancelResponse", member=INSIDE_LENDER, accept=True)
    assert (done["state"], done["status"]) == ("cancelled", "Cancelled")


async def test_inside_lender_completes_a_copy_with_an_uploaded_file(consortium):
    import base64
    c = consortium
    created = await c.request(cluster_id=c.inside_cluster, service_type="Copy",
                              article_title="Book I", pages="1-9", patron_ref="p-12")
    done = await c.act(created["id"], "CopyCompleted", member=INSIDE_LENDER,
                       content_base64=base64.b64encode(b"%PDF-1.4 scan").decode(),
                       filename="book1.pdf", content_type="application/pdf")
    assert (done["state"], done["status"]) == ("completed", "CopyCompleted")
    note = done["messages"][-1]["parsed"]["message_info"]["note"]
    link = note.split("delivery link: ")[1].strip()
    response = await c.client.get(link)
    assert response.status == 200 and await response.read() == b"%PDF-1.4 scan"
