"""UnionRecord.to_dict is written out by hand for speed: it must stay ``asdict``."""

from __future__ import annotations

from dataclasses import asdict, fields

from protocols.union import SourceRef, UnionHolding, UnionRecord


def sample() -> UnionRecord:
    return UnionRecord(
        cluster_id=7, title="Emma", subtitle="a novel", responsibility="by J. Austen",
        authors=["Austen, Jane"], corporate_authors=["Society"], isbns=["9780000000002"],
        issns=["1234-5679"], oclc_numbers=["12"], lccn="n1", other_ids=["024:1"],
        publisher="Penguin", year=1815, edition="2nd", languages=["eng"], format="book",
        pages=400, extent="400 p.", series=["Classics ; 3"], subjects=["Fiction"],
        provenance={"title": "A:1"}, sources=[SourceRef(1, "A", "1", None),
                                                SourceRef(2, "B", "9", "isbn")],
        holdings=[UnionHolding("A", "1", "Main", "PR 1", True, "b1", False, "open"),
                  UnionHolding("B", "9", digitized=True, member_status="closed")])


def test_to_dict_names_every_field_as_asdict_does() -> None:
    record = sample()
    assert list(record.to_dict()) == [f.name for f in fields(UnionRecord)]
    assert record.to_dict() == asdict(record)
    assert [list(h) for h in record.to_dict()["holdings"]] == [
        [f.name for f in fields(UnionHolding)]] * 2
    assert list(record.to_dict()["sources"][0]) == [f.name for f in fields(SourceRef)]
    assert UnionRecord.from_dict(record.to_dict()) == record


def test_to_dict_copies_its_lists_and_dicts() -> None:
    record = sample()
    out = record.to_dict()
    out["authors"].append("B")
    out["provenance"]["year"] = "B:9"
    assert record.authors == ["Austen, Jane"] and record.provenance == {"title": "A:1"}
