"""E-resource holdings and licences, copy permission per member, service status and emergency,
delivery links, copyright tallies — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from gateway import access_links, copyright, eresources, posture, registry
from gateway.policy import set_policy
from gateway.registry import RegistryError
from gateway.security.keys import load_gateway_key
from protocols.eresources.coverage import Citation
from protocols.eresources.kbart import COLUMNS
from protocols.grants import TokenRefused

TODAY = dt.date(2026, 11, 27)


def kbart(*rows: dict[str, str]) -> str:
    return "\n".join(["\t".join(COLUMNS)] + ["\t".join(r.get(c, "") for c in COLUMNS)
                                             for r in rows]) + "\n"


NATURE = {"publication_title": "Nature", "print_identifier": "0028-0836",
          "online_identifier": "1476-4687", "date_first_issue_online": "1997-01-02",
          "publication_type": "serial"}
LICENSED = """
[[licence]]
package = "Big Deal"
illElectronic = "Permitted (explicit)"
"""
PROHIBITED = """
[[licence]]
package = "Big Deal"
illElectronic = "Prohibited (explicit)"
illSecureElectronic = "Prohibited (interpreted)"
"""


async def _members(store, *codes):
    for code in codes:
        await registry.add_member(store, code, f"Library {code}")


async def test_copies_go_only_to_members_whose_licence_and_coverage_allow(store):
    await _members(store, "US-AAA", "US-BBB", "US-CCC")
    async with store.begin() as conn:
        report = await eresources.load_kbart(conn, "US-AAA", "Big Deal", kbart(
            NATURE, {**NATURE, "print_identifier": "bad", "online_identifier": ""}))
        await eresources.load_kbart(conn, "US-BBB", "Big Deal", kbart(NATURE))
        await eresources.load_kbart(conn, "US-CCC", "Big Deal",
                                    kbart({**NATURE, "embargo_info": "P2Y"}))
        await eresources.load_licences(conn, "US-AAA", LICENSED)
        await eresources.load_licences(conn, "US-BBB", PROHIBITED)
        await eresources.load_licences(conn, "US-CCC", LICENSED)
    assert report.loaded == 1 and [(p.line, p.column) for p in report.problems] == [
        (3, "print_identifier")]
    async with store.connect() as conn:
        verdicts = await eresources.copy_lenders(conn, ["0028-0836"], Citation(year=2025),
                                                 today=TODAY)
    by_member = {v.member: v for v in verdicts}
    assert by_member["US-AAA"].allowed and by_member["US-AAA"].term == "illElectronic"
    assert not by_member["US-BBB"].allowed
    assert "illElectronic: Prohibited (explicit)" in by_member["US-BBB"].reason
    assert not by_member["US-CCC"].allowed and "embargo P2Y" in by_member["US-CCC"].reason


async def test_a_kbart_file_with_no_good_line_keeps_the_package(store):
    await _members(store, "US-AAA")
    async with store.begin() as conn:
        await eresources.load_kbart(conn, "US-AAA", "Big Deal", kbart(NATURE))
        empty = await eresources.load_kbart(conn, "US-AAA", "Big Deal", "not kbart\n")
        await eresources.load_licences(conn, "US-AAA", LICENSED)
        verdicts = await eresources.copy_lenders(conn, ["1476-4687"], Citation(year=2020),
                                                 today=TODAY)
    assert empty.loaded == 0 and empty.problems
    assert [v.member for v in verdicts if v.allowed] == ["US-AAA"]


async def test_status_periods_decide_the_effective_status_of_the_day(store):
    await _members(store, "US-AAA", "US-BBB")
    async with store.begin() as conn:
        await posture.set_status(conn, "US-AAA", "closed", reason="flood",
                                 starts_on=TODAY, ends_on=TODAY + dt.timedelta(days=14),
                                 today=TODAY)
        await posture.set_status(conn, "US-BBB", "digital-only",
                                 starts_on=TODAY + dt.timedelta(days=3), today=TODAY)
        with pytest.raises(RegistryError, match="'shut'"):
            await posture.set_status(conn, "US-BBB", "shut")
    async with store.connect() as conn:
        today = await posture.effective_statuses(conn, TODAY)
        later = await posture.effective_statuses(conn, TODAY + dt.timedelta(days=20))
        member = await registry.get_member(store, "US-AAA")
    assert (today["US-AAA"].status, today["US-AAA"].reason) == ("closed", "flood")
    assert today["US-BBB"].status == "open"
    assert later["US-AAA"].status == "open" and later["US-BBB"].status == "digital-only"
    assert member["status"] == "closed"


async def test_the_listed_status_follows_dated_periods_and_the_registry(store):
    await _members(store, "US-AAA", "US-BBB")
    today = dt.datetime.now(dt.UTC).date()
    tomorrow = today + dt.timedelta(days=1)
    member = await registry.update_member(store, "US-AAA", status="closed", status_reason="fire")
    assert (member["status"], member["status_reason"]) == ("closed", "fire")
    async with store.begin() as conn:
        seen = await posture.effective_statuses(conn, today)
        assert (seen["US-AAA"].status, seen["US-AAA"].reason) == ("closed", "fire")
        # a closure announced for tomorrow: listed as open today, closed once the day comes
        await posture.set_status(conn, "US-BBB", "closed", reason="move", starts_on=tomorrow)
        assert await posture.sync_status_mirror(conn, today) == []
    assert (await registry.get_member(store, "US-BBB"))["status"] == "open"
    async with store.begin() as conn:
        assert await posture.sync_status_mirror(conn, tomorrow) == ["US-BBB"]
    shown = await registry.get_member(store, "US-BBB")
    assert (shown["status"], shown["status_reason"]) == ("closed", "move")
    with pytest.raises(RegistryError, match="goes with a status"):
        await registry.update_member(store, "US-AAA", status_reason="smoke")


async def test_one_emergency_at_a_time_shows_in_the_posture(store):
    await _members(store, "US-AAA", "US-BBB")
    async with store.begin() as conn:
        await posture.declare_emergency(conn, TODAY, "pandemic", "office")
        with pytest.raises(RegistryError, match="already declared"):
            await posture.declare_emergency(conn, TODAY, "again")
        await posture.set_status(conn, "US-AAA", "closed", today=TODAY)
    async with store.connect() as conn:
        summary = await posture.posture(conn, TODAY)
    assert summary["emergency"]["note"] == "pandemic" and summary["emergency"]["in_force"]
    assert summary["members"]["closed"] == ["US-AAA"] and summary["members"]["open"] == ["US-BBB"]
    async with store.begin() as conn:
        await posture.end_emergency(conn)
        assert await posture.current_emergency(conn) is None


async def test_a_delivery_link_allows_its_views_then_answers_gone(store, tmp_path):
    await _members(store, "US-AAA", "US-BBB")
    key = load_gateway_key(str(tmp_path / "gw.pem"), store.url)
    async with store.begin() as conn:
        await set_policy(conn, "US-AAA", {"link_max_views": 2, "link_days": 1})
        link = await access_links.create_link(
            conn, key, lender="US-AAA", borrower="US-BBB", files_dir=tmp_path / "files",
            content=b"%PDF-1.4 article", filename="article.pdf", content_type="application/pdf")
    assert link.max_views == 2
    async with store.begin() as conn:
        first = await access_links.open_link(conn, key, link.token)
        second = await access_links.open_link(conn, key, link.token)
        with pytest.raises(access_links.LinkGone, match="used its 2 times"):
            await access_links.open_link(conn, key, link.token)
    assert (first.views_left, second.views_left) == (1, 0)
    assert open(first.file_path, "rb").read() == b"%PDF-1.4 article"
    with pytest.raises(TokenRefused):
        async with store.begin() as conn:
            await access_links.open_link(conn, key, link.token[:-4] + "AAAA")


async def test_an_expired_link_is_gone_and_its_file_purged(store, tmp_path):
    await _members(store, "US-AAA", "US-BBB")
    key = load_gateway_key(str(tmp_path / "gw.pem"), store.url)
    async with store.begin() as conn:
        link = await access_links.create_link(
            conn, key, lender="US-AAA", borrower="US-BBB", files_dir=tmp_path / "files",
            content=b"chapter")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)     # default: 30 days
    async with store.begin() as conn:
        with pytest.raises(access_links.LinkGone, match="expired"):
            await access_links.open_link(conn, key, link.token, now=later)
        assert await access_links.purge_expired(conn, now=later) == 1
    assert list((tmp_path / "files").iterdir()) == []


async def test_two_clicks_on_the_last_view_give_one_view(store, tmp_path):
    await _members(store, "US-AAA", "US-BBB")
    key = load_gateway_key(str(tmp_path / "gw.pem"), store.url)
    async with store.begin() as conn:
        await set_policy(conn, "US-AAA", {"link_max_views": 1})
        link = await access_links.create_link(conn, key, lender="US-AAA", borrower="US-BBB",
                                              files_dir=tmp_path, url="https://lender.example/a")

    async def click():
        async with store.begin() as conn:
            return await access_links.open_link(conn, key, link.token)
    outcomes = await asyncio.gather(*[click() for _ in range(5)], return_exceptions=True)
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert all(isinstance(o, access_links.LinkGone) for o in outcomes if isinstance(o, Exception))


async def test_the_sixth_recent_copy_of_a_journal_is_flagged_and_reported(store):
    await _members(store, "US-BBB")
    when = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
    async with store.begin() as conn:
        classes = [await copyright.record_copy(conn, "US-BBB", issns=["0028-0836"],
                                               journal_title="Nature", published_year=2024,
                                               today=when) for _ in range(6)]
        await copyright.record_copy(conn, "US-BBB", issns=["0028-0836"], journal_title="Nature",
                                    published_year=1990, today=when)
        flagged_id = classes[5][0]
        await copyright.decide(conn, flagged_id, "royalty")
        with pytest.raises(RegistryError, match="no copy"):
            await copyright.decide(conn, classes[0][0], "royalty")
        summary = await copyright.report(conn, "US-BBB", 2026)
    assert [c.needs_decision for _, c in classes] == [False] * 5 + [True]
    (nature,) = summary["titles"]
    assert (nature["CCG"], nature["CCL"], nature["royalty"]) == (6, 1, 1)
    assert nature["needs_decision"] == []


async def test_housekeeping_purges_links_ends_checkouts_and_forgets_nonces(store, settings,
                                                                          tmp_path):
    from gateway import housekeeping

    await _members(store, "US-AAA", "US-BBB")
    key = load_gateway_key(str(tmp_path / "gw.pem"), store.url)
    async with store.begin() as conn:
        await access_links.create_link(conn, key, lender="US-AAA", borrower="US-BBB",
                                       files_dir=tmp_path / "files", content=b"copy")
    assert await housekeeping.tidy(store, settings) == {
        "links_purged": 0, "checkouts_expired": 0, "nonces_forgotten": 0, "statuses_changed": 0}
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    done = await housekeeping.tidy(store, settings, now=later)
    assert done["links_purged"] == 1 and list((tmp_path / "files").iterdir()) == []
