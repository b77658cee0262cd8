"""The generated demo consortium: deterministic, overlapping, with lendable and reference copies."""

from __future__ import annotations

import sqlalchemy as sa

from gateway import catalogue
from gateway.sample_data import SAMPLE_MEMBERS, load_sample_consortium, write_member_file
from gateway.store.schema import holdings, members, records


def test_files_are_the_same_on_every_machine(tmp_path):
    runs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        runs.append([write_member_file(m, tmp_path / name).read_bytes() for m in SAMPLE_MEMBERS])
    assert runs[0] == runs[1]
    assert all(data.count(b"\x1d") > 10 for data in runs[0])


async def test_sample_consortium_overlaps_and_says_what_lends(store, tmp_path):
    lines = await load_sample_consortium(store, tmp_path)
    assert len(lines) == 3
    stats = await catalogue.stats(store)
    assert [m["code"] for m in stats["members"]] == sorted(m.code for m in SAMPLE_MEMBERS)
    assert all(m["records"] > 10 and m["quarantined"] == 0 for m in stats["members"])
    async with store.connect() as conn:
        rows = (await conn.execute(sa.select(members.c.code, records.c.normalized)
                                   .join(records, records.c.member_id == members.c.id))).all()
        lendable = (await conn.execute(sa.select(holdings.c.lendable, sa.func.count())
                                       .group_by(holdings.c.lendable))).all()
    holders: dict[str, set[str]] = {}
    for code, normalized in rows:
        for isbn in normalized["isbns"]:
            holders.setdefault(isbn, set()).add(code)
    # ISBN-10 in one member's house style and ISBN-13 in the others' normalize to one key
    assert any(len(codes) == 3 for codes in holders.values())
    assert dict(lendable).get(False, 0) > 0            # reference copies do not lend
    # a second load changes nothing
    await load_sample_consortium(store, tmp_path)
    assert (await catalogue.stats(store))["records"] == stats["records"]
