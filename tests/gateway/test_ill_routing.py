"""Routing (issue 6) and the emergency posture in the broker: closed and digital-only members,
licensed copy routing with the allowing term, embargoes refused with reasons before anything is
sent, the sixth CCG copy held, duplicates held, loans at closed lenders listed (not recalled)."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway import eresources, posture
from protocols.eresources.kbart import COLUMNS
from tests.gateway.ill_consortium import (  # noqa: F401  (consortium: fixture)
    consortium,
    BORROWER, INSIDE_LENDER, PEER_LENDERS, Status,
)

LA, LB, LC, LD = PEER_LENDERS
YEAR = dt.date.today().year
NATURE = {"publication_title": "Nature", "print_identifier": "0028-0836",
          "online_identifier": "1476-4687", "date_first_issue_online": "1997-01-02",
          "publication_type": "serial"}
LICENSED = '[[licence]]\npackage = "Big Deal"\nillElectronic = "Permitted (explicit)"\n'
PROHIBITED = ('[[licence]]\npackage = "Big Deal"\nillElectronic = "Prohibited (explicit)"\n'
              'illSecureElectronic = "Prohibited (interpreted)"\n')


def kbart(*rows: dict[str, str]) -> str:
    return "\n".join(["\t".join(COLUMNS)] + ["\t".join(r.get(c, "") for c in COLUMNS)
                                             for r in rows]) + "\n"


async def _status(c, member: str, status: str) -> None:
    async with c.store.begin() as conn:
        await posture.set_status(conn, member, status, reason="storm")


async def _packages(c, **members: tuple[dict, str]) -> None:
    async with c.store.begin() as conn:
        for code, (row, licence) in members.items():
            code = code.replace("_", "-")
            await eresources.load_kbart(conn, code, "Big Deal", kbart(row))
            await eresources.load_licences(conn, code, licence)


def _article(**extra):
    return {"cluster_id": None, "service_type": "Copy", "issn": "0028-0836",
            "title": "Nature", "article_title": "A letter", "year": YEAR - 3, "volume": "3",
            "pages": "1-4", **extra}


async def test_a_member_closing_mid_day_is_skipped_and_its_pending_requests_move(consortium):
    c = consortium
    pending = await c.request(patron_ref="p-1")
    loaned = await c.request(cluster_id=c.cluster, patron_ref="p-2")
    await c.peers[LA].answer(loaned["ref"], Status.LOANED)
    assert pending["supplier"] == LA
    await _status(c, LA, "closed")
    assert await c.broker.advance_overdue() == 1
    moved = await c.show(pending["id"])
    assert moved["supplier"] == LB and moved["rota"][0]["outcome"] == "closed"
    assert len(c.peers[LB].requests()) == 1
    # the loan already out is not recalled, but listed for staff
    kept = await c.show(loaned["id"])
    assert (kept["supplier"], kept["status"]) == (LA, "Loaned")
    listed = await c.client.get("/api/ill/closed-lender-loans", headers=c.auth(BORROWER))
    body = await listed.json()
    assert LA in body["closed"] and [r["id"] for r in body["loans"]] == [loaned["id"]]
    # new requests skip the closed member, and say why
    fresh = await c.request(patron_ref="p-3")
    assert fresh["supplier"] == LB and LA not in [e["member"] for e in fresh["rota"]]
    assert {"member": LA, "reason": "closed"} in fresh["excluded"]


async def test_a_status_set_by_the_member_registry_is_what_routing_follows(consortium):
    # `members update --status` and PATCH /api/members go through the status periods too:
    # before, they changed only the listed status, and requests still went to the member
    c = consortium
    from tests.conftest import ADMIN_TOKEN
    office = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    patched = await c.client.patch(f"/api/members/{LA}", headers=office,
                                   json={"status": "closed", "status_reason": "fire"})
    assert patched.status == 200 and (await patched.json())["status"] == "closed"
    fresh = await c.request(patron_ref="p-10")
    assert fresh["supplier"] == LB and {"member": LA, "reason": "closed"} in fresh["excluded"]
    summary = await (await c.client.get("/api/posture")).json()
    assert LA in summary["members"]["closed"]
    assert (await c.client.patch(f"/api/members/{LA}", headers=office,
                                 json={"status": "open"})).status == 200
    assert (await c.request(patron_ref="p-11"))["supplier"] == LA


async def test_digital_only_members_get_copy_requests_only(consortium):
    c = consortium
    await _status(c, LA, "digital-only")
    loan = await c.request(patron_ref="p-4")
    assert loan["supplier"] == LB
    assert any(x["member"] == LA and "digital-only" in x["reason"] for x in loan["excluded"])
    copy = await c.request(service_type="Copy", patron_ref="p-5")
    # on the Copy rota, after the open members (service status ranks first)
    assert [e["member"] for e in copy["rota"]][-1] == LA
    assert copy["rota"][-1]["reason"].startswith("digital-only")


async def test_a_member_turning_digital_only_passes_on_its_pending_loans_not_copies(
        consortium):
    c = consortium
    loan = await c.request(patron_ref="p-12")
    copy = await c.request(service_type="Copy", patron_ref="p-13")
    assert loan["supplier"] == LA and copy["supplier"] == LA
    await _status(c, LA, "digital-only")
    assert await c.broker.advance_overdue() == 1
    moved = await c.show(loan["id"])
    assert moved["supplier"] == LB and moved["rota"][0]["outcome"] == "closed"
    assert (await c.show(copy["id"]))["supplier"] == LA      # a copy it can still send


async def test_a_copy_goes_only_to_the_licensed_lender_with_the_allowing_term(consortium):
    c = consortium
    await _packages(c, US_LA=(NATURE, PROHIBITED), US_LB=(NATURE, LICENSED))
    created = await c.request(**_article(patron_ref="p-6"))
    assert [e["member"] for e in created["rota"]] == [LB]
    assert created["rota"][0]["term"] == "illElectronic"
    assert created["supplier"] == LB and len(c.peers[LB].requests()) == 1
    [why_not] = [x for x in created["excluded"] if x["member"] == LA]
    assert "Prohibited" in why_not["reason"]
    assert not c.peers[LA].received


async def test_an_embargoed_article_is_refused_with_reasons_before_anything_is_sent(consortium):
    c = consortium
    await _packages(c, US_LA=(NATURE, PROHIBITED),
                    US_LC=({**NATURE, "embargo_info": "P2Y"}, LICENSED))
    created = await c.request(**_article(year=YEAR, patron_ref="p-7"))
    assert created["state"] == "no-lenders" and created["rota"] == []
    reasons = {x["member"]: x["reason"] for x in created["excluded"]}
    assert "embargo P2Y" in reasons[LC] and "Prohibited" in reasons[LA]
    assert created["messages"] == []
    assert all(not p.received for p in c.peers.values())


PRINT_ONLY = ('[[licence]]\npackage = "Big Deal"\nillElectronic = "Prohibited (explicit)"\n'
              'illSecureElectronic = "Prohibited (explicit)"\nillPrint = "Permitted (explicit)"\n')


async def test_a_print_only_licence_lends_only_when_the_requester_accepts_print(consortium):
    c = consortium
    await _packages(c, US_LB=(NATURE, PRINT_ONLY))
    refused = await c.request(**_article(patron_ref="p-30"))
    assert refused["state"] == "no-lenders"
    [why] = [x["reason"] for x in refused["excluded"] if x["member"] == LB]
    assert "illSecureElectronic: Prohibited (explicit)" in why and "illPrint" not in why
    accepted = await c.request(**_article(patron_ref="p-31", accept_print=True))
    assert [(e["member"], e["term"]) for e in accepted["rota"]] == [(LB, "illPrint")]
    assert accepted["supplier"] == LB


async def test_an_emergency_opening_lets_a_prohibited_licence_lend_while_it_lasts(consortium):
    c = consortium
    today = dt.date.today()
    opening = ('emergency_opening = {{ from = "{}", until = "{}" }}\n')
    await _packages(c, US_LB=(NATURE, PROHIBITED + opening.format(
        today - dt.timedelta(days=10), today + dt.timedelta(days=10))),
        US_LC=(NATURE, PROHIBITED + opening.format(
            today - dt.timedelta(days=60), today - dt.timedelta(days=1))))
    created = await c.request(**_article(patron_ref="p-32"))
    assert [(e["member"], e["term"]) for e in created["rota"]] == [(LB, "emergency opening")]
    [ended] = [x["reason"] for x in created["excluded"] if x["member"] == LC]
    assert "Prohibited" in ended


async def test_the_sixth_ccg_copy_of_a_title_waits_for_staff(consortium):
    c = consortium
    await _packages(c, US_LB=(NATURE, LICENSED))
    made = [await c.request(**_article(article_title=f"Letter {n}", patron_ref=f"p-{n}"))
            for n in range(6)]
    assert [r["state"] for r in made] == ["in-progress"] * 5 + ["held"]
    [hold] = made[5]["holds"]
    assert hold["kind"] == "copyright" and hold["ordinal"] == 6
    assert len(c.peers[LB].requests()) == 5
    released = await c.act(made[5]["id"], "Confirm")            # pay the royalty
    assert released["state"] == "in-progress" and len(c.peers[LB].requests()) == 6
    report = await c.client.get(f"/api/copyright/{BORROWER}/{dt.date.today().year}",
                                headers=c.auth(BORROWER))
    [title] = (await report.json())["titles"]
    assert (title["CCG"], title["royalty"]) == (6, 1)
    seventh = await c.request(**_article(article_title="Letter 7", patron_ref="p-7"))
    refused = await c.act(seventh["id"], "Confirm", copyright="refused")
    assert refused["state"] == "cancelled" and len(c.peers[LB].requests()) == 6


async def test_a_subscribers_copies_are_ccl_and_a_copy_nobody_may_supply_is_not_counted(
        consortium):
    c = consortium
    await _packages(c, US_LB=(NATURE, LICENSED))
    # nobody licensed for this ISSN: no lender, so no copy obtained and nothing counted
    nowhere = await c.request(**_article(issn="0036-8075", title="Science", patron_ref="p-20"))
    assert nowhere["state"] == "no-lenders"
    # the borrower's own current e-holdings of Nature make its copies CCL: never held
    async with c.store.begin() as conn:
        await eresources.load_kbart(conn, BORROWER, "Own", kbart(NATURE))
    made = [await c.request(**_article(article_title=f"Letter {n}", patron_ref=f"p-2{n}"))
            for n in range(6)]
    assert [r["state"] for r in made] == ["in-progress"] * 6
    report = await c.client.get(f"/api/copyright/{BORROWER}/{dt.date.today().year}",
                                headers=c.auth(BORROWER))
    assert [(t["title_key"], t["CCG"], t["CCL"]) for t in (await report.json())["titles"]] == [
        ("0028-0836", 0, 6)]


async def test_the_same_patron_item_and_service_is_held_as_a_duplicate(consortium):
    c = consortium
    first = await c.request(patron_ref="p-8")
    second = await c.request(patron_ref="p-8")
    assert first["state"] == "in-progress" and second["state"] == "held"
    assert second["holds"][0]["kind"] == "duplicate" and first["ref"] in second["holds"][0]["of"]
    other_service = await c.request(patron_ref="p-8", service_type="Copy")
    assert other_service["state"] == "in-progress"
    await c.act(second["id"], "Confirm")
    assert (await c.show(second["id"]))["supplier"] == LA
    # a staff token of the lender cannot confirm the borrower's hold; the borrower can drop it
    third = await c.request(patron_ref="p-8")
    await c.act(third["id"], "Confirm", member=INSIDE_LENDER, expect=404)
    dropped = await c.act(third["id"], "Cancel")
    assert dropped["state"] == "cancelled" and dropped["messages"] == []


async def test_openurl_requests_are_read(consortium):
    c = consortium
    await _packages(c, US_LB=(NATURE, LICENSED))
    query = ("url_ver=Z39.88-2004&rft_val_fmt=info:ofi/fmt:kev:mtx:journal&rft.genre=article"
             f"&rft.atitle=Letter&rft.jtitle=Nature&rft.issn=0028-0836&rft.date={YEAR - 2}"
             "&rft.volume=1&rft.spage=5&rft.epage=9")
    created = await c.request(cluster_id=None, service_type="Copy", openurl=query,
                              patron_ref="p-9")
    assert created["supplier"] == LB
    assert created["citation"]["pages"] == "5-9"
    [sent] = c.peers[LB].requests()
    assert sent.bibliographic_info.title_of_component == "Letter"
